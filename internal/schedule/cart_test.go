package schedule

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/sitesim"
)

// cartBundle is setup for the cart flavour of the simulator: a JSON API
// with a rolling notice, a cart hold and a two-step checkout.
type cartBundle struct {
	*bundle
	opensAt time.Time // the slot's opening on the site's clock
	play    time.Time // the play date (site zone)
	// repeats is how many submits for a slot their account already held
	// the test expects (the cleanup fails on any other number).
	repeats int
}

// setupCart starts a cart site whose notice makes court 3's 10:00–11:00
// slot on the next day open in about 90 s (fake time).
func setupCart(t *testing.T, opts sitesim.Options) *cartBundle {
	t.Helper()
	prof := loadProfile(t, "cartsim.yaml", "http://cartsim.test")
	now := time.Now().In(prof.Location)
	play := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, prof.Location)
	end := time.Date(play.Year(), play.Month(), play.Day(), 11, 0, 0, 0, prof.Location)
	opensAt := now.Add(90 * time.Second).Truncate(time.Second)
	opts.Flavor, opts.Accounts = sitesim.FlavorCart, 50
	opts.Notice = end.Sub(opensAt)
	site, err := sitesim.New(opts)
	require.NoError(t, err)
	cb := &cartBundle{}
	t.Cleanup(func() {
		if n := site.Ledger().RepeatSubmits; n != cb.repeats {
			t.Errorf("repeat_submits=%d, want %d: a submit was repeated for a slot its account already held", n, cb.repeats)
		}
	})
	cb.bundle = newBundle(t)
	cb.site, cb.prof, cb.opensAt, cb.play = site, prof, opensAt, play
	cb.tr = &sitesim.InProcess{Handler: site.Handler(), RemoteAddr: "127.0.0.1:40000"}
	return cb
}

func (b *cartBundle) book(t *testing.T, account string) *booking.Booking {
	t.Helper()
	bk, _, err := b.store.Create(context.Background(), booking.NewBooking{
		TenantID: b.tenant, Site: "cartsim", Username: account, Password: "pass1234",
		Court: "3", PlayDate: b.play.Format(time.DateOnly), StartTime: "10:00", EndTime: "11:00",
		OpensAt: b.opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678", BookerName: "홍길동",
	})
	require.NoError(t, err)
	return bk
}

func (b *cartBundle) run(t *testing.T, id int64) *booking.Booking {
	t.Helper()
	d, _ := b.daemonDB(t, "i1", func(c *Config) {
		c.Profiles = map[string]*profile.Profile{"cartsim": b.prof}
	})
	require.NoError(t, d.Start(t.Context()))
	got := b.waitTerminal(t, id, 3*time.Minute)
	d.Stop()
	return got
}

func stepClasses(rows []booking.Attempt) []string {
	out := make([]string, 0, len(rows))
	for _, a := range rows {
		out = append(out, a.Step+":"+a.Class)
	}
	return out
}

// The daemon books the cart site end to end, in both of its languages:
// the login form, the login, the page, the hold at the opening instant
// (never early on the site's clock), the two checkout steps, the order
// code recorded as the reservation number.
func TestCartBooksEndToEnd(t *testing.T) {
	for _, account := range []string{"user001", "user002"} { // ko, en
		t.Run(account, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := setupCart(t, sitesim.Options{Skew: 1300 * time.Millisecond})
				bk := b.book(t, account)
				got := b.run(t, bk.ID)

				require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
				led := b.site.Ledger()
				require.Len(t, led.Reservations, 1)
				require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
				require.Regexp(t, `^RS-\d+$`, got.ReservationNo)
				require.Len(t, led.Submits, 1, "the first hold won")
				require.GreaterOrEqual(t, led.Submits[0].OffsetMS, 0.0, "never early on the site's clock")
				require.LessOrEqual(t, led.Submits[0].OffsetMS, 10.0)
				require.Equal(t, []string{"prelogin:success", "login:success", "resources:success", "resources:success",
					"submit:held", "contact:success", "confirm:success"}, stepClasses(b.attempts(t, bk.ID)))
				var n int64
				require.NoError(t, b.db.Model(&booking.Outbox{}).Where("booking_id = ? AND kind = ?", bk.ID, KindBooked).Count(&n).Error)
				require.EqualValues(t, 1, n)

				// The review tools put the submit where the site saw it:
				// on the clock the daemon measured, not the local one.
				require.NotNil(t, got.ClockOffsetUS, "the run stored its clock estimate")
				require.InDelta(t, 1300, float64(*got.ClockOffsetUS)/1000, 5, "site − local in ms")
				rows := b.attempts(t, bk.ID)
				clk := booking.SiteClockFor(got, rows)
				require.True(t, clk.Measured, clk.String())
				var submitAt time.Time
				for _, a := range rows {
					if a.Step == "submit" {
						submitAt = a.SentAt.Add(time.Duration(a.LatencyUS) * time.Microsecond / 2)
					}
				}
				require.InDelta(t, led.Submits[0].OffsetMS, clk.SinceOpening(submitAt, got.OpensAt), 3,
					"the submit's arrival after the opening, on the site's clock, as the site's ledger says")
			})
		})
	}
}

// A hold whose answer is lost (the connection reset after the site made
// it), and a confirmation lost the same way: the cart answers "conflict"
// to a repeated hold whether it is ours or not, so the daemon must not
// submit again blindly. Verify finds the hold and the checkout goes on;
// after the lost confirmation verify finds the order. One reservation,
// no repeated submit (the cleanup fails the test on one).
func TestCartLostAnswersAreVerified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupCart(t, sitesim.Options{ResetRate: 1, ResetApplied: 1})
		bk := b.book(t, "user002")
		got := b.run(t, bk.ID)

		require.Equal(t, booking.Succeeded, got.State, "reason %s: %v", got.Reason, stepClasses(b.attempts(t, bk.ID)))
		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1)
		require.Equal(t, led.Reservations[0].Number, got.ReservationNo, "the number verify found")
		require.Len(t, led.Submits, 1, "the hold was made once")
		require.Equal(t, []string{"prelogin:success", "login:success", "resources:success", "resources:success",
			"submit:unknown", "verify:held", "contact:success", "confirm:unknown", "verify:success"}, stepClasses(b.attempts(t, bk.ID)))
	})
}

// Someone else holds the slot: the answer is the same "conflict" as for
// our own hold, verify says it is not ours, and the booking fails as sold
// out without a second submit.
func TestCartConflictNotOursIsSoldOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupCart(t, sitesim.Options{})
		_, err := b.site.Reserve("user009", 3, b.play.Format(time.DateOnly), 5)
		require.NoError(t, err)
		bk := b.book(t, "user001")
		got := b.run(t, bk.ID)

		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonSoldOut, got.Reason)
		require.Equal(t, []string{"prelogin:success", "login:success", "resources:success", "resources:success",
			"submit:conflict", "verify:retry"}, stepClasses(b.attempts(t, bk.ID)))
	})
}

// The account already has the slot (booked by hand on the site): the
// first submit's "conflict" is ours, and verify records the site's order
// code instead of failing the booking as sold out.
func TestCartConflictThatIsOursIsBooked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupCart(t, sitesim.Options{})
		no, err := b.site.Reserve("user001", 3, b.play.Format(time.DateOnly), 5)
		require.NoError(t, err)
		b.repeats = 1 // the one submit, for a slot the account held: the site's ledger says so
		bk := b.book(t, "user001")
		got := b.run(t, bk.ID)

		require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
		require.Equal(t, no, got.ReservationNo)
		require.Equal(t, []string{"prelogin:success", "login:success", "resources:success", "resources:success",
			"submit:conflict", "verify:success"}, stepClasses(b.attempts(t, bk.ID)))
	})
}

// A hold that expires before its checkout: the checkout step says so,
// verify finds neither hold nor order, the slot is held again — and a
// checkout that can never finish ends for review after maxCheckouts
// chains instead of looping until the window closes.
func TestCartHoldExpiringBeforeCheckoutIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setupCart(t, sitesim.Options{HoldFor: time.Second, Latency: 1500 * time.Millisecond})
		bk := b.book(t, "user001")
		got := b.run(t, bk.ID)

		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonFatal, got.Reason)
		led := b.site.Ledger()
		require.Empty(t, led.Reservations)
		require.Len(t, led.Submits, maxCheckouts+1, "a new hold after each expired one, then one more that is not checked out")
		for _, h := range led.Holds {
			require.Equal(t, "expired", string(h.State))
		}
	})
}
