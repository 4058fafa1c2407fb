package profile

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/tidwall/gjson"
)

// Response is what classification and extraction look at: the status, the
// raw Location header, the headers and the body already decoded from the
// site charset.
type Response struct {
	Status   int
	Location string
	Header   http.Header
	Body     string

	dynamic []dynText // the step's templated texts, rendered for this request
	cookies []*http.Cookie
	parsed  bool // cookies parsed from Header
	// json is 1 when Body is valid JSON, -1 when not, 0 before it was
	// checked: JSON conditions and extractions read only a JSON body (gjson
	// alone would read a truncated or HTML answer leniently).
	json int8
}

func (resp *Response) isJSON() bool {
	if resp.json == 0 {
		resp.json = -1
		if gjson.Valid(resp.Body) {
			resp.json = 1
		}
	}
	return resp.json > 0
}

// dynText is a templated text rendered for one request.
type dynText struct {
	s   string
	re  *regexp.Regexp
	bad bool // the template failed to render or the regex to compile
}

// Outcome is the full verdict on one response.
type Outcome struct {
	Class       Class
	Rule        int    // index of the matching rule, -1 when none matched
	Reservation string // the reservation number of a success, if the rule extracts one
}

// Classify returns the class of resp for step s. It is a pure function: the
// first rule whose conditions all hold wins; a step without rules treats
// 2xx and 3xx as success; anything else is ClassUnknown.
func Classify(s *Step, resp *Response) Class {
	return Evaluate(s, resp).Class
}

// Evaluate classifies resp and extracts the reservation number when the
// matching rule says where it is.
func Evaluate(s *Step, resp *Response) Outcome {
	for i := range s.Rules {
		r := &s.Rules[i]
		if !r.matches(resp) {
			continue
		}
		o := Outcome{Class: r.Class, Rule: i}
		switch {
		case r.Reservation != nil:
			var doc *goquery.Document
			o.Reservation, _ = r.Reservation.apply(resp, &doc)
		case r.Class == ClassSuccess:
			o.Reservation = r.firstGroup(resp)
		}
		return o
	}
	if len(s.Rules) == 0 && resp.Status >= 200 && resp.Status < 400 {
		return Outcome{Class: ClassSuccess, Rule: -1}
	}
	return Outcome{Class: ClassUnknown, Rule: -1}
}

func (r *Rule) matches(resp *Response) bool {
	for i := range r.Conds {
		if !r.Conds[i].holds(resp) {
			return false
		}
	}
	if len(r.Not) == 0 {
		return true
	}
	for i := range r.Not {
		if !r.Not[i].holds(resp) {
			return true
		}
	}
	return false
}

// holds reports whether the condition holds for resp. A templated text
// that could not be rendered never holds.
func (c *Cond) holds(resp *Response) bool {
	switch c.Key {
	case "status":
		return slices.Contains(c.Status, resp.Status)
	case "location":
		return c.anyText(resp, func(s string) bool { return strings.Contains(resp.Location, s) })
	case "location_regex":
		return c.anyRegex(resp, resp.Location)
	case "header":
		vs := resp.Header.Values(c.Name)
		return c.anyText(resp, func(s string) bool {
			return slices.ContainsFunc(vs, func(v string) bool { return strings.Contains(v, s) })
		})
	case "cookie":
		for _, ck := range resp.setCookies() {
			if ck.Name != c.Name {
				continue
			}
			if len(c.Any) == 0 || c.anyText(resp, func(s string) bool { return strings.Contains(ck.Value, s) }) {
				return true
			}
		}
		return false
	case "body_contains":
		return c.anyText(resp, func(s string) bool { return strings.Contains(resp.Body, s) })
	case "body_regex":
		return c.anyRegex(resp, resp.Body)
	case "json":
		path, ok := c.Path.value(resp)
		if !ok || !resp.isJSON() {
			return false
		}
		v := gjson.Get(resp.Body, path)
		return v.Exists() && c.anyText(resp, func(s string) bool { return v.String() == s })
	case "json_has":
		if !resp.isJSON() {
			return false
		}
		return c.anyText(resp, func(path string) bool { return gjson.Get(resp.Body, path).Exists() })
	}
	return false
}

func (c *Cond) anyText(resp *Response, ok func(string) bool) bool {
	for i := range c.Any {
		if s, good := c.Any[i].value(resp); good && ok(s) {
			return true
		}
	}
	return false
}

func (c *Cond) anyRegex(resp *Response, src string) bool {
	for i := range c.Any {
		if re := c.Any[i].regexp(resp); re != nil && re.MatchString(src) {
			return true
		}
	}
	return false
}

// value is the text for this response: the literal, or the template as
// rendered with the request.
func (t *Text) value(resp *Response) (string, bool) {
	if t.Tmpl == nil {
		return t.Lit, true
	}
	if t.slot >= len(resp.dynamic) || resp.dynamic[t.slot].bad {
		return "", false
	}
	return resp.dynamic[t.slot].s, true
}

func (t *Text) regexp(resp *Response) *regexp.Regexp {
	if t.Tmpl == nil {
		return t.Re
	}
	if t.slot >= len(resp.dynamic) || resp.dynamic[t.slot].bad {
		return nil
	}
	return resp.dynamic[t.slot].re
}

func (resp *Response) setCookies() []*http.Cookie {
	if !resp.parsed {
		resp.parsed = true
		resp.cookies = (&http.Response{Header: resp.Header}).Cookies()
	}
	return resp.cookies
}

// firstGroup returns the first capture group of the rule's first
// body_regex whose alternative matches: a success rule without a
// reservation spec takes the number from there.
func (r *Rule) firstGroup(resp *Response) string {
	for i := range r.Conds {
		c := &r.Conds[i]
		if c.Key != "body_regex" {
			continue
		}
		for j := range c.Any {
			re := c.Any[j].regexp(resp)
			if re == nil || re.NumSubexp() < 1 {
				continue
			}
			if m := re.FindStringSubmatch(resp.Body); len(m) > 1 {
				return m[1]
			}
		}
		return ""
	}
	return ""
}

// ExtractInto runs the step's extractions on resp and stores each value
// found in into (which must not be nil). It returns how many were found.
// Missing values are left out, not set to "".
func (s *Step) ExtractInto(resp *Response, into map[string]string) int {
	var doc *goquery.Document // parsed at most once, only if a CSS extraction needs it
	n := 0
	for i := range s.Extract {
		if v, ok := s.Extract[i].apply(resp, &doc); ok {
			into[s.Extract[i].Name] = v
			n++
		}
	}
	return n
}

func (x *Extraction) apply(resp *Response, doc **goquery.Document) (string, bool) {
	re := x.Regex
	if x.RegexT != nil {
		if re = x.RegexT.regexp(resp); re == nil {
			return "", false
		}
	}
	switch {
	case re != nil:
		var src string
		switch x.From {
		case FromLocation:
			src = resp.Location
		case FromHeader:
			src = strings.Join(resp.Header.Values(x.Header), "\n")
		default:
			src = resp.Body
		}
		m := re.FindStringSubmatch(src)
		if m == nil || len(m) < 2 {
			return "", false
		}
		// The first non-empty group, so alternatives like (a)|(b) work.
		for _, g := range m[1:] {
			if g != "" {
				return g, true
			}
		}
		return "", true
	case x.JSON != nil:
		path, ok := x.JSON.value(resp)
		if !ok || !resp.isJSON() {
			return "", false
		}
		v := gjson.Get(resp.Body, path)
		if !v.Exists() || v.IsObject() || v.IsArray() {
			return "", false
		}
		return v.String(), true
	case x.sel == nil:
		return "", false
	}
	if *doc == nil {
		d, err := goquery.NewDocumentFromReader(strings.NewReader(resp.Body))
		if err != nil {
			return "", false
		}
		*doc = d
	}
	sel := (*doc).FindMatcher(goquery.SingleMatcher(x.sel))
	if sel.Length() == 0 {
		return "", false
	}
	if x.Attr == "text" {
		return strings.TrimSpace(sel.Text()), true
	}
	return sel.Attr(x.Attr)
}
