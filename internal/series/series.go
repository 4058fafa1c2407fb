// Package series owns recurring bookings: a series is a rule for which
// slots to book (weekdays at the series' time, or a cron expression in the
// site's zone), a season, skipped dates and the booking's own fields. The
// Materialiser turns each occurrence into an ordinary booking (through
// booking.Store, so it is visible, cancellable and reviewable like any)
// once its opening is within a horizon, and records it in
// series_occurrences, whose key (series_id, play_date) makes "created once"
// the database's decision however many daemons run.
//
// It does not run bookings (schedule does), validate API requests (api
// does, with the site's profile) or compute openings (the site's profile
// does: Site.OpensAt). A series may carry choices (issue 18): an ordered
// list of courts and times without a date, which each occurrence's booking
// takes with the occurrence's date filled in; and the booking's notify
// settings, which each occurrence's booking gets.
package series

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"reserver/internal/booking"
)

// State is a series' state: active → paused → active, and either → ended.
// Ended is terminal.
type State string

// The states of a series.
const (
	Active State = "active" // the materialiser creates its occurrences
	Paused State = "paused" // nothing is created until it is resumed
	Ended  State = "ended"  // nothing more is created, ever
)

// ParseState returns the State named s.
func ParseState(s string) (State, error) {
	switch st := State(s); st {
	case Active, Paused, Ended:
		return st, nil
	}
	return "", fmt.Errorf("unknown series state %q: expected active, paused or ended", s)
}

// Series is one recurring booking.
type Series struct {
	ID       int64
	TenantID int64
	Site     string
	Username string
	// PasswordEnc is the site password, sealed (see Store.Password); each
	// occurrence's booking is created with it.
	PasswordEnc []byte `json:"-"`
	Court       string
	// Weekdays ("sat,sun") with StartTime/EndTime is a weekday rule; Cron
	// with SlotMinutes is a cron rule (its matches are the slot starts).
	// Exactly one of Weekdays and Cron is set.
	Weekdays    string
	Cron        string
	StartTime   string // HH:MM site-local (weekday rule)
	EndTime     string // HH:MM site-local (weekday rule)
	SlotMinutes int    // cron rule: each slot's length
	SeasonFrom  string // YYYY-MM-DD site-local, inclusive
	SeasonUntil string // YYYY-MM-DD site-local, inclusive
	// Skip is a JSON array of YYYY-MM-DD dates on which nothing is booked.
	Skip          string
	WindowSeconds int
	RatePerSecond float64
	Phone         string
	BookerName    string
	Fields        string // JSON object of site-specific values
	// ChoiceList is the JSON list of the series' choices (booking.Choice
	// with Date "": each occurrence's date; Start and End "" for a cron
	// rule's choice that keeps the occurrence's slot), nil when every
	// occurrence books Court alone. The first choice's court is Court.
	ChoiceList *string `gorm:"column:choices"`
	// NotifyOn and NotifyLanguage are the notify settings every
	// occurrence's booking gets (booking.Booking's; empty: the defaults).
	NotifyOn       string
	NotifyLanguage string
	State          State
	IdempotencyKey *string
	RequestHash    string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	EndedAt        *time.Time
}

// TableName keeps gorm on the migration's table name.
func (Series) TableName() string { return "series" }

// Rule is the series' rule.
func (s *Series) Rule() (Rule, error) {
	r := Rule{Cron: s.Cron, SlotMinutes: s.SlotMinutes, Start: s.StartTime, End: s.EndTime}
	if s.Weekdays != "" {
		days, err := ParseWeekdays(strings.Split(s.Weekdays, ","))
		if err != nil {
			return Rule{}, err
		}
		r.Weekdays = days
	}
	return r, r.Check()
}

// SkipDates are the dates on which nothing is booked.
func (s *Series) SkipDates() []string {
	var out []string
	if s.Skip != "" {
		_ = json.Unmarshal([]byte(s.Skip), &out)
	}
	return out
}

// FieldMap decodes the site-specific fields.
func (s *Series) FieldMap() map[string]string {
	m := map[string]string{}
	if s.Fields != "" {
		_ = json.Unmarshal([]byte(s.Fields), &m)
	}
	return m
}

// Choices are the series' stored choices (dates empty), nil when it has
// none.
func (s *Series) Choices() []booking.Choice {
	if s.ChoiceList == nil || *s.ChoiceList == "" {
		return nil
	}
	var cs []booking.Choice
	if err := json.Unmarshal([]byte(*s.ChoiceList), &cs); err != nil || len(cs) == 0 {
		return nil
	}
	return cs
}

// OccurrenceChoices are the choices of the occurrence sl: the series'
// choices on sl's date, a choice without times taking sl's; nil when the
// series has no choices (its occurrences book Court at sl's times).
func (s *Series) OccurrenceChoices(sl Slot) []booking.Choice {
	cs := s.Choices()
	for i := range cs {
		cs[i].Date = sl.Date
		if cs[i].Start == "" {
			cs[i].Start = sl.Start
		}
		if cs[i].End == "" {
			cs[i].End = sl.End
		}
	}
	return cs
}

// Slots are the series' slots over its whole season, skipped dates
// included (Slot.Skipped), in date order.
func (s *Series) Slots(loc *time.Location) ([]Slot, error) {
	r, err := s.Rule()
	if err != nil {
		return nil, err
	}
	from, err := time.ParseInLocation(dateLayout, s.SeasonFrom, loc)
	if err != nil {
		return nil, fmt.Errorf("season from %q: %w", s.SeasonFrom, err)
	}
	until, err := time.ParseInLocation(dateLayout, s.SeasonUntil, loc)
	if err != nil {
		return nil, fmt.Errorf("season until %q: %w", s.SeasonUntil, err)
	}
	return r.Slots(from, until, s.SkipDates())
}

// Occurrence is one date of a series that the materialiser handled: the
// booking it created (BookingID), or why none was (Note).
type Occurrence struct {
	SeriesID  int64  `gorm:"primaryKey;autoIncrement:false"`
	PlayDate  string `gorm:"primaryKey"`
	StartTime string
	EndTime   string
	OpensAt   time.Time
	BookingID *int64
	Note      string
	CreatedAt time.Time
}

// TableName keeps gorm on the migration's table name.
func (Occurrence) TableName() string { return "series_occurrences" }
