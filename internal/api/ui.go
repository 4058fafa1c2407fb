package api

import (
	"bytes"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"reserver/internal/tenant"
)

// The operator web page (/ui/) is server-rendered and works without
// JavaScript, under a strict Content-Security-Policy (no inline script or
// style). An operator signs in with an operator API token once; the page
// then keeps a session in a cookie that is
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
//
// The files: ui_session.go (cookie, sign-in, guard), ui_bookings.go (the
// bookings list), ui_failures.go, ui_booking.go (one booking, its attempts
// and cancel), timeline.go (its SVG), ui_dashboard.go (the line at the top
// of every page), ui_format.go (times in the site's zone for templates).
// docs/operator-page.md says what an operator sees.

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

// uiPages are the templates, each parsed with layout.html.
var uiPages = []string{"login", "failures", "booking", "bookings", "error"}

type ui struct {
	key      []byte
	pages    map[string]*template.Template
	css      []byte
	throttle *tenant.Throttle
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
	funcs := s.uiFuncs()
	for _, name := range uiPages {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(uiFiles, "ui/layout.html", "ui/"+name+".html")
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
		http.Redirect(w, r, "/ui/bookings", http.StatusSeeOther)
	})
	s.mux.HandleFunc("GET /ui/style.css", s.uiCSS)
	s.mux.HandleFunc("GET /ui/login", s.uiLoginForm)
	s.mux.HandleFunc("POST /ui/login", s.uiLogin)
	s.mux.HandleFunc("POST /ui/logout", s.uiSession(s.uiLogout))
	s.mux.HandleFunc("GET /ui/failures", s.uiSession(s.uiFailures))
	s.mux.HandleFunc("GET /ui/bookings", s.uiSession(s.uiBookings))
	s.mux.HandleFunc("GET /ui/bookings/{id}", s.uiSession(s.uiBooking))
	s.mux.HandleFunc("POST /ui/bookings/{id}/cancel", s.uiSession(s.uiCancel))
	// Anything else under /ui/ is the page's own 404, not the API's JSON.
	s.mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		uiHeaders(w)
		s.uiFail(w, r, nil, http.StatusNotFound, "There is no such page. The bookings list is at /ui/bookings.")
	})
	return nil
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
	// Nav is the page's place in the header ("bookings", "failures").
	Nav string
	// Refresh, when positive, reloads the page every so many seconds
	// (<meta http-equiv=refresh>: no script, so the CSP allows it).
	Refresh int
	// Dash is the dashboard line, on every signed-in page.
	Dash *dashView
	Body any
}

// render writes page with the layout; a signed-in page (d.CSRF set) gets
// the dashboard line.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, d pageData) {
	if d.CSRF != "" && d.Dash == nil {
		d.Dash = s.dashboard(r)
	}
	var buf bytes.Buffer
	if err := s.ui.pages[page].Execute(&buf, d); err != nil {
		s.o.Logger.Sugar().Errorw("ui page failed to render", "page", page, "error", err)
		s.uiFail(w, r, nil, http.StatusInternalServerError, "The server failed; the error is logged.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (s *Server) uiError(w http.ResponseWriter, r *http.Request, err error) {
	s.o.Logger.Sugar().Errorw("ui request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	s.uiFail(w, r, nil, http.StatusInternalServerError, "The server failed; the error is logged.")
}

// errorBody is the error page's content.
type errorBody struct {
	Status int
	Text   string
}

// uiFail answers with status and msg: inside the page's layout for a
// browser (sess, when known, adds the navigation and the dashboard), as
// plain text for a client that does not ask for HTML.
func (s *Server) uiFail(w http.ResponseWriter, r *http.Request, sess *session, status int, msg string) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprintln(w, msg)
		return
	}
	d := pageData{Title: http.StatusText(status), Body: errorBody{Status: status, Text: msg}}
	if sess != nil {
		d.CSRF, d.Who = sess.CSRF, sess.Tenant
	}
	var buf bytes.Buffer
	if d.CSRF != "" {
		d.Dash = s.dashboard(r)
	}
	if err := s.ui.pages["error"].Execute(&buf, d); err != nil {
		s.o.Logger.Sugar().Errorw("ui error page failed to render", "error", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprintln(w, msg)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (s *Server) uiCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(s.ui.css)
}
