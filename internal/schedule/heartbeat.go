package schedule

import (
	"context"
	"os"
	"time"

	"go.uber.org/zap"

	"reserver/internal/booking"
)

// heartbeat first records that this instance is alive (its instances
// row, written even when it holds nothing, so that `reserver status`
// counts an idle daemon), then renews the leases of the bookings it
// holds. A booking whose lease could not be renewed is re-claimed if
// nobody else took it; otherwise its run is cancelled (it finished
// elsewhere or was taken over). It goes on through Stop's grace period, so
// that nobody claims a booking whose window still runs here.
func (d *Daemon) heartbeat(ctx context.Context) {
	d.beat(ctx, time.Now())
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
	d.yieldAccounts(ctx, now)
}

// yieldAccounts gives back the bookings whose site account another
// instance runs (booking.HeldElsewhere), while their run still waits for
// its pre-warm: the account's bookings share one session, and the instance
// running the account claims them on its next scan. A run that started
// keeps its booking.
func (d *Daemon) yieldAccounts(ctx context.Context, now time.Time) {
	ids, err := d.cfg.Store.HeldElsewhere(ctx, d.cfg.Instance, now)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("could not check which instance runs each site account", zap.Error(err))
		}
		return
	}
	for _, id := range ids {
		d.mu.Lock()
		r := d.runs[id]
		d.mu.Unlock()
		if r == nil {
			continue
		}
		r.requeue.Store(true)
		if !r.release() {
			continue // its pre-warm started: it keeps the booking
		}
		d.mu.Lock()
		d.yielded[id] = now.Add(d.cfg.LeaseTTL)
		for k, until := range d.yielded {
			if !until.After(now) {
				delete(d.yielded, k)
			}
		}
		d.mu.Unlock()
		r.log.Info("another instance runs this booking's site account: given back to it")
		d.event(id, "given back: another instance runs this site account (one session per account)")
	}
}

// beat writes this instance's heartbeat row. A failed beat only makes the
// instance look gone to `reserver status` until the next one: it is
// logged, and the leases are renewed all the same.
func (d *Daemon) beat(ctx context.Context, now time.Time) {
	host, _ := os.Hostname()
	err := d.cfg.Store.Beat(ctx, booking.Beat{Name: d.cfg.Instance, Boot: d.boot, Host: host, Every: d.cfg.Heartbeat, Now: now})
	if err != nil && ctx.Err() == nil {
		d.log.Warn("instance heartbeat failed; reserver status may show this instance as gone", zap.Error(err))
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
