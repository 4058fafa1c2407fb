package profile

import "time"

// LastDay is Opening.Day for "the last day of the month".
const LastDay = -1

// Opening is a site's rule for when a play date becomes bookable.
type Opening struct {
	// DaysBefore: the date opens this many days before, at At.
	DaysBefore int
	// Monthly: the whole next month opens on Day (or LastDay) of the
	// month before, at At. A Day the month does not have means its last day.
	Monthly bool
	Day     int
	// At is the time of day (site zone) as an offset from midnight.
	At time.Duration
}

// OpensAt returns the instant, in the site's zone, at which playDate (a
// calendar date; only its year, month and day in the site zone are used)
// becomes bookable. ok is false when the profile has no opening rule.
func (p *Profile) OpensAt(playDate time.Time) (t time.Time, ok bool) {
	if p.Opening == nil {
		return time.Time{}, false
	}
	return p.Opening.opensAt(playDate.In(p.Location), p.Location), true
}

func (o *Opening) opensAt(play time.Time, loc *time.Location) time.Time {
	y, m, d := play.Date()
	h, mi := int(o.At/time.Hour), int(o.At%time.Hour/time.Minute)
	if !o.Monthly {
		return time.Date(y, m, d-o.DaysBefore, h, mi, 0, 0, loc)
	}
	// Day 0 of a month is the last day of the month before it.
	last := time.Date(y, m, 0, 0, 0, 0, 0, loc).Day()
	day := o.Day
	if day == LastDay || day > last {
		day = last
	}
	return time.Date(y, m-1, day, h, mi, 0, 0, loc)
}
