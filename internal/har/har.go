// Package har reads and writes HTTP Archive (HAR 1.2) files: the network
// recordings browsers export (Chromium's and Firefox's developer tools,
// "Save all as HAR"). reserver reads one to draft a site profile from a
// booking made by hand (internal/draft); tests write them from a real
// browser session.
//
// The package owns the format only: types that follow the specification
// (a few fields browsers add have fields of their own: Chromium's
// _resourceType, _priority and _transferSize, Firefox's _securityState;
// others are dropped), bodies decoded from base64 and their charset, and
// a writer. Recorder (recorder.go) writes such recordings from an
// http.RoundTripper, in the shapes Chromium and Firefox export. The package
// knows nothing about profiles or booking sites.
package har

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// ErrNotHAR is wrapped when the input is not a HAR document.
var ErrNotHAR = errors.New("har: not a HAR 1.x document")

// HAR is a whole file: {"log": {...}}.
type HAR struct {
	Log Log `json:"log"`
}

// Log is the root object.
type Log struct {
	Version string   `json:"version"`
	Creator Creator  `json:"creator"`
	Browser *Creator `json:"browser,omitempty"`
	Pages   []Page   `json:"pages,omitempty"`
	Entries []Entry  `json:"entries"`
	Comment string   `json:"comment,omitempty"`
}

// Creator names the application (or browser) that wrote the file.
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Page is one page load the entries may refer to.
type Page struct {
	StartedDateTime string          `json:"startedDateTime"`
	ID              string          `json:"id"`
	Title           string          `json:"title"`
	PageTimings     json.RawMessage `json:"pageTimings,omitempty"`
}

// Entry is one HTTP exchange.
type Entry struct {
	Pageref         string          `json:"pageref,omitempty"`
	StartedDateTime string          `json:"startedDateTime"`
	Time            float64         `json:"time"`
	Request         Request         `json:"request"`
	Response        Response        `json:"response"`
	Cache           json.RawMessage `json:"cache,omitempty"`
	Timings         Timings         `json:"timings"`
	ServerIPAddress string          `json:"serverIPAddress,omitempty"`
	Connection      string          `json:"connection,omitempty"`
	// ResourceType is Chromium's _resourceType (document, xhr, fetch,
	// image, script, stylesheet, font, ...); empty from other browsers.
	ResourceType string `json:"_resourceType,omitempty"`
	// Priority is Chromium's _priority (VeryHigh, High, Medium, Low,
	// VeryLow).
	Priority string `json:"_priority,omitempty"`
	// SecurityState is Firefox's _securityState (secure, insecure, ...).
	SecurityState string `json:"_securityState,omitempty"`
}

// Request is an entry's request.
type Request struct {
	Method      string      `json:"method"`
	URL         string      `json:"url"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []Cookie    `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	QueryString []NameValue `json:"queryString"`
	PostData    *PostData   `json:"postData,omitempty"`
	HeadersSize int64       `json:"headersSize"`
	BodySize    int64       `json:"bodySize"`
}

// Response is an entry's response.
type Response struct {
	Status      int         `json:"status"`
	StatusText  string      `json:"statusText"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []Cookie    `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	Content     Content     `json:"content"`
	RedirectURL string      `json:"redirectURL"`
	HeadersSize int64       `json:"headersSize"`
	BodySize    int64       `json:"bodySize"`
	// TransferSize is Chromium's _transferSize: headers and body as
	// they came over the wire.
	TransferSize int64 `json:"_transferSize,omitempty"`
}

// NameValue is a header or a query string parameter.
type NameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Cookie is a request or response cookie.
type Cookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Expires  string `json:"expires,omitempty"`
	HTTPOnly bool   `json:"httpOnly,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
}

// PostData is a request body.
type PostData struct {
	MimeType string `json:"mimeType"`
	// Params is omitted when nil; an empty, non-nil Params is written as
	// [] (Firefox writes "params": [] for every body that is not a form).
	Params []Param `json:"params,omitzero"`
	Text   string  `json:"text"`
}

// Param is one posted field (of a form, as the browser parsed it).
type Param struct {
	Name        string `json:"name"`
	Value       string `json:"value,omitempty"`
	FileName    string `json:"fileName,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

// Content is a response body.
type Content struct {
	Size     int64  `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"` // "base64" when Text is encoded
	// Comment is Firefox's note on a body it did not keep ("Response
	// bodies are not included.").
	Comment string `json:"comment,omitempty"`
}

// Timings are the phases of an exchange, in ms (-1: not applicable).
type Timings struct {
	Blocked float64 `json:"blocked,omitempty"`
	DNS     float64 `json:"dns,omitempty"`
	Connect float64 `json:"connect,omitempty"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl,omitempty"`
}

// Read decodes a HAR document (a UTF-8 BOM is allowed).
func Read(r io.Reader) (*HAR, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("har: %w", err)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	var h HAR
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotHAR, err)
	}
	if !strings.HasPrefix(h.Log.Version, "1.") && h.Log.Version != "" {
		return nil, fmt.Errorf("%w: version %q", ErrNotHAR, h.Log.Version)
	}
	if h.Log.Entries == nil {
		return nil, fmt.Errorf("%w: no log.entries", ErrNotHAR)
	}
	return &h, nil
}

// Write encodes h, indented, as browsers save it.
func Write(w io.Writer, h *HAR) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(h)
}

// Header returns the first value of the named header (case-insensitive).
func Header(hs []NameValue, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// Bytes is the body as sent: Text, base64-decoded when Encoding says so.
func (c Content) Bytes() ([]byte, error) {
	if c.Encoding == "base64" {
		b, err := base64.StdEncoding.DecodeString(c.Text)
		if err != nil {
			return nil, fmt.Errorf("har: content: %w", err)
		}
		return b, nil
	}
	return []byte(c.Text), nil
}

// Decoded is the body as text: a base64 body is decoded from the charset
// its mimeType names (EUC-KR pages come so), or, when the mimeType names
// none, from the one an HTML page declares in a <meta> tag: Chromium writes
// the mimeType without its parameters ("text/html"), so a page in a legacy
// charset arrives as base64 with only its <meta> to say which. A plain Text
// is the text the browser already decoded.
func (c Content) Decoded() (string, error) {
	if c.Encoding != "base64" {
		return c.Text, nil
	}
	b, err := c.Bytes()
	if err != nil {
		return "", err
	}
	cs := Charset(c.MimeType)
	if cs == "" && isHTML(c.MimeType) {
		cs = MetaCharset(b)
	}
	return decodeCharset(b, cs)
}

// metaCharsetRe finds <meta charset="x"> and <meta http-equiv="Content-Type"
// content="text/html; charset=x">.
var metaCharsetRe = regexp.MustCompile(`(?i)<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([a-z0-9_:.\-]+)`)

// MetaCharset is the charset an HTML page declares in a <meta> tag within
// its first 1024 bytes (where browsers look for it), lower-cased; "" when
// it declares none.
func MetaCharset(page []byte) string {
	if len(page) > 1024 {
		page = page[:1024]
	}
	m := metaCharsetRe.FindSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.ToLower(string(m[1]))
}

// isHTML reports whether a mimeType is HTML or names no type at all
// (Chromium's "x-unknown").
func isHTML(mimeType string) bool {
	mt, _, _ := mime.ParseMediaType(mimeType)
	return mt == "" || mt == "text/html" || mt == "application/xhtml+xml" || mt == "x-unknown"
}

// Charset is the charset parameter of a Content-Type, lower-cased; "" when
// it names none.
func Charset(contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return strings.ToLower(params["charset"])
}

func decodeCharset(b []byte, charset string) (string, error) {
	if charset == "" || charset == "utf-8" || charset == "utf8" {
		return string(b), nil
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return string(b), nil // unknown: as bytes, which is what a person would see
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return "", fmt.Errorf("har: decoding %s: %w", charset, err)
	}
	return string(out), nil
}

// Form is a posted form's fields in order, from the body (or from
// postData.params when the browser gave only those), percent-decoded to
// the bytes as posted: a page in a legacy charset posts that charset's
// bytes, which the caller decodes. ok is false for a body that is not a
// form.
func (p *PostData) Form() (fields []NameValue, ok bool) {
	if p == nil {
		return nil, false
	}
	mt, _, _ := mime.ParseMediaType(p.MimeType)
	switch {
	case mt == "application/x-www-form-urlencoded" && p.Text != "":
		for _, kv := range strings.Split(p.Text, "&") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			dk, err1 := url.QueryUnescape(k)
			dv, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				dk, dv = k, v
			}
			fields = append(fields, NameValue{Name: dk, Value: dv})
		}
		return fields, true
	case len(p.Params) > 0:
		for _, pa := range p.Params {
			fields = append(fields, NameValue{Name: pa.Name, Value: pa.Value})
		}
		return fields, true
	}
	return nil, false
}
