package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"
)

// The answers of DELETE /v1/bookings/{id}: 200 cancelled; 202 requested
// from the instance running it (read the final state later); 409 with
// problemBookedBeforeCancel when a submit already on the wire won (the
// booking succeeded with its reservation); any other 409 when the booking
// had already ended.
const problemBookedBeforeCancel = "/problems/booked-before-cancel"

// cancelAnswer is what one DELETE got.
type cancelAnswer struct {
	id      int64
	planned time.Time
	status  int
	problem string // the problem type of a 4xx
	err     error
}

// cancelOnce sends DELETE /v1/bookings/{id} and reads the status and the
// problem type.
func (c *cluster) cancelOnce(ctx context.Context, id int64) (status int, problem string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, fmt.Sprintf("%s/v1/bookings/%d", c.apiURL, id), nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 400 {
		var p struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(b, &p)
		problem = p.Type
	}
	return resp.StatusCode, problem, nil
}

// runCancel: bookings are cancelled through the API at random moments from
// opens_at − 30 s to opens_at + 5 s, most of them in the last three seconds
// before the opening, where a cancel races the running window. A cancel
// answered 200 must end cancelled with nothing booked at the site; a 409
// booked-before-cancel must end succeeded with the site's reservation; a
// 202 may end either way, and the audit holds it to the same rules.
func runCancel(ctx context.Context, o Options, r *result) error {
	c, err := setup(ctx, o, r, clusterSpec{name: "cancel", bookings: o.Bookings, openIn: 33 * time.Second, window: 30, daemons: 3})
	if err != nil {
		return err
	}
	defer finish(c, o, r)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	uniform := func(from, to time.Duration) time.Time {
		return c.opensAt.Add(from + time.Duration(rng.Int64N(int64(to-from))))
	}
	var plan []cancelAnswer
	race := 0
	for i, b := range c.bookings {
		var at time.Time
		switch i % 4 {
		case 0:
			at = uniform(-30*time.Second, 5*time.Second)
		case 1, 2:
			at = uniform(-3*time.Second, time.Second)
			race++
		default:
			continue // a control: never cancelled
		}
		plan = append(plan, cancelAnswer{id: b.ID, planned: at})
	}
	var wg sync.WaitGroup
	for i := range plan {
		wg.Add(1)
		go func(a *cancelAnswer) {
			defer wg.Done()
			if a.err = sleepUntil(ctx, a.planned); a.err != nil {
				return
			}
			a.status, a.problem, a.err = c.cancelOnce(ctx, a.id)
		}(&plan[i])
	}
	wg.Wait()
	for _, a := range plan {
		if a.err != nil {
			return fmt.Errorf("cancel %d: %w", a.id, a.err)
		}
	}
	_, l, s, err := settle(ctx, c, r)
	if err != nil {
		return err
	}
	numbers := map[string][]string{} // reservations by account
	for _, res := range l.Reservations {
		numbers[res.Account] = append(numbers[res.Account], res.Number)
	}
	account := map[int64]string{}
	for _, b := range c.bookings {
		account[b.ID] = b.Account
	}
	counts := map[string]int{}
	sort.Slice(plan, func(i, j int) bool { return plan[i].planned.Before(plan[j].planned) })
	for _, a := range plan {
		b := s.Bookings[a.id]
		booked := numbers[account[a.id]]
		at := a.planned.Sub(c.opensAt).Round(time.Millisecond)
		switch {
		case a.status == http.StatusOK:
			counts["200"]++
			if b.State != "cancelled" {
				r.breaks(fmt.Sprintf("cancel_200_of_%d_is_%s", a.id, b.State))
			}
		case a.status == http.StatusAccepted:
			counts["202"]++
			counts["202_"+b.State]++
		case a.status == http.StatusConflict && a.problem == problemBookedBeforeCancel:
			counts["409_booked"]++
			if b.State != "succeeded" || len(booked) != 1 || booked[0] != b.ReservationNo {
				r.breaks(fmt.Sprintf("booked_409_of_%d_is_%s_%q_site_%v", a.id, b.State, b.ReservationNo, booked))
			}
		case a.status == http.StatusConflict:
			counts["409_finished"]++
		default:
			counts["other"]++
			r.breaks(fmt.Sprintf("cancel_%d_answered_%d", a.id, a.status))
		}
		if b.State == "cancelled" && len(booked) > 0 {
			o.logf("cancel: booking %d cancelled at T%+v (answer %d %s) but booked at the site as %v", a.id, at, a.status, a.problem, booked)
		}
	}
	r.set("seed", seed)
	r.set("cancels", len(plan))
	r.set("cancels_near_open", race)
	r.set("cancel_200", counts["200"])
	r.set("cancel_202", counts["202"])
	r.set("cancel_202_cancelled", counts["202_cancelled"])
	r.set("cancel_202_succeeded", counts["202_succeeded"])
	r.set("cancel_409_booked", counts["409_booked"])
	r.set("cancel_409_finished", counts["409_finished"])
	r.set("cancel_other", counts["other"])
	return nil
}
