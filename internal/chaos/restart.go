package chaos

import (
	"context"
	"time"
)

// runRestart: daemons are restarted mid-window under the same instance
// names, as docker-compose and systemd do, by SIGTERM and by SIGKILL. The
// site opens only after the last restart, so every window keeps submitting
// (answered not_open) across them. A SIGTERM restart must lose no attempt
// row; a SIGKILL may lose only the rows of submits that reached the site
// within KillLossBound before it.
func runRestart(ctx context.Context, o Options, r *result) error {
	c, err := setup(ctx, o, r, clusterSpec{name: "restart", bookings: o.Bookings, openIn: 30 * time.Second, window: 60, daemons: 3,
		siteOpensAfter: 24 * time.Second, grace: 3 * time.Second, rate: 1})
	if err != nil {
		return err
	}
	defer finish(c, o, r)
	plan := []struct {
		after time.Duration // after opens_at
		slot  int
		how   string
	}{
		{2 * time.Second, 0, endSIGTERM},
		{7 * time.Second, 1, endSIGKILL},
		{10 * time.Second, 2, endSIGTERM},
		{15 * time.Second, 0, endSIGKILL},
		{18 * time.Second, 1, endSIGTERM},
		{21 * time.Second, 2, endSIGKILL},
	}
	terms, kills, hung := 0, 0, 0
	for _, step := range plan {
		if err := sleepUntil(ctx, c.opensAt.Add(step.after)); err != nil {
			return err
		}
		d := c.daemon(step.slot)
		held, err := c.held(ctx, d.instance)
		if err != nil {
			return err
		}
		if step.how == endSIGKILL {
			c.kill(d)
			kills++
		} else {
			if _, exited := c.terminate(d, c.spec.grace+10*time.Second); !exited {
				hung++
			}
			terms++
		}
		o.logf("restart: %s %s holding %d bookings; starting it again under the same name", step.how, d.instance, len(held))
		if _, err := c.startNamed(ctx, step.slot, d.instance); err != nil {
			return err
		}
	}
	a, _, _, err := settle(ctx, c, r)
	if err != nil {
		return err
	}
	r.set("sigterm_restarts", terms)
	r.set("sigkill_restarts", kills)
	// lost_submit_rows must be 0: rows lost at a SIGTERM, by a restarted
	// process (the same name must not collide with the rows of the one
	// before), or by a SIGKILL outside the bound. Within the bound a
	// SIGKILL may lose rows; they are reported apart.
	r.set("lost_submit_rows", a.LostSubmits)
	r.set("lost_submit_rows_before_sigterm", a.LostAfterSIGTERM)
	r.set("lost_submit_rows_beyond_sigkill_bound", a.LostAfterSIGKILL)
	r.set("lost_submit_rows_within_sigkill_bound", a.LostAtKill)
	r.set("sigkill_bound_ms", KillLossBound.Milliseconds())
	r.set("sigterm_hung", hung)
	if hung > 0 {
		r.breaks("sigterm_hung")
	}
	if a.Succeeded != len(c.bookings) {
		r.breaks("not_all_succeeded")
	}
	return nil
}
