package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"reserver/internal/booking"
	"reserver/internal/series"
	"reserver/internal/sitetime"
)

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
