package profile

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
)

var topKeys = []string{"name", "description", "base_url", "charset", "time_zone", "timeout",
	"rate_per_second", "user_agent", "headers", "redirect_hosts", "fields", "opening", "courts", "slots",
	"account_limits", "serial_submits", "message", "steps", "sms"}

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
		if s, ok := l.str(n, "user_agent"); ok && strings.Contains(s, "{{") {
			l.add(n, "user_agent is not a template position: %q would be sent as written", "{{")
		} else if ok && strings.TrimSpace(s) != "" {
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
	l.loc = p.Location
	l.fm = funcMap(p.Location, fmEnc)

	if n := top["fields"]; n != nil {
		p.Fields = l.parseFields(n)
	}
	l.fields = make(map[string]Field, len(p.Fields))
	for _, f := range p.Fields {
		l.fields[f.Name] = f
	}
	p.SMS = l.sms(top["sms"])
	if n := top["headers"]; n != nil {
		p.Headers = l.headers(n, "headers", nil)
	}
	if n := top["opening"]; n != nil {
		p.Opening = l.opening(n)
	}
	if n := top["courts"]; n != nil {
		p.Courts = l.courts(n)
	}
	if n := top["slots"]; n != nil {
		p.Slots = l.slots(n)
	}
	if n := top["account_limits"]; n != nil {
		p.AccountLimits = l.accountLimits(n)
	}
	if n := top["serial_submits"]; n != nil {
		p.SerialSubmits = l.boolean(n, "serial_submits")
	}
	if n := top["message"]; n != nil {
		p.Message = l.message(n, "message", &stepBuild{s: &Step{Name: "message"}, classNodes: map[Class][]*yaml.Node{}})
	}
	if n := top["steps"]; n == nil {
		l.add(doc.Content[0], "steps is required (login, trace and submit)")
	} else {
		l.steps(keyNode(root, "steps"), n, p)
	}
	for _, s := range p.Steps() {
		if len(s.MessageAt) == 0 {
			s.MessageAt = p.Message
		}
	}
	l.checkReferences(p)
	l.warnUnusedRedirectHosts(keyNode(root, "redirect_hosts"), p)
	return p
}

func (l *loader) headers(n *yaml.Node, what string, step *Step) []Header {
	var out []Header
	for _, e := range l.mapping(n, what, nil) {
		if strings.Contains(e.key, "{{") {
			l.add(e.k, "%s: header names are sent as written; %q is not rendered (put the template in the value)", what, e.key)
			continue
		}
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
