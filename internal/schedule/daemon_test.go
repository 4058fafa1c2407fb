package schedule

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/sitesim"
)

// The whole timeline in fake time: pre-warm at T − lead, a clock
// measurement, the first submit arriving at T (site clock) plus the margin
// although the site's clock is skewed, and success with the SMS outbox row.
func TestBooksOnTimeBySiteClock(t *testing.T) {
	for _, skew := range []time.Duration{2300 * time.Millisecond, -1700 * time.Millisecond} {
		t.Run(skew.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, setupOpts{skew: skew})
				opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
				b.site.SetOpenAt(opensAt)
				bk := b.book(t, opensAt, bookingOpts{})

				var ev events
				d := b.daemon(t, "i1", func(c *Config) { c.Events = ev.add })
				require.NoError(t, d.Start(t.Context()))
				got := b.waitTerminal(t, bk.ID, 3*time.Minute)
				d.Stop()

				require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
				led := b.site.Ledger()
				require.Len(t, led.Reservations, 1)
				require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
				require.Equal(t, "홍길동", led.Reservations[0].UserName)
				require.Len(t, led.Submits, 1, "the first submit won")
				first := led.Submits[0]
				require.GreaterOrEqual(t, first.OffsetMS, 0.0, "never early")
				require.LessOrEqual(t, first.OffsetMS, 10.0, "arrives at T + margin on the site's clock")

				var n int64
				require.NoError(t, b.db.Model(&booking.Outbox{}).Where("booking_id = ? AND kind = ?", bk.ID, KindBooked).Count(&n).Error)
				require.EqualValues(t, 1, n, "the success and its SMS row are written together")

				rows := b.attempts(t, bk.ID)
				steps := make([]string, 0, len(rows))
				for _, a := range rows {
					steps = append(steps, a.Step)
					require.Equal(t, "i1", a.Instance)
					require.NotContains(t, a.Excerpt, "pass1234")
				}
				require.Equal(t, []string{"login", "trace", "trace", "submit"}, steps, "pre-warm, the page again just before the opening, the submit")
				require.Equal(t, "success", rows[3].Class)
				require.InDelta(t, float64(-refreshBefore), float64(rows[2].SentAt.Add(skew).Sub(opensAt)), float64(100*time.Millisecond))
				// The pre-warm started one lead before the opening.
				lead := opensAt.Sub(b.site.Now()) // negative now; use the attempt times instead
				_ = lead
				require.InDelta(t, float64(-LeadDefault), float64(rows[0].SentAt.Add(skew).Sub(opensAt)), float64(3*time.Second))
				require.NotEmpty(t, ev.list)
			})
		})
	}
}

// The booking keeps trying at its rate while the site is not open yet
// (never faster than 2 requests/s, trace included), then books.
func TestRateWhileNotOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(70 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(10 * time.Second)) // the site opens 10 s late
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Succeeded, got.State)

		rows := b.attempts(t, bk.ID)
		for i := 1; i < len(rows); i++ {
			gap := rows[i].SentAt.Sub(rows[i-1].SentAt)
			require.GreaterOrEqual(t, gap, 500*time.Millisecond-time.Microsecond, "requests %d and %d are %v apart", i-1, i, gap)
		}
		led := b.site.Ledger()
		notOpen := 0
		for _, s := range led.Submits {
			if s.Result == sitesim.ResultNotOpen {
				notOpen++
			}
		}
		// 10 s at one submit per second (each submit needs a fresh trace).
		require.InDelta(t, 10, notOpen, 1)
		require.Len(t, led.Reservations, 1)
	})
}

func TestSoldOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		_, err := b.site.Reserve("user002", 3, bk.PlayDate, 5)
		require.NoError(t, err)
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonSoldOut, got.Reason)
		require.Len(t, b.site.Ledger().Reservations, 1, "only the other account's")
	})
}

// A rejected password is reported at pre-warm, before the opening.
func TestLoginFailsAtPrewarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(100 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{password: "wrong"})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonLogin, got.Reason)
		require.True(t, got.FinishedAt.Before(opensAt.Add(-30*time.Second)), "failed at pre-warm, %v before the opening", opensAt.Sub(*got.FinishedAt))
		var n int64
		require.NoError(t, b.db.Model(&booking.Outbox{}).Where("booking_id = ? AND kind = ?", bk.ID, KindLoginFailed).Count(&n).Error)
		require.EqualValues(t, 1, n)
		require.Empty(t, b.site.Ledger().Submits)
	})
}

// The window closes: failed with window_closed after T + window, having
// tried all along at the rate.
func TestWindowCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(61 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(time.Hour))
		bk := b.book(t, opensAt, bookingOpts{window: 300})
		d := b.daemon(t, "i1", func(c *Config) { c.NotifyFailed = true })
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 10*time.Minute)
		d.Stop()
		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonWindow, got.Reason)
		require.WithinDuration(t, opensAt.Add(300*time.Second), *got.FinishedAt, 2*time.Second)
		submits := len(b.site.Ledger().Submits)
		require.InDelta(t, 300, submits, 3, "one submit a second (with its trace) for five minutes")
		var n int64
		require.NoError(t, b.db.Model(&booking.Outbox{}).Where("booking_id = ? AND kind = ?", bk.ID, KindFailed).Count(&n).Error)
		require.EqualValues(t, 1, n)
	})
}

// The site logs the session out mid-window (another login of the account):
// the booking logs in again once and still books.
func TestSessionKickedMidWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(6 * time.Second))
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		time.Sleep(time.Until(opensAt.Add(2500 * time.Millisecond)))
		b.site.KickSessions("user001")
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Succeeded, got.State)
		logins := 0
		expired := 0
		for _, a := range b.attempts(t, bk.ID) {
			if a.Step == "login" {
				logins++
			}
			if a.Class == "session_expired" {
				expired++
			}
		}
		require.Equal(t, 2, logins)
		require.GreaterOrEqual(t, expired, 1)
		require.Len(t, b.site.Ledger().Reservations, 1)
	})
}

// A submit applied by the site whose answer is lost is verified before any
// further submit: the booking succeeds with the one reservation.
func TestAmbiguousSubmitIsVerified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		var lost atomic.Int32
		b.tr.Lose = func(r *http.Request) bool {
			return strings.HasSuffix(r.URL.Path, "/rent/apply.do") && lost.Add(1) == 1
		}
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Succeeded, got.State)
		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1)
		require.Len(t, led.Submits, 1, "no submit after the ambiguous one: verify found it")
		require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
		var steps []string
		for _, a := range b.attempts(t, bk.ID) {
			steps = append(steps, a.Step)
		}
		require.Equal(t, []string{"login", "trace", "trace", "submit", "verify"}, steps)
	})
}

// Two daemons on one database: one is killed mid-window (no lease
// release), the other takes over within the lease TTL and books; the site
// holds exactly one reservation.
func TestTakeoverAfterCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(30 * time.Second))
		bk := b.book(t, opensAt, bookingOpts{})

		d1 := b.daemon(t, "i1", nil)
		require.NoError(t, d1.Start(t.Context()))
		time.Sleep(10 * time.Second)
		got, err := b.store.Get(context.Background(), booking.Scope{All: true}, bk.ID)
		require.NoError(t, err)
		require.Equal(t, "i1", got.ClaimedBy)

		d2 := b.daemon(t, "i2", nil)
		require.NoError(t, d2.Start(t.Context()))
		time.Sleep(time.Until(opensAt.Add(5 * time.Second)))
		require.Equal(t, 1, d1.Running())
		require.Equal(t, 0, d2.Running(), "a live lease is not taken")
		killedAt := time.Now()
		d1.Kill()

		for d2.Running() == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		takeover := time.Since(killedAt)
		require.LessOrEqual(t, takeover, LeaseTTLDefault+ScanEveryDefault+time.Second)

		got = b.waitTerminal(t, bk.ID, 3*time.Minute)
		d2.Stop()
		require.Equal(t, booking.Succeeded, got.State)
		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1)
		instances := map[string]bool{}
		for _, a := range b.attempts(t, bk.ID) {
			instances[a.Instance] = true
		}
		require.True(t, instances["i1"] && instances["i2"], "both instances worked on it: %v", instances)
	})
}

// A graceful stop mid-window releases the lease: a restarted daemon
// resumes the running window at once.
func TestRestartResumesWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(20 * time.Second))
		bk := b.book(t, opensAt, bookingOpts{})
		d1 := b.daemon(t, "i1", func(c *Config) { c.Grace = time.Second })
		require.NoError(t, d1.Start(t.Context()))
		time.Sleep(time.Until(opensAt.Add(3 * time.Second)))
		d1.Stop()
		got, err := b.store.Get(context.Background(), booking.Scope{All: true}, bk.ID)
		require.NoError(t, err)
		require.Equal(t, booking.Running, got.State)
		require.Empty(t, got.ClaimedBy, "the lease was released")

		stoppedAt := time.Now()
		d2 := b.daemon(t, "i2", nil)
		require.NoError(t, d2.Start(t.Context()))
		for d2.Running() == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		require.Less(t, time.Since(stoppedAt), time.Second, "resumed at once")
		got = b.waitTerminal(t, bk.ID, 3*time.Minute)
		d2.Stop()
		require.Equal(t, booking.Succeeded, got.State)
		require.Len(t, b.site.Ledger().Reservations, 1)
	})
}

// A booking whose window passed while no daemon ran is failed as missed.
func TestMissedWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(61 * time.Second).Truncate(time.Second)
		bk := b.book(t, opensAt, bookingOpts{window: 60})
		time.Sleep(5 * time.Minute)
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, time.Minute)
		d.Stop()
		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonMissed, got.Reason)
	})
}

// A panic in a booking's goroutine is recovered and recorded.
func TestPanicIsRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(70 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", func(c *Config) {
			c.Events = func(e Event) {
				if strings.HasPrefix(e.What, "pre-warm") {
					panic("boom")
				}
			}
		})
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonPanic, got.Reason)
		rows := b.attempts(t, bk.ID)
		require.NotEmpty(t, rows)
		require.Contains(t, rows[len(rows)-1].Error, "panic: boom")
	})
}

// Stop before Start and twice is safe.
func TestStopIsSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		d := b.daemon(t, "i1", nil)
		d.Stop()
		d2 := b.daemon(t, "i2", nil)
		require.NoError(t, d2.Start(t.Context()))
		require.Error(t, d2.Start(t.Context()))
		d2.Stop()
		d2.Stop()
	})
}
