package profile

import (
	"time"

	"gopkg.in/yaml.v3"
)

func (l *loader) opening(n *yaml.Node) *Opening {
	m := byKey(l.mapping(n, "opening", []string{"days_before", "at", "monthly"}))
	if m == nil {
		return nil
	}
	o := &Opening{}
	switch {
	case m["monthly"] != nil && m["days_before"] != nil:
		l.add(n, "opening: give days_before or monthly, not both")
		return nil
	case m["monthly"] != nil:
		if m["at"] != nil {
			l.add(m["at"], "opening: at belongs inside monthly")
		}
		mm := byKey(l.mapping(m["monthly"], "opening.monthly", []string{"day", "at"}))
		o.Monthly = true
		if d := mm["day"]; d == nil {
			l.add(m["monthly"], "opening.monthly: day is required (1..31 or \"last\")")
		} else if d.Kind == yaml.ScalarNode && d.Value == "last" {
			o.Day = LastDay
		} else if v, ok := l.integer(d, "opening.monthly.day"); ok {
			if v < 1 || v > 31 {
				l.add(d, "opening.monthly.day must be 1..31 or \"last\", got %d", v)
			}
			o.Day = v
		}
		o.At = l.clock(mm["at"], m["monthly"], "opening.monthly.at")
	case m["days_before"] != nil:
		if v, ok := l.integer(m["days_before"], "opening.days_before"); ok {
			if v < 0 || v > 366 {
				l.add(m["days_before"], "opening.days_before must be 0..366, got %d", v)
			}
			o.DaysBefore = v
		}
		o.At = l.clock(m["at"], n, "opening.at")
	default:
		l.add(n, "opening: give days_before (with at) or monthly")
		return nil
	}
	return o
}

func (l *loader) clock(n, parent *yaml.Node, what string) time.Duration {
	if n == nil {
		l.add(parent, "%s is required (HH:MM)", what)
		return 0
	}
	s, ok := l.str(n, what)
	if !ok {
		return 0
	}
	h, m, err := splitHHMM(s)
	if err != nil || h == 24 {
		l.add(n, "%s must be HH:MM, got %q", what, s)
		return 0
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
}
