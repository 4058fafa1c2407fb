package profile

import (
	"cmp"
	"errors"
	"strconv"
	"strings"
	"time"
)

// LastDay is Opening.Day for "the last day of the month".
const LastDay = -1

// SlotEdge names the end of a booked slot a rolling rule counts from.
type SlotEdge string

// The slot edges of a rolling rule.
const (
	OfStart SlotEdge = "start"
	OfEnd   SlotEdge = "end"
)

// Limits and defaults of a rolling rule.
const (
	// MaxRollingBefore bounds Opening.Before: no site takes bookings more
	// than about a year ahead, so more is a typing mistake.
	MaxRollingBefore = 400 * 24 * time.Hour
	// DefaultGranularity is Opening.Granularity when a profile gives none.
	DefaultGranularity = time.Second
)

// Opening is a site's rule for when a play date (or, for a rolling rule, a
// slot) becomes bookable. Exactly one of the three shapes is set: days
// before (neither Monthly nor Rolling), Monthly, or Rolling.
type Opening struct {
	// DaysBefore: the date opens this many days before, at At.
	DaysBefore int
	// Monthly: the whole next month opens on Day (or LastDay) of the
	// month before, at At. A Day the month does not have means its last day.
	Monthly bool
	Day     int
	// At is the wall time of day in the site zone, as an offset from
	// midnight; it may hold seconds. It is not used by a rolling rule.
	At time.Duration

	// Rolling: a slot opens Before its start or end (Of), as the site
	// compares truncate(now, Granularity) + Before ≥ the slot's instant.
	Rolling     bool
	Before      time.Duration
	Of          SlotEdge
	Granularity time.Duration // time.Second or time.Minute
}

// OpensAt returns the instant, in the site's zone, at which a booking
// becomes bookable. playDate is a calendar date (only its year, month and
// day in the site zone are used); start and end are the booking's slot
// times as "HH:MM" in the site zone (end may be "24:00", the next midnight).
// Fixed rules (days_before, monthly) ignore start and end; a rolling rule
// uses one of them. ok is false when the profile has no opening rule, or
// when the rule is rolling and the time it needs does not parse.
//
// Wall times are resolved in the site zone without relying on time.Date's
// unspecified choice: a time that a spring-forward gap skips means the
// instant the clock jumps to (02:30 on a day that skips 02:00→03:00 is
// 03:00), and a time a fall-back fold repeats means its first occurrence.
func (p *Profile) OpensAt(playDate time.Time, start, end string) (t time.Time, ok bool) {
	if p.Opening == nil {
		return time.Time{}, false
	}
	return p.Opening.opensAt(playDate.In(p.Location), start, end, p.Location)
}

func (o *Opening) opensAt(play time.Time, start, end string, loc *time.Location) (time.Time, bool) {
	y, m, d := play.Date()
	switch {
	case o.Rolling:
		s, ok := slotTime(o.Of, start, end)
		if !ok {
			return time.Time{}, false
		}
		slot := zonedWallTime(y, m, d, s, loc)
		return ceilTo(slot.Add(-o.Before), cmp.Or(o.Granularity, DefaultGranularity)).In(loc), true
	case o.Monthly:
		// Day 0 of a month is the last day of the month before it.
		last := time.Date(y, m, 0, 12, 0, 0, 0, time.UTC).Day()
		day := o.Day
		if day == LastDay || day > last {
			day = last
		}
		return zonedWallTime(y, m-1, day, o.At, loc), true
	default:
		return zonedWallTime(y, m, d-o.DaysBefore, o.At, loc), true
	}
}

// slotTime parses the edge of the slot a rolling rule counts from: "HH:MM"
// from 00:00 to 23:59, or "24:00" for an end.
func slotTime(of SlotEdge, start, end string) (time.Duration, bool) {
	s := start
	if of == OfEnd {
		s = end
	}
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if of == OfEnd && s == "24:00" {
		return 24 * time.Hour, true
	}
	d, err := parseClock(s)
	return d, err == nil
}

// ceilTo rounds t up to a multiple of g. Multiples are counted from the
// zero time, so they fall on UTC's second or minute boundaries, which are
// the site's own for every zone in use today (whole-minute offsets).
func ceilTo(t time.Time, g time.Duration) time.Time {
	r := t.Truncate(g)
	if r.Before(t) {
		r = r.Add(g)
	}
	return r
}

var errClock = errors.New("want HH:MM or HH:MM:SS from 00:00 to 23:59:59")

// parseClock reads a wall time of day, "HH:MM" or "HH:MM:SS" (the hour may
// have one digit), as an offset from midnight.
func parseClock(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || len(parts[0]) < 1 || len(parts[0]) > 2 {
		return 0, errClock
	}
	limits := []int{23, 59, 59}
	var v [3]int
	for i, p := range parts {
		if i > 0 && len(p) != 2 {
			return 0, errClock
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > limits[i] || strings.ContainsAny(p, "+-") {
			return 0, errClock
		}
		v[i] = n
	}
	return time.Duration(v[0])*time.Hour + time.Duration(v[1])*time.Minute + time.Duration(v[2])*time.Second, nil
}

// zonedWallTime is the instant at which the wall clock of loc shows the date
// y-m-d (normalised, so day 0 is the last of the month before) plus off
// (whole seconds; 24h is the next midnight). It does not use time.Date's
// unspecified choice in a gap or a fold: it finds every instant whose wall
// time is the one asked for and takes the first; when there is none (a
// spring-forward gap) it takes the transition, the first instant after the
// gap.
func zonedWallTime(y int, m time.Month, d int, off time.Duration, loc *time.Location) time.Time {
	// The wall time as seconds of a clock that never changes offset.
	wall := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(off).Unix()
	// Every offset in effect within a day either side: the real instant
	// is wall − offset, and no offset exceeds ±14h.
	const span = 26 * 3600
	var offsets []int
	for t := time.Unix(wall-span, 0).In(loc); t.Unix() <= wall+span; {
		_, o := t.Zone()
		offsets = append(offsets, o)
		_, next := t.ZoneBounds()
		if next.IsZero() || !next.After(t) {
			break
		}
		t = next
	}
	var best int64
	found := false
	for _, o := range offsets {
		u := wall - int64(o)
		if _, got := time.Unix(u, 0).In(loc).Zone(); got == o && (!found || u < best) {
			best, found = u, true
		}
	}
	if found {
		return time.Unix(best, 0).In(loc)
	}
	// A gap: the wall time lies between the clock before a transition and
	// the clock after it. The transition is the first instant whose wall
	// time is later than the one asked for.
	for _, o := range offsets {
		t := time.Unix(wall-int64(o), 0).In(loc)
		_, next := t.ZoneBounds()
		if next.IsZero() {
			continue
		}
		_, before := t.Zone()
		_, after := next.Zone()
		if next.Unix()+int64(before) <= wall && wall < next.Unix()+int64(after) {
			return next.In(loc)
		}
	}
	// Unreachable with real zone data; keep the offset of the wall time
	// read as UTC rather than fail.
	_, o := time.Unix(wall, 0).In(loc).Zone()
	return time.Unix(wall-int64(o), 0).In(loc)
}
