package sitesim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// setCookie returns the named cookie a reply set, or nil.
func setCookie(r reply, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestCartLoginPageStartsAPreSession(t *testing.T) {
	t.Parallel()
	srv := startCartSite(t, Options{})
	c := netCart(t, srv)

	r := c.get(CartPathLogin)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	require.Regexp(t, loginTokenRE, r.body)
	for _, want := range []string{`action="/login"`, `name="username"`, `name="password"`, `name="login" value="Log in"`} {
		require.Contains(t, r.body, want)
	}
	sid := setCookie(r, CartSessionCookie)
	require.NotNil(t, sid)
	require.True(t, sid.HttpOnly)
	require.Equal(t, "/", sid.Path)

	// A client with a live SID keeps it; each visit binds a new token.
	first := loginTokenRE.FindStringSubmatch(r.body)[1]
	r = c.get(CartPathLogin)
	require.Nil(t, setCookie(r, CartSessionCookie))
	require.NotEqual(t, first, loginTokenRE.FindStringSubmatch(r.body)[1])
}

func TestCartLoginRejects(t *testing.T) {
	t.Parallel()
	srv := startCartSite(t, Options{Accounts: 20})
	tests := []struct {
		name string
		// form builds the POST /login form from a fresh client's current token.
		form     func(t *testing.T, c *cartClient, token string) url.Values
		noSID    bool
		status   int
		contains string // "" = the login page without a message
		lang     string
	}{
		{"no token", func(_ *testing.T, _ *cartClient, _ string) url.Values {
			v := loginForm("", "user002", PasswordDefault)
			v.Del("_token")
			return v
		}, false, 419, "<h1>Page Expired</h1>", ""},
		{"wrong token", func(_ *testing.T, _ *cartClient, _ string) url.Values {
			return loginForm(strings.Repeat("ab", 20), "user002", PasswordDefault)
		}, false, 419, "<h1>Page Expired</h1>", ""},
		{"token of another SID", func(t *testing.T, _ *cartClient, _ string) url.Values {
			other := netCart(t, srv)
			return loginForm(other.loginToken(), "user002", PasswordDefault)
		}, false, 419, "<h1>Page Expired</h1>", ""},
		{"superseded token", func(_ *testing.T, c *cartClient, token string) url.Values {
			c.loginToken()
			return loginForm(token, "user002", PasswordDefault)
		}, false, 419, "<h1>Page Expired</h1>", ""},
		{"no SID at all", func(_ *testing.T, _ *cartClient, token string) url.Values {
			return loginForm(token, "user002", PasswordDefault)
		}, true, 419, "<h1>Page Expired</h1>", ""},
		{"no login field", func(_ *testing.T, _ *cartClient, token string) url.Values {
			v := loginForm(token, "user002", PasswordDefault)
			v.Del("login")
			return v
		}, false, http.StatusOK, "", ""},
		{"wrong password, English account", func(_ *testing.T, _ *cartClient, token string) url.Values {
			return loginForm(token, "user002", "pass12345")
		}, false, http.StatusOK, "Invalid username or password.", LangEN},
		{"wrong password, Korean account", func(_ *testing.T, _ *cartClient, token string) url.Values {
			return loginForm(token, "user001", "")
		}, false, http.StatusOK, "아이디 또는 비밀번호가 올바르지 않습니다.", LangKO},
		{"unknown user", func(_ *testing.T, _ *cartClient, token string) url.Values {
			return loginForm(token, "user021", PasswordDefault)
		}, false, http.StatusOK, "Invalid username or password.", LangEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := netCart(t, srv)
			token := c.loginToken()
			form := tt.form(t, c, token)
			if tt.noSID {
				c = netCart(t, srv)
			}
			r := c.postForm(CartPathLogin, form)
			require.Equal(t, tt.status, r.status, r.body)
			require.Nil(t, setCookie(r, CartXSRFCookie), "no login")
			if tt.status != http.StatusOK {
				require.Contains(t, r.body, tt.contains)
				return
			}
			// The login page again, with a new token bound to the same SID.
			m := loginTokenRE.FindStringSubmatch(r.body)
			require.NotNil(t, m, r.body)
			require.NotEqual(t, token, m[1])
			if tt.contains == "" {
				require.NotContains(t, r.body, `class="error"`)
			} else {
				require.Contains(t, r.body, `<p class="error">`+tt.contains+`</p>`)
				require.Contains(t, r.body, `<html lang="`+tt.lang+`">`)
				require.NotContains(t, r.body, "pass12345", "the password must not be echoed")
			}
			r = c.postForm(CartPathLogin, loginForm(m[1], "user020", PasswordDefault))
			require.Equal(t, http.StatusFound, r.status, "the new token logs in")
		})
	}
}

func TestCartLoginSucceeds(t *testing.T) {
	t.Parallel()
	srv := startCartSite(t, Options{})
	c := netCart(t, srv)
	token := c.loginToken()
	preSID := c.cookie(CartSessionCookie)
	require.NotEmpty(t, preSID)

	r := c.postForm(CartPathLogin, loginForm(token, "user002", PasswordDefault))
	require.Equal(t, http.StatusFound, r.status)
	require.Equal(t, CartPathDashboard, r.header.Get("Location"))
	sid := setCookie(r, CartSessionCookie)
	require.NotNil(t, sid)
	require.NotEqual(t, preSID, sid.Value, "a new SID at login")
	require.True(t, sid.HttpOnly)
	require.Equal(t, "/", sid.Path)
	xsrf := setCookie(r, CartXSRFCookie)
	require.NotNil(t, xsrf)
	require.Regexp(t, hex32RE, xsrf.Value)
	require.False(t, xsrf.HttpOnly, "scripts read the XSRF cookie")
	require.Equal(t, "/", xsrf.Path)

	r = c.get(CartPathDashboard)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.body, `<p class="welcome">Welcome, user002.</p>`)
	ko := netCart(t, srv)
	ko.mustLogin("user001")
	require.Contains(t, ko.get(CartPathDashboard).body, `<p class="welcome">user001님, 환영합니다.</p>`)

	// The pre-login SID is spent: it is no session, and its token is gone.
	old := netCart(t, srv)
	old.hc.Jar.SetCookies(old.base, []*http.Cookie{{Name: CartSessionCookie, Value: preSID, Path: "/"}})
	r = old.get(CartPathDashboard)
	require.Equal(t, http.StatusFound, r.status)
	require.Equal(t, CartPathLogin, r.header.Get("Location"))
	require.Equal(t, 419, old.postForm(CartPathLogin, loginForm(token, "user002", PasswordDefault)).status)
	requireAPIError(t, old.get(CartPathResources), http.StatusUnauthorized, codeUnauthenticated, "Please log in.")
	// Asking for the login page with a spent SID starts a new pre-session.
	require.NotNil(t, setCookie(old.get(CartPathLogin), CartSessionCookie))

	// A logged-in session that logs in again gets a new SID too.
	loggedIn := c.cookie(CartSessionCookie)
	c.mustLogin("user004")
	require.NotEqual(t, loggedIn, c.cookie(CartSessionCookie))
	require.Contains(t, c.get(CartPathDashboard).body, "Welcome, user004.")
	stale := netCart(t, srv)
	stale.hc.Jar.SetCookies(stale.base, []*http.Cookie{{Name: CartSessionCookie, Value: loggedIn, Path: "/"}})
	require.Equal(t, http.StatusFound, stale.get(CartPathDashboard).status)

	// Without a session the dashboard sends to the login.
	r = netCart(t, srv).get(CartPathDashboard)
	require.Equal(t, http.StatusFound, r.status)
	require.Equal(t, CartPathLogin, r.header.Get("Location"))
}

func TestCartOneSessionPerAccount(t *testing.T) {
	t.Parallel()
	srv := startCartSite(t, Options{})
	first := netCart(t, srv)
	first.mustLogin("user002")
	second := netCart(t, srv)
	second.mustLogin("user002")

	requireAPIError(t, first.get(CartPathResources), http.StatusUnauthorized, codeUnauthenticated, "Please log in.")
	requireAPIError(t, first.add(1, cartSlotAt(22, 1)), http.StatusUnauthorized, codeUnauthenticated, "Please log in.")
	require.Equal(t, ResultNoSession, lastSubmit(t, srv.Site).Result)
	require.Equal(t, http.StatusOK, second.get(CartPathResources).status)

	other := netCart(t, srv)
	other.mustLogin("user003")
	srv.KickSessions("user002")
	requireAPIError(t, second.get(CartPathResources), http.StatusUnauthorized, codeUnauthenticated, "Please log in.")
	require.Equal(t, http.StatusOK, other.get(CartPathResources).status, "another account is untouched")
}

func TestCartSessionIdleExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{SessionIdle: 10 * time.Minute})
		c := memCart(t, s, "127.0.0.1")
		c.mustLogin("user002")
		for range 3 {
			time.Sleep(9 * time.Minute)
			require.Equal(t, http.StatusOK, c.get(CartPathResources).status)
		}
		time.Sleep(10*time.Minute + time.Second)
		requireAPIError(t, c.get(CartPathResources), http.StatusUnauthorized, codeUnauthenticated, "Please log in.")

		// A login page left open past the idle expiry is expired too.
		token := c.loginToken()
		time.Sleep(10*time.Minute + time.Second)
		r := c.postForm(CartPathLogin, loginForm(token, "user002", PasswordDefault))
		require.Equal(t, 419, r.status)
	})
}

func TestCartSetLanguage(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{})
		c := memCart(t, s, "127.0.0.1")
		c.mustLogin("user002")
		require.Contains(t, c.get(CartPathDashboard).body, "Welcome, user002.")
		require.NoError(t, s.SetLanguage("user002", LangKO))
		require.Contains(t, c.get(CartPathDashboard).body, "user002님, 환영합니다.")
		requireAPIError(t, c.add(1, cartSlotAt(28, 1)), http.StatusUnprocessableEntity, codeNotice,
			"예약은 이용 종료 72시간 전부터 가능합니다.")
		require.NoError(t, s.SetLanguage("user002", LangEN))
		require.Contains(t, c.get(CartPathDashboard).body, "Welcome, user002.")

		require.ErrorIs(t, s.SetLanguage("user002", "fr"), ErrUnknownLanguage)
		require.ErrorIs(t, s.SetLanguage("nobody", LangKO), ErrUnknownAccount)
	})
}
