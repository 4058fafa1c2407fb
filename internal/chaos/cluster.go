package chaos

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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

	mu       sync.Mutex
	daemons  []*daemon
	restarts int

	bookings []bookingRef
}

// daemon is one `reserver run` instance.
type daemon struct {
	instance string
	p        *proc
}

// bookingRef is one booking the harness created.
type bookingRef struct {
	ID       int64
	Account  string
	Facility int
	Date     string
	Slot     int
}

// Lease and scan settings the daemons run with; the takeover bound of the
// crashes scenario is derived from them.
const (
	daemonLead  = 20 * time.Second
	leaseTTL    = 10 * time.Second
	scanEvery   = 2 * time.Second
	webhookPath = "/sms"
)

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

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfgPath := filepath.Join(dir, "reserver.yaml")
	cfg := fmt.Sprintf(`daemon:
  lead: %s
  lease_ttl: %s
  scan_every: %s
notify:
  provider: webhook
  backoff_base: 1s
  backoff_cap: 5s
  poll_every: 1s
  send_timeout: 5s
  webhook:
    url: %s%s
`, daemonLead, leaseTTL, scanEvery, c.sms.URL(), webhookPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
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
	facilities := spec.bookings/12 + 1
	simArgs := append([]string{"-addr", simAddr, "-open-at", c.opensAt.UTC().Format(time.RFC3339),
		"-accounts", fmt.Sprint(spec.bookings + 10), "-facilities", fmt.Sprint(facilities), "-slots", "12"}, spec.simFlags...)
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
	for i := range spec.daemons {
		if _, err := c.startDaemon(ctx, i); err != nil {
			return c, err
		}
	}
	return c, nil
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
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := append(append([]string(nil), c.env...), "RESERVER_INSTANCE="+inst, "RESERVER_METRICS_ADDR="+metricsAddr)
	p, err := c.ps.start(inst, filepath.Join(c.o.BinDir, "reserver"), env, "run")
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, p, "http://"+metricsAddr+"/metrics", 30*time.Second); err != nil {
		return nil, err
	}
	d := &daemon{instance: inst, p: p}
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < len(c.daemons) {
		c.daemons[i] = d
	} else {
		c.daemons = append(c.daemons, d)
	}
	return d, nil
}

// close stops every process; the database is dropped when keepDB is false.
func (c *cluster) close(keepDB bool) {
	c.ps.stopAll(5 * time.Second)
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

// createBookings posts spec.bookings distinct bookings (one account and one
// slot each) through the API, a few at a time.
func (c *cluster) createBookings(ctx context.Context) error {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		return err
	}
	date := c.opensAt.In(seoul).AddDate(0, 0, 14).Format("2006-01-02")
	refs := make([]bookingRef, c.spec.bookings)
	errs := make(chan error, c.spec.bookings)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range refs {
		ref := bookingRef{Account: fmt.Sprintf("user%03d", i+1), Facility: i/12 + 1, Slot: i%12 + 1, Date: date}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			hour := ref.Slot + 5
			body := map[string]any{
				"site":           "courtsim",
				"account":        map[string]string{"username": ref.Account, "password": "pass1234"},
				"court":          fmt.Sprint(ref.Facility),
				"date":           ref.Date,
				"start":          fmt.Sprintf("%02d:00", hour),
				"end":            fmt.Sprintf("%02d:00", hour+1),
				"opens_at":       c.opensAt.In(seoul).Format(time.RFC3339),
				"window_seconds": c.spec.window,
				"phone":          "010-1234-5678",
				"name":           "Chaos",
			}
			var out struct {
				ID int64 `json:"id"`
			}
			if err := c.call(ctx, http.MethodPost, "/v1/bookings", fmt.Sprintf("chaos-%d", i), body, &out, http.StatusCreated); err != nil {
				errs <- fmt.Errorf("booking %d: %w", i, err)
				return
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

// cancel cancels booking id through the API.
func (c *cluster) cancel(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, fmt.Sprintf("/v1/bookings/%d", id), "", nil, nil, http.StatusOK, http.StatusNoContent)
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
	rows, err := c.db.QueryContext(ctx, "SELECT id, state, reason, reservation_no FROM bookings")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var b DBBooking
		if err := rows.Scan(&b.ID, &b.State, &b.Reason, &b.ReservationNo); err != nil {
			rows.Close()
			return nil, err
		}
		s.Bookings[b.ID] = b
	}
	rows.Close()
	rows, err = c.db.QueryContext(ctx, "SELECT booking_id, step, class, COUNT(*) FROM attempts GROUP BY booking_id, step, class")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var step, class string
		var n int
		if err := rows.Scan(&id, &step, &class, &n); err != nil {
			rows.Close()
			return nil, err
		}
		switch step {
		case "submit":
			s.SubmitRows[id] += n
		case "verify":
			s.VerifyRows += n
			if class == "success" {
				s.VerifySuccess += n
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
