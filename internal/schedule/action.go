package schedule

import (
	"reserver/internal/booking"
	"reserver/internal/profile"
)

// action is what the window does with one submit answer.
type action int

const (
	actAgain    action = iota // submit again at the booking's rate
	actSucceed                // booked: record it
	actFail                   // the booking failed for the action's reason
	actVerify                 // ask the site (verify) before anything else
	actRelogin                // the session expired: log in, visit the page
	actMove                   // blocked: move to another egress, log in again
	actCheckout               // held: run the checkout steps that make the booking
	actNext                   // the current choice is taken: submit the next one
	actLimit                  // the account holds all the site allows (limitReached)
)

var actionNames = [...]string{"again", "succeed", "fail", "verify", "relogin", "move", "checkout", "next", "limit"}

func (a action) String() string { return actionNames[a] }

// decision is the whole meaning of a submit answer: what to do, and what
// the booking becomes when verify finds nothing of ours (for actVerify) or
// at once (for actFail).
type decision struct {
	act action
	// reason of actFail; for actVerify the failure when verify says "not
	// ours" (empty: submit again). After a verify, sold_out means "taken
	// by someone else": the next choice, if there is one (resolve).
	reason booking.Reason
}

// answer is what submitDecision knows besides the class: whether the
// outcome is unknown (ambiguous), whether the profile has verify, whether
// a choice follows the current one (more), and whether an answer for the
// current choice had an unknown outcome before (doubt: a "taken" may then
// be our own reservation).
type answer struct {
	ambiguous, hasVerify, more, doubt bool
}

// submitDecision maps a submit answer to its action; it is the one place
// where classes meet actions (the decision table of docs/reliability.md).
// An answer whose outcome is not known — ambiguous (reset, timeout, 5xx)
// or unrecognised — is never followed by another submit before verify;
// without a verify step the booking stops for an operator to review.
//
// With choices, a sold_out answer moves to the next choice at once, unless
// an answer for this choice had an unknown outcome (then verify first: it
// may be ours, and moving on could book a second slot); conflict is always
// verified first. Without a next choice the answers end the booking as
// they do for a booking of one slot.
func submitDecision(class profile.Class, a answer) decision {
	hasVerify := a.hasVerify
	if a.ambiguous {
		if !hasVerify {
			return decision{act: actFail, reason: booking.ReasonUnverified}
		}
		return decision{act: actVerify}
	}
	switch class {
	case profile.ClassSuccess:
		return decision{act: actSucceed}
	case profile.ClassSoldOut:
		if a.more {
			if a.doubt && hasVerify {
				return decision{act: actVerify, reason: booking.ReasonSoldOut}
			}
			return decision{act: actNext}
		}
		// "Taken" may be our own reservation from a submit whose answer
		// was lost (many sites answer both alike): ask before failing.
		if hasVerify {
			return decision{act: actVerify, reason: booking.ReasonSoldOut}
		}
		return decision{act: actFail, reason: booking.ReasonSoldOut}
	case profile.ClassConflict:
		// "Taken" said alike for someone else and for us: only verify can
		// tell (the loader refuses conflict without verify).
		if hasVerify {
			return decision{act: actVerify, reason: booking.ReasonSoldOut}
		}
		return decision{act: actFail, reason: booking.ReasonUnconfirmed}
	case profile.ClassHeld:
		return decision{act: actCheckout}
	case profile.ClassAlreadyMine:
		if hasVerify {
			return decision{act: actVerify, reason: booking.ReasonUnconfirmed}
		}
		return decision{act: actFail, reason: booking.ReasonUnconfirmed}
	case profile.ClassFatal:
		return decision{act: actFail, reason: booking.ReasonFatal}
	case profile.ClassLimitReached:
		return decision{act: actLimit}
	case profile.ClassInvalid:
		// The site refused the request itself (a court or slot it does not
		// have): nothing was booked, and asking again cannot help.
		return decision{act: actFail, reason: booking.ReasonRejected}
	case profile.ClassSessionExpired:
		return decision{act: actRelogin}
	case profile.ClassBlocked:
		return decision{act: actMove}
	case profile.ClassNotOpen, profile.ClassRetry:
		return decision{act: actAgain}
	default: // unknown, or a class this table does not know
		if !hasVerify {
			// Even with another choice: this answer may have booked.
			return decision{act: actFail, reason: booking.ReasonUnrecognised}
		}
		return decision{act: actVerify}
	}
}
