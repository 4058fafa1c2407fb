package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/series"
	"reserver/internal/tenant"
)

// `reserver run` creates a series' occurrence whose opening is within the
// horizon in its first pass, as an ordinary queued booking.
func TestRunDaemonMaterialisesSeries(t *testing.T) {
	b := setupDaemon(t, nil)
	profiles, err := LoadProfiles(b.env.Config.SitesDir, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg, err := b.env.DaemonConfig(profiles)
	require.NoError(t, err)

	// One date, eight days ahead: courtsim opens it seven days before,
	// at 09:00 Seoul, so within the default 14-day horizon.
	loc := profiles["courtsim"].Location
	now := time.Now().In(loc)
	play := time.Date(now.Year(), now.Month(), now.Day()+8, 0, 0, 0, 0, loc)
	date := play.Format("2006-01-02")
	tn, err := b.env.Tenants.CreateToken(context.Background(), "acme", tenant.RoleUser)
	require.NoError(t, err)
	p, err := b.env.Tenants.Authenticate(context.Background(), tn)
	require.NoError(t, err)
	sr, _, err := b.env.Series().Create(context.Background(), series.NewSeries{
		TenantID: p.TenantID, Site: "courtsim", Username: "user001", Password: "pw", Court: "3",
		Rule: series.Rule{Weekdays: []time.Weekday{play.Weekday()}, Start: "10:00", End: "11:00"},
		From: date, Until: date, WindowSeconds: 300, RatePerSecond: 2,
	})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunDaemon(ctx, b.env, cfg) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	for created := false; !created; {
		select {
		case e := <-b.entries:
			created = e.Message == "series occurrences created"
		case <-time.After(10 * time.Second):
			t.Fatal("the daemon's series pass created nothing")
		}
	}
	occ, err := b.env.Series().Occurrences(context.Background(), sr.ID)
	require.NoError(t, err)
	require.Len(t, occ[sr.ID], 1)
	bk, err := b.env.Bookings.Get(context.Background(), booking.Scope{All: true}, *occ[sr.ID][0].BookingID)
	require.NoError(t, err)
	require.Equal(t, date, bk.PlayDate)
}
