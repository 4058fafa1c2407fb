package schedule

import (
	"time"

	"github.com/robfig/cron/v3"
)

// periodic wraps a cron.Cron so that its types do not leak. It runs the
// daemon's periodic work only (arming scan, heartbeats, journal replay);
// the timers of one booking belong to its run.
type periodic struct {
	c *cron.Cron
}

type entryID = cron.EntryID

func newPeriodic(loc *time.Location, logger cron.Logger) *periodic {
	return &periodic{c: cron.New(
		cron.WithSeconds(),
		cron.WithLocation(loc),
		cron.WithLogger(logger),
		cron.WithChain(cron.Recover(logger)),
	)}
}

// Every runs fn every d (at least a second), without overlapping runs of fn.
func (p *periodic) Every(d time.Duration, fn func()) entryID {
	return p.c.Schedule(cron.Every(d), cron.NewChain(cron.SkipIfStillRunning(cron.DiscardLogger)).Then(cron.FuncJob(fn)))
}

// Remove stops scheduling one entry; a run of it in progress goes on.
func (p *periodic) Remove(id entryID) { p.c.Remove(id) }

func (p *periodic) Start() { p.c.Start() }

// Stop stops scheduling and waits for running jobs to return.
func (p *periodic) Stop() { <-p.c.Stop().Done() }
