package sitesim

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// doubles returns the ledger's reservations marked Double, as
// "account facility date slot" lines.
func doubles(l Ledger) []string {
	var out []string
	for _, r := range l.Reservations {
		if r.Double {
			out = append(out, fmt.Sprintf("%s %s %s slot %d", r.Account, r.Date, resourceName(r.Facility), r.Slot))
		}
	}
	return out
}

// One account holding two courts at one hour of one date is a double
// booking; the same account at another hour, another date, or another
// account at that hour is not. Counted with and without Strict, and for
// reservations made with Site.Reserve.
func TestDoubleBookingsEgov(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{false, true} {
		srv := startSite(t, Options{Strict: strict})
		a, b := newClient(t, srv), newClient(t, srv)
		a.mustLogin("user001")
		b.mustLogin("user002")
		require.Contains(t, a.book(1, testUseDate, 3).body, MsgSuccess)
		require.Contains(t, a.book(2, testUseDate, 4).body, MsgSuccess) // another hour
		require.Contains(t, a.book(3, "20261126", 3).body, MsgSuccess)  // another date
		require.Contains(t, b.book(4, testUseDate, 3).body, MsgSuccess) // another account
		l := srv.Ledger()
		require.Zero(t, l.DoubleBookings, "strict=%v", strict)
		require.Empty(t, doubles(l))

		require.Contains(t, a.book(5, testUseDate, 3).body, MsgSuccess)
		l = srv.Ledger()
		require.Equal(t, 1, l.DoubleBookings, "strict=%v", strict)
		require.Equal(t, []string{"user001 2026-11-25 Court 1 slot 3", "user001 2026-11-25 Court 5 slot 3"}, doubles(l))

		// A slot taken "earlier" counts too, and a third at that hour adds one.
		_, err := srv.Reserve("user001", 6, testISODate, 3)
		require.NoError(t, err)
		_, err = srv.Reserve("user002", 7, "2026-11-26", 9)
		require.NoError(t, err)
		_, err = srv.Reserve("user002", 8, "2026-11-26", 9)
		require.NoError(t, err)
		l = srv.Ledger()
		require.Equal(t, 3, l.DoubleBookings, "strict=%v", strict)
		require.Len(t, doubles(l), 5)

		// /_sim/ledger is the same JSON.
		r := a.get(PathLedger)
		require.Contains(t, r.body, `"double_bookings":3`)
		require.Contains(t, r.body, `"double":true`)
	}
}

func TestDoubleBookingsCart(t *testing.T) {
	t.Parallel()
	srv := startCartSite(t, Options{})
	a, b := netCart(t, srv), netCart(t, srv)
	a.mustLogin("user001")
	b.mustLogin("user002")
	thu10, thu11, wed10 := cartSlotAt(24, 5), cartSlotAt(24, 6), cartSlotAt(23, 5)
	for _, bk := range []struct {
		c        *cartClient
		resource int
		start    time.Time
	}{{a, 1, thu10}, {a, 2, thu11}, {a, 3, wed10}, {b, 4, thu10}} {
		require.Equal(t, http.StatusOK, bk.c.book(bk.resource, bk.start).status)
	}
	// A hold is not a reservation: only confirmed ones count.
	a.mustHold(5, thu10)
	l := srv.Ledger()
	require.Zero(t, l.DoubleBookings)
	require.Empty(t, doubles(l))

	require.Equal(t, http.StatusOK, a.book(6, thu10).status)
	l = srv.Ledger()
	require.Equal(t, 1, l.DoubleBookings)
	require.Equal(t, []string{"user001 2026-12-24 Court 1 slot 5", "user001 2026-12-24 Court 6 slot 5"}, doubles(l))
	_, err := srv.Reserve("user002", 7, "2026-12-24", 5)
	require.NoError(t, err)
	require.Equal(t, 2, srv.Ledger().DoubleBookings)
	require.Contains(t, a.get(PathLedger).body, `"double_bookings":2`)
}

// eGov: a submit that would give the account more than its daily limit
// gets MsgLimitReached and is recorded as limit, not applied; another
// date is fine; a taken slot is still answered taken; Site.Reserve's
// reservations count.
func TestAccountLimitPerDayEgov(t *testing.T) {
	t.Parallel()
	for _, charset := range []string{CharsetUTF8, CharsetEUCKR} {
		srv := startSite(t, Options{AccountLimitPerDay: 1, Charset: charset})
		a, b := newClient(t, srv), newClient(t, srv)
		a.mustLogin("user001")
		b.mustLogin("user002")
		require.Contains(t, a.book(1, testUseDate, 3).body, MsgSuccess)
		r := a.book(2, testUseDate, 5)
		require.Equal(t, http.StatusOK, r.status)
		require.Contains(t, r.body, `<p class="msg-text">`+MsgLimitReached+`</p>`, charset)
		sub := lastSubmit(t, srv.Site)
		require.Equal(t, ResultLimit, sub.Result)
		require.Equal(t, "user001", sub.Account)
		require.Empty(t, sub.Reservation)
		require.Len(t, srv.Ledger().Reservations, 1)

		require.Contains(t, a.book(2, "20261126", 5).body, MsgSuccess)  // another day
		require.Contains(t, b.book(2, testUseDate, 5).body, MsgSuccess) // another account
		require.Contains(t, a.book(2, testUseDate, 5).body, MsgTaken)   // taken comes first

		_, err := srv.Reserve("user003", 1, "2026-11-27", 1) // never refused, but counts
		require.NoError(t, err)
		_, err = srv.Reserve("user003", 2, "2026-11-27", 2)
		require.NoError(t, err)
		c := newClient(t, srv)
		c.mustLogin("user003")
		require.Contains(t, c.book(3, "20261127", 3).body, MsgLimitReached)
	}
}

// The week runs Monday to Sunday of the play date: 2026-11-23 is a Monday.
func TestAccountLimitPerWeekEgov(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{AccountLimitPerWeek: 2})
	a := newClient(t, srv)
	a.mustLogin("user001")
	require.Contains(t, a.book(1, "20261123", 1).body, MsgSuccess)      // Monday
	require.Contains(t, a.book(1, "20261123", 2).body, MsgSuccess)      // same day: no daily limit
	require.Contains(t, a.book(1, "20261129", 1).body, MsgLimitReached) // Sunday, same week
	require.Equal(t, ResultLimit, lastSubmit(t, srv.Site).Result)
	require.Contains(t, a.book(1, "20261122", 1).body, MsgSuccess) // the Sunday before
	require.Contains(t, a.book(1, "20261130", 1).body, MsgSuccess) // the next Monday
	require.Len(t, srv.Ledger().Reservations, 4)
}

// Cart: the limit is checked when a slot is put in the cart, counting
// the account's reservations and unexpired holds; the answer is a 409
// with its own code, in the account's language.
func TestAccountLimitCart(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newCartSite(t, Options{AccountLimitPerDay: 1, AccountLimitPerWeek: 2, Notice: 14 * 24 * time.Hour})
		en, ko := memCart(t, s, "127.0.0.1"), memCart(t, s, "127.0.0.2")
		en.mustLogin("user002")
		ko.mustLogin("user001")

		en.mustHold(1, cartSlotAt(24, 5)) // a hold counts
		requireAPIError(t, en.add(2, cartSlotAt(24, 7)), http.StatusConflict, codeLimitReached,
			"Booking limit reached: an account may hold 1 per day.")
		require.Equal(t, ResultLimit, lastSubmit(t, s).Result)
		require.Len(t, s.Ledger().Holds, 1)
		requireAPIError(t, en.add(1, cartSlotAt(24, 5)), http.StatusConflict, codeConflict,
			"This time conflicts with an existing reservation.") // its own slot: the conflict, not the limit

		require.Equal(t, http.StatusOK, en.book(3, cartSlotAt(22, 5)).status) // Tuesday: 2 this week
		requireAPIError(t, en.add(2, cartSlotAt(27, 5)), http.StatusConflict, codeLimitReached,
			"Booking limit reached: an account may hold 2 per week.") // Sunday, same week
		en.mustHold(1, cartSlotAt(28, 5)) // next Monday

		require.Equal(t, http.StatusOK, ko.book(1, cartSlotAt(23, 5)).status)
		requireAPIError(t, ko.add(2, cartSlotAt(23, 7)), http.StatusConflict, codeLimitReached,
			"예약 가능 횟수를 초과했습니다. 한 계정은 하루에 1건까지 예약할 수 있습니다.")
		ko.mustHold(2, cartSlotAt(24, 7))
		requireAPIError(t, ko.add(3, cartSlotAt(25, 7)), http.StatusConflict, codeLimitReached,
			"예약 가능 횟수를 초과했습니다. 한 계정은 일주일에 2건까지 예약할 수 있습니다.")

		// An expired hold no longer counts.
		time.Sleep(HoldForDefault)
		ko.mustHold(3, cartSlotAt(25, 7))
	})
}

func TestAccountLimitOptions(t *testing.T) {
	t.Parallel()
	_, err := New(Options{AccountLimitPerDay: -1, AccountLimitPerWeek: -2})
	require.ErrorIs(t, err, ErrInvalidOptions)
	require.ErrorContains(t, err, "account limit per day must not be negative (0 = no limit), got -1")
	require.ErrorContains(t, err, "account limit per week must not be negative (0 = no limit), got -2")
	s, err := New(Options{AccountLimitPerDay: 2, AccountLimitPerWeek: 5})
	require.NoError(t, err)
	require.Equal(t, 2, s.Options().AccountLimitPerDay)
	require.Equal(t, 5, s.Options().AccountLimitPerWeek)
}

func TestWeekOf(t *testing.T) {
	t.Parallel()
	for date, want := range map[int][2]int{
		20261123: {20261123, 20261129}, // Monday
		20261129: {20261123, 20261129}, // Sunday
		20261231: {20261228, 20270103}, // across the year
		20260301: {20260223, 20260301},
	} {
		mon, sun := weekOf(date)
		require.Equal(t, want, [2]int{mon, sun}, "%d", date)
	}
}
