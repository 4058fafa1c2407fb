package draft

import (
	"cmp"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"golang.org/x/text/encoding"

	"reserver/internal/har"
)

// exchange is one recorded request and its answer, decoded for matching.
type exchange struct {
	idx      int // position in the recording
	entry    *har.Entry
	method   string
	u        *url.URL
	reqHdr   http.Header
	cookies  map[string]string // sent with the request
	form     []kv              // url-encoded or multipart fields, decoded
	jsonBody string            // a JSON request body, as sent
	bodyKind string            // "", "form", "multipart", "json", "raw"
	rawBody  string

	status    int
	location  string
	respHdr   http.Header
	setCookie []*http.Cookie
	mime      string
	text      string // the answer decoded to UTF-8
}

type kv struct{ name, value string }

// staticExt are paths a page load fetches that no booking flow needs.
var staticExt = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".svg": true, ".ico": true, ".webp": true,
	".css": true, ".js": true, ".mjs": true, ".map": true, ".woff": true, ".woff2": true, ".ttf": true, ".otf": true,
	".mp4": true, ".webm": true,
}

var staticTypes = map[string]bool{"image": true, "stylesheet": true, "script": true, "font": true, "media": true,
	"manifest": true, "ping": true, "texttrack": true, "websocket": true, "preflight": true}

// isStatic reports whether an exchange is an asset, a beacon or a
// preflight: never part of a booking flow.
func (x *exchange) isStatic() bool {
	if x.method == http.MethodOptions || staticTypes[x.entry.ResourceType] {
		return true
	}
	if staticExt[strings.ToLower(path.Ext(x.u.Path))] {
		return true
	}
	mt := x.mime
	return strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "font/") || mt == "text/css" ||
		strings.Contains(mt, "javascript") || (x.status == http.StatusNotFound && strings.Contains(x.u.Path, "favicon"))
}

// newExchange decodes one entry. dec decodes posted form values in the
// site's charset (nil: UTF-8).
func newExchange(i int, e *har.Entry, dec *encoding.Decoder) (*exchange, error) {
	u, err := url.Parse(e.Request.URL)
	if err != nil {
		return nil, err
	}
	x := &exchange{idx: i, entry: e, method: strings.ToUpper(e.Request.Method), u: u,
		reqHdr: http.Header{}, respHdr: http.Header{}, cookies: map[string]string{}, status: e.Response.Status}
	for _, h := range e.Request.Headers {
		x.reqHdr.Add(h.Name, h.Value)
	}
	for _, c := range e.Request.Cookies {
		x.cookies[c.Name] = c.Value
	}
	if ck := x.reqHdr.Get("Cookie"); ck != "" && len(x.cookies) == 0 {
		for _, c := range (&http.Request{Header: http.Header{"Cookie": {ck}}}).Cookies() {
			x.cookies[c.Name] = c.Value
		}
	}
	for _, h := range e.Response.Headers {
		x.respHdr.Add(h.Name, h.Value)
	}
	x.location = cmp.Or(x.respHdr.Get("Location"), e.Response.RedirectURL)
	x.setCookie = (&http.Response{Header: x.respHdr}).Cookies()
	for _, c := range e.Response.Cookies { // some exports keep cookies only here
		if !hasCookie(x.setCookie, c.Name) {
			x.setCookie = append(x.setCookie, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	x.mime, _, _ = strings.Cut(strings.ToLower(e.Response.Content.MimeType), ";")
	x.mime = strings.TrimSpace(x.mime)
	if x.text, err = e.Response.Content.Decoded(); err != nil {
		return nil, err
	}
	if p := e.Request.PostData; p != nil {
		mt, _, _ := strings.Cut(strings.ToLower(p.MimeType), ";")
		x.rawBody = p.Text
		switch {
		case strings.Contains(mt, "json") || (p.Text != "" && gjson.Valid(p.Text) && strings.HasPrefix(strings.TrimSpace(p.Text), "{")):
			x.bodyKind, x.jsonBody = "json", p.Text
		case strings.HasPrefix(mt, "multipart/"):
			x.bodyKind = "multipart"
			for _, pa := range p.Params {
				x.form = append(x.form, kv{pa.Name, decodeValue(dec, pa.Value)})
			}
		default:
			if fields, ok := p.Form(); ok {
				x.bodyKind = "form"
				for _, f := range fields {
					x.form = append(x.form, kv{f.Name, decodeValue(dec, f.Value)})
				}
			} else if p.Text != "" {
				x.bodyKind = "raw"
			}
		}
	}
	return x, nil
}

func hasCookie(cs []*http.Cookie, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

func decodeValue(dec *encoding.Decoder, v string) string {
	if dec == nil || isASCII(v) {
		return v
	}
	out, err := dec.String(v)
	if err != nil {
		return v
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// queryParams are the request's query parameters in order.
func (x *exchange) queryParams() []kv {
	var out []kv
	for _, part := range strings.Split(x.u.RawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			dk, dv = k, v
		}
		out = append(out, kv{dk, dv})
	}
	return out
}

// jsonLeaves lists the scalar leaves of a JSON document as gjson paths.
func jsonLeaves(doc string) []kv {
	var out []kv
	var walk func(prefix string, r gjson.Result)
	walk = func(prefix string, r gjson.Result) {
		switch {
		case r.IsObject():
			r.ForEach(func(k, v gjson.Result) bool {
				walk(joinPath(prefix, escapePath(k.String())), v)
				return true
			})
		case r.IsArray():
			i := 0
			r.ForEach(func(_, v gjson.Result) bool {
				walk(joinPath(prefix, strconv.Itoa(i)), v)
				i++
				return true
			})
		default:
			out = append(out, kv{prefix, r.String()})
		}
	}
	walk("", gjson.Parse(doc))
	return out
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// escapePath escapes the characters gjson gives a meaning in a key.
func escapePath(k string) string {
	r := strings.NewReplacer(".", `\.`, "*", `\*`, "?", `\?`, "|", `\|`, "#", `\#`, "@", `\@`)
	return r.Replace(k)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
