package profile

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The keys of each opening shape. A rolling rule lists at only to say why
// it does not belong there.
var (
	openingKeys = []string{"days_before", "at", "monthly", "rolling"}
	monthlyKeys = []string{"day", "at"}
	rollingKeys = []string{"before", "of", "granularity", "at"}
)

// opening reads the opening rule. Every shape given is read, so that the
// problems inside each are reported even when two are given at once (which
// is itself a problem, at the second shape's key).
func (l *loader) opening(n *yaml.Node) *Opening {
	es := l.mapping(n, "opening", openingKeys)
	if es == nil {
		return nil
	}
	m := byKey(es)
	var shapes []string
	for _, e := range es {
		if e.key != "at" {
			shapes = append(shapes, e.key)
		}
	}
	for _, s := range shapes[min(1, len(shapes)):] {
		l.add(keyNode(es, s), "opening: %s and %s are two rules: give one, not both", shapes[0], s)
	}
	if at := keyNode(es, "at"); at != nil && m["days_before"] == nil {
		switch {
		case m["monthly"] != nil:
			l.add(at, "opening: at belongs inside monthly")
		case m["rolling"] != nil:
			l.add(at, "opening: at does not apply to a rolling rule, which opens each slot a duration (before) ahead of its start or end")
		}
	}
	if len(shapes) == 0 {
		l.add(n, "opening: give days_before (with at), monthly or rolling")
		return nil
	}
	var o *Opening
	for _, s := range shapes {
		switch s {
		case "days_before":
			o = l.daysBefore(m["days_before"], m["at"], n)
		case "monthly":
			o = l.monthly(m["monthly"])
		case "rolling":
			o = l.rolling(m["rolling"])
		}
	}
	if len(shapes) > 1 {
		return nil
	}
	return o
}

func (l *loader) daysBefore(n, at, parent *yaml.Node) *Opening {
	o := &Opening{}
	if v, ok := l.integer(n, "opening.days_before"); ok {
		if v < 0 || v > 366 {
			l.add(n, "opening.days_before must be 0..366, got %d", v)
		}
		o.DaysBefore = v
	}
	o.At = l.clock(at, parent, "opening.at")
	return o
}

func (l *loader) monthly(n *yaml.Node) *Opening {
	es := l.mapping(n, "opening.monthly", monthlyKeys)
	if es == nil {
		return nil
	}
	m := byKey(es)
	o := &Opening{Monthly: true}
	if d := m["day"]; d == nil {
		l.add(n, "opening.monthly: day is required (1..31 or \"last\")")
	} else if d.Kind == yaml.ScalarNode && d.Value == "last" {
		o.Day = LastDay
	} else if v, ok := l.integer(d, "opening.monthly.day"); ok {
		if v < 1 || v > 31 {
			l.add(d, "opening.monthly.day must be 1..31 or \"last\", got %d", v)
		}
		o.Day = v
	}
	o.At = l.clock(m["at"], n, "opening.monthly.at")
	return o
}

func (l *loader) rolling(n *yaml.Node) *Opening {
	es := l.mapping(n, "opening.rolling", rollingKeys)
	if es == nil {
		return nil
	}
	m := byKey(es)
	o := &Opening{Rolling: true, Granularity: DefaultGranularity}
	if at := keyNode(es, "at"); at != nil {
		l.add(at, "opening.rolling: at does not belong to a rolling rule, which opens each slot a duration (before) ahead of its start or end")
	}
	if b := m["before"]; b == nil {
		l.add(n, "opening.rolling: before is required (a duration such as 72h, 90m or 14d)")
	} else if s, ok := l.str(b, "opening.rolling.before"); ok {
		d, err := parseBefore(strings.TrimSpace(s))
		switch {
		case err != nil:
			l.add(b, "opening.rolling.before must be a duration such as 72h, 90m or 14d, got %q", s)
		case d <= 0 || d > MaxRollingBefore:
			l.add(b, "opening.rolling.before must be above 0 and at most 400d, got %q", s)
		default:
			o.Before = d
		}
	}
	if of := m["of"]; of == nil {
		l.add(n, "opening.rolling: of is required (start or end: the slot time the site counts before from)")
	} else if s, ok := l.str(of, "opening.rolling.of"); ok {
		switch e := SlotEdge(s); e {
		case OfStart, OfEnd:
			o.Of = e
		default:
			l.add(of, "opening.rolling.of must be start or end, got %q", s)
		}
	}
	if g := m["granularity"]; g != nil {
		if s, ok := l.str(g, "opening.rolling.granularity"); ok {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || (d != time.Second && d != time.Minute) {
				l.add(g, "opening.rolling.granularity must be 1s or 1m, got %q", s)
			} else {
				o.Granularity = d
			}
		}
	}
	return o
}

var errBadDuration = errors.New("want a duration such as 72h, 90m or 14d")

// parseBefore reads a Go duration, or a number of days with a d suffix
// and an optional Go duration after it ("14d", "1d12h"). A day is 24 hours
// of elapsed time, whatever the zone's clock does in between.
func parseBefore(s string) (time.Duration, error) {
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	n, err := strconv.Atoi(days)
	if err != nil || days == "" || strings.ContainsAny(days, "+-") {
		return 0, errBadDuration
	}
	var d time.Duration
	if rest != "" {
		if d, err = time.ParseDuration(rest); err != nil || d < 0 || strings.HasPrefix(rest, "+") {
			return 0, errBadDuration
		}
	}
	if n > 1000 {
		return MaxRollingBefore + time.Hour, nil // too far, without overflowing
	}
	return time.Duration(n)*24*time.Hour + d, nil
}

// clock reads a wall time of day, HH:MM or HH:MM:SS.
func (l *loader) clock(n, parent *yaml.Node, what string) time.Duration {
	if n == nil {
		l.add(parent, "%s is required (HH:MM or HH:MM:SS)", what)
		return 0
	}
	s, ok := l.str(n, what)
	if !ok {
		return 0
	}
	d, err := parseClock(strings.TrimSpace(s))
	if err != nil {
		l.add(n, "%s must be HH:MM or HH:MM:SS, from 00:00 to 23:59:59, got %q", what, s)
		return 0
	}
	return d
}
