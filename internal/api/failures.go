package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"reserver/internal/booking"
	"reserver/internal/metrics"
	"reserver/internal/tenant"
)

// typeForbidden is the problem type of a route the caller's role may not use.
const typeForbidden = "/problems/forbidden"

// errBadTime is returned by ParseSince for a value that is neither an
// instant nor a duration.
var errBadTime = errors.New("expected an RFC 3339 instant (2026-11-24T10:00:00+09:00) or a duration back from now (90m, 24h, 7d)")

// ParseSince reads a time filter: an RFC 3339 instant, or a duration back
// from now such as "90m", "24h" or "7d".
func ParseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3660 {
			return time.Time{}, errBadTime
		}
		return now.AddDate(0, 0, -n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, errBadTime
	}
	return now.Add(-d), nil
}

// failureQuery reads the filters of /v1/failures and /ui/failures.
func failureQuery(q url.Values, now time.Time) (booking.FailureFilter, []FieldProblem) {
	var f booking.FailureFilter
	var probs []FieldProblem
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := ParseSince(v, now)
			if err != nil {
				probs = append(probs, FieldProblem{Field: p.name, Detail: err.Error()})
			}
			*p.dst = t
		}
	}
	if v := q.Get("site"); v != "" {
		if !siteRE.MatchString(v) {
			probs = append(probs, FieldProblem{Field: "site", Detail: "expected a site profile name (lower-case letters, digits, '-', '_')"})
		}
		f.Site = v
	}
	// An unknown reason or review is refused, naming the known ones: a
	// typo must not read as "no such failures".
	if v := q.Get("reason"); v != "" {
		r, err := booking.ParseReason(v)
		if err != nil {
			probs = append(probs, FieldProblem{Field: "reason", Detail: err.Error()})
		}
		f.Reason = r
	}
	if v := q.Get("review"); v != "" {
		r, err := booking.ParseReview(v)
		if err != nil {
			probs = append(probs, FieldProblem{Field: "review", Detail: err.Error()})
		}
		f.Review = r
	}
	if v := q.Get("attempts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			probs = append(probs, FieldProblem{Field: "attempts", Detail: "expected an integer from 1 to 50"})
		}
		f.LastAttempts = n
	}
	f.Before, f.Limit, probs = paging(q.Get("cursor"), q.Get("limit"), probs)
	return f, probs
}

// failureView is one failed or review-flagged booking as /v1/failures
// shows it; the booking's review and review_note say what to do.
type failureView struct {
	bookingView
	AttemptCount int            `json:"attempt_count"`
	Classes      map[string]int `json:"classes"`
	LastAttempts []attemptView  `json:"last_attempts"`
	// SiteClock says how last_attempts' offset_ms was put on the site's
	// clock: estimated from those attempts, as `reserver failures` does.
	SiteClock string `json:"site_clock"`
}

type failureList struct {
	Items      []failureView `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

func (s *Server) failureView(f booking.Failure) failureView {
	clk := booking.SiteClockFor(&f.Booking, f.Last)
	v := failureView{bookingView: s.view(&f.Booking, tenant.Principal{Role: tenant.RoleOperator}), AttemptCount: f.Attempts, Classes: f.Classes,
		LastAttempts: make([]attemptView, 0, len(f.Last)), SiteClock: clk.String()}
	loc := s.location(f.Booking.Site)
	for _, a := range f.Last {
		v.LastAttempts = append(v.LastAttempts, viewAttempt(a, f.Booking.OpensAt, clk, loc))
	}
	return v
}

// requireOperator writes a 403 problem and returns false unless the caller
// is an operator.
func (s *Server) requireOperator(w http.ResponseWriter, r *http.Request) bool {
	if principal(r.Context()).IsOperator() {
		return true
	}
	writeProblem(w, problem{Type: typeForbidden, Title: "Forbidden", Status: http.StatusForbidden,
		Detail: "this route needs an operator token (reserver token create --tenant NAME --role operator)"})
	return false
}

func (s *Server) listFailures(w http.ResponseWriter, r *http.Request) {
	if !s.requireOperator(w, r) {
		return
	}
	f, probs := failureQuery(r.URL.Query(), s.o.Now())
	if len(probs) > 0 {
		badRequest(w, probs)
		return
	}
	items, err := s.o.Bookings.Failures(r.Context(), f)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := failureList{Items: make([]failureView, 0, len(items))}
	for _, it := range items {
		out.Items = append(out.Items, s.failureView(it))
	}
	named := make([]*bookingView, len(out.Items))
	for i := range out.Items {
		named[i] = &out.Items[i].bookingView
	}
	if err := s.nameTenants(r.Context(), named...); err != nil {
		s.internal(w, r, err)
		return
	}
	if len(items) == f.Limit {
		out.NextCursor = strconv.FormatInt(items[len(items)-1].Booking.ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if !s.requireOperator(w, r) {
		return
	}
	metrics.Handler(s.o.Metrics).ServeHTTP(w, r)
}
