package booking

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
)

// patchNow is the clock of the patches below.
var patchNow = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// bookingIn creates a booking of court opening at opensAt and moves it to
// state as the daemon would.
func (b bundle) bookingIn(t *testing.T, court string, opensAt time.Time, state State) *Booking {
	t.Helper()
	ctx := context.Background()
	nb := newBooking(b.tenant, court)
	nb.OpensAt = opensAt
	bk, _, err := b.store.Create(ctx, nb)
	require.NoError(t, err)
	steps := map[State][]State{
		Armed: {Armed}, Running: {Armed, Running}, Succeeded: {Armed, Running, Succeeded},
		Failed: {Armed, Running, Failed},
	}
	from := Queued
	for _, to := range steps[state] {
		switch to {
		case Succeeded:
			require.NoError(t, b.store.Succeed(ctx, bk.ID, from, "", Reserved{No: "R-1"}, nil, patchNow))
		case Failed:
			require.NoError(t, b.store.Fail(ctx, bk.ID, from, "", ReasonSoldOut, nil, patchNow))
		default:
			require.NoError(t, b.store.Transition(ctx, bk.ID, from, to, Change{}))
		}
		from = to
	}
	if state == Cancelled {
		_, err := b.store.Cancel(ctx, Scope{All: true}, bk.ID, ReasonUser)
		require.NoError(t, err)
	}
	got, err := b.store.Get(ctx, Scope{All: true}, bk.ID)
	require.NoError(t, err)
	require.Equal(t, state, got.State)
	return got
}

// The choices change while a booking is queued or armed, and while it runs
// until ChoicesCutoff before it opens; never once it finished. The priority
// changes until the run starts. A refused patch changes nothing.
func TestPatchChoicesInEveryState(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		later := patchNow.Add(time.Hour)
		tests := []struct {
			name     string
			state    State
			opensAt  time.Time
			choices  bool // the choices change
			priority bool // the priority changes
		}{
			{"queued", Queued, later, true, true},
			{"armed", Armed, later, true, true},
			{"running, 11 s before it opens", Running, patchNow.Add(11 * time.Second), true, false},
			{"running, 10 s before it opens", Running, patchNow.Add(ChoicesCutoff), false, false},
			{"running, 5 s before it opens", Running, patchNow.Add(5 * time.Second), false, false},
			{"succeeded", Succeeded, later, false, false},
			{"failed", Failed, later, false, false},
			{"cancelled", Cancelled, later, false, false},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				court := string(rune('A' + i))
				bk := b.bookingIn(t, court, tt.opensAt, tt.state)
				cs := []Choice{
					{Court: court + "2", Date: "2026-12-02", Start: "12:00", End: "13:00"},
					{Court: court, Date: "2026-12-01", Start: "10:00", End: "11:00"},
				}
				got, err := b.store.Apply(ctx, Scope{All: true}, bk.ID, Patch{Choices: &cs}, patchNow)
				if tt.choices {
					require.NoError(t, err)
					require.Equal(t, cs, got.Choices())
					require.Equal(t, court+"2", got.Court, "the first choice is the booking's slot")
					require.Equal(t, "2026-12-02", got.PlayDate)
					require.Equal(t, "12:00", got.StartTime)
					require.Equal(t, "13:00", got.EndTime)
					require.Equal(t, activeKey(bk.TenantID, bk.AccountID, bk.Site, court+"2", "2026-12-02", "12:00", "13:00"), *got.ActiveKey)
				} else {
					var sf *StateForbidsError
					require.ErrorAs(t, err, &sf)
					require.Equal(t, []string{FieldChoices}, sf.Fields)
					require.Equal(t, tt.state, sf.State)
					if !tt.state.Terminal() {
						require.Contains(t, sf.Error(), "the choices until 10s before it opens")
					}
					now, err := b.store.Get(ctx, Scope{All: true}, bk.ID)
					require.NoError(t, err)
					require.Equal(t, bk.Choices(), now.Choices(), "nothing changed")
					require.Equal(t, bk.Version, now.Version)
				}

				prio := 7
				got, err = b.store.Apply(ctx, Scope{All: true}, bk.ID, Patch{Priority: &prio}, patchNow)
				if tt.priority {
					require.NoError(t, err)
					require.Equal(t, 7, got.Priority)
				} else {
					var sf *StateForbidsError
					require.ErrorAs(t, err, &sf)
					require.Equal(t, []string{FieldPriority}, sf.Fields)
				}
			})
		}
	})
}

// A new first choice that another active booking of the account holds is
// the duplicate it would be at create; a list the account's limits leave
// no room for is a *LimitError, not counting the patched booking itself;
// neither changes anything.
func TestPatchChoicesDuplicateAndLimits(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		later := patchNow.Add(time.Hour)
		one := b.bookingIn(t, "1", later, Queued)
		two := b.bookingIn(t, "2", later, Queued)

		dup := []Choice{{Court: "1", Date: "2026-12-01", Start: "10:00", End: "11:00"}}
		_, err := b.store.Apply(ctx, Scope{All: true}, two.ID, Patch{Choices: &dup}, patchNow)
		require.ErrorIs(t, err, ErrDuplicate)

		lim := profile.AccountLimits{PerDay: 2}
		// Both are on 2026-12-01: moving two within the date, or to
		// 2026-12-02 as well, leaves one other booking on 2026-12-01.
		same := []Choice{{Court: "5", Date: "2026-12-01", Start: "10:00", End: "11:00"}, {Court: "6", Date: "2026-12-02", Start: "10:00", End: "11:00"}}
		got, err := b.store.Apply(ctx, Scope{All: true}, two.ID, Patch{Choices: &same, Limits: lim}, patchNow)
		require.NoError(t, err, "the patched booking does not count against itself")
		require.Equal(t, same, got.Choices())

		// A third booking on 2026-12-02 is now the account's second there;
		// moving one there as well would be the third.
		three := b.bookingIn(t, "3", later, Queued)
		three2 := []Choice{{Court: "3", Date: "2026-12-02", Start: "10:00", End: "11:00"}}
		_, err = b.store.Apply(ctx, Scope{All: true}, three.ID, Patch{Choices: &three2, Limits: lim}, patchNow)
		require.NoError(t, err)
		onto := []Choice{{Court: "1", Date: "2026-12-02", Start: "12:00", End: "13:00"}}
		_, err = b.store.Apply(ctx, Scope{All: true}, one.ID, Patch{Choices: &onto, Limits: lim}, patchNow)
		var le *LimitError
		require.ErrorAs(t, err, &le)
		require.Equal(t, LimitError{Username: "user001", Period: "day", Date: "2026-12-02", Limit: 2, Held: 2, IDs: []int64{two.ID, three.ID}}, *le)
		got, err = b.store.Get(ctx, Scope{All: true}, one.ID)
		require.NoError(t, err)
		require.Equal(t, "1", got.Court, "a refused patch changes nothing")
		require.Equal(t, "2026-12-01", got.PlayDate)

		// Without limits the same patch is taken.
		_, err = b.store.Apply(ctx, Scope{All: true}, one.ID, Patch{Choices: &onto}, patchNow)
		require.NoError(t, err)

		// A list the store must not keep is refused before anything is read.
		twice := []Choice{onto[0], onto[0]}
		_, err = b.store.Apply(ctx, Scope{All: true}, one.ID, Patch{Choices: &twice}, patchNow)
		require.True(t, errors.Is(err, errChoices), "%v", err)
	})
}
