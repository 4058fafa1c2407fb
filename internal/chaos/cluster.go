package chaos

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/go-sql-driver/mysql" // the database/sql driver of the checks
)

// clusterSpec is what one scenario needs started.
type clusterSpec struct {
	name     string
	bookings int
	openIn   time.Duration // opening instant this long after the bookings are created
	window   int           // window_seconds of every booking
	simFlags []string      // extra courtsim flags (faults)
	daemons  int
	// siteOpensAfter delays the site's own opening past the bookings'
	// opens_at: until then every submit is answered not_open, so the
	// windows keep running (and submitting) while the scenario breaks
	// something.
	siteOpensAfter time.Duration
	grace          time.Duration // daemon.grace; default graceDefault
	relayFirst     bool          // the first daemon reaches the database through a relay the harness can cut
	rate           float64       // rate_per_second of every booking; 0: the API's default
	// egressCeiling is host_ceiling_per_egress of every daemon's one
	// egress; 0: egressCeilingDefault. A low one makes the daemons wait in
	// their host limiter, where a fence checked before the wait goes stale.
	egressCeiling float64
	firstCeiling  float64 // the first daemon's egressCeiling, when set
	// choices is the number of slots of every booking (0 or 1: one slot):
	// its own first, then other courts at the same date and time, no slot
	// shared with another booking (bookingSlots).
	choices int
}

// cluster is one scenario's running system: a fresh database, the
// simulator, the API, the daemons and the SMS webhook receiver.
type cluster struct {
	o       Options
	spec    clusterSpec
	ps      *procs
	dbName  string
	db      *sql.DB
	env     []string
	simURL  string
	apiURL  string
	token   string
	sms     *smsReceiver
	opensAt time.Time

	cfgBase string // the daemons' config file without the egress section
	relay   *relay // the first daemon's database path when spec.relayFirst

	mu       sync.Mutex
	daemons  []*daemon
	runs     []DaemonRun // every daemon process, in start order
	restarts int

	bookings []bookingRef
	pretakes []pretake // competitors' reservations made before the opening
}

// daemon is one `reserver run` process.
type daemon struct {
	instance string
	ip       string // source address of its egress
	p        *proc
	run      int // index into cluster.runs
}

// Lease and scan settings the daemons run with; the takeover bound of the
// crashes scenario is derived from them.
const (
	daemonLead  = 20 * time.Second
	leaseTTL    = 10 * time.Second
	scanEvery   = 2 * time.Second
	webhookPath = "/sms"
	// graceDefault is the shutdown grace of the daemons unless a scenario
	// sets its own: short, so that the end of a scenario is quick.
	graceDefault = 5 * time.Second
	// egressCeilingDefault is the daemon's own default host ceiling
	// (daemon.host_ceiling_per_second), which applies when no egress is
	// listed: one egress per daemon must not change the pacing.
	egressCeilingDefault = 50.0
)

// daemonIP is the source address of daemon slot i (d1 → 127.0.0.11): the
// site's ledger tells the daemons' submits apart by it.
func daemonIP(i int) string { return fmt.Sprintf("127.0.0.%d", 11+i) }

func newCluster(ctx context.Context, o Options, spec clusterSpec) (c *cluster, err error) {
	dir := filepath.Join(o.LogDir, spec.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c = &cluster{o: o, spec: spec, ps: &procs{dir: dir}}
	defer func() {
		if err != nil {
			c.close(false)
		}
	}()
	c.dbName = fmt.Sprintf("chaos_%s_%d", spec.name, time.Now().Unix())
	root, err := sql.Open("mysql", o.MySQL+"/")
	if err != nil {
		return c, err
	}
	defer root.Close()
	if _, err := root.ExecContext(ctx, "CREATE DATABASE "+c.dbName); err != nil {
		return c, fmt.Errorf("create database: %w", err)
	}
	c.db, err = sql.Open("mysql", o.MySQL+"/"+c.dbName+"?parseTime=true")
	if err != nil {
		return c, err
	}
	c.db.SetConnMaxLifetime(5 * time.Second)

	c.sms, err = startSMSReceiver(webhookSecret)
	if err != nil {
		return c, err
	}
	simAddr, err := freeAddr()
	if err != nil {
		return c, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return c, err
	}
	c.simURL, c.apiURL = "http://"+simAddr, "http://"+apiAddr

	journal := filepath.Join(dir, "journal")
	if err := os.RemoveAll(journal); err != nil {
		return c, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfgPath := filepath.Join(dir, "reserver.yaml")
	// Only keys the daemon has understood since before issue 12, so that
	// the same harness runs against older binaries.
	c.cfgBase = fmt.Sprintf(`daemon:
  lead: %s
  lease_ttl: %s
  scan_every: %s
  grace: %s
notify:
  provider: webhook
  backoff_base: 1s
  backoff_cap: 5s
  poll_every: 1s
  send_timeout: 5s
  webhook:
    url: %s%s
`, daemonLead, leaseTTL, scanEvery, cmp.Or(spec.grace, graceDefault), c.sms.URL(), webhookPath)
	if err := os.WriteFile(cfgPath, []byte(c.cfgBase), 0o600); err != nil {
		return c, err
	}
	c.env = []string{
		"RESERVER_CONFIG=" + cfgPath,
		"RESERVER_DB_DSN=mysql:" + o.MySQL + "/" + c.dbName + "?parseTime=true",
		"RESERVER_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key),
		"RESERVER_SITE_COURTSIM_BASE_URL=" + c.simURL,
		"RESERVER_SITES_DIR=" + o.SitesDir,
		"RESERVER_LOG_FORMAT=json",
		"RESERVER_NOTIFY_PROVIDER=webhook",
		"RESERVER_WEBHOOK_SECRET=" + webhookSecret,
		"RESERVER_API_ADDR=" + apiAddr,
		// One token creates every booking of a scenario at once (up to
		// 150 within a second or two): far above the API's default quota
		// and request rate for a tenant, which a deployment with a bulk
		// client raises the same way. Older binaries ignore these.
		"RESERVER_API_REQUESTS_PER_SECOND=2000",
		"RESERVER_API_REQUESTS_BURST=2000",
		"RESERVER_MAX_ACTIVE_BOOKINGS_PER_TENANT=10000",
		// The daemons' journal of outcomes the database could not take
		// belongs to this scenario's database: a journal left by another
		// scenario (the same instance names, other booking ids) must never
		// be replayed into it. Binaries that have no journal ignore it.
		"RESERVER_JOURNAL_DIR=" + journal,
	}

	// Migrate once before anything else starts, so that the processes do
	// not race on an empty database.
	if out, err := c.reserver(ctx, "migrate"); err != nil {
		return c, fmt.Errorf("migrate: %w: %s", err, out)
	}
	out, err := c.reserver(ctx, "token", "create", "--tenant", "chaos")
	if err != nil {
		return c, fmt.Errorf("token create: %w: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	c.token = strings.TrimSpace(lines[len(lines)-1])

	c.opensAt = time.Now().Add(spec.openIn).Truncate(time.Second)
	facilities := facilitiesFor(spec.bookings, spec.choices)
	// Strict: a repeated submit is answered like a taken slot, so a daemon
	// that resubmits blindly loses the booking it holds, and the ledger
	// counts it.
	simArgs := append([]string{"-addr", simAddr, "-open-at", c.opensAt.Add(spec.siteOpensAfter).UTC().Format(time.RFC3339),
		"-accounts", fmt.Sprint(spec.bookings*max(spec.choices, 1) + 10), "-facilities", fmt.Sprint(facilities), "-slots", "12", "-strict"}, spec.simFlags...)
	sim, err := c.ps.start("courtsim", filepath.Join(o.BinDir, "courtsim"), nil, simArgs...)
	if err != nil {
		return c, err
	}
	if err := waitHTTP(ctx, sim, c.simURL+"/_sim/ledger", 20*time.Second); err != nil {
		return c, err
	}
	api, err := c.ps.start("api", filepath.Join(o.BinDir, "api"), c.env)
	if err != nil {
		return c, err
	}
	if err := waitHTTP(ctx, api, c.apiURL+"/readyz", 30*time.Second); err != nil {
		return c, err
	}
	if spec.relayFirst {
		target, err := mysqlAddr(o.MySQL)
		if err != nil {
			return c, err
		}
		if c.relay, err = startRelay(target); err != nil {
			return c, err
		}
	}
	for i := range spec.daemons {
		if _, err := c.startDaemon(ctx, i); err != nil {
			return c, err
		}
	}
	return c, nil
}

// mysqlAddr is the host:port of a go-sql-driver DSN prefix such as
// root@tcp(127.0.0.1:3306).
func mysqlAddr(dsn string) (string, error) {
	_, rest, ok := strings.Cut(dsn, "tcp(")
	addr, _, ok2 := strings.Cut(rest, ")")
	if !ok || !ok2 || addr == "" {
		return "", fmt.Errorf("chaos: no tcp(host:port) in the MySQL DSN %q", dsn)
	}
	return addr, nil
}

// withAddr replaces the host:port of a DSN prefix that mysqlAddr accepted.
func withAddr(dsn, addr string) string {
	before, rest, _ := strings.Cut(dsn, "tcp(")
	_, after, _ := strings.Cut(rest, ")")
	return before + "tcp(" + addr + ")" + after
}

const webhookSecret = "chaos-webhook-secret"

// reserver runs a one-shot `reserver` command and returns its output.
func (c *cluster) reserver(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.o.BinDir, "reserver"), args...)
	cmd.Env = append(os.Environ(), c.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// startDaemon starts (or restarts) daemon slot i under a new instance name,
// so that attempts of the restarted process are told from the killed one.
func (c *cluster) startDaemon(ctx context.Context, i int) (*daemon, error) {
	c.mu.Lock()
	c.restarts++
	inst := fmt.Sprintf("d%d-%d", i+1, c.restarts)
	c.mu.Unlock()
	return c.startNamed(ctx, i, inst)
}

// startNamed starts daemon slot i as instance inst, sending from the
// slot's own source address (an egress of kind source); the first daemon
// reaches the database through the relay when the scenario has one.
func (c *cluster) startNamed(ctx context.Context, i int, inst string) (*daemon, error) {
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	ip := daemonIP(i)
	cfgPath := filepath.Join(c.ps.dir, fmt.Sprintf("reserver-d%d.yaml", i+1))
	cfg := c.cfgBase + fmt.Sprintf(`egress:
  host_ceiling_per_egress: %v
  egresses:
    - {name: src%d, kind: source, source: %s}
`, c.ceiling(i), i+1, ip)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	env := append(append([]string(nil), c.env...), "RESERVER_CONFIG="+cfgPath, "RESERVER_INSTANCE="+inst, "RESERVER_METRICS_ADDR="+metricsAddr)
	if i == 0 && c.relay != nil {
		env = append(env, "RESERVER_DB_DSN=mysql:"+withAddr(c.o.MySQL, c.relay.addr)+"/"+c.dbName+"?parseTime=true")
	}
	c.mu.Lock()
	run := len(c.runs)
	c.runs = append(c.runs, DaemonRun{Instance: inst, IP: ip, Started: time.Now()})
	c.mu.Unlock()
	p, err := c.ps.start(inst, filepath.Join(c.o.BinDir, "reserver"), env, "run")
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, p, "http://"+metricsAddr+"/metrics", 30*time.Second); err != nil {
		return nil, err
	}
	d := &daemon{instance: inst, ip: ip, p: p, run: run}
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < len(c.daemons) {
		c.daemons[i] = d
	} else {
		c.daemons = append(c.daemons, d)
	}
	return d, nil
}

// ceiling is host_ceiling_per_egress of daemon slot i.
func (c *cluster) ceiling(i int) float64 {
	if i == 0 && c.spec.firstCeiling > 0 {
		return c.spec.firstCeiling
	}
	return cmp.Or(c.spec.egressCeiling, egressCeilingDefault)
}

// daemon returns slot i's current process.
func (c *cluster) daemon(i int) *daemon {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.daemons[i]
}

// kill SIGKILLs d and records when; it returns the instant of the signal.
func (c *cluster) kill(d *daemon) time.Time {
	at := c.ended(d, endSIGKILL)
	d.p.kill()
	return at
}

// terminate sends d SIGTERM and waits up to wait for its exit (then
// SIGKILLs it). It returns the instant of the signal and whether the
// process exited by itself.
func (c *cluster) terminate(d *daemon, wait time.Duration) (time.Time, bool) {
	at := c.ended(d, endSIGTERM)
	return at, d.p.stop(wait)
}

func (c *cluster) ended(d *daemon, how string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := time.Now()
	c.runs[d.run].Ended, c.runs[d.run].End = at, how
	return at
}

// daemonRuns copies the record of every daemon process.
func (c *cluster) daemonRuns() []DaemonRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]DaemonRun(nil), c.runs...)
}

// close stops every process; the database is dropped when keepDB is false.
func (c *cluster) close(keepDB bool) {
	c.ps.stopAll(cmp.Or(c.spec.grace, graceDefault) + 5*time.Second)
	if c.relay != nil {
		c.relay.close()
	}
	if c.sms != nil {
		c.sms.close()
	}
	if c.db != nil {
		c.db.Close()
	}
	if !keepDB && c.dbName != "" {
		if root, err := sql.Open("mysql", c.o.MySQL+"/"); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = root.ExecContext(ctx, "DROP DATABASE IF EXISTS "+c.dbName)
			cancel()
			root.Close()
		}
	}
}
