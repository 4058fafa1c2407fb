package booking

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// CountActive counts the queued, armed and running bookings of one tenant:
// not the finished ones, not another tenant's.
func TestCountActive(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		for i, st := range States {
			bk, _, err := b.store.Create(ctx, newBooking(b.tenant, strconv.Itoa(i+1)))
			require.NoError(t, err)
			require.NoError(t, db.Model(&Booking{}).Where("id = ?", bk.ID).Update("state", st).Error)
		}
		theirs := newBooking(b.other, "1")
		theirs.Username = "user002"
		_, _, err := b.store.Create(ctx, theirs)
		require.NoError(t, err)

		n, err := b.store.CountActive(ctx, b.tenant)
		require.NoError(t, err)
		require.EqualValues(t, 3, n, "queued, armed and running of %v", States)
		n, err = b.store.CountActive(ctx, b.other)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		n, err = b.store.CountActive(ctx, b.other+100)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}
