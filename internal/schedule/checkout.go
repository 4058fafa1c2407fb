package schedule

import (
	"context"
	"errors"
	"fmt"

	"reserver/internal/booking"
	"reserver/internal/profile"
)

// maxCheckouts bounds how often one booking runs its checkout chain: a
// hold whose checkout keeps failing ends for review instead of looping.
const maxCheckouts = 3

// checkout runs the profile's checkout steps after a hold, in order; the
// last step's success is the booking. A step that does not pass, or whose
// answer is lost, leaves the outcome open, so verify decides before
// anything is repeated: booked (success), still held (checkout again),
// or neither (submit again). A cancel request is honoured before each
// step: until the last one has been sent nothing is booked, and the
// hold lapses by itself. done is true when the booking ended.
func (r *run) checkout(ctx context.Context) (done bool, err error) {
	if r.checkouts++; r.checkouts > maxCheckouts {
		r.d.event(r.b.ID, fmt.Sprintf("checkout did not complete after %d tries", maxCheckouts))
		r.fail(booking.ReasonFatal, r.failedKinds()...)
		return true, nil
	}
	for i := 0; i < len(r.prof.Checkout); {
		st := r.prof.Checkout[i]
		res, err := r.request(ctx, st.Name, sendOpts{})
		switch {
		case isCancelOrStop(err):
			return true, err
		case errors.Is(err, errFenced):
			if err := r.awaitLease(ctx); isCancelOrStop(err) {
				return true, err
			}
			continue
		case errors.Is(err, errRender):
			r.d.event(r.b.ID, "the checkout request cannot be built: "+err.Error())
			r.fail(booking.ReasonProfile, r.failedKinds()...)
			return true, nil
		case err != nil && res == nil:
			return false, nil // the window ended: the loop's top decides
		}
		if egressRefused(res) {
			r.onBlocked(res) // nothing was sent: the same step, another route
			continue
		}
		if res.Ambiguous {
			return r.resolve(ctx, "the outcome of checkout step "+st.Name+" is unknown", "")
		}
		switch res.Class {
		case profile.ClassSuccess:
			if i == len(r.prof.Checkout)-1 {
				r.succeed(res.Reservation)
				return true, nil
			}
			i++
			continue
		case profile.ClassSessionExpired:
			if err := r.login(ctx, r.sess.Generation(), sendOpts{outcomePending: true}); isCancelOrStop(err) {
				return true, err
			}
		case profile.ClassBlocked:
			r.onBlocked(res)
		case profile.ClassLimitReached:
			// The site refused the checkout for the account's limit:
			// nothing was booked, and the hold lapses by itself.
			return r.limitReached(), nil
		}
		why := fmt.Sprintf("checkout step %s answered %s", st.Name, res.Class)
		var notMine booking.Reason
		switch res.Class {
		case profile.ClassFatal:
			notMine = booking.ReasonFatal
		case profile.ClassSoldOut:
			notMine = booking.ReasonSoldOut
		}
		return r.resolve(ctx, why, notMine)
	}
	return false, nil // no checkout steps: the loader refuses such a profile
}
