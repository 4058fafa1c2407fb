package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/config"
	"reserver/internal/profile"
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

// The daemon's materialiser takes its horizon from daemon.series_horizon
// and creates each occurrence's booking under the site profile's
// account_limits.
func TestSeriesHorizonAndLimitsFromConfig(t *testing.T) {
	b := setupDaemon(t, nil)
	profiles, err := LoadProfiles(b.env.Config.SitesDir, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	profiles["courtsim"].AccountLimits = profile.AccountLimits{PerDay: 1}
	ctx := context.Background()

	// Ten days ahead: courtsim opens it seven days before at 09:00 Seoul,
	// two to three days from now.
	loc := profiles["courtsim"].Location
	now := time.Now().In(loc)
	play := time.Date(now.Year(), now.Month(), now.Day()+10, 0, 0, 0, 0, loc)
	date := play.Format("2006-01-02")
	tn, err := b.env.Tenants.CreateToken(ctx, "acme", tenant.RoleUser)
	require.NoError(t, err)
	p, err := b.env.Tenants.Authenticate(ctx, tn)
	require.NoError(t, err)
	// The account holds another court that day already.
	_, _, err = b.env.Bookings.Create(ctx, booking.NewBooking{TenantID: p.TenantID, Site: "courtsim", Username: "user001", Password: "pw",
		Court: "5", PlayDate: date, StartTime: "18:00", EndTime: "19:00", OpensAt: play.AddDate(0, 0, -7).Add(9 * time.Hour),
		WindowSeconds: 300, RatePerSecond: 2})
	require.NoError(t, err)
	sr, _, err := b.env.Series().Create(ctx, series.NewSeries{
		TenantID: p.TenantID, Site: "courtsim", Username: "user001", Password: "pw", Court: "3",
		Rule: series.Rule{Weekdays: []time.Weekday{play.Weekday()}, Start: "10:00", End: "11:00"},
		From: date, Until: date, WindowSeconds: 300, RatePerSecond: 2,
	})
	require.NoError(t, err)

	run := func(horizon time.Duration) series.Result {
		t.Helper()
		b.env.Config.Daemon.SeriesHorizon = horizon
		m, err := series.New(b.env.seriesConfig(profiles))
		require.NoError(t, err)
		res, err := m.RunOnce(ctx, time.Now())
		require.NoError(t, err)
		return res
	}
	require.Equal(t, series.Result{}, run(time.Hour), "an opening two days ahead is beyond a 1h horizon")
	require.Equal(t, series.Result{Recorded: 1, Refused: 1}, run(config.SeriesHorizonDefault), "within 14 days, and refused by the day's limit")
	occ, err := b.env.Series().Occurrences(ctx, sr.ID)
	require.NoError(t, err)
	require.Contains(t, occ[sr.ID][0].Note, `not booked: the site lets account "user001" hold at most 1 reservation(s) a day`)
}
