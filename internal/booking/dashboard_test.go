package booking

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

func TestDashboard(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

		d, err := b.store.Dashboard(ctx, now)
		require.NoError(t, err)
		require.Empty(t, d.Next)
		require.False(t, d.Failing(), "an empty database has nothing failing")
		require.Zero(t, d.Queued+d.Armed+d.Running+d.Unsent+d.Review+d.Stale)

		mk := func(court, site string, opens time.Time) *Booking {
			nb := newBooking(b.tenant, court)
			nb.Site, nb.OpensAt = site, opens
			bk, _, err := b.store.Create(ctx, nb)
			require.NoError(t, err)
			return bk
		}
		soon := now.Add(12 * time.Minute)
		// Two bookings of one opening, one of another site at the same
		// instant, one later, one much later (not among the next three),
		// one whose window ended an hour ago (not ahead).
		mk("1", "courtsim", soon)
		mk("2", "courtsim", soon)
		mk("3", "other", soon)
		mk("4", "courtsim", soon.Add(time.Hour))
		mk("5", "courtsim", soon.Add(48*time.Hour))
		mk("6", "courtsim", now.Add(-time.Hour))

		// One armed under a live lease, one running under an expired one
		// (no instance holds it: stale).
		armed := mk("7", "courtsim", now.Add(30*time.Second))
		_, err = b.store.Claim(ctx, armed.ID, "inst-a", now.Add(-time.Minute), now.Add(time.Minute))
		require.NoError(t, err)
		stale := mk("8", "courtsim", now.Add(-10*time.Second))
		_, err = b.store.Claim(ctx, stale.ID, "inst-b", now.Add(-2*time.Minute), now.Add(-time.Minute))
		require.NoError(t, err)
		require.NoError(t, b.store.Transition(ctx, stale.ID, Armed, Running, Change{Instance: "inst-b", Now: now.Add(-90 * time.Second)}))
		require.NoError(t, b.store.Beat(ctx, Beat{Name: "idle-1", Boot: "boot1", Host: "h", Every: 2 * time.Second, Now: now}))

		// Failed: two in the last hour (one flagged for review), one a day ago.
		fail := func(court string, reason Reason, at time.Time) int64 {
			bk := mk(court, "courtsim", at.Add(-time.Minute))
			_, err := b.store.Claim(ctx, bk.ID, "inst-a", at.Add(-2*time.Minute), at.Add(time.Minute))
			require.NoError(t, err)
			require.NoError(t, b.store.Fail(ctx, bk.ID, Armed, "inst-a", reason, nil, at))
			return bk.ID
		}
		fail("9", ReasonSoldOut, now.Add(-10*time.Minute))
		flagged := fail("10", ReasonLogin, now.Add(-50*time.Minute))
		fail("11", ReasonSoldOut, now.Add(-24*time.Hour))
		require.NoError(t, db.Exec("UPDATE bookings SET review = ? WHERE id = ?", ReviewAfterFailed, flagged).Error)

		// The outbox: two unsent, one sent, one given up.
		require.NoError(t, b.store.AddOutbox(ctx, []Outbox{
			{BookingID: armed.ID, Kind: "success", Phone: "+821012345678", Payload: "x"},
			{BookingID: armed.ID, Kind: "failure", Phone: "+821012345678", Payload: "x", State: "sending"},
			{BookingID: stale.ID, Kind: "success", Phone: "+821012345678", Payload: "x", State: "sent"},
			{BookingID: stale.ID, Kind: "failure", Phone: "+821012345678", Payload: "x", State: "failed"},
		}, now))

		d, err = b.store.Dashboard(ctx, now)
		require.NoError(t, err)
		require.Equal(t, []Opening{
			{Site: "courtsim", OpensAt: stale.OpensAt, Bookings: 1},
			{Site: "courtsim", OpensAt: armed.OpensAt, Bookings: 1},
			{Site: "courtsim", OpensAt: utc(soon), Bookings: 2},
		}, normalise(d.Next), "the running booking's window is still open; then the soonest, grouped by site and instant")
		require.Equal(t, 6, d.Queued)
		require.Equal(t, 1, d.Armed)
		require.Equal(t, 1, d.Running)
		names := []string{}
		for _, in := range d.Instances {
			names = append(names, in.Name)
		}
		require.ElementsMatch(t, []string{"inst-a", "idle-1"}, names, "live: the lease holder and the idle instance that beat; not the one whose lease expired")
		require.Equal(t, 2, d.Unsent)
		require.NotNil(t, d.OldestUnsent)
		require.Equal(t, 1, d.OutboxFailed)
		require.Equal(t, 2, d.FailedRecent)
		require.Equal(t, map[Reason]int{ReasonSoldOut: 1, ReasonLogin: 1}, d.Reasons)
		require.Equal(t, 1, d.Review)
		require.Equal(t, 1, d.Stale)
		require.True(t, d.Failing())

		// An hour later the next three openings move on.
		d, err = b.store.Dashboard(ctx, now.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, []Opening{
			{Site: "courtsim", OpensAt: utc(soon.Add(time.Hour)), Bookings: 1},
			{Site: "courtsim", OpensAt: utc(soon.Add(48 * time.Hour)), Bookings: 1},
		}, normalise(d.Next))
		require.Zero(t, d.FailedRecent, "the failures are more than an hour old")
	})
}

// normalise puts the openings' instants in UTC, as the store writes them,
// for comparing.
func normalise(os []Opening) []Opening {
	out := make([]Opening, len(os))
	for i, o := range os {
		o.OpensAt = o.OpensAt.UTC()
		out[i] = o
	}
	return out
}
