package schedule

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"reserver/internal/backoff"
	"reserver/internal/booking"
	"reserver/internal/clocksync"
	"reserver/internal/ippool"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// Outbox kinds written by the daemon.
const (
	KindBooked      = "booked"
	KindLoginFailed = "login_failed"
	KindFailed      = "failed"
)

// refreshBefore: the booking page is visited again this long before the
// first submit.
const refreshBefore = 2 * time.Second

// refreshCutoff: a visit before the first submit that has not had its
// turn under the ceilings this long before the fire is not sent.
const refreshCutoff = 100 * time.Millisecond

// Errors that end a phase of a run.
var (
	// errStop ends a run without further writes (lease lost, shutdown, or
	// the booking finished elsewhere).
	errStop = errors.New("run stopped")
	// errCancelled: the booking's owner asked for a cancel; the run writes
	// it (unless a submit's outcome is still unknown).
	errCancelled = errors.New("cancel requested")
	// errFenced: the lease is not valid for sending now.
	errFenced = errors.New("lease not valid: not sending")
	// errRender: a step could not be rendered (a profile or page problem).
	errRender = errors.New("step could not be rendered")
)

// Phases of a run, for Stop: a run still waiting for its pre-warm is
// released at once.
const (
	phaseWaiting int32 = iota
	phaseStarted
	phaseReleased
)

// run is one booking's goroutine. The fields above mu are set by newRun
// and read-only afterwards; the fields below it belong to the run's own
// goroutine (main and what it calls), except where noted.
type run struct {
	d    *Daemon
	b    *booking.Booking
	prof *profile.Profile
	log  *zap.Logger
	// rate is the booking's requests per second: its own, never above the
	// profile's ceiling.
	rate  float64
	lease *lease

	// ctx ends at Kill, at the end of Stop's grace, or when the lease is
	// lost; cancel is safe from any goroutine.
	ctx    context.Context
	cancel context.CancelFunc
	// cancelReq is cancelled (from the cancel poll) when the owner asked
	// to cancel; waits end on it, requests check it before leaving.
	cancelReq    context.Context
	requestedCxl context.CancelFunc
	phase        atomic.Int32
	// finished is set once the run writes its outcome: the heartbeat then
	// leaves it alone (its lease ends with the terminal state).
	finished atomic.Bool
	// requeue: a release (before the pre-warm) puts the booking back in
	// the queue instead of only giving up the lease — another instance runs
	// its site account and claims it like any queued booking.
	requeue atomic.Bool

	prewarmAt time.Time // set by arm before main starts

	// unsure: the booking was taken over while running near or after its
	// opening, so the instance before may have sent a submit whose answer
	// died with it. Until verify has answered, a cancel request waits and
	// nothing is submitted.
	unsure bool
	// blocked: the site's last answer to this run was a block (or the
	// breaker held the request back); the window closing then fails the
	// booking as site_blocked, not window_closed.
	blocked bool
	// checkouts counts the checkout chains this run started (maxCheckouts).
	checkouts int
	// choices are the booking's slots in order, choice the index of the
	// one being tried (choices.go); doubt: an answer for the current
	// choice had an unknown outcome, so a later "taken" may be ours and is
	// verified before the run moves on.
	choices []booking.Choice
	choice  int
	doubt   bool
	// stalePages: the pages visited were for another first choice (the
	// choices changed before the opening): visit them before submitting.
	stalePages bool
	// turns orders the account's submits when the site takes one at a
	// time (nil otherwise).
	turns *turns

	sess     *session.Session
	eg       ippool.Egress
	account  string // the account's key in the egress pool
	siteHost string
	data     profile.Data
	state    booking.State
	est      clocksync.Estimate
	fire     time.Time // the planned local instant of the first submit
	// first is the first submit, rendered before the fire (nil when it
	// could not be: the window renders it then).
	first *session.Prepared
	// aimedBy says what the fire instant was aimed by; edge notes this
	// run's answers around the opening (edge.go).
	aimedBy string
	edge    edgeNotes
	lim     *rate.Limiter
	host    *rate.Limiter
	// lastSent is when this booking's last request left: the next one
	// leaves no sooner than 1/rate after it, whatever delayed the last
	// one between its limiter token and the wire.
	lastSent  time.Time
	lastLogin *session.Result
	// pending is what the run's next request has waited for so far (the
	// ceilings, cooling egresses, a clock measurement); its row takes it.
	pending waits
	// password is what this booking logs in with (never logged);
	// releaseSession gives its session back to the pool; proven is set
	// once a login with password succeeded.
	password       string
	releaseSession func()
	proven         bool
}

func newRun(d *Daemon, b *booking.Booking, now time.Time) *run {
	prof := d.cfg.Profiles[b.Site]
	r := &run{
		d: d, b: b, prof: prof, state: b.State, rate: b.RatePerSecond,
		log:   d.log.With(zap.Int64("booking", b.ID), zap.String("site", b.Site)),
		lease: newLease(now.Add(d.cfg.LeaseTTL)),
	}
	if prof != nil && prof.RatePerSecond > 0 && prof.RatePerSecond < r.rate {
		r.rate = prof.RatePerSecond
	}
	if r.rate <= 0 {
		r.rate = profile.DefaultRatePerSecond
	}
	r.unsure = b.TakenOver && b.State == booking.Running && prof != nil && prof.Verify != nil &&
		!now.Before(b.OpensAt.Add(-booking.SubmitSafety))
	r.ctx, r.cancel = context.WithCancel(d.runCtx)
	r.cancelReq, r.requestedCxl = context.WithCancel(context.Background())
	return r
}

// requestCancel tells the run that its owner asked to cancel (any goroutine).
func (r *run) requestCancel() {
	if r.cancelReq.Err() == nil {
		r.log.Info("cancel requested")
		r.requestedCxl()
	}
}

// cancelRequested reports a cancel the run must honour now: one was asked
// for, and the run is not unsure whether the instance before it booked
// (then verify answers first). Only the run's goroutine calls it.
func (r *run) cancelRequested() bool { return !r.unsure && r.cancelReq.Err() != nil }

// release ends a run that has not started its pre-warm (Stop): its lease
// goes back at once so that another instance arms it. False when the run
// had already started.
func (r *run) release() bool {
	if !r.phase.CompareAndSwap(phaseWaiting, phaseReleased) {
		return false
	}
	r.cancel()
	return true
}

// main runs the booking to its end. A panic is recovered and recorded as a
// failed attempt.
func (r *run) main() {
	defer r.d.wg.Done()
	defer r.d.forget(r.b.ID)
	defer r.cancel()
	defer r.requestedCxl()
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic in booking run", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			r.d.attempts.Add(r.attempt("internal", time.Now(), "fatal", truncate(fmt.Sprint("panic: ", p), 500)))
			r.fail(booking.ReasonPanic)
		}
	}()
	err := r.execute()
	switch {
	case err == nil, errors.Is(err, errStop):
	case errors.Is(err, errCancelled):
		r.finishCancel()
	case r.ctx.Err() != nil:
		r.log.Info("run stopped", zap.Error(err))
	default:
		r.log.Error("run ended with an error", zap.Error(err))
	}
	if r.phase.Load() == phaseReleased {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if r.requeue.Load() && r.state == booking.Armed {
			err := r.d.cfg.Store.Transition(ctx, r.b.ID, booking.Armed, booking.Queued, booking.Change{Instance: r.d.cfg.Instance})
			if err == nil || errors.Is(err, booking.ErrConflict) || errors.Is(err, booking.ErrNotFound) {
				return
			}
			r.log.Warn("giving the booking back to the queue failed; releasing its lease", zap.Error(err))
		}
		if err := r.d.cfg.Store.Release(ctx, r.b.ID, r.d.cfg.Instance); err != nil {
			r.log.Warn("release lease", zap.Error(err))
		}
	}
}

// waitForPrewarm sleeps on the run's own timer until the pre-warm instant.
func (r *run) waitForPrewarm() error {
	if d := time.Until(r.prewarmAt); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-r.ctx.Done():
			return errStop
		case <-r.cancelReq.Done():
			return errCancelled
		case <-t.C:
		}
	}
	if !r.phase.CompareAndSwap(phaseWaiting, phaseStarted) {
		return errStop // released by Stop
	}
	return nil
}

func (r *run) execute() error {
	if err := r.waitForPrewarm(); err != nil {
		return err
	}
	b := r.b
	if r.cancelRequested() {
		return errCancelled
	}
	if r.prof == nil {
		r.log.Error("no site profile of this name is configured")
		r.fail(booking.ReasonFatal)
		return errStop
	}
	password, err := r.d.cfg.Store.LoginPassword(b)
	if err != nil {
		r.log.Error("site password cannot be opened", zap.Error(err))
		r.fail(booking.ReasonFatal)
		return errStop
	}
	if !time.Now().Before(b.WindowEnd()) {
		r.log.Warn("window passed before any instance ran it")
		r.fail(booking.ReasonMissed)
		return errStop
	}
	if err := r.markRunning(); err != nil {
		return err
	}
	password = r.patchedPassword(password)
	r.data = profile.Data{Booking: b.TemplateData(r.prof.Location), X: map[string]string{}}
	r.choices = b.Choices()
	r.useChoice(0)
	if err := r.useSession(password); err != nil {
		return err
	}
	defer func() { r.releaseSession() }()
	r.lim = rate.NewLimiter(rate.Limit(r.rate), 1)
	r.siteHost = r.prof.BaseURL
	if u, err := url.Parse(r.prof.BaseURL); err == nil {
		r.siteHost = u.Host
	}
	r.host = r.d.hostLimiter(r.siteHost)
	// The egress placement and the connections are the tenant's site
	// account's (its row), never shared with another tenant's.
	r.account = fmt.Sprintf("%s/%d", b.Site, b.AccountID)
	defer r.d.holdAccount(r.account)()
	if r.prof.SerialSubmits {
		r.turns = r.d.accountTurns(r.account)
		defer r.turns.release(r, true)
	}
	if err := r.assign(); err != nil {
		return err
	}
	defer r.d.cfg.Egress.Release(r.account, r.siteHost, b.RatePerSecond)

	r.d.event(b.ID, "pre-warm: logging in and visiting the booking page")
	if err := r.prewarm(); err != nil {
		return err
	}
	measured := time.Now()
	if err := r.measureClock(clockMaxAge); err != nil {
		return err
	}
	fire := r.aim()
	// A measurement (its probes wait their turn under the ceilings) that
	// ran past the fire instant held up the first submit.
	r.measuredPast(fire, measured, time.Now())
	// An estimate must be fresh when it is used: with a long lead,
	// measure again shortly before the opening.
	if time.Until(fire) > clockRemeasureAt+5*time.Second {
		if err := r.sleepUntil(r.ctx, fire.Add(-clockRemeasureAt)); err != nil {
			return err
		}
		measured = time.Now()
		if err := r.measureClock(clockFreshAtFire); err != nil {
			return err
		}
		fire = r.aim()
		r.measuredPast(fire, measured, time.Now())
	}
	// Visit the booking page again shortly before the opening: a fresh
	// token, and a connection the site has not closed as idle.
	if time.Until(fire) > refreshBefore+time.Second {
		if err := r.sleepUntil(r.ctx, fire.Add(-refreshBefore)); err != nil {
			return err
		}
		// A PATCH may have changed the choices since the pre-warm.
		r.stalePages = r.reloadChoices()
		// The visit must not hold up the first submit: on a host where many
		// bookings open together the ceiling may have no room for it in
		// time, and the pre-warm visit's page serves instead.
		// It leaves at least one request interval of the booking before
		// the fire, so that the first submit is not spaced after it.
		cutoff := max(refreshCutoff, r.interval())
		res, err := r.visitPages(r.ctx, pagesAll, sendOpts{notAfter: fire.Add(-cutoff)})
		if isCancelOrStop(err) {
			return err
		}
		if errors.Is(err, errNoTurn) {
			r.log.Info("no room under the ceilings to visit the booking page again before the opening; submitting with the pre-warm visit's page")
		}
		if err == nil && pagesPassed(res) {
			r.stalePages = false
		}
		if err == nil && res != nil && res.Class == profile.ClassSessionExpired {
			if err := r.login(r.ctx, r.sess.Generation(), sendOpts{}); isCancelOrStop(err) {
				return err
			}
			if _, err := r.visitPages(r.ctx, pagesAll, sendOpts{}); isCancelOrStop(err) {
				return err
			}
		}
	}
	// With AimLearned the evidence is read again now, so that the site's
	// latest openings count.
	if r.d.cfg.Aim == AimLearned {
		fire = r.aim()
	}
	// Nothing is left to do at the fire but write: the first submit is
	// rendered now, with the last page visit's values.
	r.prepareFirst(fire)
	windowEnd := r.est.SiteToLocal(b.WindowEnd())
	r.log.Info("waiting for the opening", zap.Time("fire_local", fire), zap.Duration("in", time.Until(fire)))
	r.d.event(b.ID, fmt.Sprintf("fire at %s local (offset %v ± %v, precision %v, rtt %v, spread %v; aimed by %s)",
		fire.Format("15:04:05.000"), r.est.Offset.Round(time.Millisecond), r.est.Uncertainty, r.est.Precision,
		r.est.RTT.Round(10*time.Microsecond), r.est.Spread.Round(10*time.Microsecond), r.aimedBy))
	r.fire = fire
	if r.turns != nil {
		r.turns.setDue(r, true)
	}
	wctx, done := r.wakeOnCancel(r.ctx)
	err = r.d.fires.WaitUntil(wctx, fire)
	done()
	if err != nil {
		return r.why(err)
	}
	err = r.window(windowEnd)
	r.recordClock()
	r.recordEdge()
	return err
}

// aim is the local instant to send the first submit so that it arrives at
// the opening plus the margin on the site's clock (or where the site's
// recent openings say it decides, with AimLearned), plus the estimate's
// precision and the round trips' spread so that it is not early
// (docs/opening.md). The offset's bias on an asymmetric path and RTT/2's
// cancel in FireAt, so the symmetric precision and the path's jitter, not
// the hard uncertainty, are the aim's error.
func (r *run) aim() time.Time {
	off, why := r.aimOffset()
	r.aimedBy = why
	return r.est.FireAt(r.b.OpensAt, off+r.est.Precision+r.est.Spread)
}

// prepareFirst renders the first submit ahead of the fire instant; its
// templates see the fire instant as now. A step that cannot be rendered
// yet is rendered (and its error recorded) when the window sends it.
func (r *run) prepareFirst(fire time.Time) {
	r.data.Now = fire.In(r.prof.Location)
	p, err := r.sess.Prepare(profile.StepSubmit, &r.data)
	if err != nil {
		r.log.Info("the first submit cannot be rendered before the opening; rendering it at the fire", zap.Error(err))
		return
	}
	r.first = p
}

// takeFirst hands out the prepared first submit once, if it is still of
// the session's current login.
func (r *run) takeFirst() *session.Prepared {
	p := r.first
	r.first = nil
	if p == nil || p.Generation != r.sess.Generation() {
		return nil
	}
	return p
}

func isCancelOrStop(err error) bool {
	return errors.Is(err, errCancelled) || errors.Is(err, errStop)
}

// markRunning moves armed → running, retrying while the database is
// unavailable (until the window ends); a booking that changed meanwhile
// (cancelled, taken over) ends the run.
func (r *run) markRunning() error {
	if r.state != booking.Armed {
		return nil
	}
	ctx, cancel := context.WithDeadline(r.ctx, r.b.WindowEnd())
	defer cancel()
	err := backoff.Retry(ctx, dbRetry, func(ctx context.Context) error {
		err := r.d.cfg.Store.Transition(ctx, r.b.ID, booking.Armed, booking.Running, booking.Change{Instance: r.d.cfg.Instance})
		if errors.Is(err, booking.ErrConflict) || errors.Is(err, booking.ErrNotFound) {
			return backoff.Permanent(err)
		}
		return err
	}, func(_ int, err error, _ time.Duration) {
		r.log.Warn("armed → running failed; retrying", zap.Error(err))
	})
	if err != nil {
		r.log.Info("booking not started: it changed elsewhere or the database stayed away", zap.Error(err))
		return errStop
	}
	r.state = booking.Running
	return nil
}

// prewarm logs in and visits the booking page, retrying transient trouble
// until the opening. A rejected password fails the booking at once, while
// there is still time for a person to act.
func (r *run) prewarm() error {
	deadline := r.b.OpensAt
	renderFails := 0
	for {
		err := r.login(r.ctx, 0, sendOpts{})
		if err == nil {
			var res *session.Result
			res, err = r.visitPages(r.ctx, pagesAll, sendOpts{})
			if err == nil && pagesPassed(res) {
				return nil
			}
			if err == nil && (res.Class == profile.ClassBlocked || egressRefused(res)) {
				r.onBlocked(res)
				if time.Now().After(deadline) {
					return nil // the window loop decides (site_blocked when it closes blocked)
				}
				continue
			}
			if err == nil && res.Class == profile.ClassInvalid {
				r.rejected(res)
				return errStop
			}
			if err == nil && res.Class == profile.ClassSessionExpired {
				err = r.login(r.ctx, r.sess.Generation(), sendOpts{})
				if err == nil {
					continue
				}
			} else if err == nil {
				err = fmt.Errorf("%s answered %s", res.Step, res.Class)
			}
		}
		if isCancelOrStop(err) {
			return err
		}
		if errors.Is(err, errRender) {
			if renderFails++; renderFails >= maxRenderFails {
				r.fail(booking.ReasonProfile, r.failedKinds()...)
				return errStop
			}
		}
		var le *session.LoginError
		if errors.As(err, &le) && le.Class == profile.ClassBlocked || errors.Is(err, ippool.ErrEgressOpen) {
			var res *session.Result
			if le != nil {
				res = r.lastLogin
			}
			r.onBlocked(res)
			if time.Now().After(deadline) {
				return nil // the window loop decides (site_blocked when it closes blocked)
			}
			continue
		}
		if errors.As(err, &le) && le.Class == profile.ClassFatal {
			if r.otherPassword() {
				continue
			}
			r.log.Error("login rejected at pre-warm", zap.Int("status", le.Status))
			r.d.event(r.b.ID, "login rejected: check the site password")
			r.fail(booking.ReasonLogin, KindLoginFailed)
			return errStop
		}
		if r.ctx.Err() != nil {
			return errStop
		}
		r.log.Warn("pre-warm failed, trying again", zap.Error(err))
		if time.Now().After(deadline) {
			return nil // go ahead: the window loop logs in again as needed
		}
		if err := r.sleepFor(r.ctx, 2*time.Second); err != nil {
			return err
		}
	}
}

// measureClock estimates the site clock once per site, using an estimate
// younger than maxAge if one exists; a failed measurement falls back to
// the local clock, which the log says.
func (r *run) measureClock(maxAge time.Duration) error {
	// Probes are requests like any other: they go at the egress's and the
	// host's pace (not the booking's: they serve every booking of the site).
	p := sessionProber{s: r.sess, wait: func(ctx context.Context) error {
		if err := r.d.cfg.Egress.Limiter(r.eg.Name(), r.siteHost).Wait(ctx); err != nil {
			return err
		}
		return r.host.Wait(ctx)
	}}
	est, err := r.d.clocks.estimate(r.ctx, r.prof.Name, p, 0, maxAge)
	if r.ctx.Err() != nil {
		return errStop
	}
	if err != nil {
		r.log.Warn("site clock could not be measured; using the local clock", zap.Error(err))
		est = clocksync.Estimate{At: time.Now()}
	}
	r.est = est
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
