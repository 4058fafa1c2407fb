package clocksync

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"reserver/internal/netsim"
	"reserver/internal/stats"
)

var printClockOnce, printWaitOnce sync.Once

// clockPath is one network path of BenchmarkClockOffset.
type clockPath struct {
	name             string
	up, down, jitter time.Duration // netsim's; all zero: direct
}

func (p clockPath) direct() bool { return p.up == 0 && p.down == 0 }

// bound is the error the Date-header method is held to on the path. The
// site reads its clock (up − down)/2 after the middle of the round trip
// (what no client can see), jitter moves each leg by up to ±jitter and so
// (up − down)/2 by up to jitter, and the search stops once the symmetric
// interval is at most ±Target: |up − down|/2 + jitter + Target.
func (p clockPath) bound() time.Duration {
	return (p.up-p.down).Abs()/2 + p.jitter + TargetDefault
}

// clockTrial is what one measurement found.
type clockTrial struct {
	err, precision, uncertainty time.Duration
	fireErr                     time.Duration // |arrival − aim| of a request sent at FireAt
	probes                      int
	took                        time.Duration
}

// BenchmarkClockOffset measures the clock offset of a real HTTP server on
// 127.0.0.1 whose clock runs 2.3 s ahead (plus a phase of its own for each
// worker, see clockTrials), 200 times over each of three
// paths: direct, through a netsim delay line of 10 ms ± 2 ms each way, and
// through one of 15 ms up and 5 ms down. Each trial starts at a random
// phase of the second with its own client and connection, which it opens
// with one request before measuring (the daemon measures on the session it
// has just logged in with). After measuring, it sends a POST at FireAt the
// next whole second of the site's clock and the site notes when it arrived.
// The paths run together, each with clockConcurrency trials at a time
// (≈ 2.5 minutes on 2 cores). Run with -benchtime=1x.
func BenchmarkClockOffset(b *testing.B) {
	const (
		trials = 200
		skew   = 2300 * time.Millisecond
	)
	paths := []clockPath{
		{name: "direct"},
		{name: "sym10j2", up: 10 * ms, down: 10 * ms, jitter: 2 * ms},
		{name: "asym15u5d", up: 15 * ms, down: 5 * ms},
	}
	site := newSkewedSite(b, skew)
	urls := make([]string, len(paths))
	lines := make([]*netsim.DelayLine, len(paths))
	for i, p := range paths {
		urls[i] = site.URL
		if p.direct() {
			continue
		}
		dl, err := netsim.Start(netsim.Config{Target: site.Listener.Addr().String(),
			Up: p.up, Down: p.down, Jitter: p.jitter, Seed: uint64(i + 1)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = dl.Close() })
		urls[i], lines[i] = dl.URL(), dl
	}
	for range b.N {
		results := make([][]clockTrial, len(paths))
		var wg sync.WaitGroup
		for i := range paths {
			wg.Go(func() { results[i] = clockTrials(b, site, urls[i], skew, trials, i, len(paths)) })
		}
		wg.Wait()
		if b.Failed() {
			return
		}
		for i, p := range paths {
			b.ReportMetric(float64(stats.Percentile(sortedErrs(results[i]), 99))/float64(time.Millisecond), p.name+"_err_p99_ms")
		}
		printClockOnce.Do(func() {
			for i, p := range paths {
				var late []time.Duration
				if lines[i] != nil {
					late = lines[i].Lateness()
				}
				fmt.Println(clockBenchLine(p, results[i], len(paths), late))
			}
		})
	}
}

func sortedErrs(ts []clockTrial) []time.Duration {
	errs := make([]time.Duration, len(ts))
	for i, t := range ts {
		errs[i] = t.err
	}
	slices.Sort(errs)
	return errs
}

// clockConcurrency is how many trials of one path run at a time.
const clockConcurrency = 10

// clockTrials runs n measurements of the site through url, clockConcurrency
// at a time. Trials that share a site clock would all aim their probes at
// the same instants, its second edges, and compete for the CPU exactly
// then, as no single measurement does: each worker of path i therefore
// measures a site clock of its own phase, 2.3 s + one of paths ×
// clockConcurrency evenly spread fractions of a second.
func clockTrials(b *testing.B, site *skewedSite, url string, skew time.Duration, n, path, paths int) []clockTrial {
	out := make([]clockTrial, n)
	var wg sync.WaitGroup
	for w := range clockConcurrency {
		slot := path*clockConcurrency + w
		phase := time.Duration(slot) * time.Second / time.Duration(paths*clockConcurrency)
		wg.Go(func() {
			for k := w; k < n; k += clockConcurrency {
				rng := rand.New(rand.NewPCG(uint64(path), uint64(k)))
				out[k] = clockTrialOnce(b, site, url+"/?phase="+phase.String(), skew+phase, rng)
			}
		})
	}
	wg.Wait()
	return out
}

// clockTrialOnce measures the site's clock, skew ahead of ours, at url.
func clockTrialOnce(b *testing.B, site *skewedSite, url string, skew time.Duration, rng *rand.Rand) clockTrial {
	ctx := b.Context()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	// Start at a random phase of the second, as a real booking does; back
	// to back, every trial would start just after an edge.
	time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
	if err := benchRequest(ctx, client, http.MethodHead, url); err != nil {
		b.Error(err)
		return clockTrial{}
	}
	start := time.Now()
	est, err := Measure(ctx, &HTTPProber{Client: client, URL: url}, Config{})
	took := time.Since(start)
	if err != nil {
		b.Error(err)
		return clockTrial{}
	}
	// Aim at the next whole second of the site's clock at least 100 ms away.
	siteT := est.LocalToSite(time.Now().Add(100 * ms)).Truncate(time.Second).Add(time.Second)
	if err := WaitUntil(ctx, nil, est.FireAt(siteT, 0)); err != nil {
		b.Error(err)
		return clockTrial{}
	}
	id := strconv.FormatUint(rng.Uint64(), 36)
	if err := benchRequest(ctx, client, http.MethodPost, url+"&fire="+id); err != nil {
		b.Error(err)
		return clockTrial{}
	}
	arrived, ok := site.arrivals.Load(id)
	if !ok {
		b.Errorf("the site did not note the POST %s", id)
		return clockTrial{}
	}
	return clockTrial{
		err:         (est.Offset - skew).Abs(),
		precision:   est.Precision,
		uncertainty: est.Uncertainty,
		fireErr:     arrived.(time.Time).Sub(siteT).Abs(),
		probes:      est.Probes,
		took:        took,
	}
}

func benchRequest(ctx context.Context, client *http.Client, method, url string) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// clockBenchLine is the BENCH line of one path. late is how late the
// delay line wrote each chunk (none for the direct path): on a loaded
// machine its timers add up to that to either leg, which moves the site's
// reading inside the round trip by up to half of it, so the line also
// states the bound with the p99 lateness added (line_bound_ms).
func clockBenchLine(p clockPath, ts []clockTrial, paths int, late []time.Duration) string {
	var errs, precs, uncs, fires, took []time.Duration
	var probes []int
	within, inBound, inLineBound := 0, 0, 0
	lateP99 := stats.Percentile(late, 99)
	lineBound := p.bound() + lateP99/2
	for _, t := range ts {
		errs, precs, uncs = append(errs, t.err), append(precs, t.precision), append(uncs, t.uncertainty)
		fires, took, probes = append(fires, t.fireErr), append(took, t.took), append(probes, t.probes)
		if t.err <= t.uncertainty {
			within++
		}
		if t.err <= p.bound() {
			inBound++
		}
		if t.err <= lineBound {
			inLineBound++
		}
	}
	for _, s := range [][]time.Duration{errs, precs, uncs, fires, took} {
		slices.Sort(s)
	}
	slices.Sort(probes)
	msf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	via, upDown := "direct", "up_ms=0 down_ms=0 jitter_ms=0"
	if !p.direct() {
		via = "netsim"
		upDown = fmt.Sprintf("up_ms=%g down_ms=%g jitter_ms=%g line_late_p50_ms=%.3f line_late_p99_ms=%.3f",
			msf(p.up), msf(p.down), msf(p.jitter), msf(stats.Percentile(late, 50)), msf(lateP99))
	}
	return fmt.Sprintf("BENCH clock path=%s site=httptest-loopback via=%s %s trials=%d concurrency=%d concurrent_paths=%d site_phases=%d "+
		"err_p50_ms=%.3f err_p99_ms=%.3f err_max_ms=%.3f bound_ms=%.1f "+
		"precision_p50_ms=%.3f uncertainty_p50_ms=%.3f fire_err_p50_ms=%.3f fire_err_p99_ms=%.3f "+
		"probes_p50=%d probes_max=%d duration_p50_s=%.2f duration_max_s=%.2f within_uncertainty=%d/%d within_bound=%d/%d "+
		"line_bound_ms=%.2f within_line_bound=%d/%d",
		p.name, via, upDown, len(ts), clockConcurrency, paths, paths*clockConcurrency,
		msf(stats.Percentile(errs, 50)), msf(stats.Percentile(errs, 99)), msf(errs[len(errs)-1]), msf(p.bound()),
		msf(stats.Percentile(precs, 50)), msf(stats.Percentile(uncs, 50)),
		msf(stats.Percentile(fires, 50)), msf(stats.Percentile(fires, 99)),
		stats.Percentile(probes, 50), probes[len(probes)-1],
		stats.Percentile(took, 50).Seconds(), took[len(took)-1].Seconds(), within, len(ts), inBound, len(ts),
		msf(lineBound), inLineBound, len(ts))
}

// BenchmarkWaitUntil reports how late WaitUntil returns on the real clock
// over 200 waits of random 1–20 ms (≈ 2 s per iteration).
func BenchmarkWaitUntil(b *testing.B) {
	const samples = 200
	rng := rand.New(rand.NewPCG(1, 2))
	for range b.N {
		late := make([]float64, 0, samples)
		for range samples {
			d := time.Millisecond + time.Duration(rng.Int64N(int64(19*time.Millisecond)))
			target := time.Now().Add(d)
			if err := WaitUntil(b.Context(), nil, target); err != nil {
				b.Fatal(err)
			}
			late = append(late, float64(time.Since(target))/float64(time.Microsecond))
		}
		slices.Sort(late)
		p50, p99, maxLate := stats.Percentile(late, 50), stats.Percentile(late, 99), late[samples-1]
		b.ReportMetric(p50, "p50_us")
		b.ReportMetric(p99, "p99_us")
		b.ReportMetric(maxLate, "max_us")
		printWaitOnce.Do(func() {
			fmt.Printf("BENCH wait samples=%d p50_us=%.1f p99_us=%.1f max_us=%.1f\n", samples, p50, p99, maxLate)
		})
	}
}
