// Package sitetime shows instants the one way every part of reserver uses
// (the operator page, the CLI, the API's warnings, the SMS): in the site's
// time zone with its offset, because a 09:00 Seoul opening read as 00:00Z
// the day before is misread on the opening morning.
package sitetime

import (
	"fmt"
	"strings"
	"time"
)

// Layouts, without the zone: Format and FormatMilli add it.
const (
	layoutSeconds = "2006-01-02 15:04:05"
	layoutMilli   = "2006-01-02 15:04:05.000"
)

// Format is t in loc to the second with the zone's offset and, when it has
// one, its abbreviation: "2026-12-02 09:00:00 +09:00 KST". A nil loc is UTC.
func Format(t time.Time, loc *time.Location) string { return format(t, loc, layoutSeconds) }

// FormatMilli is Format to the millisecond.
func FormatMilli(t time.Time, loc *time.Location) string { return format(t, loc, layoutMilli) }

// Clock is the time of day of t in loc to the millisecond with the offset:
// "09:00:00.000 +09:00", for a timeline's T.
func Clock(t time.Time, loc *time.Location) string {
	t = in(t, loc)
	return t.Format("15:04:05.000 -07:00")
}

// UTC is the raw instant, for a tooltip or JSON beside the local form.
func UTC(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func in(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc)
}

func format(t time.Time, loc *time.Location, layout string) string {
	t = in(t, loc)
	s := t.Format(layout + " -07:00")
	if abbr := t.Format("MST"); abbr != "" && !strings.HasPrefix(abbr, "+") && !strings.HasPrefix(abbr, "-") {
		s += " " + abbr
	}
	return s
}

// Until says how far t is from now in words a person reads at a glance:
// "in 45 s", "in 12 min", "in 3 h 20 min", "in 11 days 1 h", or the same
// with "ago" for an instant past.
func Until(now, t time.Time) string {
	d := t.Sub(now)
	if d < 0 {
		return span(-d) + " ago"
	}
	return "in " + span(d)
}

func span(d time.Duration) string {
	// Round to the unit first, so that 59 min 50 s reads "1 h", not "60 min".
	switch {
	case d < time.Minute-time.Second/2:
		d = d.Round(time.Second)
	case d < time.Hour-30*time.Second:
		d = d.Round(time.Minute)
	case d < 24*time.Hour-30*time.Second:
		d = d.Round(time.Minute)
	default:
		d = d.Round(time.Hour)
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		unit := "days"
		if days == 1 {
			unit = "day"
		}
		if h == 0 {
			return fmt.Sprintf("%d %s", days, unit)
		}
		return fmt.Sprintf("%d %s %d h", days, unit, h)
	}
}

// SinceOpening is an offset from the opening T on the site's clock:
// "T+12.3 ms", "T−9.96 s" (seconds from one second on).
func SinceOpening(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "−", -d
	}
	if d < time.Second {
		return fmt.Sprintf("T%s%.1f ms", sign, float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("T%s%.2f s", sign, d.Seconds())
}
