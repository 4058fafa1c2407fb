// Package api is the REST API of reserver (cmd/api): it authenticates
// callers, validates and stores bookings, and shows them and their attempt
// logs. It never talks to a booking site, so an overloaded API can never
// disturb a running booking window.
package api

import (
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/metrics"
	"reserver/internal/profile"
	"reserver/internal/series"
	"reserver/internal/tenant"
)

//go:embed openapi.yaml
var openAPI []byte

// Options wires a Server.
type Options struct {
	DB           *database.DB
	Bookings     *booking.Store
	Tenants      *tenant.Store
	Sites        Sites
	Limits       Limits
	MaxBodyBytes int64
	Logger       *zap.Logger
	// Now is the clock used to judge opens_at; default time.Now.
	Now func() time.Time
	// SessionKey signs the operator web page's session cookies (see
	// UISessionKey); empty means a random key, so sessions end with the
	// process.
	SessionKey []byte
	// Metrics is what /metrics exposes; nil means metrics.Registry over
	// Bookings.
	Metrics prometheus.Gatherer
	// CancelWait is how long a cancel of a booking that a daemon instance
	// is running waits for the instance to stop it before answering 202;
	// default CancelWaitDefault.
	CancelWait time.Duration
	// RequestHashKey keys the hash by which a reused Idempotency-Key is
	// told a replay or another request (see RequestHashKey); every API
	// instance of one deployment needs the same. Empty means a random key,
	// so replays are recognised within the process only.
	RequestHashKey []byte
	// Series serves the /v1/series routes (recurring bookings); nil
	// answers them 503.
	Series *series.Store
	// Quotas bound what one tenant and one API token may take.
	Quotas Quotas
}

// Quotas bound what one tenant and one API token may take of a shared
// service; each is answered with a 429 problem and Retry-After. A zero
// field sets no bound (the configuration always sets them: limits.*).
type Quotas struct {
	// MaxActivePerTenant bounds a tenant's queued, armed and running
	// bookings (limits.max_active_bookings_per_tenant).
	MaxActivePerTenant int
	// RequestsPerSecond and Burst bound the requests of one API token, a
	// token bucket per token (limits.api_requests_per_second and
	// limits.api_requests_burst; a zero Burst is one second's worth).
	RequestsPerSecond float64
	Burst             int
}

// CancelWaitDefault is how long DELETE /v1/bookings/{id} and the operator
// page's cancel wait for the running instance by default: it stops before
// its next request, so a few seconds cover a slow database.
const CancelWaitDefault = 5 * time.Second

// Server serves the REST API.
type Server struct {
	o       Options
	mux     *http.ServeMux
	ui      *ui
	hashKey []byte
	limiter *tokenLimiter // nil: no request rate bound
}

type route struct {
	method, path string
	public       bool
	handle       func(*Server, http.ResponseWriter, *http.Request)
}

// routes is the whole API surface; openapi.yaml documents exactly these
// (TestOpenAPIMatchesRoutes).
var routes = []route{
	{"GET", "/healthz", true, (*Server).healthz},
	{"GET", "/readyz", true, (*Server).readyz},
	{"GET", "/openapi.yaml", true, (*Server).openapi},
	{"POST", "/v1/bookings", false, (*Server).createBooking},
	{"GET", "/v1/bookings", false, (*Server).listBookings},
	{"GET", "/v1/bookings/{id}", false, (*Server).getBooking},
	{"PATCH", "/v1/bookings/{id}", false, (*Server).patchBooking},
	{"DELETE", "/v1/bookings/{id}", false, (*Server).deleteBooking},
	{"GET", "/v1/bookings/{id}/attempts", false, (*Server).listAttempts},
	{"GET", "/v1/failures", false, (*Server).listFailures},
	{"POST", "/v1/series", false, (*Server).createSeries},
	{"GET", "/v1/series", false, (*Server).listSeries},
	{"GET", "/v1/series/{id}", false, (*Server).getSeries},
	{"DELETE", "/v1/series/{id}", false, (*Server).endSeries},
	{"POST", "/v1/series/{id}/pause", false, (*Server).pauseSeries},
	{"POST", "/v1/series/{id}/resume", false, (*Server).resumeSeries},
	{"GET", "/metrics", false, (*Server).metrics},
}

// New checks the options and builds the routes.
func New(o Options) (*Server, error) {
	if o.DB == nil || o.Bookings == nil || o.Tenants == nil || o.Sites == nil {
		return nil, errors.New("api: DB, Bookings, Tenants and Sites are required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 10
	}
	if o.CancelWait <= 0 {
		o.CancelWait = CancelWaitDefault
	}
	if o.Metrics == nil {
		o.Metrics = metrics.Registry(o.Bookings)
	}
	s := &Server{o: o, mux: http.NewServeMux(), hashKey: o.RequestHashKey}
	if len(s.hashKey) == 0 {
		s.hashKey = make([]byte, 32)
		if _, err := rand.Read(s.hashKey); err != nil {
			return nil, err
		}
	}
	if q := o.Quotas; q.RequestsPerSecond > 0 {
		s.limiter = newTokenLimiter(q.RequestsPerSecond, cmp.Or(q.Burst, int(math.Ceil(q.RequestsPerSecond))))
	}
	if err := s.registerUI(); err != nil {
		return nil, err
	}
	for _, r := range routes {
		h := func(w http.ResponseWriter, req *http.Request) { r.handle(s, w, req) }
		if !r.public {
			h = s.authenticated(s.rateLimited(h))
		}
		s.mux.HandleFunc(r.method+" "+r.path, h)
	}
	// A route's path with a method it does not have is a 405 naming the
	// methods it has, not the catch-all's 404.
	for path, allow := range allowedMethods() {
		s.mux.HandleFunc(path, methodNotAllowed(path, allow))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: "no such route; see /openapi.yaml"})
	})
	return s, nil
}

// Handler returns the API with request logging.
func (s *Server) Handler() http.Handler {
	return s.logRequests(s.mux)
}

type ctxKey struct{}

func principal(ctx context.Context) tenant.Principal {
	p, _ := ctx.Value(ctxKey{}).(tenant.Principal)
	return p
}

func (s *Server) authenticated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="reserver"`)
			writeProblem(w, problem{Type: typeUnauthorized, Title: "Unauthorized", Status: http.StatusUnauthorized,
				Detail: "send an API token as 'Authorization: Bearer <token>' (create one with: reserver token create --tenant NAME)"})
			return
		}
		p, err := s.o.Tenants.Authenticate(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, tenant.ErrUnauthenticated) {
			detail := "the token is unknown"
			switch {
			case errors.Is(err, tenant.ErrRevoked):
				detail = "the token was revoked"
			case errors.Is(err, tenant.ErrExpired):
				detail = "the token has expired; create a new one with: reserver token create"
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="reserver", error="invalid_token"`)
			writeProblem(w, problem{Type: typeUnauthorized, Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: detail})
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		if rec, ok := w.(*statusRecorder); ok {
			rec.tenant = p.TenantName
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	}
}

func (s *Server) scope(r *http.Request) booking.Scope {
	p := principal(r.Context())
	return booking.Scope{TenantID: p.TenantID, All: p.IsOperator()}
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.o.Logger.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	writeProblem(w, problem{Type: typeInternal, Title: "Internal error", Status: http.StatusInternalServerError, Detail: "the server failed; the error is logged"})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.o.DB.Ping(ctx); err != nil {
		writeProblem(w, problem{Type: typeUnavailable, Title: "Not ready", Status: http.StatusServiceUnavailable, Detail: "the database does not answer"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "database": string(s.o.DB.Dialect)})
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}

func (s *Server) createBooking(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readJSON(w, r, "booking")
	if !ok {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 {
		badRequest(w, []FieldProblem{{Field: "Idempotency-Key", Detail: "at most 255 characters"}})
		return
	}
	v, probs := decodeBooking(body, s.o.Sites, s.o.Limits, s.o.Now())
	if len(probs) > 0 {
		badRequest(w, append(probs, v.SlotProblems...))
		return
	}
	if len(v.SlotProblems) > 0 {
		writeProblem(w, problem{Type: typeSlot, Title: "The site has no such slot", Status: http.StatusUnprocessableEntity,
			Detail: problemsDetail("the site's profile says it cannot take this booking", v.SlotProblems), Errors: v.SlotProblems})
		return
	}
	p := principal(r.Context())
	var lim profile.AccountLimits
	if site, ok := s.o.Sites.Site(v.Site); ok {
		if al, ok := site.(AccountLimiter); ok {
			lim = al.AccountLimits()
		}
	}
	hash, err := requestHash(s.hashKey, body)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if !s.underQuota(w, r, p.TenantID, key, hash) {
		return
	}
	b, created, err := s.o.Bookings.Create(r.Context(), booking.NewBooking{
		TenantID: p.TenantID, Site: v.Site, Username: v.Username, Password: v.Password,
		Court: v.Court, PlayDate: v.Date, StartTime: v.Start, EndTime: v.End,
		OpensAt: v.OpensAt, WindowSeconds: v.Window, RatePerSecond: v.Rate,
		Phone: v.Phone, BookerName: v.Name, Fields: v.Fields,
		NotifyOn: v.NotifyOn, NotifyLanguage: v.NotifyLanguage,
		Choices: v.Choices, Priority: v.Priority, Limits: lim,
		IdempotencyKey: key, RequestHash: hash,
	})
	var le *booking.LimitError
	switch {
	case errors.As(err, &le):
		writeLimitProblem(w, le)
		return
	case errors.Is(err, booking.ErrDuplicate):
		writeProblem(w, problem{Type: typeConflict, Title: "Duplicate booking", Status: http.StatusConflict, Detail: err.Error()})
		return
	case errors.Is(err, booking.ErrAccountOwned):
		writeProblem(w, accountOwned(v.Username, v.Site))
		return
	case errors.Is(err, booking.ErrIdempotencyMismatch):
		writeIdempotencyMismatch(w, err)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	b.Account = &booking.Account{Username: v.Username}
	s.writeCreated(w, r, b, p, v.Warnings, created)
}

func writeIdempotencyMismatch(w http.ResponseWriter, err error) {
	writeProblem(w, problem{Type: typeConflict, Title: "Idempotency key reused", Status: http.StatusUnprocessableEntity,
		Detail: err.Error() + "; use a new key for a new request"})
}

// writeCreated answers a create: 201 with the booking, marked
// Idempotent-Replayed when it was stored by an earlier request.
func (s *Server) writeCreated(w http.ResponseWriter, r *http.Request, b *booking.Booking, p tenant.Principal, warnings []string, created bool) {
	out := s.view(b, p)
	out.Warnings = warnings
	if err := s.nameTenants(r.Context(), &out); err != nil {
		s.internal(w, r, err)
		return
	}
	if !created {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", bookingPath(b.ID))
	writeJSON(w, http.StatusCreated, out)
}

// quotaRetryAfter is the Retry-After of a create refused by the tenant's
// ceiling. A place frees when one of the tenant's bookings finishes or is
// cancelled, which no clock here foretells: it is a polite pace for a
// client that retries, not a promise.
const quotaRetryAfter = time.Minute

// underQuota answers 429 and reports false when the tenant already holds
// Quotas.MaxActivePerTenant active bookings — unless the request replays
// an Idempotency-Key, which stores nothing: then it answers the replay (or
// 422 for another request under the key) itself. Under the ceiling the
// replay is Create's to find. The count and the insert are not one
// transaction: concurrent creates of one tenant may pass the ceiling by
// their number, which a ceiling against runaway clients allows.
func (s *Server) underQuota(w http.ResponseWriter, r *http.Request, tenantID int64, key, hash string) bool {
	ceiling := s.o.Quotas.MaxActivePerTenant
	if ceiling <= 0 {
		return true
	}
	n, err := s.o.Bookings.CountActive(r.Context(), tenantID)
	if err != nil {
		s.internal(w, r, err)
		return false
	}
	if n < int64(ceiling) {
		return true
	}
	if key != "" {
		prev, err := s.o.Bookings.Replay(r.Context(), tenantID, key, hash)
		switch {
		case errors.Is(err, booking.ErrIdempotencyMismatch):
			writeIdempotencyMismatch(w, err)
			return false
		case err != nil:
			s.internal(w, r, err)
			return false
		case prev != nil:
			got, err := s.o.Bookings.Get(r.Context(), booking.Scope{TenantID: tenantID}, prev.ID)
			if err != nil {
				s.internal(w, r, err)
				return false
			}
			s.writeCreated(w, r, got, principal(r.Context()), nil, false)
			return false
		}
	}
	writeTooMany(w, quotaRetryAfter, problem{Type: typeQuota, Title: "Booking quota reached", Status: http.StatusTooManyRequests,
		Detail: fmt.Sprintf("this tenant has %d active (queued, armed or running) bookings and the ceiling is %d (limits.max_active_bookings_per_tenant): cancel one or wait until one finishes", n, ceiling)})
	return false
}

// writeTooMany answers 429 with Retry-After in whole seconds, at least 1.
func writeTooMany(w http.ResponseWriter, after time.Duration, p problem) {
	w.Header().Set("Retry-After", strconv.FormatInt(max(1, int64(math.Ceil(after.Seconds()))), 10))
	writeProblem(w, p)
}

func (s *Server) listBookings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := booking.ListFilter{Scope: s.scope(r)}
	var probs []FieldProblem
	if st := q.Get("state"); st != "" {
		state, err := booking.ParseState(st)
		if err != nil {
			probs = append(probs, FieldProblem{Field: "state", Detail: err.Error()})
		}
		f.State = state
	}
	f.After, f.Limit, probs = paging(q.Get("cursor"), q.Get("limit"), probs)
	if len(probs) > 0 {
		badRequest(w, probs)
		return
	}
	items, err := s.o.Bookings.List(r.Context(), f)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := listView{Items: make([]bookingView, 0, len(items))}
	p := principal(r.Context())
	for i := range items {
		out.Items = append(out.Items, s.view(&items[i], p))
	}
	named := make([]*bookingView, len(out.Items))
	for i := range out.Items {
		named[i] = &out.Items[i]
	}
	if err := s.nameTenants(r.Context(), named...); err != nil {
		s.internal(w, r, err)
		return
	}
	if len(items) == f.Limit {
		out.NextCursor = strconv.FormatInt(items[len(items)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

func paging(cursor, limit string, probs []FieldProblem) (after int64, n int, _ []FieldProblem) {
	n = 50
	if cursor != "" {
		c, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || c < 0 {
			probs = append(probs, FieldProblem{Field: "cursor", Detail: "expected the next_cursor value of the previous page"})
		}
		after = c
	}
	if limit != "" {
		l, err := strconv.Atoi(limit)
		if err != nil || l < 1 || l > 500 {
			probs = append(probs, FieldProblem{Field: "limit", Detail: "expected an integer from 1 to 500"})
		}
		n = l
	}
	return after, n, probs
}

func (s *Server) bookingFromPath(w http.ResponseWriter, r *http.Request) (*booking.Booking, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeProblem(w, problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: "no booking with this id"})
		return nil, false
	}
	b, err := s.o.Bookings.Get(r.Context(), s.scope(r), id)
	if errors.Is(err, booking.ErrNotFound) {
		writeProblem(w, problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: "no booking with this id"})
		return nil, false
	}
	if err != nil {
		s.internal(w, r, err)
		return nil, false
	}
	return b, true
}

func (s *Server) getBooking(w http.ResponseWriter, r *http.Request) {
	if b, ok := s.bookingFromPath(w, r); ok {
		v := s.view(b, principal(r.Context()))
		if err := s.nameTenants(r.Context(), &v); err != nil {
			s.internal(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// typeBookedBeforeCancel is the problem of a cancel that came too late: a
// submit already on the wire (or earlier) won, and the site holds the
// reservation.
const typeBookedBeforeCancel = "/problems/booked-before-cancel"

// bookingProblem is a problem document that carries the booking it is
// about.
type bookingProblem struct {
	problem
	Booking bookingView `json:"booking"`
}

// cancelBooking cancels at once a booking no instance is running; one
// that an instance is running is asked to stop, and the answer waits up to
// Options.CancelWait for the outcome: 200 cancelled, 409 when the site had
// booked it meanwhile, 202 when the instance has not finished yet.
func (s *Server) cancelBooking(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bookingFromPath(w, r)
	if !ok {
		return
	}
	p := principal(r.Context())
	reason := booking.ReasonUser
	if p.IsOperator() && p.TenantID != b.TenantID {
		reason = booking.ReasonOperator
	}
	got, err := s.o.Bookings.CancelAndWait(r.Context(), s.scope(r), b.ID, reason, s.o.CancelWait)
	if p.IsOperator() && got != nil {
		// An operator's cancel over the API is audited like one from the
		// page, with what became of the booking.
		id := b.ID
		s.audit(r, tenant.AuditEntry{Actor: p.Actor(clientAddr(r)), Action: tenant.ActionCancel, BookingID: &id, Detail: "api: " + string(got.State)})
	}
	switch {
	case errors.Is(err, booking.ErrNotFound):
		writeProblem(w, problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: "no booking with this id"})
		return
	case err != nil && r.Context().Err() != nil:
		return // the caller left; the request stands
	case err != nil && !errors.Is(err, booking.ErrTerminal):
		s.internal(w, r, err)
		return
	}
	switch {
	case got.State == booking.Succeeded:
		writeBookingProblem(w, bookingProblem{
			problem: problem{Type: typeBookedBeforeCancel, Title: "Booked before the cancel", Status: http.StatusConflict,
				Detail: "the site had already booked it: reservation " + got.ReservationNo + "; cancel it on the site if you do not want it"},
			Booking: s.view(got, p),
		})
	case errors.Is(err, booking.ErrTerminal):
		writeProblem(w, problem{Type: typeConflict, Title: "Booking finished", Status: http.StatusConflict,
			Detail: "the booking is already " + string(got.State) + " and cannot be cancelled"})
	case got.State == booking.Cancelled:
		writeJSON(w, http.StatusOK, s.view(got, p))
	default:
		v := s.view(got, p)
		v.Detail = "cancel requested: the daemon instance running this booking stops before its next request; " +
			"read the final state with GET " + bookingPath(got.ID) + " (succeeded if a submit already sent wins)"
		w.Header().Set("Location", bookingPath(got.ID))
		writeJSON(w, http.StatusAccepted, v)
	}
}

func writeBookingProblem(w http.ResponseWriter, p bookingProblem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func bookingPath(id int64) string { return "/v1/bookings/" + strconv.FormatInt(id, 10) }

func (s *Server) listAttempts(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bookingFromPath(w, r)
	if !ok {
		return
	}
	after, limit, probs := paging(r.URL.Query().Get("cursor"), r.URL.Query().Get("limit"), nil)
	if len(probs) > 0 {
		badRequest(w, probs)
		return
	}
	rows, err := s.o.Bookings.Attempts(r.Context(), b.ID, after, limit)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	clk, err := s.bookingClock(r.Context(), b, after, rows, limit)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := attemptList{Items: make([]attemptView, 0, len(rows)), SiteClock: clk.String()}
	loc := s.location(b.Site)
	for _, a := range rows {
		out.Items = append(out.Items, viewAttempt(a, b.OpensAt, clk, loc))
	}
	if len(rows) == limit {
		out.NextCursor = strconv.FormatInt(rows[len(rows)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
}
