package profile

import (
	"bytes"
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"text/template"

	"golang.org/x/text/encoding"
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
	// dynamic holds the step's templated rule texts, rendered.
	dynamic []dynText
	// Secrets are values that must be masked wherever this exchange is
	// shown: the account password, secret booking fields and the values of
	// form fields named like pass, pw, token, secret or csrf.
	Secrets []string
}

// Content types of the bodies a step can build.
const (
	FormContentType = "application/x-www-form-urlencoded"
	JSONContentType = "application/json"
)

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
	enc := p.stepEncoding(s)
	switch {
	case len(s.Form) > 0 && s.Multipart:
		body, ctype, err := renderMultipart(s, d, enc, r)
		if err != nil {
			return nil, err
		}
		r.Body, r.ContentType = body, ctype
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
			if err := writeEscaped(&b, enc, f.Name); err != nil {
				return nil, err
			}
			b.WriteByte('=')
			if err := writeEscaped(&b, enc, v); err != nil {
				return nil, fmt.Errorf("%w: %s.form.%s: %w", ErrRender, s.Name, f.Name, err)
			}
		}
		r.Body = []byte(b.String())
		r.ContentType = FormContentType
		if s.ContentType != "" {
			r.ContentType = s.ContentType
		}
	case s.JSON != nil:
		var b bytes.Buffer
		if err := renderJSON(&b, s.JSON, d, r, s.Name); err != nil {
			return nil, err
		}
		r.Body = b.Bytes()
		r.ContentType = cmp.Or(s.ContentType, JSONContentType)
	case s.Body != nil:
		body, err := exec(s.Body, d)
		if err != nil {
			return nil, err
		}
		r.Body = []byte(body)
		r.ContentType = s.ContentType
	}
	r.dynamic = renderDynamic(s, d)
	return r, nil
}

// stepEncoding is the charset a step's request is written in and its
// answer read in; nil means UTF-8.
func (p *Profile) stepEncoding(s *Step) encoding.Encoding {
	if s.Encoding != nil {
		if s.Charset == DefaultCharset {
			return nil
		}
		return s.Encoding
	}
	if p.Charset == DefaultCharset {
		return nil
	}
	return p.Encoding
}

// StepEncoding is the charset the answer to s is decoded from: the step's
// own when it has one, else the site's. Nil means UTF-8.
func (p *Profile) StepEncoding(s *Step) encoding.Encoding { return p.stepEncoding(s) }

// renderDynamic renders the step's templated rule texts and extraction
// paths. A text that fails to render (or a regex that does not compile)
// never matches, so its rule is skipped.
func renderDynamic(s *Step, d *Data) []dynText {
	if len(s.dyn) == 0 {
		return nil
	}
	out := make([]dynText, len(s.dyn))
	for i, spec := range s.dyn {
		v, err := exec(spec.tmpl, d)
		if err == nil && spec.regex {
			out[i].re, err = regexp.Compile(v)
		}
		out[i].s, out[i].bad = v, err != nil
	}
	return out
}

// Response builds the Response for classifying the answer to r, carrying
// the rule conditions that were rendered with the request.
func (r *Request) Response(status int, location string, header http.Header, body string) *Response {
	return &Response{Status: status, Location: location, Header: header, Body: body, dynamic: r.dynamic}
}

func writeEscaped(b *strings.Builder, enc encoding.Encoding, s string) error {
	if enc == nil {
		b.WriteString(url.QueryEscape(s))
		return nil
	}
	e, err := queryEscape(enc, s)
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
