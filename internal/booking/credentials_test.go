package booking

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// A booking logs in with its own password; a mistyped one on a second
// booking does not replace the account's, and a password a login proved
// applies to the next login of the bookings made before the proof.
func TestLoginPassword(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		get := func(id int64) *Booking {
			got, err := b.store.Get(ctx, Scope{All: true}, id)
			require.NoError(t, err)
			return got
		}
		login := func(id int64) string {
			pw, err := b.store.LoginPassword(get(id))
			require.NoError(t, err)
			return pw
		}
		first, _, err := b.store.Create(ctx, newBooking(b.tenant, "40"))
		require.NoError(t, err)
		typo := newBooking(b.tenant, "41")
		typo.Password = "guess"
		second, _, err := b.store.Create(ctx, typo)
		require.NoError(t, err)

		require.Equal(t, "pass1234", login(first.ID))
		require.Equal(t, "guess", login(second.ID), "its own, to fail on its own")
		acct, err := b.store.Password(get(first.ID).Account)
		require.NoError(t, err)
		require.Equal(t, "pass1234", acct, "a booking's password does not replace the account's")

		// The user changed the password on the site; a booking made with
		// the new one logged in: it applies to the older bookings' next
		// login, not to a booking made after the proof.
		time.Sleep(2 * time.Millisecond)
		require.NoError(t, b.store.ProvePassword(ctx, first.AccountID, "new-pass", time.Now()))
		require.Equal(t, "new-pass", login(first.ID))
		require.Equal(t, "new-pass", login(second.ID))
		time.Sleep(2 * time.Millisecond)
		later := newBooking(b.tenant, "42")
		later.Password = "typo2"
		third, _, err := b.store.Create(ctx, later)
		require.NoError(t, err)
		require.Equal(t, "typo2", login(third.ID))
		// Proving the current password again changes nothing.
		proven := get(first.ID).Account.PasswordProvenAt
		require.NoError(t, b.store.ProvePassword(ctx, first.AccountID, "new-pass", time.Now().Add(time.Hour)))
		require.True(t, proven.Equal(*get(first.ID).Account.PasswordProvenAt))
		require.NotContains(t, string(get(third.ID).PasswordEnc), "typo2", "sealed")
	})
}
