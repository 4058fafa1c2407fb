package cli

import (
	"fmt"
	"io"
	"time"

	"reserver/internal/config"
	"reserver/internal/sitetime"
)

// siteZones is each site's time zone, from its profile: the review
// commands show every instant in the zone of the site it is about, with
// its offset (internal/sitetime), because a 09:00 Seoul opening read as
// 00:00Z the day before is misread on the opening morning.
type siteZones map[string]*time.Location

// zones loads the profiles of cfg for their zones. Without them (the
// review commands read the database and may run where the profiles are
// not) every site is shown in UTC, said once on errw.
func (c *common) zones(cfg config.Config, errw io.Writer) siteZones {
	profs, err := c.profiles(cfg)
	if err != nil {
		fmt.Fprintf(errw, "note: times are shown in UTC: %v\n", err)
		return siteZones{}
	}
	z := make(siteZones, len(profs))
	for name, p := range profs {
		z[name] = p.Location
	}
	return z
}

// of is site's zone; UTC for a site without a profile.
func (z siteZones) of(site string) *time.Location {
	if loc := z[site]; loc != nil {
		return loc
	}
	return time.UTC
}

// common is the one zone every site shares, for instants that belong to
// no site (an instance's heartbeat); UTC when the sites differ or none is
// known.
func (z siteZones) common() *time.Location {
	var one *time.Location
	for _, loc := range z {
		if one != nil && loc.String() != one.String() {
			return time.UTC
		}
		one = loc
	}
	if one == nil {
		return time.UTC
	}
	return one
}

// when is t in loc with how far it is from now: "2026-12-02 09:00:00
// +09:00 KST (in 11 days 2 h)".
func when(now, t time.Time, loc *time.Location) string {
	return sitetime.Format(t, loc) + " (" + sitetime.Until(now, t) + ")"
}
