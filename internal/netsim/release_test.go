package netsim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReleaseAt(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name              string
		prev, floor, read time.Time
		delay             time.Duration
		want              time.Time
	}{
		{"its own delay after the read", time.Time{}, time.Time{}, ms(0), 15 * time.Millisecond, ms(15)},
		{"after a chunk released earlier", ms(10), time.Time{}, ms(5), 15 * time.Millisecond, ms(20)},
		{"never before the chunk ahead (FIFO)", ms(40), time.Time{}, ms(5), 15 * time.Millisecond, ms(40)},
		{"a chunk released at the same instant as the one ahead", ms(20), time.Time{}, ms(5), 15 * time.Millisecond, ms(20)},
		{"the handshake floor holds the first chunk back", time.Time{}, ms(35), ms(1), 15 * time.Millisecond, ms(35)},
		{"a floor already passed costs nothing", time.Time{}, ms(35), ms(30), 15 * time.Millisecond, ms(45)},
		{"zero delay", ms(3), time.Time{}, ms(7), 0, ms(7)},
		{"a negative delay counts as zero", time.Time{}, time.Time{}, ms(7), -time.Millisecond, ms(7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, releaseAt(tt.prev, tt.floor, tt.read, tt.delay))
		})
	}
}

func TestReleaseAtKeepsOrderUnderJitter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	// Reads 1 ms apart with a delay jittered over [5, 25] ms: the draws
	// alone would reorder them; the releases must not.
	draws := []float64{0.99, 0, 0.5, 0.01, 0.98, 0.2}
	var prev time.Time
	for i, u := range draws {
		read := t0.Add(time.Duration(i) * time.Millisecond)
		d := drawDelay(15*time.Millisecond, 10*time.Millisecond, u)
		at := releaseAt(prev, time.Time{}, read, d)
		require.False(t, at.Before(prev), "chunk %d overtakes the one ahead", i)
		require.False(t, at.Before(read.Add(5*time.Millisecond)), "chunk %d released under the least delay", i)
		prev = at
	}
}

func TestDrawDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		d, jitter time.Duration
		u         float64
		want      time.Duration
	}{
		{"no jitter", 15 * time.Millisecond, 0, 0.7, 15 * time.Millisecond},
		{"lowest draw", 15 * time.Millisecond, 5 * time.Millisecond, 0, 10 * time.Millisecond},
		{"middle draw", 15 * time.Millisecond, 5 * time.Millisecond, 0.5, 15 * time.Millisecond},
		{"highest draw", 15 * time.Millisecond, 5 * time.Millisecond, 1, 20 * time.Millisecond},
		{"jitter as large as the delay reaches zero", 5 * time.Millisecond, 5 * time.Millisecond, 0, 0},
		{"clamped at zero", 2 * time.Millisecond, 5 * time.Millisecond, 0, 0},
		{"u out of range is clamped", 15 * time.Millisecond, 5 * time.Millisecond, 3, 20 * time.Millisecond},
		{"negative delay counts as zero", -time.Millisecond, 0, 0.5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, drawDelay(tt.d, tt.jitter, tt.u))
		})
	}
}

func TestDrawDelayStaysWithinTheJitter(t *testing.T) {
	t.Parallel()
	d, j := 20*time.Millisecond, 7*time.Millisecond
	for i := range 1000 {
		got := drawDelay(d, j, float64(i)/1000)
		require.GreaterOrEqual(t, got, d-j)
		require.LessOrEqual(t, got, d+j)
	}
}

func TestHandshakeFloor(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	// SYN up, SYN-ACK down, then the first byte up.
	require.Equal(t, t0.Add(35*time.Millisecond), handshakeFloor(t0, 15*time.Millisecond, 5*time.Millisecond))
	require.Equal(t, t0, handshakeFloor(t0, 0, 0))
}
