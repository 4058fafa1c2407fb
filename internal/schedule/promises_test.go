package schedule

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/sitesim"
)

// The promise tests of issue 12: each one breaks on the code the issue
// was filed against and holds once the promise is kept. They run in
// synctest bubbles against the in-process simulator, whose ledger is the
// oracle. Names of the fix that do not exist yet are written as literals.

const (
	reasonProfileError       = booking.ReasonProfile
	reasonUnrecognisedAnswer = booking.ReasonUnrecognised
	reasonMineUnconfirmed    = booking.ReasonUnconfirmed
)

// cancel asks for the booking to be cancelled as the API does. Once the
// fix is in, a booking whose lease is live is only marked (the running
// instance ends it), so callers assert on the final state and the ledger.
func (b *bundle) cancel(t *testing.T, id int64) {
	t.Helper()
	got, err := b.store.Cancel(context.Background(), booking.Scope{All: true}, id, booking.ReasonUser)
	if got != nil {
		t.Logf("cancel at %s: state %s, err %v", time.Now().Format("15:04:05.000"), got.State, err)
	} else {
		t.Logf("cancel at %s: err %v", time.Now().Format("15:04:05.000"), err)
	}
}

// Item 1: a cancel 400 ms before the opening, between two heartbeats, is
// honoured before the first submit: the booking ends cancelled and the site
// holds nothing for it.
func TestPromiseCancelBeforeOpeningIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		d := b.daemon(t, "i1", nil)
		startedAt := time.Now()
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		// Heartbeats fall on startedAt (whole second) + 2k s: an odd
		// number of seconds puts the opening between two of them, so the
		// cancel cannot ride on a heartbeat by luck.
		opensAt := startedAt.Truncate(time.Second).Add(65 * time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})

		time.Sleep(time.Until(opensAt.Add(-400 * time.Millisecond)))
		cancelAt := time.Now()
		b.cancel(t, bk.ID)
		time.Sleep(time.Until(opensAt.Add(5 * time.Second)))
		got := b.waitTerminal(t, bk.ID, time.Minute)

		led := b.site.Ledger()
		require.Empty(t, led.Reservations, "the site holds a reservation for a booking cancelled %v before the opening (booking %s)", opensAt.Sub(cancelAt), got.State)
		for _, s := range led.Submits {
			require.False(t, s.At.After(cancelAt.Add(150*time.Millisecond)), "a submit arrived %v after the cancel", s.At.Sub(cancelAt))
		}
		require.Equal(t, booking.Cancelled, got.State)
	})
}

// Item 1: a cancel that arrives while the first submit is on the wire,
// after the site booked it, loses: the booking ends succeeded with the
// site's number (no reservation the daemon saw is dropped).
func TestPromiseCancelLosesToSubmitOnTheWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		var cancelled atomic.Bool
		b.withTap(&tap{answered: func(r *http.Request) {
			// The site has processed the first submit; its answer has not
			// reached the daemon yet.
			if r.URL.Path == sitesim.PathApply && cancelled.CompareAndSwap(false, true) {
				b.cancel(t, bk.ID)
			}
		}})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		time.Sleep(time.Until(opensAt.Add(5 * time.Second)))
		got := b.waitTerminal(t, bk.ID, time.Minute)

		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1)
		require.True(t, cancelled.Load())
		require.Equal(t, booking.Succeeded, got.State, "the site booked it before the cancel (reason %q, reservation %q)", got.Reason, got.ReservationNo)
		require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
	})
}

// Item 2: Stop and Kill return within their bounds while a booking is
// armed and its pre-warm has not started.
func TestPromiseStopAndKillWhileArmed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound time.Duration
		stop  func(*Daemon)
	}{
		{"Stop", GraceDefault + 10*time.Second, (*Daemon).Stop},
		{"Kill", 5 * time.Second, (*Daemon).Kill},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, setupOpts{})
				// Claimed by the first scan (horizon lead + 2 scans + 5 s),
				// pre-warm about 6 s later.
				opensAt := b.site.Now().Add(LeadDefault + 7*time.Second).Truncate(time.Second)
				b.site.SetOpenAt(opensAt)
				bk := b.book(t, opensAt, bookingOpts{})
				d := b.daemon(t, "i1", nil)
				require.NoError(t, d.Start(t.Context()))
				require.True(t, eventually(5*time.Second, 100*time.Millisecond, func() bool { return d.Running() == 1 }), "armed")
				got := b.get(t, bk.ID)
				require.Equal(t, booking.Armed, got.State)
				require.True(t, time.Now().Before(opensAt.Add(-LeadDefault)), "the pre-warm is still ahead")

				_, ok := returnsWithin(t, tc.bound, func() { tc.stop(d) }, rescueArmed(d))
				require.True(t, ok, "%s did not return within %v while a booking was armed (it returned only once the test started the stuck run by hand)", tc.name, tc.bound)
			})
		})
	}
}

// Item 4: the shutdown grace is honoured. While i1 stops with a 30 s grace,
// its window keeps submitting (heartbeats go on), i2 claims nothing, and
// right after the grace i2 takes over.
func TestPromiseGraceIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(time.Hour)) // never opens: the window keeps submitting
		bk := b.book(t, opensAt, bookingOpts{window: 60})
		const grace = 30 * time.Second

		d1 := b.daemon(t, "i1", func(c *Config) {
			c.Grace = grace
			c.Transport = &sitesim.InProcess{Handler: b.site.Handler(), RemoteAddr: "127.0.0.1:40001"}
		})
		require.NoError(t, d1.Start(t.Context()))
		time.Sleep(10 * time.Second)
		d2 := b.daemon(t, "i2", func(c *Config) {
			c.ScanEvery = time.Second
			c.Transport = &sitesim.InProcess{Handler: b.site.Handler(), RemoteAddr: "127.0.0.2:40002"}
		})
		require.NoError(t, d2.Start(t.Context()))
		defer d2.Stop()

		time.Sleep(time.Until(opensAt.Add(5 * time.Second)))
		require.Equal(t, 1, d1.Running())
		stopAt := time.Now()
		graceEnd := stopAt.Add(grace)
		stopped := make(chan struct{})
		go func() { defer close(stopped); d1.Stop() }()

		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		select {
		case <-stopped:
		case <-time.After(time.Minute):
			t.Fatal("i1.Stop did not return")
		}
		t.Logf("booking %s (%s)", got.State, got.Reason)

		var i1Last, i2First time.Time
		for _, a := range b.attempts(t, bk.ID) {
			switch a.Instance {
			case "i1":
				if a.Step == profile.StepSubmit && a.SentAt.After(i1Last) {
					i1Last = a.SentAt
				}
			case "i2":
				if i2First.IsZero() || a.SentAt.Before(i2First) {
					i2First = a.SentAt
				}
			}
		}
		require.False(t, i2First.IsZero(), "i2 took over after the grace")
		require.False(t, i2First.Before(graceEnd), "i2 worked on the booking %v into i1's %v grace", i2First.Sub(stopAt), grace)
		require.False(t, i1Last.Before(graceEnd.Add(-2*time.Second)), "i1 stopped submitting %v into its %v grace", i1Last.Sub(stopAt), grace)
		require.Less(t, i2First.Sub(graceEnd), 5*time.Second, "i2 took over %v after the grace ended", i2First.Sub(graceEnd))
		// The ledger agrees (each daemon sends from its own address).
		for _, s := range b.site.Ledger().Submits {
			if s.IP == "127.0.0.2" {
				require.False(t, s.At.Before(graceEnd), "a submit of i2 arrived %v into the grace", s.At.Sub(stopAt))
			}
		}
	})
}

// Item 5: the fence is checked right before a request goes on the wire.
// Twenty bookings share a host ceiling of 2 requests/s, so each request
// waits seconds for its turn; then the heartbeats fail. No request may
// reach the site after the last lease the daemon holds has ended (nor
// within the fence margin before it).
func TestPromiseFenceBeforeTheWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		h := b.withTap(&tap{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(time.Hour)) // never opens: every booking keeps submitting
		var ids []int64
		for i := range 20 {
			bk := b.book(t, opensAt, bookingOpts{
				account: b.site.AccountName(i + 1), court: strconv.Itoa(i%10 + 1), start: []string{"10:00", "11:00"}[i/10], window: 300,
			})
			ids = append(ids, bk.ID)
		}
		d, db := b.daemonDB(t, "i1", func(c *Config) { c.HostCeiling = 2 })
		cut := newOutage(t, db)
		require.NoError(t, d.Start(t.Context()))
		defer d.Kill()

		time.Sleep(time.Until(opensAt.Add(20 * time.Second)))
		require.Equal(t, 20, d.Running())
		cut.set(true) // heartbeats (and everything else of the daemon) fail from now on
		cutAt := time.Now()
		time.Sleep(time.Millisecond)
		var leaseEnd time.Time // the last lease any booking holds, by the database
		for _, id := range ids {
			got := b.get(t, id)
			require.Equal(t, "i1", got.ClaimedBy)
			require.NotNil(t, got.LeaseUntil)
			if got.LeaseUntil.After(leaseEnd) {
				leaseEnd = *got.LeaseUntil
			}
		}
		t.Logf("heartbeats cut %v after the opening; last lease ends %v later", cutAt.Sub(opensAt), leaseEnd.Sub(cutAt))
		time.Sleep(time.Until(leaseEnd.Add(20 * time.Second)))

		const margin = time.Second // the fence margin documented today
		var late, afterExpiry int
		var worst time.Duration
		for _, r := range h.requests() {
			if r.At.After(leaseEnd.Add(-margin)) {
				late++
				worst = max(worst, r.At.Sub(leaseEnd))
			}
			if r.At.After(leaseEnd) {
				afterExpiry++
			}
		}
		require.Zero(t, afterExpiry, "%d requests reached the site after the lease had expired (the latest %v after)", afterExpiry, worst)
		require.Zero(t, late, "%d requests reached the site within the %v fence margin", late, margin)
	})
}

// Item 6: an unrecognised submit answer (here a changed success page) is
// ambiguous. With a verify step the daemon verifies before any further
// submit and finds the reservation; without one it stops for review.
func TestPromiseUnrecognisedAnswerIsNotResubmitted(t *testing.T) {
	for _, withVerify := range []bool{true, false} {
		name := "verify"
		if !withVerify {
			name = "no-verify"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, setupOpts{})
				b.withTap(&tap{rewrite: func(r *http.Request, body string) string {
					if r.URL.Path != sitesim.PathApply {
						return body
					}
					return strings.ReplaceAll(body, sitesim.MsgSuccess, "신청이 정상적으로 접수되었습니다") // a success page no rule knows
				}})
				prof := b.prof
				if !withVerify {
					p := *b.prof
					p.Verify = nil
					prof = &p
				}
				opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
				b.site.SetOpenAt(opensAt)
				bk := b.book(t, opensAt, bookingOpts{})
				d := b.daemon(t, "i1", func(c *Config) { c.Profiles = map[string]*profile.Profile{"courtsim": prof} })
				require.NoError(t, d.Start(t.Context()))
				defer d.Stop()
				got := b.waitTerminal(t, bk.ID, 3*time.Minute)

				led := b.site.Ledger()
				require.Len(t, led.Reservations, 1)
				rows := b.attempts(t, bk.ID)
				if withVerify {
					require.Len(t, led.Submits, 1, "resubmitted after an unrecognised answer instead of verifying: %v", steps(rows))
					require.Equal(t, booking.Succeeded, got.State)
					require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
					last := rows[len(rows)-1]
					require.Equal(t, profile.StepVerify, last.Step, "verified after the unknown answer: %v", steps(rows))
					return
				}
				require.Equal(t, booking.Failed, got.State, "without verify the booking stops for review (reason %q, reservation %q, %d submits)", got.Reason, got.ReservationNo, len(led.Submits))
				require.Equal(t, reasonUnrecognisedAnswer, got.Reason)
				require.Len(t, led.Submits, 1, "nothing is submitted after the unrecognised answer: %v", steps(rows))
			})
		})
	}
}

// Item 7: the site says "already yours" but verify does not find it: not a
// success, a reason an operator reviews, and no SMS claiming a number.
func TestPromiseAlreadyMineNeedsVerify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		// The site never opens (nothing is booked); every submit answer
		// becomes the already-mine page.
		b.withTap(&tap{rewrite: func(r *http.Request, body string) string {
			if r.URL.Path != sitesim.PathApply {
				return body
			}
			return strings.ReplaceAll(body, sitesim.MsgNotOpen, sitesim.MsgAlreadyMine)
		}})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(time.Hour))
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)

		require.Empty(t, b.site.Ledger().Reservations)
		require.NotEqual(t, booking.Succeeded, got.State, "succeeded with reservation %q though verify found nothing: %v", got.ReservationNo, steps(b.attempts(t, bk.ID)))
		require.Equal(t, reasonMineUnconfirmed, got.Reason)
		require.Zero(t, b.outboxCount(t, bk.ID, KindBooked), "no SMS that claims a reservation")
	})
}

// Item 9: a request that cannot be rendered (the trace page lacks the
// token the submit needs) is an attempt row with its error; the trace page
// is visited again between failures, and a few of them fail the booking
// with profile_error long before the window ends.
func TestPromiseRenderErrorsAreRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		b.withTap(&tap{rewrite: func(r *http.Request, body string) string {
			if r.URL.Path != sitesim.PathForm {
				return body
			}
			// The page still looks like the booking page, but the token's
			// value is no longer where the profile's extraction finds it.
			return strings.ReplaceAll(body, `name="rentToken" value="`, `name="rentToken" data-value="`)
		}})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{window: 300})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		got := b.waitTerminal(t, bk.ID, 10*time.Minute)

		rows := b.attempts(t, bk.ID)
		require.Equal(t, reasonProfileError, got.Reason, "finished %v after the opening; rows %v", got.FinishedAt.Sub(opensAt), steps(rows))
		require.Equal(t, booking.Failed, got.State)
		require.Less(t, got.FinishedAt.Sub(opensAt), time.Minute, "failed long before the window ends")
		var failures []int
		for i, a := range rows {
			if a.Class == classProfileError {
				require.NotEmpty(t, a.Error, "the row holds the render error")
				failures = append(failures, i)
			}
		}
		require.GreaterOrEqual(t, len(failures), 2, "every failed render is a row: %v", steps(rows))
		for k := 1; k < len(failures); k++ {
			traced := false // a trace row after the previous failure, or the failing row itself
			for _, a := range rows[failures[k-1]+1 : failures[k]+1] {
				traced = traced || a.Step == profile.StepTrace
			}
			require.True(t, traced, "the trace page is visited again between failed renders: %v", steps(rows))
		}
		require.Empty(t, b.site.Ledger().Submits)
	})
}

// Item 10: the profile's rate_per_second is a ceiling: a booking asking for
// 2 requests/s on a site whose profile allows 1 gets 1.
func TestPromiseProfileRateIsEnforced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		p := *b.prof
		p.RatePerSecond = 1
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(10 * time.Second))
		bk := b.book(t, opensAt, bookingOpts{}) // rate 2
		require.EqualValues(t, 2, bk.RatePerSecond)
		d := b.daemon(t, "i1", func(c *Config) { c.Profiles = map[string]*profile.Profile{"courtsim": &p} })
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		require.Equal(t, booking.Succeeded, got.State)

		rows := b.attempts(t, bk.ID)
		require.Greater(t, len(rows), 10)
		var short int
		shortest := time.Hour
		for i := 1; i < len(rows); i++ {
			gap := rows[i].SentAt.Sub(rows[i-1].SentAt)
			shortest = min(shortest, gap)
			if gap < time.Second-time.Microsecond {
				short++
			}
		}
		require.Zero(t, short, "%d of %d requests followed the previous one sooner than the profile's 1/s (shortest gap %v)", short, len(rows)-1, shortest)
	})
}

// Item 11: the booking wins while the daemon's database is down. Stop is
// bounded all the same (grace + 10 s); the success is kept in the local
// journal, and the next start under the same name on a working database
// records it with the site's number.
func TestPromiseShutdownBoundedWhileDatabaseDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		journal := t.TempDir()
		const grace = 5 * time.Second
		d, db := b.daemonDB(t, "i1", func(c *Config) {
			c.Grace = grace
			c.JournalDir = journal
		})
		down := newOutage(t, db)
		require.NoError(t, d.Start(t.Context()))

		time.Sleep(time.Until(opensAt.Add(-time.Second))) // after the page visit at T − 2 s
		down.set(true)
		time.Sleep(2 * time.Second)
		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1, "the booking won while the database was down")

		_, ok := returnsWithin(t, grace+10*time.Second, d.Stop, func() { down.set(false) })
		require.True(t, ok, "Stop did not return within grace + 10 s (%v) while the database was down; it returned only once the outage ended", grace+10*time.Second)

		got := b.get(t, bk.ID)
		require.Equal(t, booking.Running, got.State, "nothing could be written meanwhile")
		d2 := b.daemon(t, "i1", func(c *Config) { c.JournalDir = journal })
		require.NoError(t, d2.Start(t.Context()))
		defer d2.Stop()
		got = b.waitTerminal(t, bk.ID, 2*time.Minute)
		require.Equal(t, booking.Succeeded, got.State, "reason %q", got.Reason)
		require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
		require.EqualValues(t, 1, b.outboxCount(t, bk.ID, KindBooked))
		require.Len(t, b.site.Ledger().Reservations, 1)
	})
}

// Item 12: with the default 60 s lead the clock is measured again at about
// T − 40 s (the pre-warm's estimate would be 60 s old at T).
func TestPromiseClockMeasuredAgainBeforeOpening(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{skew: 700 * time.Millisecond})
		h := b.withTap(&tap{})
		opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		require.Equal(t, booking.Succeeded, got.State)

		local := opensAt.Add(-b.site.Skew()) // T on the local clock
		var early, again int
		for _, r := range h.requests() {
			if r.Path != "/" { // the profile's probe step
				continue
			}
			switch at := r.At.Sub(local); {
			case at >= -LeadDefault-5*time.Second && at < -50*time.Second:
				early++
			case at >= -45*time.Second && at <= -35*time.Second:
				again++
			}
		}
		require.NotZero(t, early, "the clock is measured at the pre-warm")
		require.NotZero(t, again, "no clock probe reached the site between T−45 s and T−35 s: the estimate used at T is from the pre-warm")
	})
}

// Item 12: once an account's last booking ends, the daemon keeps neither
// its site session nor its connection pool.
func TestPromiseSessionsEvictedWhenBookingsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk1 := b.book(t, opensAt, bookingOpts{account: "user001"})
		bk2 := b.book(t, opensAt, bookingOpts{account: "user002", court: "4"})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		for _, id := range []int64{bk1.ID, bk2.ID} {
			require.Equal(t, booking.Succeeded, b.waitTerminal(t, id, 3*time.Minute).State)
		}
		require.True(t, eventually(10*time.Second, 100*time.Millisecond, func() bool { return d.Running() == 0 }), "the runs ended")
		d.mu.Lock()
		transports := len(d.accounts)
		d.mu.Unlock()
		require.Zero(t, d.pool.Len(), "site sessions held after every booking ended")
		require.Zero(t, transports, "per-account transports held after every booking ended")
	})
}

// Item 12 (3 of the list): a restart under the same instance name keeps
// every attempt row: each submit the site saw has its row.
func TestPromiseRestartUnderSameNameKeepsAttemptRows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(20 * time.Second))
		bk := b.book(t, opensAt, bookingOpts{})
		d1 := b.daemon(t, "i1", func(c *Config) { c.Grace = time.Second })
		require.NoError(t, d1.Start(t.Context()))
		time.Sleep(time.Until(opensAt.Add(5 * time.Second)))
		d1.Stop()
		require.Empty(t, b.get(t, bk.ID).ClaimedBy, "the lease was released")

		d2 := b.daemon(t, "i1", nil) // the same RESERVER_INSTANCE after a restart
		require.NoError(t, d2.Start(t.Context()))
		defer d2.Stop()
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		require.Equal(t, booking.Succeeded, got.State)
		d2.Stop()

		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1)
		rows := b.attempts(t, bk.ID)
		var submitRows int
		for _, a := range rows {
			if a.Step == profile.StepSubmit {
				submitRows++
			}
		}
		require.Equal(t, len(led.Submits), submitRows, "the site saw %d submits, the attempt log holds %d (%d rows in all)", len(led.Submits), submitRows, len(rows))
		last := rows[len(rows)-1]
		require.Equal(t, profile.StepSubmit, last.Step)
		require.Equal(t, string(profile.ClassSuccess), last.Class, "the winning submit has its row")
	})
}

// Item 11, the journal alone: without a verify step nothing but the
// journal knows that the booking won while the database was down. The
// next start under the same instance name writes the success (with its
// number and SMS row) before it claims anything; without the journal the
// restarted daemon would submit again and fail on its own reservation.
func TestPromiseJournalKeepsAnOutcomeAcrossARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		p := *b.prof
		p.Verify = nil
		profiles := map[string]*profile.Profile{"courtsim": &p}
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		dir := t.TempDir()
		d, db := b.daemonDB(t, "i1", func(c *Config) {
			c.Grace, c.JournalDir, c.Profiles = 5*time.Second, dir, profiles
		})
		down := newOutage(t, db)
		require.NoError(t, d.Start(t.Context()))
		time.Sleep(time.Until(opensAt.Add(-time.Second)))
		down.set(true)
		time.Sleep(2 * time.Second)
		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1, "the booking won while the database was down")
		_, ok := returnsWithin(t, 20*time.Second, d.Stop, func() { down.set(false) })
		require.True(t, ok, "Stop is bounded while the database is down")
		require.Equal(t, booking.Running, b.get(t, bk.ID).State, "nothing could be written meanwhile")

		d2 := b.daemon(t, "i1", func(c *Config) { c.JournalDir, c.Profiles = dir, profiles })
		require.NoError(t, d2.Start(t.Context()))
		defer d2.Stop()
		got := b.waitTerminal(t, bk.ID, 2*time.Minute)
		require.Equal(t, booking.Succeeded, got.State, "reason %q", got.Reason)
		require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
		require.Empty(t, got.Review, "written under its own lease, not late")
		require.EqualValues(t, 1, b.outboxCount(t, bk.ID, KindBooked))
		require.Len(t, b.site.Ledger().Submits, 1, "no submit after the restart")
	})
}

// Item 12: a database that does not answer when the pre-warm moves the
// booking armed → running does not end the run (which left the booking
// claimed and unrun for a lease TTL): the run retries, keeps its lease
// through the heartbeats, and books on time.
func TestPromiseArmedToRunningSurvivesAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(70 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		d, db := b.daemonDB(t, "i1", nil)
		down := newOutage(t, db)
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		require.True(t, eventually(5*time.Second, 100*time.Millisecond, func() bool { return d.Running() == 1 }), "armed")
		prewarm := opensAt.Add(-LeadDefault)
		time.Sleep(time.Until(prewarm.Add(-time.Second)))
		down.set(true)
		time.Sleep(4 * time.Second) // the pre-warm began 3 s ago, its transition failing
		require.Equal(t, 1, d.Running(), "the run goes on while armed → running cannot be written")
		down.set(false)
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		require.Equal(t, booking.Succeeded, got.State, "reason %q", got.Reason)
		first := b.attempts(t, bk.ID)[0]
		require.Less(t, first.SentAt.Sub(prewarm), 8*time.Second, "logged in soon after the outage, not a lease TTL later")
		require.Len(t, b.site.Ledger().Submits, 1)
	})
}

// Promise 2: a success that arrives after the lease was lost (here another
// instance took the booking while the submit was on the wire) is still
// recorded with its number, marked for an operator, and not submitted
// again by anyone.
func TestPromiseSuccessAfterLeaseLossIsRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		var stolen atomic.Bool
		b.withTap(&tap{answered: func(r *http.Request) {
			if r.URL.Path == sitesim.PathApply && stolen.CompareAndSwap(false, true) {
				// The site booked it; before its answer arrives, the
				// lease passes to another instance.
				require.NoError(t, b.db.Model(&booking.Booking{}).Where("id = ?", bk.ID).
					Updates(map[string]any{"claimed_by": "other", "lease_until": time.Now().Add(time.Hour).UTC()}).Error)
			}
		}})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		got := b.waitTerminal(t, bk.ID, 2*time.Minute)
		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1)
		require.Equal(t, booking.Succeeded, got.State, "reason %q", got.Reason)
		require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
		require.Equal(t, "late_success", got.Review, "marked for an operator")
		require.EqualValues(t, 1, b.outboxCount(t, bk.ID, KindBooked))
		require.Len(t, led.Submits, 1)
	})
}

// Promise 1 with a dead holder: the instance running the booking dies
// while its submit is on the wire (the site books it) and a cancel arrives
// meanwhile. The booking is not cancelled over a reservation at the site:
// the instance that takes it over asks the site first and records the
// success with its number.
func TestPromiseCancelOfADeadHolderAsksTheSiteFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		var d1 *Daemon
		var died atomic.Bool
		b.withTap(&tap{answered: func(r *http.Request) {
			if r.URL.Path == sitesim.PathApply && died.CompareAndSwap(false, true) {
				d1.cancelRun() // the holder dies with the answer on the way
				b.cancel(t, bk.ID)
			}
		}})
		d1 = b.daemon(t, "i1", nil)
		require.NoError(t, d1.Start(t.Context()))
		defer d1.Kill()
		time.Sleep(time.Until(opensAt.Add(-5 * time.Second)))
		d2 := b.daemon(t, "i2", func(c *Config) { c.ScanEvery = time.Second })
		require.NoError(t, d2.Start(t.Context()))
		defer d2.Stop()
		got := b.waitTerminal(t, bk.ID, 2*time.Minute)
		require.True(t, died.Load())
		led := b.site.Ledger()
		require.Len(t, led.Reservations, 1)
		require.Equal(t, booking.Succeeded, got.State, "reason %q: the dead holder's submit had booked it", got.Reason)
		require.Equal(t, led.Reservations[0].Number, got.ReservationNo)
		require.Len(t, led.Submits, 1, "no submit after the takeover")
		rows := b.attempts(t, bk.ID)
		require.Equal(t, "i2", rows[len(rows)-1].Instance)
		require.Equal(t, "verify", rows[len(rows)-1].Step)
	})
}
