package api

import (
	"fmt"
	"html/template"
	"time"

	"reserver/internal/booking"
	"reserver/internal/sitetime"
)

// Every instant on the page is shown in the site's time zone with its
// offset (sitetime), with the raw UTC instant on hover; attempts are shown
// as T+ms on the site's clock. The template functions here are the only
// place the page turns an instant into text.

// stamp is an instant as the page shows it: Local in the site's zone,
// UTC on hover and in the <time> element's datetime.
type stamp struct {
	Local, UTC string
	// Rel is how far it is from now ("in 12 min", "3 h ago").
	Rel string
}

// waitWords name the reasons a request waited (booking.Attempt.WaitedFor).
var waitWords = map[string]string{
	booking.WaitBookingRate:    "the booking's rate",
	booking.WaitHostCeiling:    "the host ceiling",
	booking.WaitEgressCeiling:  "the egress ceiling",
	booking.WaitEgressCooling:  "a cooling egress",
	booking.WaitClockRemeasure: "a clock re-measure",
}

// waitText says why and how long a request waited before it was sent:
// "waited 20.0 ms for the host ceiling"; empty when it did not wait.
func waitText(a booking.Attempt) string {
	if a.WaitedFor == "" && a.WaitedUS <= 0 {
		return ""
	}
	why := waitWords[a.WaitedFor]
	if why == "" {
		why = a.WaitedFor
	}
	ms := float64(a.WaitedUS) / 1000
	if why == "" {
		return fmt.Sprintf("waited %.1f ms", ms)
	}
	return fmt.Sprintf("waited %.1f ms for %s", ms, why)
}

// sinceOpening is an offset from T in milliseconds as the page writes it.
func sinceOpening(ms float64) string {
	return sitetime.SinceOpening(time.Duration(ms * float64(time.Millisecond)))
}

func (s *Server) stamp(t time.Time, site string, milli bool) stamp {
	if t.IsZero() {
		return stamp{}
	}
	loc := s.location(site)
	st := stamp{Local: sitetime.Format(t, loc), UTC: sitetime.UTC(t), Rel: sitetime.Until(s.o.Now(), t)}
	if milli {
		st.Local = sitetime.FormatMilli(t, loc)
	}
	return st
}

// uiFuncs are the templates' functions; they see the server for the
// sites' zones and the clock.
func (s *Server) uiFuncs() template.FuncMap {
	return template.FuncMap{
		"color":   classColor,
		"classes": sortedClasses,
		"steps":   stepChips,
		// at is t (a time.Time or *time.Time) in site's zone to the second;
		// atMilli to the millisecond.
		"at":      func(t any, site string) stamp { return s.stamp(deref(t), site, false) },
		"atMilli": func(t any, site string) stamp { return s.stamp(deref(t), site, true) },
		// offset is an attempt's send time from the opening, on the site's
		// clock as the booking's attempts estimate it (booking.SiteClockFor).
		"offset": func(a booking.Attempt, b *booking.Booking, clk booking.SiteClock) string {
			return sinceOpening(clk.SinceOpening(a.SentAt, b.OpensAt))
		},
		"waited": waitText,
		"ms":     func(us int64) string { return fmt.Sprintf("%.1f", float64(us)/1000) },
		"add":    func(a, b float64) float64 { return a + b },
		"sub":    func(a, b float64) float64 { return a - b },
		"lastAttempt": func(as []booking.Attempt) *booking.Attempt {
			if len(as) == 0 {
				return nil
			}
			return &as[len(as)-1]
		},
		"username": func(b *booking.Booking) string {
			if b.Account == nil {
				return ""
			}
			return b.Account.Username
		},
		"stateLabel": stateLabel,
		"slotText":   slotText,
		// shownSlot and choiceNote are a booking's slot in a list: the
		// one booked, else its first choice, and how it stands among its
		// choices.
		"shownSlot":  (*booking.Booking).Slot,
		"choiceNote": choiceNote,
	}
}

func deref(t any) time.Time {
	switch v := t.(type) {
	case time.Time:
		return v
	case *time.Time:
		if v != nil {
			return *v
		}
	}
	return time.Time{}
}

// stateLabel is a booking's state for a person: a running or armed
// booking is in progress, not "not finished".
func stateLabel(st booking.State) string {
	switch st {
	case booking.Queued:
		return "queued"
	case booking.Armed:
		return "armed, waiting for T"
	case booking.Running:
		return "running"
	}
	return string(st)
}

// choiceRow is one of a booking's choices as the page lists it: N is its
// 1-based place in the booking's order, Won marks the one the site booked.
type choiceRow struct {
	N int
	booking.Choice
	Won bool
}

// choiceRows are b's choices in order, the winner marked.
func choiceRows(b *booking.Booking) []choiceRow {
	won := b.BookedChoice()
	cs := b.Choices()
	out := make([]choiceRow, len(cs))
	for i, c := range cs {
		out[i] = choiceRow{N: i + 1, Choice: c, Won: i+1 == won}
	}
	return out
}

// choiceNote is what a list adds to the slot it shows for b (Booking.Slot):
// "choice 2 of 3" once one was booked, "+2 choices" before; empty for a
// booking of one slot.
func choiceNote(b *booking.Booking) string {
	n := len(b.Choices())
	switch w := b.BookedChoice(); {
	case n <= 1:
		return ""
	case w > 0:
		return fmt.Sprintf("choice %d of %d", w, n)
	case n == 2:
		return "+1 choice"
	}
	return fmt.Sprintf("+%d choices", n-1)
}

// slotText is a choice as the page writes a slot: "3, 2026-12-10 10:00–11:00"
// (the court, then the play date and times, site-local).
func slotText(c booking.Choice) string {
	return fmt.Sprintf("%s, %s %s–%s", c.Court, c.Date, c.Start, c.End)
}

// stepChip is one class count of one step.
type stepChip struct {
	Class string
	N     int
	// Quiet is a chip that must not draw the eye: a login's or a trace's
	// success is routine, a booking is won by a submit (or a verify).
	Quiet bool
}

// stepRow is one step's chips.
type stepRow struct {
	Step  string
	Chips []stepChip
}

// stepChips lays out counts by step then class (booking.Failure.Steps):
// the steps in lane order, each with its classes, a non-booking step's
// success quiet.
func stepChips(steps map[string]map[string]int) []stepRow {
	seen := map[string]bool{}
	for k := range steps {
		seen[k] = true
	}
	var out []stepRow
	for _, step := range ordered(stepOrder, seen) {
		row := stepRow{Step: step}
		for _, c := range sortedClasses(steps[step]) {
			row.Chips = append(row.Chips, stepChip{Class: c, N: steps[step][c],
				Quiet: c == "success" && step != "submit" && step != "verify"})
		}
		out = append(out, row)
	}
	return out
}

// countSteps counts attempts by step, then class.
func countSteps(as []booking.Attempt) map[string]map[string]int {
	m := map[string]map[string]int{}
	for _, a := range as {
		if m[a.Step] == nil {
			m[a.Step] = map[string]int{}
		}
		m[a.Step][a.Class]++
	}
	return m
}
