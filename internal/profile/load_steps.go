package profile

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/andybalholm/cascadia"
	"gopkg.in/yaml.v3"
)

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
