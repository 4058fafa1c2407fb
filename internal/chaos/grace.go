package chaos

import (
	"context"
	"slices"
	"time"
)

// graceScenario is the daemon grace of the grace scenario.
const graceScenario = 15 * time.Second

// runGrace: one daemon gets SIGTERM mid-window (the site opens only after
// the grace, so its windows keep submitting). During the grace nobody else
// may claim its bookings and its windows keep submitting; when the grace
// ends its leases are released and the others take over promptly.
func runGrace(ctx context.Context, o Options, r *result) error {
	c, err := setup(ctx, o, r, clusterSpec{name: "grace", bookings: o.Bookings, openIn: 30 * time.Second, window: 60, daemons: 3,
		siteOpensAfter: 3*time.Second + graceScenario + 12*time.Second, grace: graceScenario, rate: 1})
	if err != nil {
		return err
	}
	defer finish(c, o, r)
	if err := sleepUntil(ctx, c.opensAt.Add(3*time.Second)); err != nil {
		return err
	}
	d := c.daemon(0)
	held, err := c.held(ctx, d.instance)
	if err != nil {
		return err
	}
	o.logf("grace: SIGTERM %s holding %d bookings", d.instance, len(held))
	// terminate returns once the daemon exited (or was killed after the
	// grace and ten seconds more).
	term, byself := c.terminate(d, graceScenario+10*time.Second)
	exitedAt := time.Now()
	_, l, s, err := settle(ctx, c, r)
	if err != nil {
		return err
	}
	graceEnd := term.Add(graceScenario)
	accounts := map[string]bool{}
	for _, b := range c.bookings {
		if slices.Contains(held, b.ID) {
			accounts[b.Account] = true
		}
	}
	// Claims during the grace: any attempt row of another instance for
	// one of its bookings between the SIGTERM and the end of the grace.
	claimed := map[int64]bool{}
	first := map[int64]time.Time{}
	for _, row := range s.Attempts {
		if row.Instance == d.instance || !slices.Contains(held, row.BookingID) || row.SentAt.Before(term) {
			continue
		}
		if row.SentAt.Before(graceEnd) {
			claimed[row.BookingID] = true
		}
		if f, ok := first[row.BookingID]; !ok || row.SentAt.Before(f) {
			first[row.BookingID] = row.SentAt
		}
	}
	var last time.Time
	late := 0
	for _, sub := range l.Submits {
		if sub.IP != d.ip || !accounts[sub.Account] || sub.At.Before(term) {
			continue
		}
		if sub.At.After(last) {
			last = sub.At
		}
		if sub.At.After(graceEnd.Add(time.Second)) {
			late++
		}
	}
	// The worst gap from the end of the grace to another instance's first
	// request; negative when the takeover came during the grace.
	worst, notTaken, taken := time.Duration(0), 0, 0
	for _, id := range held {
		f, ok := first[id]
		if !ok {
			notTaken++
			continue
		}
		if gap := f.Sub(graceEnd); taken == 0 || gap > worst {
			worst = gap
		}
		taken++
	}
	bound := scanEvery + 4*time.Second
	r.set("held", len(held))
	r.set("grace_ms", graceScenario.Milliseconds())
	r.set("claims_during_grace", len(claimed))
	if !last.IsZero() {
		r.set("last_submit_after_term_ms", last.Sub(term).Milliseconds())
	} else {
		r.set("last_submit_after_term_ms", -1)
	}
	r.set("submits_after_grace", late)
	r.set("exit_after_term_ms", exitedAt.Sub(term).Milliseconds())
	r.set("takeover_after_grace_worst_ms", worst.Milliseconds())
	r.set("takeover_bound_ms", bound.Milliseconds())
	r.set("not_taken_over", notTaken)
	if len(held) == 0 {
		r.breaks("nothing_held")
	}
	if len(claimed) > 0 {
		r.breaks("claimed_during_grace")
	}
	if last.Before(graceEnd.Add(-2 * time.Second)) {
		r.breaks("stopped_submitting_before_grace_end")
	}
	if late > 0 {
		r.breaks("submitted_after_grace")
	}
	if !byself {
		r.breaks("sigterm_hung")
	}
	if worst > bound {
		r.breaks("slow_takeover_after_grace")
	}
	if notTaken > 0 {
		r.breaks("not_taken_over")
	}
	return nil
}
