package booking

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"reserver/internal/profile"
)

// Choice is one slot a booking may take: a court on a play date from
// start to end (site-local). A booking has one or more, in the order the
// user prefers them; the first is the one its Court, PlayDate, StartTime
// and EndTime hold.
type Choice struct {
	Court string `json:"court"`
	Date  string `json:"date"`  // YYYY-MM-DD in the site's zone
	Start string `json:"start"` // HH:MM site-local
	End   string `json:"end"`   // HH:MM site-local
}

// MaxChoices bounds a booking's choices once the site's profile expanded
// "any court" shorthands.
const MaxChoices = 16

// String is "court 3, 2026-12-10 10:00-11:00".
func (c Choice) String() string {
	return fmt.Sprintf("court %s, %s %s-%s", c.Court, c.Date, c.Start, c.End)
}

// Choices are the booking's slots in order of preference: the stored list,
// or its one slot.
func (b *Booking) Choices() []Choice {
	first := Choice{Court: b.Court, Date: b.PlayDate, Start: b.StartTime, End: b.EndTime}
	if b.ChoiceList == nil || *b.ChoiceList == "" {
		return []Choice{first}
	}
	var cs []Choice
	if err := json.Unmarshal([]byte(*b.ChoiceList), &cs); err != nil || len(cs) == 0 {
		return []Choice{first}
	}
	return cs
}

// Won is the choice the site booked, when the booking succeeded (a
// booking with one slot that succeeded before choices existed won it).
func (b *Booking) Won() (Choice, bool) {
	if b.State != Succeeded {
		return Choice{}, false
	}
	cs := b.Choices()
	i := 1
	if b.WonChoice != nil {
		i = *b.WonChoice
	}
	if i < 1 || i > len(cs) {
		return Choice{}, false
	}
	return cs[i-1], true
}

// BookedChoice is the 1-based choice the site booked: won_choice (also
// on a failed or cancelled booking that a late reservation was recorded
// for, flagged for review), 1 for a success recorded without one, 0 when
// nothing was booked.
func (b *Booking) BookedChoice() int {
	if w := b.WonChoice; w != nil && *w >= 1 && *w <= len(b.Choices()) {
		return *w
	}
	if _, ok := b.Won(); ok {
		return 1
	}
	return 0
}

// Slot is the slot to show for the booking: the one booked
// (BookedChoice), else its first choice.
func (b *Booking) Slot() Choice {
	cs := b.Choices()
	if w := b.BookedChoice(); w > 0 {
		return cs[w-1]
	}
	return cs[0]
}

// ChoiceTemplateData is what a site profile's templates see of the
// booking while it is trying choice c: TemplateData with c's slot.
func (b *Booking) ChoiceTemplateData(loc *time.Location, c Choice) profile.BookingData {
	d := b.TemplateData(loc)
	date, _ := time.ParseInLocation("2006-01-02", c.Date, loc)
	d.Court, d.Date, d.Start, d.End = c.Court, date, c.Start, c.End
	return d
}

// errChoices is wrapped by every problem checkChoices finds.
var errChoices = errors.New("choices")

// checkChoices refuses a list the store must not keep: too many, an
// empty value, or the same slot twice. The API validates each value
// first; this guards the data.
func checkChoices(cs []Choice) error {
	if len(cs) > MaxChoices {
		return fmt.Errorf("%w: %d choices, at most %d", errChoices, len(cs), MaxChoices)
	}
	seen := make(map[Choice]int, len(cs))
	for i, c := range cs {
		if c.Court == "" || c.Date == "" || c.Start == "" || c.End == "" {
			return fmt.Errorf("%w: choice %d lacks a court, date, start or end", errChoices, i+1)
		}
		if j, dup := seen[c]; dup {
			return fmt.Errorf("%w: choice %d is choice %d again (%s)", errChoices, i+1, j, c)
		}
		seen[c] = i + 1
	}
	return nil
}

// encodeChoices is the choices column for cs: nil for one slot.
func encodeChoices(cs []Choice) (*string, error) {
	if len(cs) <= 1 {
		return nil, nil
	}
	if err := checkChoices(cs); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(cs)
	if err != nil {
		return nil, err
	}
	s := string(raw)
	return &s, nil
}
