package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"reserver/internal/booking"
	"reserver/internal/clocksync"
	"reserver/internal/ippool"
	"reserver/internal/metrics"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// Outbox kinds written by the daemon.
const (
	KindBooked      = "booked"
	KindLoginFailed = "login_failed"
	KindFailed      = "failed"
)

// fenceMargin: a run stops submitting this long before its lease ends
// unless the lease was renewed (self-fencing), so that a takeover by another
// instance never overlaps with a submit of ours.
const fenceMargin = time.Second

// refreshBefore: the booking page is visited again this long before the
// first submit.
const refreshBefore = 2 * time.Second

// errStop ends a run without further writes (lease lost, shutdown, or the
// booking finished elsewhere).
var errStop = errors.New("run stopped")

// run is one booking's goroutine.
type run struct {
	d    *Daemon
	b    *booking.Booking
	prof *profile.Profile
	log  *zap.Logger

	ctx    context.Context
	cancel context.CancelFunc

	leaseMu    sync.Mutex
	leaseValid time.Time

	sess     *session.Session
	eg       ippool.Egress
	account  string // the account's key in the egress pool
	siteHost string
	data     profile.Data
	state    booking.State
	est      clocksync.Estimate
	fire     time.Time // the planned local instant of the first submit
	lim      *rate.Limiter
	host     *rate.Limiter
	// lastSent is when this booking's last request left: the next one
	// leaves no sooner than 1/rate after it, whatever delayed the last
	// one between its limiter token and the wire.
	lastSent  time.Time
	lastLogin *session.Result
}

func (r *run) setLease(until time.Time) {
	r.leaseMu.Lock()
	r.leaseValid = until
	r.leaseMu.Unlock()
}

func (r *run) leaseOK(now time.Time) bool {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	return now.Before(r.leaseValid.Add(-fenceMargin))
}

// main runs the booking to its end. A panic is recovered and recorded as a
// failed attempt.
func (r *run) main() {
	defer r.d.wg.Done()
	defer r.d.forget(r.b.ID)
	defer r.cancel()
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic in booking run", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			r.d.attempts.Add(booking.Attempt{
				BookingID: r.b.ID, Instance: r.d.cfg.Instance, Seq: r.d.nextSeq(), Step: "internal",
				SentAt: time.Now(), Class: "fatal", Error: truncate(fmt.Sprint("panic: ", p), 500),
			})
			r.fail(booking.ReasonPanic)
		}
	}()
	err := r.execute()
	switch {
	case err == nil, errors.Is(err, errStop):
	case r.ctx.Err() != nil:
		r.log.Info("run stopped", zap.Error(err))
	default:
		r.log.Error("run ended with an error", zap.Error(err))
	}
}

func (r *run) execute() error {
	b := r.b
	r.state = b.State
	if r.prof == nil {
		r.log.Error("no site profile of this name is configured")
		r.fail(booking.ReasonFatal)
		return errStop
	}
	password, err := r.d.cfg.Store.Password(b.Account)
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
	if r.state == booking.Armed {
		if err := r.d.cfg.Store.Transition(r.ctx, b.ID, booking.Armed, booking.Running, booking.Change{Instance: r.d.cfg.Instance}); err != nil {
			return fmt.Errorf("armed → running: %w", err)
		}
		r.state = booking.Running
	}
	r.data = profile.Data{Booking: b.TemplateData(r.prof.Location), X: map[string]string{}}
	acct := profile.AccountData{Username: b.Account.Username, Password: password}
	r.sess, err = r.d.pool.Get(r.prof, acct)
	if err != nil {
		return err
	}
	r.lim = rate.NewLimiter(rate.Limit(b.RatePerSecond), 1)
	r.siteHost = r.prof.BaseURL
	if u, err := url.Parse(r.prof.BaseURL); err == nil {
		r.siteHost = u.Host
	}
	r.host = r.d.hostLimiter(r.siteHost)
	r.account = b.Site + "/" + b.Account.Username
	if err := r.assign(); err != nil {
		return err
	}
	defer r.d.cfg.Egress.Release(r.account, r.siteHost, b.RatePerSecond)

	if r.d.cfg.Naive {
		return r.naive()
	}
	r.d.event(b.ID, "pre-warm: logging in and visiting the booking page")
	if err := r.prewarm(); err != nil {
		return err
	}
	if err := r.measureClock(); err != nil {
		return err
	}
	fire := r.est.FireAt(b.OpensAt, r.d.cfg.Margin+r.est.Uncertainty)
	// An estimate must be fresh when it is used: with a long lead,
	// measure again shortly before the opening.
	if time.Until(fire) > clockMaxAge-15*time.Second {
		if err := sleepUntil(r.ctx, fire.Add(-40*time.Second)); err != nil {
			return errStop
		}
		if err := r.measureClock(); err != nil {
			return err
		}
		fire = r.est.FireAt(b.OpensAt, r.d.cfg.Margin+r.est.Uncertainty)
	}
	// Visit the booking page again shortly before the opening: a fresh
	// token, and a connection the site has not closed as idle.
	if time.Until(fire) > refreshBefore+time.Second {
		if err := sleepUntil(r.ctx, fire.Add(-refreshBefore)); err != nil {
			return errStop
		}
		if res, err := r.request("trace"); err == nil && res.Class == profile.ClassSessionExpired {
			_ = r.login(r.sess.Generation())
			_, _ = r.request("trace")
		}
	}
	windowEnd := r.est.SiteToLocal(b.WindowEnd())
	r.log.Info("waiting for the opening", zap.Time("fire_local", fire), zap.Duration("in", time.Until(fire)))
	r.d.event(b.ID, fmt.Sprintf("fire at %s local (offset %v ± %v, rtt %v)",
		fire.Format("15:04:05.000"), r.est.Offset.Round(time.Millisecond), r.est.Uncertainty, r.est.RTT.Round(10*time.Microsecond)))
	r.fire = fire
	if err := clocksync.WaitUntil(r.ctx, nil, fire); err != nil {
		return errStop
	}
	return r.window(windowEnd)
}

// naive runs the booking the way a simple bot would, for comparison in
// benchmarks: at the opening instant on the LOCAL clock, with no clock
// correction and no pre-warm, it logs in, visits the page and submits.
func (r *run) naive() error {
	if err := clocksync.WaitUntil(r.ctx, nil, r.b.OpensAt); err != nil {
		return errStop
	}
	if err := r.login(0); err != nil {
		return err
	}
	if res, err := r.request("trace"); err != nil || res.Class != profile.ClassSuccess {
		return fmt.Errorf("naive trace failed: %v", err)
	}
	r.est = clocksync.Estimate{At: time.Now()}
	return r.window(r.b.WindowEnd())
}

// prewarm logs in and visits the booking page, retrying transient trouble
// until the opening. A rejected password fails the booking at once, while
// there is still time for a person to act.
func (r *run) prewarm() error {
	deadline := r.b.OpensAt
	for {
		err := r.login(0)
		if err == nil {
			var res *session.Result
			res, err = r.request("trace")
			if err == nil && res.Class == profile.ClassSuccess {
				return nil
			}
			if err == nil && (res.Class == profile.ClassBlocked || egressRefused(res)) {
				r.onBlocked(res)
				continue
			}
			if err == nil && res.Class == profile.ClassSessionExpired {
				err = r.login(r.sess.Generation())
				if err == nil {
					continue
				}
			} else if err == nil {
				err = fmt.Errorf("trace answered %s", res.Class)
			}
		}
		var le *session.LoginError
		if errors.As(err, &le) && le.Class == profile.ClassBlocked || errors.Is(err, ippool.ErrEgressOpen) {
			var res *session.Result
			if le != nil {
				res = r.lastLogin
			}
			r.onBlocked(res)
			continue
		}
		if errors.As(err, &le) && le.Class == profile.ClassFatal {
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
		if err := sleepFor(r.ctx, 2*time.Second); err != nil {
			return errStop
		}
	}
}

// login logs in (single-flight across the bookings of the account) unless
// a login newer than seen happened.
func (r *run) login(seen uint64) error {
	if err := r.wait(); err != nil {
		return err
	}
	start := time.Now()
	_, res, err := r.sess.Login(r.ctx, seen)
	if res != nil && res != r.lastLogin && !res.SentAt.Before(start) {
		r.sent(res)
		r.record(res)
		r.lastLogin = res
	}
	return err
}

// measureClock estimates the site clock once per site; a failed
// measurement falls back to the local clock, which the log says.
func (r *run) measureClock() error {
	// Probes are requests like any other: they go at the egress's and the
	// host's pace (not the booking's: they serve every booking of the site).
	p := sessionProber{s: r.sess, wait: func(ctx context.Context) error {
		if err := r.d.cfg.Egress.Limiter(r.eg.Name(), r.siteHost).Wait(ctx); err != nil {
			return err
		}
		return r.host.Wait(ctx)
	}}
	est, err := r.d.clocks.estimate(r.ctx, r.prof.Name, p, 0)
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

// wait takes one request's worth of the booking's rate and of the host's
// ceiling.
func (r *run) wait() error {
	// Another booking of the account may have moved it to another egress.
	if eg, ok := r.d.cfg.Egress.Current(r.account, r.siteHost); ok && eg.Name() != r.eg.Name() {
		r.eg = eg
	}
	for _, l := range []*rate.Limiter{r.lim, r.d.cfg.Egress.Limiter(r.eg.Name(), r.siteHost), r.host} {
		if err := l.Wait(r.ctx); err != nil {
			// The wait would outlast the context's deadline (the end of
			// the window): there is no time left for this request.
			<-r.ctx.Done()
			return errStop
		}
	}
	if !r.lastSent.IsZero() {
		interval := time.Duration(float64(time.Second) / r.b.RatePerSecond)
		if d := time.Until(r.lastSent.Add(interval)); d > 0 {
			if err := sleepFor(r.ctx, d); err != nil {
				return errStop
			}
		}
	}
	return nil
}

// sent notes a request that left, for the spacing of the next one.
func (r *run) sent(res *session.Result) {
	if res != nil && !res.SentAt.IsZero() && res.SentAt.After(r.lastSent) {
		r.lastSent = res.SentAt
	}
}

// request sends one step at the booking's rate and records the attempt.
func (r *run) request(step string) (*session.Result, error) {
	if err := r.wait(); err != nil {
		return nil, err
	}
	r.data.Now = time.Now().In(r.prof.Location)
	res, err := r.sess.Do(r.ctx, step, &r.data)
	if res == nil {
		if err == nil {
			err = errors.New("nothing sent")
		}
		return nil, err
	}
	r.sent(res)
	for k, v := range res.Extracted {
		r.data.X[k] = v
	}
	r.record(res)
	return res, nil
}

func (r *run) record(res *session.Result) {
	a := booking.Attempt{
		BookingID: r.b.ID, Instance: r.d.cfg.Instance, Seq: r.d.nextSeq(), Step: res.Step,
		SentAt: res.SentAt, LatencyUS: res.Latency.Microseconds(), Status: res.Status,
		Class: string(res.Class), Egress: r.eg.Name(), Excerpt: truncate(res.Excerpt, 500),
	}
	if !res.SiteDate.IsZero() {
		d := res.SiteDate
		a.SiteDate = &d
	}
	if res.Err != nil {
		a.Error = truncate(res.Err.Error(), 500)
		if res.Ambiguous {
			a.Error = "ambiguous: " + a.Error
		}
	}
	r.d.attempts.Add(a)
	metrics.Attempt(a.Class, a.Step)
	if a.Step == profile.StepSubmit && res.Status != 0 {
		metrics.SubmitLatency(res.Latency.Seconds())
	}
	if r.d.cfg.Events != nil {
		what := fmt.Sprintf("%-6s → %-15s HTTP %d in %v", a.Step, a.Class, a.Status, res.Latency.Round(10*time.Microsecond))
		if a.Error != "" {
			what += " (" + a.Error + ")"
		}
		r.d.event(r.b.ID, what)
	}
	r.log.Debug("attempt", zap.Int("seq", a.Seq), zap.String("step", a.Step), zap.Int("status", a.Status),
		zap.String("class", a.Class), zap.Duration("latency", res.Latency), zap.String("egress", a.Egress))
}

// window submits at the booking's rate until a terminal answer or the end
// of the window.
func (r *run) window(end time.Time) error {
	ctx, cancel := context.WithDeadline(r.ctx, end)
	defer cancel()
	outer := r.ctx
	r.ctx = ctx
	defer func() { r.ctx = outer }()

	needTrace := false
	first := true
	for {
		if ctx.Err() != nil {
			if outer.Err() != nil {
				return errStop
			}
			r.d.event(r.b.ID, "window closed without success")
			r.fail(booking.ReasonWindow, r.failedKinds()...)
			return errStop
		}
		if !r.leaseOK(time.Now()) {
			// Self-fencing: the lease was not renewed; another instance
			// may take over. Wait for a renewal, never submit meanwhile.
			if err := sleepFor(ctx, 200*time.Millisecond); err != nil {
				continue
			}
			continue
		}
		if needTrace {
			res, err := r.request("trace")
			if err != nil {
				continue
			}
			switch {
			case egressRefused(res), res.Class == profile.ClassBlocked:
				r.onBlocked(res)
			case res.Class == profile.ClassSuccess:
				needTrace = false
			case res.Class == profile.ClassSessionExpired:
				_ = r.login(r.sess.Generation())
			}
			continue
		}
		gen := r.sess.Generation()
		res, err := r.request("submit")
		if err != nil {
			continue
		}
		if first {
			first = false
			if !r.fire.IsZero() {
				metrics.FireLateness(res.SentAt.Sub(r.fire).Seconds())
			}
			r.log.Info("first submit", zap.Time("sent_at", res.SentAt), zap.String("class", string(res.Class)),
				zap.Duration("latency", res.Latency))
		}
		needTrace = r.prof.Trace.EverySubmit
		if egressRefused(res) {
			// Nothing was sent: not ambiguous, just another route.
			r.onBlocked(res)
			needTrace = true
			continue
		}
		if res.Ambiguous {
			done, err := r.resolveAmbiguous()
			if done || err != nil {
				return err
			}
			continue
		}
		switch res.Class {
		case profile.ClassSuccess:
			r.succeed(res.Reservation)
			return nil
		case profile.ClassSoldOut:
			r.d.event(r.b.ID, "sold out")
			r.fail(booking.ReasonSoldOut, r.failedKinds()...)
			return nil
		case profile.ClassFatal:
			r.fail(booking.ReasonFatal, r.failedKinds()...)
			return nil
		case profile.ClassAlreadyMine:
			no, _ := r.verify()
			r.succeed(no)
			return nil
		case profile.ClassSessionExpired:
			if err := r.login(gen); err != nil {
				var le *session.LoginError
				if errors.As(err, &le) && le.Class == profile.ClassFatal {
					r.fail(booking.ReasonLogin, KindLoginFailed)
					return nil
				}
			}
			needTrace = true
		case profile.ClassBlocked:
			r.onBlocked(res)
			needTrace = true
		}
	}
}

// resolveAmbiguous runs the verify step after a submit whose outcome is
// unknown, before any further submit. done is true when the booking ended.
func (r *run) resolveAmbiguous() (done bool, err error) {
	if r.prof.Verify == nil {
		r.log.Warn("ambiguous submit and the profile has no verify step; continuing")
		return false, nil
	}
	for r.ctx.Err() == nil {
		if !r.leaseOK(time.Now()) {
			_ = sleepFor(r.ctx, 200*time.Millisecond)
			continue
		}
		no, class := r.verify()
		switch class {
		case profile.ClassSuccess:
			r.d.event(r.b.ID, "verify: the ambiguous submit was booked")
			r.succeed(no)
			return true, nil
		case profile.ClassRetry, profile.ClassNotOpen, profile.ClassSoldOut:
			r.d.event(r.b.ID, "verify: not booked; submitting again")
			return false, nil
		case profile.ClassSessionExpired:
			_ = r.login(r.sess.Generation())
		case profile.ClassBlocked:
			r.onBlocked(nil)
		}
	}
	if r.ctx.Err() != nil && !errors.Is(context.Cause(r.ctx), context.Canceled) {
		r.fail(booking.ReasonUnverified, r.failedKinds()...)
		return true, nil
	}
	return true, errStop
}

// verify asks the site whether this booking is in the account's list.
func (r *run) verify() (reservation string, class profile.Class) {
	if r.prof.Verify == nil {
		return "", profile.ClassUnknown
	}
	res, err := r.request("verify")
	if err != nil || res.Ambiguous {
		return "", profile.ClassUnknown
	}
	return res.Reservation, res.Class
}

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
	r.d.attempts.Add(booking.Attempt{
		BookingID: r.b.ID, Instance: r.d.cfg.Instance, Seq: r.d.nextSeq(), Step: "egress",
		SentAt: time.Now(), Class: string(profile.ClassBlocked), Egress: r.eg.Name(),
		Error: fmt.Sprintf("every egress to %s is cooling down; waiting %v", r.siteHost, wait.Round(time.Millisecond)),
	})
	r.d.event(r.b.ID, fmt.Sprintf("every egress is cooling down: waiting %v", wait.Round(time.Millisecond)))
	if err := sleepFor(r.ctx, wait); err != nil {
		return errStop
	}
	return nil
}

// onBlocked reports a block (or a breaker that would not let the request
// out) and moves the account to another egress: new transport, new
// cookies, a new login. The caller visits the trace page again.
func (r *run) onBlocked(res *session.Result) {
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
	if err := r.login(gen); err != nil {
		r.log.Warn("login after moving egress failed", zap.Error(err))
	}
}

// egressRefused reports whether the request never left because the
// egress's breaker is open.
func egressRefused(res *session.Result) bool {
	return res != nil && res.Err != nil && errors.Is(res.Err, ippool.ErrEgressOpen)
}

func (r *run) failedKinds() []string {
	if r.d.cfg.NotifyFailed {
		return []string{KindFailed}
	}
	return nil
}

// succeed records the success with its outbox row in one transaction. The
// site has booked: the write is retried until the database takes it.
func (r *run) succeed(reservation string) {
	r.d.event(r.b.ID, "booked: reservation "+reservation)
	notes := r.notes(KindBooked, reservation)
	r.finish(func(ctx context.Context) error {
		return r.d.cfg.Store.Succeed(ctx, r.b.ID, r.state, r.d.cfg.Instance, reservation, notes, time.Now())
	})
}

func (r *run) fail(reason booking.Reason, kinds ...string) {
	r.log.Info("booking failed", zap.String("reason", string(reason)))
	var notes []booking.Outbox
	for _, k := range kinds {
		notes = append(notes, r.notes(k, "")...)
	}
	r.finish(func(ctx context.Context) error {
		return r.d.cfg.Store.Fail(ctx, r.b.ID, r.state, r.d.cfg.Instance, reason, notes, time.Now())
	})
}

// finish writes a terminal transition, retrying while the database is
// unavailable; it gives up only when the booking is no longer ours.
func (r *run) finish(write func(context.Context) error) {
	ctx := context.WithoutCancel(r.ctx)
	wait := 100 * time.Millisecond
	for {
		err := write(ctx)
		if err == nil {
			return
		}
		if errors.Is(err, booking.ErrConflict) || errors.Is(err, booking.ErrNotFound) {
			r.log.Warn("booking changed elsewhere before it could be finished here", zap.Error(err))
			return
		}
		r.log.Warn("finishing the booking failed; retrying", zap.Error(err))
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}

func (r *run) notes(kind, reservation string) []booking.Outbox {
	if r.b.Phone == "" {
		return nil
	}
	payload, _ := json.Marshal(map[string]any{
		"site": r.b.Site, "court": r.b.Court, "date": r.b.PlayDate, "start": r.b.StartTime,
		"end": r.b.EndTime, "reservation_no": reservation, "name": r.b.BookerName,
	})
	return []booking.Outbox{{BookingID: r.b.ID, Kind: kind, Phone: r.b.Phone, Payload: string(payload)}}
}

func sleepFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func sleepUntil(ctx context.Context, t time.Time) error { return sleepFor(ctx, time.Until(t)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
