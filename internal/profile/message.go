package profile

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"gopkg.in/yaml.v3"
)

// Message returns the site's message on the page resp (what an attempt's
// excerpt leads with): the first of the step's `message` extractions that
// finds text (the profile's own when the step declares none), else the
// text of the page's first JavaScript alert — the way legacy sites answer
// everything. "" when the page has neither. The text is as found: the
// caller collapses white space and masks secrets.
func (s *Step) Message(resp *Response) string {
	if len(s.MessageAt) > 0 {
		var doc *goquery.Document
		for i := range s.MessageAt {
			if v, ok := s.MessageAt[i].apply(resp, &doc); ok && strings.TrimSpace(v) != "" {
				return v
			}
		}
	}
	return AlertText(resp.Body)
}

// alertRe finds alert("…") or alert('…') (window.alert too) with a
// string literal argument.
var alertRe = regexp.MustCompile(`alert\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')\s*\)`)

// AlertText is the text of the first JavaScript alert with a literal
// string in body, its escapes undone; "" when there is none. A page
// without "alert(" costs one substring search.
func AlertText(body string) string {
	i := strings.Index(body, "alert(")
	if i < 0 {
		return ""
	}
	m := alertRe.FindStringSubmatch(body[i:])
	if m == nil {
		return ""
	}
	return unescapeJS(m[1] + m[2])
}

// unescapeJS undoes the escapes of a JavaScript string literal: \n \t \r
// \b \f \v \0, \xHH, \uHHHH (surrogate pairs joined), \u{H…}, and \c for
// any other c. A malformed escape is kept as written.
func unescapeJS(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b', 'f', 'v', '0':
			b.WriteByte(' ')
		case 'x', 'u':
			r, n := hexEscape(s[i+1:], e)
			if n == 0 {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			i += n
			if utf16High(r) && strings.HasPrefix(s[i+1:], `\u`) {
				if lo, m := hexEscape(s[i+3:], 'u'); m > 0 && lo >= 0xDC00 && lo <= 0xDFFF {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					i += 2 + m
				}
			}
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			b.WriteByte(e)
		}
	}
	return b.String()
}

func utf16High(r rune) bool { return r >= 0xD800 && r <= 0xDBFF }

// hexEscape reads the hex digits after \x (2) or \u (4, or {H…}); n is
// how many bytes it used, 0 when malformed.
func hexEscape(s string, kind byte) (rune, int) {
	digits := 2
	if kind == 'u' {
		digits = 4
		if strings.HasPrefix(s, "{") {
			end := strings.IndexByte(s, '}')
			if end < 2 || end > 7 {
				return 0, 0
			}
			v, err := strconv.ParseUint(s[1:end], 16, 32)
			if err != nil {
				return 0, 0
			}
			return rune(v), end + 1
		}
	}
	if len(s) < digits {
		return 0, 0
	}
	v, err := strconv.ParseUint(s[:digits], 16, 32)
	if err != nil {
		return 0, 0
	}
	return rune(v), digits
}

// message reads a `message:` key (of a step, or of the profile for every
// step without its own): one extraction, css or regex (or json), or a list
// of them, tried in order. They are fixed texts, not templates: a site
// shows its message in one place whatever the booking.
func (l *loader) message(n *yaml.Node, what string, sb *stepBuild) []Extraction {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			l.add(n, "%s must name at least one place, e.g. {css: .msg} or {regex: 'alert\\(\"([^\"]*)\"'}", what)
			return nil
		}
		items = n.Content
	}
	var out []Extraction
	for i, item := range items {
		w := what
		if n.Kind == yaml.SequenceNode {
			w = what + "[" + strconv.Itoa(i) + "]"
		}
		item = resolve(item)
		if item.Kind == yaml.MappingNode && hasTemplate(item) {
			l.add(item, "%s is not a template position: the message is found in the same place on every page", w)
			continue
		}
		if x := l.extraction(item, w, sb); x != nil {
			x.Name = "message"
			out = append(out, *x)
		}
	}
	return out
}

// hasTemplate reports whether a scalar under n contains "{{".
func hasTemplate(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		return strings.Contains(n.Value, "{{")
	}
	for _, c := range n.Content {
		if hasTemplate(resolve(c)) {
			return true
		}
	}
	return false
}
