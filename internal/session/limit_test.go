package session_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/sitesim"
)

// A simulator with a limit of one reservation per account and day: the
// shipped eGov profiles (UTF-8 and EUC-KR) class its answer to the second
// booking of a day limit_reached, and the site did not apply it.
func TestCourtsimLimitReached(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, charset string }{
		{"courtsim.yaml", sitesim.CharsetUTF8},
		{"courtsim-euckr.yaml", sitesim.CharsetEUCKR},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := setupSim(t, tc.file, sitesim.Options{Charset: tc.charset, Accounts: 10, AccountLimitPerDay: 1})
			me := b.session(t, "user001")
			_, _, err := me.Login(ctx, 0)
			require.NoError(t, err)

			res := attempt(ctx, t, me, booking(b.prof, "3", "09:00", "홍길동"))
			require.Equal(t, profile.ClassSuccess, res.Class, res.Excerpt)

			res = attempt(ctx, t, me, booking(b.prof, "4", "10:00", "홍길동"))
			require.Equal(t, profile.ClassLimitReached, res.Class, res.Excerpt)
			require.Contains(t, res.Excerpt, sitesim.MsgLimitReached)
			require.False(t, res.Ambiguous)
			require.Empty(t, res.Reservation)
			led := b.srv.Ledger()
			require.Len(t, led.Reservations, 1, "the second booking was not applied")
			require.Equal(t, sitesim.ResultLimit, led.Submits[len(led.Submits)-1].Result)

			// Another day is within the limit.
			next := booking(b.prof, "4", "10:00", "홍길동")
			next.Booking.Date = next.Booking.Date.AddDate(0, 0, 1)
			res = attempt(ctx, t, me, next)
			require.Equal(t, profile.ClassSuccess, res.Class, res.Excerpt)
		})
	}
}

// The cart flavour checks the limit when the slot goes into the cart (a
// hold counts): the cartsim profile classes its 409 limit_reached, in
// both of the site's languages.
func TestCartsimLimitReached(t *testing.T) {
	t.Parallel()
	b := cartSim(t, sitesim.Options{AccountLimitPerDay: 1})
	for _, tc := range []struct {
		user, message string
		days          int
	}{
		{"user001", "예약 가능 횟수를 초과했습니다", 1},      // ko
		{"user002", "Booking limit reached", 2}, // en
	} {
		t.Run(tc.user, func(t *testing.T) {
			s := b.session(t, tc.user)
			require.Equal(t, profile.ClassSuccess, login(t, s).Class)
			first := cartBooking(b.prof, tc.days)
			held := do(t, s, profile.StepSubmit, first)
			require.Equal(t, profile.ClassHeld, held.Class, held.Excerpt)

			second := cartBooking(b.prof, tc.days)
			second.Booking.Court, second.Booking.Start, second.Booking.End = "4", "11:00", "12:00"
			res := do(t, s, profile.StepSubmit, second)
			require.Equal(t, profile.ClassLimitReached, res.Class, res.Excerpt)
			require.Contains(t, res.Excerpt, tc.message)
			require.Equal(t, sitesim.ResultLimit, lastSubmitOf(t, b.srv, tc.user).Result)

			// The held one still books: the checkout never answers the limit.
			require.Equal(t, profile.ClassSuccess, do(t, s, "contact", first).Class)
			done := do(t, s, "confirm", first)
			require.Equal(t, profile.ClassSuccess, done.Class, done.Excerpt)
			require.Equal(t, profile.ClassLimitReached, do(t, s, profile.StepSubmit, second).Class, "a reservation counts too")
		})
	}
	require.Len(t, b.srv.Ledger().Reservations, 2)
}

// lastSubmitOf is the newest ledger submit of account.
func lastSubmitOf(t *testing.T, srv *sitesim.Server, account string) sitesim.Submit {
	t.Helper()
	subs := srv.Ledger().Submits
	for i := len(subs) - 1; i >= 0; i-- {
		if subs[i].Account == account {
			return subs[i]
		}
	}
	t.Fatalf("no submit of %s in the ledger", account)
	return sitesim.Submit{}
}
