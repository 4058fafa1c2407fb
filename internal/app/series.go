package app

import (
	"context"

	"reserver/internal/profile"
	"reserver/internal/series"
)

// Series is the store of recurring bookings on env's database and key.
func (e *Env) Series() *series.Store { return series.NewStore(e.DB, e.Box) }

// SeriesSites is the materialiser's view of the site profiles: each
// one's zone, opening rule and per-account limits.
type SeriesSites map[string]*profile.Profile

// Site implements series.Sites.
func (s SeriesSites) Site(name string) (series.Site, bool) {
	p, ok := s[name]
	if !ok {
		return nil, false
	}
	return profileSite{p}, true
}

// The occurrences' bookings are created under the site's account_limits.
var _ series.LimitedSite = profileSite{}

// seriesConfig is the materialiser's configuration: env's stores, the
// profiles and the configured horizon (daemon.series_horizon).
func (e *Env) seriesConfig(profiles map[string]*profile.Profile) series.Config {
	return series.Config{
		Series: e.Series(), Bookings: e.Bookings, Sites: SeriesSites(profiles),
		Horizon: e.Config.Daemon.SeriesHorizon, Logger: e.Log.Named("series"),
	}
}

// StartSeries starts the materialiser of recurring bookings: it creates
// each occurrence's booking once its opening is within the horizon
// (daemon.series_horizon, default 14 days), one pass at start and one a
// minute. Every daemon instance runs one; the database keeps each
// occurrence single.
func (e *Env) StartSeries(ctx context.Context, profiles map[string]*profile.Profile) (*series.Materialiser, error) {
	m, err := series.New(e.seriesConfig(profiles))
	if err != nil {
		return nil, err
	}
	return m, m.Start(ctx)
}
