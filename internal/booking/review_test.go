package booking

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// failAt creates a booking on court and fails it with reason at the given
// instant, after logging the attempts of classes (one row each).
func failAt(t *testing.T, b bundle, site, court string, reason Reason, at time.Time, classes ...string) int64 {
	t.Helper()
	ctx := context.Background()
	nb := newBooking(b.tenant, court)
	nb.Site = site
	bk, _, err := b.store.Create(ctx, nb)
	require.NoError(t, err)
	_, err = b.store.Claim(ctx, bk.ID, "i1", at.Add(-time.Minute), at.Add(time.Minute))
	require.NoError(t, err)
	rows := make([]Attempt, len(classes))
	for i, c := range classes {
		rows[i] = Attempt{BookingID: bk.ID, Instance: "i1", Seq: i + 1, Step: "submit",
			SentAt: bk.OpensAt.Add(time.Duration(i) * 500 * time.Millisecond), Status: 200, Class: c}
	}
	require.NoError(t, b.store.AddAttempts(ctx, rows))
	require.NoError(t, b.store.Fail(ctx, bk.ID, Armed, "i1", reason, nil, at))
	return bk.ID
}

func TestFailures(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		t0 := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
		a := failAt(t, b, "courtsim", "1", ReasonSoldOut, t0, "not_open", "not_open", "sold_out")
		c := failAt(t, b, "courtsim", "2", ReasonWindow, t0.Add(time.Hour), "not_open", "retry", "retry", "blocked", "retry", "retry", "retry")
		d := failAt(t, b, "other", "3", ReasonLogin, t0.Add(2*time.Hour), "fatal")
		// Neither failed nor visible as a failure: queued and cancelled.
		_, _, err := b.store.Create(ctx, newBooking(b.tenant, "4"))
		require.NoError(t, err)
		e, _, err := b.store.Create(ctx, newBooking(b.tenant, "5"))
		require.NoError(t, err)
		_, err = b.store.Cancel(ctx, Scope{All: true}, e.ID, ReasonUser)
		require.NoError(t, err)

		ids := func(fs []Failure) []int64 {
			out := []int64{}
			for _, f := range fs {
				out = append(out, f.Booking.ID)
			}
			return out
		}
		tests := []struct {
			name string
			f    FailureFilter
			want []int64
		}{
			{"all, newest first", FailureFilter{}, []int64{d, c, a}},
			{"since", FailureFilter{Since: t0.Add(30 * time.Minute)}, []int64{d, c}},
			{"until is exclusive", FailureFilter{Until: t0.Add(time.Hour)}, []int64{a}},
			{"site", FailureFilter{Site: "courtsim"}, []int64{c, a}},
			{"reason", FailureFilter{Reason: ReasonLogin}, []int64{d}},
			{"cursor", FailureFilter{Before: c}, []int64{a}},
			{"limit", FailureFilter{Limit: 2}, []int64{d, c}},
			{"nothing", FailureFilter{Site: "nowhere"}, []int64{}},
		}
		for _, tt := range tests {
			got, err := b.store.Failures(ctx, tt.f)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.want, ids(got), tt.name)
		}

		got, err := b.store.Failures(ctx, FailureFilter{Reason: ReasonWindow, LastAttempts: 3})
		require.NoError(t, err)
		require.Len(t, got, 1)
		f := got[0]
		require.Equal(t, ReasonWindow, f.Booking.Reason)
		require.NotNil(t, f.Booking.Account, "the account is loaded for the username")
		require.Equal(t, 7, f.Attempts)
		require.Equal(t, map[string]int{"not_open": 1, "retry": 5, "blocked": 1}, f.Classes)
		require.Equal(t, map[string]map[string]int{"submit": {"not_open": 1, "retry": 5, "blocked": 1}}, f.Steps)
		require.Len(t, f.Last, 3)
		require.Equal(t, []int{5, 6, 7}, []int{f.Last[0].Seq, f.Last[1].Seq, f.Last[2].Seq}, "the latest three, oldest first")
	})
}

func TestStatus(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
		var ids []int64
		for i := range 6 {
			nb := newBooking(b.tenant, fmt.Sprint(i+1))
			nb.OpensAt = now.Add(time.Duration(6-i) * time.Hour)
			bk, _, err := b.store.Create(ctx, nb)
			require.NoError(t, err)
			ids = append(ids, bk.ID)
		}
		// ids[0] opens last, ids[5] first. i1 holds two, i2 one with an
		// expired lease (dead), ids[3..5] stay queued.
		_, err := b.store.Claim(ctx, ids[0], "i1", now, now.Add(30*time.Second))
		require.NoError(t, err)
		_, err = b.store.Claim(ctx, ids[1], "i1", now, now.Add(40*time.Second))
		require.NoError(t, err)
		require.NoError(t, b.store.Transition(ctx, ids[1], Armed, Running, Change{Instance: "i1", Now: now}))
		_, err = b.store.Claim(ctx, ids[2], "i2", now.Add(-time.Minute), now.Add(-time.Second))
		require.NoError(t, err)

		st, err := b.store.Status(ctx, now, 2)
		require.NoError(t, err)
		require.Len(t, st.Instances, 1, "i2's lease expired: it is not alive")
		require.Equal(t, "i1", st.Instances[0].Name)
		require.Equal(t, 2, st.Instances[0].Bookings)
		require.True(t, st.Instances[0].LeaseUntil.Equal(now.Add(40*time.Second)), "latest lease: %v", st.Instances[0].LeaseUntil)

		active := []int64{}
		for _, a := range st.Active {
			active = append(active, a.ID)
		}
		require.Equal(t, []int64{ids[2], ids[1], ids[0]}, active, "armed and running, soonest opening first")
		require.Len(t, st.Next, 2)
		require.Equal(t, []int64{ids[5], ids[4]}, []int64{st.Next[0].ID, st.Next[1].ID}, "queued, soonest first, at most n")

		counts, err := b.store.CountByState(ctx)
		require.NoError(t, err)
		require.Equal(t, map[State]int64{Queued: 3, Armed: 2, Running: 1, Succeeded: 0, Failed: 0, Cancelled: 0}, counts)

		require.NoError(t, b.store.AddOutbox(ctx, []Outbox{{BookingID: ids[0], Kind: "k1", Phone: "+8210", Payload: "{}"}, {BookingID: ids[1], Kind: "k1", Phone: "+8210", Payload: "{}", State: "sent"}}, now))
		ob, err := b.store.CountOutbox(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"pending": 1, "sent": 1}, ob)
	})
}
