package clocksync

import (
	"fmt"
	"math/rand/v2"
	"reserver/internal/stats"
	"slices"
	"sync"
	"testing"
	"time"
)

var printClockOnce, printWaitOnce sync.Once

// BenchmarkClockOffset measures the site clock offset of a real HTTP server
// on 127.0.0.1 running 2.3 s ahead, 20 times, and reports the absolute
// error. Run with -benchtime=1x: one iteration is 20 measurements (≈ 70 s).
func BenchmarkClockOffset(b *testing.B) {
	const (
		trials = 20
		skew   = 2300 * time.Millisecond
	)
	site := newSkewedSite(b, skew)
	rng := rand.New(rand.NewPCG(2, 3))
	for range b.N {
		var errsMS, uncMS []float64
		var probes []int
		for range trials {
			// Start at a random phase of the second, as a real booking
			// does; back to back, every trial would start just after an edge.
			time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
			est, err := Measure(b.Context(), newProber(b, site.URL), Config{})
			if err != nil {
				b.Fatal(err)
			}
			errsMS = append(errsMS, float64(absDur(est.Offset-skew))/float64(time.Millisecond))
			uncMS = append(uncMS, float64(est.Uncertainty)/float64(time.Millisecond))
			probes = append(probes, est.Probes)
		}
		slices.Sort(errsMS)
		slices.Sort(uncMS)
		slices.Sort(probes)
		p50, p99, maxErr := stats.Percentile(errsMS, 50), stats.Percentile(errsMS, 99), errsMS[trials-1]
		b.ReportMetric(p50, "p50_ms")
		b.ReportMetric(p99, "p99_ms")
		b.ReportMetric(maxErr, "max_ms")
		b.ReportMetric(float64(stats.Percentile(probes, 50)), "probes_p50")
		printClockOnce.Do(func() {
			// With 20 trials the p99 is the maximum; the site is an
			// httptest server on loopback with no latency (issue 16 asks
			// for ≥200 trials on a realistic path).
			fmt.Printf("BENCH clock site=httptest-loopback latency_ms=0 jitter_ms=0 trials=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f probes_p50=%d uncertainty_p50_ms=%.3f\n",
				trials, p50, p99, maxErr, stats.Percentile(probes, 50), stats.Percentile(uncMS, 50))
		})
	}
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
