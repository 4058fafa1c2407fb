package sitesim

import (
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Public paths of the cart flavour. A confirm goes to
// /checkout/{checkout id}/confirm.
const (
	CartPathLogin        = "/login"
	CartPathDashboard    = "/dashboard"
	CartPathResources    = "/api/resources"
	CartPathItems        = "/api/cart/items"
	CartPathCheckout     = "/api/checkout"
	CartPathReservations = "/api/reservations"
)

// cartRequest is one request with its body read and the instant it is
// handled at on the sim clock.
type cartRequest struct {
	*http.Request
	body    []byte
	bodyErr error // too large or cut off
	now     time.Time
	ip      string
}

// form parses a form body; a malformed one yields what parsed, one cut off
// nothing.
func (q *cartRequest) form() url.Values {
	if q.bodyErr != nil {
		return url.Values{}
	}
	v, _ := url.ParseQuery(string(q.body))
	return v
}

// serveCart answers a page or API call of the cart flavour, with the
// latency split as for eGov (see servePublic).
func (s *Site) serveCart(w http.ResponseWriter, r *http.Request) {
	lat := s.faults.latency()
	if !s.pause(r.Context(), lat/2) {
		return
	}
	q := &cartRequest{Request: r, ip: clientIP(r)}
	if r.Body != nil {
		q.body, q.bodyErr = io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	}
	q.now = s.Now() // the instant the handler has the whole request
	resp := s.routeCart(q)
	if !s.pause(r.Context(), lat-lat/2) {
		return
	}
	s.writeCart(w, resp, q.now)
}

// confirmPath returns the checkout id of /checkout/{id}/confirm.
func confirmPath(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/checkout/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/confirm")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

func isAPI(path string) bool { return path == "/api" || strings.HasPrefix(path, "/api/") }

// routeCart applies the IP block to everything, faults to the two write
// routes as eGov applies them to apply.do (and 5xx to the rest with
// FailPages), then dispatches.
func (s *Site) routeCart(q *cartRequest) cartResponse {
	path := q.URL.Path
	api := isAPI(path)
	addItem := q.Method == http.MethodPost && path == CartPathItems
	confirmID, confirm := confirmPath(path)
	confirm = confirm && q.Method == http.MethodPost
	if wait := s.blocker.admit(q.ip, q.now); wait > 0 {
		switch {
		case addItem:
			s.recordBlockedItem(q)
		case confirm:
			s.cart.recordConfirm(Confirm{Checkout: confirmID, At: q.now, IP: q.ip, Result: ResultBlocked})
		}
		return cartBlocked(api, wait)
	}
	switch {
	case addItem:
		return s.addItem(q)
	case confirm:
		return s.confirm(q, confirmID)
	}
	if f := s.faults.decide(false); f != faultNone {
		return cartFault(api, f)
	}
	switch {
	case path == "/":
		return cartRedirect(CartPathLogin)
	case path == CartPathLogin && q.Method == http.MethodPost:
		return s.cartLogin(q)
	case path == CartPathLogin:
		return s.loginPage(q, LangEN, "")
	case path == CartPathDashboard:
		return s.dashboard(q)
	case path == CartPathBook && q.Method == http.MethodGet:
		return s.bookPage(q)
	case path == CartPathMyReservations && q.Method == http.MethodGet:
		return s.myReservationsPage(q)
	case api:
		return s.api(q)
	case path == "/checkout" || strings.HasPrefix(path, "/checkout/"):
		return s.confirmPage(q) // the generic page but for a checkout's confirm form
	}
	return cartStatusPage(http.StatusNotFound, txtNotFound)
}

// api answers every /api route but the cart items one: a session (else
// 401), the XSRF header on unsafe methods (else 403), then the route
// (else the generic error page).
func (s *Site) api(q *cartRequest) cartResponse {
	sess, fail, resp := s.apiAuth(q)
	if fail != "" {
		return resp
	}
	switch {
	case q.Method == http.MethodGet && q.URL.Path == CartPathResources:
		return s.resources()
	case q.Method == http.MethodPost && q.URL.Path == CartPathCheckout:
		return s.checkout(q, sess)
	case q.Method == http.MethodGet && q.URL.Path == CartPathReservations:
		return s.reservations(q, sess)
	}
	return oops()
}

// apiAuth checks the session and, for unsafe methods, the X-XSRF-TOKEN
// header. fail is ResultNoSession or ResultBadPath with the answer to give,
// or empty when the request may proceed.
func (s *Site) apiAuth(q *cartRequest) (*session, Result, cartResponse) {
	sess := s.cartSession(q)
	fail, resp := s.authorize(q, sess)
	return sess, fail, resp
}

// authorize is apiAuth for a session already looked up.
func (s *Site) authorize(q *cartRequest, sess *session) (Result, cartResponse) {
	if sess == nil {
		return ResultNoSession, cartAPIError(http.StatusUnauthorized, codeUnauthenticated, txtUnauth)
	}
	switch q.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return "", cartResponse{}
	}
	if !s.xsrfOK(sess.id, q.Header.Get(CartXSRFHeader)) {
		return ResultBadPath, cartAPIError(http.StatusForbidden, codeCSRF, txtCSRF)
	}
	return "", cartResponse{}
}

func cartBlocked(api bool, wait time.Duration) cartResponse {
	resp := cartStatusPage(http.StatusTooManyRequests, txtRateLimited)
	if api {
		resp = cartAPIError(http.StatusTooManyRequests, codeRateLimited, txtRateLimited)
	}
	resp.retryAfter = wait
	return resp
}

// cartFault is an injected 500 or 503: JSON under /api, a page elsewhere.
func cartFault(api bool, f fault) cartResponse {
	status, code, msg := http.StatusInternalServerError, codeServerError, txtServerError
	if f == fault503 {
		status, code, msg = http.StatusServiceUnavailable, codeUnavailable, txtUnavailable
	}
	if api {
		return cartAPIError(status, code, msg)
	}
	return cartStatusPage(status, msg)
}

// writeCart sends resp with the Date header of the instant it was decided.
func (s *Site) writeCart(w http.ResponseWriter, resp cartResponse, now time.Time) {
	h := w.Header()
	h.Set("Date", httpDate(now))
	if resp.reset {
		resetConn(w)
		return
	}
	for _, c := range resp.cookies {
		http.SetCookie(w, c)
	}
	if resp.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(resp.retryAfter.Seconds()))))
	}
	h.Set("Cache-Control", "no-cache, no-store")
	if resp.location != "" {
		h.Set("Location", resp.location)
		w.WriteHeader(resp.status)
		return
	}
	h.Set("Content-Type", resp.contentType)
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}
