package api

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each 303.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	// accept is the Accept header sent, a browser's by default.
	accept string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, base: base, accept: "text/html,application/xhtml+xml,*/*;q=0.8", c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
	doc    *goquery.Document
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.accept != "" {
		req.Header.Set("Accept", b.accept)
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	p := page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
	p.doc, err = goquery.NewDocumentFromReader(strings.NewReader(p.body))
	require.NoError(b.t, err)
	return p
}

func (b *browser) get(path string) page                   { return b.do("GET", path, nil) }
func (b *browser) post(path string, form url.Values) page { return b.do("POST", path, form) }

// login signs in with token through the form and returns the last page.
func (b *browser) login(token string) page {
	b.t.Helper()
	form := b.get("/ui/login")
	require.Equal(b.t, 200, form.status)
	v, ok := form.doc.Find(`input[name=login]`).Attr("value")
	require.True(b.t, ok)
	return b.post("/ui/login", url.Values{"login": {v}, "token": {token}, "next": {"/ui/failures"}})
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base + "/ui/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func csrfOf(t *testing.T, p page) string {
	t.Helper()
	v, ok := p.doc.Find(`form.logout input[name=csrf]`).Attr("value")
	require.True(t, ok, "a signed-in page has a logout form with a CSRF token")
	require.NotEmpty(t, v)
	return v
}

func TestUILogin(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	br := newBrowser(t, b.url)

	r := br.get("/ui/failures?site=courtsim")
	require.Equal(t, 303, r.status, "no session: to the login form")
	require.Equal(t, "/ui/login?next="+url.QueryEscape("/ui/failures?site=courtsim"), r.header.Get("Location"))
	require.Equal(t, 303, br.get("/ui/").status)

	form := br.get("/ui/login")
	require.Equal(t, 200, form.status)
	require.Contains(t, form.header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Equal(t, "DENY", form.header.Get("X-Frame-Options"))
	require.Equal(t, 1, form.doc.Find(`input[name=token][type=password]`).Length())
	require.Nil(t, br.cookie(sessionCookie))

	// Without the double-submit value the form is refused (login CSRF).
	r = br.post("/ui/login", url.Values{"token": {b.op}})
	require.Equal(t, 403, r.status)
	require.Nil(t, br.cookie(sessionCookie))
	// A fresh client that never saw the form has no login cookie at all.
	r = newBrowser(t, b.url).post("/ui/login", url.Values{"token": {b.op}, "login": {"0123"}})
	require.Equal(t, 403, r.status)

	r = br.login("rsv_notatoken")
	require.Equal(t, 401, r.status)
	require.Contains(t, r.doc.Find(".error").Text(), "unknown or revoked")
	r = br.login(b.alice)
	require.Equal(t, 403, r.status)
	require.Contains(t, r.doc.Find(".error").Text(), "not an operator token")
	require.Nil(t, br.cookie(sessionCookie))

	// The raw Set-Cookie header shows the attributes the jar hides.
	form = br.get("/ui/login")
	v, _ := form.doc.Find(`input[name=login]`).Attr("value")
	r = br.post("/ui/login", url.Values{"login": {v}, "token": {b.op}, "next": {"https://evil.example/"}})
	require.Equal(t, 303, r.status)
	require.Equal(t, "/ui/failures", r.header.Get("Location"), "never redirect off the page")
	var set string
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, sessionCookie+"=") {
			set = c
		}
	}
	require.NotEmpty(t, set)
	for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/ui/", "Max-Age=43200"} {
		require.Contains(t, set, attr)
	}
	require.NotContains(t, set, b.op, "the cookie does not carry the token")
	require.NotContains(t, set, strings.TrimPrefix(b.op, "rsv_"))

	r = br.get("/ui/failures")
	require.Equal(t, 200, r.status, r.body)
	require.Equal(t, "ops", r.doc.Find(".who").Text())

	b.logMu.Lock()
	logs := b.logs.String()
	b.logMu.Unlock()
	require.NotContains(t, logs, strings.TrimPrefix(b.op, "rsv_"), "tokens never reach the log")
	require.NotContains(t, logs, strings.TrimPrefix(b.alice, "rsv_"))
}

func TestUISessionEnds(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		tests := []struct {
			name string
			end  func(br *browser, csrf string)
		}{
			{"logout", func(br *browser, csrf string) {
				require.Equal(t, 403, br.post("/ui/logout", url.Values{}).status, "logout needs the CSRF token")
				require.Equal(t, 200, br.get("/ui/failures").status, "still signed in")
				r := br.post("/ui/logout", url.Values{"csrf": {csrf}})
				require.Equal(t, 303, r.status)
				require.Nil(t, br.cookie(sessionCookie))
			}},
			{"tampered cookie", func(br *browser, _ string) {
				c := br.cookie(sessionCookie)
				payload, mac, _ := strings.Cut(c.Value, ".")
				u, _ := url.Parse(b.url + "/ui/")
				br.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: payload + "x." + mac, Path: "/ui/"}})
			}},
			{"revoked token", func(_ *browser, _ string) {
				require.NoError(t, db.Exec("UPDATE api_tokens SET revoked_at = ? WHERE role = 'operator'", time.Now().UTC()).Error)
			}},
		}
		for _, tt := range tests {
			br := newBrowser(t, b.url)
			if tt.name == "revoked token" {
				// Last: it revokes the operator token for good.
				defer func() {
					r := br.get("/ui/failures")
					require.Equal(t, 303, r.status, tt.name)
				}()
			}
			require.Equal(t, 303, br.login(b.op).status, tt.name)
			p := br.get("/ui/failures")
			require.Equal(t, 200, p.status, tt.name)
			tt.end(br, csrfOf(t, p))
			if tt.name != "revoked token" {
				r := br.get("/ui/failures")
				require.Equal(t, 303, r.status, tt.name)
				require.True(t, strings.HasPrefix(r.header.Get("Location"), "/ui/login"), tt.name)
			}
		}
	})
}

func TestUIPages(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		sold := seedRun(t, db, b.alice, "courtsim", "1", booking.Failed, booking.ReasonSoldOut, "not_open", "not_open", "sold_out")
		win := seedRun(t, db, b.bob, "other", "2", booking.Failed, booking.ReasonWindow, "retry", "blocked", "retry", "retry")
		won := seedRun(t, db, b.alice, "courtsim", "3", booking.Succeeded, "", "not_open", "success")
		live := seedRun(t, db, b.alice, "courtsim", "4", booking.Armed, "", "not_open")

		br := newBrowser(t, b.url)
		require.Equal(t, 303, br.login(b.op).status)

		p := br.get("/ui/failures")
		require.Equal(t, 200, p.status)
		rows := p.doc.Find("tr.failure")
		require.Equal(t, 2, rows.Length(), "failures only")
		first := rows.First()
		require.Equal(t, fmt.Sprint(win.id), first.AttrOr("data-id", ""))
		require.Equal(t, "window_closed", first.Find(".reason").Text())
		require.Contains(t, first.Text(), "retry 3")
		require.Contains(t, first.Text(), "answer 4: retry", "the last answer's excerpt")
		require.Equal(t, fmt.Sprintf("/ui/bookings/%d", win.id), first.Find("a").AttrOr("href", ""))
		require.Contains(t, p.body, "<span class=\"chip blocked\">blocked 1</span>")

		p = br.get("/ui/failures?site=courtsim&since=30d")
		require.Equal(t, 1, p.doc.Find("tr.failure").Length())
		require.Equal(t, fmt.Sprint(sold.id), p.doc.Find("tr.failure").AttrOr("data-id", ""))
		require.Equal(t, "courtsim", p.doc.Find("input[name=site]").AttrOr("value", ""), "the filter form keeps its values")
		p = br.get("/ui/failures?since=soon")
		require.Equal(t, 400, p.status)
		require.Contains(t, p.doc.Find(".error").Text(), "since:")

		tests := []struct {
			name    string
			id      int64
			circles int
			outcome string
			ok      bool
			cancel  bool
		}{
			{"sold out", sold.id, sold.attempts, "failed: sold_out", false, false},
			{"window closed", win.id, win.attempts, "failed: window_closed", false, false},
			{"booked", won.id, won.attempts, "booked: R-3", true, false},
			{"running", live.id, live.attempts, "running, before T", false, true},
		}
		for _, tt := range tests {
			p := br.get(fmt.Sprintf("/ui/bookings/%d", tt.id))
			require.Equal(t, 200, p.status, tt.name)
			svg := p.doc.Find("figure.timeline svg.wide")
			require.Equal(t, 1, svg.Length(), tt.name)
			require.Equal(t, tt.circles, svg.Find("circle.attempt").Length(), "%s: one circle per attempt", tt.name)
			require.Equal(t, tt.circles, svg.Find("circle").Length(), "%s: no other circles", tt.name)
			require.Equal(t, tt.circles, p.doc.Find("figure.timeline svg.compact circle.attempt").Length(), "%s: the phone's drawing too", tt.name)
			require.Equal(t, tt.circles, p.doc.Find("table.attempts tr.attempt").Length(), tt.name)
			require.Equal(t, tt.outcome, svg.Find("text.outcome-label").Text(), tt.name)
			require.Equal(t, tt.ok, svg.Find("path.outcome.success").Length() == 1, tt.name)
			require.Equal(t, tt.cancel, p.doc.Find("form.cancel").Length() == 1, "%s: only unfinished bookings can be cancelled", tt.name)
			require.NotContains(t, p.body, "S3cr3t", tt.name)
		}
		p = br.get(fmt.Sprintf("/ui/bookings/%d", sold.id))
		require.Equal(t, "#cf222e", p.doc.Find("circle.attempt.sold_out").AttrOr("fill", ""))
		require.Equal(t, "T−60.00 s", strings.TrimSpace(p.doc.Find("table.attempts tr.attempt").First().Find("td.from-t").Text()))
		require.Contains(t, p.doc.Find("p.site-clock").Text(), "site clock unknown (no Date headers)", "says which clock From T is on")
		require.Equal(t, 404, br.get("/ui/bookings/999999").status)
		require.Equal(t, 404, br.get("/ui/bookings/x").status)

		// Cancelling from the page needs the form's CSRF token.
		path := fmt.Sprintf("/ui/bookings/%d", live.id)
		p = br.get(path)
		token := p.doc.Find("form.cancel input[name=csrf]").AttrOr("value", "")
		require.NotEmpty(t, token)
		require.Equal(t, 403, br.post(path+"/cancel", url.Values{}).status)
		require.Equal(t, 403, br.post(path+"/cancel", url.Values{"csrf": {token + "0"}}).status)
		require.Equal(t, 403, newBrowser(t, b.url).post(path+"/cancel", url.Values{"csrf": {token}}).status, "a token without the session is nothing")
		var st string
		require.NoError(t, db.Table("bookings").Where("id = ?", live.id).Pluck("state", &st).Error)
		require.Equal(t, "running", st)

		// Nobody runs it and its opening is ahead (no submit can have left):
		// cancelled at once. (Past its opening it would wait for a daemon
		// to ask the site first: booking.TestCancelRequestOrDirect.)
		require.NoError(t, db.Table("bookings").Where("id = ?", live.id).Update("opens_at", time.Now().Add(time.Hour).UTC()).Error)
		r := br.post(path+"/cancel", url.Values{"csrf": {token}})
		require.Equal(t, 303, r.status)
		require.Equal(t, path+"?cancel=cancelled", r.header.Get("Location"), "nobody runs it (the lease lapsed): cancelled at once")
		var got struct{ State, Reason string }
		require.NoError(t, db.Table("bookings").Select("state, reason").Where("id = ?", live.id).Scan(&got).Error)
		require.Equal(t, "cancelled", got.State)
		require.Equal(t, "operator_cancel", got.Reason)
		p = br.get(r.header.Get("Location"))
		require.Equal(t, fmt.Sprintf("Booking %d cancelled.", live.id), p.doc.Find("p.notice").Text())
		require.Equal(t, "cancelled: operator_cancel", p.doc.Find("text.outcome-label").First().Text())
		require.Equal(t, 0, p.doc.Find("form.cancel").Length())

		css := br.get("/ui/style.css")
		require.Equal(t, 200, css.status)
		require.Contains(t, css.header.Get("Content-Type"), "text/css")
	})
}

func TestUISessionKey(t *testing.T) {
	t.Parallel()
	k1, err := UISessionKey([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	k2, err := UISessionKey([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	k3, err := UISessionKey([]byte("fedcba9876543210fedcba9876543210"))
	require.NoError(t, err)
	require.Len(t, k1, 32)
	require.Equal(t, k1, k2, "every instance derives the same key")
	require.NotEqual(t, k1, k3)
	require.NotEqual(t, []byte("0123456789abcdef0123456789abcdef"), k1, "the password key itself is not used")

	u := &ui{key: k1}
	v := u.sign([]byte(`{"t":"x"}`))
	got, ok := u.verify(v)
	require.True(t, ok)
	require.Equal(t, `{"t":"x"}`, string(got))
	_, ok = (&ui{key: k3}).verify(v)
	require.False(t, ok, "another key's cookie is refused")
	for _, bad := range []string{"", "abc", v + "x", "." + strings.Split(v, ".")[1], "!!.!!"} {
		_, ok := u.verify(bad)
		require.False(t, ok, bad)
	}
}
