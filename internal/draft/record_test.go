package draft

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/har"
	"reserver/internal/har/hartest"
	"reserver/internal/sitesim"
)

// recordEgov records a booking made by hand on srv (court 3, 2026-12-09
// 09:00, after a wrong password), as Chromium would export it.
func recordEgov(t *testing.T, srv *sitesim.Server) *har.HAR {
	t.Helper()
	r, err := hartest.Record(context.Background(), hartest.ServerTarget(srv), hartest.Options{
		WrongPasswordFirst: true,
		Booking:            hartest.Booking{Account: "user001", Facility: 3, Date: "2026-12-09", Slot: 4},
	})
	require.NoError(t, err)
	return r.HAR
}

// recordCart records a booking made by hand on the cart site srv (court
// 3, day 10:00-11:00, as user002 named Kim).
func recordCart(t *testing.T, srv *sitesim.Server, day string) *har.HAR {
	t.Helper()
	r, err := hartest.Record(context.Background(), hartest.ServerTarget(srv), hartest.Options{
		Booking: hartest.Booking{Account: "user002", Name: "Kim", Facility: 3, Date: day, Slot: 5},
	})
	require.NoError(t, err)
	return r.HAR
}
