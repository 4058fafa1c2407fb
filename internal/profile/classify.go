package profile

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// Response is what classification and extraction look at: the status, the
// raw Location header, the headers and the body already decoded from the
// site charset.
type Response struct {
	Status   int
	Location string
	Header   http.Header
	Body     string

	dynamic []dynamicCond // rendered templated conditions, by rule index
}

// dynamicCond is a templated rule condition rendered for one request.
type dynamicCond struct {
	contains string
	regex    *regexp.Regexp
	bad      bool // the template failed to render or the regex to compile
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
	return s.match(resp)
}

// Evaluate classifies resp and extracts the reservation number when the
// matching rule says where it is.
func Evaluate(s *Step, resp *Response) Outcome {
	i := s.matchIndex(resp)
	switch {
	case i >= 0:
		r := &s.Rules[i]
		o := Outcome{Class: r.Class, Rule: i}
		switch {
		case r.Reservation != nil:
			var doc *goquery.Document
			o.Reservation, _ = r.Reservation.apply(resp, &doc)
		case r.Class == ClassSuccess:
			o.Reservation = r.firstGroup(i, resp)
		}
		return o
	case len(s.Rules) == 0 && resp.Status >= 200 && resp.Status < 400:
		return Outcome{Class: ClassSuccess, Rule: -1}
	}
	return Outcome{Class: ClassUnknown, Rule: -1}
}

func (s *Step) match(resp *Response) Class {
	if i := s.matchIndex(resp); i >= 0 {
		return s.Rules[i].Class
	}
	if len(s.Rules) == 0 && resp.Status >= 200 && resp.Status < 400 {
		return ClassSuccess
	}
	return ClassUnknown
}

func (s *Step) matchIndex(resp *Response) int {
	for i := range s.Rules {
		if s.Rules[i].matches(i, resp) {
			return i
		}
	}
	return -1
}

func (r *Rule) matches(i int, resp *Response) bool {
	if len(r.Status) > 0 && !slices.Contains(r.Status, resp.Status) {
		return false
	}
	if r.Location != "" && !strings.Contains(resp.Location, r.Location) {
		return false
	}
	if r.LocationRegex != nil && !r.LocationRegex.MatchString(resp.Location) {
		return false
	}
	for _, h := range r.Header {
		v := resp.Header.Values(h.Name)
		if len(v) == 0 || !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, h.Contains) }) {
			return false
		}
	}
	if r.BodyContains != "" && !strings.Contains(resp.Body, r.BodyContains) {
		return false
	}
	if r.BodyRegex != nil && !r.BodyRegex.MatchString(resp.Body) {
		return false
	}
	if r.BodyContainsT != nil || r.BodyRegexT != nil {
		// A templated condition holds only if it was rendered for this response.
		if i >= len(resp.dynamic) || resp.dynamic[i].bad {
			return false
		}
		d := &resp.dynamic[i]
		if r.BodyContainsT != nil && !strings.Contains(resp.Body, d.contains) {
			return false
		}
		if r.BodyRegexT != nil && !d.regex.MatchString(resp.Body) {
			return false
		}
	}
	return true
}

// firstGroup returns the first capture group of the rule's body regex: a
// success rule without a reservation spec takes the number from there.
func (r *Rule) firstGroup(i int, resp *Response) string {
	re := r.BodyRegex
	if r.BodyRegexT != nil && i < len(resp.dynamic) {
		re = resp.dynamic[i].regex
	}
	if re == nil || re.NumSubexp() < 1 {
		return ""
	}
	if m := re.FindStringSubmatch(resp.Body); len(m) > 1 {
		return m[1]
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
	if x.Regex != nil {
		var src string
		switch x.From {
		case FromLocation:
			src = resp.Location
		case FromHeader:
			src = strings.Join(resp.Header.Values(x.Header), "\n")
		default:
			src = resp.Body
		}
		m := x.Regex.FindStringSubmatch(src)
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
	}
	if x.sel == nil {
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
