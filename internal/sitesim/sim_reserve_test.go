package sitesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// POST /_sim/reserve is Site.Reserve for another process, in both
// flavours: it answers the reservation number, 409 for a taken slot and
// 400 naming the field to fix, and it is neither blocked nor faulted
// while every public page is.
func TestSimReserveRoute(t *testing.T) {
	t.Parallel()
	hostile := Options{BlockRPS: 1, BlockFor: 60e9, FailRate: 1, FailPages: true}
	for _, flavor := range []string{FlavorEgov, FlavorCart} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			opts := hostile
			var srv *Server
			if flavor == FlavorCart {
				srv = startCartSite(t, opts)
			} else {
				srv = startSite(t, opts)
			}
			c := newClient(t, srv)
			// Use up the public rate so that the IP is blocked.
			var last reply
			for range 3 {
				last = c.get(PathMain)
			}
			require.Contains(t, []int{http.StatusForbidden, http.StatusTooManyRequests}, last.status, "the public site must be blocking: %s", last.body)
			form := url.Values{"account": {"user007"}, "facility": {"3"}, "date": {"2026-12-24"}, "slot": {"5"}}
			r := c.do(http.MethodPost, PathReserve, form)
			require.Equal(t, http.StatusOK, r.status, r.body)
			require.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
			var got struct{ Number string }
			require.NoError(t, json.Unmarshal([]byte(r.body), &got))
			rs := srv.Ledger().Reservations
			require.Len(t, rs, 1)
			require.Equal(t, Reservation{Number: got.Number, Account: "user007", Facility: 3, Date: "2026-12-24", Slot: 5, At: rs[0].At}, rs[0])

			r = c.do(http.MethodPost, PathReserve, url.Values{"account": {"user008"}, "facility": {"3"}, "date": {"2026-12-24"}, "slot": {"5"}})
			require.Equal(t, http.StatusConflict, r.status, r.body)
			require.Contains(t, r.body, "slot already reserved")

			r = c.do(http.MethodPost, PathReserve, url.Values{"account": {""}, "facility": {"three"}, "slot": {"5"}})
			require.Equal(t, http.StatusBadRequest, r.status)
			require.Contains(t, r.body, "account: required")
			require.Contains(t, r.body, `facility: expected a whole number, got "three"`)
			require.Contains(t, r.body, "date: required, YYYY-MM-DD")

			r = c.do(http.MethodPost, PathReserve, url.Values{"account": {"nobody"}, "facility": {"3"}, "date": {"2026-12-24"}, "slot": {"5"}})
			require.Equal(t, http.StatusBadRequest, r.status)
			require.Contains(t, r.body, `unknown account: "nobody"`)
			r = c.do(http.MethodPost, PathReserve, url.Values{"account": {"user007"}, "facility": {"99"}, "date": {"2026-12-24"}, "slot": {"5"}})
			require.Equal(t, http.StatusBadRequest, r.status)
			require.Contains(t, r.body, "facility 99 slot 5")
			r = c.do(http.MethodPost, PathReserve, url.Values{"account": {"user007"}, "facility": {"3"}, "date": {"24.12.2026"}, "slot": {"5"}})
			require.Equal(t, http.StatusBadRequest, r.status)
			require.Contains(t, r.body, `date "24.12.2026"`)

			r = c.get(PathReserve)
			require.Equal(t, http.StatusMethodNotAllowed, r.status)
			require.Len(t, srv.Ledger().Reservations, 1)
		})
	}
}
