package schedule

import (
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// oneShot is a cron.Schedule that fires once, at a given instant, and never
// again: Next returns the zero time after it fired, which cron treats as
// "not scheduled".
type oneShot struct {
	mu    sync.Mutex
	at    time.Time
	fired bool
}

var _ cron.Schedule = (*oneShot)(nil)

func (s *oneShot) Next(now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fired {
		return time.Time{}
	}
	s.fired = true
	if s.at.Before(now) {
		// Already due: cron runs an entry when its Next is not after now.
		return now
	}
	return s.at
}

// timers wraps a cron.Cron so that its types do not leak: it runs periodic
// functions and one-shot functions at an instant.
type timers struct {
	c *cron.Cron
}

func newTimers(loc *time.Location, logger cron.Logger) *timers {
	return &timers{c: cron.New(
		cron.WithSeconds(),
		cron.WithLocation(loc),
		cron.WithLogger(logger),
		cron.WithChain(cron.Recover(logger)),
	)}
}

// Every runs fn every d, without overlapping runs of fn.
func (t *timers) Every(d time.Duration, fn func()) {
	t.c.Schedule(cron.Every(d), cron.NewChain(cron.SkipIfStillRunning(cron.DiscardLogger)).Then(cron.FuncJob(fn)))
}

// At runs fn once at (or just after) the instant at.
func (t *timers) At(at time.Time, fn func()) {
	var id cron.EntryID
	var mu sync.Mutex
	mu.Lock()
	id = t.c.Schedule(&oneShot{at: at}, cron.FuncJob(func() {
		mu.Lock()
		self := id
		mu.Unlock()
		t.c.Remove(self)
		fn()
	}))
	mu.Unlock()
}

func (t *timers) Start() { t.c.Start() }

// Stop stops scheduling and waits for running jobs to return.
func (t *timers) Stop() { <-t.c.Stop().Done() }
