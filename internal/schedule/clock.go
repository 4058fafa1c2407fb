package schedule

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"reserver/internal/clocksync"
	"reserver/internal/metrics"
	"reserver/internal/session"
)

// Ages of clock estimates: the pre-warm takes one younger than
// clockMaxAge; clockRemeasureAt before the fire (with the default 60 s
// lead, 20 s after the pre-warm's measurement) the clock is measured again
// unless an estimate younger than clockFreshAtFire exists, so the estimate
// used at the opening is at most about 40 s old.
const (
	clockMaxAge      = 60 * time.Second
	clockRemeasureAt = 40 * time.Second
	clockFreshAtFire = 15 * time.Second
)

// clockCache keeps one clock estimate per site, shared by the bookings of
// the site so that a thousand bookings opening together probe the site once.
type clockCache struct {
	log   *zap.Logger
	mu    sync.Mutex
	sites map[string]*siteClock
}

type siteClock struct {
	// turn is a one-slot semaphore held while measuring, so that one
	// measurement per site runs at a time; waiting on it respects the
	// caller's context (a mutex would not).
	turn chan struct{}
	est  clocksync.Estimate
	ok   bool
}

func newClockCache(log *zap.Logger) *clockCache {
	return &clockCache{log: log, sites: map[string]*siteClock{}}
}

// sessionProber probes the site through a booking's session
// (session.Session.Prober, the prober `reserver check` uses too), so probes
// travel the same connections and egress as the submits they time; wait
// runs before each probe.
type sessionProber struct {
	s    *session.Session
	wait func(context.Context) error
}

func (p sessionProber) Probe(ctx context.Context) (clocksync.Sample, error) {
	return p.s.Prober(p.wait).Probe(ctx)
}

// estimate returns an estimate of the site's clock younger than maxAge,
// measuring it with p if the cached one is missing or older.
func (c *clockCache) estimate(ctx context.Context, site string, p clocksync.Prober, minSpacing, maxAge time.Duration) (clocksync.Estimate, error) {
	c.mu.Lock()
	sc, ok := c.sites[site]
	if !ok {
		sc = &siteClock{turn: make(chan struct{}, 1)}
		c.sites[site] = sc
	}
	c.mu.Unlock()

	select {
	case sc.turn <- struct{}{}:
	case <-ctx.Done():
		return clocksync.Estimate{}, ctx.Err()
	}
	defer func() { <-sc.turn }()
	if sc.ok && time.Since(sc.est.At) < maxAge {
		return sc.est, nil
	}
	est, err := clocksync.Measure(ctx, p, clocksync.Config{MinSpacing: minSpacing})
	if err != nil {
		return est, err
	}
	sc.est, sc.ok = est, true
	metrics.ClockOffset(site, est.Offset.Seconds())
	c.log.Info("site clock measured", zap.String("site", site),
		zap.Duration("offset", est.Offset), zap.Duration("uncertainty", est.Uncertainty),
		zap.Duration("precision", est.Precision), zap.Duration("rtt", est.RTT), zap.Duration("spread", est.Spread), zap.Int("probes", est.Probes))
	return est, nil
}

// known returns the site's last estimate, if one was made within maxAge,
// without measuring.
func (c *clockCache) known(site string, maxAge time.Duration) (clocksync.Estimate, bool) {
	c.mu.Lock()
	sc, ok := c.sites[site]
	c.mu.Unlock()
	if !ok {
		return clocksync.Estimate{}, false
	}
	select {
	case sc.turn <- struct{}{}:
		defer func() { <-sc.turn }()
	default:
		return clocksync.Estimate{}, false // being measured right now
	}
	if sc.ok && time.Since(sc.est.At) < maxAge {
		return sc.est, true
	}
	return clocksync.Estimate{}, false
}

// recordClock stores the clock estimate the run aimed by, so that the
// review tools place its attempts on the site's clock as precisely. It is
// best effort: without it they estimate from the attempts' Date headers.
func (r *run) recordClock() {
	if r.est.Probes == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 2*time.Second)
	defer cancel()
	if err := r.d.cfg.Store.RecordClock(ctx, r.b.ID, r.est.Offset, r.est.Uncertainty); err != nil {
		r.log.Warn("recording the site clock estimate failed", zap.Error(err))
	}
	if !r.fire.IsZero() {
		if err := r.d.cfg.Store.RecordFire(ctx, r.b.ID, r.fire); err != nil {
			r.log.Warn("recording the planned fire instant failed", zap.Error(err))
		}
	}
}
