package hartest

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"reserver/internal/sitesim"
)

// Noise says which requests a recording has besides the booking's, as a
// page load makes them. Each page the booking shows loads its share.
type Noise struct {
	// Assets: stylesheets, scripts and an image from the site's host
	// (SiteAssetPrefix), and a stylesheet, a script and a web font from
	// CDNs (CDNHost, FontCSSHost, FontHost), on every page.
	Assets bool
	// Analytics: the gtag.js script (TagHost) and a page_view beacon
	// (AnalyticsHost) on every page.
	Analytics bool
	// Favicon: /favicon.ico after the first page, which the site answers
	// with its 404 page.
	Favicon bool
	// Redirects: a tracking pixel behind a 302 → 302 → 200 chain
	// (AdHost → AdRedirectHost → AdFinalHost) after the first page.
	Redirects bool
	// Preflight: a chat widget's cross-origin POST (WidgetHost) and its
	// OPTIONS preflight, after the first page.
	Preflight bool
}

// AllNoise is every kind of noise.
func AllNoise() Noise {
	return Noise{Assets: true, Analytics: true, Favicon: true, Redirects: true, Preflight: true}
}

// The noise's hosts and paths. They are answered in process: a recording
// never leaves the machine, and a request to any other host fails.
const (
	CDNHost        = "cdn.jsdelivr.net"
	FontCSSHost    = "fonts.googleapis.com"
	FontHost       = "fonts.gstatic.com"
	TagHost        = "www.googletagmanager.com"
	AnalyticsHost  = "www.google-analytics.com"
	AdHost         = "ad.doubleclick.net"
	AdRedirectHost = "www.google.com"
	AdFinalHost    = "www.google.co.kr"
	WidgetHost     = "api.channel.io"

	// SiteAssetPrefix is where the site's own static files are; the
	// simulator has none, so the recording answers them itself.
	SiteAssetPrefix = "/resources/"
	// FaviconPath is the favicon a browser asks the site for.
	FaviconPath = "/favicon.ico"
	// AnalyticsPath is the beacon's path on AnalyticsHost.
	AnalyticsPath = "/g/collect"
)

// ThirdPartyHosts are the hosts noise goes to besides the site's.
func ThirdPartyHosts() []string {
	return []string{CDNHost, FontCSSHost, FontHost, TagHost, AnalyticsHost, AdHost, AdRedirectHost, AdFinalHost, WidgetHost}
}

func isThirdParty(host string) bool {
	for _, h := range ThirdPartyHosts() {
		if h == host {
			return true
		}
	}
	return false
}

// router sends the site's requests to the simulator and the noise's to
// the in-process noise server, and refuses anything else.
type router struct {
	siteHost string
	site     http.RoundTripper
	noise    http.RoundTripper
}

func (rt *router) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.URL.Host == rt.siteHost && strings.HasPrefix(req.URL.Path, SiteAssetPrefix):
		return rt.noise.RoundTrip(canonical(req))
	case req.URL.Host == rt.siteHost:
		if _, wire := rt.site.(*http.Transport); !wire {
			req = canonical(req)
		}
		return rt.site.RoundTrip(req)
	case isThirdParty(req.URL.Hostname()):
		return rt.noise.RoundTrip(canonical(req))
	}
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, fmt.Errorf("hartest: no route to %s: only the site and the noise hosts are answered", req.URL.Host)
}

// canonical is req with its header names canonical, as a server parses
// them off the wire: an in-process handler gets the map as it is, and
// the browser writes some names as scripts spell them (X-XSRF-TOKEN).
func canonical(req *http.Request) *http.Request {
	out := req.Clone(req.Context())
	out.Body = req.Body
	out.Header = make(http.Header, len(req.Header))
	for k, vs := range req.Header {
		ck := http.CanonicalHeaderKey(k)
		out.Header[ck] = append(out.Header[ck], vs...)
	}
	return out
}

// A 1×1 transparent GIF, and bytes that stand for a WOFF2 font.
var (
	gif1x1, _ = base64.StdEncoding.DecodeString("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
	woff2     = append([]byte("wOF2\x00\x01\x00\x00"), make([]byte, 56)...)
)

// noiseHandler answers the noise's requests as the real hosts would,
// closely enough for a recording.
func noiseHandler(now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Date", now().UTC().Format(http.TimeFormat))
		send := func(status int, ct string, body []byte) {
			if ct != "" {
				h.Set("Content-Type", ct)
			}
			h.Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}
		redirect := func(to string) {
			h.Set("Location", to)
			h.Set("Content-Length", "0")
			w.WriteHeader(http.StatusFound)
		}
		host, path := r.URL.Hostname(), r.URL.Path
		switch {
		case !isThirdParty(host) && strings.HasSuffix(path, ".css"):
			h.Set("Last-Modified", "Tue, 02 Apr 2024 01:12:09 GMT")
			send(http.StatusOK, "text/css", []byte("@charset \"utf-8\";\nbody{font-family:'Noto Sans KR',sans-serif;margin:0}\n#header{height:80px}\n"))
		case !isThirdParty(host) && strings.HasSuffix(path, ".js"):
			send(http.StatusOK, "application/javascript", []byte("/*! common.js */\nfunction fnGoPage(p){location.href=p;}\n"))
		case !isThirdParty(host) && strings.HasSuffix(path, ".gif"):
			send(http.StatusOK, "image/gif", gif1x1)
		case host == CDNHost && strings.HasSuffix(path, ".css"):
			h.Set("Cache-Control", "public, max-age=31536000, s-maxage=31536000, immutable")
			h.Set("Access-Control-Allow-Origin", "*")
			send(http.StatusOK, "text/css; charset=utf-8", []byte("/*!\n * Bootstrap v3.4.1 (https://getbootstrap.com/)\n */html{font-family:sans-serif}\n"))
		case host == CDNHost:
			h.Set("Cache-Control", "public, max-age=31536000, s-maxage=31536000, immutable")
			h.Set("Access-Control-Allow-Origin", "*")
			send(http.StatusOK, "application/javascript; charset=utf-8", []byte("/*! jQuery v1.12.4 | (c) jQuery Foundation | jquery.org/license */\n!function(a,b){}(window);\n"))
		case host == FontCSSHost:
			h.Set("Access-Control-Allow-Origin", "*")
			send(http.StatusOK, "text/css; charset=utf-8", []byte("/* korean */\n@font-face {\n  font-family: 'Noto Sans KR';\n  src: url(https://"+FontHost+"/s/notosanskr/v36/PbyxFmXiEBPT4ITbgNA5Cgms3VYcOA-vvnIzzuoyeLQ.0.woff2) format('woff2');\n}\n"))
		case host == FontHost:
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Cache-Control", "public, max-age=31536000")
			send(http.StatusOK, "font/woff2", woff2)
		case host == TagHost:
			send(http.StatusOK, "application/javascript; charset=UTF-8", []byte("// Copyright 2012 Google Inc. All rights reserved.\n(function(){var data={};})();\n"))
		case host == AnalyticsHost:
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Cross-Origin-Resource-Policy", "cross-origin")
			h.Set("Content-Length", "0")
			w.WriteHeader(http.StatusNoContent)
		case host == AdHost:
			h.Set("Set-Cookie", "test_cookie=CheckForPermission; expires="+now().Add(15*time.Minute).UTC().Format(http.TimeFormat)+"; path=/; domain=.doubleclick.net; Secure; SameSite=none")
			redirect("https://" + AdRedirectHost + "/pagead/1p-user-list/957362531/?random=1734921154063&cv=11&fst=1734921154063&fmt=3&is_vtc=1")
		case host == AdRedirectHost:
			redirect("https://" + AdFinalHost + "/pagead/1p-user-list/957362531/?random=1734921154063&cv=11&fst=1734921154063&fmt=3&is_vtc=1&cid=CAQSGwB7FLtq")
		case host == AdFinalHost:
			h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
			send(http.StatusOK, "image/gif", gif1x1)
		case host == WidgetHost && r.Method == http.MethodOptions:
			h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
			h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
			h.Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
			h.Set("Access-Control-Max-Age", "86400")
			h.Set("Vary", "Origin, Access-Control-Request-Headers")
			h.Set("Content-Length", "0")
			w.WriteHeader(http.StatusNoContent)
		case host == WidgetHost:
			h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
			send(http.StatusOK, "application/json; charset=utf-8", []byte(`{"user":{"id":"67a1c0f2e4b0","type":"user","language":"ko"},"sessionJWT":"eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"}`))
		default:
			send(http.StatusNotFound, "text/plain; charset=utf-8", []byte("404 Not Found\n"))
		}
	})
}

// newRouter is the transport of a recording: the site's requests through
// site, the noise's answered by noiseHandler.
func newRouter(siteURL *url.URL, site http.RoundTripper, now func() time.Time) *router {
	return &router{
		siteHost: siteURL.Host,
		site:     site,
		noise:    &sitesim.InProcess{Handler: noiseHandler(now), RemoteAddr: "192.168.0.23:52014"},
	}
}

// loadPage loads what p loads once shown: the noise chosen. Subresources
// of one stage load in parallel, as a browser fetches them.
func (b *browser) loadPage(ctx context.Context, p *page) error {
	b.mu.Lock()
	b.pages++
	first := b.pages == 1
	b.mu.Unlock()
	if p.status != http.StatusOK || !strings.Contains(p.header.Get("Content-Type"), "html") {
		return nil
	}
	site := func(path string) *url.URL { u := *p.url; u.Path, u.RawQuery = path, ""; return &u }
	abs := func(s string) *url.URL { u, _ := url.Parse(s); return u }
	sub := func(typ string, u *url.URL, mode string) request {
		return request{typ: typ, method: http.MethodGet, url: u, from: p.url, mode: mode, cors: mode == "cors"}
	}
	var stages [][]request
	if b.noise.Assets {
		stages = append(stages,
			[]request{
				sub("stylesheet", site(SiteAssetPrefix+"css/common.css"), "no-cors"),
				sub("stylesheet", abs("https://"+CDNHost+"/npm/bootstrap@3.4.1/dist/css/bootstrap.min.css"), "no-cors"),
				sub("stylesheet", abs("https://"+FontCSSHost+"/css2?family=Noto+Sans+KR:wght@400;700&display=swap"), "no-cors"),
				sub("script", abs("https://"+CDNHost+"/npm/jquery@1.12.4/dist/jquery.min.js"), "no-cors"),
				sub("script", site(SiteAssetPrefix+"js/common.js"), "no-cors"),
			},
			[]request{
				sub("image", site(SiteAssetPrefix+"images/logo.gif"), "no-cors"),
				sub("font", abs("https://"+FontHost+"/s/notosanskr/v36/PbyxFmXiEBPT4ITbgNA5Cgms3VYcOA-vvnIzzuoyeLQ.0.woff2"), "cors"),
			})
	}
	if b.noise.Analytics {
		stages = append(stages, []request{sub("script", abs("https://"+TagHost+"/gtag/js?id=G-7QK2M4XZ9P"), "no-cors")})
		beacon := sub("ping", abs("https://"+AnalyticsHost+AnalyticsPath), "no-cors")
		beacon.method, beacon.body, beacon.contentType = http.MethodPost, []byte{}, ""
		beacon.url.RawQuery = "v=2&tid=G-7QK2M4XZ9P&gtm=45je4ca0v9115421405za200&_p=1734921154063&cid=1523087311.1734921154&ul=ko-kr&sr=1920x1080&_s=1&sid=1734921154&sct=1&seg=0" +
			"&dl=" + url.QueryEscape(p.url.String()) + "&dt=" + strings.ReplaceAll(url.QueryEscape(p.title()), "+", "%20") + "&en=page_view&tfd=412"
		stages = append(stages, []request{beacon})
	}
	if first && b.noise.Favicon {
		fav := sub("image", site(FaviconPath), "no-cors")
		fav.label = "other" // Chromium lists the favicon as Other
		stages = append(stages, []request{fav})
	}
	if first && b.noise.Redirects {
		stages = append(stages, []request{sub("image", abs("https://"+AdHost+"/ddm/activity/src=9876543;type=visit;cat=home;ord=1734921154063?"), "no-cors")})
	}
	if first && b.noise.Preflight {
		pre := sub("preflight", abs("https://"+WidgetHost+"/front/v6/plugins/4f2c8e1a-9b7d/boot"), "cors")
		pre.method, pre.cors = http.MethodOptions, true
		pre.extra = [][2]string{{"Access-Control-Request-Method", "POST"}, {"Access-Control-Request-Headers", "content-type,x-session"}}
		post := sub("fetch", pre.url, "cors")
		post.method, post.body, post.contentType = http.MethodPost, []byte(`{"language":"ko","url":`+strconv.Quote(p.url.String())+`}`), "application/json"
		post.extra = [][2]string{{"x-session", "67a1c0f2e4b0"}}
		stages = append(stages, []request{pre}, []request{post})
	}
	for _, stage := range stages {
		if err := b.fetchAll(ctx, stage); err != nil {
			return err
		}
	}
	return nil
}

// fetchAll loads requests in parallel, following redirects of images as
// a browser does, and returns the first failure.
func (b *browser) fetchAll(ctx context.Context, qs []request) error {
	var wg sync.WaitGroup
	errs := make([]error, len(qs))
	for i, q := range qs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.fetch(ctx, q)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *browser) fetch(ctx context.Context, q request) error {
	for hop := 0; hop < 10; hop++ {
		resp, _, err := b.do(ctx, q)
		if err != nil {
			return fmt.Errorf("hartest: noise %s: %w", q.url, err)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 != 3 || loc == "" {
			return nil
		}
		if q.url, err = q.url.Parse(loc); err != nil {
			return fmt.Errorf("hartest: noise %s: %w", loc, err)
		}
	}
	return fmt.Errorf("hartest: noise %s: too many redirects", q.url)
}
