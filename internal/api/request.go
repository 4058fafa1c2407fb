package api

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/sitetime"
)

// FieldProblem names one bad field of a request and what is expected.
type FieldProblem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Site is what the API needs to know about a booking site to validate a
// booking for it. The site profiles implement it, and RateCeiling too.
type Site interface {
	// Location is the site's time zone: play dates and times are local to it.
	Location() *time.Location
	// CheckFields returns a problem for each missing, unknown or malformed
	// site-specific field.
	CheckFields(fields map[string]string) []FieldProblem
	// OpensAt computes the opening instant of a booking of the slot start–end
	// ("HH:MM", site-local) on playDate when the site has an opening rule.
	OpensAt(playDate time.Time, start, end string) (time.Time, bool)
}

// GuestSite is implemented by a Site whose profile has no login (a guest
// checkout): its bookings carry no site password, only the name they are
// made under (account.username, e.g. the booker's e-mail address).
type GuestSite interface {
	Guest() bool
}

// RateCeiling is implemented by a Site whose profile bounds how many
// requests per second one booking may send to it (the profile's
// rate_per_second). A booking may ask for less, never more; one that asks
// for nothing gets the configured default or the ceiling, whichever is
// lower. The site profiles implement it.
type RateCeiling interface {
	RatePerSecond() float64
}

// SlotChecker is implemented by a Site whose profile declares its courts
// and slot grid: problems refuse the booking (422), warnings are returned
// with it.
type SlotChecker interface {
	CheckSlot(court, date, start, end string) (problems []FieldProblem, warnings []string)
}

// AccountLimiter is implemented by a Site whose profile caps the
// reservations one account may hold a day or a week (account_limits): a
// booking that would let its account exceed them is refused (409).
type AccountLimiter interface {
	AccountLimits() profile.AccountLimits
}

// Sites finds a site by name.
type Sites interface {
	Site(name string) (Site, bool)
}

// Limits bound what a booking may ask for.
type Limits struct {
	DefaultRate   float64
	MaxRate       float64
	DefaultWindow int
	MinWindow     int
	MaxWindow     int
}

// bookingRequest is the JSON body of POST /v1/bookings. Pointers tell a
// missing field from a zero one.
type bookingRequest struct {
	Site          *string                    `json:"site"`
	Account       *accountRequest            `json:"account"`
	Court         *flexString                `json:"court"`
	Date          *string                    `json:"date"`
	Start         *string                    `json:"start"`
	End           *string                    `json:"end"`
	OpensAt       *string                    `json:"opens_at"`
	WindowSeconds *int                       `json:"window_seconds"`
	RatePerSecond *float64                   `json:"rate_per_second"`
	Phone         *string                    `json:"phone"`
	Name          *string                    `json:"name"`
	Fields        map[string]json.RawMessage `json:"fields"`
	Notify        *notifyRequest             `json:"notify"`
	// Choices are the slots in order of preference (choices.go); the
	// top-level date, start and end are their defaults.
	Choices  []choiceRequest `json:"choices"`
	Priority *int            `json:"priority"`
}

type accountRequest struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

// validBooking is a request that passed every check.
type validBooking struct {
	Site, Username, Password string
	Court, Date, Start, End  string
	OpensAt                  time.Time
	OpensAtComputed          bool
	Window                   int
	Rate                     float64
	Phone, Name              string
	Fields                   map[string]string
	NotifyOn, NotifyLanguage string
	// Choices are the booking's slots, expanded, the first being Court,
	// Date, Start and End (one for a one-slot booking).
	Choices  []booking.Choice
	Priority int
	Warnings []string
	// SlotProblems are the site's refusals of a well-formed slot (a court
	// or a time its profile does not have: SlotChecker). They are kept
	// apart from the request's own problems: alone they answer 422, not 400.
	SlotProblems []FieldProblem
}

var (
	siteRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	courtRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)
	fieldRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// decodeBooking parses and validates a request body. It never panics on any
// input (FuzzDecodeBooking) and reports every problem it finds.
func decodeBooking(body []byte, sites Sites, lim Limits, now time.Time) (validBooking, []FieldProblem) {
	var req bookingRequest
	unknown, ok := decodeStrict(body, &req)
	if !ok {
		return validBooking{}, unknown
	}
	v, probs := validate(req, sites, lim, now)
	return v, append(unknown, probs...)
}

// Booking is a POST /v1/bookings document that DecodeBooking accepted.
type Booking struct {
	Site, Username, Password string
	Court, Date, Start, End  string
	OpensAt                  time.Time
	Phone, Name              string
	Fields                   map[string]string
	// Choices are the booking's slots in order, expanded (the first is
	// Court, Date, Start and End; one for a one-slot booking).
	Choices  []booking.Choice
	Priority int
	Warnings []string
}

// Defaults fill what a booking document leaves out: each value is used
// only when the document has no such key (or an empty one), never over
// what the document says.
type Defaults struct {
	Site, Username, Password string
}

// DecodeBooking decodes and validates a POST /v1/bookings body exactly as
// the API does, after def has filled what the body leaves out. It is for
// the tools that read the same document, such as `reserver check
// --booking FILE`.
func DecodeBooking(body []byte, def Defaults, sites Sites, lim Limits, now time.Time) (Booking, []FieldProblem) {
	var req bookingRequest
	unknown, ok := decodeStrict(body, &req)
	if !ok {
		return Booking{}, unknown
	}
	fill := func(p **string, v string) {
		if v != "" && (*p == nil || **p == "") {
			*p = &v
		}
	}
	fill(&req.Site, def.Site)
	if req.Account == nil && (def.Username != "" || def.Password != "") {
		req.Account = &accountRequest{}
	}
	if req.Account != nil {
		fill(&req.Account.Username, def.Username)
		fill(&req.Account.Password, def.Password)
	}
	v, probs := validate(req, sites, lim, now)
	return Booking{
		Site: v.Site, Username: v.Username, Password: v.Password,
		Court: v.Court, Date: v.Date, Start: v.Start, End: v.End, OpensAt: v.OpensAt,
		Phone: v.Phone, Name: v.Name, Fields: v.Fields, Choices: v.Choices, Priority: v.Priority, Warnings: v.Warnings,
	}, append(append(unknown, probs...), v.SlotProblems...)
}

func validate(req bookingRequest, sites Sites, lim Limits, now time.Time) (validBooking, []FieldProblem) {
	var v validBooking
	var probs []FieldProblem
	bad := func(field, detail string) { probs = append(probs, FieldProblem{Field: field, Detail: detail}) }

	var site Site
	switch {
	case req.Site == nil || *req.Site == "":
		bad("site", "required: the name of a site profile, such as \"courtsim\"")
	case !siteRE.MatchString(*req.Site):
		bad("site", "expected a site profile name: lower-case letters, digits, '-' or '_'")
	default:
		s, ok := sites.Site(*req.Site)
		if !ok {
			bad("site", fmt.Sprintf("unknown site %q: no profile of that name is configured", *req.Site))
		} else {
			site = s
			v.Site = *req.Site
		}
	}

	switch {
	case req.Account == nil:
		bad("account", "required: an object {\"username\": ..., \"password\": ...} for the booking site")
	default:
		if req.Account.Username == nil || strings.TrimSpace(*req.Account.Username) == "" {
			bad("account.username", "required: the login name on the booking site")
		} else if len(*req.Account.Username) > 128 {
			bad("account.username", "too long: at most 128 bytes")
		} else {
			v.Username = *req.Account.Username
		}
		guest := false
		if g, ok := site.(GuestSite); ok {
			guest = g.Guest()
		}
		if req.Account.Password == nil || *req.Account.Password == "" {
			if !guest {
				bad("account.password", "required: the password on the booking site")
			}
		} else if len(*req.Account.Password) > 256 {
			bad("account.password", "too long: at most 256 bytes")
		} else {
			v.Password = *req.Account.Password
		}
	}

	loc := time.UTC
	if site != nil {
		loc = site.Location()
	}
	// The slot: a one-slot booking's top-level court, date, start and end
	// are its choice 1, checked by the same code as each of choices.
	slotBad := func(field, detail string) {
		v.SlotProblems = append(v.SlotProblems, FieldProblem{Field: field, Detail: detail})
	}
	var chosen []expandedChoice
	if req.Choices != nil {
		def := topLevelDefaults(req, loc, bad)
		var w []string
		chosen, w = checkChoices(req.Choices, def, site, true, "choices", bad, slotBad)
		v.Warnings = append(v.Warnings, w...)
		if req.Court != nil {
			bad("court", "give the court in each choice: with choices, a top-level court is not used")
		}
		if len(chosen) > 0 {
			sameOpening(chosen[1:], chosen[0].Choice, site, "choices", bad)
		}
	} else {
		var w []string
		chosen, w = checkChoices([]choiceRequest{{Court: req.Court, Date: req.Date, Start: req.Start, End: req.End}},
			booking.Choice{}, site, true, "", bad, slotBad)
		v.Warnings = append(v.Warnings, w...)
	}
	var playDate time.Time
	okSlot := len(chosen) > 0
	if okSlot {
		first := chosen[0]
		v.Court, v.Date, v.Start, v.End = first.Court, first.Date, first.Start, first.End
		playDate, _ = time.ParseInLocation(time.DateOnly, first.Date, loc)
		v.Choices = make([]booking.Choice, len(chosen))
		for i, c := range chosen {
			v.Choices[i] = c.Choice
		}
	}

	switch {
	case req.OpensAt != nil && *req.OpensAt != "":
		t, err := time.Parse(time.RFC3339Nano, *req.OpensAt)
		if err != nil {
			bad("opens_at", fmt.Sprintf("%q is not an RFC 3339 instant with an offset, such as 2026-12-01T10:00:00+09:00", *req.OpensAt))
			break
		}
		v.OpensAt = t
		if site != nil && !playDate.IsZero() {
			if rule, ok := site.OpensAt(playDate, v.Start, v.End); ok && !rule.Equal(t) {
				v.Warnings = append(v.Warnings, fmt.Sprintf("opens_at %s differs from the site's opening rule, which gives %s; the given opens_at is used",
					sitetime.Format(t, loc), sitetime.Format(rule, loc)))
			}
		}
	case site != nil && !playDate.IsZero():
		if t, ok := site.OpensAt(playDate, v.Start, v.End); ok {
			v.OpensAt = t
			v.OpensAtComputed = true
		} else if okSlot {
			bad("opens_at", "required: this site's profile has no opening rule, so give the opening instant (RFC 3339 with offset)")
		}
		// With a bad start or end (reported already) a rolling rule gives
		// nothing, so whether opens_at may be left out is not known yet.
	default:
		// Without a known site or a valid date, whether opens_at may be
		// left out is not known yet; those problems are reported already.
	}
	if !v.OpensAt.IsZero() {
		if !v.OpensAt.After(now) {
			bad("opens_at", fmt.Sprintf("%s is in the past (now is %s): the opening instant must be in the future",
				sitetime.Format(v.OpensAt, loc), sitetime.Format(now, loc)))
		}
		for _, c := range chosen {
			d, err := time.ParseInLocation(time.DateOnly, c.Date, loc)
			if err != nil {
				continue
			}
			playStart := time.Date(d.Year(), d.Month(), d.Day(), int(c.start/time.Hour), int(c.start%time.Hour/time.Minute), 0, 0, loc)
			if !v.OpensAt.Before(playStart) {
				what := "the play time"
				if req.Choices != nil {
					what = fmt.Sprintf("the play time of %s", c.position("choices"))
				}
				bad("opens_at", fmt.Sprintf("%s is not before %s %s: a booking must open before the court is played",
					sitetime.Format(v.OpensAt, loc), what, sitetime.Format(playStart, loc)))
				break
			}
		}
	}

	v.Window = lim.DefaultWindow
	if req.WindowSeconds != nil {
		if *req.WindowSeconds < lim.MinWindow || *req.WindowSeconds > lim.MaxWindow {
			bad("window_seconds", fmt.Sprintf("expected an integer from %d to %d", lim.MinWindow, lim.MaxWindow))
		}
		v.Window = *req.WindowSeconds
	}
	maxRate, maxBy := rateCeiling(site, v.Site, lim)
	v.Rate = min(lim.DefaultRate, maxRate)
	if req.RatePerSecond != nil {
		if !(*req.RatePerSecond > 0) || *req.RatePerSecond > maxRate {
			bad("rate_per_second", fmt.Sprintf("expected a number of requests per second above 0 and at most %g (%s)", maxRate, maxBy))
		}
		v.Rate = *req.RatePerSecond
	}

	if req.Phone != nil && *req.Phone != "" {
		p, err := normalizePhone(*req.Phone)
		if err != nil {
			bad("phone", err.Error())
		}
		v.Phone = p
	}
	if req.Name != nil {
		if utf8.RuneCountInString(*req.Name) > 50 {
			bad("name", "too long: at most 50 characters")
		}
		v.Name = *req.Name
	}

	v.NotifyOn, v.NotifyLanguage = validateNotify(req.Notify, bad)

	v.Fields = map[string]string{}
	if len(req.Fields) > 32 {
		bad("fields", "at most 32 site-specific fields")
	}
	names := make([]string, 0, len(req.Fields))
	for k := range req.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !fieldRE.MatchString(k) {
			bad("fields."+k, "field names are letters, digits and '_'")
			continue
		}
		s, ok := scalar(req.Fields[k])
		if !ok {
			bad("fields."+k, "expected a string, number or boolean")
			continue
		}
		if len(s) > 512 {
			bad("fields."+k, "too long: at most 512 bytes")
			continue
		}
		v.Fields[k] = s
	}
	if site != nil {
		for _, p := range site.CheckFields(v.Fields) {
			if !strings.HasPrefix(p.Field, "fields.") {
				p.Field = "fields." + p.Field
			}
			probs = append(probs, p)
		}
	}
	if req.Priority != nil {
		if *req.Priority < 0 || *req.Priority > 100 {
			bad("priority", "expected an integer from 0 to 100: lower submits first among the account's bookings that open at the same instant")
		}
		v.Priority = *req.Priority
	}
	return v, probs
}

// topLevelDefaults are the date, start and end of a booking with choices:
// optional, each a default of the choices that leave it out. One that is
// given is checked here; only valid ones are returned.
func topLevelDefaults(req bookingRequest, loc *time.Location, bad func(string, string)) booking.Choice {
	var def booking.Choice
	if req.Date != nil && *req.Date != "" {
		if _, err := time.ParseInLocation(time.DateOnly, *req.Date, loc); err != nil {
			bad("date", fmt.Sprintf("%q is not a date that exists: expected YYYY-MM-DD", *req.Date))
		} else {
			def.Date = *req.Date
		}
	}
	if req.Start != nil && *req.Start != "" {
		if _, ok := clock(req.Start, "start", bad); ok {
			def.Start = *req.Start
		}
	}
	if req.End != nil && *req.End != "" {
		if _, ok := clock(req.End, "end", bad); ok {
			def.End = *req.End
		}
	}
	return def
}

// rateCeiling is the highest rate a booking of site (named name; nil:
// unknown) may ask for, and what sets it.
func rateCeiling(site Site, name string, lim Limits) (float64, string) {
	maxRate, maxBy := lim.MaxRate, "the configured ceiling"
	if rc, ok := site.(RateCeiling); ok && rc.RatePerSecond() > 0 && rc.RatePerSecond() < maxRate {
		maxRate, maxBy = rc.RatePerSecond(), fmt.Sprintf("the rate_per_second of site %q", name)
	}
	return maxRate, maxBy
}

// clock parses "HH:MM" into the duration since midnight.
func clock(s *string, field string, bad func(string, string)) (time.Duration, bool) {
	if s == nil || *s == "" {
		bad(field, "required: a site-local time as HH:MM")
		return 0, false
	}
	t, err := time.Parse("15:04", *s)
	if err != nil || len(*s) != 5 {
		bad(field, fmt.Sprintf("%q is not a time that exists: expected HH:MM from 00:00 to 23:59", *s))
		return 0, false
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true
}
