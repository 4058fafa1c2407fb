package profile

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"text/template"
)

// Request is a rendered step, ready to send.
type Request struct {
	Step        string
	Method      string
	URL         string // base URL + path (with query)
	Path        string // the rendered path, as written in the attempt log
	Header      http.Header
	Body        []byte // nil for no body
	ContentType string
	// dynamic holds the step's templated rule conditions, rendered.
	dynamic []dynamicCond
	// Secrets are values that must be masked wherever this exchange is
	// shown: the account password, secret booking fields and the values of
	// form fields named like pass, pw, token, secret or csrf.
	Secrets []string
}

// FormContentType is the content type of a step with form fields.
const FormContentType = "application/x-www-form-urlencoded"

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func exec(t *template.Template, d *Data) (string, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.Execute(buf, d); err != nil {
		return "", fmt.Errorf("%w: %w", ErrRender, err)
	}
	return buf.String(), nil
}

// Render fills the step's templates with d. Form fields are encoded in the
// site charset and percent-encoded, in the order the profile lists them.
// Errors never contain rendered values.
func (p *Profile) Render(s *Step, d *Data) (*Request, error) {
	if s == nil {
		return nil, ErrUnknownStep
	}
	path, err := exec(s.Path, d)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("%w: %s.path does not start with /", ErrRender, s.Name)
	}
	r := &Request{
		Step:    s.Name,
		Method:  s.Method,
		URL:     p.BaseURL + path,
		Path:    path,
		Header:  make(http.Header, len(p.Headers)+len(s.Headers)+1),
		Secrets: p.SecretValues(d),
	}
	for _, hs := range [][]Header{p.Headers, s.Headers} {
		for _, h := range hs {
			v, err := exec(h.Value, d)
			if err != nil {
				return nil, err
			}
			if (h.Name == "Referer" || h.Name == "Origin") && strings.HasPrefix(v, "/") {
				// A site-relative Referer follows the base URL, which a run may override.
				if h.Name == "Origin" {
					v = p.origin()
				} else {
					v = p.BaseURL + v
				}
			}
			r.Header[h.Name] = []string{v}
		}
	}
	switch {
	case len(s.Form) > 0:
		var b strings.Builder
		for i, f := range s.Form {
			v, err := exec(f.Value, d)
			if err != nil {
				return nil, err
			}
			if f.Sensitive && v != "" {
				r.Secrets = append(r.Secrets, v)
			}
			if i > 0 {
				b.WriteByte('&')
			}
			if err := p.writeEscaped(&b, f.Name); err != nil {
				return nil, err
			}
			b.WriteByte('=')
			if err := p.writeEscaped(&b, v); err != nil {
				return nil, fmt.Errorf("%w: %s.form.%s: %w", ErrRender, s.Name, f.Name, err)
			}
		}
		r.Body = []byte(b.String())
		r.ContentType = FormContentType
		if s.ContentType != "" {
			r.ContentType = s.ContentType
		}
	case s.Body != nil:
		body, err := exec(s.Body, d)
		if err != nil {
			return nil, err
		}
		r.Body = []byte(body)
		r.ContentType = s.ContentType
	}
	r.dynamic = renderConditions(s, d)
	return r, nil
}

// renderConditions renders the templated conditions of s's rules. A
// condition that fails to render never matches, so the rule is skipped.
func renderConditions(s *Step, d *Data) []dynamicCond {
	var out []dynamicCond
	for i := range s.Rules {
		r := &s.Rules[i]
		if r.BodyContainsT == nil && r.BodyRegexT == nil {
			continue
		}
		if out == nil {
			out = make([]dynamicCond, len(s.Rules))
		}
		c := &out[i]
		var err error
		if r.BodyContainsT != nil {
			c.contains, err = exec(r.BodyContainsT, d)
			c.bad = c.bad || err != nil
		}
		if r.BodyRegexT != nil {
			var src string
			if src, err = exec(r.BodyRegexT, d); err == nil {
				c.regex, err = regexp.Compile(src)
			}
			c.bad = c.bad || err != nil
		}
	}
	return out
}

// Response builds the Response for classifying the answer to r, carrying
// the rule conditions that were rendered with the request.
func (r *Request) Response(status int, location string, header http.Header, body string) *Response {
	return &Response{Status: status, Location: location, Header: header, Body: body, dynamic: r.dynamic}
}

func (p *Profile) writeEscaped(b *strings.Builder, s string) error {
	if p.Charset == DefaultCharset {
		b.WriteString(url.QueryEscape(s))
		return nil
	}
	e, err := queryEscape(p.Encoding, s)
	if err != nil {
		return err
	}
	b.WriteString(e)
	return nil
}

// EncodeText encodes s in the site charset, replacing characters the
// charset cannot represent with HTML numeric references.
func (p *Profile) EncodeText(s string) string {
	if p.Charset == DefaultCharset || p.Encoding == nil {
		return s
	}
	out, err := encodeText(p.Encoding, s)
	if err != nil {
		return s
	}
	return out
}

// origin returns scheme://host[:port] of the base URL.
func (p *Profile) origin() string {
	u, err := url.Parse(p.BaseURL)
	if err != nil {
		return p.BaseURL
	}
	return u.Scheme + "://" + u.Host
}
