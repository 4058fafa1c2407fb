package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"reserver/internal/booking"
	"reserver/internal/series"
	"reserver/internal/sitetime"
)

// seriesStore is the server's series store (Options.Series); a Server
// without one answers the series routes 503.
func (s *Server) seriesStore(w http.ResponseWriter) (*series.Store, bool) {
	if s.o.Series == nil {
		writeProblem(w, problem{Type: typeUnavailable, Title: "Series not enabled", Status: http.StatusServiceUnavailable,
			Detail: "this API server was started without recurring bookings"})
		return nil, false
	}
	return s.o.Series, true
}

// typeNoOpeningRule: a series was asked of a site whose profile has no
// opening rule, so nothing tells when each occurrence's booking opens.
const typeNoOpeningRule = "/problems/no-opening-rule"

func (s *Server) createSeries(w http.ResponseWriter, r *http.Request) {
	st, ok := s.seriesStore(w)
	if !ok {
		return
	}
	body, ok := s.readJSON(w, r, "series")
	if !ok {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 {
		badRequest(w, []FieldProblem{{Field: "Idempotency-Key", Detail: "at most 255 characters"}})
		return
	}
	v, probs, status := decodeSeries(body, s.o.Sites, s.o.Limits, s.o.Now())
	switch {
	case len(probs) > 0 && status == http.StatusUnprocessableEntity:
		writeProblem(w, problem{Type: typeNoOpeningRule, Title: "The site has no opening rule", Status: status,
			Detail: problemsDetail("the site cannot take a series", probs), Errors: probs})
		return
	case len(probs) > 0:
		badRequest(w, append(probs, v.Booking.SlotProblems...))
		return
	case len(v.Booking.SlotProblems) > 0:
		writeProblem(w, problem{Type: typeSlot, Title: "The site has no such slot", Status: http.StatusUnprocessableEntity,
			Detail: problemsDetail("the site's profile says it cannot take this series", v.Booking.SlotProblems), Errors: v.Booking.SlotProblems})
		return
	}
	hash, err := requestHash(s.hashKey, body)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	p := principal(r.Context())
	b := v.Booking
	sr, created, err := st.Create(r.Context(), series.NewSeries{
		TenantID: p.TenantID, Site: b.Site, Username: b.Username, Password: b.Password, Court: b.Court,
		Rule: v.Rule, From: v.From, Until: v.Until, Skip: v.Skip,
		WindowSeconds: b.Window, RatePerSecond: b.Rate, Phone: b.Phone, BookerName: b.Name, Fields: b.Fields,
		Choices: v.Choices, NotifyOn: b.NotifyOn, NotifyLanguage: b.NotifyLanguage,
		IdempotencyKey: key, RequestHash: hash,
	})
	switch {
	case errors.Is(err, booking.ErrAccountOwned):
		writeProblem(w, accountOwned(b.Username, b.Site))
		return
	case errors.Is(err, booking.ErrIdempotencyMismatch):
		writeIdempotencyMismatch(w, err)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	out, err := s.seriesView(r, st, sr, true)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out.Warnings = v.Warnings
	if !created {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/series/"+strconv.FormatInt(sr.ID, 10))
	writeJSON(w, http.StatusCreated, out)
}

// readJSON reads a JSON request body of at most MaxBodyBytes, answering
// the problem itself when it cannot.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, what string) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeProblem(w, problem{Type: typeUnsupported, Title: "Unsupported media type", Status: http.StatusUnsupportedMediaType, Detail: "send the " + what + " as application/json"})
		return nil, false
	}
	return s.readBody(w, r)
}

func (s *Server) listSeries(w http.ResponseWriter, r *http.Request) {
	st, ok := s.seriesStore(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := series.ListFilter{Scope: s.scope(r)}
	var probs []FieldProblem
	if v := q.Get("state"); v != "" {
		state, err := series.ParseState(v)
		if err != nil {
			probs = append(probs, FieldProblem{Field: "state", Detail: err.Error()})
		}
		f.States = []series.State{state}
	}
	f.Before, f.Limit, probs = paging(q.Get("cursor"), q.Get("limit"), probs)
	if len(probs) > 0 {
		badRequest(w, probs)
		return
	}
	items, err := st.List(r.Context(), f)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := struct {
		Items      []seriesView `json:"items"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{Items: make([]seriesView, 0, len(items))}
	for i := range items {
		v, err := s.seriesView(r, st, &items[i], false)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		out.Items = append(out.Items, v)
	}
	if len(items) == f.Limit {
		out.NextCursor = strconv.FormatInt(items[len(items)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) seriesFromPath(w http.ResponseWriter, r *http.Request) (*series.Store, int64, bool) {
	st, ok := s.seriesStore(w)
	if !ok {
		return nil, 0, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeProblem(w, problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: "no series with this id"})
		return nil, 0, false
	}
	return st, id, true
}

func (s *Server) getSeries(w http.ResponseWriter, r *http.Request) {
	st, id, ok := s.seriesFromPath(w, r)
	if !ok {
		return
	}
	sr, err := st.Get(r.Context(), s.scope(r), id)
	s.answerSeries(w, r, st, sr, err)
}

func (s *Server) pauseSeries(w http.ResponseWriter, r *http.Request) {
	s.setSeriesState(w, r, series.Paused)
}
func (s *Server) resumeSeries(w http.ResponseWriter, r *http.Request) {
	s.setSeriesState(w, r, series.Active)
}
func (s *Server) endSeries(w http.ResponseWriter, r *http.Request) {
	s.setSeriesState(w, r, series.Ended)
}

func (s *Server) setSeriesState(w http.ResponseWriter, r *http.Request, to series.State) {
	st, id, ok := s.seriesFromPath(w, r)
	if !ok {
		return
	}
	sr, err := st.SetState(r.Context(), s.scope(r), id, to)
	if errors.Is(err, series.ErrEnded) {
		writeProblem(w, problem{Type: typeConflict, Title: "Series ended", Status: http.StatusConflict,
			Detail: "series " + strconv.FormatInt(id, 10) + " has ended and cannot be paused or resumed: create a new series"})
		return
	}
	s.answerSeries(w, r, st, sr, err)
}

func (s *Server) answerSeries(w http.ResponseWriter, r *http.Request, st *series.Store, sr *series.Series, err error) {
	if errors.Is(err, series.ErrNotFound) {
		writeProblem(w, problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: "no series with this id"})
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out, err := s.seriesView(r, st, sr, true)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// seriesView is a series as the API shows it.
type seriesView struct {
	ID            int64             `json:"id"`
	TenantID      int64             `json:"tenant_id,omitempty"` // operators only
	Site          string            `json:"site"`
	Account       map[string]string `json:"account"`
	Court         string            `json:"court"`
	Rule          ruleView          `json:"rule"`
	Start         string            `json:"start,omitempty"`
	End           string            `json:"end,omitempty"`
	From          string            `json:"from"`
	Until         string            `json:"until"`
	Skip          []string          `json:"skip"`
	WindowSeconds int               `json:"window_seconds"`
	RatePerSecond float64           `json:"rate_per_second"`
	Phone         string            `json:"phone,omitempty"`
	Name          string            `json:"name,omitempty"`
	Fields        map[string]string `json:"fields"`
	// Choices are the occurrences' courts and times in order (at least
	// one: the series' court); a choice without times takes each
	// occurrence's slot (a cron rule's).
	Choices   []seriesChoiceView `json:"choices"`
	Notify    *notifyView        `json:"notify,omitempty"`
	State     series.State       `json:"state"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
	EndedAt   *time.Time         `json:"ended_at,omitempty"`
	// Occurrences are those created so far (with their booking), Upcoming
	// the next ones still to be created, soonest first.
	Occurrences []occurrenceView `json:"occurrences,omitempty"`
	Upcoming    []occurrenceView `json:"upcoming"`
	Warnings    []string         `json:"warnings,omitempty"`
}

// seriesChoiceView is one of a series' choices.
type seriesChoiceView struct {
	Court string `json:"court"`
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type ruleView struct {
	Weekdays    []string `json:"weekdays,omitempty"`
	Cron        string   `json:"cron,omitempty"`
	SlotMinutes int      `json:"slot_minutes,omitempty"`
}

type occurrenceView struct {
	Date         string        `json:"date"`
	Start        string        `json:"start"`
	End          string        `json:"end"`
	OpensAt      time.Time     `json:"opens_at"`
	OpensAtLocal string        `json:"opens_at_local"`
	BookingID    *int64        `json:"booking_id,omitempty"`
	State        booking.State `json:"state,omitempty"`
	Note         string        `json:"note,omitempty"`
}

// upcomingShown is how many upcoming occurrences a series view lists.
const upcomingShown = 5

// seriesView shows sr; full adds the occurrences created so far and
// their bookings' states.
func (s *Server) seriesView(r *http.Request, st *series.Store, sr *series.Series, full bool) (seriesView, error) {
	v := seriesView{
		ID: sr.ID, Site: sr.Site, Account: map[string]string{"username": sr.Username}, Court: sr.Court,
		Rule:  ruleView{Cron: sr.Cron, SlotMinutes: sr.SlotMinutes},
		Start: sr.StartTime, End: sr.EndTime, From: sr.SeasonFrom, Until: sr.SeasonUntil, Skip: sr.SkipDates(),
		WindowSeconds: sr.WindowSeconds, RatePerSecond: sr.RatePerSecond, Phone: sr.Phone, Name: sr.BookerName,
		Fields: sr.FieldMap(), State: sr.State, CreatedAt: sr.CreatedAt.UTC(), UpdatedAt: sr.UpdatedAt.UTC(),
		Upcoming: []occurrenceView{},
	}
	if v.Skip == nil {
		v.Skip = []string{}
	}
	v.Choices = []seriesChoiceView{{Court: sr.Court, Start: sr.StartTime, End: sr.EndTime}}
	if cs := sr.Choices(); cs != nil {
		v.Choices = make([]seriesChoiceView, len(cs))
		for i, c := range cs {
			v.Choices[i] = seriesChoiceView{Court: c.Court, Start: c.Start, End: c.End}
		}
	}
	if sr.NotifyOn != "" || sr.NotifyLanguage != "" {
		v.Notify = &notifyView{On: sr.NotifyOn, Language: sr.NotifyLanguage}
	}
	if sr.Weekdays != "" {
		v.Rule.Weekdays = strings.Split(sr.Weekdays, ",")
	}
	if sr.EndedAt != nil {
		t := sr.EndedAt.UTC()
		v.EndedAt = &t
	}
	if principal(r.Context()).IsOperator() {
		v.TenantID = sr.TenantID
	}
	loc := s.location(sr.Site)
	occ, err := st.Occurrences(r.Context(), sr.ID)
	if err != nil {
		return v, err
	}
	if full {
		for _, o := range occ[sr.ID] {
			ov := occurrenceView{Date: o.PlayDate, Start: o.StartTime, End: o.EndTime, OpensAt: o.OpensAt.UTC(),
				OpensAtLocal: sitetime.Format(o.OpensAt, loc), BookingID: o.BookingID, Note: o.Note}
			if o.BookingID != nil {
				b, err := s.o.Bookings.Get(r.Context(), booking.Scope{All: true}, *o.BookingID)
				if err != nil && !errors.Is(err, booking.ErrNotFound) {
					return v, err
				}
				if b != nil {
					ov.State = b.State
				}
			}
			v.Occurrences = append(v.Occurrences, ov)
		}
	}
	site, ok := s.o.Sites.Site(sr.Site)
	if !ok || sr.State == series.Ended {
		return v, nil
	}
	due, err := series.Due(sr, site, occ[sr.ID], s.o.Now(), -1)
	if err != nil {
		return v, nil // the site's profile changed under the series: nothing to foretell
	}
	for _, p := range due[:min(len(due), upcomingShown)] {
		v.Upcoming = append(v.Upcoming, occurrenceView{Date: p.Date, Start: p.Start, End: p.End,
			OpensAt: p.OpensAt.UTC(), OpensAtLocal: sitetime.Format(p.OpensAt, loc), Note: p.Note})
	}
	return v, nil
}
