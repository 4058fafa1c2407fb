package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/notify/smstext"
	"reserver/internal/sitetime"
	"reserver/internal/tenant"
)

// typeStateForbids: the booking's state does not allow the change asked
// for (a finished booking changes no more; an armed or running one keeps
// its password and rate).
const typeStateForbids = "/problems/state-forbids"

// patchRequest is the body of PATCH /v1/bookings/{id}, a JSON merge patch
// (RFC 7396): a key left out stays as it is, null removes what may be
// removed. Raw values tell null from absent.
type patchRequest struct {
	Phone         json.RawMessage `json:"phone"`
	Name          json.RawMessage `json:"name"`
	Notify        *patchNotify    `json:"notify"`
	Account       *patchAccount   `json:"account"`
	RatePerSecond json.RawMessage `json:"rate_per_second"`
	// Choices replace the booking's choices (the items of create; their
	// date, start and end default to the current first choice's).
	Choices  []choiceRequest `json:"choices"`
	Priority json.RawMessage `json:"priority"`
}

type patchNotify struct {
	On       json.RawMessage `json:"on"`
	Language json.RawMessage `json:"language"`
}

type patchAccount struct {
	Username json.RawMessage `json:"username"`
	Password json.RawMessage `json:"password"`
}

// fixedFields are the create fields a PATCH cannot change: they name the
// site or the opening, which another booking must book; the slot
// (slotFields) changes with choices.
var (
	fixedFields = []string{"site", "opens_at", "window_seconds", "fields"}
	slotFields  = []string{"court", "date", "start", "end"}
)

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// decodePatch parses and validates a PATCH body for booking b of site
// (nil: its profile is gone), reporting every problem at once. slotProbs
// are the site's refusals of well-formed choices (a court or a slot its
// profile does not have: 422 when they are all).
func decodePatch(body []byte, b *booking.Booking, site Site, lim Limits) (p booking.Patch, probs, slotProbs []FieldProblem) {
	var req patchRequest
	probs, ok := decodeStrict(body, &req)
	if !ok {
		return p, probs, nil
	}
	for i, pr := range probs {
		switch {
		case slices.Contains(fixedFields, pr.Field):
			probs[i].Detail = "cannot be changed: it names the site or the opening; cancel this booking and book again"
		case slices.Contains(slotFields, pr.Field):
			probs[i].Detail = "cannot be changed on its own: send choices, whose first is the booking's slot (court, date, start and end)"
		case pr.Detail != "unknown field":
			probs[i].Detail = "unknown field: a PATCH changes phone, name, notify, account.password, rate_per_second, choices and priority"
		}
	}
	bad := func(field, detail string) { probs = append(probs, FieldProblem{Field: field, Detail: detail}) }
	str := func(field string, raw json.RawMessage) (string, bool) {
		if isNull(raw) {
			return "", true
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			bad(field, "expected a string (or null to remove it)")
			return "", false
		}
		return s, true
	}
	if req.Phone != nil {
		if s, ok := str("phone", req.Phone); ok {
			if s != "" {
				n, err := normalizePhone(s)
				if err != nil {
					bad("phone", err.Error())
				}
				s = n
			}
			p.Phone = &s
		}
	}
	if req.Name != nil {
		if s, ok := str("name", req.Name); ok {
			if utf8.RuneCountInString(s) > 50 {
				bad("name", "too long: at most 50 characters")
			}
			p.Name = &s
		}
	}
	if raw, ok := topLevel(body, "notify"); ok && isNull(raw) {
		empty := ""
		p.NotifyOn, p.NotifyLanguage = &empty, &empty
	} else if req.Notify != nil {
		if req.Notify.On != nil {
			if s, ok := str("notify.on", req.Notify.On); ok {
				if s != "" && !slices.Contains(booking.NotifyPolicies, s) {
					bad("notify.on", fmt.Sprintf("%q is not a notify policy: expected one of %s, or null for the default", s, strings.Join(booking.NotifyPolicies, ", ")))
				}
				p.NotifyOn = &s
			}
		}
		if req.Notify.Language != nil {
			if s, ok := str("notify.language", req.Notify.Language); ok {
				if s != "" && !smstext.Known(s) {
					bad("notify.language", fmt.Sprintf("%q is not a language of the messages: expected one of %s, or null for the site's", s, strings.Join(smstext.Languages, ", ")))
				}
				p.NotifyLanguage = &s
			}
		}
	}
	if req.Account != nil {
		if req.Account.Username != nil {
			bad("account.username", "cannot be changed: the booking is for this site account; cancel it and book with the other account")
		}
		guest := false
		if g, ok := site.(GuestSite); ok {
			guest = g.Guest()
		}
		var s string
		ok := req.Account.Password != nil
		if ok {
			s, ok = str("account.password", req.Account.Password)
		}
		switch {
		case req.Account.Password == nil:
			if req.Account.Username == nil {
				bad("account.password", "required inside account: the new password on the booking site")
			}
		case !ok:
		case guest:
			bad("account.password", "this site has no login: its bookings have no password")
		case s == "":
			bad("account.password", "required: the new password on the booking site (it cannot be removed)")
		case len(s) > 256:
			bad("account.password", "too long: at most 256 bytes")
		default:
			p.Password = &s
		}
	}
	if req.RatePerSecond != nil {
		maxRate, maxBy := rateCeiling(site, b.Site, lim)
		var r float64
		if isNull(req.RatePerSecond) || json.Unmarshal(req.RatePerSecond, &r) != nil || !(r > 0) || r > maxRate {
			bad("rate_per_second", fmt.Sprintf("expected a number of requests per second above 0 and at most %g (%s)", maxRate, maxBy))
		} else {
			p.Rate = &r
		}
	}
	if raw, ok := topLevel(body, "priority"); ok {
		var n int
		if isNull(raw) || json.Unmarshal(raw, &n) != nil || n < 0 || n > 100 {
			bad("priority", "expected an integer from 0 to 100: lower submits first among the account's bookings that open at the same instant")
		} else {
			p.Priority = &n
		}
	}
	if raw, ok := topLevel(body, "choices"); ok {
		cs, sp := patchChoices(raw, req.Choices, b, site, bad)
		if cs != nil {
			p.Choices = &cs
			if al, ok := site.(AccountLimiter); ok {
				p.Limits = al.AccountLimits()
			}
		}
		slotProbs = sp
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Field < probs[j].Field })
	return p, probs, slotProbs
}

// patchChoices checks the choices of a PATCH (raw, decoded as reqs) for
// booking b as create checks them, their date, start and end defaulting
// to b's current first choice's; each must open when b does and before
// it is played. nil when a problem was reported (to bad, or as a slot
// problem).
func patchChoices(raw json.RawMessage, reqs []choiceRequest, b *booking.Booking, site Site, bad func(string, string)) ([]booking.Choice, []FieldProblem) {
	if isNull(raw) || reqs == nil {
		bad("choices", "expected an array of at least one choice: the choices cannot be removed (a booking of one slot is one choice)")
		return nil, nil
	}
	if site == nil {
		bad("choices", fmt.Sprintf("the site %q has no profile configured any more, so new choices cannot be checked: cancel this booking", b.Site))
		return nil, nil
	}
	ok := true
	flag := func(field, detail string) { ok = false; bad(field, detail) }
	var slotProbs []FieldProblem
	slotBad := func(field, detail string) { slotProbs = append(slotProbs, FieldProblem{Field: field, Detail: detail}) }
	current := b.Choices()[0]
	def := current
	def.Court = ""
	chosen, _ := checkChoices(reqs, def, site, true, "choices", flag, slotBad)
	if !ok || len(slotProbs) > 0 {
		return nil, slotProbs
	}
	sameOpening(chosen, current, site, "choices", flag)
	loc := site.Location()
	for _, c := range chosen {
		d, err := time.ParseInLocation(time.DateOnly, c.Date, loc)
		if err != nil {
			continue
		}
		play := time.Date(d.Year(), d.Month(), d.Day(), int(c.start/time.Hour), int(c.start%time.Hour/time.Minute), 0, 0, loc)
		if !b.OpensAt.Before(play) {
			flag(fmt.Sprintf("choices[%d]", c.Item), fmt.Sprintf("%s (%s) is played at %s, not after the booking opens at %s: choose a later slot",
				c.position("choices"), c.Choice, sitetime.Format(play, loc), sitetime.Format(b.OpensAt, loc)))
		}
	}
	if !ok {
		return nil, nil
	}
	out := make([]booking.Choice, len(chosen))
	for i, c := range chosen {
		out[i] = c.Choice
	}
	return out, nil
}

// topLevel returns the raw value of key in the JSON object body.
func topLevel(body []byte, key string) (json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return nil, false
	}
	raw, ok := obj[key]
	return raw, ok
}

// patchBooking changes what may change of a booking (a JSON merge patch),
// as far as its state allows: 200 with the booking, 400 for a bad patch,
// 409 /problems/state-forbids when its state refuses a field of it.
func (s *Server) patchBooking(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/merge-patch+json") && !strings.HasPrefix(ct, "application/json") {
		writeProblem(w, problem{Type: typeUnsupported, Title: "Unsupported media type", Status: http.StatusUnsupportedMediaType,
			Detail: "send the change as application/merge-patch+json (or application/json)"})
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	s.idempotent(w, r, body, func(w http.ResponseWriter) {
		b, ok := s.bookingFromPath(w, r)
		if !ok {
			return
		}
		site, _ := s.o.Sites.Site(b.Site)
		p, probs, slotProbs := decodePatch(body, b, site, s.o.Limits)
		if len(probs) > 0 {
			badRequest(w, append(probs, slotProbs...))
			return
		}
		if len(slotProbs) > 0 {
			writeProblem(w, problem{Type: typeSlot, Title: "The site has no such slot", Status: http.StatusUnprocessableEntity,
				Detail: problemsDetail("the site's profile says it cannot take these choices", slotProbs), Errors: slotProbs})
			return
		}
		// The database's clock, as the store's other writes (updated_at)
		// and the daemon's: it also judges how close a running booking is to
		// its opening. Options.Now judges a create's opens_at only.
		got, err := s.o.Bookings.Apply(r.Context(), s.scope(r), b.ID, p, database.Now())
		var sf *booking.StateForbidsError
		var le *booking.LimitError
		switch {
		case errors.As(err, &sf):
			probs := make([]FieldProblem, 0, len(sf.Fields))
			for _, f := range sf.Fields {
				detail := "the booking is " + string(sf.State)
				if f == booking.FieldChoices && sf.State == booking.Running {
					detail = fmt.Sprintf("the booking is running and opens in less than %s: the daemon reads its choices about 2 s before it fires", booking.ChoicesCutoff)
				}
				probs = append(probs, FieldProblem{Field: f, Detail: detail})
			}
			writeBookingProblem(w, bookingProblem{
				problem: problem{Type: typeStateForbids, Title: "The booking's state forbids this change", Status: http.StatusConflict,
					Detail: sf.Error(), Errors: probs},
				Booking: s.view(got, principal(r.Context())),
			})
			return
		case errors.As(err, &le):
			writeLimitProblem(w, le)
			return
		case errors.Is(err, booking.ErrDuplicate):
			c := (*p.Choices)[0]
			writeProblem(w, problem{Type: typeConflict, Title: "Duplicate booking", Status: http.StatusConflict,
				Detail: err.Error() + ": this account's other active booking has " + c.String() + " already; cancel it, or choose another first choice"})
			return
		case errors.Is(err, booking.ErrNotFound):
			writeProblem(w, problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: "no booking with this id"})
			return
		case errors.Is(err, booking.ErrConflict):
			writeProblem(w, problem{Type: typeConflict, Title: "Booking changing", Status: http.StatusConflict,
				Detail: "the booking kept changing while the patch was applied; send it again"})
			return
		case err != nil:
			s.internal(w, r, err)
			return
		}
		if pr := principal(r.Context()); pr.IsOperator() {
			// An operator's change is audited like a cancel: which fields,
			// never their values (a phone number, a password).
			id := b.ID
			s.audit(r, tenant.AuditEntry{Actor: pr.Actor(clientAddr(r)), Action: tenant.ActionPatch, BookingID: &id,
				Detail: "api: " + strings.Join(p.Fields(), ", ")})
		}
		v := s.view(got, principal(r.Context()))
		if err := s.nameTenants(r.Context(), &v); err != nil {
			s.internal(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// deleteBooking is the cancel, idempotent with an Idempotency-Key.
func (s *Server) deleteBooking(w http.ResponseWriter, r *http.Request) {
	s.idempotent(w, r, nil, func(w http.ResponseWriter) { s.cancelBooking(w, r) })
}

// readBody reads a request body within MaxBodyBytes, answering 413 or 400
// itself when it cannot.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeProblem(w, problem{Type: typeTooLarge, Title: "Request too large", Status: http.StatusRequestEntityTooLarge,
			Detail: "the body is larger than " + strconv.FormatInt(s.o.MaxBodyBytes, 10) + " bytes"})
		return nil, false
	}
	if err != nil {
		badRequest(w, []FieldProblem{{Detail: "the body could not be read"}})
		return nil, false
	}
	return body, true
}
