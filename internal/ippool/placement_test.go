package ippool

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"reserver/internal/profile"
)

func block(t *testing.T, p *Pool, egress string, d time.Duration) {
	t.Helper()
	require.NoError(t, p.Report(egress, siteHost, Outcome{Class: profile.ClassBlocked, RetryAfter: d}))
}

func loads(p *Pool) map[string]float64 {
	out := map[string]float64{}
	for _, s := range p.States() {
		if s.Host == siteHost {
			out[s.Egress] = s.Load
		}
	}
	return out
}

// Assign keeps each egress's declared load within the ceiling, spreading
// accounts; when there is no room left it still places (the limiter paces).
func TestAssignSpreadsUnderTheCeiling(t *testing.T) {
	t.Parallel()
	b := fakePool(t, Config{HostCeilingPerEgress: 4}, "a", "b", "c", "d")
	got := map[string]int{}
	for i := range 8 {
		eg, err := b.pool.Assign(fmt.Sprintf("user%03d", i), siteHost, 2)
		require.NoError(t, err)
		got[eg.Name()]++
	}
	require.Equal(t, map[string]int{"a": 2, "b": 2, "c": 2, "d": 2}, got)
	require.Equal(t, map[string]float64{"a": 4, "b": 4, "c": 4, "d": 4}, loads(b.pool))

	eg, err := b.pool.Assign("user999", siteHost, 1)
	require.NoError(t, err, "no room is not an error")
	require.Equal(t, "a", eg.Name())

	// Rates that do not divide evenly: the ceiling, not the count, decides.
	b2 := fakePool(t, Config{HostCeilingPerEgress: 4}, "a", "b")
	for i, rps := range []float64{3, 3, 1, 1} {
		eg, err := b2.pool.Assign(fmt.Sprintf("u%d", i), siteHost, rps)
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b", "a", "b"}[i], eg.Name(), "account %d", i)
	}
	require.Equal(t, map[string]float64{"a": 4, "b": 4}, loads(b2.pool))
}

func TestAssignPicksByRoomThenHealthThenLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup places load and opens breakers; now is after open timeout
		// for those opened with halfOpen.
		load     map[string]float64
		halfOpen []string
		open     []string
		rps      float64
		want     string
	}{
		{name: "least load", load: map[string]float64{"a": 2, "b": 1, "c": 3}, rps: 1, want: "b"},
		{name: "closed before half-open", load: map[string]float64{"a": 2, "b": 0, "c": 3}, halfOpen: []string{"b"}, rps: 1, want: "a"},
		{name: "room before health", load: map[string]float64{"a": 4, "b": 0, "c": 4}, halfOpen: []string{"b"}, rps: 1, want: "b"},
		{name: "open never", load: map[string]float64{"a": 3, "b": 0, "c": 3}, open: []string{"b"}, rps: 1, want: "a"},
		{name: "no room: closed, least load", load: map[string]float64{"a": 4, "b": 3.5, "c": 3.5}, halfOpen: []string{"b"}, rps: 1, want: "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := fakePool(t, Config{HostCeilingPerEgress: 4, OpenTimeout: time.Second}, "a", "b", "c")
				for name, l := range tt.load {
					if l > 0 {
						b.pool.mu.Lock()
						b.pool.loadLocked(b.pool.byName[name], siteHost).rps = l
						b.pool.mu.Unlock()
					}
				}
				for _, n := range tt.halfOpen {
					block(t, b.pool, n, time.Second)
				}
				time.Sleep(time.Second) // half-open ones are probe-ready
				for _, n := range tt.open {
					block(t, b.pool, n, time.Minute)
				}
				eg, err := b.pool.Assign("acct", siteHost, tt.rps)
				require.NoError(t, err)
				require.Equal(t, tt.want, eg.Name())
			})
		})
	}
}

// The bookings of one account share its session: repeated Assigns add up
// on the same egress, Releases take them back.
func TestAssignSameAccountAddsUpAndReleases(t *testing.T) {
	t.Parallel()
	b := fakePool(t, Config{HostCeilingPerEgress: 4}, "a", "b")
	e1, err := b.pool.Assign("kim", siteHost, 2)
	require.NoError(t, err)
	e2, err := b.pool.Assign("kim", "http://court.example:8080", 2)
	require.NoError(t, err)
	require.Equal(t, e1.Name(), e2.Name())
	cur, ok := b.pool.Current("kim", siteHost)
	require.True(t, ok)
	require.Equal(t, e1.Name(), cur.Name())
	require.Equal(t, 4.0, loads(b.pool)[e1.Name()])

	b.pool.Release("kim", siteHost, 2)
	require.Equal(t, 2.0, loads(b.pool)[e1.Name()])
	b.pool.Release("kim", siteHost, 2)
	require.Zero(t, loads(b.pool)[e1.Name()])
	_, ok = b.pool.Current("kim", siteHost)
	require.False(t, ok)
	b.pool.Release("kim", siteHost, 2) // harmless

	_, err = b.pool.Assign("", siteHost, 1)
	require.ErrorIs(t, err, ErrNoAccount)
	_, err = b.pool.Move("kim", siteHost)
	require.ErrorIs(t, err, ErrNotAssigned)
}

// Move goes to the healthiest other egress after a block, moves an account
// once however many of its bookings ask, and reports when every egress is
// cooling down.
func TestMoveAfterBlock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := fakePool(t, Config{HostCeilingPerEgress: 4, OpenTimeout: 5 * time.Second}, "a", "b", "c")
		e, err := b.pool.Assign("kim", siteHost, 2)
		require.NoError(t, err)
		require.Equal(t, "a", e.Name())
		_, err = b.pool.Assign("lee", siteHost, 3)
		require.NoError(t, err) // on b
		same, err := b.pool.Move("kim", siteHost)
		require.NoError(t, err)
		require.Equal(t, "a", same.Name(), "no block: no move")

		block(t, b.pool, "a", 10*time.Second)
		moved, err := b.pool.Move("kim", siteHost)
		require.NoError(t, err)
		require.Equal(t, "c", moved.Name(), "the least loaded healthy other")
		again, err := b.pool.Move("kim", siteHost)
		require.NoError(t, err)
		require.Equal(t, "c", again.Name(), "a second booking of kim does not move it again")
		require.Equal(t, map[string]float64{"a": 0, "b": 3, "c": 2}, loads(b.pool))

		time.Sleep(2 * time.Second)
		block(t, b.pool, "b", 20*time.Second)
		block(t, b.pool, "c", 30*time.Second)
		_, err = b.pool.Move("kim", siteHost)
		var ac *AllCoolingError
		require.ErrorAs(t, err, &ac)
		require.ErrorIs(t, err, ErrAllCooling)
		require.Equal(t, siteHost, ac.Host)
		require.Equal(t, 8*time.Second, ac.Wait, "a is usable first")
		require.Equal(t, time.Now().Add(8*time.Second), ac.Until)
		cur, _ := b.pool.Current("kim", siteHost)
		require.Equal(t, "c", cur.Name(), "stays put")

		_, err = b.pool.Assign("park", siteHost, 1)
		require.ErrorIs(t, err, ErrAllCooling)
		require.True(t, errors.As(err, &ac))
		require.Equal(t, 8*time.Second, ac.Wait)

		time.Sleep(ac.Wait) // a booking waits within its window
		moved, err = b.pool.Move("kim", siteHost)
		require.NoError(t, err)
		require.Equal(t, "a", moved.Name())
		// Assigning more to an account whose egress cools down moves it.
		block(t, b.pool, "a", time.Minute)
		time.Sleep(20 * time.Second) // b is back
		e, err = b.pool.Assign("kim", siteHost, 1)
		require.NoError(t, err)
		require.Equal(t, "b", e.Name())
		require.Equal(t, map[string]float64{"a": 0, "b": 6, "c": 0}, loads(b.pool))
	})
}

func TestLimiterPacesAtTheCeilingWithoutBurst(t *testing.T) {
	t.Parallel()
	b := fakePool(t, Config{HostCeilingPerEgress: 3}, "a", "b")
	l := b.pool.Limiter("a", siteHost)
	require.Same(t, l, b.pool.Limiter("a", "http://court.example:8080/x"))
	require.NotSame(t, l, b.pool.Limiter("b", siteHost))
	require.Equal(t, rate.Limit(3*PaceFraction), l.Limit(), "paced a little under the ceiling")
	require.Equal(t, 1, l.Burst())
}
