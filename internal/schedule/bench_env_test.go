package schedule

// The daemon's benchmarks: real loopback sockets, real time, a real SQLite
// file, the simulated site in its own process (cmd/courtsim), optionally
// behind a delay line (internal/netsim) that gives each direction of the
// path its latency and jitter. Each configuration prints exactly one line
// starting with "BENCH" (make bench greps them) that states its
// conditions: the host ceiling, the egresses, the path, where the
// simulator runs. The daemon runs with its default configuration (New's
// defaults: lead, margin, aim, host ceiling, scan period) unless a line
// says otherwise.
//
//	BenchmarkFire  (bench_fire_test.go)  when does each first submit arrive?
//	BenchmarkScale (bench_scale_test.go) rate, heap and CPU at 2,000 bookings
//	BenchmarkRace  (bench_race_test.go)  reserver against other clients

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
	"reserver/internal/secret"
	"reserver/internal/sitesim"
	"reserver/internal/stats"
	"reserver/internal/tenant"
)

const (
	benchSkew = 2300 * time.Millisecond
	// benchOpenIn is how long after the daemon starts the bookings open:
	// the default lead (60 s) plus time for the arming scans (every 2 s,
	// 200 bookings each) to claim 2,000 bookings before their pre-warm.
	benchOpenIn = LeadDefault + 14*time.Second
	benchRate   = 2
	benchSlots  = 12
)

// netPath is the network between the daemon and the simulator.
type netPath struct {
	name             string
	up, down, jitter time.Duration
}

var (
	pathZero = netPath{name: "zero"}
	pathSym  = netPath{name: "sym10j2", up: 10 * time.Millisecond, down: 10 * time.Millisecond, jitter: 2 * time.Millisecond}
)

func (p netPath) String() string {
	via := "direct"
	if p.up > 0 || p.down > 0 || p.jitter > 0 {
		via = "netsim"
	}
	return fmt.Sprintf("path=%s via=%s up_ms=%g down_ms=%g jitter_ms=%g", p.name, via,
		float64(p.up)/1e6, float64(p.down)/1e6, float64(p.jitter)/1e6)
}

// benchResults keeps each configuration's figures, so that a configuration
// runs once even if the framework calls its function again with a larger
// b.N (it does not with -benchtime 1x, nor when one run exceeds 1 s).
var benchResults sync.Map // name → *benchFigures

type benchFigures struct {
	lines   []string
	metrics [][2]any // value, unit
}

// runOnce runs fn the first time name is seen, prints its BENCH lines, and
// reports its metrics on every call.
func runOnce(b *testing.B, name string, fn func(b *testing.B) *benchFigures) {
	b.Helper()
	v, ok := benchResults.Load(name)
	if !ok {
		f := fn(b)
		if b.Failed() || f == nil {
			return
		}
		for _, l := range f.lines {
			fmt.Println(l)
		}
		benchResults.Store(name, f)
		v = f
	}
	f := v.(*benchFigures)
	for _, m := range f.metrics {
		b.ReportMetric(m[0].(float64), m[1].(string))
	}
}

// benchEnv is one daemon's database with its sites and bookings.
type benchEnv struct {
	db       *database.DB
	store    *booking.Store
	tenant   int64
	profiles map[string]*profile.Profile
	ids      []int64
	logs     *observer.ObservedLogs
	logger   *zap.Logger
}

// newBenchEnv creates a migrated SQLite database with one tenant.
func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	db := dbtest.SQLite(b)
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, secret.KeySize))
	benchNoErr(b, err)
	ts := tenant.NewStore(db)
	tok, err := ts.CreateToken(ctx, "bench", tenant.RoleUser)
	benchNoErr(b, err)
	p, err := ts.Authenticate(ctx, tok)
	benchNoErr(b, err)
	// Only the clock measurement, the first submits and warnings are
	// kept: recording every Info line of a thousand bookings would weigh
	// on the heap figures.
	core, logs := observer.New(zapcore.InfoLevel)
	return &benchEnv{db: db, store: booking.NewStore(db, box), tenant: p.TenantID,
		profiles: map[string]*profile.Profile{}, logs: logs, logger: zap.New(pickCore{Core: core})}
}

// addSite adds the courtsim profile under name, at baseURL.
func (e *benchEnv) addSite(b *testing.B, name, baseURL string) {
	b.Helper()
	p := loadProfile(b, "courtsim.yaml", baseURL)
	p.Name = name
	e.profiles[name] = p
}

// addBooking queues a booking of account on site for (court, slot) of the
// day a week after opensAt (site clock), window seconds long.
func (e *benchEnv) addBooking(b *testing.B, site, account string, court, slot int, opensAt time.Time, window int) int64 {
	b.Helper()
	prof := e.profiles[site]
	hour := 5 + slot // the profile's timeNo is the start hour minus 5
	bk, _, err := e.store.Create(context.Background(), booking.NewBooking{
		TenantID: e.tenant, Site: site, Username: account, Password: sitesim.PasswordDefault,
		Court: strconv.Itoa(court), PlayDate: opensAt.In(prof.Location).AddDate(0, 0, 7).Format(time.DateOnly),
		StartTime: fmt.Sprintf("%02d:00", hour), EndTime: fmt.Sprintf("%02d:00", hour+1),
		OpensAt: opensAt, WindowSeconds: window, RatePerSecond: benchRate,
		Phone: "+821012345678", BookerName: "홍길동", Fields: map[string]string{"people": "2"},
	})
	benchNoErr(b, err)
	e.ids = append(e.ids, bk.ID)
	return bk.ID
}

// setOpensAt moves every queued booking's opening instant (site clock).
// Creating 2,000 bookings takes seconds; the opening is fixed after that,
// so that the daemon starts a known time before it.
func (e *benchEnv) setOpensAt(b *testing.B, opensAt time.Time) {
	b.Helper()
	err := e.db.Model(&booking.Booking{}).Where("state = ?", booking.Queued).
		Update("opens_at", opensAt.UTC()).Error
	benchNoErr(b, err)
}

// daemon is a daemon on the environment with the default configuration;
// mod may change it (and the BENCH line must then say so).
func (e *benchEnv) daemon(b *testing.B, mod func(*Config)) *Daemon {
	b.Helper()
	cfg := Config{Store: e.store, Profiles: e.profiles, Logger: e.logger, Instance: "bench"}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	benchNoErr(b, err)
	return d
}

// waitDone polls until every booking is terminal or until deadline (local).
func (e *benchEnv) waitDone(deadline time.Time) (done int64) {
	for {
		e.db.Model(&booking.Booking{}).Where("state IN ?",
			[]booking.State{booking.Succeeded, booking.Failed, booking.Cancelled}).Count(&done)
		if int(done) == len(e.ids) || time.Now().After(deadline) {
			return done
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (e *benchEnv) count(state booking.State) int {
	var n int64
	e.db.Model(&booking.Booking{}).Where("state = ?", state).Count(&n)
	return int(n)
}

// clockFigures returns the offset, uncertainty, precision and RTT of the
// (first) clock measurement, in ms.
func (e *benchEnv) clockFigures() (offset, unc, prec, rtt float64, measured bool) {
	for _, entry := range e.logs.FilterMessage("site clock measured").All() {
		m := entry.ContextMap()
		ms := func(k string) float64 {
			if v, ok := m[k].(time.Duration); ok {
				return float64(v) / float64(time.Millisecond)
			}
			return math.NaN()
		}
		return ms("offset"), ms("uncertainty"), ms("precision"), ms("rtt"), true
	}
	return 0, 0, 0, 0, false
}

// prepared counts the first submits that were rendered before the fire.
func (e *benchEnv) prepared() (prepared, first int) {
	for _, entry := range e.logs.FilterMessage("first submit").All() {
		first++
		if v, _ := entry.ContextMap()["prepared"].(bool); v {
			prepared++
		}
	}
	return prepared, first
}

// warnSummary lists the distinct warning messages with their counts.
func (e *benchEnv) warnSummary() string {
	counts := map[string]int{}
	for _, entry := range e.logs.All() {
		if entry.Level >= zapcore.WarnLevel {
			counts[entry.Message]++
		}
	}
	parts := make([]string, 0, len(counts))
	for msg, n := range counts {
		parts = append(parts, fmt.Sprintf("%d× %q", n, msg))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// firstSubmitsSent is when each booking's first submit left (attempt log,
// local clock), in ms after opensAt on the site's clock given its true
// skew.
func (e *benchEnv) firstSubmitsSent(b *testing.B, skew time.Duration, opensAt time.Time) []float64 {
	b.Helper()
	var sent []float64
	for _, id := range e.ids {
		rows, err := e.store.Attempts(context.Background(), id, 0, 1000)
		benchNoErr(b, err)
		for _, a := range rows {
			if a.Step == profile.StepSubmit {
				sent = append(sent, float64(a.SentAt.Add(skew).Sub(opensAt))/float64(time.Millisecond))
				break
			}
		}
	}
	return sorted(sent)
}

// pickCore passes on the clock measurements, the first submits and
// anything at Warn or above.
type pickCore struct{ zapcore.Core }

func (c pickCore) With(f []zapcore.Field) zapcore.Core { return pickCore{c.Core.With(f)} }

func (c pickCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if e.Level < zapcore.WarnLevel && e.Message != "site clock measured" && e.Message != "first submit" {
		return ce
	}
	return c.Core.Check(e, ce)
}

// benchAccount is the i-th account name of a simulator with n accounts in
// another process: sitesim pads the number to the digits of n, at least 3.
func benchAccount(i, n int) string {
	return fmt.Sprintf("user%0*d", max(3, len(strconv.Itoa(n))), i)
}

func benchNoErr(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func facilitiesFor(n int) int { return (n + benchSlots - 1) / benchSlots }

// percentile is stats.Percentile (the one definition), NaN for no values
// so that a missing figure does not print as 0.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return stats.Percentile(xs, p)
}

func sorted(xs []float64) []float64 {
	sort.Float64s(xs)
	return xs
}

// maxInWindow is the most instants of sorted ts inside any half-open
// window [t, t+w).
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for j < len(ts) && ts[j].Sub(ts[i]) < w {
			j++
		}
		best = max(best, j-i)
	}
	return best
}

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// simOpts configure one simulator process.
type simOpts struct {
	accounts, facilities int
	skew                 time.Duration
	openAt               time.Time // sim clock; zero = always open
	openLag              time.Duration
	path                 netPath
	record               bool // the ledger lists every request
	// addrs are the loopback addresses it listens on, each a host to the
	// daemon (default one, 127.0.0.1:0).
	addrs []string
}

// simulator is the simulated site in a child process (cmd/courtsim).
type simulator struct {
	url  string   // the first address
	urls []string // every address
	cmd  *exec.Cmd

	once sync.Once
	cpu  time.Duration
}

var (
	courtsimOnce sync.Once
	courtsimBin  string
	courtsimErr  error
)

// courtsimBinary builds cmd/courtsim once per benchmark process.
func courtsimBinary(b *testing.B) string {
	b.Helper()
	courtsimOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		dir, err := os.MkdirTemp("", "courtsim-bench")
		if err != nil {
			courtsimErr = err
			return
		}
		courtsimBin = filepath.Join(dir, "courtsim")
		if out, err := exec.Command(goBin, "build", "-o", courtsimBin, "reserver/cmd/courtsim").CombinedOutput(); err != nil {
			courtsimErr = fmt.Errorf("build courtsim: %v\n%s", err, out)
		}
	})
	benchNoErr(b, courtsimErr)
	return courtsimBin
}

// startSim starts a simulator process.
func startSim(b *testing.B, o simOpts) *simulator {
	b.Helper()
	addrs := o.addrs
	if len(addrs) == 0 {
		addrs = []string{"127.0.0.1:0"}
	}
	args := []string{"-addr", strings.Join(addrs, ","), "-accounts", strconv.Itoa(o.accounts),
		"-facilities", strconv.Itoa(max(o.facilities, 1)), "-slots", strconv.Itoa(benchSlots),
		"-skew", o.skew.String()}
	if !o.openAt.IsZero() {
		args = append(args, "-open-at", o.openAt.UTC().Format(time.RFC3339Nano))
	}
	if o.openLag != 0 {
		args = append(args, "-open-lag", o.openLag.String())
	}
	if o.path.up > 0 || o.path.down > 0 || o.path.jitter > 0 {
		args = append(args, "-net-up", o.path.up.String(), "-net-down", o.path.down.String(), "-net-jitter", o.path.jitter.String())
	}
	if o.record {
		args = append(args, "-record-requests")
	}
	cmd := exec.Command(courtsimBinary(b), args...)
	out := &firstLine{ch: make(chan string, 1)}
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	benchNoErr(b, cmd.Start())
	s := &simulator{cmd: cmd}
	select {
	case line := <-out.ch:
		// "courtsim: serving http://127.0.0.1:PORT ... [urls=URL1,URL2,...]"
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[2], "http://127.") {
			s.stop(b)
			b.Fatalf("unexpected courtsim banner %q", line)
		}
		s.url, s.urls = f[2], []string{f[2]}
		for _, field := range f {
			if v, ok := strings.CutPrefix(field, "urls="); ok {
				s.urls = strings.Split(v, ",")
			}
		}
		if len(s.urls) != len(addrs) {
			s.stop(b)
			b.Fatalf("courtsim serves %d addresses, asked for %d: %q", len(s.urls), len(addrs), line)
		}
	case <-time.After(10 * time.Second):
		s.stop(b)
		b.Fatal("courtsim did not start")
	}
	return s
}

// ledger is the simulator's ground truth.
func (s *simulator) ledger(b *testing.B) sitesim.Ledger {
	b.Helper()
	resp, err := http.Get(s.url + sitesim.PathLedger)
	benchNoErr(b, err)
	defer resp.Body.Close()
	var led sitesim.Ledger
	benchNoErr(b, json.NewDecoder(resp.Body).Decode(&led))
	return led
}

// setOpenAt moves the simulator's opening (sim clock).
func (s *simulator) setOpenAt(at time.Time) error {
	resp, err := http.PostForm(s.url+sitesim.PathOpenAt, url.Values{"at": {at.UTC().Format(time.RFC3339Nano)}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("open-at: status %d", resp.StatusCode)
	}
	return nil
}

// rssMiB is the child's resident set, from /proc.
func (s *simulator) rssMiB() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// stop stops the simulator and returns the CPU time it used.
func (s *simulator) stop(b *testing.B) time.Duration {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		waited := make(chan error, 1)
		go func() { waited <- s.cmd.Wait() }()
		select {
		case err := <-waited:
			if err != nil {
				b.Logf("courtsim: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-waited
		}
		if st := s.cmd.ProcessState; st != nil {
			s.cpu = st.UserTime() + st.SystemTime()
		}
	})
	return s.cpu
}

// firstLine hands the first line written to it to ch and drops the rest.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	ch   chan string
}

func (w *firstLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.sent = true
		w.ch <- string(w.buf[:i])
	}
	return len(p), nil
}

// establishedTo counts the established TCP connections to the site at
// siteURL (an IPv4 loopback address), from /proc/net/tcp; -1 where there
// is none.
func establishedTo(siteURL string) int {
	u, err := url.Parse(siteURL)
	if err != nil {
		return -1
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return -1
	}
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return -1
	}
	want := fmt.Sprintf(":%04X", port)
	n := 0
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		// local_address rem_address st ...; 01 is ESTABLISHED.
		if len(f) > 3 && strings.HasSuffix(f[2], want) && f[3] == "01" {
			n++
		}
	}
	return n
}
