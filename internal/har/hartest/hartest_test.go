package hartest_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"reserver/internal/har"
	"reserver/internal/har/hartest"
	"reserver/internal/sitesim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// target is a simulated site on loopback or in process.
func target(t *testing.T, loopback bool, opts sitesim.Options) hartest.Target {
	t.Helper()
	if loopback {
		srv, err := sitesim.Start(opts)
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		return hartest.ServerTarget(srv)
	}
	site, err := sitesim.New(opts)
	require.NoError(t, err)
	return hartest.InProcessTarget(site, "")
}

var confirmRe = regexp.MustCompile(`^/checkout/C\d+/confirm$`)

// flow is the booking's own exchanges, "METHOD /path": the site's, less
// its static files and favicon.
func flow(t *testing.T, h *har.HAR, site string) []string {
	t.Helper()
	base, err := url.Parse(site)
	require.NoError(t, err)
	var out []string
	for _, e := range h.Log.Entries {
		u, err := url.Parse(e.Request.URL)
		require.NoError(t, err)
		if u.Host != base.Host || strings.HasPrefix(u.Path, hartest.SiteAssetPrefix) || u.Path == hartest.FaviconPath {
			continue
		}
		out = append(out, e.Request.Method+" "+confirmRe.ReplaceAllString(u.Path, "/checkout/{id}/confirm"))
	}
	return out
}

var (
	egovFlow = []string{
		"GET /login.do", "POST /loginProc.do", "GET /main.do", "GET /rent/form.do",
		"POST /rent/apply.do", "GET /mypage/rentList.do",
	}
	cartFlow = []string{
		"GET /login", "POST /login", "GET /dashboard", "GET /api/resources", "POST /api/cart/items",
		"POST /api/checkout", "POST /checkout/{id}/confirm", "GET /api/reservations",
	}
)

func TestRecordBooking(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       sitesim.Options
		loopback   bool
		style      har.Style
		wrongFirst bool
		want       []string
	}{
		{"egov chromium loopback", sitesim.Options{}, true, har.StyleChromium, false, egovFlow},
		{"egov euc-kr firefox in process", sitesim.Options{Charset: sitesim.CharsetEUCKR}, false, har.StyleFirefox, false, egovFlow},
		{"egov euc-kr chromium wrong password first", sitesim.Options{Charset: sitesim.CharsetEUCKR}, true, har.StyleChromium, true,
			append([]string{"GET /login.do", "POST /loginProc.do"}, egovFlow...)},
		{"cart firefox loopback", sitesim.Options{Flavor: sitesim.FlavorCart}, true, har.StyleFirefox, false, cartFlow},
		{"cart chromium in process wrong password first", sitesim.Options{Flavor: sitesim.FlavorCart}, false, har.StyleChromium, true,
			append([]string{"GET /login", "POST /login"}, cartFlow[1:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := target(t, tt.loopback, tt.opts)
			rec, err := hartest.Record(t.Context(), tg, hartest.Options{
				Style: tt.style, Noise: hartest.AllNoise(), WrongPasswordFirst: tt.wrongFirst,
			})
			require.NoError(t, err)
			require.Equal(t, tt.want, flow(t, rec.HAR, tg.URL))

			// Exactly one reservation, the one recorded.
			l := tg.Site.Ledger()
			require.Len(t, l.Reservations, 1)
			r := l.Reservations[0]
			bk := rec.Booking
			require.Equal(t, rec.Reservation, r.Number)
			require.Equal(t, []any{bk.Account, bk.Facility, bk.Date, bk.Slot, bk.Name, bk.Phone},
				[]any{r.Account, r.Facility, r.Date, r.Slot, r.UserName, r.UserTel})
			require.Zero(t, l.RepeatSubmits)

			// The number is in the recording, as the site showed it.
			var shown bool
			for _, e := range rec.HAR.Log.Entries {
				text, err := e.Response.Content.Decoded()
				require.NoError(t, err)
				shown = shown || strings.Contains(text, r.Number)
			}
			require.True(t, shown, "%s in no response", r.Number)

			// Every page of the site is what its browser sends.
			ua := hartest.ChromeUserAgent
			if tt.style == har.StyleFirefox {
				ua = hartest.FirefoxUserAgent
			}
			for _, e := range rec.HAR.Log.Entries {
				require.Equal(t, ua, har.Header(e.Request.Headers, "User-Agent"), e.Request.URL)
			}
		})
	}
}

func TestRecordSendsWhatABrowserSends(t *testing.T) {
	t.Parallel()
	tg := target(t, true, sitesim.Options{Flavor: sitesim.FlavorCart})
	rec, err := hartest.Record(t.Context(), tg, hartest.Options{Style: har.StyleChromium})
	require.NoError(t, err)
	var login, add, confirm, dash har.Entry
	for _, e := range rec.HAR.Log.Entries {
		u, _ := url.Parse(e.Request.URL)
		switch {
		case e.Request.Method == http.MethodPost && u.Path == sitesim.CartPathLogin:
			login = e
		case u.Path == sitesim.CartPathItems:
			add = e
		case confirmRe.MatchString(u.Path):
			confirm = e
		case u.Path == sitesim.CartPathDashboard:
			dash = e
		}
	}
	hdr := func(e har.Entry, name string) string { return har.Header(e.Request.Headers, name) }
	base := strings.TrimSuffix(tg.URL, "/")

	// The login form as the page had it: its hidden token, the button.
	fields, ok := login.Request.PostData.Form()
	require.True(t, ok)
	require.Equal(t, []string{"_token", "username", "password", "login"}, names(fields))
	require.Equal(t, base, hdr(login, "Origin"))
	require.Equal(t, base+sitesim.CartPathLogin, hdr(login, "Referer"))
	require.Equal(t, "navigate", hdr(login, "Sec-Fetch-Mode"))
	require.Equal(t, "?1", hdr(login, "Sec-Fetch-User"))
	require.NotEmpty(t, hdr(login, "sec-ch-ua"))

	// The redirect is followed as a GET, with the navigation's Referer.
	require.Equal(t, base+sitesim.CartPathLogin, hdr(dash, "Referer"))
	require.Empty(t, hdr(dash, "Origin"))
	require.Empty(t, hdr(dash, "Content-Type"))

	// The script's call: JSON, the cookie echoed in X-XSRF-TOKEN.
	require.Equal(t, "xhr", add.ResourceType)
	require.Equal(t, "application/json", hdr(add, "Content-Type"))
	var xsrf string
	for _, c := range add.Request.Cookies {
		if c.Name == sitesim.CartXSRFCookie {
			xsrf = c.Value
		}
	}
	require.NotEmpty(t, xsrf)
	require.Equal(t, xsrf, hdr(add, sitesim.CartXSRFHeader))
	require.Equal(t, base+sitesim.CartPathDashboard, hdr(add, "Referer"))
	require.Equal(t, http.StatusCreated, add.Response.Status)

	fields, ok = confirm.Request.PostData.Form()
	require.True(t, ok)
	require.Equal(t, []har.NameValue{{Name: "_csrf", Value: xsrf}, {Name: "accept_terms", Value: "1"}}, fields)
	require.Equal(t, "document", confirm.ResourceType)
}

func names(nvs []har.NameValue) []string {
	var out []string
	for _, nv := range nvs {
		out = append(out, nv.Name)
	}
	return out
}

// kind sorts an entry into the booking or a kind of noise.
func kind(t *testing.T, e har.Entry, site string) string {
	t.Helper()
	base, _ := url.Parse(site)
	u, err := url.Parse(e.Request.URL)
	require.NoError(t, err)
	switch {
	case u.Host == base.Host && strings.HasPrefix(u.Path, hartest.SiteAssetPrefix):
		return "site asset"
	case u.Host == base.Host && u.Path == hartest.FaviconPath:
		return "favicon"
	case u.Host == base.Host:
		return "flow"
	case u.Host == hartest.CDNHost || u.Host == hartest.FontCSSHost || u.Host == hartest.FontHost:
		return "cdn asset"
	case u.Host == hartest.TagHost:
		return "tag script"
	case u.Host == hartest.AnalyticsHost:
		return "beacon"
	case u.Host == hartest.AdHost || u.Host == hartest.AdRedirectHost || u.Host == hartest.AdFinalHost:
		return "redirect chain"
	case u.Host == hartest.WidgetHost:
		return "widget"
	}
	t.Fatalf("unknown host %s", u.Host)
	return ""
}

func TestNoise(t *testing.T) {
	t.Parallel()
	for _, style := range []har.Style{har.StyleChromium, har.StyleFirefox} {
		t.Run(string(style), func(t *testing.T) {
			t.Parallel()
			tg := target(t, false, sitesim.Options{Charset: sitesim.CharsetEUCKR})
			rec, err := hartest.Record(t.Context(), tg, hartest.Options{Style: style, Noise: hartest.AllNoise()})
			require.NoError(t, err)
			h := rec.HAR

			count := map[string]int{}
			var chain, widget []har.Entry
			pagesShown := 0
			for _, e := range h.Log.Entries {
				k := kind(t, e, tg.URL)
				count[k]++
				switch k {
				case "flow":
					if e.Response.Status == http.StatusOK {
						pagesShown++
					}
					if style == har.StyleChromium {
						require.Contains(t, []string{"document", "xhr"}, e.ResourceType, e.Request.URL)
					}
				case "redirect chain":
					chain = append(chain, e)
				case "widget":
					widget = append(widget, e)
				case "beacon":
					require.Equal(t, http.MethodPost, e.Request.Method)
					require.Equal(t, http.StatusNoContent, e.Response.Status)
					dl := queryValue(e, "dl")
					u, err := url.Parse(dl)
					require.NoError(t, err, dl)
					require.Equal(t, tg.URL, "http://"+u.Host, "the beacon names the page: %s", dl)
				default:
					if style == har.StyleChromium {
						require.NotContains(t, []string{"document", "xhr"}, e.ResourceType, "%s is noise", e.Request.URL)
					}
				}
			}
			// Every page shown loads its assets and analytics.
			require.Equal(t, 5, pagesShown) // the login's 302 is not a page
			require.Equal(t, map[string]int{
				"flow": 6, "site asset": 3 * pagesShown, "cdn asset": 4 * pagesShown,
				"tag script": pagesShown, "beacon": pagesShown,
				"favicon": 1, "redirect chain": 3, "widget": 2,
			}, count)

			fav := entryAt(t, h, tg.URL+hartest.FaviconPath)
			require.Equal(t, http.StatusNotFound, fav.Response.Status)

			// 302 → 302 → 200, each pointing at the next.
			require.Equal(t, []int{http.StatusFound, http.StatusFound, http.StatusOK}, statuses(chain))
			for i := range 2 {
				require.Equal(t, chain[i+1].Request.URL, chain[i].Response.RedirectURL)
			}
			require.Equal(t, "image/gif", chain[2].Response.Content.MimeType)
			require.Equal(t, "base64", chain[2].Response.Content.Encoding)

			// The preflight, then the call it allowed.
			require.Equal(t, []string{http.MethodOptions, http.MethodPost}, []string{widget[0].Request.Method, widget[1].Request.Method})
			require.Equal(t, http.StatusNoContent, widget[0].Response.Status)
			require.Equal(t, "POST", har.Header(widget[0].Request.Headers, "Access-Control-Request-Method"))
			require.Empty(t, widget[0].Request.Cookies)
			if style == har.StyleChromium {
				require.Equal(t, "preflight", widget[0].ResourceType)
			}
		})
	}
}

func queryValue(e har.Entry, name string) string {
	for _, q := range e.Request.QueryString {
		if q.Name == name {
			if v, err := url.QueryUnescape(q.Value); err == nil {
				return v // Chromium keeps it raw; Firefox decoded it already
			}
			return q.Value
		}
	}
	return ""
}

func entryAt(t *testing.T, h *har.HAR, u string) har.Entry {
	t.Helper()
	for _, e := range h.Log.Entries {
		if e.Request.URL == u {
			return e
		}
	}
	t.Fatalf("no entry for %s", u)
	return har.Entry{}
}

func statuses(es []har.Entry) []int {
	var out []int
	for _, e := range es {
		out = append(out, e.Response.Status)
	}
	return out
}

func TestRecordWithoutNoiseIsTheFlowOnly(t *testing.T) {
	t.Parallel()
	tg := target(t, false, sitesim.Options{})
	rec, err := hartest.Record(t.Context(), tg, hartest.Options{})
	require.NoError(t, err)
	require.Len(t, rec.HAR.Log.Entries, len(egovFlow))
	require.Equal(t, egovFlow, flow(t, rec.HAR, tg.URL))
	require.Equal(t, "WebInspector", rec.HAR.Log.Creator.Name, "Chromium by default")
}

func TestRecordReportsAFlowThatFails(t *testing.T) {
	t.Parallel()
	tg := target(t, false, sitesim.Options{})
	rec, err := hartest.Record(t.Context(), tg, hartest.Options{Booking: hartest.Booking{Password: "wrong"}})
	require.ErrorIs(t, err, hartest.ErrFlow)
	require.ErrorContains(t, err, "login")
	require.NotEmpty(t, rec.HAR.Log.Entries, "the recording so far comes with the error")
	require.Empty(t, tg.Site.Ledger().Reservations)
}

func TestRecordHonoursTheContext(t *testing.T) {
	t.Parallel()
	tg := target(t, true, sitesim.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := hartest.Record(ctx, tg, hartest.Options{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestRecordingThroughAFile(t *testing.T) {
	t.Parallel()
	tg := target(t, false, sitesim.Options{Flavor: sitesim.FlavorCart})
	rec, err := hartest.Record(t.Context(), tg, hartest.Options{Style: har.StyleFirefox, Noise: hartest.Noise{Assets: true}})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "recording.har")
	require.NoError(t, har.WriteFile(path, rec.HAR))
	back, err := har.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, rec.HAR.Log.Entries, back.Log.Entries)
	require.True(t, slices.ContainsFunc(back.Log.Entries, func(e har.Entry) bool {
		return e.Response.Content.Encoding == "base64" // the logo and the font
	}))
}
