package profile

import (
	"fmt"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"
)

// condSpec says how one condition key is read: whether a template may
// stand in its texts, whether they are regexes, and how it is read.
type condSpec struct {
	key       string
	templates bool // "{{" makes a text a template rendered per request
	regex     bool
	read      func(l *loader, c *Cond, v *yaml.Node, what string, sb *stepBuild, spec condSpec) []Cond
}

// condSpecs is the one table of rule condition keys, in documentation order.
var condSpecs = []condSpec{
	{key: "status", read: readStatus},
	{key: "location", read: readTexts},
	{key: "location_regex", regex: true, read: readTexts},
	{key: "header", read: readNamed},
	{key: "cookie", read: readNamed},
	{key: "body_contains", templates: true, read: readTexts},
	{key: "body_regex", templates: true, regex: true, read: readTexts},
	{key: "json", templates: true, read: readJSONConds},
	{key: "json_has", templates: true, read: readTexts},
}

func condKeys() []string {
	out := make([]string, len(condSpecs))
	for i, s := range condSpecs {
		out[i] = s.key
	}
	return out
}

var ruleKeys = append(condKeys(), "not", "class", "reservation")

// classesFor lists the classes a rule of role may give, for the error message.
func classesFor(role Role) []Class {
	out := []Class{ClassSuccess, ClassNotOpen, ClassSoldOut, ClassAlreadyMine, ClassSessionExpired,
		ClassBlocked, ClassRetry, ClassFatal}
	switch role {
	case RolePage:
		out = append(out, ClassInvalid)
	case RoleSubmit:
		out = append(out, ClassConflict, ClassHeld, ClassInvalid, ClassLimitReached)
	case RoleCheckout:
		out = append(out, ClassLimitReached)
	case RoleVerify:
		out = append(out, ClassHeld)
	}
	return out
}

func (l *loader) rules(n *yaml.Node, sb *stepBuild) []Rule {
	step := sb.s.Name
	if n.Kind != yaml.SequenceNode {
		l.add(n, "%s.classify must be a list of rules", step)
		return nil
	}
	var out []Rule
	catchAll := -1
	for i, item := range n.Content {
		what := fmt.Sprintf("%s.classify[%d]", step, i)
		es := l.mapping(item, what, ruleKeys)
		if es == nil {
			continue
		}
		if catchAll >= 0 {
			l.add(item, "%s is unreachable: rule %d matches everything", what, catchAll)
		}
		m := byKey(es)
		r := Rule{Line: item.Line}
		r.Conds = l.conds(es, what, sb)
		if v := m["not"]; v != nil {
			nes := l.mapping(v, what+".not", condKeys())
			r.Not = l.conds(nes, what+".not", sb)
			empty := v.Kind == yaml.MappingNode && len(v.Content) == 0
			if len(r.Not) == 0 && (len(nes) > 0 || empty) {
				l.add(v, "%s.not needs at least one condition", what)
			}
		}
		if v := m["class"]; v == nil {
			l.add(item, "%s: class is required", what)
		} else if s, ok := l.str(v, what+".class"); ok {
			r.Class = Class(s)
			allowed := classesFor(sb.s.Role)
			if !classIn(r.Class, allowed) {
				names := make([]string, len(allowed))
				for j, c := range allowed {
					names[j] = string(c)
				}
				if r.Class.Valid() && r.Class != ClassUnknown {
					l.add(v, "%s: class %q does not belong to a %s step (%s)", what, s, sb.s.Role, strings.Join(names, ", "))
				} else {
					l.add(v, "%s: unknown class %q (%s)", what, s, strings.Join(names, ", "))
				}
			}
			sb.classNodes[r.Class] = append(sb.classNodes[r.Class], v)
		}
		if v := m["reservation"]; v != nil {
			r.Reservation = l.extraction(v, what+".reservation", sb)
			if r.Class != ClassSuccess {
				l.add(v, "%s: reservation only belongs to a success rule", what)
			}
		}
		given := 0 // keys written, even when one of them was wrong
		for _, k := range condKeys() {
			if m[k] != nil {
				given++
			}
		}
		if given == 0 && m["not"] == nil && catchAll < 0 {
			catchAll = i
		}
		out = append(out, r)
	}
	return out
}

func classIn(c Class, cs []Class) bool {
	for _, x := range cs {
		if c == x {
			return true
		}
	}
	return false
}

// conds reads the condition keys among es, in the order written.
func (l *loader) conds(es []entry, what string, sb *stepBuild) []Cond {
	var out []Cond
	for _, e := range es {
		for _, spec := range condSpecs {
			if spec.key == e.key {
				out = append(out, spec.read(l, &Cond{Key: spec.key}, e.v, what+"."+spec.key, sb, spec)...)
			}
		}
	}
	return out
}

func readStatus(l *loader, c *Cond, v *yaml.Node, what string, _ *stepBuild, _ condSpec) []Cond {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	for _, x := range items {
		if code, ok := l.integer(x, what); ok {
			if code < 100 || code > 599 {
				l.add(x, "%s: status %d is not an HTTP status", what, code)
			}
			c.Status = append(c.Status, code)
		}
	}
	if len(c.Status) == 0 {
		l.add(v, "%s: give a status code or a list of them", what)
		return nil
	}
	return []Cond{*c}
}

// readTexts reads a scalar or a list of alternatives.
func readTexts(l *loader, c *Cond, v *yaml.Node, what string, sb *stepBuild, spec condSpec) []Cond {
	c.Any = l.texts(v, what, sb, spec)
	if len(c.Any) == 0 {
		return nil
	}
	return []Cond{*c}
}

// readNamed reads header: and cookie: — a mapping of name → text or list
// of texts; each name is its own condition.
func readNamed(l *loader, _ *Cond, v *yaml.Node, what string, sb *stepBuild, spec condSpec) []Cond {
	var out []Cond
	for _, e := range l.mapping(v, what, nil) {
		c := Cond{Key: spec.key, Name: e.key}
		if spec.key == "header" {
			if !validHeaderName(e.key) {
				l.add(e.k, "%s: %q is not a valid header name", what, e.key)
				continue
			}
			c.Name = http.CanonicalHeaderKey(e.key)
		} else if !validCookieName(e.key) {
			l.add(e.k, "%s: %q is not a valid cookie name", what, e.key)
			continue
		}
		if e.v.Kind == yaml.ScalarNode && e.v.Tag == "!!null" || e.v.Kind == yaml.ScalarNode && e.v.Value == "" {
			if spec.key == "header" {
				l.add(e.v, "%s.%s: give the text the header must contain", what, e.key)
				continue
			}
			out = append(out, c) // cookie: {NAME: ""} only needs the cookie set
			continue
		}
		c.Any = l.texts(e.v, what+"."+e.key, sb, spec)
		if len(c.Any) > 0 {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		l.add(v, "%s needs at least one name", what)
	}
	return out
}

// readJSONConds reads json: — a mapping of gjson path → the value's text
// (or a list of alternatives); each path is its own condition.
func readJSONConds(l *loader, _ *Cond, v *yaml.Node, what string, sb *stepBuild, spec condSpec) []Cond {
	var out []Cond
	for _, e := range l.mapping(v, what, nil) {
		c := Cond{Key: spec.key}
		c.Path = l.text(e.k, what+" path", sb, spec, false)
		if c.Path == nil {
			continue
		}
		c.Any = l.texts(e.v, what+"."+e.key, sb, spec)
		if len(c.Any) > 0 {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		l.add(v, "%s needs at least one path", what)
	}
	return out
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// texts reads a scalar or a non-empty list of scalars as alternatives.
func (l *loader) texts(v *yaml.Node, what string, sb *stepBuild, spec condSpec) []Text {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
		if len(items) == 0 {
			l.add(v, "%s: an empty list never matches", what)
			return nil
		}
	}
	var out []Text
	for i, x := range items {
		w := what
		if v.Kind == yaml.SequenceNode {
			w = fmt.Sprintf("%s[%d]", what, i)
		}
		if t := l.text(x, w, sb, spec, true); t != nil {
			out = append(out, *t)
		}
	}
	return out
}

// text reads one text: a literal (a regex compiled now), or a template
// where the key allows one. A "{{" where templates are not rendered is
// refused, since it would be compared literally.
func (l *loader) text(n *yaml.Node, what string, sb *stepBuild, spec condSpec, nonEmpty bool) *Text {
	s, ok := l.str(n, what)
	if !ok {
		return nil
	}
	if nonEmpty && s == "" {
		l.add(n, "%s must not be empty", what)
		return nil
	}
	if strings.Contains(s, "{{") {
		if !spec.templates {
			l.add(n, "%s is not a template position: %q would be compared literally (templates work in body_contains, body_regex, json and json_has)", what, "{{")
			return nil
		}
		t := l.template(n, what, sb.s)
		if t == nil {
			return nil
		}
		sb.s.dyn = append(sb.s.dyn, dynSpec{tmpl: t, regex: spec.regex})
		return &Text{Tmpl: t, slot: len(sb.s.dyn) - 1, regex: spec.regex}
	}
	t := &Text{Lit: s, regex: spec.regex}
	if spec.regex {
		if t.Re = l.regex(n, what); t.Re == nil {
			return nil
		}
	}
	return t
}
