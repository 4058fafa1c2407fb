package app

import (
	"context"

	"reserver/internal/profile"
	"reserver/internal/series"
)

// Series is the store of recurring bookings on env's database and key.
func (e *Env) Series() *series.Store { return series.NewStore(e.DB, e.Box) }

// SeriesSites is the materialiser's view of the site profiles: each
// one's zone and opening rule.
type SeriesSites map[string]*profile.Profile

// Site implements series.Sites.
func (s SeriesSites) Site(name string) (series.Site, bool) {
	p, ok := s[name]
	if !ok {
		return nil, false
	}
	return profileSite{p}, true
}

// StartSeries starts the materialiser of recurring bookings: it creates
// each occurrence's booking once its opening is within the horizon
// (series.HorizonDefault), one pass at start and one a minute. Every
// daemon instance runs one; the database keeps each occurrence single.
func (e *Env) StartSeries(ctx context.Context, profiles map[string]*profile.Profile) (*series.Materialiser, error) {
	m, err := series.New(series.Config{
		Series: e.Series(), Bookings: e.Bookings, Sites: SeriesSites(profiles), Logger: e.Log.Named("series"),
	})
	if err != nil {
		return nil, err
	}
	return m, m.Start(ctx)
}
