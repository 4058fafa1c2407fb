package profile

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Courts are the courts (facilities) a site has, as a booking names them
// (its court value): numbers and ranges of numbers ("1-8"), or names.
type Courts struct {
	items []courtItem // in the order written
}

type courtItem struct {
	name   string // a court that is not a number
	lo, hi int    // a number or a range of numbers (lo == hi for one)
}

// Has reports whether the site has court. A number matches a number or
// range of the list whatever its leading zeros ("03" is court 3); any
// other value matches a name of the list, ignoring case and surrounding
// space.
func (c *Courts) Has(court string) bool {
	court = strings.TrimSpace(court)
	n, numErr := strconv.Atoi(court)
	for _, it := range c.items {
		if it.name == "" {
			if numErr == nil && n >= it.lo && n <= it.hi {
				return true
			}
		} else if strings.EqualFold(it.name, court) {
			return true
		}
	}
	return false
}

// String lists the courts as they were written: "1-8, 10, Centre".
func (c *Courts) String() string {
	parts := make([]string, len(c.items))
	for i, it := range c.items {
		switch {
		case it.name != "":
			parts[i] = it.name
		case it.lo == it.hi:
			parts[i] = strconv.Itoa(it.lo)
		default:
			parts[i] = fmt.Sprintf("%d-%d", it.lo, it.hi)
		}
	}
	return strings.Join(parts, ", ")
}

// Slots is the site's slot grid: the slots a booking may take, each from a
// start to its end on the same day (the end may be 24:00). A booking is
// exactly one slot. It is a regular grid (Length > 0: a slot starts at
// First, then every Length, the last one at Last) or a list (Spans).
type Slots struct {
	First, Last, Length time.Duration
	Spans               []SlotSpan // sorted, not overlapping; nil for a grid
}

// SlotSpan is one slot of a listed grid, as times of day.
type SlotSpan struct{ Start, End time.Duration }

// End returns the end of the slot that starts at start, if one does.
func (s *Slots) End(start time.Duration) (time.Duration, bool) {
	if s.Length > 0 {
		if start < s.First || start > s.Last || (start-s.First)%s.Length != 0 {
			return 0, false
		}
		return start + s.Length, true
	}
	for _, sp := range s.Spans {
		if sp.Start == start {
			return sp.End, true
		}
	}
	return 0, false
}

// String describes the grid for a message: "every 60m from 06:00 to
// 17:00" or the list "06:00-08:00, 08:00-10:00".
func (s *Slots) String() string {
	if s.Length > 0 {
		return fmt.Sprintf("slots start every %s from %s to %s", shortDuration(s.Length), clockText(s.First), clockText(s.Last))
	}
	parts := make([]string, len(s.Spans))
	for i, sp := range s.Spans {
		parts[i] = clockText(sp.Start) + "-" + clockText(sp.End)
	}
	return "slots " + strings.Join(parts, ", ")
}

// CheckSlot reports what makes a booking of court from start to end
// (HH:MM, site-local) one the site cannot take, by the courts and the slot
// grid the profile declares: a court the site lacks, a start that is not a
// slot's, an end that is not that slot's end. Nothing is checked that the
// profile does not declare; nil when all is well. Values that are not
// HH:MM are left to the booking's own validation.
func (p *Profile) CheckSlot(court, start, end string) []FieldError {
	var out []FieldError
	if p.Courts != nil && strings.TrimSpace(court) != "" && !p.Courts.Has(court) {
		out = append(out, FieldError{Field: "court", Problem: fmt.Sprintf("the site has no court %q (its courts: %s)", court, p.Courts)})
	}
	if p.Slots == nil {
		return out
	}
	st, err1 := parseSlotClock(start)
	en, err2 := parseSlotClock(end)
	if err1 != nil {
		return out
	}
	slotEnd, ok := p.Slots.End(st)
	if !ok {
		return append(out, FieldError{Field: "start", Problem: fmt.Sprintf("no slot of the site starts at %s (%s)", start, p.Slots)})
	}
	if err2 == nil && en != slotEnd {
		out = append(out, FieldError{Field: "end", Problem: fmt.Sprintf("the site's slot from %s ends at %s, not %s (a booking is one slot)", start, clockText(slotEnd), end)})
	}
	return out
}

// parseSlotClock reads HH:MM (24:00 allowed) as a time of day.
func parseSlotClock(s string) (time.Duration, error) {
	h, m, err := splitHHMM(s)
	if err != nil {
		return 0, err
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// clockText writes a time of day as HH:MM (HH:MM:SS when it has seconds).
func clockText(d time.Duration) string {
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

// shortDuration writes 1h0m0s as 60m, 1h30m0s as 90m, 30s as 30s.
func shortDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// AccountLimits are a site's caps on what one account may hold: at most
// PerDay reservations on one play date, PerWeek in one week (Monday to
// Sunday, site-local); 0 is no cap.
type AccountLimits struct {
	PerDay  int
	PerWeek int
}

// Any reports whether a cap is set.
func (l AccountLimits) Any() bool { return l.PerDay > 0 || l.PerWeek > 0 }

// Expand turns a courts shorthand of a booking's choice into the courts
// it means, in order: "any" is every court of the list as written
// (ranges in ascending order), "3-6" each court from 3 to 6 (all of them
// the site's), and "3,5,Centre" those courts. A court the site does not
// have is an error that names the site's courts.
func (c *Courts) Expand(spec string) ([]string, error) {
	spec = strings.TrimSpace(spec)
	if strings.EqualFold(spec, "any") {
		var out []string
		for _, it := range c.items {
			if it.name != "" {
				out = append(out, it.name)
				continue
			}
			for n := it.lo; n <= it.hi && len(out) <= maxExpand; n++ {
				out = append(out, strconv.Itoa(n))
			}
		}
		if len(out) > maxExpand {
			return nil, fmt.Errorf("\"any\" is more than %d courts at this site (%s): name a range", maxExpand, c)
		}
		return out, nil
	}
	var want []string
	if m := courtRangeRe.FindStringSubmatch(spec); m != nil {
		lo, err1 := strconv.Atoi(m[1])
		hi, err2 := strconv.Atoi(m[2])
		if err1 != nil || err2 != nil || lo > hi {
			return nil, fmt.Errorf("%q must run from a lower court number to a higher one, e.g. 1-4", spec)
		}
		if hi-lo >= maxExpand {
			return nil, fmt.Errorf("%q is more than %d courts", spec, maxExpand)
		}
		for n := lo; n <= hi; n++ {
			want = append(want, strconv.Itoa(n))
		}
	} else {
		for _, part := range strings.Split(spec, ",") {
			if part = strings.TrimSpace(part); part != "" {
				want = append(want, part)
			}
		}
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("%q names no court: give \"any\", a range such as 1-4, or courts separated by commas", spec)
	}
	for _, w := range want {
		if !c.Has(w) {
			return nil, fmt.Errorf("the site has no court %q (its courts: %s)", w, c)
		}
	}
	return want, nil
}

// maxExpand bounds what one shorthand may expand to.
const maxExpand = 16
