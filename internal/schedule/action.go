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
)

var actionNames = [...]string{"again", "succeed", "fail", "verify", "relogin", "move", "checkout"}

func (a action) String() string { return actionNames[a] }

// decision is the whole meaning of a submit answer: what to do, and what
// the booking becomes when verify finds nothing of ours (for actVerify) or
// at once (for actFail).
type decision struct {
	act action
	// reason of actFail; for actVerify the failure when verify says "not
	// ours" (empty: submit again).
	reason booking.Reason
}

// submitDecision maps a submit answer to its action; it is the one place
// where classes meet actions (the decision table of docs/reliability.md).
// An answer whose outcome is not known — ambiguous (reset, timeout, 5xx)
// or unrecognised — is never followed by another submit before verify;
// without a verify step the booking stops for an operator to review.
func submitDecision(class profile.Class, ambiguous, hasVerify bool) decision {
	if ambiguous {
		if !hasVerify {
			return decision{act: actFail, reason: booking.ReasonUnverified}
		}
		return decision{act: actVerify}
	}
	switch class {
	case profile.ClassSuccess:
		return decision{act: actSucceed}
	case profile.ClassSoldOut:
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
			return decision{act: actFail, reason: booking.ReasonUnrecognised}
		}
		return decision{act: actVerify}
	}
}
