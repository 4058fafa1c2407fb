package clocksync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const ms = time.Millisecond

// at returns the local instant base+d, for readable tables.
var base = time.Date(2026, 3, 25, 9, 59, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

func TestSampleBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		s      Sample
		lo, hi time.Duration
	}{
		{
			name: "site ahead",
			s:    Sample{Sent: at(100 * ms), Received: at(110 * ms), SiteDate: at(2 * time.Second)},
			lo:   2*time.Second - 110*ms, hi: 3*time.Second - 100*ms,
		},
		{
			name: "site behind",
			s:    Sample{Sent: at(900 * ms), Received: at(901 * ms), SiteDate: at(-2 * time.Second)},
			lo:   -2*time.Second - 901*ms, hi: -time.Second - 900*ms,
		},
		{
			name: "sub-second date is truncated",
			s:    Sample{Sent: at(0), Received: at(0), SiteDate: at(5*time.Second + 700*ms)},
			lo:   5 * time.Second, hi: 6 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := sampleBounds(tt.s)
			require.Equal(t, bounds{lo: tt.lo, hi: tt.hi}, b)
			require.Equal(t, time.Second+tt.s.RTT(), b.width())
		})
	}
}

func TestIntersectSamples(t *testing.T) {
	t.Parallel()
	// The site runs 2.3 s ahead; probes around local second edges.
	probe := func(sent, rtt time.Duration) Sample {
		m := sent + rtt/2
		return Sample{
			Sent:     at(sent),
			Received: at(sent + rtt),
			SiteDate: at(m + 2300*ms).Truncate(time.Second),
		}
	}
	tests := []struct {
		name    string
		samples []Sample
		want    bounds
		ok      bool
	}{
		{name: "none", ok: false},
		{
			name:    "one sample is one second wide",
			samples: []Sample{probe(100*ms, 2*ms)},
			want:    bounds{lo: 2*time.Second - 102*ms, hi: 3*time.Second - 100*ms},
			ok:      true,
		},
		{
			// Site second 3 starts at local 0.7 s: a probe handled just
			// before and one just after pin the offset to their gap.
			name:    "straddling an edge",
			samples: []Sample{probe(100*ms, 2*ms), probe(695*ms, 2*ms), probe(701*ms, 2*ms)},
			want:    bounds{lo: 3*time.Second - 703*ms, hi: 3*time.Second - 695*ms},
			ok:      true,
		},
		{
			name: "contradicting samples",
			samples: []Sample{
				probe(100*ms, 2*ms),
				{Sent: at(200 * ms), Received: at(202 * ms), SiteDate: at(9 * time.Second)},
			},
			ok: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, ok := intersectSamples(tt.samples)
			require.Equal(t, tt.ok, ok)
			if ok {
				require.Equal(t, tt.want, b)
				require.True(t, b.lo <= 2300*ms && 2300*ms < b.hi, "true offset outside %v", b)
			}
		})
	}
}

func TestBoundsIntersect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b bounds
		want bounds
		ok   bool
	}{
		{name: "overlap", a: bounds{0, 10}, b: bounds{5, 20}, want: bounds{5, 10}, ok: true},
		{name: "nested", a: bounds{0, 10}, b: bounds{2, 3}, want: bounds{2, 3}, ok: true},
		{name: "touching is empty (half-open)", a: bounds{0, 10}, b: bounds{10, 20}, ok: false},
		{name: "disjoint", a: bounds{0, 10}, b: bounds{-20, -10}, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.a.intersect(tt.b)
			require.Equal(t, tt.ok, ok)
			if ok {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

func TestBoundsMidAndHalfWidth(t *testing.T) {
	t.Parallel()
	b := bounds{lo: 2299 * ms, hi: 2302*ms + 1}
	require.Equal(t, 2300*ms+500*time.Microsecond, b.mid())
	require.Equal(t, 1500*time.Microsecond+1, b.halfWidth())
	// Every offset in b is within mid ± halfWidth.
	require.LessOrEqual(t, b.mid()-b.lo, b.halfWidth())
	require.LessOrEqual(t, b.hi-b.mid(), b.halfWidth())
}

func TestEstimateConversions(t *testing.T) {
	t.Parallel()
	opening := time.Date(2026, 3, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		est    Estimate
		margin time.Duration
		fire   time.Time
		local  time.Time
	}{
		{
			name:  "site ahead: fire earlier by offset and one-way",
			est:   Estimate{Offset: 2300 * ms, RTT: 40 * ms},
			fire:  opening.Add(-2300*ms - 20*ms),
			local: opening.Add(-2300 * ms),
		},
		{
			name:   "site behind, with margin",
			est:    Estimate{Offset: -1700 * ms, RTT: 10 * ms},
			margin: 30 * ms,
			fire:   opening.Add(1700*ms - 5*ms + 30*ms),
			local:  opening.Add(1700 * ms),
		},
		{
			name:  "perfect clocks on loopback",
			est:   Estimate{RTT: 200 * time.Microsecond},
			fire:  opening.Add(-100 * time.Microsecond),
			local: opening,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.fire, tt.est.FireAt(opening, tt.margin))
			require.Equal(t, tt.local, tt.est.SiteToLocal(opening))
			require.Equal(t, opening, tt.est.LocalToSite(tt.est.SiteToLocal(opening)))
			// The request sent at FireAt arrives, on the site's clock, at
			// opening+margin.
			arrival := tt.est.LocalToSite(tt.est.FireAt(opening, tt.margin).Add(tt.est.OneWay()))
			require.Equal(t, opening.Add(tt.margin), arrival)
		})
	}
}

func TestSampleValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    Sample
		ok   bool
	}{
		{name: "good", s: Sample{Sent: at(0), Received: at(ms), SiteDate: at(0)}, ok: true},
		{name: "zero RTT", s: Sample{Sent: at(0), Received: at(0), SiteDate: at(0)}, ok: true},
		{name: "received before sent", s: Sample{Sent: at(ms), Received: at(0), SiteDate: at(0)}},
		{name: "no date", s: Sample{Sent: at(0), Received: at(ms)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.s.valid()
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrBadSample)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{in: nil, want: 0},
		{in: []time.Duration{5}, want: 5},
		{in: []time.Duration{9, 1, 5}, want: 5},
		{in: []time.Duration{9, 1, 5, 7}, want: 5},
	}
	for _, tt := range tests {
		in := append([]time.Duration(nil), tt.in...)
		require.Equal(t, tt.want, median(tt.in))
		require.Equal(t, in, tt.in, "median must not reorder its input")
	}
}

func TestMidBounds(t *testing.T) {
	t.Parallel()
	s := Sample{Sent: at(100 * ms), Received: at(120 * ms), SiteDate: at(2*time.Second + 400*ms)}
	b := midBounds(s)
	require.Equal(t, bounds{lo: 2*time.Second - 110*ms, hi: 3*time.Second - 110*ms}, b)
	hard := sampleBounds(s)
	require.Equal(t, hard.lo+s.RTT()/2, b.lo, "rtt/2 inside the hard bounds")
	require.Equal(t, hard.hi-s.RTT()/2, b.hi)
}

func TestFitSamples(t *testing.T) {
	t.Parallel()
	const skew = 2300 * ms
	// probe returns the answer of a site 2.3 s ahead that reads its clock
	// up after Sent, with the answer taking down.
	probe := func(sent, up, down time.Duration) Sample {
		return Sample{Sent: at(sent), Received: at(sent + up + down), SiteDate: at(sent + up + skew).Truncate(time.Second)}
	}
	// Site second 3 starts at local 700 ms.
	tests := []struct {
		name      string
		samples   []Sample
		offset    time.Duration
		precision time.Duration
		inverted  bool
	}{
		{
			// Read halfway at 698 ms and 702 ms: the symmetric interval is
			// 4 ms wide, the hard one 4 ms + one round trip.
			name:      "symmetric, straddling the edge",
			samples:   []Sample{probe(100*ms, 10*ms, 10*ms), probe(688*ms, 10*ms, 10*ms), probe(692*ms, 10*ms, 10*ms)},
			offset:    skew,
			precision: 2 * ms,
		},
		{
			// The site reads 5 ms later than halfway: the offset is 5 ms
			// too high, and nothing in the samples shows it.
			name:      "asymmetric",
			samples:   []Sample{probe(100*ms, 15*ms, 5*ms), probe(683*ms, 15*ms, 5*ms), probe(687*ms, 15*ms, 5*ms)},
			offset:    skew + 5*ms,
			precision: 2 * ms,
		},
		{
			// Jitter: the probe whose middle is later (701 ms) was read
			// before the edge, the earlier one (699 ms) after it.
			name:      "jitter inverts the symmetric interval",
			samples:   []Sample{probe(100*ms, 10*ms, 10*ms), probe(689*ms, 12*ms, 8*ms), probe(691*ms, 8*ms, 12*ms)},
			offset:    skew,
			precision: ms,
			inverted:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, ok := fitSamples(tt.samples)
			require.True(t, ok)
			require.Equal(t, tt.offset, f.offset())
			require.Equal(t, tt.precision, f.precision())
			require.Equal(t, tt.inverted, f.mid.width() < 0)
			require.True(t, f.hard.lo <= skew && skew < f.hard.hi, "the hard interval %v holds the truth", f.hard)
			require.LessOrEqual(t, absDur(f.offset()-skew), f.uncertainty())
		})
	}
	_, ok := fitSamples(nil)
	require.False(t, ok)
}

func TestFitOffsetStaysInsideHardInterval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		f           fit
		offset      time.Duration
		uncertainty time.Duration
		precision   time.Duration
	}{
		{
			name:   "middle of the symmetric interval",
			f:      fit{hard: bounds{lo: 0, hi: 30 * ms}, mid: bounds{lo: 16 * ms, hi: 20 * ms}},
			offset: 18 * ms, uncertainty: 18 * ms, precision: 2 * ms,
		},
		{
			name:   "inverted",
			f:      fit{hard: bounds{lo: 0, hi: 30 * ms}, mid: bounds{lo: 12 * ms, hi: 10 * ms}},
			offset: 11 * ms, uncertainty: 19 * ms, precision: ms,
		},
		{
			name:   "clamped",
			f:      fit{hard: bounds{lo: 0, hi: 30 * ms}, mid: bounds{lo: 40 * ms, hi: 34 * ms}},
			offset: 30 * ms, uncertainty: 30 * ms, precision: 3 * ms,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.offset, tt.f.offset())
			require.Equal(t, tt.uncertainty, tt.f.uncertainty())
			require.Equal(t, tt.precision, tt.f.precision())
		})
	}
}

func TestMeetKeepsInversion(t *testing.T) {
	t.Parallel()
	// Two answers whose hard bounds overlap but whose symmetric ones do not.
	a := Sample{Sent: at(689 * ms), Received: at(709 * ms), SiteDate: at(3 * time.Second)}
	b := Sample{Sent: at(691 * ms), Received: at(711 * ms), SiteDate: at(2 * time.Second)}
	_, ok := intersectSamples([]Sample{a, b})
	require.True(t, ok)
	m, ok := meet([]Sample{a, b}, midBounds)
	require.True(t, ok)
	require.Equal(t, bounds{lo: 3*time.Second - 699*ms, hi: 3*time.Second - 701*ms}, m)
	require.Equal(t, -2*ms, m.width())
	_, ok = meet(nil, midBounds)
	require.False(t, ok)
}
