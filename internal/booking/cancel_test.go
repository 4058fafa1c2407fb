package booking

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// hold creates a booking on court and leaves it claimed by instance until
// leaseUntil, in state (armed or running).
func hold(t *testing.T, b bundle, court, instance string, state State, leaseUntil time.Time) *Booking {
	t.Helper()
	ctx := context.Background()
	bk, _, err := b.store.Create(ctx, newBooking(b.tenant, court))
	require.NoError(t, err)
	_, err = b.store.Claim(ctx, bk.ID, instance, time.Now().Add(-time.Hour), leaseUntil)
	require.NoError(t, err)
	if state == Running {
		require.NoError(t, b.store.Transition(ctx, bk.ID, Armed, Running, Change{Instance: instance}))
	}
	got, err := b.store.Get(ctx, Scope{All: true}, bk.ID)
	require.NoError(t, err)
	return got
}

// A cancel cancels at once what nobody runs, and only asks a live holder.
func TestCancelRequestOrDirect(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		live := time.Now().Add(time.Hour)
		lapsed := time.Now().Add(-time.Second)
		user := Scope{TenantID: b.tenant}

		queued, _, err := b.store.Create(ctx, newBooking(b.tenant, "20"))
		require.NoError(t, err)
		tests := []struct {
			name      string
			booking   *Booking
			requested bool // else cancelled at once
		}{
			{"queued", queued, false},
			{"armed, live lease", hold(t, b, "21", "i1", Armed, live), true},
			{"running, live lease", hold(t, b, "22", "i1", Running, live), true},
			// Past its opening: the dead holder may have submitted.
			{"running past its opening, lapsed lease", hold(t, b, "23", "i1", Running, lapsed), true},
			{"armed, lapsed lease", hold(t, b, "24", "i1", Armed, lapsed), false},
		}
		for _, tt := range tests {
			got, err := b.store.Cancel(ctx, user, tt.booking.ID, ReasonUser)
			require.NoError(t, err, tt.name)
			if !tt.requested {
				require.Equal(t, Cancelled, got.State, tt.name)
				require.Equal(t, ReasonUser, got.Reason, tt.name)
				require.Nil(t, got.ActiveKey, tt.name)
				continue
			}
			require.Equal(t, tt.booking.State, got.State, "%s: the holder decides", tt.name)
			require.NotNil(t, got.CancelRequestedAt, tt.name)
			require.Equal(t, ReasonUser, got.CancelReason, tt.name)
			require.Equal(t, "i1", got.ClaimedBy, tt.name)
		}

		// Running, lease lapsed, but the opening is far ahead: no submit
		// can have left, so it is cancelled at once.
		early := hold(t, b, "28", "i1", Running, lapsed)
		require.NoError(t, db.Model(&Booking{}).Where("id = ?", early.ID).Update("opens_at", utc(time.Now().Add(time.Hour))).Error)
		got, err := b.store.Cancel(ctx, user, early.ID, ReasonUser)
		require.NoError(t, err)
		require.Equal(t, Cancelled, got.State, "running before its opening, lapsed lease")

		// A repeated request keeps the first time and reason.
		armed := tests[1].booking
		first, err := b.store.Get(ctx, user, armed.ID)
		require.NoError(t, err)
		again, err := b.store.Cancel(ctx, Scope{All: true}, armed.ID, ReasonOperator)
		require.NoError(t, err)
		require.Equal(t, Armed, again.State)
		require.True(t, first.CancelRequestedAt.Equal(*again.CancelRequestedAt))
		require.Equal(t, ReasonUser, again.CancelReason)

		// Each instance finds its own requests.
		ids, err := b.store.CancelRequests(ctx, "i1")
		require.NoError(t, err)
		require.Equal(t, []int64{tests[1].booking.ID, tests[2].booking.ID, tests[3].booking.ID}, ids)
		ids, err = b.store.CancelRequests(ctx, "i2")
		require.NoError(t, err)
		require.Empty(t, ids)

		// Only the holder finishes, from the state it holds.
		now := time.Now()
		require.ErrorIs(t, b.store.FinishCancel(ctx, armed.ID, Armed, "i2", now), ErrConflict)
		require.ErrorIs(t, b.store.FinishCancel(ctx, armed.ID, Running, "i1", now), ErrConflict)
		require.ErrorIs(t, b.store.FinishCancel(ctx, 999999, Armed, "i1", now), ErrNotFound)
		require.NoError(t, b.store.FinishCancel(ctx, armed.ID, Armed, "i1", now))
		got, err = b.store.Get(ctx, user, armed.ID)
		require.NoError(t, err)
		require.Equal(t, Cancelled, got.State)
		require.Equal(t, ReasonUser, got.Reason, "the requested reason")
		require.Empty(t, got.ClaimedBy)
		require.NotNil(t, got.FinishedAt)
		require.Nil(t, got.ActiveKey)
		ids, err = b.store.CancelRequests(ctx, "i1")
		require.NoError(t, err)
		require.Equal(t, []int64{tests[2].booking.ID, tests[3].booking.ID}, ids, "a finished booking is no request")

		// A request without a reason ends user_cancelled; an operator's
		// reason is kept.
		running := tests[2].booking
		require.NoError(t, b.store.FinishCancel(ctx, running.ID, Running, "i1", now))
		noReason := hold(t, b, "25", "i1", Running, live)
		_, err = b.store.Cancel(ctx, user, noReason.ID, "")
		require.NoError(t, err)
		require.NoError(t, b.store.FinishCancel(ctx, noReason.ID, Running, "i1", now))
		got, err = b.store.Get(ctx, user, noReason.ID)
		require.NoError(t, err)
		require.Equal(t, ReasonUser, got.Reason)
		byOp := hold(t, b, "26", "i1", Armed, live)
		_, err = b.store.Cancel(ctx, Scope{All: true}, byOp.ID, ReasonOperator)
		require.NoError(t, err)
		require.NoError(t, b.store.FinishCancel(ctx, byOp.ID, Armed, "i1", now))
		got, err = b.store.Get(ctx, user, byOp.ID)
		require.NoError(t, err)
		require.Equal(t, ReasonOperator, got.Reason)

		// Finished bookings stay as they are.
		got, err = b.store.Cancel(ctx, user, byOp.ID, ReasonUser)
		require.ErrorIs(t, err, ErrTerminal)
		require.Equal(t, Cancelled, got.State)
		_, err = b.store.Cancel(ctx, Scope{TenantID: b.other}, queued.ID, ReasonUser)
		require.ErrorIs(t, err, ErrNotFound)
	})
}

// A booking whose holder died with a cancel request pending is cancelled
// by the next claim, not run again — unless the holder may have sent a
// submit (running, near or past its opening): then the claimer takes it
// over, asks the site first and finishes the cancel itself.
func TestClaimCancelsARequestedCancelOfTheDead(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		now := time.Now()
		sent := hold(t, b, "29", "dead", Running, now.Add(time.Hour))
		_, err := b.store.Cancel(ctx, Scope{All: true}, sent.ID, ReasonOperator)
		require.NoError(t, err)
		claimed, err := b.store.Claim(ctx, sent.ID, "heir", now.Add(2*time.Hour), now.Add(2*time.Hour+time.Minute))
		require.NoError(t, err, "taken over, not cancelled without asking the site")
		require.True(t, claimed.TakenOver)
		require.Equal(t, Running, claimed.State)
		require.NotNil(t, claimed.CancelRequestedAt)

		bk := hold(t, b, "27", "dead", Armed, now.Add(time.Hour))
		_, err = b.store.Cancel(ctx, Scope{All: true}, bk.ID, ReasonOperator)
		require.NoError(t, err)
		later := now.Add(2 * time.Hour)
		_, err = b.store.Claim(ctx, bk.ID, "heir", later, later.Add(time.Minute))
		require.ErrorIs(t, err, ErrConflict)
		got, err := b.store.Get(ctx, Scope{All: true}, bk.ID)
		require.NoError(t, err)
		require.Equal(t, Cancelled, got.State)
		require.Equal(t, ReasonOperator, got.Reason)
		require.Empty(t, got.ClaimedBy)
	})
}

// CancelAndWait returns what became of the booking: cancelled by its
// holder, booked by a submit already on the wire, cancelled directly once
// the holder's lease lapses, or still running when the wait runs out.
func TestCancelAndWait(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		sc := Scope{TenantID: b.tenant}
		// daemon plays the holder: it waits for the request, then acts.
		daemon := func(id int64, act func() error) <-chan error {
			done := make(chan error, 1)
			go func() {
				for {
					ids, err := b.store.CancelRequests(ctx, "i1")
					if err != nil {
						done <- err
						return
					}
					if len(ids) > 0 && ids[0] == id {
						done <- act()
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			return done
		}

		honoured := hold(t, b, "30", "i1", Running, time.Now().Add(time.Hour))
		done := daemon(honoured.ID, func() error { return b.store.FinishCancel(ctx, honoured.ID, Running, "i1", time.Now()) })
		got, err := b.store.CancelAndWait(ctx, sc, honoured.ID, ReasonUser, 10*time.Second)
		require.NoError(t, err)
		require.NoError(t, <-done)
		require.Equal(t, Cancelled, got.State)
		require.Equal(t, ReasonUser, got.Reason)

		booked := hold(t, b, "31", "i1", Running, time.Now().Add(time.Hour))
		done = daemon(booked.ID, func() error {
			return b.store.Succeed(ctx, booked.ID, Running, "i1", Reserved{No: "R-31"}, nil, time.Now())
		})
		got, err = b.store.CancelAndWait(ctx, sc, booked.ID, ReasonUser, 10*time.Second)
		require.NoError(t, err)
		require.NoError(t, <-done)
		require.Equal(t, Succeeded, got.State, "the submit on the wire won")
		require.Equal(t, "R-31", got.ReservationNo)
		require.NotNil(t, got.CancelRequestedAt, "the request stays on record")

		dying := hold(t, b, "32", "i1", Armed, time.Now().Add(300*time.Millisecond))
		got, err = b.store.CancelAndWait(ctx, sc, dying.ID, ReasonUser, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, Cancelled, got.State, "cancelled directly once the holder's lease lapsed")

		// A running booking past its opening whose holder died may have a
		// submit of it behind it: only a daemon that verifies first may
		// cancel it, so the request stays, and a claim takes it over.
		sent := hold(t, b, "34", "i1", Running, time.Now().Add(300*time.Millisecond))
		got, err = b.store.CancelAndWait(ctx, sc, sent.ID, ReasonUser, time.Second)
		require.NoError(t, err)
		require.Equal(t, Running, got.State, "not cancelled without asking the site")
		require.NotNil(t, got.CancelRequestedAt)
		claimed, err := b.store.Claim(ctx, sent.ID, "i2", time.Now(), time.Now().Add(time.Minute))
		require.NoError(t, err)
		require.True(t, claimed.TakenOver)
		require.Equal(t, Running, claimed.State)
		ids, err := b.store.CancelRequests(ctx, "i2")
		require.NoError(t, err)
		require.Equal(t, []int64{sent.ID}, ids, "the new holder sees the request")

		deaf := hold(t, b, "33", "i1", Armed, time.Now().Add(time.Hour))
		got, err = b.store.CancelAndWait(ctx, sc, deaf.ID, ReasonUser, 250*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, Armed, got.State, "still running when the wait ran out")
		require.NotNil(t, got.CancelRequestedAt)

		short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		defer cancel()
		got, err = b.store.CancelAndWait(short, sc, deaf.ID, ReasonUser, 10*time.Second)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, Armed, got.State)

		got, err = b.store.CancelAndWait(ctx, sc, honoured.ID, ReasonUser, time.Second)
		require.ErrorIs(t, err, ErrTerminal, "finished before the call")
		require.Equal(t, Cancelled, got.State)
	})
}

// The daemon asks every 100 ms; the question must be one indexed lookup.
func TestCancelRequestsUsesItsIndex(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		for i := range 5 {
			hold(t, b, fmt.Sprint(50+i), "i1", Running, time.Now().Add(time.Hour))
		}
		stmt := db.Session(&gorm.Session{DryRun: true}).Model(&Booking{}).
			Where("claimed_by = ? AND cancel_requested_at IS NOT NULL AND state IN ?", "i1", []State{Armed, Running}).
			Select("id").Find(&[]int64{}).Statement
		explain := "EXPLAIN "
		if db.Dialect == database.SQLite {
			explain = "EXPLAIN QUERY PLAN "
		}
		var plan []map[string]any
		require.NoError(t, db.Raw(explain+stmt.SQL.String(), stmt.Vars...).Scan(&plan).Error)
		require.Len(t, plan, 1, "%v", plan)
		used := plan[0]["key"] // MySQL: the index chosen (possible_keys lists others)
		if db.Dialect == database.SQLite {
			used = plan[0]["detail"]
		}
		require.Contains(t, fmt.Sprint(used), "ix_bookings_cancel", "%v", plan)
	})
}
