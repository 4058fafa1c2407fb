package profile

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
)

type loader struct {
	file     string
	problems []Problem
	warnings []Problem // the profile loads, but an operator should know

	loc      *time.Location
	fm       template.FuncMap           // the site's template functions
	stepFM   map[*Step]template.FuncMap // a step with its own charset
	fields   map[string]Field
	deferred []deferredCheck // template reference checks, run once all steps are known
}

type deferredCheck struct {
	step *Step // nil for profile-level headers
	node *yaml.Node
	tmpl *template.Template
}

func (l *loader) funcsFor(s *Step) template.FuncMap {
	if fm, ok := l.stepFM[s]; ok {
		return fm
	}
	return l.fm
}

type entry struct {
	key  string
	k, v *yaml.Node
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func (l *loader) add(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// warn records something that does not stop the profile from loading but
// costs the daemon a capability.
func (l *loader) warn(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	l.warnings = append(l.warnings, Problem{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// mapping returns the entries of a mapping node in order, reporting
// duplicate keys and unknown ones (when allowed is not nil).
func (l *loader) mapping(n *yaml.Node, what string, allowed []string) []entry {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		l.add(n, "%s must be a mapping", what)
		return nil
	}
	seen := map[string]bool{}
	out := make([]entry, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			l.add(n.Content[i], "%s: keys must be plain strings", what)
			continue
		}
		if seen[k.Value] {
			l.add(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			l.add(k, "%s: unknown key %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		out = append(out, entry{key: k.Value, k: k, v: resolve(v)})
	}
	return out
}

func keyNode(es []entry, key string) *yaml.Node {
	for _, e := range es {
		if e.key == key {
			return e.k
		}
	}
	return nil
}

func byKey(es []entry) map[string]*yaml.Node {
	m := make(map[string]*yaml.Node, len(es))
	for _, e := range es {
		m[e.key] = e.v
	}
	return m
}

func (l *loader) str(n *yaml.Node, what string) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		l.add(n, "%s must be a scalar", what)
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

func (l *loader) integer(n *yaml.Node, what string) (int, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		l.add(n, "%s must be an integer", what)
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		l.add(n, "%s must be an integer, got %q", what, n.Value)
		return 0, false
	}
	return v, true
}

func (l *loader) boolean(n *yaml.Node, what string) bool {
	var b bool
	if n == nil || n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		l.add(n, "%s must be true or false", what)
		return false
	}
	return b
}

func (l *loader) regex(n *yaml.Node, what string) *regexp.Regexp {
	s, ok := l.str(n, what)
	if !ok {
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		l.add(n, "%s: bad regex: %v", what, err)
		return nil
	}
	return re
}

// template parses a template of step (nil for the profile-wide headers,
// which every step sends) with the step's functions; its references are
// checked once all steps are known.
func (l *loader) template(n *yaml.Node, name string, step *Step) *template.Template {
	src, ok := l.str(n, name)
	if !ok {
		return nil
	}
	t, err := template.New(name).Funcs(l.funcsFor(step)).Option("missingkey=error").Parse(src)
	if err != nil {
		l.add(n, "%s: bad template: %v", name, err)
		return nil
	}
	l.deferred = append(l.deferred, deferredCheck{step: step, node: n, tmpl: t})
	return t
}
