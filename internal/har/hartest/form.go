package hartest

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
)

// errNoForm is returned when a page has no form for an action.
var errNoForm = errors.New("hartest: no such form")

// form is an HTML form as a browser submits it: its controls in document
// order.
type form struct {
	action   string
	method   string // GET or POST
	charset  string // what the fields are encoded in
	controls []control
}

type control struct {
	kind     string // an input's type, "select", "textarea" or "button"
	name     string
	value    string
	checked  bool
	disabled bool
}

// findForm returns p's form whose action has path actionPath.
func findForm(p *page, actionPath string) (*form, error) {
	doc, err := html.Parse(strings.NewReader(p.text))
	if err != nil {
		return nil, fmt.Errorf("hartest: %s: %w", p.url, err)
	}
	for _, f := range forms(doc, p.charset) {
		u, err := p.url.Parse(f.action)
		if err == nil && u.Path == actionPath {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%w: %s on %s", errNoForm, actionPath, p.url.Path)
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// forms collects every form of a document.
func forms(doc *html.Node, pageCharset string) []*form {
	var out []*form
	var cur *form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		entered := false
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				action, _ := attr(n, "action")
				method, _ := attr(n, "method")
				method = strings.ToUpper(method)
				if method != http.MethodPost {
					method = http.MethodGet
				}
				cs := pageCharset
				if ac, ok := attr(n, "accept-charset"); ok && strings.TrimSpace(ac) != "" {
					cs = strings.Fields(strings.ReplaceAll(ac, ",", " "))[0]
				}
				cur = &form{action: action, method: method, charset: cs}
				out = append(out, cur)
				entered = true
			case "input", "button", "select", "textarea":
				if cur != nil {
					cur.controls = append(cur.controls, newControl(n))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if entered {
			cur = nil
		}
	}
	walk(doc)
	return out
}

func newControl(n *html.Node) control {
	c := control{kind: n.Data}
	c.name, _ = attr(n, "name")
	_, c.disabled = attr(n, "disabled")
	switch n.Data {
	case "input":
		t, _ := attr(n, "type")
		c.kind = strings.ToLower(cmp.Or(t, "text"))
		v, ok := attr(n, "value")
		if !ok && (c.kind == "checkbox" || c.kind == "radio") {
			v = "on"
		}
		c.value = v
		_, c.checked = attr(n, "checked")
	case "button":
		t, _ := attr(n, "type")
		c.kind = "button-" + strings.ToLower(cmp.Or(t, "submit"))
		c.value, _ = attr(n, "value")
	case "textarea":
		c.value = text(n)
	case "select":
		// The selected option, else the first (a single select).
		first := true
		for o := range n.Descendants() {
			if o.Type != html.ElementNode || o.Data != "option" {
				continue
			}
			v, ok := attr(o, "value")
			if !ok {
				v = strings.TrimSpace(text(o))
			}
			if first {
				c.value, first = v, false
			}
			if _, sel := attr(o, "selected"); sel {
				c.value = v
				break
			}
		}
	}
	return c
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// fields are the form data set of a submission: the successful controls
// in order, with fill's values typed in, and the submitter button. A fill
// key that names no control is an error (the page changed under us).
func (f *form) fields(fill map[string]string, submitter string) ([][2]string, error) {
	used := map[string]bool{}
	var out [][2]string
	for _, c := range f.controls {
		if c.name == "" || c.disabled {
			continue
		}
		switch c.kind {
		case "submit", "image", "button-submit":
			if c.name == submitter {
				out = append(out, [2]string{c.name, c.value})
				used[c.name] = true
			}
			continue
		case "reset", "button", "button-button", "button-reset", "file":
			continue
		case "checkbox", "radio":
			if !c.checked {
				continue
			}
		}
		v := c.value
		if fv, ok := fill[c.name]; ok {
			v = fv
			used[c.name] = true
		}
		out = append(out, [2]string{c.name, v})
	}
	for k := range fill {
		if !used[k] {
			return nil, fmt.Errorf("no field %q", k)
		}
	}
	if submitter != "" && !used[submitter] {
		return nil, fmt.Errorf("no submit button %q", submitter)
	}
	return out, nil
}

// encodeForm is application/x-www-form-urlencoded in the form's charset:
// a page in EUC-KR posts EUC-KR bytes, and a character the charset lacks
// as a numeric character reference, as browsers do.
func encodeForm(fields [][2]string, charset string) (string, error) {
	var enc *encoding.Encoder
	if cs := strings.ToLower(charset); cs != "" && cs != "utf-8" && cs != "utf8" {
		e, err := htmlindex.Get(cs)
		if err != nil {
			return "", fmt.Errorf("hartest: charset %q: %w", charset, err)
		}
		enc = encoding.HTMLEscapeUnsupported(e.NewEncoder())
	}
	var b strings.Builder
	for i, kv := range fields {
		if i > 0 {
			b.WriteByte('&')
		}
		for j, s := range kv {
			if enc != nil {
				out, err := enc.String(s)
				if err != nil {
					return "", fmt.Errorf("hartest: encoding %q in %s: %w", s, charset, err)
				}
				s = out
			}
			if j == 1 {
				b.WriteByte('=')
			}
			b.WriteString(url.QueryEscape(s))
		}
	}
	return b.String(), nil
}
