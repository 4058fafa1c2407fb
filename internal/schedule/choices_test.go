package schedule

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/sitesim"
)

// courtChoices are courts at one date and time, in order.
func courtChoices(date, start, end string, courts ...string) []booking.Choice {
	out := make([]booking.Choice, len(courts))
	for i, c := range courts {
		out[i] = booking.Choice{Court: c, Date: date, Start: start, End: end}
	}
	return out
}

// submitChoices lists the choice each submit row was for.
func submitChoices(rows []booking.Attempt) []int {
	var out []int
	for _, a := range rows {
		if a.Step == profile.StepSubmit {
			out = append(out, a.Choice)
		}
	}
	return out
}

// reservationsOf lists the ledger's reservations made by account.
func reservationsOf(l sitesim.Ledger, account string) []sitesim.Reservation {
	var out []sitesim.Reservation
	for _, r := range l.Reservations {
		if r.Account == account {
			out = append(out, r)
		}
	}
	return out
}

// A three-choice booking whose first two choices are taken books the third,
// against both simulated sites: eGov answers "taken" (sold_out: the next
// choice at once, no verify needed), the cart answers "conflict" alike for
// someone else's slot and our own (each verified before moving on). One
// reservation for the booking, its winner recorded, and no submit repeated
// (the cleanups count repeats).
func TestThreeChoicesFirstTwoTaken(t *testing.T) {
	t.Run("egov", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := setup(t, setupOpts{skew: 700 * time.Millisecond})
			opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
			b.site.SetOpenAt(opensAt)
			date := opensAt.In(b.prof.Location).AddDate(0, 0, 7).Format(time.DateOnly)
			for i, court := range []int{3, 4} {
				_, err := b.site.Reserve(b.site.AccountName(40+i), court, date, 5) // 10:00 is timeNo 5
				require.NoError(t, err)
			}
			bk := b.bookChoices(t, opensAt, "user001", courtChoices(date, "10:00", "11:00", "3", "4", "5"))

			d := b.daemon(t, "i1", nil)
			require.NoError(t, d.Start(t.Context()))
			got := b.waitTerminal(t, bk.ID, 3*time.Minute)
			d.Stop()

			require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
			require.NotNil(t, got.WonChoice)
			require.Equal(t, 3, *got.WonChoice)
			won, ok := got.Won()
			require.True(t, ok)
			require.Equal(t, "5", won.Court)
			mine := reservationsOf(b.site.Ledger(), "user001")
			require.Len(t, mine, 1, "one reservation for the booking")
			require.Equal(t, 5, mine[0].Facility)
			require.Equal(t, got.ReservationNo, mine[0].Number)
			rows := b.attempts(t, bk.ID)
			require.Equal(t, []int{1, 2, 3}, submitChoices(rows), "each choice submitted once, in order")
			// The confirmation names the slot booked, and which choice it was.
			var note booking.Outbox
			require.NoError(t, b.db.Where("booking_id = ? AND kind = ?", bk.ID, KindBooked).Take(&note).Error)
			var payload map[string]any
			require.NoError(t, json.Unmarshal([]byte(note.Payload), &payload))
			require.Equal(t, "5", payload["court"])
			require.EqualValues(t, 3, payload["choice"])
			require.EqualValues(t, 3, payload["choices"])
			for _, a := range rows {
				require.NotEqual(t, profile.StepVerify, a.Step, "a plain sold_out moves on without verify")
			}
		})
	})
	t.Run("cart", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := setupCart(t, sitesim.Options{Skew: -900 * time.Millisecond})
			date := b.play.Format(time.DateOnly)
			for i, court := range []int{3, 4} {
				_, err := b.site.Reserve(b.site.AccountName(40+i), court, date, 5)
				require.NoError(t, err)
			}
			bk, _, err := b.store.Create(context.Background(), booking.NewBooking{
				TenantID: b.tenant, Site: "cartsim", Username: "user001", Password: "pass1234",
				Choices: courtChoices(date, "10:00", "11:00", "3", "4", "5"),
				OpensAt: b.opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678", BookerName: "홍길동",
			})
			require.NoError(t, err)
			got := b.run(t, bk.ID)

			require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
			require.NotNil(t, got.WonChoice)
			require.Equal(t, 3, *got.WonChoice)
			mine := reservationsOf(b.site.Ledger(), "user001")
			require.Len(t, mine, 1, "one reservation for the booking")
			require.Equal(t, 5, mine[0].Facility)
			require.Equal(t, got.ReservationNo, mine[0].Number)
			rows := b.attempts(t, bk.ID)
			require.Equal(t, []int{1, 2, 3}, submitChoices(rows))
			// Each "conflict" was verified (for its own choice) before the
			// next choice's submit.
			var seq []string
			for _, a := range rows {
				if a.Step == profile.StepSubmit || a.Step == profile.StepVerify {
					seq = append(seq, a.Step+":"+a.Class+"#"+string(rune('0'+a.Choice)))
				}
			}
			require.Equal(t, []string{"submit:conflict#1", "verify:retry#1", "submit:conflict#2", "verify:retry#2", "submit:held#3"}, seq)
		})
	})
}

// bookChoices queues a booking of account with choices, opening at opensAt.
func (b *bundle) bookChoices(t *testing.T, opensAt time.Time, account string, cs []booking.Choice) *booking.Booking {
	t.Helper()
	bk, _, err := b.store.Create(context.Background(), booking.NewBooking{
		TenantID: b.tenant, Site: "courtsim", Username: account, Password: "pass1234", Choices: cs,
		OpensAt: opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678",
		BookerName: "홍길동", Fields: map[string]string{"people": "2"},
	})
	require.NoError(t, err)
	return bk
}

// A first choice whose answer is lost (the connection reset after the site
// booked it) is verified before anything else: verify finds it booked, and
// the second choice is never submitted — submitting it would have booked
// the account twice.
func TestLostAnswerOfChoiceOneIsVerifiedNotSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		b.site.SetFaults(sitesim.Faults{ResetRate: 1, ResetApplied: 1})
		date := opensAt.In(b.prof.Location).AddDate(0, 0, 7).Format(time.DateOnly)
		bk := b.bookChoices(t, opensAt, "user001", courtChoices(date, "10:00", "11:00", "3", "4"))

		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()

		require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
		require.NotNil(t, got.WonChoice)
		require.Equal(t, 1, *got.WonChoice, "the lost answer had booked choice 1")
		led := b.site.Ledger()
		require.Len(t, reservationsOf(led, "user001"), 1)
		require.Len(t, led.Submits, 1, "no submit for choice 2")
		require.Equal(t, sitesim.ResultResetApplied, led.Submits[0].Result)
		rows := b.attempts(t, bk.ID)
		require.Equal(t, []int{1}, submitChoices(rows))
		require.Contains(t, steps(rows), "verify:success")
	})
}

// A PATCH that replaced the choices after the run started is read again
// before the opening: the first submit is for the new first choice, with
// the booking page visited for it.
func TestChoicesChangedBeforeTheOpening(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		date := opensAt.In(b.prof.Location).AddDate(0, 0, 7).Format(time.DateOnly)
		bk := b.bookChoices(t, opensAt, "user001", courtChoices(date, "10:00", "11:00", "3", "4"))

		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		// Thirty seconds before the opening the run has logged in and
		// visited the page for court 3; the choices become 7, then 8.
		time.Sleep(time.Until(opensAt.Add(-30 * time.Second)))
		require.Equal(t, booking.Running, b.get(t, bk.ID).State)
		cs := courtChoices(date, "10:00", "11:00", "7", "8")
		raw, err := json.Marshal(cs)
		require.NoError(t, err)
		require.NoError(t, b.db.Model(&booking.Booking{}).Where("id = ?", bk.ID).
			Updates(map[string]any{"choices": string(raw), "court": "7"}).Error)
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()

		require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
		mine := reservationsOf(b.site.Ledger(), "user001")
		require.Len(t, mine, 1)
		require.Equal(t, 7, mine[0].Facility, "the new first choice was booked")
		require.Equal(t, 1, *got.WonChoice)
	})
}

// At a site that takes one submit at a time per account, the account's
// bookings that open together submit in their priority order, one at a
// time, whatever order they were queued in.
func TestSerialSubmitsInPriorityOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		serial := *b.prof
		serial.SerialSubmits = true
		b.site.SetFaults(sitesim.Faults{Latency: 40 * time.Millisecond}) // an answer takes a while
		opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		date := opensAt.In(b.prof.Location).AddDate(0, 0, 7).Format(time.DateOnly)
		// Queued in the order 3, 1, 2 of priority; courts 6, 7, 8.
		var ids []int64
		for i, pr := range []int{3, 1, 2} {
			bk, _, err := b.store.Create(context.Background(), booking.NewBooking{
				TenantID: b.tenant, Site: "courtsim", Username: "user001", Password: "pass1234",
				Court: []string{"6", "7", "8"}[i], PlayDate: date, StartTime: "10:00", EndTime: "11:00",
				OpensAt: opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678",
				BookerName: "홍길동", Fields: map[string]string{"people": "2"}, Priority: pr,
			})
			require.NoError(t, err)
			ids = append(ids, bk.ID)
		}
		d := b.daemon(t, "i1", func(c *Config) { c.Profiles = map[string]*profile.Profile{"courtsim": &serial} })
		require.NoError(t, d.Start(t.Context()))
		for _, id := range ids {
			got := b.waitTerminal(t, id, 3*time.Minute)
			require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
		}
		d.Stop()

		var order []int
		subs := b.site.Ledger().Submits
		for i, s := range subs {
			order = append(order, s.Facility)
			if i > 0 {
				// One at a time: each arrives after the one before was
				// answered (the site takes 40 ms to answer).
				require.GreaterOrEqual(t, s.At.Sub(subs[i-1].At), 40*time.Millisecond, "submit %d overlapped the one before", i+1)
			}
		}
		require.Equal(t, []int{7, 8, 6}, order, "priority 1 (court 7), then 2 (court 8), then 3 (court 6)")
		// The later ones waited for their turn, and their rows say so.
		var waited int
		for _, id := range ids {
			for _, a := range b.attempts(t, id) {
				if a.Step == profile.StepSubmit && a.WaitedFor == booking.WaitAccountTurn {
					waited++
				}
			}
		}
		require.Positive(t, waited, "a submit that waited for the account's turn says so")
	})
}

// The site says the account holds all it may (a cap of one a day): the
// booking that got the answer fails with account_limit, and the account's
// other booking of that day, queued for a later opening, is cancelled
// with it — the site would refuse it too. A booking of another day is
// left alone.
func TestLimitReachedAtTheSite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{limitPerDay: 1})
		opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		date := opensAt.In(b.prof.Location).AddDate(0, 0, 7).Format(time.DateOnly)
		other := opensAt.In(b.prof.Location).AddDate(0, 0, 8).Format(time.DateOnly)
		// Court 3 was booked by this account earlier (on the site).
		_, err := b.site.Reserve("user001", 3, date, 3)
		require.NoError(t, err)
		now := b.bookChoices(t, opensAt, "user001", courtChoices(date, "10:00", "11:00", "4", "5"))
		later := b.bookChoices(t, opensAt.Add(time.Hour), "user001", courtChoices(date, "12:00", "13:00", "6"))
		elsewhere := b.bookChoices(t, opensAt.Add(time.Hour), "user001", courtChoices(other, "12:00", "13:00", "6"))

		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, now.ID, 3*time.Minute)
		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonAccountLimit, got.Reason)
		gone := b.waitTerminal(t, later.ID, 10*time.Second)
		require.Equal(t, booking.Cancelled, gone.State)
		require.Equal(t, booking.ReasonAccountLimit, gone.Reason)
		require.Equal(t, booking.Queued, b.get(t, elsewhere.ID).State, "another day's booking is not the limit's")
		d.Stop()

		led := b.site.Ledger()
		require.Len(t, reservationsOf(led, "user001"), 1, "only the earlier reservation")
		require.Len(t, led.Submits, 1, "one submit: the answer ends the booking (choice 2 is on the same day)")
		require.Equal(t, sitesim.ResultLimit, led.Submits[0].Result)
	})
}

// Two instances share one database and a site that allows one session
// per account: the account's bookings all run on one instance (the holder
// of its oldest booking), whatever the claims first gave each, so that
// one login serves them all and no login kicks another's session out.
func TestOneInstanceRunsAnAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(28 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		date := opensAt.In(b.prof.Location).AddDate(0, 0, 7).Format(time.DateOnly)
		short := func(c *Config) { c.Lead = 20 * time.Second }
		// i1 claims the account's first booking; then three more are
		// queued and i2, started after, claims them at once.
		ids := []int64{b.bookChoices(t, opensAt, "user001", courtChoices(date, "10:00", "11:00", "3")).ID}
		d1 := b.daemon(t, "i1", short)
		require.NoError(t, d1.Start(t.Context()))
		synctest.Wait()
		for _, court := range []string{"4", "5", "6"} {
			ids = append(ids, b.bookChoices(t, opensAt, "user001", courtChoices(date, "10:00", "11:00", court)).ID)
		}
		d2 := b.daemon(t, "i2", short)
		require.NoError(t, d2.Start(t.Context()))
		synctest.Wait()
		holders := map[string]int{}
		for _, id := range ids {
			holders[b.get(t, id).ClaimedBy]++
		}
		require.Equal(t, map[string]int{"i1": 1, "i2": 3}, holders, "the claims split the account")

		for _, id := range ids {
			got := b.waitTerminal(t, id, 4*time.Minute)
			require.Equal(t, booking.Succeeded, got.State, "booking %d: %s", id, got.Reason)
		}
		d1.Stop()
		d2.Stop()

		instances := map[string]bool{}
		logins := 0
		for _, id := range ids {
			for _, a := range b.attempts(t, id) {
				instances[a.Instance] = true
				if a.Step == profile.StepLogin {
					logins++
				}
				require.NotEqual(t, string(profile.ClassSessionExpired), a.Class, "booking %d: a session was kicked out", id)
			}
		}
		require.Equal(t, map[string]bool{"i1": true}, instances, "the instance of the account's oldest booking ran them all")
		require.Equal(t, 1, logins, "one login served the account's bookings")
	})
}
