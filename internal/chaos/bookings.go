package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// bookingRef is one booking the harness created.
type bookingRef struct {
	ID      int64
	Account string
	// Choices are the booking's slots in its order; the first is its own
	// (court, date, start, end). A one-slot booking has one. No slot is a
	// choice of two bookings, so a slot names its booking.
	Choices []slotRef
}

// slotRef is one slot of the site: facilityNo, date and timeNo.
type slotRef struct {
	Facility int
	Date     string
	Slot     int
}

func (s slotRef) String() string {
	return fmt.Sprintf("facility %d %s slot %d", s.Facility, s.Date, s.Slot)
}

// choice returns the 1-based choice of r that is slot s, or 0.
func (r bookingRef) choice(s slotRef) int {
	for i, c := range r.Choices {
		if c == s {
			return i + 1
		}
	}
	return 0
}

// pretake is a slot a competitor account reserved through the simulator
// before the opening: a choice of a booking that the daemon must find
// sold out and move past.
type pretake struct {
	Account string // a competitor: an account no booking uses
	Slot    slotRef
	Number  string // the site's reservation number
	Booking int64  // the booking whose choice it is
	Choice  int    // 1-based
}

// The courtsim profile's courts (configs/sites/courtsim.yaml: "1-10") and
// the simulator's slots a day (-slots): the API refuses a court the
// profile does not list.
const (
	siteCourts = 10
	siteSlots  = 12
)

// perDay is how many bookings of choices slots each fit one play date:
// twelve slots, and at each as many bookings as the profile's courts hold
// runs of choices courts (10 of one slot, 3 of three).
func perDay(choices int) int { return siteSlots * (siteCourts / max(choices, 1)) }

// facilitiesFor is the simulator's -facilities for n bookings of the given
// number of choices: the highest court they use.
func facilitiesFor(n, choices int) int {
	f := 1
	for i := range min(n, perDay(choices)) {
		for _, s := range bookingSlots(i, choices, time.Time{}) {
			f = max(f, s.Facility)
		}
	}
	return f
}

// bookingSlots are the choices of booking i (0-based): all at one slot of
// the play date first + i/perDay days; within its date booking j takes
// slot j%12+1 on the (j/12)-th run of choices courts (one choice: court
// j/12+1, as before choices existed). No slot is two bookings'.
func bookingSlots(i, choices int, first time.Time) []slotRef {
	choices = max(choices, 1)
	day, j := i/perDay(choices), i%perDay(choices)
	date := first.AddDate(0, 0, day).Format(time.DateOnly)
	g, slot := j/siteSlots, j%siteSlots+1
	out := make([]slotRef, choices)
	for k := range out {
		out[k] = slotRef{Facility: g*choices + k + 1, Date: date, Slot: slot}
	}
	return out
}

// createBookings posts spec.bookings distinct bookings (one account and
// its own slots each) through the API, a few at a time.
func (c *cluster) createBookings(ctx context.Context) error {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		return err
	}
	first := c.opensAt.In(seoul).AddDate(0, 0, 14)
	refs := make([]bookingRef, c.spec.bookings)
	errs := make(chan error, c.spec.bookings)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range refs {
		ref := bookingRef{Account: fmt.Sprintf("user%03d", i+1), Choices: bookingSlots(i, c.spec.choices, first)}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			own := ref.Choices[0]
			hour := own.Slot + 5
			body := map[string]any{
				"site":           "courtsim",
				"account":        map[string]string{"username": ref.Account, "password": "pass1234"},
				"date":           own.Date,
				"start":          fmt.Sprintf("%02d:00", hour),
				"end":            fmt.Sprintf("%02d:00", hour+1),
				"opens_at":       c.opensAt.In(seoul).Format(time.RFC3339),
				"window_seconds": c.spec.window,
				"phone":          "010-1234-5678",
				"name":           "Chaos",
			}
			if len(ref.Choices) == 1 {
				body["court"] = fmt.Sprint(own.Facility)
			} else {
				// The date and times default to the top-level ones.
				var choices []map[string]string
				for _, ch := range ref.Choices {
					choices = append(choices, map[string]string{"court": fmt.Sprint(ch.Facility)})
				}
				body["choices"] = choices
			}
			if c.spec.rate > 0 {
				body["rate_per_second"] = c.spec.rate
			}
			var out struct {
				ID      int64 `json:"id"`
				Choices []struct {
					Court string `json:"court"`
					Date  string `json:"date"`
					Start string `json:"start"`
				} `json:"choices"`
			}
			if err := c.call(ctx, http.MethodPost, "/v1/bookings", fmt.Sprintf("chaos-%d", i), body, &out, http.StatusCreated); err != nil {
				errs <- fmt.Errorf("booking %d: %w", i, err)
				return
			}
			if len(ref.Choices) > 1 {
				// The audit maps the site's reservations to choices by the
				// slots sent: the API must have kept them, in order.
				var got, want []string
				for _, ch := range out.Choices {
					got = append(got, fmt.Sprintf("%s %s %s", ch.Court, ch.Date, ch.Start))
				}
				for _, ch := range ref.Choices {
					want = append(want, fmt.Sprintf("%d %s %02d:00", ch.Facility, ch.Date, ch.Slot+5))
				}
				if !slices.Equal(got, want) {
					errs <- fmt.Errorf("booking %d (id %d): the API answered the choices %q for %q", i, out.ID, got, want)
					return
				}
			}
			ref.ID = out.ID
			refs[i] = ref
		}()
	}
	wg.Wait()
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		return err
	}
	c.bookings = refs
	return nil
}

// pretakeChoices reserves, through the simulator and before the opening,
// choice 1 of every booking i with i%4 < 2 and also choice 2 when i%4 == 0,
// each under its own competitor account (user numbers after the bookings'
// ones): half the bookings must fall through to choice 2, a quarter to
// choice 3. A competitor holds one reservation, so none of it can look
// like a double booking. Bookings with fewer than three choices are left
// alone.
func (c *cluster) pretakeChoices(ctx context.Context) error {
	next := len(c.bookings)
	for i, ref := range c.bookings {
		if len(ref.Choices) < 3 {
			continue
		}
		taken := 0
		switch i % 4 {
		case 0:
			taken = 2
		case 1:
			taken = 1
		}
		for k := range taken {
			next++
			p := pretake{Account: fmt.Sprintf("user%03d", next), Slot: ref.Choices[k], Booking: ref.ID, Choice: k + 1}
			n, err := c.reserve(ctx, p.Account, p.Slot)
			if err != nil {
				return fmt.Errorf("pre-take choice %d of booking %d: %w", p.Choice, ref.ID, err)
			}
			p.Number = n
			c.pretakes = append(c.pretakes, p)
		}
	}
	if now := time.Now(); !now.Before(c.opensAt) {
		return fmt.Errorf("chaos: the pre-takes ended at %s, after the opening at %s", now.Format("15:04:05.000"), c.opensAt.Format("15:04:05"))
	}
	return nil
}

// reserve books slot s for account at the simulator (POST /_sim/reserve),
// as if the account had booked it earlier; it returns the number.
func (c *cluster) reserve(ctx context.Context, account string, s slotRef) (string, error) {
	form := url.Values{"account": {account}, "facility": {fmt.Sprint(s.Facility)}, "date": {s.Date}, "slot": {fmt.Sprint(s.Slot)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.simURL+"/_sim/reserve", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("simulator reserve %s for %s: %d %s", s, account, resp.StatusCode, bytes.TrimSpace(b))
	}
	var out struct {
		Number string `json:"number"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Number == "" {
		return "", fmt.Errorf("simulator reserve %s for %s: no number in %q", s, account, bytes.TrimSpace(b))
	}
	return out.Number, nil
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}
