package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/metrics"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// window submits at the booking's rate until a terminal answer, a cancel
// request or the end of the window.
func (r *run) window(end time.Time) error {
	ctx, cancel := context.WithDeadline(r.ctx, end)
	defer cancel()

	pages := pagesNone
	if r.stalePages {
		pages = pagesAll
	}
	first := true
	renderFails := 0
	for {
		// A booking taken over mid-window may have been booked by the
		// instance before us, whose answer was lost with it: ask before
		// submitting, and before honouring a cancel — for every choice,
		// since the instance before may have reached any of them.
		if r.unsure {
			done, err := r.resolveTakeover(ctx)
			r.unsure = false
			if done || err != nil {
				return err
			}
			pages = pagesAll
			continue
		}
		if r.cancelRequested() {
			return errCancelled
		}
		if ctx.Err() != nil {
			if r.ctx.Err() != nil {
				return errStop
			}
			if r.blocked {
				r.d.event(r.b.ID, "window closed while the site was blocking our requests")
				r.fail(booking.ReasonBlocked, r.failedKinds()...)
				return errStop
			}
			r.d.event(r.b.ID, "window closed without success")
			r.fail(booking.ReasonWindow, r.failedKinds()...)
			return errStop
		}
		if pages != pagesNone {
			res, err := r.visitPages(ctx, pages, sendOpts{})
			switch {
			case isCancelOrStop(err):
				return err
			case errors.Is(err, errFenced):
				if err := r.awaitLease(ctx); isCancelOrStop(err) {
					return err
				}
				continue
			case errors.Is(err, errRender):
				if renderFails++; renderFails >= maxRenderFails {
					r.d.event(r.b.ID, "the request cannot be built from the site's pages: "+err.Error())
					r.fail(booking.ReasonProfile, r.failedKinds()...)
					return errStop
				}
				pages = pagesAll
				continue
			case err != nil:
				continue // ctx ended: the loop's top decides
			}
			switch {
			case res == nil || res.Class == profile.ClassSuccess && !egressRefused(res):
				r.blocked = false
				pages = pagesNone
			case egressRefused(res), res.Class == profile.ClassBlocked:
				r.onBlocked(res)
				pages = pagesAll
			case res.Class == profile.ClassSessionExpired:
				if err := r.login(ctx, r.sess.Generation(), sendOpts{}); isCancelOrStop(err) {
					return err
				}
				pages = pagesAll
			case res.Class == profile.ClassInvalid:
				r.rejected(res)
				return nil
			}
			continue
		}
		gen := r.sess.Generation()
		o := sendOpts{}
		if first && r.atOpening() {
			o = sendOpts{opening: true, prepared: r.takeFirst()}
		}
		res, err := r.request(ctx, profile.StepSubmit, o)
		switch {
		case errors.Is(err, errCancelled), errors.Is(err, errStop):
			return err
		case errors.Is(err, errFenced):
			if err := r.awaitLease(ctx); isCancelOrStop(err) {
				return err
			}
			continue
		case errors.Is(err, errRender):
			if renderFails++; renderFails >= maxRenderFails {
				r.d.event(r.b.ID, "the request cannot be built from the site's pages: "+err.Error())
				r.fail(booking.ReasonProfile, r.failedKinds()...)
				return errStop
			}
			pages = pagesAll // a new page visit may bring what was missing
			continue
		case err != nil && res == nil:
			continue // ctx ended: the loop's top decides
		}
		renderFails = 0
		r.noteEdge(res)
		if first {
			first = false
			if !r.fire.IsZero() {
				metrics.FireLateness(res.SentAt.Sub(r.fire).Seconds())
			}
			r.log.Info("first submit", zap.Time("sent_at", res.SentAt), zap.String("class", string(res.Class)),
				zap.Duration("latency", res.Latency), zap.Bool("prepared", o.prepared != nil))
		}
		pages = r.pagesBeforeSubmit()
		if egressRefused(res) {
			// Nothing was sent: not ambiguous, just another route.
			r.onBlocked(res)
			pages = pagesAll
			continue
		}
		if res.Class != profile.ClassBlocked {
			r.blocked = false // the site let this one through
		}
		dec := submitDecision(res.Class, answer{ambiguous: res.Ambiguous, hasVerify: r.prof.Verify != nil, more: r.hasNext(), doubt: r.doubt})
		if res.Ambiguous || dec.act == actVerify {
			r.doubt = true
		}
		switch dec.act {
		case actSucceed:
			r.succeed(res.Reservation)
			return nil
		case actFail:
			if dec.reason == booking.ReasonRejected {
				r.rejected(res)
				return nil
			}
			r.d.event(r.b.ID, "failed: "+string(dec.reason))
			r.fail(dec.reason, r.failedKinds()...)
			return nil
		case actVerify:
			why := "the submit's outcome is unknown"
			if !res.Ambiguous {
				why = "the site answered " + string(res.Class)
			}
			done, err := r.resolve(ctx, why, dec.reason)
			if done || err != nil {
				return err
			}
			pages = pagesAll
		case actCheckout:
			r.d.event(r.b.ID, "held: checking out")
			done, err := r.checkout(ctx)
			if done || err != nil {
				return err
			}
			pages = pagesAll
		case actRelogin:
			if err := r.login(ctx, gen, sendOpts{}); err != nil {
				var le *session.LoginError
				if errors.As(err, &le) && le.Class == profile.ClassFatal {
					if r.otherPassword() {
						pages = pagesAll
						continue
					}
					r.fail(booking.ReasonLogin, KindLoginFailed)
					return nil
				}
				if isCancelOrStop(err) {
					return err
				}
			}
			pages = pagesAll
		case actMove:
			r.onBlocked(res)
			pages = pagesAll
		case actNext:
			r.next("is taken")
			pages = pagesAll
		case actLimit:
			if r.limitReached() {
				return nil
			}
			pages = pagesAll
		case actAgain:
		}
	}
}

// rejected fails the booking because the site refused its request itself
// (class invalid: a court or slot it does not have): at once, before the
// opening when a page visit said so, since no retry can make it valid.
func (r *run) rejected(res *session.Result) {
	why := res.Step + " answered invalid: the site refused the request (check the court, date and slot)"
	r.log.Warn("the site rejected the request", zap.String("step", res.Step), zap.Int("status", res.Status))
	r.d.event(r.b.ID, "failed: "+string(booking.ReasonRejected)+": "+why)
	r.fail(booking.ReasonRejected, r.failedKinds()...)
}

// openingSlack: a first submit still counts as the opening's (exempt
// from waiting on the shared ceilings) this long after its planned fire
// instant; later, a booking that came late queues like any retry.
const openingSlack = time.Second

// atOpening reports whether the run's first submit goes at its planned
// opening instant (not a takeover or a booking armed after it).
func (r *run) atOpening() bool {
	return !r.fire.IsZero() && time.Since(r.fire) < openingSlack
}

// resolve runs the verify step until it says whether the booking is in
// the account's list, before any further submit: ours → success with its
// number; not ours → notMine as the failure reason, or (empty) back to
// submitting. A cancel request waits until the outcome is known. done is
// true when the booking ended.
func (r *run) resolve(ctx context.Context, why string, notMine booking.Reason) (done bool, err error) {
	r.d.event(r.b.ID, "verify: "+why)
	for {
		if ctx.Err() != nil {
			if r.ctx.Err() != nil {
				return true, errStop
			}
			// The window ended with the outcome still unknown.
			r.fail(booking.ReasonUnverified, r.failedKinds()...)
			return true, nil
		}
		res, err := r.request(ctx, profile.StepVerify, sendOpts{outcomePending: true})
		switch {
		case errors.Is(err, errStop):
			return true, err
		case errors.Is(err, errFenced):
			if err := r.awaitLease(ctx); errors.Is(err, errStop) {
				return true, err
			}
			continue
		case errors.Is(err, errRender):
			r.fail(booking.ReasonProfile, r.failedKinds()...)
			return true, nil
		case err != nil && res == nil:
			continue
		}
		if res.Ambiguous || egressRefused(res) {
			if egressRefused(res) {
				r.onBlocked(res)
			}
			continue
		}
		switch res.Class {
		case profile.ClassSuccess:
			r.d.event(r.b.ID, "verify: booked")
			r.succeed(res.Reservation)
			return true, nil
		case profile.ClassHeld:
			if notMine != "" {
				// The chain cannot go on (it failed for good); the hold lapses.
				r.d.event(r.b.ID, "verify: held but not booked: "+string(notMine))
				r.fail(notMine, r.failedKinds()...)
				return true, nil
			}
			r.d.event(r.b.ID, "verify: held for this account; checking out")
			return r.checkout(ctx)
		case profile.ClassRetry, profile.ClassNotOpen, profile.ClassSoldOut:
			if notMine == booking.ReasonSoldOut && r.hasNext() {
				// Verified: not ours, so someone else holds this choice.
				r.next("is taken (verified: not booked for this account)")
				return false, nil
			}
			if notMine != "" {
				r.d.event(r.b.ID, "verify: not booked for this account: "+string(notMine))
				r.fail(notMine, r.failedKinds()...)
				return true, nil
			}
			r.d.event(r.b.ID, "verify: not booked; submitting again")
			return false, nil
		case profile.ClassSessionExpired:
			if err := r.login(ctx, r.sess.Generation(), sendOpts{outcomePending: true}); errors.Is(err, errStop) {
				return true, err
			}
		case profile.ClassBlocked:
			r.onBlocked(res)
		}
	}
}

// resolveTakeover verifies every choice of a booking taken over
// mid-window, in order, before anything is submitted: the instance before
// may have booked any of them. The run then goes on from the first
// choice (a taken one answers sold_out at once and moves on).
func (r *run) resolveTakeover(ctx context.Context) (done bool, err error) {
	for i := range r.choices {
		r.useChoice(i)
		why := "taken over mid-window"
		if len(r.choices) > 1 {
			why = fmt.Sprintf("taken over mid-window: choice %d of %d (%s)", i+1, len(r.choices), r.current())
		}
		if done, err := r.resolve(ctx, why, ""); done || err != nil {
			return done, err
		}
	}
	r.useChoice(0)
	return false, nil
}
