package api

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"reserver/internal/booking"
	"reserver/internal/tenant"
)

// The operator web page (/ui/) is server-rendered and works without
// JavaScript. An operator signs in with an operator API token once; the
// page then keeps a session in a cookie that is
//
//   - HttpOnly and SameSite=Strict (Secure behind TLS), scoped to /ui/;
//   - signed with HMAC-SHA256 under a key derived from RESERVER_SECRET_KEY
//     (Options.SessionKey), so it cannot be forged or altered;
//   - naming a session the server keeps (tenant.Store.OpenSession): the
//     cookie carries a random session id, never the token, and every
//     request checks the session and its token's current state, so a
//     logout, a revoked or an expired token end it at once, and a copied
//     cookie is worthless after logout;
//   - carrying a random CSRF secret that every state-changing form repeats
//     (synchronizer token). The login form itself uses a double-submit
//     cookie, so a third-party page cannot sign a victim in.
//
// Failed sign-ins are throttled per client address and per token prefix
// (tenant.Throttle); sign-ins, sign-outs and cancels are written to the
// audit trail (reserver audit).

//go:embed ui
var uiFiles embed.FS

const (
	sessionCookie = "reserver_ui"
	loginCookie   = "reserver_login"
	uiPath        = "/ui/"
	// sessionTTL bounds a session; an operator signs in again after it.
	sessionTTL = 12 * time.Hour
	// timelineMax bounds the attempts a timeline draws.
	timelineMax = 3000
)

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

type ui struct {
	key      []byte
	pages    map[string]*template.Template
	css      []byte
	throttle *tenant.Throttle
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

var uiFuncs = template.FuncMap{
	"color": classColor,
	"classes": func(m map[string]int) []string {
		return sortedClasses(m)
	},
	// offset is an attempt's send time from the opening, on the site's
	// clock as the booking's attempts estimate it (booking.SiteClockOf).
	"offset": func(a booking.Attempt, b *booking.Booking, clk booking.SiteClock) string {
		return offsetText(clk.SinceOpening(a.SentAt, b.OpensAt))
	},
	"ms": func(us int64) string { return fmt.Sprintf("%.1f", float64(us)/1000) },
	"when": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"instant": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") },
	"add":     func(a, b float64) float64 { return a + b },
	"sub":     func(a, b float64) float64 { return a - b },
	"lastAttempt": func(as []booking.Attempt) *booking.Attempt {
		if len(as) == 0 {
			return nil
		}
		return &as[len(as)-1]
	},
	"username": func(b *booking.Booking) string {
		if b.Account == nil {
			return ""
		}
		return b.Account.Username
	},
}

func (s *Server) registerUI() error {
	key := s.o.SessionKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
	}
	u := &ui{key: key, pages: map[string]*template.Template{}, throttle: tenant.NewThrottle(tenant.ThrottleConfig{})}
	for _, name := range []string{"login", "failures", "booking"} {
		t, err := template.New("layout.html").Funcs(uiFuncs).ParseFS(uiFiles, "ui/layout.html", "ui/"+name+".html")
		if err != nil {
			return fmt.Errorf("api: ui template %s: %w", name, err)
		}
		u.pages[name] = t
	}
	css, err := uiFiles.ReadFile("ui/style.css")
	if err != nil {
		return err
	}
	u.css = css
	s.ui = u

	s.mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/failures", http.StatusSeeOther)
	})
	s.mux.HandleFunc("GET /ui/style.css", s.uiCSS)
	s.mux.HandleFunc("GET /ui/login", s.uiLoginForm)
	s.mux.HandleFunc("POST /ui/login", s.uiLogin)
	s.mux.HandleFunc("POST /ui/logout", s.uiSession(s.uiLogout))
	s.mux.HandleFunc("GET /ui/failures", s.uiSession(s.uiFailures))
	s.mux.HandleFunc("GET /ui/bookings/{id}", s.uiSession(s.uiBooking))
	s.mux.HandleFunc("POST /ui/bookings/{id}/cancel", s.uiSession(s.uiCancel))
	return nil
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
			s.uiFail(w, http.StatusForbidden, "Your session has ended. Sign in again.")
			return
		}
		if r.Method != http.MethodGet {
			if err := r.ParseForm(); err != nil || !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(sess.CSRF)) {
				s.o.Logger.Warn("ui: rejected a form without a valid CSRF token")
				s.uiFail(w, http.StatusForbidden, errBadCSRF.Error()+"; reload the page and try again.")
				return
			}
		}
		next(w, r, sess)
	}
}

// uiHeaders forbid framing, scripts, caching and referrers: the pages show
// other people's bookings.
func uiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

type pageData struct {
	Title string
	CSRF  string // empty on the login page: no logout form
	Who   string
	Error string
	Body  any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, d pageData) {
	var buf bytes.Buffer
	if err := s.ui.pages[page].Execute(&buf, d); err != nil {
		s.uiError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (s *Server) uiError(w http.ResponseWriter, r *http.Request, err error) {
	s.o.Logger.Sugar().Errorw("ui request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	s.uiFail(w, http.StatusInternalServerError, "The server failed; the error is logged.")
}

func (s *Server) uiFail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, msg)
}

func (s *Server) uiCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(s.ui.css)
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
		s.uiFail(w, http.StatusBadRequest, "the form could not be read")
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

type failuresBody struct {
	Since, Site, Reason string
	Items               []booking.Failure
	Next                string
}

func (s *Server) uiFailures(w http.ResponseWriter, r *http.Request, sess session) {
	q := r.URL.Query()
	if !q.Has("since") {
		q.Set("since", "7d")
	}
	f, probs := failureQuery(q, s.o.Now())
	d := pageData{Title: "Failures", CSRF: sess.CSRF, Who: sess.Tenant}
	body := failuresBody{Since: q.Get("since"), Site: q.Get("site"), Reason: q.Get("reason")}
	if len(probs) > 0 {
		var msgs []string
		for _, p := range probs {
			msgs = append(msgs, p.Field+": "+p.Detail)
		}
		d.Error = strings.Join(msgs, "; ")
		d.Body = body
		s.render(w, r, http.StatusBadRequest, "failures", d)
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	items, err := s.o.Bookings.Failures(r.Context(), f)
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	body.Items = items
	if len(items) == f.Limit {
		nq := url.Values{"since": {body.Since}, "site": {body.Site}, "reason": {body.Reason}, "cursor": {strconv.FormatInt(items[len(items)-1].Booking.ID, 10)}}
		body.Next = "/ui/failures?" + nq.Encode()
	}
	d.Body = body
	s.render(w, r, http.StatusOK, "failures", d)
}

type bookingBody struct {
	B        *booking.Booking
	Attempts []booking.Attempt
	Classes  map[string]int
	Timeline timeline
	// Clock puts the attempts' local send times on the site's clock.
	Clock   booking.SiteClock
	Clipped bool
	CSRF    string
	// Notice says what became of a cancel just made from this page.
	Notice string
}

func (s *Server) uiBooking(w http.ResponseWriter, r *http.Request, sess session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.uiFail(w, http.StatusNotFound, "no booking with this id")
		return
	}
	b, err := s.o.Bookings.Get(r.Context(), booking.Scope{All: true}, id)
	if errors.Is(err, booking.ErrNotFound) {
		s.uiFail(w, http.StatusNotFound, "no booking with this id")
		return
	}
	if err != nil {
		s.uiError(w, r, err)
		return
	}
	var all []booking.Attempt
	var after int64
	for len(all) < timelineMax {
		page, err := s.o.Bookings.Attempts(r.Context(), id, after, 1000)
		if err != nil {
			s.uiError(w, r, err)
			return
		}
		all = append(all, page...)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	body := bookingBody{B: b, Attempts: all, Classes: map[string]int{}, Clipped: len(all) >= timelineMax, CSRF: sess.CSRF,
		Notice: cancelNotice(r.URL.Query().Get("cancel"), b)}
	for _, a := range all {
		body.Classes[a.Class]++
	}
	body.Timeline = buildTimeline(b, all)
	body.Clock = booking.SiteClockFor(b, all)
	s.render(w, r, http.StatusOK, "booking", pageData{Title: fmt.Sprintf("Booking %d", id), CSRF: sess.CSRF, Who: sess.Tenant, Body: body})
}

// uiCancel cancels like DELETE /v1/bookings/{id} and sends the operator
// back to the booking's page with what became of it (the cancel query
// parameter, shown by cancelNotice).
func (s *Server) uiCancel(w http.ResponseWriter, r *http.Request, sess session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.uiFail(w, http.StatusNotFound, "no booking with this id")
		return
	}
	b, err := s.o.Bookings.CancelAndWait(r.Context(), booking.Scope{All: true}, id, booking.ReasonOperator, s.o.CancelWait)
	outcome := ""
	switch {
	case errors.Is(err, booking.ErrNotFound):
		s.uiFail(w, http.StatusNotFound, "no booking with this id")
		return
	case err != nil && r.Context().Err() != nil:
		return // the operator left; the request stands
	case err != nil && !errors.Is(err, booking.ErrTerminal):
		s.uiError(w, r, err)
		return
	case b.State == booking.Succeeded:
		outcome = "booked"
	case errors.Is(err, booking.ErrTerminal):
		outcome = "finished" // finished before the cancel: the page shows how
	case b.State == booking.Cancelled:
		outcome = "cancelled"
		s.o.Logger.Sugar().Infow("ui: booking cancelled by an operator", "booking", id, "operator", sess.Tenant)
	default:
		outcome = "requested"
		s.o.Logger.Sugar().Infow("ui: cancel requested by an operator", "booking", id, "operator", sess.Tenant, "instance", b.ClaimedBy)
	}
	s.audit(r, tenant.AuditEntry{Actor: sess.who.Actor(sess.remote), Action: tenant.ActionCancel, BookingID: &id, Detail: outcome})
	http.Redirect(w, r, "/ui/bookings/"+strconv.FormatInt(id, 10)+"?cancel="+outcome, http.StatusSeeOther)
}

// cancelNotice is the message the booking page shows after a cancel, from
// the outcome uiCancel put in the address and the booking as it is now.
func cancelNotice(outcome string, b *booking.Booking) string {
	switch outcome {
	case "cancelled":
		return fmt.Sprintf("Booking %d cancelled.", b.ID)
	case "booked":
		return fmt.Sprintf("Too late to cancel: the site had already booked it (reservation %s). Cancel it on the site if it is not wanted.", b.ReservationNo)
	case "requested":
		if b.State.Terminal() {
			return fmt.Sprintf("Cancel requested; the booking has since ended %s.", b.State)
		}
		return fmt.Sprintf("Cancel requested: instance %s is still running this booking (%s) and stops before its next request. Reload this page for the final state.", b.ClaimedBy, b.State)
	case "finished":
		return fmt.Sprintf("Nothing to cancel: the booking had already ended %s.", b.State)
	}
	return ""
}
