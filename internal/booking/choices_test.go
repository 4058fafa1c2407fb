package booking

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
)

func choicesAt(date, start string, courts ...string) []Choice {
	end := start[:2] + ":59"
	out := make([]Choice, len(courts))
	for i, c := range courts {
		out[i] = Choice{Court: c, Date: date, Start: start, End: end}
	}
	return out
}

// A booking's choices are stored in order, the first in the booking's own
// slot columns; the success records the winner, and each attempt its choice.
func TestChoicesStoredAndWinnerRecorded(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		nb := newBooking(b.tenant, "")
		nb.Choices = append(choicesAt("2026-12-01", "10:00", "3", "4"), Choice{Court: "1", Date: "2026-12-01", Start: "12:00", End: "13:00"})
		bk, created, err := b.store.Create(ctx, nb)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, "3", bk.Court)
		got, err := b.store.Get(ctx, Scope{All: true}, bk.ID)
		require.NoError(t, err)
		require.Equal(t, nb.Choices, got.Choices())
		_, won := got.Won()
		require.False(t, won, "nothing won before a success")
		require.Equal(t, nb.Choices[0], got.Slot())

		require.NoError(t, b.store.Transition(ctx, bk.ID, Queued, Armed, Change{}))
		require.NoError(t, b.store.Succeed(ctx, bk.ID, Armed, "", Reserved{No: "R-9", Choice: 3}, nil, time.Now()))
		got, err = b.store.Get(ctx, Scope{All: true}, bk.ID)
		require.NoError(t, err)
		require.NotNil(t, got.WonChoice)
		require.Equal(t, 3, *got.WonChoice)
		w, ok := got.Won()
		require.True(t, ok)
		require.Equal(t, nb.Choices[2], w)
		require.Equal(t, nb.Choices[2], got.Slot())

		require.NoError(t, b.store.AddAttempts(ctx, []Attempt{{BookingID: bk.ID, Instance: "i1", Boot: "b", Seq: 1, Step: "submit", SentAt: time.Now(), Class: "sold_out", Choice: 2}}))
		rows, err := b.store.Attempts(ctx, bk.ID, 0, 10)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.Equal(t, 2, rows[0].Choice)

		// A booking of one slot that succeeded won its slot.
		one, _, err := b.store.Create(ctx, newBooking(b.tenant, "7"))
		require.NoError(t, err)
		require.Nil(t, one.ChoiceList, "one slot: no list")
		require.NoError(t, b.store.Transition(ctx, one.ID, Queued, Armed, Change{}))
		require.NoError(t, b.store.Succeed(ctx, one.ID, Armed, "", Reserved{No: "R-10"}, nil, time.Now()))
		got, err = b.store.Get(ctx, Scope{All: true}, one.ID)
		require.NoError(t, err)
		w, ok = got.Won()
		require.True(t, ok)
		require.Equal(t, "7", w.Court)
	})
}

// The store keeps no list it cannot use: a slot twice, or more than
// MaxChoices.
func TestChoicesRefusedByTheStore(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	nb := newBooking(b.tenant, "")
	nb.Choices = choicesAt("2026-12-01", "10:00", "3", "4", "3")
	_, _, err := b.store.Create(context.Background(), nb)
	require.ErrorContains(t, err, "choice 3 is choice 1 again")
	nb.Choices = nil
	for i := range MaxChoices + 1 {
		nb.Choices = append(nb.Choices, Choice{Court: fmt.Sprint(i + 1), Date: "2026-12-01", Start: "10:00", End: "11:00"})
	}
	_, _, err = b.store.Create(context.Background(), nb)
	require.ErrorContains(t, err, "17 choices, at most 16")
}

// The site's per-account caps: a booking counts on every date of its
// choices (on the won one once it succeeded); failed and cancelled ones do
// not count; another account's do not either.
func TestAccountLimitsAtCreate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		lim := profile.AccountLimits{PerDay: 2, PerWeek: 3}
		mk := func(user string, cs []Choice) (*Booking, error) {
			nb := newBooking(b.tenant, "")
			nb.Username, nb.Choices, nb.Limits = user, cs, lim
			bk, _, err := b.store.Create(ctx, nb)
			return bk, err
		}
		// 2026-11-30 is a Monday; 12-06 the Sunday of that week.
		first, err := mk("user001", choicesAt("2026-11-30", "10:00", "1"))
		require.NoError(t, err)
		// Choices on Monday and Tuesday: it counts on both.
		both, err := mk("user001", append(choicesAt("2026-11-30", "11:00", "1"), choicesAt("2026-12-01", "11:00", "1")...))
		require.NoError(t, err)
		_, err = mk("user001", choicesAt("2026-11-30", "12:00", "2"))
		var le *LimitError
		require.ErrorAs(t, err, &le)
		require.Equal(t, "day", le.Period)
		require.Equal(t, "2026-11-30", le.Date)
		require.Equal(t, []int64{first.ID, both.ID}, le.IDs)
		require.Contains(t, le.Error(), `account "user001" hold at most 2 reservation(s) a day`)
		// Another account is not this one's.
		_, err = mk("user002", choicesAt("2026-11-30", "12:00", "2"))
		require.NoError(t, err)

		// Once "both" won Tuesday, Monday has room again.
		require.NoError(t, b.store.Transition(ctx, both.ID, Queued, Armed, Change{}))
		require.NoError(t, b.store.Succeed(ctx, both.ID, Armed, "", Reserved{No: "R-1", Choice: 2}, nil, time.Now()))
		third, err := mk("user001", choicesAt("2026-11-30", "12:00", "3"))
		require.NoError(t, err)
		// The week now holds three (Mon, Tue won, Mon): Sunday is refused.
		_, err = mk("user001", choicesAt("2026-12-06", "12:00", "3"))
		require.ErrorAs(t, err, &le)
		require.Equal(t, "week", le.Period)
		require.Equal(t, "2026-11-30", le.Date, "the week by its Monday")
		// The next week is another.
		_, err = mk("user001", choicesAt("2026-12-07", "12:00", "3"))
		require.NoError(t, err)
		// A cancelled booking does not count.
		_, err = b.store.Cancel(ctx, Scope{All: true}, third.ID, ReasonUser)
		require.NoError(t, err)
		_, err = mk("user001", choicesAt("2026-12-06", "12:00", "3"))
		require.NoError(t, err)
	})
}

// Concurrent creates for one account are counted one after the other:
// with a cap of two a day, two of eight succeed (on MariaDB the account row
// is locked in the creating transaction).
func TestAccountLimitsUnderConcurrentCreates(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		// The account exists before the race (its first booking, failed).
		seed := newBooking(b.tenant, "9")
		bk, _, err := b.store.Create(ctx, seed)
		require.NoError(t, err)
		require.NoError(t, b.store.Transition(ctx, bk.ID, Queued, Armed, Change{}))
		require.NoError(t, b.store.Fail(ctx, bk.ID, Armed, "", ReasonWindow, nil, time.Now()))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, limited int
		for i := range 8 {
			wg.Go(func() {
				nb := newBooking(b.tenant, fmt.Sprint(i+1))
				nb.Limits = profile.AccountLimits{PerDay: 2}
				_, _, err := b.store.Create(ctx, nb)
				var le *LimitError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.As(err, &le):
					limited++
				default:
					t.Errorf("create %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		require.Equal(t, 2, ok)
		require.Equal(t, 6, limited)
	})
}

// StopForLimit cancels the account's unfinished bookings whose every
// choice is in the limited period, and nothing else.
func TestStopForLimit(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		mk := func(user string, cs []Choice) *Booking {
			nb := newBooking(b.tenant, "")
			nb.Username, nb.Choices = user, cs
			bk, _, err := b.store.Create(ctx, nb)
			require.NoError(t, err)
			return bk
		}
		hit := mk("user001", choicesAt("2026-12-01", "10:00", "1"))
		sameDay := mk("user001", choicesAt("2026-12-01", "12:00", "1", "2"))
		escape := mk("user001", append(choicesAt("2026-12-01", "14:00", "1"), choicesAt("2026-12-02", "14:00", "1")...))
		otherDay := mk("user001", choicesAt("2026-12-02", "10:00", "1"))
		otherAcct := mk("user002", choicesAt("2026-12-01", "10:00", "5"))

		in := func(c Choice) bool { return c.Date == "2026-12-01" }
		ids, err := b.store.StopForLimit(ctx, hit, in)
		require.NoError(t, err)
		require.Equal(t, []int64{sameDay.ID}, ids)
		for id, want := range map[int64]State{sameDay.ID: Cancelled, escape.ID: Queued, otherDay.ID: Queued, otherAcct.ID: Queued, hit.ID: Queued} {
			got, err := b.store.Get(ctx, Scope{All: true}, id)
			require.NoError(t, err)
			require.Equal(t, want, got.State, "booking %d", id)
			if want == Cancelled {
				require.Equal(t, ReasonAccountLimit, got.Reason)
			}
		}
	})
}

func TestWeekOf(t *testing.T) {
	t.Parallel()
	for date, want := range map[string]string{
		"2026-11-30": "2026-11-30", "2026-12-02": "2026-11-30", "2026-12-06": "2026-11-30", "2026-12-07": "2026-12-07", "bad": "bad",
	} {
		require.Equal(t, want, WeekOf(date), date)
	}
}
