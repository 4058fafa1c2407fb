package schedule

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"reserver/internal/booking"
)

// scaleHosts: the simulator listens on this many loopback addresses (one
// site, one ledger), each a host to the daemon, so that 2,000 bookings at
// 2 requests/s (4,000 requests/s) stay under the default per-host ceiling
// of 50 requests/s: 20 bookings, 40 requests/s, per host.
const (
	scaleHosts  = 100
	scaleWindow = 60 // seconds
)

// BenchmarkScale: 1,000 and 2,000 bookings try for a whole 60 s window on
// a site that never opens, each at its rate (2 requests/s: a page visit and
// a submit), spread over scaleHosts hosts of one simulator in a child
// process, with the daemon's default configuration. The heap, goroutine
// and CPU figures are the daemon's (with its SQLite database and HTTP
// connections); the simulator's CPU and memory are reported separately.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{1000, 2000} {
		name := fmt.Sprintf("bookings=%d", n)
		b.Run(name, func(b *testing.B) {
			runOnce(b, "scale/"+name, func(b *testing.B) *benchFigures { return benchScale(b, n) })
		})
	}
}

func benchScale(b *testing.B, n int) *benchFigures {
	siteNow := func() time.Time { return time.Now().Add(benchSkew) }
	env := newBenchEnv(b)
	addrs := make([]string, scaleHosts)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("127.0.0.%d:0", i+1)
	}
	// The site never opens: every booking tries for the whole window.
	sim := startSim(b, simOpts{accounts: n, facilities: facilitiesFor(n), skew: benchSkew,
		openAt: siteNow().Add(24 * time.Hour), addrs: addrs})
	defer sim.stop(b)
	for i, u := range sim.urls {
		env.addSite(b, fmt.Sprintf("courtsim-%03d", i+1), u)
	}
	opensAt := siteNow().Add(time.Hour).Truncate(time.Second)
	for i := range n {
		site := fmt.Sprintf("courtsim-%03d", i%scaleHosts+1)
		env.addBooking(b, site, benchAccount(i+1, n), 1+i/benchSlots, 1+i%benchSlots, opensAt, scaleWindow)
	}
	opensAt = siteNow().Add(benchOpenIn).Truncate(time.Second)
	env.setOpensAt(b, opensAt)
	localOpen := opensAt.Add(-benchSkew)

	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()
	r0 := rusage(syscall.RUSAGE_SELF)

	d := env.daemon(b, nil)
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
	perBooking = sorted(perBooking)
	failedWindow := env.count(booking.Failed)
	simCPU := sim.stop(b)

	reqPerS := float64(inWindow) / scaleWindow
	heapKiB := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n) / 1024
	stackKiB := float64(int64(m1.StackInuse)-int64(m0.StackInuse)) / float64(n) / 1024
	cpu := (r1 - r0).Seconds()
	line := fmt.Sprintf("BENCH scale bookings=%d sim=process hosts=%d host_ceiling=%g(default) egresses=1(implicit) %s window_s=%d "+
		"req_per_s=%.1f target_req_per_s=%d max_per_booking_1s=%d rate=%d "+
		"heap_per_booking_kib=%.1f goroutines=%d cpu_s=%.1f stack_per_booking_kib=%.1f running=%d "+
		"per_booking_min=%.0f per_booking_p50=%.0f min_gap_ms=%.1f gaps_under_500ms=%d failed_window=%d sim_cpu_s=%.1f sim_rss_mib=%.0f",
		n, scaleHosts, HostCeilingDefault, pathZero, scaleWindow, reqPerS, n*benchRate, maxPer1s, benchRate, heapKiB, goroutines-g0, cpu, stackKiB, running,
		percentile(perBooking, 0), percentile(perBooking, 50), float64(minGap)/float64(time.Millisecond), shortGaps, failedWindow, simCPU.Seconds(), simRSS)
	if w := env.warnSummary(); w != "" {
		b.Logf("warnings: %s", w)
	}
	b.Logf("attempt rows: %d in the window, %d in all (pre-warm included)", inWindow, total)
	return &benchFigures{lines: []string{line}, metrics: [][2]any{
		{reqPerS, "req/s"}, {float64(maxPer1s), "max_per_booking_1s"}, {heapKiB, "heap_KiB/booking"},
		{float64(goroutines - g0), "goroutines"}, {cpu, "cpu_s"},
	}}
}
