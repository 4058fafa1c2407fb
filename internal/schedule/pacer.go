package schedule

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"

	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// sendOpts say how one request is fenced.
type sendOpts struct {
	// outcomePending: a submit's outcome is unknown and this request finds
	// it out (verify); a cancel request waits until it is known.
	outcomePending bool
	// opening: the booking's first submit at the opening instant. It waits
	// for the booking's own rate only; the host's and the egress's
	// ceilings are charged for it (into debt) but not waited for, so that
	// every booking's first submit is on the wire at T and every later
	// request to the host waits until the burst is paid back
	// (docs/opening.md).
	opening bool
	// notAfter, if set, is the latest instant the request may wait for
	// its turn under the rate and the ceilings; past it the request is not
	// sent (errNoTurn). Once sent, it runs to its answer.
	notAfter time.Time
	// prepared, if set, is the step already rendered (the first submit):
	// it is sent as it is.
	prepared *session.Prepared
}

// errNoTurn: the ceilings had no room for a request before its notAfter.
var errNoTurn = errors.New("no turn under the ceilings before the deadline")

// wakeOnCancel derives a context for waiting that also ends when a cancel
// is requested (unless the run is unsure whether it booked already).
func (r *run) wakeOnCancel(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.unsure {
		return context.WithCancel(ctx)
	}
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(r.cancelReq, cancel)
	return wctx, func() { stop(); cancel() }
}

// why turns the end of a wait into the run's reason to stop waiting.
func (r *run) why(err error) error {
	if r.cancelRequested() {
		return errCancelled
	}
	if r.ctx.Err() != nil {
		return errStop
	}
	return err
}

// sleepFor waits d, or until ctx ends or a cancel is requested.
func (r *run) sleepFor(ctx context.Context, d time.Duration) error {
	wctx, done := r.wakeOnCancel(ctx)
	defer done()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-wctx.Done():
		if r.cancelRequested() {
			return errCancelled
		}
		if r.ctx.Err() != nil {
			return errStop
		}
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *run) sleepUntil(ctx context.Context, t time.Time) error {
	return r.sleepFor(ctx, time.Until(t))
}

// pace takes one request's worth of the booking's rate, the egress's and
// the host's ceilings, and keeps the spacing from the last request's real
// send time.
func (r *run) pace(ctx context.Context, o sendOpts) error {
	// Another booking of the account may have moved it to another egress.
	if eg, ok := r.d.cfg.Egress.Current(r.account, r.siteHost); ok && eg.Name() != r.eg.Name() {
		r.eg = eg
	}
	wctx := ctx
	if !o.outcomePending {
		var done context.CancelFunc
		wctx, done = r.wakeOnCancel(ctx)
		defer done()
	}
	if !o.notAfter.IsZero() {
		var done context.CancelFunc
		wctx, done = context.WithDeadline(wctx, o.notAfter)
		defer done()
	}
	// The deadline of notAfter passed with the run still going: no turn.
	noTurn := func() bool { return !o.notAfter.IsZero() && ctx.Err() == nil && !r.cancelRequested() }
	// Each wait is measured around the call that blocks (one clock read
	// after each); once the request has its turn they are kept for the
	// next attempt row (a request that gets none waited for nothing that
	// followed: its deadline let the next one go).
	var w waits
	prev := time.Now()
	// The opening's first submit is charged ahead to the shared ceilings
	// up to their opening burst (0: the booking's own rate, never ahead).
	for _, c := range []struct {
		l            *rate.Limiter
		openingBurst float64
		why          string
	}{
		{r.lim, 0, booking.WaitBookingRate},
		{r.d.cfg.Egress.Limiter(r.eg.Name(), r.siteHost), r.d.cfg.Egress.OpeningBurst(), booking.WaitEgressCeiling},
		{r.host, math.Inf(1), booking.WaitHostCeiling},
	} {
		if o.opening && c.openingBurst > 0 && chargeAhead(c.l, c.openingBurst) {
			continue
		}
		if err := c.l.Wait(wctx); err != nil {
			if noTurn() {
				return errNoTurn // Wait took no token
			}
			if wctx.Err() == nil {
				// The wait would outlast the context's deadline (the end
				// of the window): no time is left for this request.
				<-wctx.Done()
			}
			return r.why(ctx.Err())
		}
		now := time.Now()
		if d := now.Sub(prev); d >= waitNoticeable {
			w.add(r.ceilingWhy(c.why, c.l), d)
		}
		prev = now
	}
	if !r.lastSent.IsZero() {
		if d := r.lastSent.Add(r.interval()).Sub(prev); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-wctx.Done():
				if noTurn() {
					return errNoTurn
				}
				return r.why(ctx.Err())
			case <-t.C:
			}
			w.add(booking.WaitBookingRate, time.Since(prev))
		}
	}
	r.pending.merge(w)
	return nil
}

// ceilingWhy names what a wait in limiter l was for. An egress whose
// ceiling for the host is no lower than the host's own (one direct egress,
// by default) waits only while the host's ceiling would have made it wait
// as long: the host ceiling is the reason an operator can act on.
func (r *run) ceilingWhy(why string, l *rate.Limiter) string {
	if why == booking.WaitEgressCeiling && l.Limit() >= r.host.Limit() {
		return booking.WaitHostCeiling
	}
	return why
}

// chargeAhead takes a token of l for a request that goes now, without
// waiting, if l's debt stays under burst tokens; the debt is paid back
// before l lets any later request go. False (nothing taken) when the
// burst is spent: the request waits for l like any other.
func chargeAhead(l *rate.Limiter, burst float64) bool {
	res := l.Reserve()
	if !res.OK() {
		return false
	}
	// The debt in tokens, less a rounding allowance: the burst-th request
	// must not pass for 3.9999 tokens.
	if debt := res.Delay().Seconds() * float64(l.Limit()); debt > burst-1e-6 {
		res.Cancel()
		return false
	}
	return true
}

// interval is the least time between two of the booking's requests.
func (r *run) interval() time.Duration { return time.Duration(float64(time.Second) / r.rate) }

// fence is checked immediately before a request goes on the wire: the
// lease must be valid beyond the fence margin, and no cancel may be
// pending (unless the request finds out a pending outcome).
func (r *run) fence(o sendOpts) error {
	if r.ctx.Err() != nil {
		return errStop
	}
	if !o.outcomePending && r.cancelRequested() {
		return errCancelled
	}
	if !r.lease.valid(time.Now()) {
		return errFenced
	}
	return nil
}

// request sends one step at the booking's pace, fenced, and records the
// attempt. A step that cannot be rendered is recorded too, as class
// profile_error, and returned as errRender.
func (r *run) request(ctx context.Context, step string, o sendOpts) (*session.Result, error) {
	if err := r.pace(ctx, o); err != nil {
		return nil, err
	}
	if step == profile.StepSubmit {
		done, err := r.takeTurn(ctx)
		if err != nil {
			return nil, err
		}
		defer done()
	}
	if err := r.fence(o); err != nil {
		return nil, err
	}
	now := time.Now()
	var res *session.Result
	var err error
	if o.prepared != nil {
		res, err = r.sess.Send(ctx, o.prepared)
	} else {
		r.data.Now = now.In(r.prof.Location)
		res, err = r.sess.Do(ctx, step, &r.data)
	}
	if res == nil {
		if err == nil {
			err = errors.New("nothing sent")
		}
		if ctx.Err() != nil {
			return nil, r.why(ctx.Err())
		}
		// Nothing left: the request could not be built.
		r.recordRenderError(step, now, err)
		return nil, fmt.Errorf("%w: %s: %w", errRender, step, err)
	}
	r.sent(res)
	for k, v := range res.Extracted {
		r.data.X[k] = v
	}
	r.record(res)
	return res, nil
}

// login logs in (single-flight across the bookings of the account) unless
// a login newer than seen happened.
func (r *run) login(ctx context.Context, seen uint64, o sendOpts) error {
	if err := r.pace(ctx, o); err != nil {
		return err
	}
	if err := r.fence(o); err != nil {
		return err
	}
	start := time.Now()
	_, res, err := r.sess.Login(ctx, seen)
	if res != nil && res != r.lastLogin && !res.SentAt.Before(start) {
		for _, b := range res.Before { // the visit before the login (prelogin)
			r.sent(b)
			r.record(b)
		}
		r.sent(res)
		r.record(res)
		r.lastLogin = res
	}
	if err != nil && ctx.Err() != nil {
		return r.why(ctx.Err())
	}
	if err == nil && r.prof.Login != nil { // a guest site proves no password
		r.loggedIn()
	}
	return err
}

// sent notes a request that left, for the spacing of the next one.
func (r *run) sent(res *session.Result) {
	if res != nil && !res.SentAt.IsZero() && res.SentAt.After(r.lastSent) {
		r.lastSent = res.SentAt
	}
}

// awaitLease waits while the lease is not valid for sending: for a renewal
// by the heartbeat, or the end of ctx.
func (r *run) awaitLease(ctx context.Context) error {
	for !r.lease.valid(time.Now()) {
		if err := r.lease.await(ctx, 200*time.Millisecond); err != nil {
			return r.why(err)
		}
	}
	return nil
}

// maxRenderFails: after this many steps in a row that cannot be rendered
// (the page visited again in between), the booking fails as a profile
// problem instead of waiting for the window to close.
const maxRenderFails = 3
