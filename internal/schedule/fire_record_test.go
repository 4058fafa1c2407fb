package schedule

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/profile"
)

// The run records where it aimed the first submit (the operator page marks
// it): the planned local instant, which the first submit left at (in a
// bubble nothing delays it).
func TestRunRecordsItsPlannedFire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		defer d.Kill()
		got := b.waitTerminal(t, bk.ID, 2*time.Minute)
		require.Equal(t, booking.Succeeded, got.State)
		require.NotNil(t, got.FireAt, "the planned fire was not recorded")
		var first *booking.Attempt
		for _, a := range b.attempts(t, bk.ID) {
			if a.Step == profile.StepSubmit {
				first = &a
				break
			}
		}
		require.NotNil(t, first)
		require.WithinDuration(t, first.SentAt, *got.FireAt, time.Millisecond)
		// The aim is at or after the opening on the site's clock.
		require.False(t, got.FireAt.Add(b.site.Now().Sub(time.Now())).Before(opensAt))
	})
}
