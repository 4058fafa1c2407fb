// Package schedule is the reserver daemon: it claims bookings from the
// database with a lease, wakes each one before its opening instant,
// pre-warms a site session, measures the site's clock, fires the first
// submit so that it arrives at the opening instant on the site's clock, and
// keeps trying at the booking's rate until it wins, loses or the window
// closes. Periodic work (the arming scan, lease heartbeats) runs on
// robfig/cron; each booking runs in its own goroutine.
//
// It does not own the booking model (booking), the HTTP exchange with a
// site (session), the clock estimate (clocksync) or notifications (it only
// writes outbox rows).
package schedule

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"reserver/internal/booking"
	"reserver/internal/ippool"
	"reserver/internal/metrics"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// Defaults of Config.
const (
	LeadDefault        = 60 * time.Second
	MarginDefault      = time.Millisecond
	LeaseTTLDefault    = 10 * time.Second
	HeartbeatDefault   = 2 * time.Second
	ScanEveryDefault   = 2 * time.Second
	GraceDefault       = 30 * time.Second
	HostCeilingDefault = 50.0
	ClaimBatchDefault  = 200
)

// Config configures a Daemon.
type Config struct {
	Store    *booking.Store
	Profiles map[string]*profile.Profile
	// Egress is the pool of routes to the sites (direct, source addresses,
	// proxies); default one direct egress whose per-host ceiling is
	// HostCeiling.
	Egress *ippool.Pool
	// Transport, when Egress is nil, replaces the default egress's own
	// transport (in-process tests).
	Transport http.RoundTripper
	Logger    *zap.Logger
	// Instance names this process in leases and attempt rows; default
	// host-pid-random, unique per process.
	Instance string
	// Lead is how long before the opening instant the pre-warm starts.
	Lead time.Duration
	// Margin: the first submit arrives this long after the opening instant.
	Margin time.Duration
	// LeaseTTL is the lease length; Heartbeat renews leases (< LeaseTTL).
	LeaseTTL  time.Duration
	Heartbeat time.Duration
	// ScanEvery is the period of the arming scan.
	ScanEvery time.Duration
	// Grace: on Stop, running windows continue this long before they are
	// cancelled and their leases released.
	Grace time.Duration
	// HostCeiling is the most requests per second sent to one site host by
	// this instance, over all bookings.
	HostCeiling float64
	// NotifyFailed also writes a "failed" outbox row when a window closes.
	NotifyFailed bool
	// Events, if set, receives a line per notable event of a booking (the
	// demo prints them).
	Events func(Event)
	// Naive runs bookings as a simple bot would — local clock, no pre-warm
	// — for comparison in benchmarks only.
	Naive bool
}

// Event is a notable moment of a booking's run, for people watching.
type Event struct {
	BookingID int64
	At        time.Time
	What      string
}

// Daemon runs bookings.
type Daemon struct {
	cfg      Config
	log      *zap.Logger
	pool     *session.Pool
	attempts *attemptLog
	clocks   *clockCache

	mu      sync.Mutex
	runs    map[int64]*run
	started bool
	stopped bool
	hosts   map[string]*rate.Limiter

	// transports holds one connection pool per (account, egress): a
	// session keeps its warm connections for the opening instant.
	transports map[string]http.RoundTripper

	timers    *timers
	runCtx    context.Context
	cancelRun context.CancelFunc
	wg        sync.WaitGroup
	seq       int64
	seqMu     sync.Mutex
}

// New validates cfg and builds a Daemon; Start starts it.
func New(cfg Config) (*Daemon, error) {
	if cfg.Store == nil {
		return nil, errors.New("schedule: Store is required")
	}
	if len(cfg.Profiles) == 0 {
		return nil, errors.New("schedule: no site profiles: put at least one in the sites directory")
	}
	cfg.Lead = cmp.Or(cfg.Lead, LeadDefault)
	cfg.Margin = cmp.Or(cfg.Margin, MarginDefault)
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, LeaseTTLDefault)
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, HeartbeatDefault)
	cfg.ScanEvery = cmp.Or(cfg.ScanEvery, ScanEveryDefault)
	cfg.Grace = cmp.Or(cfg.Grace, GraceDefault)
	cfg.HostCeiling = cmp.Or(cfg.HostCeiling, HostCeilingDefault)
	if cfg.Heartbeat >= cfg.LeaseTTL {
		return nil, fmt.Errorf("schedule: heartbeat %v must be shorter than the lease TTL %v", cfg.Heartbeat, cfg.LeaseTTL)
	}
	if cfg.Heartbeat < time.Second || cfg.ScanEvery < time.Second {
		return nil, errors.New("schedule: heartbeat and scan period must be at least 1s")
	}
	if cfg.Instance == "" {
		cfg.Instance = defaultInstance()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	log := cfg.Logger.With(zap.String("instance", cfg.Instance))
	if cfg.Egress == nil {
		pc := ippool.Config{HostCeilingPerEgress: cfg.HostCeiling, MaxIdleConnsPerHost: 4096, Logger: log,
			OnStateChange: func(egress, host, _, to string) { metrics.BreakerState(egress, host, to) }}
		var err error
		if cfg.Transport != nil {
			cfg.Egress, err = ippool.NewWithTransports(pc, func(ippool.EgressConfig) http.RoundTripper { return cfg.Transport })
		} else {
			cfg.Egress, err = ippool.New(pc)
		}
		if err != nil {
			return nil, err
		}
	}
	first := cfg.Egress.Egresses()[0]
	d := &Daemon{
		cfg:   cfg,
		log:   log,
		pool:  session.NewPool(session.PoolConfig{Transport: first.Transport()}),
		runs:  map[int64]*run{},
		hosts: map[string]*rate.Limiter{},

		transports: map[string]http.RoundTripper{},
	}
	d.attempts = newAttemptLog(cfg.Store, log.Named("attempts"))
	d.clocks = newClockCache(log.Named("clock"))
	return d, nil
}

func defaultInstance() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", cmp.Or(host, "reserver"), os.Getpid(), hex.EncodeToString(b))
}

// Instance is the name this daemon claims bookings under.
func (d *Daemon) Instance() string { return d.cfg.Instance }

// Start begins scanning and heartbeats. It returns at once.
func (d *Daemon) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return errors.New("schedule: already started")
	}
	d.started = true
	d.runCtx, d.cancelRun = context.WithCancel(context.WithoutCancel(ctx))
	d.timers = newTimers(time.UTC, zapCronLogger{d.log.Named("cron")})
	d.timers.Every(d.cfg.ScanEvery, func() { d.scan(d.runCtx) })
	d.timers.Every(d.cfg.Heartbeat, func() { d.heartbeat(d.runCtx) })
	go d.attempts.run()
	d.timers.Start()
	d.log.Info("daemon started", zap.Duration("lead", d.cfg.Lead), zap.Duration("lease_ttl", d.cfg.LeaseTTL))
	go d.scan(d.runCtx)
	return nil
}

// Stop shuts down in two phases: stop claiming, let running windows
// continue for the grace period, then cancel them and release their leases
// so that another instance continues at once. Safe to call twice or before
// Start.
func (d *Daemon) Stop() {
	d.mu.Lock()
	if !d.started || d.stopped {
		d.stopped = true
		d.mu.Unlock()
		return
	}
	d.stopped = true
	d.mu.Unlock()

	d.timers.Stop()
	// Every booking held now: those still running after the grace period
	// get their lease released (finished ones have none left to release).
	d.mu.Lock()
	held := make([]int64, 0, len(d.runs))
	for id := range d.runs {
		held = append(held, id)
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.cfg.Grace):
		d.log.Info("grace period over, cancelling running windows")
	}
	d.cancelRun()
	<-done

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range held {
		if err := d.cfg.Store.Release(ctx, id, d.cfg.Instance); err != nil {
			d.log.Warn("release lease", zap.Int64("booking", id), zap.Error(err))
		}
	}
	d.attempts.Close(ctx)
	d.log.Info("daemon stopped", zap.Int("held", len(held)))
}

// Kill stops at once without releasing leases, as a crash would (tests).
func (d *Daemon) Kill() {
	d.mu.Lock()
	if !d.started || d.stopped {
		d.stopped = true
		d.mu.Unlock()
		return
	}
	d.stopped = true
	d.mu.Unlock()
	d.cancelRun()
	d.timers.Stop()
	d.wg.Wait()
	close(d.attempts.stop)
	<-d.attempts.stopped
}

// Running is the number of bookings this instance holds.
func (d *Daemon) Running() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.runs)
}

func (d *Daemon) nextSeq() int {
	d.seqMu.Lock()
	defer d.seqMu.Unlock()
	d.seq++
	return int(d.seq)
}

func (d *Daemon) event(id int64, what string) {
	if d.cfg.Events != nil {
		d.cfg.Events(Event{BookingID: id, At: time.Now(), What: what})
	}
}

// sessionTransport is the account's own connection pool on egress eg.
func (d *Daemon) sessionTransport(account string, eg ippool.Egress) http.RoundTripper {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := account + "\x00" + eg.Name()
	rt, ok := d.transports[k]
	if !ok {
		rt = eg.SessionTransport()
		d.transports[k] = rt
	}
	return rt
}

// hostLimiter is the per-host ceiling shared by all bookings of the host.
// Its burst is one: even at the opening instant, requests to one host are
// spaced by 1/ceiling.
func (d *Daemon) hostLimiter(host string) *rate.Limiter {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.hosts[host]
	if !ok {
		l = rate.NewLimiter(rate.Limit(d.cfg.HostCeiling), max(1, int(d.cfg.HostCeiling/100)))
		d.hosts[host] = l
	}
	return l
}

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
		stopped := d.stopped
		d.mu.Unlock()
		if mine || stopped {
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
		d.arm(ctx, b, now)
	}
}

// arm registers a claimed booking and sets its pre-warm timer.
func (d *Daemon) arm(ctx context.Context, b *booking.Booking, now time.Time) {
	log := d.log.With(zap.Int64("booking", b.ID), zap.String("site", b.Site))
	prof := d.cfg.Profiles[b.Site]
	r := &run{d: d, b: b, prof: prof, log: log, leaseValid: now.Add(d.cfg.LeaseTTL)}
	r.ctx, r.cancel = context.WithCancel(ctx)
	d.mu.Lock()
	d.runs[b.ID] = r
	d.wg.Add(1)
	d.mu.Unlock()

	// opens_at is on the site's clock: with a recent estimate of it, the
	// pre-warm starts a full lead before the opening as the site sees it.
	prewarm := b.OpensAt.Add(-d.cfg.Lead)
	if est, ok := d.clocks.known(b.Site); ok {
		prewarm = est.SiteToLocal(b.OpensAt).Add(-d.cfg.Lead)
	}
	log.Info("booking armed", zap.String("state", string(b.State)), zap.Time("opens_at", b.OpensAt), zap.Time("prewarm_at", prewarm))
	d.event(b.ID, fmt.Sprintf("armed: opens at %s (site clock), pre-warm at %s", b.OpensAt.Format(time.RFC3339Nano), prewarm.Format("15:04:05")))
	if !prewarm.After(now) {
		go r.main()
		return
	}
	d.timers.At(prewarm, func() { go r.main() })
}

// heartbeat renews the leases of the bookings this instance runs. A
// booking whose lease could not be renewed is re-claimed if nobody else
// took it; otherwise its run is cancelled (it was cancelled by its owner,
// finished, or taken over).
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
		d.log.Warn("lease heartbeat failed; runs stop submitting when their lease ends", zap.Error(err))
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
		if r == nil {
			continue
		}
		if kept[id] {
			r.setLease(until)
			continue
		}
		// Expired while the database was away, and nobody else took it?
		if b, err := d.cfg.Store.Claim(ctx, id, d.cfg.Instance, now, until); err == nil && (b.State == booking.Armed || b.State == booking.Running) {
			r.setLease(until)
			continue
		}
		r.log.Warn("lease lost (cancelled, finished or taken over): stopping this run")
		r.cancel()
	}
}

func (d *Daemon) forget(id int64) {
	d.mu.Lock()
	delete(d.runs, id)
	d.mu.Unlock()
}

type zapCronLogger struct{ l *zap.Logger }

func (z zapCronLogger) Info(msg string, kv ...any) { z.l.Debug(msg, zap.Any("kv", kv)) }
func (z zapCronLogger) Error(err error, msg string, kv ...any) {
	z.l.Error(msg, zap.Error(err), zap.Any("kv", kv))
}
