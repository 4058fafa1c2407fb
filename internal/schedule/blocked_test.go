package schedule

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/sitesim"
)

// A window that closes while the site blocks every request fails as
// site_blocked (not window_closed), and a booking that asks to hear of
// failures is told that.
func TestWindowClosesWhileBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		site, err := sitesim.New(sitesim.Options{Accounts: 50, BlockRPS: 1, BlockFor: time.Hour})
		require.NoError(t, err)
		b.site = site
		pool := egressPool(t, site, 1, 100)
		opensAt := site.Now().Add(65 * time.Second).Truncate(time.Second)
		site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{window: 60, notifyOn: booking.NotifyAlways})
		d := b.daemon(t, "i1", func(c *Config) { c.Egress = pool; c.Transport = nil })
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 10*time.Minute)
		d.Stop()
		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonBlocked, got.Reason)
		require.EqualValues(t, 1, b.outboxCount(t, bk.ID, KindFailed))
		require.Empty(t, site.Ledger().Reservations)
	})
}
