package sitesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Cookie and header names of the cart flavour.
const (
	CartSessionCookie = "SID"
	CartXSRFCookie    = "XSRF-TOKEN"
	CartXSRFHeader    = "X-XSRF-TOKEN"
)

// loginTokens binds the login form's _token to the SID it was issued to:
// a pre-login visit is required, and only the latest form's token counts.
// A SID here is either a pre-session (no account yet) or a logged-in
// session that opened the login page again. Entries idle for longer than
// the session idle expiry are dropped.
type loginTokens struct {
	idle time.Duration

	mu        sync.Mutex
	m         map[string]loginToken
	sweptSize int // size after the last sweep; the next one waits for twice that
}

type loginToken struct {
	token string
	seen  time.Time
}

func newLoginTokens(idle time.Duration) *loginTokens {
	return &loginTokens{idle: idle, m: make(map[string]loginToken), sweptSize: 1024}
}

// issue binds a fresh token to sid.
func (lt *loginTokens) issue(sid string, now time.Time) string {
	tok := randomHex(20)
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.m[sid] = loginToken{token: tok, seen: now}
	if len(lt.m) > 2*lt.sweptSize {
		for id, e := range lt.m {
			if lt.expired(e, now) {
				delete(lt.m, id)
			}
		}
		lt.sweptSize = max(len(lt.m), 1024)
	}
	return tok
}

// known reports whether sid has a live entry.
func (lt *loginTokens) known(sid string, now time.Time) bool {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	e, ok := lt.m[sid]
	return ok && !lt.expired(e, now)
}

// valid reports whether token is the one bound to sid.
func (lt *loginTokens) valid(sid, token string, now time.Time) bool {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	e, ok := lt.m[sid]
	if !ok || lt.expired(e, now) || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(e.token), []byte(token)) == 1
}

func (lt *loginTokens) drop(sid string) {
	lt.mu.Lock()
	delete(lt.m, sid)
	lt.mu.Unlock()
}

func (lt *loginTokens) expired(e loginToken, now time.Time) bool {
	return lt.idle > 0 && now.Sub(e.seen) > lt.idle
}

// xsrfToken is the session's XSRF token: an HMAC of the SID under a key of
// the site's, so it lives and dies with the session and needs no storage.
func (s *Site) xsrfToken(sid string) string {
	mac := hmac.New(sha256.New, s.xsrfKey)
	mac.Write([]byte(sid))
	return hex.EncodeToString(mac.Sum(nil))[:32]
}

func (s *Site) xsrfOK(sid, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(s.xsrfToken(sid)), []byte(got)) == 1
}

// sid returns the request's SID cookie, or "".
func (q *cartRequest) sid() string {
	c, err := q.Cookie(CartSessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// cartSession returns the request's logged-in session, or nil.
func (s *Site) cartSession(q *cartRequest) *session {
	return s.sessions.get(q.sid(), q.now)
}

// loginPage renders the login form with a fresh _token bound to the
// request's SID; a client without a live SID gets a new pre-session.
func (s *Site) loginPage(q *cartRequest, lang, msg string) cartResponse {
	sid := q.sid()
	var cookie *http.Cookie
	if sid == "" || (!s.logins.known(sid, q.now) && s.sessions.get(sid, q.now) == nil) {
		sid = strings.ToUpper(randomHex(16))
		cookie = &http.Cookie{Name: CartSessionCookie, Value: sid, Path: "/", HttpOnly: true}
	}
	resp := cartHTML(http.StatusOK, "login", cartPageData{Lang: lang, Title: "Log in", Message: msg, Token: s.logins.issue(sid, q.now)})
	if cookie != nil {
		resp.cookies = append(resp.cookies, cookie)
	}
	return resp
}

// cartLogin answers POST /login. Checked in order: the _token bound to the SID
// (else 419), the submit button's field (else the form again), the
// credentials (else the form with the message in the account's language).
func (s *Site) cartLogin(q *cartRequest) cartResponse {
	form := q.form()
	sid := q.sid()
	if sid == "" || !s.logins.valid(sid, form.Get("_token"), q.now) {
		return cartStatusPage(419, txtPageExpired)
	}
	if _, ok := form["login"]; !ok {
		return s.loginPage(q, LangEN, "")
	}
	user, pw := form.Get("username"), form.Get("password")
	okPw := subtle.ConstantTimeCompare([]byte(pw), []byte(s.opts.Password)) == 1
	if !s.names.valid(user) {
		return s.loginPage(q, LangEN, txtLoginFailed.en)
	}
	if !okPw {
		lang := s.langs.of(user)
		return s.loginPage(q, lang, txtLoginFailed.in(lang))
	}
	// Session fixation protection: the SID that logged in is spent, and a
	// logged-in session it may have named ends too.
	s.logins.drop(sid)
	if old := s.sessions.get(sid, q.now); old != nil {
		s.sessions.logout(old)
	}
	sess := s.sessions.login(user, q.now)
	resp := cartRedirect(CartPathDashboard)
	resp.cookies = []*http.Cookie{
		{Name: CartSessionCookie, Value: sess.id, Path: "/", HttpOnly: true},
		{Name: CartXSRFCookie, Value: s.xsrfToken(sess.id), Path: "/"},
	}
	return resp
}

// dashboard greets the logged-in account in its language.
func (s *Site) dashboard(q *cartRequest) cartResponse {
	sess := s.cartSession(q)
	if sess == nil {
		return cartRedirect(CartPathLogin)
	}
	lang := s.langs.of(sess.account)
	title := text{"Dashboard", "대시보드"}.in(lang)
	return cartHTML(http.StatusOK, "dashboard", cartPageData{Lang: lang, Title: title, Message: txtWelcome.format(lang, sess.account)})
}
