package chaos

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// bookingRef is one booking the harness created.
type bookingRef struct {
	ID      int64
	Account string
	// Choices are the booking's slots in its order; the first is its own
	// (court, date, start, end). A one-slot booking has one. No slot is a
	// choice of two bookings, so a slot names its booking.
	Choices []slotRef
}

// slotRef is one slot of the site: facilityNo, date and timeNo.
type slotRef struct {
	Facility int
	Date     string
	Slot     int
}

func (s slotRef) String() string {
	return fmt.Sprintf("facility %d %s slot %d", s.Facility, s.Date, s.Slot)
}

// choice returns the 1-based choice of r that is slot s, or 0.
func (r bookingRef) choice(s slotRef) int {
	for i, c := range r.Choices {
		if c == s {
			return i + 1
		}
	}
	return 0
}

// pretake is a slot a competitor account reserved through the simulator
// before the opening: a choice of a booking that the daemon must find
// sold out and move past.
type pretake struct {
	Account string // a competitor: an account no booking uses
	Slot    slotRef
	Number  string // the site's reservation number
	Booking int64  // the booking whose choice it is
	Choice  int    // 1-based
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

// The courtsim profile's courts (configs/sites/courtsim.yaml: "1-10") and
// the simulator's slots a day (-slots): the API refuses a court the
// profile does not list.
const (
	siteCourts = 10
	siteSlots  = 12
)

// perDay is how many bookings of choices slots each fit one play date:
// twelve slots, and at each as many bookings as the profile's courts hold
// runs of choices courts (10 of one slot, 3 of three).
func perDay(choices int) int { return siteSlots * (siteCourts / max(choices, 1)) }

// facilitiesFor is the simulator's -facilities for n bookings of the given
// number of choices: the highest court they use.
func facilitiesFor(n, choices int) int {
	f := 1
	for i := range min(n, perDay(choices)) {
		for _, s := range bookingSlots(i, choices, time.Time{}) {
			f = max(f, s.Facility)
		}
	}
	return f
}

// bookingSlots are the choices of booking i (0-based): all at one slot of
// the play date first + i/perDay days; within its date booking j takes
// slot j%12+1 on the (j/12)-th run of choices courts (one choice: court
// j/12+1, as before choices existed). No slot is two bookings'.
func bookingSlots(i, choices int, first time.Time) []slotRef {
	choices = max(choices, 1)
	day, j := i/perDay(choices), i%perDay(choices)
	date := first.AddDate(0, 0, day).Format(time.DateOnly)
	g, slot := j/siteSlots, j%siteSlots+1
	out := make([]slotRef, choices)
	for k := range out {
		out[k] = slotRef{Facility: g*choices + k + 1, Date: date, Slot: slot}
	}
	return out
}

// createBookings posts spec.bookings distinct bookings (one account and
// its own slots each) through the API, a few at a time.
func (c *cluster) createBookings(ctx context.Context) error {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		return err
	}
	first := c.opensAt.In(seoul).AddDate(0, 0, 14)
	refs := make([]bookingRef, c.spec.bookings)
	errs := make(chan error, c.spec.bookings)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range refs {
		ref := bookingRef{Account: fmt.Sprintf("user%03d", i+1), Choices: bookingSlots(i, c.spec.choices, first)}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			own := ref.Choices[0]
			hour := own.Slot + 5
			body := map[string]any{
				"site":           "courtsim",
				"account":        map[string]string{"username": ref.Account, "password": "pass1234"},
				"date":           own.Date,
				"start":          fmt.Sprintf("%02d:00", hour),
				"end":            fmt.Sprintf("%02d:00", hour+1),
				"opens_at":       c.opensAt.In(seoul).Format(time.RFC3339),
				"window_seconds": c.spec.window,
				"phone":          "010-1234-5678",
				"name":           "Chaos",
			}
			if len(ref.Choices) == 1 {
				body["court"] = fmt.Sprint(own.Facility)
			} else {
				// The date and times default to the top-level ones.
				var choices []map[string]string
				for _, ch := range ref.Choices {
					choices = append(choices, map[string]string{"court": fmt.Sprint(ch.Facility)})
				}
				body["choices"] = choices
			}
			if c.spec.rate > 0 {
				body["rate_per_second"] = c.spec.rate
			}
			var out struct {
				ID      int64 `json:"id"`
				Choices []struct {
					Court string `json:"court"`
					Date  string `json:"date"`
					Start string `json:"start"`
				} `json:"choices"`
			}
			if err := c.call(ctx, http.MethodPost, "/v1/bookings", fmt.Sprintf("chaos-%d", i), body, &out, http.StatusCreated); err != nil {
				errs <- fmt.Errorf("booking %d: %w", i, err)
				return
			}
			if len(ref.Choices) > 1 {
				// The audit maps the site's reservations to choices by the
				// slots sent: the API must have kept them, in order.
				var got, want []string
				for _, ch := range out.Choices {
					got = append(got, fmt.Sprintf("%s %s %s", ch.Court, ch.Date, ch.Start))
				}
				for _, ch := range ref.Choices {
					want = append(want, fmt.Sprintf("%d %s %02d:00", ch.Facility, ch.Date, ch.Slot+5))
				}
				if !slices.Equal(got, want) {
					errs <- fmt.Errorf("booking %d (id %d): the API answered the choices %q for %q", i, out.ID, got, want)
					return
				}
			}
			ref.ID = out.ID
			refs[i] = ref
		}()
	}
	wg.Wait()
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		return err
	}
	c.bookings = refs
	return nil
}

// pretakeChoices reserves, through the simulator and before the opening,
// choice 1 of every booking i with i%4 < 2 and also choice 2 when i%4 == 0,
// each under its own competitor account (user numbers after the bookings'
// ones): half the bookings must fall through to choice 2, a quarter to
// choice 3. A competitor holds one reservation, so none of it can look
// like a double booking. Bookings with fewer than three choices are left
// alone.
func (c *cluster) pretakeChoices(ctx context.Context) error {
	next := len(c.bookings)
	for i, ref := range c.bookings {
		if len(ref.Choices) < 3 {
			continue
		}
		taken := 0
		switch i % 4 {
		case 0:
			taken = 2
		case 1:
			taken = 1
		}
		for k := range taken {
			next++
			p := pretake{Account: fmt.Sprintf("user%03d", next), Slot: ref.Choices[k], Booking: ref.ID, Choice: k + 1}
			n, err := c.reserve(ctx, p.Account, p.Slot)
			if err != nil {
				return fmt.Errorf("pre-take choice %d of booking %d: %w", p.Choice, ref.ID, err)
			}
			p.Number = n
			c.pretakes = append(c.pretakes, p)
		}
	}
	if now := time.Now(); !now.Before(c.opensAt) {
		return fmt.Errorf("chaos: the pre-takes ended at %s, after the opening at %s", now.Format("15:04:05.000"), c.opensAt.Format("15:04:05"))
	}
	return nil
}

// reserve books slot s for account at the simulator (POST /_sim/reserve),
// as if the account had booked it earlier; it returns the number.
func (c *cluster) reserve(ctx context.Context, account string, s slotRef) (string, error) {
	form := url.Values{"account": {account}, "facility": {fmt.Sprint(s.Facility)}, "date": {s.Date}, "slot": {fmt.Sprint(s.Slot)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.simURL+"/_sim/reserve", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("simulator reserve %s for %s: %d %s", s, account, resp.StatusCode, bytes.TrimSpace(b))
	}
	var out struct {
		Number string `json:"number"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Number == "" {
		return "", fmt.Errorf("simulator reserve %s for %s: no number in %q", s, account, bytes.TrimSpace(b))
	}
	return out.Number, nil
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

// ErrStatus is an API answer with an unexpected status code.
var ErrStatus = errors.New("chaos: unexpected API status")

// call sends one API request; want lists the accepted status codes.
func (c *cluster) call(ctx context.Context, method, path, idemKey string, body, out any, want ...int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.apiURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	ok := false
	for _, w := range want {
		ok = ok || resp.StatusCode == w
	}
	if !ok {
		return fmt.Errorf("%w: %s %s: %d %s", ErrStatus, method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// cancel cancels booking id through the API. A 202 (a cancel requested of a holder that was just killed, which the
// next claim of the booking carries out) is fine: the scenario checks the
// booking's final state.
func (c *cluster) cancel(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, fmt.Sprintf("/v1/bookings/%d", id), "", nil, nil, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
}

// apiWinners reads every booking the site booked (atSite: its choice there)
// through GET /v1/bookings/{id} and counts those whose won_choice or
// booked slot is not that choice.
func (c *cluster) apiWinners(ctx context.Context, atSite map[int64]int) (int, error) {
	type slot struct {
		Court string `json:"court"`
		Date  string `json:"date"`
		Start string `json:"start"`
		End   string `json:"end"`
	}
	wrong := 0
	for _, ref := range c.bookings {
		k, ok := atSite[ref.ID]
		if !ok {
			continue
		}
		var out struct {
			State     string `json:"state"`
			WonChoice int    `json:"won_choice"`
			Booked    *slot  `json:"booked"`
		}
		if err := c.call(ctx, http.MethodGet, fmt.Sprintf("/v1/bookings/%d", ref.ID), "", nil, &out, http.StatusOK); err != nil {
			return wrong, err
		}
		ch := ref.Choices[k-1]
		want := slot{Court: fmt.Sprint(ch.Facility), Date: ch.Date, Start: fmt.Sprintf("%02d:00", ch.Slot+5), End: fmt.Sprintf("%02d:00", ch.Slot+6)}
		if out.WonChoice != k || out.Booked == nil || *out.Booked != want {
			wrong++
			c.o.logf("%s: the API shows booking %d (%s) with won_choice %d booked %+v; the site booked choice %d %+v",
				c.spec.name, ref.ID, out.State, out.WonChoice, out.Booked, k, want)
		}
	}
	return wrong, nil
}

// ledger fetches the simulator's ground truth.
func (c *cluster) ledger(ctx context.Context) (*Ledger, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.simURL+"/_sim/ledger", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var l Ledger
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return &l, nil
}

// waitTerminal polls until every booking is terminal or deadline passes;
// it returns the number still open.
func (c *cluster) waitTerminal(ctx context.Context, deadline time.Time) (int, error) {
	for {
		var open int
		err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bookings WHERE state NOT IN ('succeeded','failed','cancelled')").Scan(&open)
		if err == nil && open == 0 {
			return 0, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return -1, err
			}
			return open, nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return open, err
		}
	}
}

// snapshot reads what the checks compare with the ledger.
func (c *cluster) snapshot(ctx context.Context) (*DBState, error) {
	s := &DBState{Bookings: map[int64]DBBooking{}, SubmitRows: map[int64]int{}, Outbox: map[int64][]string{}}
	// Binaries from before issue 18 (-bin) have neither column.
	won, err := c.column(ctx, "bookings", "won_choice")
	if err != nil {
		return nil, err
	}
	choice, err := c.column(ctx, "attempts", "choice")
	if err != nil {
		return nil, err
	}
	rows, err := c.db.QueryContext(ctx, "SELECT id, state, reason, reservation_no, "+won+" FROM bookings")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var b DBBooking
		if err := rows.Scan(&b.ID, &b.State, &b.Reason, &b.ReservationNo, &b.WonChoice); err != nil {
			rows.Close()
			return nil, err
		}
		s.Bookings[b.ID] = b
	}
	rows.Close()
	rows, err = c.db.QueryContext(ctx, "SELECT booking_id, instance, step, class, sent_at, "+choice+" FROM attempts")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var a AttemptRow
		var class string
		if err := rows.Scan(&a.BookingID, &a.Instance, &a.Step, &class, &a.SentAt, &a.Choice); err != nil {
			rows.Close()
			return nil, err
		}
		s.Attempts = append(s.Attempts, a)
		switch a.Step {
		case "submit":
			s.SubmitRows[a.BookingID]++
		case "verify":
			s.VerifyRows++
			if class == "success" {
				s.VerifySuccess++
			}
		}
	}
	rows.Close()
	rows, err = c.db.QueryContext(ctx, "SELECT booking_id, kind, state FROM outbox")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var kind, state string
		if err := rows.Scan(&id, &kind, &state); err != nil {
			return nil, err
		}
		s.Outbox[id] = append(s.Outbox[id], kind+":"+state)
	}
	return s, rows.Err()
}

// column is the SQL expression that reads an integer column that may be
// NULL as 0, or a literal 0 when table has no such column.
func (c *cluster) column(ctx context.Context, table, name string) (string, error) {
	var n int
	err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?",
		table, name).Scan(&n)
	if err != nil || n == 0 {
		return "0", err
	}
	return "COALESCE(" + name + ", 0)", nil
}

// firstAttemptAfter is the earliest attempt of booking id by an instance
// other than inst sent after t.
func (c *cluster) firstAttemptAfter(ctx context.Context, id int64, inst string, t time.Time) (time.Time, bool, error) {
	var at sql.NullTime
	err := c.db.QueryRowContext(ctx, "SELECT MIN(sent_at) FROM attempts WHERE booking_id = ? AND instance <> ? AND sent_at >= ?",
		id, inst, t.UTC()).Scan(&at)
	if err != nil {
		return time.Time{}, false, err
	}
	return at.Time, at.Valid, nil
}

// held lists the non-terminal bookings whose lease inst holds.
func (c *cluster) held(ctx context.Context, inst string) ([]int64, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT id FROM bookings WHERE claimed_by = ? AND state IN ('armed','running')", inst)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// countState counts the bookings in state.
func (c *cluster) countState(ctx context.Context, state string) (int, error) {
	var n int
	err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bookings WHERE state = ?", state).Scan(&n)
	return n, err
}
