package schedule

import (
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"reserver/internal/booking"
)

// The opening-instant policy (docs/opening.md): every booking's first
// submit is on the wire at the opening instant, whatever the per-host
// ceiling; the burst is charged to the ceiling, so the host sees nothing
// more from the daemon until it is paid back, and from then on no more
// than the ceiling in any 1 s window. Twenty bookings share a ceiling of
// 4 requests/s on a site that never opens, so that they keep trying.
func TestOpeningBurstIsPaidBackUnderTheCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, ceiling = 20, 4
		b := setup(t, setupOpts{})
		h := b.withTap(&tap{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(time.Hour)) // never opens
		for i := range n {
			b.book(t, opensAt, bookingOpts{
				account: b.site.AccountName(i + 1), court: strconv.Itoa(i%10 + 1), start: []string{"10:00", "11:00"}[i/10], window: 60,
			})
		}
		d := b.daemon(t, "i1", func(c *Config) { c.HostCeiling = ceiling })
		require.NoError(t, d.Start(t.Context()))
		defer d.Kill()
		time.Sleep(time.Until(opensAt.Add(70 * time.Second)))
		d.Stop()

		var first []time.Time // each account's first submit, from the site's ledger
		seen := map[string]bool{}
		for _, s := range b.site.Ledger().Submits {
			if s.Account != "" && !seen[s.Account] {
				seen[s.Account] = true
				first = append(first, s.At)
			}
		}
		var all []time.Time // every request, as the site received it
		for _, r := range h.requests() {
			all = append(all, r.At)
		}
		require.Len(t, first, n, "every booking submitted")
		slices.SortFunc(first, func(a, b time.Time) int { return a.Compare(b) })
		for i, at := range first {
			require.False(t, at.Before(opensAt), "first submit %d arrived %v before the opening", i, opensAt.Sub(at))
			// Waiting for the ceiling would put them 250 ms apart.
			require.Less(t, at.Sub(first[0]), time.Millisecond, "first submit %d arrived %v after the first: it waited for the ceiling", i, at.Sub(first[0]))
		}
		require.Less(t, first[0].Sub(opensAt), 50*time.Millisecond, "the first submits arrived %v after the opening", first[0].Sub(opensAt))
		burstEnd := first[n-1]
		// Nothing else until the burst is paid back at the ceiling's rate.
		paidBack := opensAt.Add(time.Duration(n) * time.Second / ceiling)
		for _, at := range all {
			if at.After(burstEnd) && at.Before(paidBack.Add(-time.Second/ceiling)) {
				t.Fatalf("a request reached the site %v after the opening, before the burst of %d was paid back at %v",
					at.Sub(opensAt), n, paidBack.Sub(opensAt))
			}
		}
		// From then on, at most the ceiling in every 1 s window.
		var after []time.Time
		for _, at := range all {
			if at.After(burstEnd) {
				after = append(after, at)
			}
		}
		slices.SortFunc(after, func(a, b time.Time) int { return a.Compare(b) })
		require.NotEmpty(t, after, "the bookings kept trying after the opening")
		require.LessOrEqual(t, maxInWindow(after, time.Second), ceiling, "a 1 s window after the opening burst held more than the ceiling")
	})
}

// The first submit is rendered before the opening (nothing is left to do
// at T but write), and it books: the token it carries is the one the last
// page visit handed out.
func TestFirstSubmitIsPreparedBeforeTheOpening(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{})
		core, logs := observer.New(zapcore.InfoLevel)
		d := b.daemon(t, "i1", func(c *Config) { c.Logger = zap.New(core) })
		require.NoError(t, d.Start(t.Context()))
		defer d.Kill()
		got := b.waitTerminal(t, bk.ID, 2*time.Minute)
		require.Equal(t, booking.Succeeded, got.State)
		first := logs.FilterMessage("first submit").All()
		require.Len(t, first, 1)
		require.Equal(t, true, first[0].ContextMap()["prepared"], "the first submit was rendered at the fire, not before")
		require.Equal(t, string("success"), first[0].ContextMap()["class"])
	})
}

// A listed egress is an address a site may block: the opening's first
// submits through it go at once only up to one second of its ceiling
// (ippool.Config.OpeningBurst), the rest at its pace, so that it never
// sends more than its ceiling in any 1 s window, the opening included.
func TestListedEgressCapsTheOpeningBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, ceiling = 10, 4
		b := setup(t, setupOpts{})
		h := b.withTap(&tap{})
		pool := egressPool(t, b.site, 1, ceiling)
		opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt.Add(time.Hour)) // never opens
		for i := range n {
			b.book(t, opensAt, bookingOpts{account: b.site.AccountName(i + 1), court: strconv.Itoa(i + 1), window: 60})
		}
		d := b.daemon(t, "i1", func(c *Config) { c.Egress = pool; c.Transport = nil })
		require.NoError(t, d.Start(t.Context()))
		defer d.Kill()
		time.Sleep(time.Until(opensAt.Add(30 * time.Second)))
		d.Stop()

		atOnce := 0
		for _, s := range b.site.Ledger().Submits {
			if s.Account != "" && !s.At.Before(opensAt) && s.At.Sub(opensAt) < 100*time.Millisecond {
				atOnce++
			}
		}
		require.Equal(t, ceiling, atOnce, "first submits at the opening through one egress of ceiling %d", ceiling)
		var all []time.Time
		for _, r := range h.requests() {
			all = append(all, r.At)
		}
		slices.SortFunc(all, func(a, b time.Time) int { return a.Compare(b) })
		require.LessOrEqual(t, maxInWindow(all, time.Second), ceiling, "a 1 s window held more than the egress's ceiling")
	})
}
