package clocksync

import (
	"context"
	"sync"
	"time"
)

// Gate lets many goroutines wait for the same instant with one precise
// wait. A thousand bookings of one site fire at one local instant (one
// clock estimate, one margin); each waiting on its own would put a
// thousand goroutines into the kernel's sleep for the last milliseconds,
// each on an OS thread of its own, and wake them on two cores in turn. At
// a gate one goroutine waits precisely and the others are released
// together when it closes a channel. The zero value waits on the real
// clock.
type Gate struct {
	// Clock reads the local time (nil: the real clock).
	Clock Clock

	mu    sync.Mutex
	waits map[int64]*gateWait // by the instant's UnixNano
}

type gateWait struct {
	done    chan struct{}
	waiters int
	cancel  context.CancelFunc
}

// WaitUntil waits like the package's WaitUntil on g.Clock, sharing the
// wait with the other callers waiting for the same instant. The shared
// wait ends when its last waiter has left.
func (g *Gate) WaitUntil(ctx context.Context, t time.Time) error {
	c := clockOrReal(g.Clock)
	if err := ctx.Err(); err != nil {
		return err
	}
	k := t.UnixNano()
	g.mu.Lock()
	if g.waits == nil {
		g.waits = map[int64]*gateWait{}
	}
	w := g.waits[k]
	if w == nil {
		wctx, cancel := context.WithCancel(context.Background())
		w = &gateWait{done: make(chan struct{}), cancel: cancel}
		g.waits[k] = w
		go func() {
			_ = WaitUntil(wctx, c, t)
			g.mu.Lock()
			if g.waits[k] == w {
				delete(g.waits, k)
			}
			g.mu.Unlock()
			close(w.done)
		}()
	}
	w.waiters++
	g.mu.Unlock()

	select {
	case <-w.done:
		g.leave(k, w)
		if !c.Now().Before(t) {
			return nil
		}
		return ctx.Err() // the shared wait was cancelled: the waiters all left
	case <-ctx.Done():
		g.leave(k, w)
		return ctx.Err()
	}
}

// leave drops one waiter; the last one to leave before the instant ends
// the shared wait.
func (g *Gate) leave(k int64, w *gateWait) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w.waiters--
	if w.waiters == 0 {
		w.cancel()
		if g.waits[k] == w {
			delete(g.waits, k) // a later caller starts a new wait
		}
	}
}
