package backoff

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDelay(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Cap: time.Second}
	for _, tc := range []struct {
		tries int
		r     float64
		want  time.Duration
	}{
		{1, 0, 50 * time.Millisecond},
		{1, 0.999999, 100 * time.Millisecond},
		{2, 0, 100 * time.Millisecond},
		{3, 0.5, 300 * time.Millisecond},
		{4, 0, 400 * time.Millisecond},
		{5, 0, 500 * time.Millisecond}, // capped at 1 s
		{50, 1, time.Second},
		{0, 0, 50 * time.Millisecond},
		{1, -3, 50 * time.Millisecond},
	} {
		require.InDelta(t, float64(tc.want), float64(p.Delay(tc.tries, tc.r)), float64(time.Microsecond), "tries %d r %v", tc.tries, tc.r)
	}
	require.Equal(t, 500*time.Microsecond, Policy{}.Delay(1, 0), "a zero policy still waits")

	// The outbox relay's policy (notify: 5 s, at most 5 min).
	relay := Policy{Base: 5 * time.Second, Cap: 5 * time.Minute}
	for _, c := range []struct {
		tries    int
		r        float64
		min, max time.Duration
	}{
		{7, 0, 150 * time.Second, 150 * time.Second},        // 320 s capped at 300 s, half fixed
		{7, 0.999999, 150 * time.Second, 300 * time.Second}, // never above the cap
		{60, 0.5, 225 * time.Second, 225 * time.Second},     // no overflow for many tries
		{2, 7, 10 * time.Second, 10 * time.Second},          // r clamped to 1
	} {
		got := relay.Delay(c.tries, c.r)
		require.GreaterOrEqual(t, got, c.min, "tries %d r %v", c.tries, c.r)
		require.LessOrEqual(t, got, c.max, "tries %d r %v", c.tries, c.r)
	}
}

func TestRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := Policy{Base: 100 * time.Millisecond, Cap: time.Second}
		boom := errors.New("boom")
		n := 0
		start := time.Now()
		err := Retry(t.Context(), p, func(context.Context) error {
			n++
			if n < 4 {
				return boom
			}
			return nil
		}, nil)
		require.NoError(t, err)
		require.Equal(t, 4, n)
		require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond+100*time.Millisecond+200*time.Millisecond)

		n = 0
		err = Retry(t.Context(), p, func(context.Context) error { n++; return Permanent(boom) }, nil)
		require.Equal(t, boom, err, "a permanent error is returned unwrapped, at once")
		require.Equal(t, 1, n)

		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start = time.Now()
		err = Retry(ctx, p, func(context.Context) error { return boom }, nil)
		require.ErrorIs(t, err, boom)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 2*time.Second, time.Since(start), "bounded by the context")
	})
}
