package schedule

import (
	"context"
	"fmt"
	"os"
	"runtime/trace"
	"slices"
	"testing"
	"time"

	"reserver/internal/booking"
)

// fireSiteLate: the simulator opens this long after the bookings' opening
// instant, so that after their first submit (answered not_open) every
// booking keeps trying and the steady state under the host ceiling is
// measured from the simulator's request log.
const fireSiteLate = 2 * time.Second

// BenchmarkFire: 100 and 1,000 bookings of distinct accounts and slots on
// one site (one host) open at the same instant T; the simulator's clock
// runs 2.3 s ahead, it runs in its own process, reached directly or
// through a delay line of 10 ms ± 2 ms each way. The daemon runs with its
// default configuration: the 50 requests/s host ceiling and the
// opening-instant policy of docs/opening.md. For each booking the arrival
// of its first submit is read from the simulator's ledger (on its clock,
// relative to T). The simulator opens fireSiteLate after T, so the
// bookings then keep trying under the ceiling; every 1 s window after the
// burst of first submits is checked in the simulator's request log.
func BenchmarkFire(b *testing.B) {
	for _, n := range []int{100, 1000} {
		for _, path := range []netPath{pathZero, pathSym} {
			name := fmt.Sprintf("bookings=%d/path=%s", n, path.name)
			b.Run(name, func(b *testing.B) {
				runOnce(b, "fire/"+name, func(b *testing.B) *benchFigures { return benchFire(b, n, path) })
			})
		}
	}
}

func benchFire(b *testing.B, n int, path netPath) *benchFigures {
	const window = 90 // s: 1,000 bookings repay their burst for 20 s, then need 40 s at the ceiling
	siteNow := func() time.Time { return time.Now().Add(benchSkew) }
	env := newBenchEnv(b)
	opensAt := siteNow().Add(time.Hour).Truncate(time.Second)
	sim := startSim(b, simOpts{accounts: n, facilities: facilitiesFor(n), skew: benchSkew,
		openAt: opensAt.Add(time.Hour), path: path, record: true})
	defer sim.stop(b)
	env.addSite(b, "courtsim", sim.url)
	for i := range n {
		env.addBooking(b, "courtsim", benchAccount(i+1, n), 1+i/benchSlots, 1+i%benchSlots, opensAt, window)
	}
	opensAt = siteNow().Add(benchOpenIn).Truncate(time.Second)
	env.setOpensAt(b, opensAt)
	benchNoErr(b, sim.setOpenAt(opensAt.Add(fireSiteLate)))

	d := env.daemon(b, nil)
	benchNoErr(b, d.Start(context.Background()))
	// The connections open to the site just before the opening: a submit
	// that finds none idle dials a new one at the opening instant.
	time.Sleep(time.Until(opensAt.Add(-benchSkew - 300*time.Millisecond)))
	conns := establishedTo(sim.url)
	traceOpening(b, opensAt.Add(-benchSkew))
	done := env.waitDone(opensAt.Add(-benchSkew + (window+10)*time.Second))
	d.Stop()
	if int(done) != n {
		b.Logf("%d of %d bookings finished in time", done, n)
	}

	led := sim.ledger(b)
	firstAt := map[string]time.Time{}
	for _, s := range led.Submits {
		if s.Account == "" {
			continue
		}
		if v, ok := firstAt[s.Account]; !ok || s.At.Before(v) {
			firstAt[s.Account] = s.At
		}
	}
	var offs []float64
	var burstEnd time.Time
	early := 0
	for _, at := range firstAt {
		offs = append(offs, float64(at.Sub(opensAt))/float64(time.Millisecond))
		if at.Before(opensAt) {
			early++
		}
		if at.After(burstEnd) {
			burstEnd = at
		}
	}
	offs = sorted(offs)
	// The steady state: every request the site received after the last
	// first submit, in every 1 s window.
	var after []time.Time
	paidBack := opensAt.Add(time.Duration(float64(n) / HostCeilingDefault * float64(time.Second)))
	duringPayback := 0
	for _, r := range led.Requests {
		if r.At.After(burstEnd) {
			after = append(after, r.At)
			if r.At.Before(paidBack.Add(-time.Second / HostCeilingDefault)) {
				duringPayback++
			}
		}
	}
	slices.SortFunc(after, func(a, b time.Time) int { return a.Compare(b) })
	max1s := maxInWindow(after, time.Second)
	if float64(max1s) > HostCeilingDefault {
		b.Errorf("a 1 s window after the opening burst held %d requests: above the host ceiling %g", max1s, HostCeilingDefault)
	}
	won := env.count(booking.Succeeded)
	if len(led.Reservations) != won {
		b.Errorf("the site holds %d reservations, the database %d successes", len(led.Reservations), won)
	}
	sent := env.firstSubmitsSent(b, benchSkew, opensAt)
	prepared, firsts := env.prepared()
	p50, p99, mx := percentile(offs, 50), percentile(offs, 99), percentile(offs, 100)
	line := fmt.Sprintf("BENCH fire bookings=%d sim=process hosts=1 host_ceiling=%g(default) egresses=1(implicit) %s skew_ms=%d aim=%s "+
		"p50_ms=%.2f p99_ms=%.2f max_ms=%.2f min_ms=%.2f early=%d sent_p50_ms=%.2f sent_p99_ms=%.2f prepared=%d/%d conns_at_open=%d "+
		"site_opens_after_ms=%d max_1s_after_burst=%d during_payback=%d won=%d",
		n, HostCeilingDefault, path, benchSkew.Milliseconds(), AimOpening,
		p50, p99, mx, percentile(offs, 0), early, percentile(sent, 50), percentile(sent, 99), prepared, firsts, conns,
		fireSiteLate.Milliseconds(), max1s, duringPayback, won)
	if missing := n - len(offs); missing > 0 {
		line += fmt.Sprintf(" no_submit=%d", missing)
	}
	if off, unc, prec, rtt, ok := env.clockFigures(); ok {
		line += fmt.Sprintf(" offset_ms=%.1f unc_ms=%.2f prec_ms=%.2f rtt_ms=%.2f", off, unc, prec, rtt)
	}
	if w := env.warnSummary(); w != "" {
		b.Logf("warnings: %s", w)
	}
	return &benchFigures{lines: []string{line}, metrics: [][2]any{
		{p50, "p50_ms"}, {p99, "p99_ms"}, {mx, "max_ms"}, {float64(early), "early"}, {float64(won), "won"},
	}}
}

// traceOpening writes an execution trace of the half second around the
// opening (local instant at) to $RESERVER_BENCH_TRACE when it is set, for
// `go tool trace`: where the first submits spend their time.
func traceOpening(b *testing.B, at time.Time) {
	path := os.Getenv("RESERVER_BENCH_TRACE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	benchNoErr(b, err)
	time.Sleep(time.Until(at.Add(-100 * time.Millisecond)))
	benchNoErr(b, trace.Start(f))
	time.AfterFunc(time.Until(at.Add(400*time.Millisecond)), func() {
		trace.Stop()
		_ = f.Close()
	})
}
