package app

import (
	"time"

	"reserver/internal/api"
)

// anySite accepts every site name, in Asia/Seoul, without site-specific
// rules. It stands in until the site profiles are loaded from configs/sites.
type anySite struct{ loc *time.Location }

func (s anySite) Location() *time.Location                       { return s.loc }
func (anySite) CheckFields(map[string]string) []api.FieldProblem { return nil }
func (anySite) OpensAt(time.Time) (time.Time, bool)              { return time.Time{}, false }

type anySites struct{ site anySite }

func (a anySites) Site(string) (api.Site, bool) { return a.site, true }

// Sites returns the site catalogue the API validates bookings against.
func (e *Env) Sites() (api.Sites, error) {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		return nil, err
	}
	return anySites{anySite{loc: loc}}, nil
}
