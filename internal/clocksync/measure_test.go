package clocksync

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// measureFake runs Measure against site inside the current bubble after a
// random delay (so that the probes start at a random phase of the second)
// and returns the estimate and how long it took in bubble time.
func measureFake(t *testing.T, site *fakeSite, seed uint64, cfg Config) (Estimate, time.Duration, error) {
	t.Helper()
	site.rng = rand.New(rand.NewPCG(seed, 1))
	time.Sleep(time.Duration(site.rng.Int64N(int64(time.Second))))
	start := time.Now()
	est, err := Measure(t.Context(), site, cfg)
	return est, time.Since(start), err
}

func TestMeasureRecoversSkew(t *testing.T) {
	t.Parallel()
	const loopbackTook = 3200 * time.Millisecond // three passes
	tests := []struct {
		skew, oneWay, jitter time.Duration
		maxUncertainty       time.Duration
		maxTook              time.Duration
	}{
		{skew: 2300 * time.Millisecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond, maxUncertainty: TargetDefault, maxTook: loopbackTook},
		{skew: -1700 * time.Millisecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond, maxUncertainty: TargetDefault, maxTook: loopbackTook},
		{skew: 999 * time.Millisecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond, maxUncertainty: TargetDefault, maxTook: loopbackTook},
		{skew: -400 * time.Microsecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond, maxUncertainty: TargetDefault, maxTook: loopbackTook},
		{skew: 0, oneWay: 300 * time.Microsecond, jitter: 200 * time.Microsecond, maxUncertainty: TargetDefault, maxTook: loopbackTook},
		// Round trips longer than the target: precision is bounded by the
		// round trip (see stopHalfWidth), not by the target.
		{skew: 37*time.Second + 500*time.Millisecond, oneWay: time.Millisecond, jitter: 300 * time.Microsecond, maxUncertainty: 3 * time.Millisecond, maxTook: 6 * time.Second},
		{skew: -3200 * time.Millisecond, oneWay: 15 * time.Millisecond, jitter: 3 * time.Millisecond, maxUncertainty: 40 * time.Millisecond, maxTook: 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("skew=%v/oneWay=%v", tt.skew, tt.oneWay), func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(10) {
				synctest.Test(t, func(t *testing.T) {
					site := &fakeSite{skew: tt.skew, oneWay: tt.oneWay, jitter: tt.jitter}
					est, took, err := measureFake(t, site, seed, Config{})
					require.NoError(t, err)
					require.LessOrEqual(t, absDur(est.Offset-tt.skew), est.Uncertainty,
						"seed %d: true skew outside the stated interval %v ± %v", seed, est.Offset, est.Uncertainty)
					require.LessOrEqual(t, est.Uncertainty, tt.maxUncertainty, "seed %d", seed)
					require.LessOrEqual(t, est.Uncertainty, max(TargetDefault, est.RTT), "seed %d", seed)
					require.Equal(t, site.count(), est.Probes)
					require.LessOrEqual(t, est.Probes, MaxProbesDefault)
					require.InDelta(t, 2*tt.oneWay+tt.jitter, est.RTT, float64(tt.jitter+time.Microsecond))
					require.Equal(t, time.Now(), est.At)
					require.LessOrEqual(t, took, tt.maxTook, "seed %d", seed)
				})
			}
		})
	}
}

// TestMeasureCost pins down what a measurement costs on loopback-like
// latency: few probes and a few seconds, over many phases.
func TestMeasureCost(t *testing.T) {
	t.Parallel()
	const trials = 100
	var probes []int
	var took []time.Duration
	for seed := range uint64(trials) {
		synctest.Test(t, func(t *testing.T) {
			site := &fakeSite{skew: 2300 * time.Millisecond, oneWay: 100 * time.Microsecond, jitter: 100 * time.Microsecond}
			est, d, err := measureFake(t, site, seed, Config{})
			require.NoError(t, err)
			require.LessOrEqual(t, est.Uncertainty, TargetDefault)
			probes = append(probes, est.Probes)
			took = append(took, d)
		})
	}
	slices.Sort(probes)
	slices.Sort(took)
	t.Logf("probes p50=%d p90=%d max=%d; time p50=%v p90=%v max=%v",
		percentile(probes, 50), percentile(probes, 90), probes[trials-1],
		percentile(took, 50), percentile(took, 90), took[trials-1])
	require.LessOrEqual(t, percentile(probes, 50), 14)
	require.LessOrEqual(t, probes[trials-1], MaxProbesDefault)
	require.LessOrEqual(t, took[trials-1], 3100*time.Millisecond)
}
