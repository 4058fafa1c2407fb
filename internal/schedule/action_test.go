package schedule

import (
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/profile"
)

// The decision table of docs/reliability.md: no answer whose outcome is
// unknown is followed by a submit before verify, and none ends in success
// without the site's confirmation.
func TestSubmitDecision(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		class     profile.Class
		ambiguous bool
		verify    bool
		want      decision
	}{
		{profile.ClassSuccess, false, true, decision{act: actSucceed}},
		{profile.ClassSuccess, true, true, decision{act: actVerify}}, // a 5xx page that looks like success
		{profile.ClassUnknown, true, true, decision{act: actVerify}},
		{profile.ClassUnknown, true, false, decision{act: actFail, reason: booking.ReasonUnverified}},
		{profile.ClassUnknown, false, true, decision{act: actVerify}},
		{profile.ClassUnknown, false, false, decision{act: actFail, reason: booking.ReasonUnrecognised}},
		{profile.Class("brand_new"), false, false, decision{act: actFail, reason: booking.ReasonUnrecognised}},
		{profile.ClassAlreadyMine, false, true, decision{act: actVerify, reason: booking.ReasonUnconfirmed}},
		{profile.ClassAlreadyMine, false, false, decision{act: actFail, reason: booking.ReasonUnconfirmed}},
		{profile.ClassSoldOut, false, true, decision{act: actVerify, reason: booking.ReasonSoldOut}},
		{profile.ClassSoldOut, false, false, decision{act: actFail, reason: booking.ReasonSoldOut}},
		{profile.ClassConflict, false, true, decision{act: actVerify, reason: booking.ReasonSoldOut}},
		{profile.ClassConflict, false, false, decision{act: actFail, reason: booking.ReasonUnconfirmed}},
		{profile.ClassConflict, true, true, decision{act: actVerify}},
		{profile.ClassHeld, false, true, decision{act: actCheckout}},
		{profile.ClassHeld, false, false, decision{act: actCheckout}},
		{profile.ClassHeld, true, true, decision{act: actVerify}}, // a 5xx page that looks like a hold
		{profile.ClassFatal, false, true, decision{act: actFail, reason: booking.ReasonFatal}},
		{profile.ClassInvalid, false, true, decision{act: actFail, reason: booking.ReasonRejected}},
		{profile.ClassInvalid, false, false, decision{act: actFail, reason: booking.ReasonRejected}},
		{profile.ClassInvalid, true, true, decision{act: actVerify}}, // a 5xx page that says "invalid"
		{profile.ClassSessionExpired, false, true, decision{act: actRelogin}},
		{profile.ClassBlocked, false, true, decision{act: actMove}},
		{profile.ClassNotOpen, false, true, decision{act: actAgain}},
		{profile.ClassRetry, false, false, decision{act: actAgain}},
	} {
		got := submitDecision(tc.class, answer{ambiguous: tc.ambiguous, hasVerify: tc.verify})
		require.Equal(t, tc.want, got, "class %s ambiguous %v verify %v: got %s", tc.class, tc.ambiguous, tc.verify, got.act)
	}
}

// With another choice after the current one: sold_out moves on at once,
// unless this choice had an answer of unknown outcome (then verify: the
// "taken" may be ours); conflict, an unknown outcome and already_mine are
// verified first, as for one slot; not_open stays.
func TestSubmitDecisionWithChoices(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		class profile.Class
		a     answer
		want  decision
	}{
		{profile.ClassSoldOut, answer{hasVerify: true, more: true}, decision{act: actNext}},
		{profile.ClassSoldOut, answer{hasVerify: false, more: true}, decision{act: actNext}},
		{profile.ClassSoldOut, answer{hasVerify: true, more: true, doubt: true}, decision{act: actVerify, reason: booking.ReasonSoldOut}},
		{profile.ClassSoldOut, answer{hasVerify: true, more: false}, decision{act: actVerify, reason: booking.ReasonSoldOut}},
		{profile.ClassConflict, answer{hasVerify: true, more: true}, decision{act: actVerify, reason: booking.ReasonSoldOut}},
		{profile.ClassUnknown, answer{hasVerify: true, more: true}, decision{act: actVerify}},
		{profile.ClassUnknown, answer{hasVerify: false, more: true}, decision{act: actFail, reason: booking.ReasonUnrecognised}},
		{profile.ClassSuccess, answer{ambiguous: true, hasVerify: true, more: true}, decision{act: actVerify}},
		{profile.ClassAlreadyMine, answer{hasVerify: true, more: true}, decision{act: actVerify, reason: booking.ReasonUnconfirmed}},
		{profile.ClassNotOpen, answer{hasVerify: true, more: true}, decision{act: actAgain}},
		{profile.ClassLimitReached, answer{hasVerify: true, more: true}, decision{act: actLimit}},
		{profile.ClassLimitReached, answer{}, decision{act: actLimit}},
	} {
		got := submitDecision(tc.class, tc.a)
		require.Equal(t, tc.want, got, "class %s %+v: got %s", tc.class, tc.a, got.act)
	}
}
