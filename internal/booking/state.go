package booking

import "fmt"

// State is where a booking is in its life; see docs/state-machine.md.
type State string

const (
	// Queued: stored by the API, waiting for an instance to claim it.
	Queued State = "queued"
	// Armed: an instance holds its lease and has set its timers.
	Armed State = "armed"
	// Running: the pre-warm has started or the window is open.
	Running State = "running"
	// Succeeded: the site confirmed; the reservation number is recorded.
	Succeeded State = "succeeded"
	// Failed: the window closed, the slot is gone, or a permanent error.
	Failed State = "failed"
	// Cancelled: by the user before success.
	Cancelled State = "cancelled"
)

// States lists every state in lifecycle order.
var States = []State{Queued, Armed, Running, Succeeded, Failed, Cancelled}

// transitions is the whole state machine: from → allowed targets.
var transitions = map[State][]State{
	Queued:  {Armed, Cancelled, Failed},
	Armed:   {Queued, Running, Succeeded, Failed, Cancelled},
	Running: {Succeeded, Failed, Cancelled},
}

// Terminal reports whether a booking in s can change no more.
func (s State) Terminal() bool {
	return s == Succeeded || s == Failed || s == Cancelled
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, k := range States {
		if s == k {
			return true
		}
	}
	return false
}

// CanMove reports whether the machine allows from → to.
func CanMove(from, to State) bool {
	for _, t := range transitions[from] {
		if t == to {
			return true
		}
	}
	return false
}

// ParseState checks a state name from outside (a query parameter).
func ParseState(s string) (State, error) {
	if st := State(s); st.Valid() {
		return st, nil
	}
	return "", fmt.Errorf("unknown state %q: expected one of queued, armed, running, succeeded, failed, cancelled", s)
}

// Reason says why a booking failed or was cancelled.
type Reason string

const (
	ReasonNone       Reason = ""
	ReasonWindow     Reason = "window_closed"   // T + window passed without success
	ReasonSoldOut    Reason = "sold_out"        // the site said the slot is taken
	ReasonLogin      Reason = "login_failed"    // bad credentials at pre-warm or later
	ReasonFatal      Reason = "fatal"           // the site answered with a permanent error
	ReasonMissed     Reason = "missed"          // no instance ran it before its window ended
	ReasonPanic      Reason = "internal_error"  // a bug in reserver; see the attempt log
	ReasonUser       Reason = "user_cancelled"  // DELETE by the owner
	ReasonOperator   Reason = "operator_cancel" // cancelled by an operator
	ReasonUnverified Reason = "unverified"      // an ambiguous submit could not be verified
	// ReasonUnrecognised: a submit answer whose outcome is unknown (no
	// rule matched, or a reset/timeout/5xx) and the profile has no verify
	// step to find it out; never repeated blindly — an operator reviews it.
	ReasonUnrecognised Reason = "unrecognised_answer"
	// ReasonUnconfirmed: the site said the slot is already ours, but
	// verify did not find the reservation.
	ReasonUnconfirmed Reason = "mine_unconfirmed"
	// ReasonProfile: a step could not be built from the site's pages (e.g.
	// the token missing from the booking page), again after a new visit.
	ReasonProfile Reason = "profile_error"
	// ReasonRejected: the site refused the request itself as invalid (a
	// court or slot it does not have, a malformed form); retrying cannot help.
	ReasonRejected Reason = "site_rejected"
	// ReasonBlocked: the window closed while the site was blocking our
	// requests (every answer since the last one it let through was a
	// block, on whatever egress).
	ReasonBlocked Reason = "site_blocked"
	// ReasonAccountLimit: the site said the account holds as many
	// reservations as it allows (class limit_reached): this booking
	// failed, and the account's other bookings in that period were
	// cancelled with it.
	ReasonAccountLimit Reason = "account_limit"
)
