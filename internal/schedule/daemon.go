// Package schedule is the reserver daemon: it claims bookings from the
// database with a lease, wakes each one before its opening instant,
// pre-warms a site session, measures the site's clock, fires the first
// submit so that it arrives at the opening instant on the site's clock, and
// keeps trying at the booking's rate until it wins, loses, is cancelled or
// the window closes. Periodic work (the arming scan, lease heartbeats,
// journal replay) runs on robfig/cron; each booking runs in its own
// goroutine, which owns its timers.
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
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"reserver/internal/booking"
	"reserver/internal/clocksync"
	"reserver/internal/ippool"
	"reserver/internal/journal"
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
	// CancelPollDefault is how often the daemon asks the database for
	// cancel requests of the bookings it runs.
	CancelPollDefault = 100 * time.Millisecond
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
	// host-pid-random. A stable name (one per deployment slot) is fine:
	// attempt rows also carry a random id of the process.
	Instance string
	// Lead is how long before the opening instant the pre-warm starts.
	Lead time.Duration
	// Margin: the first submit arrives this long after the opening instant.
	Margin time.Duration
	// Aim says how the first submit is aimed: AimOpening (default) or
	// AimLearned (by the site's recent openings; docs/opening.md).
	Aim Aim
	// LeaseTTL is the lease length; Heartbeat renews leases (< LeaseTTL).
	LeaseTTL  time.Duration
	Heartbeat time.Duration
	// ScanEvery is the period of the arming scan.
	ScanEvery time.Duration
	// CancelPoll is the period of the cancel-request poll.
	CancelPoll time.Duration
	// Grace: on Stop, running windows continue this long (their leases
	// renewed, so nobody else claims them) before they are cancelled and
	// their leases released.
	Grace time.Duration
	// HostCeiling is the most requests per second sent to one site host by
	// this instance, over all bookings.
	HostCeiling float64
	// NotifyFailed also writes a "failed" outbox row when a window closes.
	NotifyFailed bool
	// JournalDir keeps a local journal of outcomes the database could not
	// take yet (one file per instance), replayed at the next start; empty
	// disables it (outcomes then wait in memory only).
	JournalDir string
	// Events, if set, receives a line per notable event of a booking (the
	// demo prints them).
	Events func(Event)
}

// Event is a notable moment of a booking's run, for people watching.
type Event struct {
	BookingID int64
	At        time.Time
	What      string
}

// Daemon runs bookings.
type Daemon struct {
	// Set by New, read-only afterwards.
	cfg      Config
	log      *zap.Logger
	boot     string // random id of this process, part of every attempt row's key
	pool     *session.Pool
	attempts *attemptLog
	clocks   *clockCache
	// fires: the bookings firing at one instant share one precise wait.
	fires clocksync.Gate
	seq   atomic.Int64

	// Guarded by mu.
	mu       sync.Mutex
	runs     map[int64]*run
	started  bool
	stopping bool // Stop or Kill called: no new claims
	hosts    map[string]*rate.Limiter
	accounts map[string]*accountConns
	journal  *journal.Journal // nil without JournalDir
	// unjournaled: bookings whose outcome waits in the journal; the scan
	// leaves them alone until it is written.
	unjournaled map[int64]bool
	// yielded: bookings given back because another instance runs their
	// site account (accounts.go), until when the scan leaves them to it.
	yielded map[int64]time.Time

	periodic  *periodic
	scanEntry entryID
	runCtx    context.Context
	cancelRun context.CancelFunc
	wg        sync.WaitGroup // one per run
	bg        sync.WaitGroup // the cancel poll
	bgStop    chan struct{}
}

// accountConns is what the bookings of one site account share on this
// instance besides the session (session.Pool): one connection pool per
// egress. It is dropped when the account's last booking ends.
type accountConns struct {
	refs       int
	transports map[string]http.RoundTripper
	// turns orders the account's submits at a serial_submits site
	// (turns.go); made by the first run that needs it.
	turns *turns
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
	cfg.Aim = cmp.Or(cfg.Aim, AimOpening)
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, LeaseTTLDefault)
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, HeartbeatDefault)
	cfg.ScanEvery = cmp.Or(cfg.ScanEvery, ScanEveryDefault)
	cfg.CancelPoll = cmp.Or(cfg.CancelPoll, CancelPollDefault)
	cfg.Grace = cmp.Or(cfg.Grace, GraceDefault)
	cfg.HostCeiling = cmp.Or(cfg.HostCeiling, HostCeilingDefault)
	var errs []error
	if cfg.Aim != AimOpening && cfg.Aim != AimLearned {
		errs = append(errs, fmt.Errorf("schedule: aim %q is not %q or %q", cfg.Aim, AimOpening, AimLearned))
	}
	if cfg.Heartbeat >= cfg.LeaseTTL-fenceMargin {
		errs = append(errs, fmt.Errorf("schedule: heartbeat %v must be shorter than the lease TTL %v minus the fence margin %v", cfg.Heartbeat, cfg.LeaseTTL, fenceMargin))
	}
	if cfg.Heartbeat < time.Second || cfg.ScanEvery < time.Second {
		errs = append(errs, errors.New("schedule: heartbeat and scan period must be at least 1s"))
	}
	if cfg.CancelPoll < 10*time.Millisecond || cfg.CancelPoll > time.Second {
		errs = append(errs, fmt.Errorf("schedule: cancel poll %v must be within 10ms..1s", cfg.CancelPoll))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	generated := cfg.Instance == ""
	if generated {
		cfg.Instance = defaultInstance()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	log := cfg.Logger.With(zap.String("instance", cfg.Instance))
	if generated && cfg.JournalDir != "" {
		// The journal file is named after the instance: a name made up per
		// process is never found again by the next start.
		log.Warn("no instance name is configured (RESERVER_INSTANCE): outcomes left in this process's journal are written only by a daemon started again under the same name; set a stable name per deployment slot")
	}
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
		cfg:         cfg,
		log:         log,
		boot:        randomHex(8),
		pool:        session.NewPool(session.PoolConfig{Transport: first.Transport()}),
		runs:        map[int64]*run{},
		hosts:       map[string]*rate.Limiter{},
		accounts:    map[string]*accountConns{},
		unjournaled: map[int64]bool{},
		yielded:     map[int64]time.Time{},
		bgStop:      make(chan struct{}),
	}
	d.attempts = newAttemptLog(cfg.Store, log.Named("attempts"))
	d.clocks = newClockCache(log.Named("clock"))
	return d, nil
}

func defaultInstance() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", cmp.Or(host, "reserver"), os.Getpid(), randomHex(3))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Instance is the name this daemon claims bookings under.
func (d *Daemon) Instance() string { return d.cfg.Instance }

// Start opens the journal (replaying what an earlier process left in it),
// then begins scanning, heartbeats and the cancel poll. It returns at once.
func (d *Daemon) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return errors.New("schedule: already started")
	}
	if d.cfg.JournalDir != "" {
		j, err := journal.Open(filepath.Join(d.cfg.JournalDir, journalFile(d.cfg.Instance)))
		if err != nil {
			return fmt.Errorf("schedule: outcome journal: %w", err)
		}
		d.journal = j
		for _, e := range j.Pending() {
			d.unjournaled[e.BookingID] = true
		}
	}
	d.started = true
	d.runCtx, d.cancelRun = context.WithCancel(context.WithoutCancel(ctx))
	d.periodic = newPeriodic(time.UTC, zapCronLogger{d.log.Named("cron")})
	d.scanEntry = d.periodic.Every(d.cfg.ScanEvery, func() { d.scan(d.runCtx) })
	d.periodic.Every(d.cfg.Heartbeat, func() { d.heartbeat(d.runCtx) })
	if d.journal != nil {
		d.periodic.Every(time.Second, func() { d.replayJournal(d.runCtx) })
	}
	go d.attempts.run()
	d.bg.Add(1)
	go d.pollCancels()
	d.periodic.Start()
	d.log.Info("daemon started", zap.Duration("lead", d.cfg.Lead), zap.Duration("lease_ttl", d.cfg.LeaseTTL), zap.String("boot", d.boot))
	go func() {
		// Alive at once in `reserver status`, not a heartbeat later.
		d.beat(d.runCtx, time.Now())
		// The journal first: a booking whose outcome it holds is not
		// claimed again before that outcome is written.
		d.replayJournal(d.runCtx)
		d.scan(d.runCtx)
	}()
	return nil
}

// Stop shuts down in two phases, bounded by the grace period plus a few
// seconds: it stops claiming and releases at once the bookings whose
// pre-warm has not started; running windows go on for the grace period
// with their leases renewed; then they are cancelled and their leases
// released so that another instance continues at once. Safe to call twice
// or before Start.
func (d *Daemon) Stop() {
	if !d.beginStop() {
		return
	}
	d.periodic.Remove(d.scanEntry)

	d.mu.Lock()
	var waiting []*run
	for _, r := range d.runs {
		waiting = append(waiting, r)
	}
	d.mu.Unlock()
	released := 0
	for _, r := range waiting {
		if r.release() {
			released++
		}
	}

	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	graceOver := time.NewTimer(d.cfg.Grace)
	defer graceOver.Stop()
	select {
	case <-done:
	case <-graceOver.C:
		d.log.Info("grace period over, cancelling running windows")
	}
	// Leases of the runs that are still going are released right after
	// they end, before the heartbeats stop.
	d.mu.Lock()
	held := make([]int64, 0, len(d.runs))
	for id := range d.runs {
		held = append(held, id)
	}
	d.mu.Unlock()
	d.cancelRun()
	<-done

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range held {
		if err := d.cfg.Store.Release(ctx, id, d.cfg.Instance); err != nil {
			d.log.Warn("release lease", zap.Int64("booking", id), zap.Error(err))
		}
	}
	d.stopBackground()
	d.attempts.Close(ctx)
	d.closeJournal()
	d.log.Info("daemon stopped", zap.Int("released_unstarted", released), zap.Int("released_running", len(held)))
}

// Kill stops at once without releasing leases or flushing the attempt
// log, as a crash would (tests and the chaos harness's in-process twin).
func (d *Daemon) Kill() {
	if !d.beginStop() {
		return
	}
	d.cancelRun()
	d.wg.Wait()
	d.stopBackground()
	close(d.attempts.stop)
	<-d.attempts.stopped
	d.closeJournal()
}

// beginStop marks the daemon stopping; false when there is nothing to stop.
func (d *Daemon) beginStop() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.started || d.stopping {
		d.stopping = true
		return false
	}
	d.stopping = true
	return true
}

func (d *Daemon) stopBackground() {
	d.periodic.Stop()
	close(d.bgStop)
	d.bg.Wait()
}

func (d *Daemon) closeJournal() {
	d.mu.Lock()
	j := d.journal
	d.mu.Unlock()
	if j == nil {
		return
	}
	if err := j.Compact(); err != nil {
		d.log.Warn("journal compaction", zap.Error(err))
	}
	if err := j.Close(); err != nil {
		d.log.Warn("journal close", zap.Error(err))
	}
}

// Running is the number of bookings this instance holds.
func (d *Daemon) Running() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.runs)
}

func (d *Daemon) nextSeq() int { return int(d.seq.Add(1)) }

func (d *Daemon) event(id int64, what string) {
	if d.cfg.Events != nil {
		d.cfg.Events(Event{BookingID: id, At: time.Now(), What: what})
	}
}

// hostLimiter is the per-host ceiling shared by all bookings of the host
// on this instance. Its burst is a hundredth of a second's worth (at least
// one request): requests to one host are spaced by 1/ceiling, and never
// more than ceiling/100 leave at the same instant.
func (d *Daemon) hostLimiter(host string) *rate.Limiter {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.hosts[host]
	if !ok {
		l = rate.NewLimiter(rate.Limit(d.cfg.HostCeiling*ippool.PaceFraction), max(1, int(d.cfg.HostCeiling/100)))
		d.hosts[host] = l
	}
	return l
}

// holdAccount counts a booking of the site account key on this instance;
// the returned func drops the account's connections when the last of its
// bookings ends.
func (d *Daemon) holdAccount(key string) func() {
	d.mu.Lock()
	defer d.mu.Unlock()
	ac, ok := d.accounts[key]
	if !ok {
		ac = &accountConns{transports: map[string]http.RoundTripper{}}
		d.accounts[key] = ac
	}
	ac.refs++
	var once sync.Once
	return func() { once.Do(func() { d.releaseAccount(key) }) }
}

func (d *Daemon) releaseAccount(key string) {
	d.mu.Lock()
	ac, ok := d.accounts[key]
	if !ok {
		d.mu.Unlock()
		return
	}
	ac.refs--
	if ac.refs > 0 {
		d.mu.Unlock()
		return
	}
	delete(d.accounts, key)
	d.mu.Unlock()
	for _, rt := range ac.transports {
		if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

// accountTurns is the submit order of account (held by holdAccount).
func (d *Daemon) accountTurns(account string) *turns {
	d.mu.Lock()
	defer d.mu.Unlock()
	ac, ok := d.accounts[account]
	if !ok {
		return newTurns() // not held: nobody to share with
	}
	if ac.turns == nil {
		ac.turns = newTurns()
	}
	return ac.turns
}

// sessionTransport is the account's own connection pool on egress eg: a
// session keeps its warm connections for the opening instant.
func (d *Daemon) sessionTransport(account string, eg ippool.Egress) http.RoundTripper {
	d.mu.Lock()
	defer d.mu.Unlock()
	ac, ok := d.accounts[account]
	if !ok {
		return eg.SessionTransport()
	}
	rt, ok := ac.transports[eg.Name()]
	if !ok {
		rt = eg.SessionTransport()
		ac.transports[eg.Name()] = rt
	}
	return rt
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
