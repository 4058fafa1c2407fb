package booking

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// An account belongs to the instance holding its oldest live booking:
// HeldElsewhere names the armed bookings another instance should give
// back, and nothing of another account, of an expired lease, or of the
// holder itself.
func TestHeldElsewhere(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		now := time.Now()
		mk := func(user, court, instance string, lease time.Duration) int64 {
			nb := newBooking(b.tenant, court)
			nb.Username = user
			bk, _, err := b.store.Create(ctx, nb)
			require.NoError(t, err)
			if instance != "" {
				_, err := b.store.Claim(ctx, bk.ID, instance, now, now.Add(lease))
				require.NoError(t, err)
			}
			return bk.ID
		}
		mk("user001", "1", "i1", time.Minute)           // the account's oldest: i1 runs user001
		second := mk("user001", "2", "i2", time.Minute) // i2 gives it back
		mk("user001", "3", "", 0)                       // queued: nobody's
		mk("user002", "1", "i2", time.Minute)           // i2 runs user002
		late := mk("user002", "2", "i1", -time.Second)  // i1 holds it, lapsed: user002 is i2's
		own := mk("user003", "1", "i2", time.Minute)    // user003 only on i2
		_ = own

		ids, err := b.store.HeldElsewhere(ctx, "i2", now)
		require.NoError(t, err)
		require.Equal(t, []int64{second}, ids)
		ids, err = b.store.HeldElsewhere(ctx, "i1", now)
		require.NoError(t, err)
		require.Equal(t, []int64{late}, ids, "i1 keeps user001 (its oldest); user002's oldest is i2's")
		ids, err = b.store.HeldElsewhere(ctx, "i3", now)
		require.NoError(t, err)
		require.Empty(t, ids, "an instance holding nothing gives nothing back")
	})
}
