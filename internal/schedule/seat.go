package schedule

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/ippool"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// assign places the account on an egress (the same one as its other
// bookings) and routes the session through it, waiting within the window
// while every egress is cooling down.
func (r *run) assign() error {
	for {
		eg, err := r.d.cfg.Egress.Assign(r.account, r.siteHost, r.b.RatePerSecond)
		if err == nil {
			r.eg = eg
			r.sess.SetTransport(r.d.sessionTransport(r.account, eg))
			return nil
		}
		if err := r.coolDown(err); err != nil {
			return err
		}
	}
}

// coolDown waits out an *ippool.AllCoolingError, recording why in the
// attempt log; any other error is returned.
func (r *run) coolDown(err error) error {
	var cooling *ippool.AllCoolingError
	if !errors.As(err, &cooling) {
		return err
	}
	wait := max(cooling.Wait, 100*time.Millisecond)
	// Never past the booking's window: a block longer than it must not
	// keep a booking running after its window closed.
	if left := time.Until(r.b.WindowEnd()); wait > left {
		wait = max(left, 100*time.Millisecond)
	}
	a := r.attempt("egress", time.Now(), string(profile.ClassBlocked),
		fmt.Sprintf("every egress to %s is cooling down; waiting %v", r.siteHost, wait.Round(time.Millisecond)))
	r.d.attempts.Add(a)
	r.d.event(r.b.ID, fmt.Sprintf("every egress is cooling down: waiting %v", wait.Round(time.Millisecond)))
	start := time.Now()
	err = r.sleepFor(r.ctx, wait)
	r.pending.add(booking.WaitEgressCooling, time.Since(start))
	return err
}

// onBlocked reports a block (or a breaker that would not let the request
// out) and moves the account to another egress: new transport, new
// cookies, a new login. The caller visits the trace page again.
func (r *run) onBlocked(res *session.Result) {
	r.blocked = true // until the site lets a request through again
	if res != nil && res.Class == profile.ClassBlocked {
		wait, _ := ippool.ParseWaitText(res.Excerpt)
		if err := r.d.cfg.Egress.Report(r.eg.Name(), r.siteHost, ippool.Outcome{Class: res.Class, RetryAfter: wait}); err != nil {
			r.log.Warn("report block", zap.Error(err))
		}
	}
	from := r.eg.Name()
	eg, err := r.d.cfg.Egress.Move(r.account, r.siteHost)
	if err != nil {
		_ = r.coolDown(err)
		return
	}
	if eg.Name() == from {
		return
	}
	r.eg = eg
	r.d.event(r.b.ID, fmt.Sprintf("egress %s blocked: moving to %s and logging in again", from, eg.Name()))
	r.log.Info("egress moved", zap.String("from", from), zap.String("to", eg.Name()))
	gen := r.sess.Generation()
	r.sess.SetTransport(r.d.sessionTransport(r.account, eg))
	r.sess.ResetCookies()
	if err := r.login(r.ctx, gen, sendOpts{outcomePending: true}); err != nil {
		r.log.Warn("login after moving egress failed", zap.Error(err))
	}
}

// egressRefused reports whether the request never left because the
// egress's breaker is open.
func egressRefused(res *session.Result) bool {
	return res != nil && res.Err != nil && errors.Is(res.Err, ippool.ErrEgressOpen)
}
