package schedule

import (
	"context"
	"time"

	"go.uber.org/zap"

	"reserver/internal/booking"
)

// heartbeat renews the leases of the bookings this instance holds. A
// booking whose lease could not be renewed is re-claimed if nobody else
// took it; otherwise its run is cancelled (it finished elsewhere or was
// taken over). It goes on through Stop's grace period, so that nobody
// claims a booking whose window still runs here.
func (d *Daemon) heartbeat(ctx context.Context) {
	d.mu.Lock()
	ids := make([]int64, 0, len(d.runs))
	for id := range d.runs {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	now := time.Now()
	until := now.Add(d.cfg.LeaseTTL)
	held, err := d.cfg.Store.Renew(ctx, d.cfg.Instance, ids, now, until)
	if err != nil {
		d.log.Warn("lease heartbeat failed; runs stop sending when their lease ends", zap.Error(err))
		return
	}
	kept := make(map[int64]bool, len(held))
	for _, id := range held {
		kept[id] = true
	}
	for _, id := range ids {
		d.mu.Lock()
		r := d.runs[id]
		d.mu.Unlock()
		if r == nil || r.finished.Load() {
			continue // finishing: its terminal state ended the lease
		}
		if kept[id] {
			r.lease.set(until)
			continue
		}
		// Expired while the database was away, and nobody else took it?
		if b, err := d.cfg.Store.Claim(ctx, id, d.cfg.Instance, now, until); err == nil && (b.State == booking.Armed || b.State == booking.Running) {
			r.lease.set(until)
			continue
		}
		r.log.Warn("lease lost (finished elsewhere or taken over): stopping this run")
		r.cancel()
	}
}

// pollCancels asks the database every CancelPoll for cancel requests of
// the bookings this instance holds and hands each to its run, which
// honours it before its next request.
func (d *Daemon) pollCancels() {
	defer d.bg.Done()
	t := time.NewTicker(d.cfg.CancelPoll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-d.bgStop:
			return
		case <-t.C:
		}
		if d.Running() == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(d.runCtx, 5*time.Second)
		ids, err := d.cfg.Store.CancelRequests(ctx, d.cfg.Instance)
		cancel()
		if err != nil {
			if !failing {
				d.log.Warn("cancel poll failed", zap.Error(err))
			}
			failing = true
			continue
		}
		failing = false
		for _, id := range ids {
			d.mu.Lock()
			r := d.runs[id]
			d.mu.Unlock()
			if r != nil {
				r.requestCancel()
			}
		}
	}
}
