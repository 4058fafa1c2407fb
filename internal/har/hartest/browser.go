package hartest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/text/encoding/htmlindex"

	"reserver/internal/har"
)

// Browser identities. The header values are what these versions send.
const (
	ChromeUserAgent  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	FirefoxUserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
)

// profile is the headers one browser sends for each kind of request.
type profile struct {
	chrome         bool
	userAgent      string
	acceptLanguage string
	accept         map[string]string // by resource type
}

var (
	chromeProfile = profile{
		chrome:         true,
		userAgent:      ChromeUserAgent,
		acceptLanguage: "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7",
		accept: map[string]string{
			"document":   "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
			"stylesheet": "text/css,*/*;q=0.1",
			"script":     "*/*",
			"image":      "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
			"font":       "*/*",
			"xhr":        "application/json, text/plain, */*",
			"fetch":      "*/*",
			"ping":       "*/*",
			"preflight":  "*/*",
		},
	}
	firefoxProfile = profile{
		userAgent:      FirefoxUserAgent,
		acceptLanguage: "ko-KR,ko;q=0.8,en-US;q=0.5,en;q=0.3",
		accept: map[string]string{
			"document":   "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			"stylesheet": "text/css,*/*;q=0.1",
			"script":     "*/*",
			"image":      "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
			"font":       "application/font-woff2;q=1.0,application/font-woff;q=0.9,*/*;q=0.8",
			"xhr":        "application/json, text/plain, */*",
			"fetch":      "*/*",
			"ping":       "*/*",
			"preflight":  "*/*",
		},
	}
)

// secFetchDest is the Sec-Fetch-Dest of each resource type.
var secFetchDest = map[string]string{
	"document": "document", "stylesheet": "style", "script": "script", "image": "image",
	"font": "font", "xhr": "empty", "fetch": "empty", "ping": "empty", "preflight": "empty",
}

// firefoxPriority is the Priority header Firefox sends per resource type.
var firefoxPriority = map[string]string{
	"document": "u=0, i", "stylesheet": "u=2", "script": "u=2", "image": "u=5, i",
	"font": "u=3", "xhr": "u=0", "fetch": "u=4", "ping": "u=6", "preflight": "u=4",
}

// browser drives a recording: it sends what a person's browser would for
// each navigation, form, XHR and subresource, through the recorder.
type browser struct {
	prof   profile
	client *http.Client
	jar    http.CookieJar
	site   *url.URL
	noise  Noise

	mu    sync.Mutex
	pages int // documents shown, for the first-page-only noise
}

func newBrowser(style har.Style, rt http.RoundTripper, site *url.URL, noise Noise) *browser {
	jar, _ := cookiejar.New(nil) // no public suffix list: only our hosts
	prof := chromeProfile
	if style == har.StyleFirefox {
		prof = firefoxProfile
	}
	return &browser{
		prof: prof,
		jar:  jar,
		client: &http.Client{
			Jar:       jar,
			Transport: rt,
			// A browser follows redirects itself, with headers of its own.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		site:  site,
		noise: noise,
	}
}

// page is a document the browser shows.
type page struct {
	url     *url.URL
	status  int
	header  http.Header
	body    []byte
	text    string // body decoded from its charset
	charset string
}

// trustworthy reports whether browsers send Sec-Fetch-* and client hints
// to u: https, or a loopback host.
func trustworthy(u *url.URL) bool {
	if u.Scheme == "https" {
		return true
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// fetchSite is the Sec-Fetch-Site of a request from a page (nil: typed
// in the address bar) to u.
func fetchSite(from, to *url.URL) string {
	switch {
	case from == nil:
		return "none"
	case origin(from) == origin(to):
		return "same-origin"
	case from.Scheme == to.Scheme && registrable(from.Hostname()) == registrable(to.Hostname()):
		return "same-site" // schemeful, as browsers judge it
	}
	return "cross-site"
}

// registrable is a host's last two labels (three under a two-letter
// second level such as co.kr or go.kr): enough for our hosts.
func registrable(host string) string {
	labels := strings.Split(host, ".")
	n := 2
	if len(labels) >= 3 && len(labels[len(labels)-1]) == 2 && len(labels[len(labels)-2]) == 2 {
		n = 3
	}
	if len(labels) <= n {
		return host
	}
	return strings.Join(labels[len(labels)-n:], ".")
}

// referer is the Referer the default policy (strict-origin-when-cross-
// origin) sends from page to u.
func referer(from, to *url.URL) string {
	if from == nil {
		return ""
	}
	if from.Scheme == "https" && to.Scheme == "http" {
		return ""
	}
	if origin(from) == origin(to) {
		c := *from
		c.Fragment = ""
		return c.String()
	}
	return origin(from) + "/"
}

// request is one request the browser makes.
type request struct {
	typ         string // what is loaded: the headers' resource type
	label       string // Chromium's resource type when it differs (the favicon is "other")
	method      string
	url         *url.URL
	from        *url.URL // the page that makes it; nil when typed
	body        []byte
	contentType string
	mode        string // Sec-Fetch-Mode
	user        bool   // a person's gesture (Sec-Fetch-User)
	cors        bool   // sends Origin
	maxAge0     bool   // Cache-Control: max-age=0 (a form post)
	extra       [][2]string
}

func (b *browser) header(q request) http.Header {
	h := http.Header{}
	set := func(k, v string) {
		if v != "" {
			h[k] = append(h[k], v) // as written: Chromium sends sec-ch-ua lower-case
		}
	}
	set("User-Agent", b.prof.userAgent)
	set("Accept", b.prof.accept[q.typ])
	enc := "gzip, deflate"
	if q.url.Scheme == "https" {
		enc = "gzip, deflate, br, zstd"
	}
	set("Accept-Encoding", enc)
	set("Accept-Language", b.prof.acceptLanguage)
	set("Connection", "keep-alive")
	if q.contentType != "" {
		set("Content-Type", q.contentType)
	}
	if q.cors || (q.method != http.MethodGet && q.method != http.MethodHead) {
		if q.from != nil {
			set("Origin", origin(q.from))
		}
	}
	if q.maxAge0 {
		set("Cache-Control", "max-age=0")
	}
	set("Referer", referer(q.from, q.url))
	if q.typ == "document" {
		set("Upgrade-Insecure-Requests", "1")
	}
	if trustworthy(q.url) {
		set("Sec-Fetch-Dest", secFetchDest[q.typ])
		set("Sec-Fetch-Mode", q.mode)
		set("Sec-Fetch-Site", fetchSite(q.from, q.url))
		if q.user {
			set("Sec-Fetch-User", "?1")
		}
		if b.prof.chrome {
			set("sec-ch-ua", `"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`)
			set("sec-ch-ua-mobile", "?0")
			set("sec-ch-ua-platform", `"Windows"`)
		}
	}
	if !b.prof.chrome {
		set("Priority", firefoxPriority[q.typ])
	}
	for _, kv := range q.extra {
		set(kv[0], kv[1])
	}
	return h
}

// do sends one request and reads its answer.
func (b *browser) do(ctx context.Context, q request) (*http.Response, []byte, error) {
	var body io.Reader
	if q.body != nil {
		body = bytes.NewReader(q.body)
	}
	req, err := http.NewRequestWithContext(har.WithResourceType(ctx, cmp.Or(q.label, q.typ)), q.method, q.url.String(), body)
	if err != nil {
		return nil, nil, err
	}
	req.Header = b.header(q)
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	return resp, data, nil
}

// navigation is a document load: typed in the address bar (from nil), a
// link, or a form.
type navigation struct {
	method      string
	url         *url.URL
	from        *page
	body        []byte
	contentType string
}

// navigate loads a document, follows its redirects as a browser does (a
// POST answered 301/302/303 goes on as a GET without its body), and then
// loads what the page loads (the noise).
func (b *browser) navigate(ctx context.Context, n navigation) (*page, error) {
	var from *url.URL
	if n.from != nil {
		from = n.from.url
	}
	q := request{
		typ: "document", method: n.method, url: n.url, from: from, body: n.body,
		contentType: n.contentType, mode: "navigate", user: true,
		maxAge0: n.method == http.MethodPost,
	}
	for hop := 0; ; hop++ {
		if hop == 10 {
			return nil, fmt.Errorf("hartest: %s: too many redirects", n.url)
		}
		resp, body, err := b.do(ctx, q)
		if err != nil {
			return nil, err
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 == 3 && loc != "" {
			to, err := q.url.Parse(loc)
			if err != nil {
				return nil, fmt.Errorf("hartest: %s: bad Location %q: %w", q.url, loc, err)
			}
			q.url = to
			if q.method == http.MethodPost && resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusPermanentRedirect {
				q.method, q.body, q.contentType = http.MethodGet, nil, ""
			}
			continue
		}
		p := &page{url: q.url, status: resp.StatusCode, header: resp.Header, body: body}
		p.charset = pageCharset(resp.Header.Get("Content-Type"), body)
		p.text = decode(body, p.charset)
		if err := b.loadPage(ctx, p); err != nil {
			return nil, err
		}
		return p, nil
	}
}

// click follows a link on p.
func (b *browser) click(ctx context.Context, p *page, href string) (*page, error) {
	u, err := p.url.Parse(href)
	if err != nil {
		return nil, err
	}
	return b.navigate(ctx, navigation{method: http.MethodGet, url: u, from: p})
}

// submit fills and submits a form of p, found by its action's path.
func (b *browser) submit(ctx context.Context, p *page, actionPath string, fill map[string]string, submitter string) (*page, error) {
	f, err := findForm(p, actionPath)
	if err != nil {
		return nil, err
	}
	fields, err := f.fields(fill, submitter)
	if err != nil {
		return nil, fmt.Errorf("hartest: form %s on %s: %w", actionPath, p.url.Path, err)
	}
	encoded, err := encodeForm(fields, f.charset)
	if err != nil {
		return nil, err
	}
	action, err := p.url.Parse(f.action)
	if err != nil {
		return nil, err
	}
	if f.method == http.MethodGet {
		u := *action
		u.RawQuery = encoded
		return b.navigate(ctx, navigation{method: http.MethodGet, url: &u, from: p})
	}
	return b.navigate(ctx, navigation{method: http.MethodPost, url: action, from: p,
		body: []byte(encoded), contentType: "application/x-www-form-urlencoded"})
}

// xhr is a script's XMLHttpRequest from p (axios: JSON, X-Requested-With).
func (b *browser) xhr(ctx context.Context, p *page, method, path string, body []byte, extra ...[2]string) (*http.Response, []byte, error) {
	u, err := p.url.Parse(path)
	if err != nil {
		return nil, nil, err
	}
	q := request{typ: "xhr", method: method, url: u, from: p.url, body: body, mode: "cors",
		extra: append([][2]string{{"X-Requested-With", "XMLHttpRequest"}}, extra...)}
	if body != nil {
		q.contentType = "application/json"
	}
	return b.do(ctx, q)
}

// cookie is the value of a cookie the jar holds for the site.
func (b *browser) cookie(name string) string {
	for _, c := range b.jar.Cookies(b.site) {
		if c.Name == name {
			if v, err := url.QueryUnescape(c.Value); err == nil {
				return v // document.cookie, decodeURIComponent'd as axios does
			}
			return c.Value
		}
	}
	return ""
}

var titleRe = regexp.MustCompile(`(?is)<title>(.*?)</title>`)

// pageCharset is the charset a browser decodes a page with: the header's,
// else the <meta>'s, else UTF-8.
func pageCharset(contentType string, body []byte) string {
	if cs := har.Charset(contentType); cs != "" {
		return cs
	}
	if cs := har.MetaCharset(body); cs != "" {
		return cs
	}
	return "utf-8"
}

func decode(b []byte, charset string) string {
	if enc, err := htmlindex.Get(charset); err == nil {
		if out, err := enc.NewDecoder().Bytes(b); err == nil {
			return string(out)
		}
	}
	return string(b)
}

// title is the page's <title>.
func (p *page) title() string {
	if m := titleRe.FindStringSubmatch(p.text); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}
