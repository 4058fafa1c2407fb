package clocksync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const us = time.Microsecond

func TestCapacity(t *testing.T) {
	t.Parallel()
	a := 4 * ms
	tests := []struct {
		name string
		n, p int
		rtt  time.Duration
		want time.Duration
	}{
		{name: "no probes", n: 0, p: 3, rtt: 100 * us, want: a},
		{name: "no pass", n: 5, p: -1, rtt: 100 * us, want: a},
		// One pass: n probes spaced a−rtt apart cover n+1 slots.
		{name: "last pass", n: 5, p: 0, rtt: 100 * us, want: 6*a - 5*100*us},
		{name: "two passes, one probe", n: 1, p: 1, rtt: 100 * us, want: 2*a - 100*us},
		// C(2,1) = C(1,0) + C(1,1) − rtt = (2a−rtt) + (2a−rtt) − rtt.
		{name: "two passes, two probes", n: 2, p: 1, rtt: 100 * us, want: 4*a - 3*100*us},
		// Without round trip the recursion is Pascal's: C(n,1) = a(1+n(n+1)/2).
		{name: "triangular", n: 10, p: 1, want: a * (1 + 10*11/2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, capacity(tt.n, tt.p, a, tt.rtt))
		})
	}
}

func TestCapacityGrowsWithPassesAndProbes(t *testing.T) {
	t.Parallel()
	a, r := 3600*us, 250*us
	for n := 1; n < 24; n++ {
		for p := 0; p < 4; p++ {
			require.Greater(t, capacity(n, p, a, r), capacity(n-1, p, a, r), "n=%d p=%d", n, p)
			// n probes can use at most n−1 passes after the current one.
			if p < n-1 {
				require.Greater(t, capacity(n, p+1, a, r), capacity(n, p, a, r), "n=%d p=%d", n, p)
			} else {
				require.Equal(t, capacity(n, p+1, a, r), capacity(n, p, a, r), "n=%d p=%d", n, p)
			}
		}
	}
	// A second of uncertainty needs three passes with ~12 probes, or two
	// with ~23: the reason for the probe reserve.
	require.Less(t, capacity(12, 1, a, r), time.Second)
	require.GreaterOrEqual(t, capacity(13, 2, a, r), time.Second)
	require.Less(t, capacity(22, 1, a, r), time.Second)
}

func TestStep(t *testing.T) {
	t.Parallel()
	a, r := 3600*us, 250*us
	tests := []struct {
		name   string
		w      time.Duration
		n      int
		lo, hi time.Duration // acceptable x
	}{
		// Within reach of the last pass: stride of a.
		{name: "last pass", w: 20 * ms, n: 10, lo: a - 1, hi: a},
		{name: "already within target bisects", w: 3 * ms, n: 10, lo: (3*ms + r) / 2, hi: (3*ms + r) / 2},
		// Hopeless budget: bisect.
		{name: "too few probes", w: time.Second, n: 2, lo: (time.Second + r) / 2, hi: (time.Second + r) / 2},
		// A crossing must leave what one pass fewer can still resolve.
		{name: "first pass of three", w: time.Second, n: 18, lo: 0, hi: capacity(17, 1, a, r)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x := step(tt.w, tt.n, a, r, 0)
			require.GreaterOrEqual(t, x, tt.lo)
			require.LessOrEqual(t, x, tt.hi)
			require.Positive(t, x)
			require.LessOrEqual(t, x, tt.w)
		})
	}
}

func TestPlanNext(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 25, 9, 59, 0, 123_000_000, time.UTC)
	tests := []struct {
		name     string
		p        plan
		wantEdge time.Duration // expected wake − now, roughly
	}{
		{
			name: "next edge is in the future",
			p: plan{
				b: bounds{lo: 2300 * ms, hi: 2340 * ms}, left: 20, accept: 3600 * us,
				rtt: 200 * us, earliest: now,
			},
		},
		{
			name: "spacing pushes to a later edge",
			p: plan{
				b: bounds{lo: 2300 * ms, hi: 2340 * ms}, left: 20, accept: 3600 * us,
				rtt: 200 * us, spacing: 1500 * ms, earliest: now.Add(1500 * ms),
			},
		},
		{
			name: "negative offset",
			p: plan{
				b: bounds{lo: -1700 * ms, hi: -1100 * ms}, left: 20, reserve: 6, accept: 3600 * us,
				rtt: 200 * us, lag: 50 * us, earliest: now,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wake := tt.p.next()
			require.False(t, wake.Before(tt.p.earliest), "wake %v before earliest %v", wake, tt.p.earliest)
			require.Less(t, wake.Sub(tt.p.earliest), time.Second, "waits for more than one edge")
			// The probe aims at a whole second of the site's clock: for the
			// test offset q inside the interval, wake+lag+rtt/2+q is an edge.
			sent := wake.Add(tt.p.lag)
			handledSite := sent.Add(tt.p.rtt/2 + tt.p.b.hi)
			edge := ceilSecond(sent.Add(tt.p.rtt/2 + tt.p.b.lo))
			require.False(t, handledSite.Before(edge), "aims below the interval")
			q := edge.Sub(sent.Add(tt.p.rtt / 2))
			require.Greater(t, q, tt.p.b.lo)
			require.Less(t, q, tt.p.b.hi)
		})
	}
}

func TestCeilSecond(t *testing.T) {
	t.Parallel()
	sec := time.Date(2026, 3, 25, 10, 0, 0, 0, time.UTC)
	require.Equal(t, sec, ceilSecond(sec))
	require.Equal(t, sec, ceilSecond(sec.Add(-time.Nanosecond)))
	require.Equal(t, sec.Add(time.Second), ceilSecond(sec.Add(time.Nanosecond)))
}

func TestMinPasses(t *testing.T) {
	t.Parallel()
	a, r := 3600*us, 250*us
	tests := []struct {
		name string
		w    time.Duration
		n    int
		want int
	}{
		{name: "one pass suffices", w: 20 * ms, n: 10, want: 0},
		{name: "a second with a dozen probes", w: time.Second, n: 13, want: 2},
		{name: "a second with the whole default budget", w: time.Second, n: 23, want: 2},
		{name: "a second with two dozen", w: time.Second, n: 24, want: 1},
		{name: "hopeless", w: time.Second, n: 2, want: maxPlanPasses},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, minPasses(tt.w, tt.n, a, r))
		})
	}
}

func TestFitPlanned(t *testing.T) {
	t.Parallel()
	hard := bounds{lo: 2280 * ms, hi: 2330 * ms}
	f := fit{hard: hard, mid: bounds{lo: 2300 * ms, hi: 2308 * ms}}
	require.Equal(t, bounds{lo: 2290 * ms, hi: 2318 * ms}, f.planned(20*ms), "rtt/2 either side of the symmetric interval")
	require.Equal(t, bounds{lo: 2280 * ms, hi: 2330 * ms}, f.planned(100*ms), "never outside the hard interval")
	f.mid = bounds{lo: 2308 * ms, hi: 2300 * ms}
	require.Equal(t, bounds{lo: 2298 * ms, hi: 2310 * ms}, f.planned(20*ms), "inverted: around its middle")
	require.Equal(t, hard, f.planned(4*ms), "inverted by more than a round trip: the hard interval")
}

// Once the symmetric interval is narrower than one pass can resolve, each
// probe asks whether the offset is above the symmetric interval's middle.
func TestPlanBisectsTheSymmetricInterval(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 25, 9, 59, 0, 123_000_000, time.UTC)
	const rtt = 20 * ms
	f := fit{hard: bounds{lo: 2280 * ms, hi: 2331 * ms}, mid: bounds{lo: 2300 * ms, hi: 2312 * ms}}
	p := plan{b: f.planned(rtt), left: 10, reserve: 6, accept: 3600*us + rtt, rtt: rtt, earliest: now}
	require.Less(t, p.b.width(), p.width(), "within one pass's resolution")
	sent := p.next()
	edge := ceilSecond(sent.Add(rtt/2 + f.mid.lo))
	require.Equal(t, f.mid.mid(), edge.Sub(sent.Add(rtt/2)), "tests the symmetric middle")
}
