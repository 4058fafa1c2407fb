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
		got := submitDecision(tc.class, tc.ambiguous, tc.verify)
		require.Equal(t, tc.want, got, "class %s ambiguous %v verify %v: got %s", tc.class, tc.ambiguous, tc.verify, got.act)
	}
}
