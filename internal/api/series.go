package api

import (
	"encoding/json"
	"errors"
	"fmt"
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

// seriesRequest is the JSON body of POST /v1/series: a booking's fields
// without a date, and the rule and season that give the dates. Choices
// are a booking's choices without dates (each occurrence's date is used);
// notify is a booking's.
type seriesRequest struct {
	Site          *string                    `json:"site"`
	Account       *accountRequest            `json:"account"`
	Court         *flexString                `json:"court"`
	Rule          *ruleRequest               `json:"rule"`
	Start         *string                    `json:"start"`
	End           *string                    `json:"end"`
	From          *string                    `json:"from"`
	Until         *string                    `json:"until"`
	Skip          []string                   `json:"skip"`
	WindowSeconds *int                       `json:"window_seconds"`
	RatePerSecond *float64                   `json:"rate_per_second"`
	Phone         *string                    `json:"phone"`
	Name          *string                    `json:"name"`
	Fields        map[string]json.RawMessage `json:"fields"`
	Notify        *notifyRequest             `json:"notify"`
	Choices       []choiceRequest            `json:"choices"`
}

type ruleRequest struct {
	Weekdays    []string `json:"weekdays"`
	Cron        *string  `json:"cron"`
	SlotMinutes *int     `json:"slot_minutes"`
}

// Series is a POST /v1/series document that DecodeSeries accepted.
type Series struct {
	Booking     validBooking // the first occurrence's booking, as validated
	Rule        series.Rule
	From, Until string
	Skip        []string
	// Choices are the series' choices, expanded, without dates; a cron
	// rule's choice that gives no times has Start and End "" (each
	// occurrence's slot). Nil without choices.
	Choices  []booking.Choice
	Warnings []string
}

// DecodeSeries decodes and validates a POST /v1/series body as the API
// does (for `reserver series create`). Problems of the slot that the
// site's profile refuses are returned with the others.
func DecodeSeries(body []byte, sites Sites, lim Limits, now time.Time) (Series, []FieldProblem) {
	v, probs, _ := decodeSeries(body, sites, lim, now)
	return v, append(probs, v.Booking.SlotProblems...)
}

// decodeSeries validates a series: its rule, season and skipped dates
// here, and everything a booking carries by validate, on the first
// occurrence whose opening is after now. status is 422 when the only
// problem is the site's (no opening rule), 400 otherwise.
func decodeSeries(body []byte, sites Sites, lim Limits, now time.Time) (Series, []FieldProblem, int) {
	var req seriesRequest
	probs, ok := decodeStrict(body, &req)
	if !ok {
		return Series{}, probs, http.StatusBadRequest
	}
	bad := func(field, detail string) { probs = append(probs, FieldProblem{Field: field, Detail: detail}) }
	var out Series

	var site Site
	if req.Site != nil {
		site, _ = sites.Site(*req.Site)
	}
	loc := time.UTC
	if site != nil {
		loc = site.Location()
	}

	ruleOK := true
	switch {
	case req.Rule == nil:
		bad("rule", `required: {"weekdays": ["sat"]} with start and end, or {"cron": "0 7 * * sat", "slot_minutes": 60}`)
		ruleOK = false
	case len(req.Rule.Weekdays) > 0 && req.Rule.Cron != nil:
		bad("rule", "give weekdays or cron, not both")
		ruleOK = false
	case len(req.Rule.Weekdays) > 0:
		days, err := series.ParseWeekdays(req.Rule.Weekdays)
		if err != nil {
			bad("rule.weekdays", err.Error())
			ruleOK = false
		}
		if req.Rule.SlotMinutes != nil {
			bad("rule.slot_minutes", "only with a cron rule: a weekday rule's slot is start to end")
		}
		out.Rule = series.Rule{Weekdays: days}
		if req.Start != nil && req.End != nil {
			out.Rule.Start, out.Rule.End = *req.Start, *req.End
		} else {
			ruleOK = false // validate names the missing start or end
		}
	case req.Rule.Cron != nil:
		if _, err := series.ParseCron(*req.Rule.Cron); err != nil {
			bad("rule.cron", err.Error())
			ruleOK = false
		}
		if req.Rule.SlotMinutes == nil || *req.Rule.SlotMinutes < 1 || *req.Rule.SlotMinutes > 1440 {
			bad("rule.slot_minutes", "required with a cron rule: the length of each slot in minutes, from 1 to 1440")
			ruleOK = false
		} else {
			out.Rule = series.Rule{Cron: *req.Rule.Cron, SlotMinutes: *req.Rule.SlotMinutes}
		}
		if req.Start != nil || req.End != nil {
			bad("start", "leave start and end out with a cron rule: its matches are the slot starts, and rule.slot_minutes their length")
		}
	default:
		bad("rule", `give weekdays (such as ["sat"]) or a cron expression (such as "0 7 * * sat")`)
		ruleOK = false
	}

	date := func(field string, p *string) (time.Time, bool) {
		if p == nil || *p == "" {
			bad(field, "required: a site-local date as YYYY-MM-DD")
			return time.Time{}, false
		}
		d, err := time.ParseInLocation("2006-01-02", *p, loc)
		if err != nil {
			bad(field, fmt.Sprintf("%q is not a date that exists: expected YYYY-MM-DD", *p))
			return time.Time{}, false
		}
		return d, true
	}
	from, okFrom := date("from", req.From)
	until, okUntil := date("until", req.Until)
	if okFrom && okUntil {
		out.From, out.Until = *req.From, *req.Until
		if until.Before(from) {
			bad("until", fmt.Sprintf("%s is before from (%s): the season's last date must be on or after its first", *req.Until, *req.From))
			okUntil = false
		} else if days := int(until.Sub(from).Hours()/24) + 1; days > series.MaxSeasonDays {
			bad("until", fmt.Sprintf("the season is %d days long; at most %d", days, series.MaxSeasonDays))
			okUntil = false
		}
	}
	for i, d := range req.Skip {
		if _, err := time.ParseInLocation("2006-01-02", d, loc); err != nil {
			bad(fmt.Sprintf("skip[%d]", i), fmt.Sprintf("%q is not a date that exists: expected YYYY-MM-DD", d))
		}
	}
	out.Skip = req.Skip

	// The booking's own fields are validated as a booking's, on the first
	// occurrence that opens after now (or on the season's first day while
	// the rule or season is wrong, so that those problems show too).
	breq := bookingRequest{Site: req.Site, Account: req.Account, Court: req.Court, Start: req.Start, End: req.End,
		WindowSeconds: req.WindowSeconds, RatePerSecond: req.RatePerSecond, Phone: req.Phone, Name: req.Name, Fields: req.Fields}
	status := http.StatusBadRequest
	probe := out.From
	if site != nil && okFrom {
		if _, has := site.OpensAt(from, "10:00", "11:00"); !has {
			bad("site", fmt.Sprintf("site %q has no opening rule in its profile, so nothing tells when each occurrence's booking opens: "+
				"a series needs a site with one; book this site's dates one at a time with opens_at", *req.Site))
			if len(probs) == 1 {
				status = http.StatusUnprocessableEntity
			}
			ruleOK = false
		}
	}
	var due []series.Planned
	planned := ruleOK && okFrom && okUntil && site != nil
	var sr *series.Series
	if planned {
		sr = &series.Series{Site: *req.Site, Weekdays: series.WeekdayNames(out.Rule.Weekdays), Cron: out.Rule.Cron,
			SlotMinutes: out.Rule.SlotMinutes, StartTime: out.Rule.Start, EndTime: out.Rule.End, SeasonFrom: out.From, SeasonUntil: out.Until}
		sr.Skip = skipJSON(out.Skip)
		var err error
		due, err = series.Due(sr, site, nil, now, -1)
		switch {
		case err != nil:
			bad("rule", err.Error())
			planned = false
		case len(due) == 0:
			bad("until", fmt.Sprintf("no occurrence of this series from %s to %s opens after now (%s): give a season with dates still to open",
				out.From, out.Until, sitetime.Format(now, loc)))
			planned = false
		default:
			probe = due[0].Date
			if out.Rule.Cron != "" {
				breq.Start, breq.End = &due[0].Start, &due[0].End
			}
		}
	}
	if req.Choices != nil {
		if req.Court != nil {
			bad("court", "give the court in each choice: with choices, a top-level court is not used")
		}
		// A cron rule's choices default to the first occurrence's slot,
		// known only once the rule and season are right.
		if planned || out.Rule.Cron == "" {
			out.Choices = seriesChoices(req.Choices, out.Rule, due, site, bad)
		}
		if out.Choices != nil && planned {
			raw, _ := json.Marshal(out.Choices)
			list := string(raw)
			sr.ChoiceList = &list
			due, _ = series.Due(sr, site, nil, now, -1)
			if len(due) == 0 || len(due[0].Choices) == 0 {
				bad("choices[0]", fmt.Sprintf("no occurrence of this series opens after now (%s) by its first choice's times: give a season with dates still to open",
					sitetime.Format(now, loc)))
				planned = false
			}
		}
		if out.Choices != nil && planned {
			sameOpenings(req.Choices, due, site, bad)
			// The booking's own checks run on the first occurrence's
			// first choice.
			probe = due[0].Date
			breq.Court = (*flexString)(&due[0].Choices[0].Court)
			breq.Start, breq.End = &due[0].Start, &due[0].End
		} else {
			// The choices' problems are reported (or wait for the rule's);
			// the booking's own checks run on a court standing in for them.
			stand := flexString("1")
			breq.Court = &stand
		}
	}
	if probe == "" {
		probe = "2000-01-01"
	}
	breq.Date = &probe
	if out.Rule.Cron != "" && breq.Start == nil {
		// A cron rule with a bad season: its slot times are not known,
		// and start/end are not the caller's to give.
		at, to := "00:00", "00:01"
		breq.Start, breq.End = &at, &to
	}
	breq.Notify = req.Notify
	v, bprobs := validate(breq, sites, lim, now)
	for _, p := range bprobs {
		if p.Field == "date" || p.Field == "opens_at" {
			continue // the series' dates and the site's rule give them, checked above
		}
		if req.Choices != nil && p.Field == "court" {
			continue // the choices' courts are checked by seriesChoices
		}
		probs = append(probs, p)
	}
	if req.Choices != nil && (out.Choices == nil || !planned) {
		v.SlotProblems = nil // of the stand-in court's slot
	}
	out.Booking = v
	out.Warnings = v.Warnings
	return out, probs, status
}

// seriesChoices expands a series' choices with the site (expandChoices,
// without dates): a choice's start and end default to the rule's (a
// weekday rule), or to each occurrence's slot (a cron rule: the match and
// slot_minutes; checked on the first occurrence, due[0], and stored as ""
// so that each occurrence fills in its own). Nil when there is a problem.
func seriesChoices(reqs []choiceRequest, rule series.Rule, due []series.Planned, site Site, bad func(field, detail string)) []booking.Choice {
	def := booking.Choice{Start: rule.Start, End: rule.End}
	cron := rule.Cron != ""
	ok := true
	if cron {
		def = booking.Choice{Start: due[0].Start, End: due[0].End}
		for i, r := range reqs {
			if (r.Start == nil) != (r.End == nil) {
				bad(fmt.Sprintf("choices[%d].start", i), "with a cron rule give a choice both start and end, or neither: "+
					"then it takes each occurrence's slot (the match, and rule.slot_minutes long)")
				ok = false
			}
		}
	}
	cs := expandChoices(reqs, def, site, false, "choices", bad)
	if cs == nil || !ok {
		return nil
	}
	if cron {
		items := choiceItems(reqs, site)
		for i := range cs {
			if r := reqs[items[i]]; r.Start == nil && r.End == nil {
				cs[i].Start, cs[i].End = "", ""
			}
		}
	}
	return cs
}

// choiceItems is, for each choice expandChoices made of reqs (which it
// accepted), the index of the item it came from: a court is one choice, a
// courts shorthand as many as the site expands it to.
func choiceItems(reqs []choiceRequest, site Site) []int {
	var out []int
	for i, r := range reqs {
		n := 1
		if r.Courts != nil {
			if ce, ok := site.(ChoiceExpander); ok {
				cs, _ := ce.ExpandCourts(*r.Courts)
				n = len(cs)
			}
		}
		for range n {
			out = append(out, i)
		}
	}
	return out
}

// sameOpenings refuses each choice that, on some occurrence, opens at
// another instant than the occurrence (its first choice), naming the
// first such date and both instants: a booking opens at one instant.
func sameOpenings(reqs []choiceRequest, due []series.Planned, site Site, bad func(field, detail string)) {
	if len(due) == 0 {
		return
	}
	items := choiceItems(reqs, site)
	loc := site.Location()
	refused := map[int]bool{}
	for _, p := range due {
		day, _ := time.ParseInLocation("2006-01-02", p.Date, loc)
		for j, c := range p.Choices {
			if j == 0 || j >= len(items) || refused[items[j]] {
				continue
			}
			if at, ok := site.OpensAt(day, c.Start, c.End); ok && !at.Equal(p.OpensAt) {
				refused[items[j]] = true
				bad(fmt.Sprintf("choices[%d]", items[j]), fmt.Sprintf("%s opens at %s, but the occurrence of %s opens at %s (its first choice, %s): "+
					"a booking opens at one instant; make it a separate series",
					c, sitetime.Format(at, loc), p.Date, sitetime.Format(p.OpensAt, loc), p.Choices[0]))
			}
		}
	}
}

func skipJSON(dates []string) string {
	if len(dates) == 0 {
		return "[]"
	}
	quoted := make([]string, len(dates))
	for i, d := range dates {
		quoted[i] = strconv.Quote(d)
	}
	return "[" + strings.Join(quoted, ",") + "]"
}

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
		writeProblem(w, problem{Type: typeAccountOwned, Title: "Site account registered by another tenant", Status: http.StatusConflict,
			Detail: "the account " + strconv.Quote(b.Username) + " on site " + strconv.Quote(b.Site) +
				" is registered here by another tenant, and a site account serves one tenant only: use a site account of your own"})
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
