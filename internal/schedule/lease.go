package schedule

import (
	"context"
	"sync"
	"time"
)

// fenceMargin: a run sends no request later than this before its lease
// ends unless the lease was renewed (self-fencing). It is checked after
// every wait, immediately before a request goes on the wire, and covers the
// time the request takes to leave: a takeover by another instance, which
// can only start once the lease has ended, never overlaps one of our
// requests.
const fenceMargin = time.Second

// lease is this instance's hold on one booking as far as the run knows:
// the heartbeat renews it, the run checks it before every request.
type lease struct {
	mu      sync.Mutex
	until   time.Time
	renewed chan struct{} // closed and replaced at every renewal
}

func newLease(until time.Time) *lease {
	return &lease{until: until, renewed: make(chan struct{})}
}

// set records a renewal until the given instant.
func (l *lease) set(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.until) {
		l.until = until
	}
	close(l.renewed)
	l.renewed = make(chan struct{})
}

// valid reports whether a request may leave at now.
func (l *lease) valid(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return now.Before(l.until.Add(-fenceMargin))
}

// Until is the end of the lease as last renewed.
func (l *lease) Until() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until
}

// await waits for the next renewal (or ctx's end, or at most max).
func (l *lease) await(ctx context.Context, max time.Duration) error {
	l.mu.Lock()
	ch := l.renewed
	l.mu.Unlock()
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-ch:
	case <-t.C:
	}
	return nil
}
