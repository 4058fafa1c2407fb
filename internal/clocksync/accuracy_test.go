package clocksync

import (
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/stats"
)

// TestMeasureAccuracy measures many times over each kind of path, each trial
// at a random phase of the second and with a random skew, and holds the
// error to what the Date-header method can do on that path.
func TestMeasureAccuracy(t *testing.T) {
	t.Parallel()
	const trials = 200
	tests := []struct {
		name     string
		up, down time.Duration
		jitter   time.Duration // each leg takes its delay plus [0, jitter)
		// maxP99 bounds the 99th percentile of |Offset − skew|. On an
		// asymmetric path no Date-header estimate can beat |up − down|/2
		// (the site cannot be seen reading its clock anywhere but halfway
		// through the round trip), and the search stops at a symmetric
		// precision of Target.
		maxP99 time.Duration
	}{
		{name: "zero latency", maxP99: TargetDefault},
		{name: "10ms±2ms each way", up: 8 * ms, down: 8 * ms, jitter: 4 * ms, maxP99: 5 * ms},
		{name: "15ms up 5ms down", up: 15 * ms, down: 5 * ms, maxP99: (15*ms-5*ms)/2 + TargetDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Where the site reads its clock is off the round trip's middle
			// by (up − down)/2, plus the legs' jitter: by less than
			// bias + jitter/2. Precision claims nothing about that part.
			bias := absDur(tt.up-tt.down) / 2
			var errs, uncs, precs, excess, fires, took []time.Duration
			var probes []int
			early, earlyWithoutSpread := 0, 0
			for seed := range uint64(trials) {
				synctest.Test(t, func(t *testing.T) {
					skew := time.Duration(rand.New(rand.NewPCG(seed, 7)).Int64N(int64(6*time.Second))) - 3*time.Second
					site := &fakeSite{skew: skew, up: tt.up, down: tt.down, jitter: tt.jitter}
					est, d, err := measureFake(t, site, seed, Config{})
					require.NoError(t, err)
					e := absDur(est.Offset - skew)
					require.LessOrEqual(t, e, est.Uncertainty, "seed %d: skew %v outside %v ± %v", seed, skew, est.Offset, est.Uncertainty)
					require.LessOrEqual(t, e, est.Precision+bias+tt.jitter/2, "seed %d: precision %v", seed, est.Precision)
					require.Equal(t, site.count(), est.Probes)
					errs = append(errs, e)
					uncs = append(uncs, est.Uncertainty)
					precs = append(precs, est.Precision)
					excess = append(excess, e-est.Precision)
					// A request sent at FireAt reaches the site after the
					// up leg (on average up + jitter/2): the offset's bias
					// and RTT/2's error cancel there.
					siteT := est.LocalToSite(time.Now()).Truncate(time.Second).Add(time.Second)
					arrival := est.FireAt(siteT, 0).Add(tt.up + tt.jitter/2).Add(skew)
					fires = append(fires, absDur(arrival.Sub(siteT)))
					// The daemon's aim, Precision + Spread past T, must not
					// arrive early on a fast way up (a draw of its own).
					upLeg := tt.up
					if tt.jitter > 0 {
						upLeg += time.Duration(rand.New(rand.NewPCG(seed, 11)).Int64N(int64(tt.jitter)))
					}
					if est.FireAt(siteT, est.Precision+est.Spread).Add(upLeg).Add(skew).Before(siteT) {
						early++
					}
					if est.FireAt(siteT, est.Precision).Add(upLeg).Add(skew).Before(siteT) {
						earlyWithoutSpread++
					}
					require.LessOrEqual(t, est.Spread, 2*tt.jitter, "seed %d: spread beyond the legs' jitter", seed)
					took = append(took, d)
					probes = append(probes, est.Probes)
				})
			}
			for _, s := range [][]time.Duration{errs, uncs, precs, excess, fires, took} {
				slices.Sort(s)
			}
			slices.Sort(probes)
			p99 := stats.Percentile(errs, 99)
			t.Logf("aimed at precision + spread: %d early (%d with the precision alone)", early, earlyWithoutSpread)
			t.Logf("%d trials: error p50=%v p99=%v max=%v; precision p50=%v max=%v; error−precision p99=%v; fire error p99=%v; uncertainty p50=%v; probes p50=%d max=%d; took p50=%v max=%v",
				trials, stats.Percentile(errs, 50), p99, errs[trials-1],
				stats.Percentile(precs, 50), precs[trials-1], stats.Percentile(excess, 99), stats.Percentile(fires, 99), stats.Percentile(uncs, 50),
				stats.Percentile(probes, 50), probes[trials-1], stats.Percentile(took, 50), took[trials-1])
			require.LessOrEqual(t, p99, tt.maxP99, "p99 error")
			// The precision is not a lie: beyond it, only the path's
			// asymmetry and jitter.
			require.LessOrEqual(t, stats.Percentile(excess, 99), bias+tt.jitter/2, "p99 error beyond the precision")
			require.LessOrEqual(t, stats.Percentile(precs, 99), TargetDefault, "the search reaches the target")
			// Aiming is as good on the asymmetric path as on a symmetric
			// one: beyond the precision only the jitter of the offset and
			// of the median round trip.
			require.LessOrEqual(t, stats.Percentile(fires, 99), TargetDefault+tt.jitter, "p99 arrival error of FireAt")
			// A sample of ten probes does not always see the fastest way
			// up: about 1 in 100 may still be early (by precision alone, 1
			// in 6 on the jittered path).
			require.LessOrEqual(t, early, trials/100, "first submits aimed at precision + spread arrived before T")
		})
	}
}
