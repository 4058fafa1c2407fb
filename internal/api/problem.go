package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"reserver/internal/booking"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Errors []FieldProblem `json:"errors,omitempty"`
}

// Problem types, relative URIs documented in openapi.yaml.
const (
	typeValidation   = "/problems/validation"
	typeUnauthorized = "/problems/unauthorized"
	typeNotFound     = "/problems/not-found"
	typeConflict     = "/problems/conflict"
	typeTooLarge     = "/problems/too-large"
	typeInternal     = "/problems/internal"
	typeUnavailable  = "/problems/unavailable"
	typeUnsupported  = "/problems/unsupported-media-type"
	typeAccountOwned = "/problems/account-owned"
	typeQuota        = "/problems/quota"
	typeRateLimited  = "/problems/rate-limited"
	// typeSlot: the site's profile declares its courts and slot grid, and
	// the booking's court or slot is not among them (SlotChecker).
	typeSlot = "/problems/slot"
	// typeAccountLimit: the site lets one account hold only so many
	// reservations a day or a week, and the account's bookings may take
	// them all already (booking.LimitError).
	typeAccountLimit = "/problems/account-limit"
	// typeMethod: the route exists, the method does not (Allow lists those
	// that do).
	typeMethod = "/problems/method-not-allowed"
)

func writeProblem(w http.ResponseWriter, p problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// limitProblem is the 409 of a booking refused for the account's limits:
// limit says which period is full and by which bookings.
type limitProblem struct {
	problem
	Limit limitView `json:"limit"`
}

type limitView struct {
	Period   string  `json:"period"` // day or week
	Date     string  `json:"date"`   // the play date, or the week's Monday
	Limit    int     `json:"limit"`
	Held     int     `json:"held"`
	Bookings []int64 `json:"bookings"`
}

func writeLimitProblem(w http.ResponseWriter, e *booking.LimitError) {
	ids := e.IDs
	if ids == nil {
		ids = []int64{}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusConflict)
	_ = json.NewEncoder(w).Encode(limitProblem{
		problem: problem{Type: typeAccountLimit, Title: "The site's limit for this account", Status: http.StatusConflict, Detail: e.Error()},
		Limit:   limitView{Period: e.Period, Date: e.Date, Limit: e.Limit, Held: e.Held, Bookings: ids},
	})
}

func badRequest(w http.ResponseWriter, probs []FieldProblem) {
	writeProblem(w, problem{Type: typeValidation, Title: "Invalid request", Status: http.StatusBadRequest,
		Detail: problemsDetail("the request has problems", probs), Errors: probs})
}

// problemsDetail is the detail of a problem document listing probs: the
// one problem itself, or how many there are (each is in errors).
func problemsDetail(what string, probs []FieldProblem) string {
	if len(probs) == 1 {
		if probs[0].Field != "" {
			return probs[0].Field + ": " + probs[0].Detail
		}
		return probs[0].Detail
	}
	return fmt.Sprintf("%s (%d); each is listed in errors", what, len(probs))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// allowedMethods is each route path's methods, for a 405's Allow header
// (HEAD with GET: the mux serves it).
func allowedMethods() map[string]string {
	by := map[string][]string{}
	for _, r := range routes {
		by[r.path] = append(by[r.path], r.method)
		if r.method == http.MethodGet {
			by[r.path] = append(by[r.path], http.MethodHead)
		}
	}
	out := make(map[string]string, len(by))
	for path, ms := range by {
		slices.Sort(ms)
		out[path] = strings.Join(slices.Compact(ms), ", ")
	}
	return out
}

// methodNotAllowed answers a method path does not have: 405 with Allow.
func methodNotAllowed(path, allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeProblem(w, problem{Type: typeMethod, Title: "Method not allowed", Status: http.StatusMethodNotAllowed,
			Detail: r.Method + " is not a method of " + path + "; it takes " + allow})
	}
}

// accountOwned is the refusal of a site account that another tenant
// registered first (booking.ErrAccountOwned), for a booking or a series.
// Which tenant holds it is theirs to know, not the caller's: the detail
// names only the caller's own request.
func accountOwned(username, site string) problem {
	return problem{Type: typeAccountOwned, Title: "Site account registered by another tenant", Status: http.StatusConflict,
		Detail: "the account " + strconv.Quote(username) + " on site " + strconv.Quote(site) +
			" is registered here by another tenant, and a site account serves one tenant only: book with a site account of your own, or ask the operator if this one is yours"}
}
