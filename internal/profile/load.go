package profile

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
	_ "time/tzdata" // time zones must load on hosts without zoneinfo

	"github.com/andybalholm/cascadia"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"gopkg.in/yaml.v3"
)

// ErrInvalid is matched (errors.Is) by every *LoadError.
var ErrInvalid = errors.New("profile: invalid")

// Problem is one validation problem, located in its file.
type Problem struct {
	File string
	Line int // 0 when the problem concerns the whole file
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// LoadError lists every problem found while loading one or more profiles.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, fmt.Sprintf("invalid site profile (%d problems):", len(e.Problems)))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *LoadError) Unwrap() error { return ErrInvalid }

// Load reads and validates one profile file.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return Parse(path, data)
}

// LoadDir loads every *.yaml and *.yml file of dir (files whose name starts
// with "_" or "." are skipped) and returns the profiles by name. Problems of
// all files are reported together.
func LoadDir(dir string) (map[string]*Profile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	out := make(map[string]*Profile)
	var all []Problem
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, "_") || strings.HasPrefix(n, ".") ||
			(!strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, ".yml")) {
			continue
		}
		path := filepath.Join(dir, n)
		p, err := Load(path)
		var le *LoadError
		switch {
		case errors.As(err, &le):
			all = append(all, le.Problems...)
			continue
		case err != nil:
			return nil, err
		}
		if prev, dup := out[p.Name]; dup {
			all = append(all, Problem{File: path, Msg: fmt.Sprintf("profile name %q is already used by %s", p.Name, prev.File)})
			continue
		}
		out[p.Name] = p
	}
	if len(all) > 0 {
		return nil, &LoadError{Problems: all}
	}
	return out, nil
}

// Parse validates one profile. file names it in problems.
func Parse(file string, data []byte) (*Profile, error) {
	l := &loader{file: file}
	p := l.profile(data)
	byLine := func(ps []Problem) {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	}
	if len(l.problems) > 0 {
		byLine(l.problems)
		return nil, &LoadError{Problems: l.problems}
	}
	byLine(l.warnings)
	p.File = file
	for _, w := range l.warnings {
		p.Warnings = append(p.Warnings, w.String())
	}
	return p, nil
}

// loader walks the YAML node tree by hand so that every problem keeps its
// line and all of them are reported, not just the first.
type loader struct {
	file     string
	problems []Problem
	warnings []Problem // the profile loads, but an operator should know

	fm       template.FuncMap
	fields   map[string]Field
	deferred []deferredCheck // template reference checks, run once all steps are known
}

type deferredCheck struct {
	step string // "" for profile-level headers
	node *yaml.Node
	tmpl *template.Template
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

func (l *loader) template(n *yaml.Node, name, step string) *template.Template {
	src, ok := l.str(n, name)
	if !ok {
		return nil
	}
	t, err := template.New(name).Funcs(l.fm).Option("missingkey=error").Parse(src)
	if err != nil {
		l.add(n, "%s: bad template: %v", name, err)
		return nil
	}
	l.deferred = append(l.deferred, deferredCheck{step: step, node: n, tmpl: t})
	return t
}

var topKeys = []string{"name", "description", "base_url", "charset", "time_zone", "timeout",
	"rate_per_second", "user_agent", "headers", "redirect_hosts", "fields", "opening", "steps"}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func (l *loader) profile(data []byte) *Profile {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		l.problems = append(l.problems, Problem{File: l.file, Line: line, Msg: err.Error()})
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		l.add(nil, "empty profile")
		return nil
	}
	root := l.mapping(doc.Content[0], "profile", topKeys)
	if root == nil {
		return nil
	}
	top := byKey(root)
	p := &Profile{
		Charset:       DefaultCharset,
		Encoding:      unicode.UTF8,
		Timeout:       DefaultTimeout,
		RatePerSecond: DefaultRatePerSecond,
		UserAgent:     DefaultUserAgent,
	}

	if n := top["name"]; n == nil {
		l.add(doc.Content[0], "name is required")
	} else if s, ok := l.str(n, "name"); ok {
		if !nameRe.MatchString(s) {
			l.add(n, "name %q must be lower-case letters, digits, '-' or '_'", s)
		}
		p.Name = s
	}
	if n := top["base_url"]; n == nil {
		l.add(doc.Content[0], "base_url is required")
	} else if s, ok := l.str(n, "base_url"); ok {
		u, err := normalizeBaseURL(s)
		if err != nil {
			l.add(n, "%v", err)
		}
		p.BaseURL = u
	}
	if n := top["charset"]; n != nil {
		if s, ok := l.str(n, "charset"); ok {
			enc, err := htmlindex.Get(s)
			if err != nil {
				l.add(n, "unknown charset %q", s)
			} else {
				p.Encoding = enc
				p.Charset, _ = htmlindex.Name(enc)
			}
		}
	}
	zone := DefaultTimeZone
	if n := top["time_zone"]; n != nil {
		if s, ok := l.str(n, "time_zone"); ok {
			zone = s
		}
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" || zone == "Local" {
		l.add(top["time_zone"], "unknown time zone %q (use an IANA name such as Asia/Seoul)", zone)
		loc = time.UTC
	}
	p.Location = loc
	if n := top["timeout"]; n != nil {
		if s, ok := l.str(n, "timeout"); ok {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 || d > 5*time.Minute {
				l.add(n, "timeout %q must be a duration between 0 and 5m, such as 10s", s)
			} else {
				p.Timeout = d
			}
		}
	}
	if n := top["rate_per_second"]; n != nil {
		var f float64
		if n.Kind != yaml.ScalarNode || n.Decode(&f) != nil || f <= 0 || f > 50 {
			l.add(n, "rate_per_second must be a number above 0 and at most 50")
		} else {
			p.RatePerSecond = f
		}
	}
	if n := top["user_agent"]; n != nil {
		if s, ok := l.str(n, "user_agent"); ok && strings.TrimSpace(s) != "" {
			p.UserAgent = s
		}
	}

	if n := top["redirect_hosts"]; n != nil {
		p.RedirectHosts = l.redirectHosts(n)
	}

	var fmEnc encoding.Encoding
	if p.Charset != DefaultCharset {
		fmEnc = p.Encoding
	}
	l.fm = funcMap(p.Location, fmEnc)

	if n := top["fields"]; n != nil {
		p.Fields = l.parseFields(n)
	}
	l.fields = make(map[string]Field, len(p.Fields))
	for _, f := range p.Fields {
		l.fields[f.Name] = f
	}
	if n := top["headers"]; n != nil {
		p.Headers = l.headers(n, "headers", "")
	}
	if n := top["opening"]; n != nil {
		p.Opening = l.opening(n)
	}
	if n := top["steps"]; n == nil {
		l.add(doc.Content[0], "steps is required (login, trace and submit)")
	} else {
		l.steps(keyNode(root, "steps"), n, p)
	}
	l.checkReferences(p)
	l.warnUnusedRedirectHosts(keyNode(root, "redirect_hosts"), p)
	return p
}

var fieldKeys = []string{"name", "type", "required", "values", "pattern", "secret", "description"}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (l *loader) parseFields(n *yaml.Node) []Field {
	if n.Kind != yaml.SequenceNode {
		l.add(n, "fields must be a list")
		return nil
	}
	var out []Field
	seen := map[string]bool{}
	for _, item := range n.Content {
		m := byKey(l.mapping(item, "field", fieldKeys))
		f := Field{Type: FieldString}
		if v := m["name"]; v == nil {
			l.add(item, "field: name is required")
			continue
		} else if s, ok := l.str(v, "field name"); ok {
			if !identRe.MatchString(s) {
				l.add(v, "field name %q must be an identifier (letters, digits, _)", s)
			}
			if seen[s] {
				l.add(v, "field %q is declared twice", s)
			}
			seen[s] = true
			f.Name = s
		}
		if v := m["type"]; v != nil {
			s, _ := l.str(v, "field type")
			switch FieldType(s) {
			case FieldString, FieldInt, FieldPhone, FieldDate, FieldTime:
				f.Type = FieldType(s)
			default:
				l.add(v, "field %s: unknown type %q (string, int, phone, date, time)", f.Name, s)
			}
		}
		if v := m["required"]; v != nil {
			f.Required = l.boolean(v, "required")
		}
		if v := m["secret"]; v != nil {
			f.Secret = l.boolean(v, "secret")
		}
		if v := m["description"]; v != nil {
			f.Description, _ = l.str(v, "description")
		}
		if v := m["values"]; v != nil {
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				l.add(v, "field %s: values must be a non-empty list", f.Name)
			} else {
				for _, x := range v.Content {
					if s, ok := l.str(x, "value"); ok {
						f.Values = append(f.Values, s)
					}
				}
			}
		}
		if v := m["pattern"]; v != nil {
			if re := l.regex(v, "field "+f.Name+" pattern"); re != nil {
				f.Pattern = regexp.MustCompile(`^(?:` + re.String() + `)$`)
			}
			if m["values"] != nil {
				l.add(v, "field %s: give values or pattern, not both", f.Name)
			}
		}
		out = append(out, f)
	}
	return out
}

func (l *loader) headers(n *yaml.Node, what, step string) []Header {
	var out []Header
	for _, e := range l.mapping(n, what, nil) {
		if !validHeaderName(e.key) {
			l.add(e.k, "%s: %q is not a valid header name", what, e.key)
			continue
		}
		if t := l.template(e.v, what+"."+e.key, step); t != nil {
			out = append(out, Header{Name: http.CanonicalHeaderKey(e.key), Value: t})
		}
	}
	return out
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

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

var stepNames = []string{StepLogin, StepTrace, StepSubmit, StepVerify, StepProbe}

// steps reads the steps mapping n, whose key is at key.
func (l *loader) steps(key, n *yaml.Node, p *Profile) {
	es := l.mapping(n, "steps", stepNames)
	if es == nil {
		return
	}
	m := byKey(es)
	var verifyKey *yaml.Node
	for _, e := range es {
		if e.key == StepVerify {
			verifyKey = e.k
		}
		s := l.step(e.v, e.key)
		switch e.key {
		case StepLogin:
			p.Login = s
		case StepTrace:
			p.Trace = s
		case StepSubmit:
			p.Submit = s
		case StepVerify:
			p.Verify = s
		case StepProbe:
			p.Probe = s
		}
	}
	for _, req := range []string{StepLogin, StepTrace, StepSubmit} {
		if m[req] == nil {
			l.add(n, "steps: %s is required", req)
		}
	}
	switch {
	case p.Verify == nil:
		l.warn(key, "steps: no verify step: a submit whose answer is unknown or ambiguous (a timeout, a 5xx, "+
			"an unrecognised page, already_mine) cannot be checked, so the booking ends for operator review "+
			"instead of being verified and, if not booked, submitted again")
	case len(p.Verify.Rules) == 0:
		l.warn(verifyKey, "verify: no classify rules: every 2xx or 3xx answer counts as booked; "+
			"add a success rule that finds this booking's slot and a retry rule for the list without it")
	default:
		if !hasClass(p.Verify.Rules, ClassSuccess) {
			l.warn(verifyKey, "verify: no success rule: verify can never confirm a booking, "+
				"so an unknown or ambiguous submit always ends for operator review")
		}
		if !hasClass(p.Verify.Rules, ClassRetry) {
			l.warn(verifyKey, "verify: no retry rule: verify can never say the booking is not there, "+
				"so after an unknown or ambiguous submit no new submit is sent")
		}
	}
	if p.Probe == nil {
		p.Probe = &Step{Name: StepProbe, Method: http.MethodGet, Path: template.Must(template.New("probe.path").Parse("/"))}
	}
}

func hasClass(rules []Rule, c Class) bool {
	return slices.ContainsFunc(rules, func(r Rule) bool { return r.Class == c })
}

var stepKeys = []string{"description", "method", "path", "headers", "form", "body", "content_type",
	"follow_redirects", "extract", "classify", "every_submit"}

var sensitiveRe = regexp.MustCompile(`(?i)pass|pw|token|secret|csrf`)

// Sensitive reports whether a form field or extraction called name holds a
// credential or token by its name (pass, pw, token, secret, csrf), so that
// its value is masked wherever it is shown.
func Sensitive(name string) bool { return sensitiveRe.MatchString(name) }

func (l *loader) step(n *yaml.Node, name string) *Step {
	m := byKey(l.mapping(n, "steps."+name, stepKeys))
	s := &Step{Name: name, Method: http.MethodGet}
	if m == nil {
		return s
	}
	if v := m["method"]; v != nil {
		if x, ok := l.str(v, name+".method"); ok {
			x = strings.ToUpper(x)
			switch x {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead:
				s.Method = x
			default:
				l.add(v, "%s: unsupported method %q", name, x)
				s.Method = "" // do not also complain about a form on GET
			}
		}
	}
	if v := m["path"]; v == nil {
		l.add(n, "%s: path is required", name)
	} else {
		if src, _ := l.str(v, name+".path"); !strings.HasPrefix(src, "/") {
			l.add(v, "%s: path must start with \"/\" (it is appended to base_url)", name)
		}
		s.Path = l.template(v, name+".path", name)
	}
	if v := m["headers"]; v != nil {
		s.Headers = l.headers(v, name+".headers", name)
	}
	if v := m["form"]; v != nil {
		for _, e := range l.mapping(v, name+".form", nil) {
			if t := l.template(e.v, name+".form."+e.key, name); t != nil {
				s.Form = append(s.Form, FormField{Name: e.key, Value: t, Sensitive: sensitiveRe.MatchString(e.key)})
			}
		}
		if s.Method == http.MethodGet || s.Method == http.MethodHead {
			// A GET cannot carry a form body; put the values in the path.
			l.add(v, "%s: form needs a method with a body (POST, PUT, PATCH)", name)
		}
	}
	if v := m["body"]; v != nil {
		s.Body = l.template(v, name+".body", name)
		if m["form"] != nil {
			l.add(v, "%s: give form or body, not both", name)
		}
		if m["content_type"] == nil {
			l.add(v, "%s: body needs content_type", name)
		}
	}
	if v := m["content_type"]; v != nil {
		s.ContentType, _ = l.str(v, name+".content_type")
	}
	if v := m["follow_redirects"]; v != nil {
		s.FollowRedirects = l.boolean(v, name+".follow_redirects")
	}
	if v := m["every_submit"]; v != nil {
		s.EverySubmit = l.boolean(v, name+".every_submit")
		if name != StepTrace {
			l.add(v, "%s: every_submit only applies to the trace step", name)
		}
	}
	if v := m["extract"]; v != nil {
		for _, e := range l.mapping(v, name+".extract", nil) {
			if !identRe.MatchString(e.key) {
				l.add(e.k, "%s: extraction name %q must be an identifier (letters, digits, _)", name, e.key)
				continue
			}
			if x := l.extraction(e.v, name+".extract."+e.key); x != nil {
				x.Name = e.key
				s.Extract = append(s.Extract, *x)
			}
		}
	}
	if v := m["classify"]; v != nil {
		s.Rules = l.rules(v, name)
	} else if name == StepSubmit {
		l.add(n, "submit: classify rules are required")
	}
	return s
}

func (l *loader) extraction(n *yaml.Node, what string) *Extraction {
	m := byKey(l.mapping(n, what, []string{"regex", "from", "css", "attr"}))
	if m == nil {
		return nil
	}
	x := &Extraction{From: FromBody}
	switch {
	case m["regex"] != nil && m["css"] != nil:
		l.add(n, "%s: give regex or css, not both", what)
		return nil
	case m["regex"] != nil:
		x.Regex = l.regex(m["regex"], what+".regex")
		if x.Regex != nil && x.Regex.NumSubexp() < 1 {
			l.add(m["regex"], "%s: regex needs a capture group (the value)", what)
		}
		if v := m["from"]; v != nil {
			s, _ := l.str(v, what+".from")
			switch {
			case s == FromBody, s == FromLocation:
				x.From = s
			case strings.HasPrefix(s, "header:") && validHeaderName(strings.TrimPrefix(s, "header:")):
				x.From, x.Header = FromHeader, strings.TrimPrefix(s, "header:")
			default:
				l.add(v, "%s: from must be body, location or header:NAME, got %q", what, s)
			}
		}
		if m["attr"] != nil {
			l.add(m["attr"], "%s: attr goes with css", what)
		}
	case m["css"] != nil:
		s, _ := l.str(m["css"], what+".css")
		sel, err := cascadia.Compile(s)
		if err != nil {
			l.add(m["css"], "%s: bad CSS selector: %v", what, err)
		}
		x.CSS, x.sel = s, sel
		x.Attr = "text"
		if v := m["attr"]; v != nil {
			if a, _ := l.str(v, what+".attr"); a != "" {
				x.Attr = a
			}
		}
		if m["from"] != nil {
			l.add(m["from"], "%s: css extractions read the body; from goes with regex", what)
		}
	default:
		l.add(n, "%s: give regex or css", what)
		return nil
	}
	return x
}

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
func available(p *Profile, step string) map[string]bool {
	var before []*Step
	switch step {
	case StepTrace:
		before = []*Step{p.Login}
	case StepSubmit, StepVerify:
		before = []*Step{p.Login, p.Trace}
	}
	out := map[string]bool{}
	for _, s := range before {
		if s == nil {
			continue
		}
		for _, x := range s.Extract {
			out[x.Name] = true
		}
	}
	return out
}

func (l *loader) checkReferences(p *Profile) {
	for _, d := range l.deferred {
		c := &refChecker{available: available(p, d.step), fields: l.fields}
		for _, msg := range c.check(d.tmpl) {
			l.add(d.node, "%s: %s", d.tmpl.Name(), msg)
		}
	}
}
