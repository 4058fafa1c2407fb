package clocksync

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWaitUntilInBubble(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   time.Duration // target relative to now
	}{
		{name: "long", in: 1500 * time.Millisecond},
		{name: "just over the spin", in: coarseSpin + time.Microsecond},
		{name: "inside the spin", in: 700 * time.Microsecond},
		{name: "inside the tail", in: 20 * time.Microsecond},
		{name: "now", in: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				target := time.Now().Add(tt.in)
				require.NoError(t, WaitUntil(t.Context(), nil, target))
				require.Equal(t, target, time.Now())
			})
		})
	}
}

func TestWaitUntilPast(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		require.NoError(t, WaitUntil(t.Context(), RealClock(), start.Add(-time.Hour)))
		require.Equal(t, start, time.Now())
	})
}

func TestWaitUntilCancelled(t *testing.T) {
	t.Parallel()
	t.Run("while waiting", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := WaitUntil(ctx, nil, start.Add(time.Minute))
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Equal(t, 250*time.Millisecond, time.Since(start))
		})
	})
	t.Run("before the call", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		start := time.Now()
		err := WaitUntil(ctx, nil, start.Add(time.Minute))
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), time.Second)
	})
	t.Run("during the final spin", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 999*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := WaitUntil(ctx, nil, start.Add(time.Second))
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.LessOrEqual(t, time.Since(start), time.Second)
		})
	})
}

// TestWaitUntilRealClock checks, on the real clock, that the kernel sleep
// and the final yield never return early. How late they are is measured by
// BenchmarkWaitUntil, not asserted here.
func TestWaitUntilRealClock(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, 100 * time.Microsecond, 1500 * time.Microsecond, 2 * time.Millisecond, 7 * time.Millisecond} {
		target := time.Now().Add(d)
		require.NoError(t, WaitUntil(t.Context(), nil, target))
		require.False(t, time.Now().Before(target), "returned before %v", d)
	}
}

func TestOSClock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		require.False(t, osClock(time.Now()), "a synctest bubble's clock is not the kernel's")
	})
	require.False(t, osClock(time.Now().Add(time.Hour)))
	require.False(t, osClock(time.Unix(0, 0)))
}
