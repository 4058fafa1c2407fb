package schedule

// The daemon's benchmarks: real loopback sockets, real time, a real SQLite
// file. Each configuration prints exactly one line starting with "BENCH"
// (make bench greps them) and reports the same figures with b.ReportMetric.
//
//	BenchmarkFire:  N bookings opening at the same instant on a site whose
//	                clock runs 2.3 s ahead; when does each first submit
//	                arrive, on the site's clock? Synced against naive.
//	BenchmarkScale: N bookings trying for a whole 60 s window on a site that
//	                never opens; rate, per-booking spacing, heap, goroutines,
//	                CPU.

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
	"reserver/internal/stats"
	"runtime"
	"slices"
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
	"reserver/internal/tenant"
)

const (
	benchSkew = 2300 * time.Millisecond
	// benchLead is the pre-warm lead: long enough for 2,000 claims (the
	// arming scan claims ClaimBatchDefault = 200 per ScanEvery), 2,000
	// logins and page visits and the clock measurement to finish before
	// the opening, short enough to keep a run under half a minute.
	benchLead = 10 * time.Second
	// benchOpenIn is how long after the daemon starts the bookings open:
	// the first arming scan (at Start) already sees them within its horizon
	// (Lead + 2×ScanEvery + 5 s).
	benchOpenIn = benchLead + 6*time.Second
	// benchCeiling lifts the per-host ceiling: at the default 50 req/s the
	// daemon would spread 1,000 first submits over 20 s, which is the
	// ceiling's job in production (sites block bursts) but not what these
	// benchmarks measure.
	benchCeiling = 1e6
	benchRate    = 2
	benchSlots   = 12
)

// benchConditions is said on every BENCH line of this file: what the
// figures are measured under. The host ceiling is lifted (not the default
// HostCeilingDefault), one egress, no latency injected: the simulator
// answers on loopback as fast as it can.
var benchConditions = fmt.Sprintf("host_ceiling=%g(lifted;default=%g) egresses=1 latency_ms=0 jitter_ms=0",
	float64(benchCeiling), HostCeilingDefault)

// benchResults keeps each configuration's figures, so that a configuration
// runs once even if the framework calls its function again with a larger
// b.N (it does not with -benchtime 1x, nor when one run exceeds 1 s).
var benchResults sync.Map // name → *benchFigures

type benchFigures struct {
	line    string
	metrics [][2]any // value, unit
}

// runOnce runs fn the first time name is seen, prints its BENCH line, and
// reports its metrics on every call.
func runOnce(b *testing.B, name string, fn func(b *testing.B) *benchFigures) {
	b.Helper()
	v, ok := benchResults.Load(name)
	if !ok {
		f := fn(b)
		if b.Failed() || f == nil {
			return
		}
		fmt.Println(f.line)
		benchResults.Store(name, f)
		v = f
	}
	f := v.(*benchFigures)
	for _, m := range f.metrics {
		b.ReportMetric(m[0].(float64), m[1].(string))
	}
}

// benchEnv is one configuration's database with its bookings.
type benchEnv struct {
	db     *database.DB
	store  *booking.Store
	prof   *profile.Profile
	ids    []int64
	logs   *observer.ObservedLogs
	logger *zap.Logger
}

// newBenchEnv creates a migrated SQLite database and n bookings of
// distinct accounts (user001..) and distinct (court, slot) pairs on the
// site at siteURL, all opening at opensAt (site clock), window seconds
// long, at the benchmark rate.
func newBenchEnv(b *testing.B, password string, n int, opensAt time.Time, window int) *benchEnv {
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
	// The profile's base URL is set when the simulator has started.
	prof := loadProfile(b, "courtsim.yaml", "http://127.0.0.1:1")
	store := booking.NewStore(db, box)
	playDate := opensAt.In(prof.Location).AddDate(0, 0, 7).Format(time.DateOnly)
	env := &benchEnv{db: db, store: store, prof: prof}
	for i := range n {
		court, slot := 1+i/benchSlots, 1+i%benchSlots
		hour := 5 + slot // the profile's timeNo is the start hour minus 5
		bk, _, err := store.Create(ctx, booking.NewBooking{
			TenantID: p.TenantID, Site: "courtsim", Username: benchAccount(i+1, n), Password: password,
			Court: strconv.Itoa(court), PlayDate: playDate,
			StartTime: fmt.Sprintf("%02d:00", hour), EndTime: fmt.Sprintf("%02d:00", hour+1),
			OpensAt: opensAt, WindowSeconds: window, RatePerSecond: benchRate,
			Phone: "+821012345678", BookerName: "홍길동", Fields: map[string]string{"people": "2"},
		})
		benchNoErr(b, err)
		env.ids = append(env.ids, bk.ID)
	}
	// Only the clock measurement and warnings are kept: recording every
	// Info line of a thousand bookings would weigh on the heap figures.
	core, logs := observer.New(zapcore.InfoLevel)
	env.logs = logs
	env.logger = zap.New(pickCore{Core: core})
	return env
}

// setOpensAt moves every booking's opening instant (site clock). Creating
// 2,000 bookings takes seconds; the opening is fixed after that, so that
// the daemon starts a known time before it.
func (e *benchEnv) setOpensAt(b *testing.B, opensAt time.Time) {
	b.Helper()
	err := e.db.Model(&booking.Booking{}).Where("state = ?", booking.Queued).
		Update("opens_at", opensAt.UTC()).Error
	benchNoErr(b, err)
}

func (e *benchEnv) daemon(b *testing.B, siteURL string) *Daemon {
	b.Helper()
	prof, err := e.prof.WithBaseURL(siteURL)
	benchNoErr(b, err)
	e.prof = prof
	d, err := New(Config{
		Store: e.store, Profiles: map[string]*profile.Profile{"courtsim": e.prof},
		Logger: e.logger, Instance: "bench", Lead: benchLead, ScanEvery: time.Second,
		Grace: 2 * time.Second, HostCeiling: benchCeiling,
	})
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

// clockFigures returns the offset, uncertainty and RTT of the (first)
// clock measurement, in ms, and the number of warnings logged.
func (e *benchEnv) clockFigures() (offset, unc, rtt float64, measured bool, warns int) {
	for _, entry := range e.logs.All() {
		if entry.Level >= zapcore.WarnLevel {
			warns++
			continue
		}
		if measured {
			continue
		}
		m := entry.ContextMap()
		ms := func(k string) float64 {
			if v, ok := m[k].(time.Duration); ok {
				return float64(v) / float64(time.Millisecond)
			}
			return math.NaN()
		}
		offset, unc, rtt, measured = ms("offset"), ms("uncertainty"), ms("rtt"), true
	}
	return offset, unc, rtt, measured, warns
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

// pickCore passes on the clock measurement and anything at Warn or above.
type pickCore struct{ zapcore.Core }

func (c pickCore) With(f []zapcore.Field) zapcore.Core { return pickCore{c.Core.With(f)} }

func (c pickCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if e.Level < zapcore.WarnLevel && e.Message != "site clock measured" {
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

// BenchmarkFire: 100 and 1,000 bookings of distinct accounts and slots open
// at the same instant on a simulator whose clock runs 2.3 s ahead. For each
// booking the arrival of its first submit is read from the simulator's
// ledger (offset from the opening on the simulator's clock). The synced
// daemon pre-warms, measures the site's clock and fires so that the submit
// arrives at the opening plus the margin; the naive bot (naiveBot, here in
// the benchmark: nothing of it is in the daemon) waits for the opening on
// the local clock and then logs in, visits and submits.
//
// The simulator runs in a child process (sim=process: like a real site, it
// does not share the daemon's Go scheduler) and, for comparison, in the
// benchmark's own process (sim=inprocess: its handlers queue behind the
// daemon's goroutines, which adds milliseconds to every arrival).
func BenchmarkFire(b *testing.B) {
	for _, n := range []int{100, 1000} {
		for _, where := range []string{"process", "inprocess"} {
			for _, naive := range []bool{false, true} {
				mode := "synced"
				if naive {
					mode = "naive"
				}
				name := fmt.Sprintf("bookings=%d/sim=%s/mode=%s", n, where, mode)
				b.Run(name, func(b *testing.B) {
					runOnce(b, "fire/"+name, func(b *testing.B) *benchFigures { return benchFire(b, n, where, mode) })
				})
			}
		}
	}
}

func benchFire(b *testing.B, n int, where, mode string) *benchFigures {
	// The simulator's clock is the machine's plus the skew.
	siteNow := func() time.Time { return time.Now().Add(benchSkew) }
	env := newBenchEnv(b, sitesim.PasswordDefault, n, siteNow().Add(time.Hour), 60)
	opensAt := siteNow().Add(benchOpenIn).Truncate(time.Second)
	env.setOpensAt(b, opensAt)
	sim := startSim(b, where, n, opensAt)
	defer sim.stop(b)

	var bot *naiveBot
	var d *Daemon
	if mode == "naive" {
		bot = startNaiveBot(b, env, sim.url, opensAt)
	} else {
		d = env.daemon(b, sim.url)
		benchNoErr(b, d.Start(context.Background()))
	}
	// The connections open to the site just before the opening: a submit
	// that finds none idle dials a new one at the opening instant.
	time.Sleep(time.Until(opensAt.Add(-benchSkew - 300*time.Millisecond)))
	conns := establishedTo(sim.url)
	// Everyone wins within a second or two of the opening; the naive bot
	// starts 2.3 s late.
	if bot != nil {
		bot.wait()
	} else {
		done := env.waitDone(opensAt.Add(-benchSkew + 30*time.Second))
		d.Stop()
		if int(done) != n {
			b.Logf("%d of %d bookings finished in time", done, n)
		}
	}

	led := sim.ledger(b)
	first := map[string]float64{}
	for _, s := range led.Submits {
		if s.Account == "" {
			continue
		}
		if v, ok := first[s.Account]; !ok || s.OffsetMS < v {
			first[s.Account] = s.OffsetMS
		}
	}
	offs := make([]float64, 0, len(first))
	early := 0
	for _, v := range first {
		offs = append(offs, v)
		if v < 0 {
			early++
		}
	}
	slices.Sort(offs)
	won := env.count(booking.Succeeded)
	if bot != nil {
		won = int(bot.won.Load())
	}
	if len(led.Reservations) != won {
		b.Errorf("the site holds %d reservations, the database %d successes", len(led.Reservations), won)
	}
	p50, p99, mx := percentile(offs, 50), percentile(offs, 99), percentile(offs, 100)
	line := fmt.Sprintf("BENCH fire bookings=%d sim=%s mode=%s %s p50_ms=%.2f p99_ms=%.2f max_ms=%.2f early=%d won=%d min_ms=%.2f",
		n, where, mode, benchConditions, p50, p99, mx, early, won, percentile(offs, 0))
	if missing := n - len(offs); missing > 0 {
		line += fmt.Sprintf(" no_submit=%d", missing)
	}
	// When the first submits left, from the attempt log (local clock,
	// turned into the site's with the simulator's true skew): what the
	// daemon controls, before the network and the site's own handling.
	var sent []float64
	if bot != nil {
		sent = bot.firstSent(opensAt)
	}
	for _, id := range env.ids {
		if bot != nil {
			break
		}
		rows, err := env.store.Attempts(context.Background(), id, 0, 1000)
		benchNoErr(b, err)
		for _, a := range rows {
			if a.Step == "submit" {
				sent = append(sent, float64(a.SentAt.Add(benchSkew).Sub(opensAt))/float64(time.Millisecond))
				break
			}
		}
	}
	slices.Sort(sent)
	line += fmt.Sprintf(" sent_p50_ms=%.2f sent_max_ms=%.2f conns_at_open=%d", percentile(sent, 50), percentile(sent, 100), conns)
	if off, unc, rtt, ok, _ := env.clockFigures(); ok {
		line += fmt.Sprintf(" offset_ms=%.1f unc_ms=%.2f rtt_ms=%.2f", off, unc, rtt)
	}
	if w := env.warnSummary(); w != "" {
		b.Logf("warnings: %s", w)
	}
	return &benchFigures{line: line, metrics: [][2]any{
		{p50, "p50_ms"}, {p99, "p99_ms"}, {mx, "max_ms"}, {float64(early), "early"}, {float64(won), "won"},
	}}
}

// percentile is stats.Percentile (the one definition), NaN for no values
// so that a missing figure does not print as 0.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return stats.Percentile(xs, p)
}

// BenchmarkScale: 1,000 and 2,000 bookings try for a whole 60 s window on
// a site that never opens, each at its rate (2 requests/s: a page visit and
// a submit). The simulator runs in a child process (cmd/courtsim), so that
// the heap, goroutine and CPU figures are the daemon's (with its SQLite
// database and HTTP client connections) and not the site's; the site's CPU
// and memory are reported separately (sim_cpu_s, sim_rss_mib).
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{1000, 2000} {
		name := fmt.Sprintf("bookings=%d", n)
		b.Run(name, func(b *testing.B) {
			runOnce(b, "scale/"+name, func(b *testing.B) *benchFigures { return benchScale(b, n) })
		})
	}
}

const scaleWindow = 60 // seconds

func benchScale(b *testing.B, n int) *benchFigures {
	siteNow := func() time.Time { return time.Now().Add(benchSkew) }
	env := newBenchEnv(b, sitesim.PasswordDefault, n, siteNow().Add(time.Hour), scaleWindow)
	opensAt := siteNow().Add(benchOpenIn).Truncate(time.Second)
	env.setOpensAt(b, opensAt)
	localOpen := opensAt.Add(-benchSkew)
	// The site never opens: every booking tries for the whole window.
	sim := startSim(b, "process", n, siteNow().Add(24*time.Hour))
	defer sim.stop(b)

	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()
	r0 := rusage(syscall.RUSAGE_SELF)

	d := env.daemon(b, sim.url)
	benchNoErr(b, d.Start(context.Background()))

	// In the middle of the window every booking is running.
	time.Sleep(time.Until(localOpen.Add(scaleWindow * time.Second / 2)))
	running := d.Running()
	goroutines := runtime.NumGoroutine()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	simRSS := sim.rssMiB()

	done := env.waitDone(localOpen.Add((scaleWindow + 20) * time.Second))
	d.Stop()
	r1 := rusage(syscall.RUSAGE_SELF)
	if int(done) != n {
		b.Logf("%d of %d bookings finished in time", done, n)
	}
	if running != n {
		b.Logf("only %d of %d bookings were running in the middle of the window", running, n)
	}

	// Every request of the window, from the attempt log (Stop flushed it).
	var inWindow, total, maxPer1s, shortGaps int
	minGap := time.Hour
	var perBooking []float64
	for _, id := range env.ids {
		var sent []time.Time
		var after int64
		for {
			rows, err := env.store.Attempts(context.Background(), id, after, 1000)
			benchNoErr(b, err)
			for _, a := range rows {
				total++
				if !a.SentAt.Before(localOpen) {
					sent = append(sent, a.SentAt)
				}
			}
			if len(rows) < 1000 {
				break
			}
			after = rows[len(rows)-1].ID
		}
		inWindow += len(sent)
		perBooking = append(perBooking, float64(len(sent)))
		maxPer1s = max(maxPer1s, maxInWindow(sent, time.Second))
		for i := 1; i < len(sent); i++ {
			gap := sent[i].Sub(sent[i-1])
			minGap = min(minGap, gap)
			if gap < time.Second/benchRate {
				shortGaps++
			}
		}
	}
	slices.Sort(perBooking)
	failedWindow := env.count(booking.Failed)
	simCPU := sim.stop(b)

	reqPerS := float64(inWindow) / scaleWindow
	heapKiB := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n) / 1024
	stackKiB := float64(int64(m1.StackInuse)-int64(m0.StackInuse)) / float64(n) / 1024
	cpu := (r1 - r0).Seconds()
	line := fmt.Sprintf("BENCH scale bookings=%d "+benchConditions+" window_s=%d req_per_s=%.1f max_per_booking_1s=%d rate=%d "+
		"heap_per_booking_kib=%.1f goroutines=%d cpu_s=%.1f stack_per_booking_kib=%.1f running=%d "+
		"per_booking_min=%.0f per_booking_p50=%.0f min_gap_ms=%.1f gaps_under_500ms=%d failed_window=%d sim_cpu_s=%.1f sim_rss_mib=%.0f",
		n, scaleWindow, reqPerS, maxPer1s, benchRate, heapKiB, goroutines-g0, cpu, stackKiB, running,
		percentile(perBooking, 0), percentile(perBooking, 50), float64(minGap)/float64(time.Millisecond), shortGaps, failedWindow, simCPU.Seconds(), simRSS)
	if w := env.warnSummary(); w != "" {
		b.Logf("warnings: %s", w)
	}
	b.Logf("attempt rows: %d in the window, %d in all (pre-warm included)", inWindow, total)
	return &benchFigures{line: line, metrics: [][2]any{
		{reqPerS, "req/s"}, {float64(maxPer1s), "max_per_booking_1s"}, {heapKiB, "heap_KiB/booking"},
		{float64(goroutines - g0), "goroutines"}, {cpu, "cpu_s"},
	}}
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

// simulator is the simulated site, in a child process (cmd/courtsim) or in
// this one (sitesim.Start).
type simulator struct {
	url string
	srv *sitesim.Server // in this process
	cmd *exec.Cmd       // in a child process

	once sync.Once
	cpu  time.Duration
}

// startSim starts a simulator with n accounts, enough facilities for n
// distinct slots, the +2.3 s skew and the opening at openAt (sim clock).
// A child process is built from cmd/courtsim (the go command caches it).
func startSim(b *testing.B, where string, n int, openAt time.Time) *simulator {
	b.Helper()
	if where == "inprocess" {
		srv, err := sitesim.Start(sitesim.Options{
			Addr: "127.0.0.1:0", Skew: benchSkew, Accounts: n, Facilities: facilitiesFor(n), Slots: benchSlots,
			OpenAt: openAt,
		})
		benchNoErr(b, err)
		if srv.AccountName(n) != benchAccount(n, n) {
			srv.Close()
			b.Fatalf("account %d is %q on the simulator", n, srv.AccountName(n))
		}
		return &simulator{url: srv.URL(), srv: srv}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(b.TempDir(), "courtsim")
	build := exec.Command(goBin, "build", "-o", bin, "reserver/cmd/courtsim")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build courtsim: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-accounts", strconv.Itoa(n),
		"-facilities", strconv.Itoa(facilitiesFor(n)), "-slots", strconv.Itoa(benchSlots),
		"-skew", benchSkew.String(), "-open-at", openAt.UTC().Format(time.RFC3339Nano))
	out := &firstLine{ch: make(chan string, 1)}
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	benchNoErr(b, cmd.Start())
	s := &simulator{cmd: cmd}
	select {
	case line := <-out.ch:
		// "courtsim: serving http://127.0.0.1:PORT open_at=..."
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[2], "http://127.") {
			s.stop(b)
			b.Fatalf("unexpected courtsim banner %q", line)
		}
		s.url = f[2]
	case <-time.After(10 * time.Second):
		s.stop(b)
		b.Fatal("courtsim did not start")
	}
	return s
}

// ledger is the simulator's ground truth.
func (s *simulator) ledger(b *testing.B) sitesim.Ledger {
	b.Helper()
	if s.srv != nil {
		return s.srv.Ledger()
	}
	resp, err := http.Get(s.url + sitesim.PathLedger)
	benchNoErr(b, err)
	defer resp.Body.Close()
	var led sitesim.Ledger
	benchNoErr(b, json.NewDecoder(resp.Body).Decode(&led))
	return led
}

// rssMiB is the child's resident set, from /proc (0 where there is none).
func (s *simulator) rssMiB() float64 {
	if s.cmd == nil {
		return 0
	}
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

// stop stops the simulator and returns the CPU time a child used.
func (s *simulator) stop(b *testing.B) time.Duration {
	s.once.Do(func() {
		if s.srv != nil {
			_ = s.srv.Close()
			return
		}
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
