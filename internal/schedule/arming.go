package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/metrics"
)

// scan claims bookings whose pre-warm is near, and expired leases.
func (d *Daemon) scan(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	horizon := now.Add(d.cfg.Lead + 2*d.cfg.ScanEvery + 5*time.Second)
	ids, err := d.cfg.Store.Claimable(ctx, now, horizon, ClaimBatchDefault)
	if err != nil {
		d.log.Warn("arming scan failed", zap.Error(err))
		return
	}
	for _, id := range ids {
		d.mu.Lock()
		_, mine := d.runs[id]
		stopping, pending := d.stopping, d.unjournaled[id]
		yielded := d.yielded[id].After(now)
		d.mu.Unlock()
		if stopping {
			return
		}
		if mine || pending || yielded {
			continue
		}
		b, err := d.cfg.Store.Claim(ctx, id, d.cfg.Instance, now, now.Add(d.cfg.LeaseTTL))
		if errors.Is(err, booking.ErrConflict) {
			continue // another instance was faster
		}
		if err != nil {
			d.log.Warn("claim failed", zap.Int64("booking", id), zap.Error(err))
			continue
		}
		if b.TakenOver {
			metrics.LeaseTakeover()
			d.log.Info("lease taken over", zap.Int64("booking", b.ID), zap.String("state", string(b.State)))
		}
		if !d.arm(ctx, b, now) {
			// Stop began between the claim and now: hand it back.
			if err := d.cfg.Store.Release(context.WithoutCancel(ctx), b.ID, d.cfg.Instance); err != nil {
				d.log.Warn("release lease", zap.Int64("booking", b.ID), zap.Error(err))
			}
			return
		}
	}
}

// arm registers a claimed booking and starts its run, which waits for its
// pre-warm instant on a timer of its own. False when the daemon is stopping.
func (d *Daemon) arm(ctx context.Context, b *booking.Booking, now time.Time) bool {
	r := newRun(d, b, now)
	d.mu.Lock()
	if d.stopping {
		d.mu.Unlock()
		r.cancel()
		return false
	}
	d.runs[b.ID] = r
	d.wg.Add(1)
	d.mu.Unlock()

	// opens_at is on the site's clock: with a recent estimate of it, the
	// pre-warm starts a full lead before the opening as the site sees it.
	r.prewarmAt = b.OpensAt.Add(-d.cfg.Lead)
	if est, ok := d.clocks.known(b.Site, clockMaxAge); ok {
		r.prewarmAt = est.SiteToLocal(b.OpensAt).Add(-d.cfg.Lead)
	}
	r.log.Info("booking armed", zap.String("state", string(b.State)), zap.Time("opens_at", b.OpensAt), zap.Time("prewarm_at", r.prewarmAt))
	d.event(b.ID, fmt.Sprintf("armed: opens at %s (site clock), pre-warm at %s", b.OpensAt.Format(time.RFC3339Nano), r.prewarmAt.Format("15:04:05")))
	go r.main()
	return true
}
