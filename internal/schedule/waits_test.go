package schedule

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/ippool"
	"reserver/internal/profile"
)

// A booking's attempt rows say why each request waited before it went
// out: the second request (the page right after the login) waited one
// interval of the booking's rate; the login, the page just before the
// opening and the first submit waited for nothing.
func TestAttemptSaysBookingRateWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)

		rows := b.attempts(t, bk.ID)
		require.Equal(t, []string{"login:success", "trace:success", "trace:success", "submit:success"}, steps(rows))
		interval := time.Duration(float64(time.Second) / bk.RatePerSecond)
		want := []struct {
			why  string
			wait time.Duration
		}{{"", 0}, {booking.WaitBookingRate, interval}, {"", 0}, {"", 0}}
		for i, w := range want {
			require.Equal(t, w.why, rows[i].WaitedFor, "row %d (%s)", i, rows[i].Step)
			require.InDelta(t, float64(w.wait), float64(time.Duration(rows[i].WaitedUS)*time.Microsecond), float64(2*time.Millisecond), "row %d (%s)", i, rows[i].Step)
		}
	})
}

// Bookings of one site on one daemon share its host ceiling: at their
// common pre-warm the logins after the first wait their turn, each one
// spacing of the ceiling after the one before, and their rows say so.
func TestAttemptSaysHostCeilingWait(t *testing.T) {
	for _, tc := range []struct {
		name string
		// egress is the per-egress ceiling for the host (0: the daemon's
		// default pool, where it is the host ceiling itself).
		egress float64
		why    string
	}{
		{"default pool", 0, booking.WaitHostCeiling},
		{"an egress below the host ceiling", 2, booking.WaitEgressCeiling},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n, ceiling = 4, 4.0
				b := setup(t, setupOpts{})
				opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
				b.site.SetOpenAt(opensAt)
				var ids []int64
				for i := range n {
					bk := b.book(t, opensAt, bookingOpts{account: b.site.AccountName(i + 1), court: fmt.Sprint(i + 1)})
					ids = append(ids, bk.ID)
				}
				d := b.daemon(t, "i1", func(c *Config) {
					c.HostCeiling = ceiling
					if tc.egress > 0 {
						c.Egress, c.Transport = egressPool(t, b.site, 1, tc.egress), nil
					}
				})
				require.NoError(t, d.Start(t.Context()))
				for _, id := range ids {
					got := b.waitTerminal(t, id, 3*time.Minute)
					require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
				}
				d.Stop()

				var logins []booking.Attempt
				for _, id := range ids {
					rows := b.attempts(t, id)
					require.Equal(t, profile.StepLogin, rows[0].Step)
					logins = append(logins, rows[0])
				}
				slices.SortFunc(logins, func(a, b booking.Attempt) int { return a.SentAt.Compare(b.SentAt) })
				rate := min(ceiling, cmpOrF(tc.egress, ceiling)) * ippool.PaceFraction
				spacing := time.Duration(float64(time.Second) / rate)
				require.Equal(t, "", logins[0].WaitedFor, "the first login waited for nothing")
				require.Zero(t, logins[0].WaitedUS)
				for k := 1; k < n; k++ {
					require.Equal(t, tc.why, logins[k].WaitedFor, "login %d", k)
					require.InDelta(t, float64(spacing), float64(logins[k].SentAt.Sub(logins[k-1].SentAt)), float64(2*time.Millisecond), "login %d", k)
					require.InDelta(t, float64(time.Duration(k)*spacing), float64(time.Duration(logins[k].WaitedUS)*time.Microsecond), float64(2*time.Millisecond),
						"login %d waited from the common pre-warm instant", k)
				}
			})
		})
	}
}

func cmpOrF(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// A booking armed so late that measuring the site's clock runs past its
// opening: the first submit waited for the measurement, and says so.
func TestAttemptSaysClockWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(1500 * time.Millisecond)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()
		require.Equal(t, booking.Succeeded, got.State, "reason %s", got.Reason)
		rows := b.attempts(t, bk.ID)
		sub := rows[len(rows)-1]
		require.Equal(t, "submit", sub.Step)
		require.Positive(t, sub.SentAt.Sub(opensAt), "the submit went late")
		require.Equal(t, booking.WaitClockRemeasure, sub.WaitedFor)
		require.InDelta(t, float64(sub.SentAt.Sub(opensAt)), float64(time.Duration(sub.WaitedUS)*time.Microsecond), float64(10*time.Millisecond),
			"it waited from the opening until the measurement ended")
	})
}
