package schedule

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"

	"reserver/internal/backoff"
	"reserver/internal/booking"
)

// attemptLog writes attempt rows off the hot path, in batches. Rows the
// database does not take (it is down) stay queued and are written when it
// answers again; none is dropped while the process lives.
type attemptLog struct {
	store   *booking.Store
	log     *zap.Logger
	every   time.Duration
	mu      sync.Mutex
	pending []booking.Attempt
	kick    chan struct{}
	stopped chan struct{}
	stop    chan struct{}
	failing bool
}

const (
	attemptFlushEvery = 200 * time.Millisecond
	attemptBatch      = 500
	attemptBackoffMax = 5 * time.Second
)

func newAttemptLog(store *booking.Store, log *zap.Logger) *attemptLog {
	return &attemptLog{
		store: store, log: log, every: attemptFlushEvery,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}),
	}
}

// Add queues a row; it never blocks on the database.
func (l *attemptLog) Add(a booking.Attempt) {
	l.mu.Lock()
	l.pending = append(l.pending, a)
	n := len(l.pending)
	l.mu.Unlock()
	if n >= attemptBatch {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Pending is the number of rows not yet written.
func (l *attemptLog) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

func (l *attemptLog) run() {
	defer close(l.stopped)
	retry := backoff.Policy{Base: 2 * l.every, Cap: attemptBackoffMax}
	failures := 0
	timer := time.NewTimer(l.every)
	defer timer.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
		case <-timer.C:
		}
		// The next flush is due one period after this one STARTED, so a
		// row waits at most the period plus one write, not the period
		// plus two writes (it bounds what a SIGKILL loses).
		start := time.Now()
		wait := l.every
		if err := l.flush(context.Background()); err != nil {
			failures++
			wait = retry.Delay(failures, rand.Float64())
		} else {
			failures = 0
			wait = max(l.every-time.Since(start), 0)
		}
		timer.Reset(wait)
	}
}

// flush writes what is queued, in batches, keeping what failed.
func (l *attemptLog) flush(ctx context.Context) error {
	for {
		l.mu.Lock()
		n := min(len(l.pending), attemptBatch)
		batch := append([]booking.Attempt(nil), l.pending[:n]...)
		l.mu.Unlock()
		if n == 0 {
			return nil
		}
		if err := l.store.AddAttempts(ctx, batch); err != nil {
			if !l.failing {
				l.log.Warn("attempt log: database unavailable, keeping rows to write later", zap.Int("pending", l.Pending()), zap.Error(err))
			}
			l.failing = true
			return err
		}
		if l.failing {
			l.log.Info("attempt log: database back, rows written", zap.Int("rows", n))
			l.failing = false
		}
		l.mu.Lock()
		l.pending = l.pending[n:]
		l.mu.Unlock()
	}
}

// Close stops the writer and tries to write what is left until ctx ends.
func (l *attemptLog) Close(ctx context.Context) {
	close(l.stop)
	<-l.stopped
	for {
		if err := l.flush(ctx); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			l.log.Error("attempt log: rows not written at shutdown", zap.Int("rows", l.Pending()))
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}
