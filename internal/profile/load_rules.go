package profile

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

var ruleKeys = []string{"status", "location", "location_regex", "header", "body_contains", "body_regex", "class", "reservation"}

func (l *loader) rules(n *yaml.Node, step string) []Rule {
	if n.Kind != yaml.SequenceNode {
		l.add(n, "%s.classify must be a list of rules", step)
		return nil
	}
	var out []Rule
	catchAll := -1
	for i, item := range n.Content {
		what := fmt.Sprintf("%s.classify[%d]", step, i)
		m := byKey(l.mapping(item, what, ruleKeys))
		if m == nil {
			continue
		}
		if catchAll >= 0 {
			l.add(item, "%s is unreachable: rule %d matches everything", what, catchAll)
		}
		r := Rule{Line: item.Line}
		if v := m["status"]; v != nil {
			items := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				items = v.Content
			}
			for _, x := range items {
				if c, ok := l.integer(x, what+".status"); ok {
					if c < 100 || c > 599 {
						l.add(x, "%s: status %d is not an HTTP status", what, c)
					}
					r.Status = append(r.Status, c)
				}
			}
		}
		if v := m["location"]; v != nil {
			r.Location, _ = l.str(v, what+".location")
		}
		if v := m["location_regex"]; v != nil {
			r.LocationRegex = l.regex(v, what+".location_regex")
		}
		if v := m["header"]; v != nil {
			for _, e := range l.mapping(v, what+".header", nil) {
				s, _ := l.str(e.v, what+".header."+e.key)
				r.Header = append(r.Header, HeaderMatch{Name: e.key, Contains: s})
			}
		}
		if v := m["body_contains"]; v != nil {
			r.BodyContains, _ = l.str(v, what+".body_contains")
			if r.BodyContains == "" {
				l.add(v, "%s: body_contains must not be empty", what)
			}
			if strings.Contains(r.BodyContains, "{{") {
				r.BodyContains, r.BodyContainsT = "", l.template(v, what+".body_contains", step)
			}
		}
		if v := m["body_regex"]; v != nil {
			if src, _ := l.str(v, what+".body_regex"); strings.Contains(src, "{{") {
				r.BodyRegexT = l.template(v, what+".body_regex", step)
			} else {
				r.BodyRegex = l.regex(v, what+".body_regex")
			}
		}
		if v := m["class"]; v == nil {
			l.add(item, "%s: class is required", what)
		} else if s, ok := l.str(v, what+".class"); ok {
			r.Class = Class(s)
			if !r.Class.Valid() || r.Class == ClassUnknown {
				l.add(v, "%s: unknown class %q (success, not_open, sold_out, already_mine, session_expired, blocked, retry, fatal)", what, s)
			}
		}
		if v := m["reservation"]; v != nil {
			r.Reservation = l.extraction(v, what+".reservation")
			if r.Class != ClassSuccess {
				l.add(v, "%s: reservation only belongs to a success rule", what)
			}
		}
		conditions := 0
		for _, k := range []string{"status", "location", "location_regex", "header", "body_contains", "body_regex"} {
			if m[k] != nil {
				conditions++
			}
		}
		if conditions == 0 && catchAll < 0 {
			catchAll = i
		}
		out = append(out, r)
	}
	return out
}

// available returns the extraction names a step may use: those of the steps
// that always run before it.
