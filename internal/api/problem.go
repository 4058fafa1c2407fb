package api

import (
	"encoding/json"
	"net/http"
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
)

func writeProblem(w http.ResponseWriter, p problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func badRequest(w http.ResponseWriter, probs []FieldProblem) {
	detail := "the request has problems; each is listed in errors"
	if len(probs) == 1 {
		detail = probs[0].Detail
		if probs[0].Field != "" {
			detail = probs[0].Field + ": " + detail
		}
	}
	writeProblem(w, problem{Type: typeValidation, Title: "Invalid request", Status: http.StatusBadRequest, Detail: detail, Errors: probs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
