package har

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Style is the browser whose "Save all as HAR" a Recorder imitates. The
// two differ in ways a reader of real recordings meets (the sources are
// Chromium's front_end/models/har/Log.ts and Writer.ts, Firefox's
// devtools/client/netmonitor/src/har/har-builder.js, and files each
// exported):
//
//	                     Chromium                        Firefox
//	creator / browser    WebInspector 537.36 / none      Firefox 140.0 / Firefox 140.0
//	pages                one per navigation              one, titled with the last URL
//	startedDateTime      UTC, ...000Z                    local time, ...000+09:00
//	_resourceType etc.   _resourceType, _priority,       _securityState
//	                     _transferSize, connection id    connection = server port
//	request headers      as sent                         as sent
//	response headers     as received                     names lower-cased
//	cookies              every attribute; request ones   name and value only,
//	                     from the jar, values raw        values percent-decoded
//	queryString, params  raw, as in the URL or body      percent-decoded (kept raw
//	                                                     when not UTF-8)
//	postData             params only for forms           params always ([] if none),
//	                                                     mimeType without charset for forms
//	content.mimeType     without parameters              the Content-Type as sent
//	content of text      text; base64 unless UTF-8       text, decoded from its charset
//	content of images    base64                          base64
//	redirect content     no text                         comment: bodies not included
//	response bodySize    body bytes                      headers + body bytes
//	timings, time        fractional ms, -1 n/a           whole ms, 0 n/a
type Style string

// The styles a Recorder writes.
const (
	StyleChromium Style = "chromium"
	StyleFirefox  Style = "firefox"
)

// Versions the recordings claim.
const (
	ChromiumCreatorVersion = "537.36"
	FirefoxVersion         = "140.0"
)

// FirefoxNoBodyComment is what Firefox writes in content.comment for a
// body it did not keep.
const FirefoxNoBodyComment = "Response bodies are not included."

// ErrUnknownStyle is returned by NewRecorder for a style it does not
// write.
var ErrUnknownStyle = errors.New("har: unknown recorder style")

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	Style Style
	// Transport carries the requests; default http.DefaultTransport.
	Transport http.RoundTripper
	// Now is the clock of startedDateTime and the timings; default
	// time.Now.
	Now func() time.Time
	// Location is the zone of Firefox's local timestamps; default
	// time.Local.
	Location *time.Location
}

// Recorder is an http.RoundTripper that records every exchange it carries
// as a HAR entry, the way a browser's developer tools export them. Each
// response body is read in full, recorded, and handed back unchanged (with
// the read error, if any, at its end). A request that fails is recorded
// with status 0, as browsers list it. It is safe for concurrent use.
type Recorder struct {
	next  http.RoundTripper
	style Style
	now   func() time.Time
	loc   *time.Location

	mu       sync.Mutex
	seq      int
	entries  []recorded
	pages    []pageLoad
	redirect string                  // where the last document redirect points: its request continues the page
	jar      map[string]*http.Cookie // host + " " + name → the cookie a response set (Chromium's request cookies carry it)
	conns    map[string]string       // connection key → Chromium connection id
}

// recorded is one finished exchange.
type recorded struct {
	seq      int
	start    time.Time
	end      time.Time
	page     int // index in pages; -1 for none
	document bool
	entry    Entry
}

// pageLoad is one navigation and what it loaded.
type pageLoad struct {
	start  time.Time
	title  string    // the document's URL
	docEnd time.Time // when its document arrived; zero until then
}

// NewRecorder returns a Recorder of cfg.Style.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	switch cfg.Style {
	case StyleChromium, StyleFirefox:
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownStyle, cfg.Style)
	}
	r := &Recorder{
		next:  cfg.Transport,
		style: cfg.Style,
		now:   cfg.Now,
		loc:   cfg.Location,
		jar:   make(map[string]*http.Cookie),
		conns: make(map[string]string),
	}
	if r.next == nil {
		r.next = http.DefaultTransport
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.loc == nil {
		r.loc = time.Local
	}
	return r, nil
}

// Style returns the recorder's style.
func (r *Recorder) Style() Style { return r.style }

type resourceTypeKey struct{}

// WithResourceType labels the requests made with ctx with a Chromium
// resource type (document, stylesheet, script, image, font, xhr, fetch,
// ping, preflight, other), for a caller that knows what it loads better
// than its headers say: a beacon is a "ping", an XMLHttpRequest an "xhr".
// Without it the type is read from Sec-Fetch-Dest and Accept.
func WithResourceType(ctx context.Context, typ string) context.Context {
	return context.WithValue(ctx, resourceTypeKey{}, typ)
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	start := r.now()
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("har: recorder: reading the request body: %w", err)
		}
		reqBody = b
	}
	tr := &trace{now: r.now}
	out := req.Clone(httptrace.WithClientTrace(req.Context(), tr.clientTrace()))
	if req.Body != nil && req.Body != http.NoBody {
		out.Body = io.NopCloser(bytes.NewReader(reqBody))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	typ := resourceType(req)
	page := r.begin(req, typ, start)

	resp, err := r.next.RoundTrip(out)
	if err != nil {
		r.finish(req, reqBody, typ, page, start, r.now(), tr, nil, nil)
		return nil, err
	}
	body, readErr := io.ReadAll(resp.Body)
	resp.Body.Close()
	end := r.now()
	r.finish(req, reqBody, typ, page, start, end, tr, resp, body)

	resp.Request = req
	var rest io.Reader = bytes.NewReader(body)
	if readErr != nil {
		rest = io.MultiReader(rest, errReader{readErr})
	}
	resp.Body = io.NopCloser(rest)
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// begin places a request in its page: a document request opens a new page
// unless it follows the previous document's redirect.
func (r *Recorder) begin(req *http.Request, typ string, start time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := stripFragment(req.URL)
	if typ == "document" {
		if r.redirect != "" && r.redirect == u && len(r.pages) > 0 {
			r.redirect = ""
			r.pages[len(r.pages)-1].title = u
			return len(r.pages) - 1
		}
		r.redirect = ""
		r.pages = append(r.pages, pageLoad{start: start, title: u})
		return len(r.pages) - 1
	}
	if len(r.pages) == 0 {
		if r.style == StyleChromium {
			return -1 // Chromium lists requests before any navigation without a page
		}
		r.pages = append(r.pages, pageLoad{start: start, title: u})
	}
	return len(r.pages) - 1
}

// finish builds the entry of one exchange; resp is nil when it failed.
func (r *Recorder) finish(req *http.Request, reqBody []byte, typ string, page int, start, end time.Time, tr *trace, resp *http.Response, body []byte) {
	t := tr.snapshot()
	r.mu.Lock()
	defer r.mu.Unlock()
	e := Entry{
		StartedDateTime: r.stamp(start),
		Request:         r.request(req, reqBody, t),
		Cache:           json.RawMessage(`{}`),
		Timings:         r.timings(start, end, t),
	}
	e.Time = total(e.Timings, r.style)
	e.ServerIPAddress, e.Connection = r.connection(req, t)
	if resp != nil {
		e.Response = r.response(req, resp, body, start)
		if typ == "document" && page >= 0 {
			if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
				if to, err := req.URL.Parse(loc); err == nil {
					r.redirect = stripFragment(to)
				}
			} else if r.pages[page].docEnd.IsZero() {
				r.pages[page].docEnd = end
			}
		}
	} else {
		e.Response = Response{Cookies: []Cookie{}, Headers: []NameValue{}, Content: Content{MimeType: "x-unknown"}, HeadersSize: -1, BodySize: -1}
		if r.style == StyleFirefox {
			e.Response.Content.MimeType = ""
		}
	}
	switch r.style {
	case StyleChromium:
		e.ResourceType = typ
		e.Priority = priority(typ)
	case StyleFirefox:
		e.SecurityState = "insecure"
		if req.URL.Scheme == "https" {
			e.SecurityState = "secure"
		}
	}
	r.seq++
	r.entries = append(r.entries, recorded{seq: r.seq, start: start, end: end, page: page, document: typ == "document", entry: e})
}

// stamp is a startedDateTime: Chromium's Date.toJSON (UTC), Firefox's
// local time with its offset.
func (r *Recorder) stamp(t time.Time) string {
	if r.style == StyleFirefox {
		return t.In(r.loc).Format("2006-01-02T15:04:05.000-07:00")
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (r *Recorder) request(req *http.Request, body []byte, t traceTimes) Request {
	out := Request{
		Method:      req.Method,
		URL:         stripFragment(req.URL),
		HTTPVersion: "HTTP/1.1",
		Headers:     t.headers,
		QueryString: r.params(req.URL.RawQuery),
		BodySize:    int64(len(body)),
	}
	if len(out.Headers) == 0 {
		out.Headers = headersOf(req, len(body))
	}
	out.HeadersSize = int64(len(req.Method) + 1 + len(req.URL.RequestURI()) + len(" HTTP/1.1\r\n") + headerBytes(out.Headers) + 2)
	out.Cookies = r.requestCookies(req)
	if len(body) > 0 {
		out.PostData = r.postData(req.Header.Get("Content-Type"), body)
	}
	return out
}

// headersOf is the request's headers when the transport did not report
// the ones it wrote (an in-process transport): Host first, then the rest
// in the order net/http writes them.
func headersOf(req *http.Request, bodyLen int) []NameValue {
	host := cmp.Or(req.Host, req.URL.Host)
	hs := []NameValue{{Name: "Host", Value: host}}
	if ua := req.Header.Values("User-Agent"); len(ua) > 0 {
		hs = append(hs, NameValue{Name: "User-Agent", Value: ua[0]})
	}
	if bodyLen > 0 {
		hs = append(hs, NameValue{Name: "Content-Length", Value: strconv.Itoa(bodyLen)})
	}
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "User-Agent", "Content-Length":
			continue
		}
		for _, v := range req.Header[k] {
			hs = append(hs, NameValue{Name: k, Value: v})
		}
	}
	return hs
}

func headerBytes(hs []NameValue) int {
	n := 0
	for _, h := range hs {
		n += len(h.Name) + 2 + len(h.Value) + 2
	}
	return n
}

// params splits a query string or form body: raw for Chromium, decoded
// for Firefox.
func (r *Recorder) params(raw string) []NameValue {
	out := []NameValue{}
	if raw == "" {
		return out
	}
	for _, pair := range strings.Split(raw, "&") {
		name, value, _ := strings.Cut(pair, "=")
		if r.style == StyleFirefox {
			name, value = firefoxDecode(name), firefoxDecode(value)
		}
		out = append(out, NameValue{Name: name, Value: value})
	}
	return out
}

// firefoxDecode is Firefox's getUnicodeUrlPath over a form or query part:
// '+' is a space and %XX is decoded, unless the result is not UTF-8
// (decodeURIComponent throws, and Firefox keeps the part as it was).
func firefoxDecode(s string) string {
	plus := strings.ReplaceAll(s, "+", " ")
	d, err := url.PathUnescape(plus)
	if err != nil || !utf8.ValidString(d) {
		return plus
	}
	return d
}

func (r *Recorder) postData(contentType string, body []byte) *PostData {
	mt, _, _ := mime.ParseMediaType(contentType)
	form := mt == "application/x-www-form-urlencoded"
	p := &PostData{MimeType: contentType, Text: string(body)}
	switch r.style {
	case StyleChromium:
		if form {
			p.Params = toParams(r.params(string(body)))
		}
	case StyleFirefox:
		p.Params = []Param{}
		if form {
			p.MimeType = "application/x-www-form-urlencoded"
			p.Params = toParams(r.params(string(body)))
		}
	}
	return p
}

func toParams(nvs []NameValue) []Param {
	ps := make([]Param, 0, len(nvs))
	for _, nv := range nvs {
		ps = append(ps, Param{Name: nv.Name, Value: nv.Value})
	}
	return ps
}

// requestCookies parses the Cookie header. Chromium lists the cookies
// from its jar, with the attributes they were set with; Firefox only names
// and percent-decoded values.
func (r *Recorder) requestCookies(req *http.Request) []Cookie {
	out := []Cookie{}
	host := req.URL.Hostname()
	for _, line := range req.Header.Values("Cookie") {
		for _, part := range strings.Split(line, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok && name == "" {
				continue
			}
			if r.style == StyleFirefox {
				if d, err := url.PathUnescape(value); err == nil && utf8.ValidString(d) {
					value = d
				}
				out = append(out, Cookie{Name: name, Value: value})
				continue
			}
			c := Cookie{Name: name, Value: value}
			if set, ok := r.jar[host+" "+name]; ok {
				c.Path = cmp.Or(set.Path, "/")
				c.Domain = cmp.Or(set.Domain, host)
				c.Expires = expires(set)
				c.HTTPOnly, c.Secure = set.HttpOnly, set.Secure
			}
			out = append(out, c)
		}
	}
	return out
}

// expiresAt is when a cookie set at now expires: Max-Age counts from now
// and wins over Expires; zero for a session cookie.
func expiresAt(c *http.Cookie, now time.Time) time.Time {
	switch {
	case c.MaxAge > 0:
		return now.Add(time.Duration(c.MaxAge) * time.Second)
	case c.MaxAge < 0:
		return time.Unix(0, 0)
	}
	return c.Expires
}

// expires is Chromium's cookie expiry as Date.toJSON writes it; "" for a
// session cookie.
func expires(c *http.Cookie) string {
	if c.Expires.IsZero() {
		return ""
	}
	return c.Expires.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (r *Recorder) response(req *http.Request, resp *http.Response, body []byte, start time.Time) Response {
	out := Response{
		Status:      resp.StatusCode,
		StatusText:  strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode))),
		HTTPVersion: cmp.Or(resp.Proto, "HTTP/1.1"),
		Cookies:     []Cookie{},
		Headers:     []NameValue{},
		RedirectURL: resp.Header.Get("Location"),
	}
	if resp.ProtoMajor == 2 {
		out.HTTPVersion, out.StatusText = "http/2.0", ""
		if r.style == StyleFirefox {
			out.HTTPVersion = "HTTP/2"
		}
	}
	for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
		name := k
		if r.style == StyleFirefox {
			name = strings.ToLower(k)
		}
		for _, v := range resp.Header[k] {
			out.Headers = append(out.Headers, NameValue{Name: name, Value: v})
		}
	}
	if slices.Contains(resp.TransferEncoding, "chunked") {
		name := "Transfer-Encoding"
		if r.style == StyleFirefox {
			name = "transfer-encoding"
		}
		out.Headers = append(out.Headers, NameValue{Name: name, Value: "chunked"})
	}
	out.HeadersSize = int64(len(out.HTTPVersion) + 1 + len(resp.Status) + 2 + headerBytes(out.Headers) + 2)

	host := req.URL.Hostname()
	for _, line := range resp.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		kept := *c
		if c.MaxAge != 0 {
			kept.Expires, kept.MaxAge = expiresAt(c, start), 0
		}
		r.jar[host+" "+c.Name] = &kept
		if r.style == StyleFirefox {
			out.Cookies = append(out.Cookies, Cookie{Name: c.Name, Value: c.Value})
			continue
		}
		out.Cookies = append(out.Cookies, Cookie{
			Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain,
			Expires: expires(&http.Cookie{Expires: expiresAt(c, start)}), HTTPOnly: c.HttpOnly, Secure: c.Secure,
		})
	}

	decoded := body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") && !resp.Uncompressed {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				decoded = b
			}
		}
	}
	wire := int64(len(body))
	out.Content = r.content(resp, decoded)
	switch r.style {
	case StyleChromium:
		out.BodySize = wire
		out.TransferSize = out.HeadersSize + wire
	case StyleFirefox:
		out.BodySize = out.HeadersSize + wire // Firefox's bodySize is the transferred size
	}
	return out
}

// content is a response body as each browser keeps it.
func (r *Recorder) content(resp *http.Response, body []byte) Content {
	ct := resp.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	charset := strings.ToLower(params["charset"])
	c := Content{Size: int64(len(body))}
	redirect := resp.StatusCode/100 == 3
	switch r.style {
	case StyleChromium:
		c.MimeType = cmp.Or(mt, "x-unknown")
		switch {
		case redirect || len(body) == 0:
		case textual(mt) && (charset == "" || charset == "utf-8" || charset == "utf8") && utf8.Valid(body):
			c.Text = string(body)
		default:
			c.Text, c.Encoding = base64.StdEncoding.EncodeToString(body), "base64"
		}
	case StyleFirefox:
		c.MimeType = ct
		switch {
		case redirect:
			c.Comment = FirefoxNoBodyComment
		case len(body) == 0:
		case textual(mt):
			if s, err := decodeCharset(body, charset); err == nil && utf8.ValidString(s) {
				c.Text = s
				break
			}
			c.Text, c.Encoding = base64.StdEncoding.EncodeToString(body), "base64"
		default:
			c.Text, c.Encoding = base64.StdEncoding.EncodeToString(body), "base64"
		}
	}
	return c
}

// textual reports whether a media type is text a browser shows as such.
func textual(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/javascript", mt == "application/x-javascript",
		mt == "application/ecmascript", mt == "application/xml", mt == "application/x-www-form-urlencoded",
		mt == "image/svg+xml":
		return true
	}
	return false
}

// connection is serverIPAddress and connection: Chromium numbers each
// socket, Firefox writes the server's port.
func (r *Recorder) connection(req *http.Request, t traceTimes) (ip, conn string) {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	key := "in-process " + req.URL.Host
	if t.remote != nil {
		if h, p, err := net.SplitHostPort(t.remote.String()); err == nil {
			ip, port = h, p
		}
		if t.local != nil {
			key = t.local.String()
		}
	} else if net.ParseIP(host) != nil {
		ip = host
	}
	if r.style == StyleFirefox {
		return ip, port
	}
	id, ok := r.conns[key]
	if !ok {
		id = strconv.Itoa(1270 + 17*len(r.conns))
		r.conns[key] = id
	}
	return ip, id
}

// timings turns the trace into HAR timings: Chromium's fractional ms with
// -1 for a phase that did not happen, Firefox's whole ms with 0.
func (r *Recorder) timings(start, end time.Time, t traceTimes) Timings {
	ms := func(a, b time.Time) float64 {
		if a.IsZero() || b.IsZero() || b.Before(a) {
			return 0
		}
		return float64(b.Sub(a)) / float64(time.Millisecond)
	}
	span := func(a, b time.Time) float64 {
		if a.IsZero() || b.IsZero() {
			return -1
		}
		return ms(a, b)
	}
	blockedEnd := t.gotConn
	for _, c := range []time.Time{t.connectStart, t.dnsStart} {
		if !c.IsZero() {
			blockedEnd = c
		}
	}
	connect := span(t.connectStart, t.connectDone)
	ssl := span(t.tlsStart, t.tlsDone)
	if connect >= 0 && ssl > 0 {
		connect += ssl // Chromium's connect includes ssl
	}
	tm := Timings{
		Blocked: ms(start, blockedEnd),
		DNS:     span(t.dnsStart, t.dnsDone),
		Connect: connect,
		SSL:     ssl,
		Send:    ms(t.gotConn, t.wrote),
		Wait:    ms(t.wrote, t.firstByte),
		Receive: ms(t.firstByte, end),
	}
	if t.gotConn.IsZero() || t.firstByte.IsZero() {
		// No trace (a transport that reports nothing, or a failure):
		// the whole exchange is waiting.
		tm.Blocked, tm.Send, tm.Wait, tm.Receive = -1, 0, ms(start, end), 0
	}
	if r.style == StyleFirefox {
		round := func(v float64) float64 {
			if v < 0 {
				return 0
			}
			return float64(int64(v + 0.5))
		}
		blocked := round(tm.Blocked)
		if t.reused || tm.Blocked < 0 {
			blocked = -1
		}
		tm = Timings{Blocked: blocked, DNS: round(tm.DNS), Connect: round(tm.Connect), SSL: round(tm.SSL),
			Send: round(tm.Send), Wait: round(tm.Wait), Receive: round(tm.Receive)}
	}
	return tm
}

// total is an entry's time: the sum of its phases that happened (Chromium
// leaves ssl out, as connect holds it).
func total(t Timings, style Style) float64 {
	sum := 0.0
	parts := []float64{t.Blocked, t.DNS, t.Connect, t.Send, t.Wait, t.Receive}
	if style == StyleFirefox {
		parts = append(parts, t.SSL)
	}
	for _, p := range parts {
		if p > 0 {
			sum += p
		}
	}
	return sum
}

// resourceType is Chromium's resource type of a request.
func resourceType(req *http.Request) string {
	if t, ok := req.Context().Value(resourceTypeKey{}).(string); ok && t != "" {
		return t
	}
	get := func(name string) string {
		for k, v := range req.Header {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	xhr := strings.EqualFold(get("X-Requested-With"), "XMLHttpRequest")
	if req.Method == http.MethodOptions && get("Access-Control-Request-Method") != "" {
		return "preflight"
	}
	switch strings.ToLower(get("Sec-Fetch-Dest")) {
	case "document", "iframe", "frame":
		return "document"
	case "style":
		return "stylesheet"
	case "script":
		return "script"
	case "image":
		return "image"
	case "font":
		return "font"
	case "audio", "video", "track":
		return "media"
	case "manifest":
		return "manifest"
	case "empty":
		if xhr {
			return "xhr"
		}
		return "fetch"
	case "": // plain http: no Sec-Fetch-*
		switch {
		case xhr:
			return "xhr"
		case strings.Contains(get("Accept"), "text/html"):
			return "document"
		}
	}
	return "other"
}

// priority is the priority Chromium gives a resource type by default.
func priority(typ string) string {
	switch typ {
	case "document", "stylesheet", "font":
		return "VeryHigh"
	case "script", "xhr", "fetch", "preflight":
		return "High"
	case "image", "media", "other":
		return "Low"
	case "ping":
		return "VeryLow"
	}
	return "Low"
}

func stripFragment(u *url.URL) string {
	c := *u
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// HAR returns what was recorded so far: the entries in the order they
// started and their pages. The result shares nothing with the recorder.
func (r *Recorder) HAR() *HAR {
	r.mu.Lock()
	recs := slices.Clone(r.entries)
	pages := slices.Clone(r.pages)
	r.mu.Unlock()
	slices.SortStableFunc(recs, func(a, b recorded) int {
		return cmp.Or(a.start.Compare(b.start), cmp.Compare(a.seq, b.seq))
	})

	h := &HAR{Log: Log{Version: "1.2", Entries: []Entry{}}}
	switch r.style {
	case StyleChromium:
		h.Log.Creator = Creator{Name: "WebInspector", Version: ChromiumCreatorVersion}
	case StyleFirefox:
		h.Log.Creator = Creator{Name: "Firefox", Version: FirefoxVersion}
		h.Log.Browser = &Creator{Name: "Firefox", Version: FirefoxVersion}
	}
	lastEnd := make([]time.Time, len(pages))
	for _, rec := range recs {
		if rec.page >= 0 && rec.end.After(lastEnd[rec.page]) {
			lastEnd[rec.page] = rec.end
		}
	}
	switch {
	case r.style == StyleChromium:
		for i, p := range pages {
			h.Log.Pages = append(h.Log.Pages, Page{
				StartedDateTime: r.stamp(p.start),
				ID:              "page_" + strconv.Itoa(i+1),
				Title:           p.title,
				PageTimings:     pageTimings(p, lastEnd[i], false),
			})
		}
	case len(pages) > 0:
		// Firefox (without its multiple-pages preference) puts every
		// request in one page titled with the URL shown at export time.
		first, last := pages[0], pages[len(pages)-1]
		h.Log.Pages = []Page{{
			StartedDateTime: r.stamp(first.start),
			ID:              "page_1",
			Title:           last.title,
			PageTimings:     pageTimings(first, lastEnd[0], true),
		}}
	}
	for _, rec := range recs {
		e := rec.entry
		if rec.page >= 0 {
			e.Pageref = "page_" + strconv.Itoa(rec.page+1)
			if r.style == StyleFirefox {
				e.Pageref = "page_1"
			}
		}
		h.Log.Entries = append(h.Log.Entries, e)
	}
	return deepCopy(h)
}

// pageTimings are onContentLoad (the document arrived) and onLoad (the
// last thing the page loaded arrived), in ms from the page's start.
func pageTimings(p pageLoad, lastEnd time.Time, whole bool) json.RawMessage {
	ms := func(t time.Time) float64 {
		if t.IsZero() {
			return -1
		}
		v := float64(t.Sub(p.start)) / float64(time.Millisecond)
		if whole {
			v = float64(int64(v + 0.5))
		}
		return v
	}
	onLoad := lastEnd
	if onLoad.Before(p.docEnd) {
		onLoad = p.docEnd
	}
	b, _ := json.Marshal(struct {
		OnContentLoad float64 `json:"onContentLoad"`
		OnLoad        float64 `json:"onLoad"`
	}{ms(p.docEnd), ms(onLoad)})
	return b
}

func deepCopy(h *HAR) *HAR {
	b, err := json.Marshal(h)
	if err != nil {
		panic(fmt.Sprintf("har: recorder: %v", err)) // only plain data: cannot happen
	}
	var out HAR
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("har: recorder: %v", err))
	}
	return &out
}

// trace collects the httptrace events of one exchange. The transport
// calls them from its own goroutines, hence the lock.
type trace struct {
	now func() time.Time

	mu sync.Mutex
	t  traceTimes
}

type traceTimes struct {
	dnsStart, dnsDone, connectStart, connectDone, tlsStart, tlsDone time.Time
	gotConn, wrote, firstByte                                       time.Time
	reused                                                          bool
	local, remote                                                   net.Addr
	headers                                                         []NameValue // as written, in order
}

func (tr *trace) set(f func(t *traceTimes)) {
	tr.mu.Lock()
	f(&tr.t)
	tr.mu.Unlock()
}

func (tr *trace) snapshot() traceTimes {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	t := tr.t
	t.headers = slices.Clone(t.headers)
	return t
}

func (tr *trace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { now := tr.now(); tr.set(func(t *traceTimes) { t.dnsStart = now }) },
		DNSDone:  func(httptrace.DNSDoneInfo) { now := tr.now(); tr.set(func(t *traceTimes) { t.dnsDone = now }) },
		ConnectStart: func(string, string) {
			now := tr.now()
			tr.set(func(t *traceTimes) {
				if t.connectStart.IsZero() {
					t.connectStart = now
				}
			})
		},
		ConnectDone:       func(string, string, error) { now := tr.now(); tr.set(func(t *traceTimes) { t.connectDone = now }) },
		TLSHandshakeStart: func() { now := tr.now(); tr.set(func(t *traceTimes) { t.tlsStart = now }) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { now := tr.now(); tr.set(func(t *traceTimes) { t.tlsDone = now }) },
		GotConn: func(info httptrace.GotConnInfo) {
			now := tr.now()
			tr.set(func(t *traceTimes) {
				t.gotConn, t.reused = now, info.Reused
				t.headers = nil // a retry on a new connection writes them again
				if info.Conn != nil {
					t.local, t.remote = info.Conn.LocalAddr(), info.Conn.RemoteAddr()
				}
			})
		},
		WroteHeaderField: func(key string, value []string) {
			tr.set(func(t *traceTimes) {
				for _, v := range value {
					t.headers = append(t.headers, NameValue{Name: key, Value: v})
				}
			})
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { now := tr.now(); tr.set(func(t *traceTimes) { t.wrote = now }) },
		GotFirstResponseByte: func() { now := tr.now(); tr.set(func(t *traceTimes) { t.firstByte = now }) },
	}
}
