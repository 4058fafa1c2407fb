package clocksync

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// Many waiters of one instant are released at that instant by one shared
// wait; a waiter whose context ends leaves alone; when every waiter has
// left, the shared wait ends too (no goroutine is left behind); a later
// instant gets a wait of its own.
func TestGateReleasesEveryWaiterAtTheInstant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Gate
		at := time.Now().Add(10 * time.Second)
		var wg sync.WaitGroup
		woke := make([]time.Time, 50)
		for i := range woke {
			wg.Go(func() {
				require.NoError(t, g.WaitUntil(context.Background(), at))
				woke[i] = time.Now()
			})
		}
		ctx, cancel := context.WithCancel(context.Background())
		left := make(chan error, 1)
		go func() { left <- g.WaitUntil(ctx, at) }()
		time.Sleep(time.Second)
		cancel()
		require.ErrorIs(t, <-left, context.Canceled)
		require.Equal(t, 1, g.pending(), "one shared wait for the instant")
		wg.Wait()
		for _, w := range woke {
			require.True(t, w.Equal(at), "woke at %v, not at the instant", w)
		}
		synctest.Wait()
		require.Zero(t, g.pending())

		// All waiters leave: the shared wait's goroutine ends before the instant.
		ctx2, cancel2 := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- g.WaitUntil(ctx2, time.Now().Add(time.Hour)) }()
		synctest.Wait()
		cancel2()
		require.ErrorIs(t, <-done, context.Canceled)
		synctest.Wait() // the bubble ends only when every goroutine has
		require.Zero(t, g.pending())
	})
}

func (g *Gate) pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waits)
}
