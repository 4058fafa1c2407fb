package api

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"reserver/internal/tenant"
)

// This file holds the operator page's sessions: the signed cookie, the
// sign-in form and its throttle, sign-out, and the guard every page
// passes (see ui.go for what the cookie carries and why).

var (
	// errNoSession is returned for a missing, forged, expired or revoked
	// session cookie.
	errNoSession = errors.New("no valid session")
	// errBadCSRF is returned when a form's CSRF token does not match.
	errBadCSRF = errors.New("the form's CSRF token does not match the session")
)

// UISessionKey derives the key that signs operator sessions from the
// secret key that seals site passwords (RESERVER_SECRET_KEY), with HKDF, so
// that every API instance accepts every other's cookies and the password
// key itself is never used for anything else.
func UISessionKey(secretKey []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, secretKey, nil, "reserver ui session v1", 32)
}

// session is what the cookie carries, signed, and who holds it.
type session struct {
	// ID names the server's session record.
	ID     string `json:"s"`
	Tenant string `json:"n"`
	CSRF   string `json:"c"`
	// who is the holder as the server's record says, filled on every
	// request; it is never in the cookie.
	who tenant.Principal
	// remote is the client's address.
	remote string
}

// sign returns payload.mac, both base64url.
func (u *ui) sign(payload []byte) string {
	m := hmac.New(sha256.New, u.key)
	m.Write(payload)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verify returns the payload of a value made by sign, if the MAC matches.
func (u *ui) verify(v string) ([]byte, bool) {
	p64, m64, ok := strings.Cut(v, ".")
	if !ok {
		return nil, false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	m := hmac.New(sha256.New, u.key)
	m.Write(payload)
	return payload, hmac.Equal(mac, m.Sum(nil))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// clientAddr is the address a request came from: the peer's IP, not a
// forwarded-for header, which any client can write.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: uiPath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	})
}

// session reads and checks the session cookie against the server's
// record, and the record's token against its current state: a session
// logged out, or whose token was revoked or has expired, or whose token is
// no operator token, is errNoSession.
func (s *Server) session(r *http.Request) (session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, errNoSession
	}
	payload, ok := s.ui.verify(c.Value)
	if !ok {
		return session{}, errNoSession
	}
	var sess session
	if err := json.Unmarshal(payload, &sess); err != nil || sess.CSRF == "" || sess.ID == "" {
		return session{}, errNoSession
	}
	p, err := s.o.Tenants.Session(r.Context(), sess.ID)
	switch {
	case errors.Is(err, tenant.ErrNoSession), errors.Is(err, tenant.ErrUnauthenticated):
		return session{}, errNoSession
	case err != nil:
		return session{}, err
	case !p.IsOperator():
		return session{}, errNoSession
	}
	sess.who, sess.Tenant, sess.remote = p, p.TenantName, clientAddr(r)
	return sess, nil
}

// audit records an operator's action. A failure to record is logged, not
// shown: the action itself has happened.
func (s *Server) audit(r *http.Request, e tenant.AuditEntry) {
	if err := s.o.Tenants.Audit(r.Context(), e); err != nil {
		s.o.Logger.Sugar().Errorw("ui: audit entry not written", "action", e.Action, "error", err)
	}
}

type sessionHandler func(http.ResponseWriter, *http.Request, session)

// uiSession guards a page: without a valid session a GET is sent to the
// login form and anything else gets 403; a POST must carry the session's
// CSRF token.
func (s *Server) uiSession(next sessionHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		sess, err := s.session(r)
		if err != nil && !errors.Is(err, errNoSession) {
			s.uiError(w, r, err)
			return
		}
		if err != nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.uiFail(w, r, nil, http.StatusForbidden, "Your session has ended. Sign in again.")
			return
		}
		if r.Method != http.MethodGet {
			if err := r.ParseForm(); err != nil || !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(sess.CSRF)) {
				s.o.Logger.Warn("ui: rejected a form without a valid CSRF token")
				s.uiFail(w, r, &sess, http.StatusForbidden, errBadCSRF.Error()+"; reload the page and try again.")
				return
			}
		}
		next(w, r, sess)
	}
}

type loginBody struct {
	Login string // the double-submit value
	Next  string
}

// safeNext keeps a post-login redirect on this page's own paths.
func safeNext(next string) string {
	if strings.HasPrefix(next, uiPath) && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/ui/failures"
}

func (s *Server) uiLoginForm(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	s.loginPage(w, r, http.StatusOK, "", r.URL.Query().Get("next"))
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, status int, msg, next string) {
	v := randomHex(16)
	setCookie(w, r, loginCookie, v, 600)
	s.render(w, r, status, "login", pageData{Title: "Sign in", Error: msg, Body: loginBody{Login: v, Next: safeNext(next)}})
}

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) {
	uiHeaders(w)
	if err := r.ParseForm(); err != nil {
		s.uiFail(w, r, nil, http.StatusBadRequest, "the form could not be read")
		return
	}
	next := r.PostForm.Get("next")
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || !hmac.Equal([]byte(c.Value), []byte(r.PostForm.Get("login"))) {
		s.loginPage(w, r, http.StatusForbidden, "The sign-in form expired. Try again.", next)
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	addr, prefix := clientAddr(r), tenant.TokenPrefixOf(token)
	succeeded, wait := s.ui.throttle.Begin(addr, prefix, s.o.Now())
	if wait > 0 {
		secs := int(wait / time.Second)
		s.o.Logger.Sugar().Warnw("ui: sign-in throttled", "address", addr, "token_prefix", prefix)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.loginPage(w, r, http.StatusTooManyRequests,
			fmt.Sprintf("Too many failed sign-ins from this address or with this token. Wait %d seconds, then try again.", secs), next)
		return
	}
	refuse := func(status int, msg, why string) {
		s.o.Logger.Sugar().Infow("ui: sign-in refused", "why", why, "token_prefix", prefix)
		s.audit(r, tenant.AuditEntry{Actor: tenant.Actor{Prefix: prefix, Remote: addr}, Action: tenant.ActionLoginRefused, Detail: why})
		s.loginPage(w, r, status, msg, next)
	}
	p, err := s.o.Tenants.Authenticate(r.Context(), token)
	switch {
	case errors.Is(err, tenant.ErrRevoked):
		refuse(http.StatusUnauthorized, "This token was revoked.", "revoked")
		return
	case errors.Is(err, tenant.ErrExpired):
		refuse(http.StatusUnauthorized, "This token has expired.", "expired")
		return
	case errors.Is(err, tenant.ErrUnauthenticated):
		refuse(http.StatusUnauthorized, "This token is unknown or revoked.", "unknown token")
		return
	case err != nil:
		s.uiError(w, r, err)
		return
	case !p.IsOperator():
		refuse(http.StatusForbidden, "This page is for operators; this token is not an operator token.", "not an operator token")
		return
	}
	succeeded()
	id, err := s.o.Tenants.OpenSession(r.Context(), p, addr, sessionTTL)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	payload, err := json.Marshal(session{ID: id, Tenant: p.TenantName, CSRF: randomHex(16)})
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	s.audit(r, tenant.AuditEntry{Actor: p.Actor(addr), Action: tenant.ActionLogin})
	setCookie(w, r, sessionCookie, s.ui.sign(payload), int(sessionTTL/time.Second))
	setCookie(w, r, loginCookie, "", -1)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// uiLogout deletes the server's session record, so the cookie — and any
// copy of it — no longer signs anyone in.
func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request, sess session) {
	if err := s.o.Tenants.CloseSession(r.Context(), sess.ID); err != nil {
		s.uiError(w, r, err)
		return
	}
	s.audit(r, tenant.AuditEntry{Actor: sess.who.Actor(sess.remote), Action: tenant.ActionLogout})
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}
