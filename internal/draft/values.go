package draft

import (
	"fmt"
	"regexp"
	"reserver/internal/profile"
	"sort"
	"strings"
	"time"
)

// Sample is the booking made by hand in the recording: the same document
// as a POST /v1/bookings body, and the password (read from the
// environment, never from a file) so that it can be found and masked.
type Sample struct {
	Court    string
	Date     string // YYYY-MM-DD
	Start    string // HH:MM
	End      string // HH:MM
	Name     string
	Phone    string
	Username string
	Password string
	Fields   map[string]string
}

// param is one spelling of a booking value and the template that writes it.
type param struct {
	lit  string // as the site wrote it
	tmpl string // the template, without {{ }} when whole is false
	what string // for the report: "the play date as 20261224"
	// short: a value too short to find inside another one; it is only
	// taken when a request value equals it, and then only with a name hint
	// or no other reading.
	short bool
	hint  *regexp.Regexp // names that suggest this value (court, people, ...)
	field string         // the booking value: court, date, start, end, name, phone, username, password, fields.x
}

var (
	courtHint  = regexp.MustCompile(`(?i)court|facil|fac(no|id)?$|resource|room|lane|코트|시설|place|site_?no|item`)
	peopleHint = regexp.MustCompile(`(?i)people|person|player|count|qty|인원|num`)
)

// params lists every spelling of the sample's values, longest first, in
// the site zone loc.
func (s Sample) params(loc *time.Location) []param {
	var out []param
	add := func(lit, tmpl, what, field string, short bool, hint *regexp.Regexp) {
		if lit == "" {
			return
		}
		for _, p := range out {
			if p.lit == lit {
				return // the first reading wins (password before username, …)
			}
		}
		out = append(out, param{lit: lit, tmpl: tmpl, what: what, field: field, short: short, hint: hint})
	}
	add(s.Password, ".Account.Password", "the password", "password", false, nil)
	add(s.Username, ".Account.Username", "the account's username", "username", len(s.Username) < 4, nil)
	add(s.Name, ".Booking.Name", "the booker's name", "name", len(s.Name) < 2, nil)
	// The spellings the template functions write, from the functions.
	if local := profile.LocalPhone(s.Phone); local != "" {
		e164 := "+82" + strings.TrimPrefix(local, "0")
		add(e164, ".Booking.Phone", "the phone (E.164)", "phone", false, nil)
		add(profile.DashPhone(s.Phone), "dashphone .Booking.Phone", "the phone as 010-1234-5678", "phone", false, nil)
		add(local, "localphone .Booking.Phone", "the phone as 01012345678", "phone", false, nil)
	}
	if d, err := time.ParseInLocation(time.DateOnly, s.Date, loc); err == nil {
		start, okS := atClock(d, s.Start)
		end, okE := atClock(d, s.End)
		if okS {
			add(start.Format(time.RFC3339), "iso .Booking.StartAt", "the slot's start as RFC 3339", "start", false, nil)
			add(start.Format("2006-01-02T15:04:05"), `date "2006-01-02T15:04:05" .Booking.StartAt`, "the slot's start, ISO without offset", "start", false, nil)
			add(start.Format("2006-01-02T15:04"), `date "2006-01-02T15:04" .Booking.StartAt`, "the slot's start, ISO to the minute", "start", false, nil)
			add(start.Format("2006-01-02 15:04:05"), `date "2006-01-02 15:04:05" .Booking.StartAt`, "the slot's start with seconds", "start", false, nil)
			add(start.Format("2006-01-02 15:04"), `date "2006-01-02 15:04" .Booking.StartAt`, "the slot's start", "start", false, nil)
		}
		if okE {
			add(end.Format(time.RFC3339), "iso .Booking.EndAt", "the slot's end as RFC 3339", "end", false, nil)
			add(end.Format("2006-01-02T15:04:05"), `date "2006-01-02T15:04:05" .Booking.EndAt`, "the slot's end, ISO without offset", "end", false, nil)
			add(end.Format("2006-01-02T15:04"), `date "2006-01-02T15:04" .Booking.EndAt`, "the slot's end, ISO to the minute", "end", false, nil)
			add(end.Format("2006-01-02 15:04:05"), `date "2006-01-02 15:04:05" .Booking.EndAt`, "the slot's end with seconds", "end", false, nil)
			add(end.Format("2006-01-02 15:04"), `date "2006-01-02 15:04" .Booking.EndAt`, "the slot's end", "end", false, nil)
		}
		add(d.Format("2006-01-02"), `date "2006-01-02" .Booking.Date`, "the play date as 2026-12-24", "date", false, nil)
		add(d.Format("2006.01.02"), `date "2006.01.02" .Booking.Date`, "the play date as 2026.12.24", "date", false, nil)
		add(d.Format("2006/01/02"), `date "2006/01/02" .Booking.Date`, "the play date as 2026/12/24", "date", false, nil)
		add(d.Format("20060102"), "yyyymmdd .Booking.Date", "the play date as 20261224", "date", false, nil)
		if okS {
			add(start.Format("15:04"), ".Booking.Start", "the slot's start as 10:00", "start", false, nil)
			add(start.Format("15:04:05"), `date "15:04:05" .Booking.StartAt`, "the slot's start as 10:00:00", "start", false, nil)
			add(start.Format("3:04 PM"), `date "3:04 PM" .Booking.StartAt`, "the slot's start as 10:00 AM", "start", false, nil)
			add(fmt.Sprintf("%d시", start.Hour()), "hour .Booking.Start", "the slot's start hour as 10시 (the 시 is kept)", "start", true, nil)
			add(start.Format("1504"), `date "1504" .Booking.StartAt`, "the slot's start as 1000", "start", true, nil)
		}
		if okE {
			add(end.Format("15:04"), ".Booking.End", "the slot's end as 11:00", "end", false, nil)
			add(end.Format("15:04:05"), `date "15:04:05" .Booking.EndAt`, "the slot's end as 11:00:00", "end", false, nil)
			add(end.Format("3:04 PM"), `date "3:04 PM" .Booking.EndAt`, "the slot's end as 11:00 AM", "end", false, nil)
			add(end.Format("1504"), `date "1504" .Booking.EndAt`, "the slot's end as 1100", "end", true, nil)
		}
	}
	for _, k := range sortedKeys(s.Fields) {
		add(s.Fields[k], ".Booking.Fields."+k, "the booking field "+k, "fields."+k, len(s.Fields[k]) < 4, peopleHintFor(k))
	}
	add(s.Court, ".Booking.Court", "the court", "court", len(s.Court) < 4, courtHint)
	if len(s.Court) == 1 {
		add("0"+s.Court, `printf "%02s" .Booking.Court`, "the court as 03", "court", true, courtHint)
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].lit) > len(out[j].lit) })
	return out
}

func peopleHintFor(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)` + regexp.QuoteMeta(name) + `|` + peopleHint.String()[4:])
}

func atClock(d time.Time, hhmm string) (time.Time, bool) {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		if hhmm == "24:00" {
			return d.AddDate(0, 0, 1), true
		}
		return time.Time{}, false
	}
	return time.Date(d.Year(), d.Month(), d.Day(), t.Hour(), t.Minute(), 0, 0, d.Location()), true
}

// parametrize writes value as a template over the sample's values. name
// is the field, parameter or key it is sent under (for the hints of short
// values). It returns the template source (value itself when nothing
// matched), the params used, and whether a short value was taken on a
// guess (no name hint).
func parametrize(value, name string, ps []param) (string, []param, bool) {
	// A whole value first: the short spellings count only so.
	for _, p := range ps {
		if value != p.lit {
			continue
		}
		if p.short && p.hint != nil && !p.hint.MatchString(name) && otherHintMatches(ps, p, value, name) {
			continue
		}
		guess := p.short && (p.hint == nil || !p.hint.MatchString(name))
		return "{{ " + p.tmpl + " }}" + kept(p), []param{p}, guess
	}
	// Long spellings inside a longer value, at word boundaries.
	var used []param
	out := value
	for _, p := range ps {
		if p.short || len(p.lit) < 6 || !strings.Contains(out, p.lit) {
			continue
		}
		re := regexp.MustCompile(`(^|[^0-9A-Za-z])` + regexp.QuoteMeta(p.lit) + `($|[^0-9A-Za-z])`)
		if !re.MatchString(out) {
			continue
		}
		out = re.ReplaceAllString(out, "${1}{{ "+p.tmpl+" }}${2}")
		used = append(used, p)
	}
	return out, used, false
}

// otherHintMatches reports whether another short reading of the same value
// names this field better.
func otherHintMatches(ps []param, p param, value, name string) bool {
	for _, q := range ps {
		if q.lit == value && q.field != p.field && q.hint != nil && q.hint.MatchString(name) {
			return true
		}
	}
	return false
}

// kept is literal text a template leaves around the value ("10시").
func kept(p param) string {
	if strings.HasSuffix(p.lit, "시") && p.tmpl == "hour .Booking.Start" {
		return "시"
	}
	return ""
}
