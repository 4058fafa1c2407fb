package app

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"go.uber.org/zap"

	"reserver/internal/api"
	"reserver/internal/profile"
)

// LoadProfiles loads every site profile of the configured directory and
// applies the per-site base-URL overrides of the environment
// (RESERVER_SITE_<NAME>_BASE_URL). Each profile's load warnings (such as a
// missing verify step) are logged once here.
func (e *Env) LoadProfiles() (map[string]*profile.Profile, error) {
	profs, err := LoadProfiles(e.Config.SitesDir, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(profs)) {
		for _, w := range profs[name].Warnings {
			e.Log.Warn("site profile warning", zap.String("site", name), zap.String("warning", w))
		}
	}
	return profs, nil
}

// LoadProfiles loads the profiles of dir with overrides from lookup.
func LoadProfiles(dir string, lookup func(string) (string, bool)) (map[string]*profile.Profile, error) {
	profs, err := profile.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("site profiles in %s: %w", dir, err)
	}
	if len(profs) == 0 {
		return nil, fmt.Errorf("site profiles in %s: none found (a profile is a .yaml file; see configs/sites/_template.yaml.example)", dir)
	}
	for name, p := range profs {
		q, err := profile.ApplyEnv(p, lookup)
		if err != nil {
			return nil, err
		}
		profs[name] = q
	}
	return profs, nil
}

// Catalog is the API's view of the site profiles.
type Catalog map[string]*profile.Profile

// Site implements api.Sites.
func (c Catalog) Site(name string) (api.Site, bool) {
	p, ok := c[name]
	if !ok {
		return nil, false
	}
	return profileSite{p}, true
}

type profileSite struct{ p *profile.Profile }

// A profile's rate_per_second is a ceiling the API enforces, and its
// courts and slots bound what a booking may name.
var (
	_ api.RateCeiling    = profileSite{}
	_ api.SlotChecker    = profileSite{}
	_ api.ChoiceExpander = profileSite{}
	_ api.AccountLimiter = profileSite{}
)

func (s profileSite) Location() *time.Location { return s.p.Location }

// Guest is true for a site without a login step: no site password.
func (s profileSite) Guest() bool { return s.p.Login == nil }

func (s profileSite) OpensAt(d time.Time, start, end string) (time.Time, bool) {
	return s.p.OpensAt(d, start, end)
}

// RatePerSecond is the profile's ceiling on one booking's requests per
// second; the API refuses a booking that asks for more.
func (s profileSite) RatePerSecond() float64 { return s.p.RatePerSecond }

func (s profileSite) CheckFields(f map[string]string) []api.FieldProblem {
	errs := s.p.ValidateFields(f)
	out := make([]api.FieldProblem, 0, len(errs))
	for _, e := range errs {
		out = append(out, api.FieldProblem{Field: e.Field, Detail: e.Problem})
	}
	return out
}

// CheckSlot refuses a booking the site cannot take by its profile's courts
// and slot grid (a court it does not have, a start or end off the grid);
// a profile that declares neither is not checked. The date is not
// checked: a profile's grid is the same every day. There are no warnings
// yet: what the profile declares is certain.
func (s profileSite) CheckSlot(court, date, start, end string) (problems []api.FieldProblem, warnings []string) {
	for _, e := range s.p.CheckSlot(court, start, end) {
		problems = append(problems, api.FieldProblem{Field: e.Field, Detail: e.Problem})
	}
	return problems, nil
}

// ExpandCourts turns a choice's courts shorthand ("any", "1-4", "3,5")
// into the profile's courts it means, in order. A profile that declares no
// courts cannot expand one.
func (s profileSite) ExpandCourts(spec string) ([]string, error) {
	if s.p.Courts == nil {
		return nil, fmt.Errorf("the site's profile declares no courts, so a shorthand such as %q cannot be expanded: name each court in its own choice", spec)
	}
	return s.p.Courts.Expand(spec)
}

// AccountLimits are the profile's caps on the reservations one account
// may hold a day and a week (account_limits); the store refuses a booking
// that would exceed them.
func (s profileSite) AccountLimits() profile.AccountLimits { return s.p.AccountLimits }
