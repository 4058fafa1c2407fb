package profile

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	courtRangeRe  = regexp.MustCompile(`^([0-9]+)\s*-\s*([0-9]+)$`)
	courtNumberRe = regexp.MustCompile(`^[0-9]+$`)
)

// courts reads `courts:`, a list of numbers, ranges "lo-hi" and names.
func (l *loader) courts(n *yaml.Node) *Courts {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		l.add(n, `courts must be a non-empty list of courts, numbers, ranges or names, e.g. ["1-8"] or [1, 2, Centre]`)
		return nil
	}
	c := &Courts{}
	bad := false
	for i, item := range n.Content {
		item = resolve(item)
		what := "courts[" + strconv.Itoa(i) + "]"
		s, ok := l.str(item, what)
		s = strings.TrimSpace(s)
		if !ok || s == "" {
			if ok {
				l.add(item, "%s is empty: give a court number, a range such as 1-8, or a name", what)
			}
			bad = true
			continue
		}
		var it courtItem
		switch {
		case courtRangeRe.MatchString(s):
			m := courtRangeRe.FindStringSubmatch(s)
			lo, err1 := strconv.Atoi(m[1])
			hi, err2 := strconv.Atoi(m[2])
			if err1 != nil || err2 != nil || lo > hi {
				l.add(item, "%s: range %q must run from a lower number to a higher one, e.g. 1-8", what, s)
				bad = true
				continue
			}
			it = courtItem{lo: lo, hi: hi}
		case courtNumberRe.MatchString(s):
			v, err := strconv.Atoi(s)
			if err != nil {
				l.add(item, "%s: %q is too large a court number", what, s)
				bad = true
				continue
			}
			it = courtItem{lo: v, hi: v}
		default:
			if strings.Contains(s, "{{") {
				l.add(item, "%s is not a template position: %q would be compared as written", what, s)
				bad = true
				continue
			}
			it = courtItem{name: s}
		}
		for _, prev := range c.items {
			same := it.name != "" && strings.EqualFold(prev.name, it.name)
			overlap := it.name == "" && prev.name == "" && it.lo <= prev.hi && prev.lo <= it.hi
			if same || overlap {
				l.add(item, "%s: %q repeats a court already listed (%s)", what, s, (&Courts{items: []courtItem{prev}}).String())
				bad = true
			}
		}
		c.items = append(c.items, it)
	}
	if bad {
		return nil
	}
	return c
}

var slotsKeys = []string{"first", "last", "length"}

// slots reads `slots:`, a grid {first, last, length} or a list of
// "HH:MM-HH:MM" spans.
func (l *loader) slots(n *yaml.Node) *Slots {
	switch n.Kind {
	case yaml.MappingNode:
		return l.slotGrid(n)
	case yaml.SequenceNode:
		return l.slotList(n)
	}
	l.add(n, `slots must be a grid {first: "06:00", last: "21:00", length: 60m} or a list of slots ["06:00-08:00", "08:00-10:00"]`)
	return nil
}

func (l *loader) slotGrid(n *yaml.Node) *Slots {
	m := byKey(l.mapping(n, "slots", slotsKeys))
	s := &Slots{}
	ok := true
	for _, k := range []struct {
		key string
		to  *time.Duration
	}{{"first", &s.First}, {"last", &s.Last}} {
		v := m[k.key]
		if v == nil {
			l.add(n, "slots.%s is required (the start of the day's %s slot, HH:MM)", k.key, k.key)
			ok = false
			continue
		}
		str, _ := l.str(v, "slots."+k.key)
		d, err := parseClock(strings.TrimSpace(str))
		if err != nil {
			l.add(v, "slots.%s must be a time of day HH:MM, from 00:00 to 23:59, got %q", k.key, str)
			ok = false
			continue
		}
		*k.to = d
	}
	if v := m["length"]; v == nil {
		l.add(n, "slots.length is required (how long one slot is, e.g. 60m)")
		ok = false
	} else if str, _ := l.str(v, "slots.length"); str != "" {
		d, err := time.ParseDuration(strings.TrimSpace(str))
		if err != nil || d < time.Minute || d > 24*time.Hour || d%time.Minute != 0 {
			l.add(v, "slots.length must be whole minutes between 1m and 24h, such as 60m or 1h30m, got %q", str)
			ok = false
		} else {
			s.Length = d
		}
	}
	if !ok {
		return nil
	}
	switch {
	case s.Last < s.First:
		l.add(m["last"], "slots.last (%s) is before slots.first (%s)", clockText(s.Last), clockText(s.First))
		return nil
	case (s.Last-s.First)%s.Length != 0:
		l.add(m["last"], "slots.last (%s) is not on the grid: slots start every %s from %s", clockText(s.Last), shortDuration(s.Length), clockText(s.First))
		return nil
	case s.Last+s.Length > 24*time.Hour:
		l.add(m["last"], "the last slot (%s for %s) ends after midnight: a slot ends by 24:00", clockText(s.Last), shortDuration(s.Length))
		return nil
	}
	return s
}

func (l *loader) slotList(n *yaml.Node) *Slots {
	if len(n.Content) == 0 {
		l.add(n, "slots must list at least one slot")
		return nil
	}
	s := &Slots{}
	ok := true
	for i, item := range n.Content {
		item = resolve(item)
		what := "slots[" + strconv.Itoa(i) + "]"
		str, _ := l.str(item, what)
		a, b, cut := strings.Cut(str, "-")
		st, err1 := parseSlotClock(a)
		en, err2 := parseSlotClock(b)
		if !cut || err1 != nil || err2 != nil || st >= 24*time.Hour {
			l.add(item, "%s must be a slot HH:MM-HH:MM, such as 06:00-08:00, got %q", what, str)
			ok = false
			continue
		}
		if en <= st {
			l.add(item, "%s: the slot %q ends before it starts", what, str)
			ok = false
			continue
		}
		if k := len(s.Spans); k > 0 && st < s.Spans[k-1].End {
			prev := s.Spans[k-1]
			l.add(item, "%s: %q starts before the slot before it (%s-%s) ends; list the slots in order, without overlaps", what, str, clockText(prev.Start), clockText(prev.End))
			ok = false
			continue
		}
		s.Spans = append(s.Spans, SlotSpan{Start: st, End: en})
	}
	if !ok {
		return nil
	}
	return s
}

// accountLimits reads account_limits: {per_day: N, per_week: N}.
func (l *loader) accountLimits(n *yaml.Node) AccountLimits {
	var lim AccountLimits
	for _, e := range l.mapping(n, "account_limits", []string{"per_day", "per_week"}) {
		v, ok := l.integer(e.v, "account_limits."+e.key)
		if !ok {
			continue
		}
		if v < 1 || v > 100 {
			l.add(e.v, "account_limits.%s must be from 1 to 100 reservations (leave it out for no cap), got %d", e.key, v)
			continue
		}
		switch e.key {
		case "per_day":
			lim.PerDay = v
		case "per_week":
			lim.PerWeek = v
		}
	}
	if lim.PerDay > 0 && lim.PerWeek > 0 && lim.PerWeek < lim.PerDay {
		l.add(n, "account_limits: per_week (%d) is below per_day (%d)", lim.PerWeek, lim.PerDay)
	}
	return lim
}
