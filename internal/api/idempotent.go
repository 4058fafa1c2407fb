package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"reserver/internal/booking"
)

// recorder keeps an answer so that it can be stored before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *recorder) Header() http.Header { return c.header }
func (c *recorder) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
func (c *recorder) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(p)
}

// storedAnswer is what idempotent_requests.response keeps of an answer.
type storedAnswer struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// replayedHeaders are the headers a stored answer keeps.
var replayedHeaders = []string{"Content-Type", "Location", "Cache-Control"}

// idempotent runs handle (a PATCH or DELETE of the booking in the path)
// under the request's Idempotency-Key as a create is: the key is the
// tenant's; the request is its method, its booking and the keyed hash of
// its body (requestHash, the password left out); a replay of it answers
// what the first answered (Idempotent-Replayed: true), another request
// under the key is a 422. Answers of 5xx are not kept, so that a retry
// does the work. Without a key handle answers directly.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, body []byte, handle func(http.ResponseWriter)) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		handle(w)
		return
	}
	if len(key) > 255 {
		badRequest(w, []FieldProblem{{Field: "Idempotency-Key", Detail: "at most 255 characters"}})
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		handle(w) // the handler answers 404
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	hash, err := requestHash(s.hashKey, body)
	if err != nil {
		handle(w) // not a JSON object: the handler says what is wrong, nothing to keep
		return
	}
	q := booking.IdempotentRequest{TenantID: principal(r.Context()).TenantID, IdemKey: key, Method: r.Method, BookingID: id, RequestHash: hash}
	prev, err := s.o.Bookings.ReplayRequest(r.Context(), q)
	if errors.Is(err, booking.ErrIdempotencyMismatch) {
		writeIdempotencyMismatch(w, err)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if prev != nil {
		replay(w, prev)
		return
	}
	rec := &recorder{header: http.Header{}}
	handle(rec)
	if rec.status < 500 && r.Context().Err() == nil {
		a := storedAnswer{Headers: map[string]string{}, Body: rec.body.String()}
		for _, h := range replayedHeaders {
			if v := rec.header.Get(h); v != "" {
				a.Headers[h] = v
			}
		}
		raw, err := json.Marshal(a)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		q.Status, q.Response = rec.status, string(raw)
		first, err := s.o.Bookings.RecordRequest(r.Context(), q, s.o.Now())
		switch {
		case errors.Is(err, booking.ErrIdempotencyMismatch):
			writeIdempotencyMismatch(w, err)
			return
		case err != nil:
			s.internal(w, r, err)
			return
		case first != nil:
			// A concurrent replay stored its answer first: answer that one.
			replay(w, first)
			return
		}
	}
	for k, vs := range rec.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// replay answers a stored answer again.
func replay(w http.ResponseWriter, prev *booking.IdempotentRequest) {
	var a storedAnswer
	_ = json.Unmarshal([]byte(prev.Response), &a)
	for k, v := range a.Headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(prev.Status)
	_, _ = w.Write([]byte(a.Body))
}
