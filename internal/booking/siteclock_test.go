package booking

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSiteClockOf(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	local0 := time.Date(2026, 11, 25, 0, 59, 0, 0, time.UTC)
	// row is an attempt sent at local0+at whose answer took lat and whose
	// Date header the site, offset ahead of us, wrote halfway.
	row := func(at, lat, offset time.Duration) Attempt {
		sent := local0.Add(at)
		d := sent.Add(lat / 2).Add(offset).Truncate(time.Second)
		return Attempt{SentAt: sent, LatencyUS: lat.Microseconds(), SiteDate: &d}
	}
	spaced := func(n int, step, offset time.Duration) []Attempt {
		var rows []Attempt
		for i := range n {
			rows = append(rows, row(time.Duration(i)*step, 10*ms, offset))
		}
		return rows
	}
	noDate := Attempt{SentAt: local0, LatencyUS: 5000}
	tests := []struct {
		name      string
		rows      []Attempt
		samples   int
		bounded   bool
		offset    time.Duration // the true offset
		maxWithin time.Duration // the estimate is at least this tight
	}{
		{"no rows", nil, 0, false, 0, 0},
		{"no Date headers", []Attempt{noDate, noDate}, 0, false, 0, 0},
		{"one header: a second wide", []Attempt{noDate, row(0, 10*ms, 300*ms)}, 1, true, 300 * ms, 505 * ms},
		{"site ahead, seconds change between rows", spaced(20, 173*ms, 300*ms), 20, true, 300 * ms, 25 * ms},
		{"site behind", spaced(20, 173*ms, -1700*ms), 20, true, -1700 * ms, 25 * ms},
		{"rows disagree: median, half a second", append(spaced(3, 130*ms, 300*ms), row(time.Second, 10*ms, 3*time.Second)), 4, false, 300 * ms, 500 * ms},
	}
	for _, tt := range tests {
		c := SiteClockOf(tt.rows)
		require.Equal(t, tt.samples, c.Samples, tt.name)
		require.Equal(t, tt.bounded, c.Bounded, tt.name)
		require.LessOrEqual(t, c.Within, tt.maxWithin, tt.name)
		require.LessOrEqual(t, (c.Offset - tt.offset).Abs(), max(c.Within, 30*ms), "%s: offset %v", tt.name, c.Offset)
	}
}

func TestSiteClockSinceOpening(t *testing.T) {
	t.Parallel()
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC) // site clock
	// The site is 0.3 s ahead: a submit sent 297 ms before the opening on
	// the local clock was sent 3 ms after it on the site's.
	c := SiteClock{Offset: 300 * time.Millisecond, Within: 4 * time.Millisecond, Samples: 14, Bounded: true}
	require.Equal(t, 3.0, c.SinceOpening(opens.Add(-297*time.Millisecond), opens))
	require.Equal(t, -297.0, SiteClock{}.SinceOpening(opens.Add(-297*time.Millisecond), opens), "unknown: the local clock")

	tests := []struct {
		c    SiteClock
		want string
	}{
		{c, "site clock ≈ local +0.300 s ±0.004 s (from 14 Date headers)"},
		{SiteClock{Offset: -1200 * time.Millisecond, Within: 500 * time.Millisecond, Samples: 1, Bounded: true}, "site clock ≈ local -1.200 s ±0.500 s (from 1 Date header)"},
		{SiteClock{Offset: 300 * time.Millisecond, Within: 500 * time.Millisecond, Samples: 4}, "site clock ≈ local +0.300 s ±0.500 s (median of 4 Date headers, which disagree on a tighter bound)"},
		{SiteClock{}, "site clock unknown (no Date headers): times are on the local clock"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.c.String())
	}
}

// SiteClockFor prefers the daemon's measurement unless the Date headers
// bound the offset more tightly; without one it is SiteClockOf.
func TestSiteClockFor(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	local0 := time.Date(2026, 11, 25, 0, 59, 0, 0, time.UTC)
	d := local0.Add(1800 * ms).Truncate(time.Second)
	rows := []Attempt{{SentAt: local0, LatencyUS: 2000, SiteDate: &d}} // one header: ±0.5 s
	us := func(d time.Duration) *int64 { v := d.Microseconds(); return &v }
	measured := &Booking{ClockOffsetUS: us(1700 * ms), ClockWithinUS: us(2 * ms)}

	c := SiteClockFor(measured, rows)
	require.True(t, c.Measured)
	require.Equal(t, 1700*ms, c.Offset)
	require.Equal(t, 2*ms, c.Within)
	require.Equal(t, "site clock = local +1.700 s ±0.002 s (measured by the daemon for the opening)", c.String())

	loose := &Booking{ClockOffsetUS: us(1700 * ms), ClockWithinUS: us(900 * ms)}
	require.False(t, SiteClockFor(loose, rows).Measured, "the Date headers are tighter")
	require.Equal(t, SiteClockOf(rows), SiteClockFor(&Booking{}, rows), "nothing measured")
	require.True(t, SiteClockFor(measured, nil).Measured, "no Date headers at all")
}
