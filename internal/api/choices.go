package api

import (
	"fmt"
	"strings"
	"time"

	"reserver/internal/booking"
	"reserver/internal/sitetime"
)

// ChoiceExpander is implemented by a Site whose profile declares its
// courts: it turns a choice's courts shorthand ("any", "1-4", "3,5") into
// the courts it means, in order, or says what is wrong with it (naming the
// site's courts).
type ChoiceExpander interface {
	ExpandCourts(spec string) ([]string, error)
}

// choiceRequest is one item of a booking's (or a series') choices: a
// court, or a courts shorthand the site's profile expands, and the date
// and times when they are not the booking's own.
type choiceRequest struct {
	Court  *flexString `json:"court"`
	Courts *string     `json:"courts"`
	Date   *string     `json:"date"`
	Start  *string     `json:"start"`
	End    *string     `json:"end"`
}

// expandedChoice is a concrete choice and where it came from: the item of
// the request (0-based) and, for a shorthand, the shorthand.
type expandedChoice struct {
	booking.Choice
	Item   int
	Courts string
	// start and end are Start and End as durations since midnight.
	start, end time.Duration
}

// position names where c came from, for a person: "choices[2]" or
// "choices[2] (court 4 of courts \"1-4\")".
func (c expandedChoice) position(prefix string) string {
	p := fmt.Sprintf("%s[%d]", prefix, c.Item)
	if c.Courts != "" {
		p += fmt.Sprintf(" (court %s of courts %q)", c.Court, c.Courts)
	}
	return p
}

// expandChoices validates the items, fills date/start/end from def when an
// item leaves them out, expands courts shorthands with the site
// (ChoiceExpander), and returns the concrete list. dated=false is for a
// series: an item's date is refused (each occurrence's date is used) and
// the returned choices have Date "". Problems go to bad(field, detail)
// with field "<prefix>[i].court"; a problem of the site's courts or slot
// grid (SlotChecker) too. Nothing is returned when there is a problem.
func expandChoices(reqs []choiceRequest, def booking.Choice, site Site, dated bool, prefix string, bad func(field, detail string)) []booking.Choice {
	ok := true
	flag := func(field, detail string) { ok = false; bad(field, detail) }
	ex, _ := checkChoices(reqs, def, site, dated, prefix, flag, flag)
	if !ok {
		return nil
	}
	out := make([]booking.Choice, len(ex))
	for i, c := range ex {
		out[i] = c.Choice
	}
	return out
}

// checkChoices is expandChoices with the site's refusals of well-formed
// slots (SlotChecker: 422, not 400) sent to slotBad and the site's
// warnings returned. With prefix "" there is one item, the top-level slot
// of a one-slot booking, and its fields are "court", "date", "start" and
// "end". The choices are returned as far as they are valid.
func checkChoices(reqs []choiceRequest, def booking.Choice, site Site, dated bool, prefix string, bad, slotBad func(field, detail string)) ([]expandedChoice, []string) {
	top := prefix == ""
	if !top && len(reqs) == 0 {
		bad(prefix, "expected at least one choice: leave choices out for a booking of one slot")
		return nil, nil
	}
	loc := time.UTC
	if site != nil && site.Location() != nil {
		loc = site.Location()
	}
	var out []expandedChoice
	var warnings []string
	total := 0 // the choices once expanded, also those past the bound
	for i, r := range reqs {
		field := func(name string) string {
			if top {
				return name
			}
			return fmt.Sprintf("%s[%d].%s", prefix, i, name)
		}
		here := ", here or at the top level"
		if top {
			here = ""
		}
		var courts []string
		spec := ""
		switch {
		case r.Court != nil && r.Courts != nil:
			bad(field("courts"), "give court or courts, not both: court names one court, courts a shorthand such as \"any\" or \"1-4\"")
		case r.Courts != nil:
			spec = *r.Courts
			ce, can := site.(ChoiceExpander)
			switch {
			case top:
				bad(field("courts"), "a courts shorthand goes in an item of choices")
			case strings.TrimSpace(spec) == "":
				bad(field("courts"), "required: a shorthand such as \"any\", \"1-4\" or \"3,5\" (or give court)")
			case site == nil:
				// The site is unknown (reported already): nothing expands.
			case !can:
				bad(field("courts"), "this site's profile cannot expand a courts shorthand: name each court with court")
			default:
				cs, err := ce.ExpandCourts(spec)
				if err != nil {
					bad(field("courts"), err.Error())
				}
				for _, c := range cs {
					if !courtRE.MatchString(c) {
						bad(field("courts"), fmt.Sprintf("%q expands to court %q, which is not 1-32 letters, digits, '.', '_' or '-'", spec, c))
						cs = nil
						break
					}
				}
				courts = cs
			}
		case r.Court == nil || *r.Court == "":
			if top {
				bad("court", "required: the court (facility) number or name, such as \"3\"")
			} else {
				bad(field("court"), "required: the court (facility) number or name, such as \"3\", or courts: a shorthand such as \"any\" or \"1-4\"")
			}
		case !courtRE.MatchString(string(*r.Court)):
			bad(field("court"), "expected 1-32 letters, digits, '.', '_' or '-'")
		default:
			courts = []string{string(*r.Court)}
		}

		date := def.Date
		okDate := true
		switch {
		case !dated:
			if r.Date != nil {
				bad(field("date"), "a series' choice has no date: each occurrence's date is used; leave it out")
				okDate = false
			}
			date = ""
		case r.Date != nil && *r.Date != "":
			if _, err := time.ParseInLocation(time.DateOnly, *r.Date, loc); err != nil {
				bad(field("date"), fmt.Sprintf("%q is not a date that exists: expected YYYY-MM-DD", *r.Date))
				okDate = false
			}
			date = *r.Date
		case date == "":
			// A top-level date that is given but bad is reported at the
			// top level; only one that is missing is reported here.
			okDate = false
			if top || def.Date == "" {
				bad(field("date"), "required: the play date as YYYY-MM-DD"+here)
			}
		}
		start, okStart := choiceClock(r.Start, def.Start, field("start"), here, bad)
		end, okEnd := choiceClock(r.End, def.End, field("end"), here, bad)
		if okStart && okEnd && end.d <= start.d {
			bad(field("end"), "must be after start")
			okEnd = false
		}
		if len(courts) == 0 || !okDate || !okStart || !okEnd {
			continue
		}
		for _, court := range courts {
			c := expandedChoice{
				Choice: booking.Choice{Court: court, Date: date, Start: start.s, End: end.s},
				Item:   i, start: start.d, end: end.d,
			}
			if r.Courts != nil {
				c.Courts = spec
			}
			if sc, ok := site.(SlotChecker); ok {
				p, w := sc.CheckSlot(c.Court, c.Date, c.Start, c.End)
				for _, q := range p {
					detail := q.Detail
					if c.Courts != "" {
						detail = fmt.Sprintf("%s: %s", c.position(prefix), detail)
					}
					slotBad(field(q.Field), detail)
				}
				warnings = append(warnings, w...)
			}
			if total++; total > booking.MaxChoices {
				continue
			}
			out = append(out, c)
		}
	}
	if total > booking.MaxChoices {
		bad(prefix, fmt.Sprintf("%d choices once the courts shorthands are expanded: at most %d; name fewer courts, or make a second booking", total, booking.MaxChoices))
	}
	seen := make(map[booking.Choice]expandedChoice, len(out))
	for _, c := range out {
		key := c.Choice
		key.Court = canonicalCourt(key.Court)
		if prev, dup := seen[key]; dup {
			bad(fmt.Sprintf("%s[%d]", prefix, c.Item), fmt.Sprintf("%s is the same slot as %s (%s): give each slot once", c.position(prefix), prev.position(prefix), c.Choice))
			continue
		}
		seen[key] = c
	}
	return out, warnings
}

// canonicalCourt is the court as the site tells it from others: court
// "03" is court 3, and names ignore case (profile.Courts.Has).
func canonicalCourt(c string) string {
	if t := strings.TrimLeft(c, "0"); t != c && t != "" && strings.Trim(t, "0123456789") == "" {
		return t
	}
	return strings.ToLower(c)
}

type clockValue struct {
	s string
	d time.Duration
}

// choiceClock is an item's start or end: its own, else def (the top
// level's, valid or empty).
func choiceClock(s *string, def, field, here string, bad func(string, string)) (clockValue, bool) {
	if (s == nil || *s == "") && def != "" {
		s = &def
	}
	if s == nil || *s == "" {
		bad(field, "required: a site-local time as HH:MM"+here)
		return clockValue{}, false
	}
	d, ok := clock(s, field, bad)
	return clockValue{s: *s, d: d}, ok
}

// sameOpening refuses each choice of cs whose opening by the site's rule
// is not ref's (the booking's first choice, or at a PATCH its current
// first choice: what it opens by): a booking opens at one instant, and a
// choice that opens at another must be a booking of its own. A site
// without an opening rule is not checked (the booking's opens_at is
// given).
func sameOpening(cs []expandedChoice, ref booking.Choice, site Site, prefix string, bad func(field, detail string)) {
	if len(cs) == 0 || site == nil {
		return
	}
	loc := site.Location()
	opens := func(c booking.Choice) (time.Time, bool) {
		d, err := time.ParseInLocation(time.DateOnly, c.Date, loc)
		if err != nil {
			return time.Time{}, false
		}
		return site.OpensAt(d, c.Start, c.End)
	}
	first, ok := opens(ref)
	if !ok {
		return
	}
	for _, c := range cs {
		if c.Choice == ref {
			continue
		}
		t, ok := opens(c.Choice)
		if ok && !t.Equal(first) {
			bad(fmt.Sprintf("%s[%d]", prefix, c.Item), fmt.Sprintf("%s (%s) opens at %s, but the booking opens at %s (by %s): a booking opens at one instant; make it a separate booking",
				c.position(prefix), c.Choice, sitetime.Format(t, loc), sitetime.Format(first, loc), ref))
		}
	}
}
