package clocksync

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reserver/internal/stats"
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
	const loopbackTook = 3600 * time.Millisecond // three passes
	tests := []struct {
		skew, oneWay, jitter time.Duration
		maxTook              time.Duration
	}{
		{skew: 2300 * time.Millisecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond, maxTook: loopbackTook},
		{skew: -1700 * time.Millisecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond, maxTook: loopbackTook},
		{skew: 999 * time.Millisecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond, maxTook: loopbackTook},
		{skew: -400 * time.Microsecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond, maxTook: loopbackTook},
		{skew: 0, oneWay: 300 * time.Microsecond, jitter: 200 * time.Microsecond, maxTook: loopbackTook},
		// Round trips longer than the target: one pass cannot resolve much
		// finer than 1.5 round trips, and below that every probe bisects
		// on an edge of its own (see plan.go), a second each.
		{skew: 37*time.Second + 500*time.Millisecond, oneWay: time.Millisecond, jitter: 300 * time.Microsecond, maxTook: 6 * time.Second},
		{skew: -3200 * time.Millisecond, oneWay: 15 * time.Millisecond, jitter: 3 * time.Millisecond, maxTook: 8 * time.Second},
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
					// The path is symmetric: beyond the precision only the
					// jitter of (up − down)/2, less than jitter/2.
					require.LessOrEqual(t, absDur(est.Offset-tt.skew), est.Precision+tt.jitter/2, "seed %d", seed)
					require.LessOrEqual(t, est.Precision, TargetDefault, "seed %d", seed)
					// The hard interval reaches at most half the longest
					// round trip beyond the symmetric one on either side.
					require.LessOrEqual(t, est.Uncertainty, est.Precision+tt.oneWay+tt.jitter, "seed %d", seed)
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
			require.LessOrEqual(t, est.Precision, TargetDefault)
			probes = append(probes, est.Probes)
			took = append(took, d)
		})
	}
	slices.Sort(probes)
	slices.Sort(took)
	t.Logf("probes p50=%d p90=%d max=%d; time p50=%v p90=%v max=%v",
		stats.Percentile(probes, 50), stats.Percentile(probes, 90), probes[trials-1],
		stats.Percentile(took, 50), stats.Percentile(took, 90), took[trials-1])
	require.LessOrEqual(t, stats.Percentile(probes, 50), 12)
	require.LessOrEqual(t, probes[trials-1], 16)
	require.LessOrEqual(t, stats.Percentile(took, 50), 3*time.Second)
	require.LessOrEqual(t, took[trials-1], 3600*time.Millisecond)
}

func loopbackSite(skew time.Duration) *fakeSite {
	return &fakeSite{skew: skew, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond}
}

func TestMeasureMisbehavingSites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		site    *fakeSite
		cfg     Config
		wantErr error
		skew    time.Duration // expected at the end, when no error
		probes  func(t *testing.T, n int)
		took    func(t *testing.T, d time.Duration)
	}{
		{
			// The first round sees the jump and restarts; the second round
			// sees no jump (the next one is 50 probes away).
			name: "clock jumps once: restart",
			site: &fakeSite{skew: 2300 * time.Millisecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond,
				jumpAt: 4, jump: 5 * time.Second},
			skew:   7300 * time.Millisecond,
			probes: func(t *testing.T, n int) { require.Greater(t, n, 4) },
		},
		{
			name:    "clock keeps jumping: inconsistent",
			site:    &fakeSite{skew: 2300 * time.Millisecond, oneWay: 100 * time.Microsecond, jumpEvery: 3, jump: 5 * time.Second},
			wantErr: ErrInconsistent,
			// Round one fails at probe 3, round two at probe 6.
			probes: func(t *testing.T, n int) { require.Equal(t, 6, n) },
		},
		{
			name: "some probes fail",
			site: &fakeSite{skew: -1700 * time.Millisecond, oneWay: 100 * time.Microsecond, failEvery: 5},
			skew: -1700 * time.Millisecond,
		},
		{
			name:    "every probe fails",
			site:    &fakeSite{skew: time.Second, oneWay: 100 * time.Microsecond, failEvery: 1},
			wantErr: ErrProbesFailed,
			probes:  func(t *testing.T, n int) { require.Equal(t, MaxProbesDefault/2+1, n) },
			took:    func(t *testing.T, d time.Duration) { require.GreaterOrEqual(t, d, MaxProbesDefault/2*retryPause) },
		},
		{
			// Every 4th answer is slow and carries a Date 2 s stale, as from
			// a lagging cache: used, it would contradict the others.
			name: "slow stale answers are discarded",
			site: &fakeSite{skew: 999 * time.Millisecond, oneWay: 100 * time.Microsecond, jitter: 50 * time.Microsecond,
				slowEvery: 4, slowDelay: 20 * time.Millisecond, staleBy: 2 * time.Second},
			skew: 999 * time.Millisecond,
		},
		{
			name:   "budget too small for the target",
			site:   loopbackSite(2300 * time.Millisecond),
			cfg:    Config{MaxProbes: 4},
			skew:   2300 * time.Millisecond,
			probes: func(t *testing.T, n int) { require.Equal(t, 4, n) },
		},
		{
			name:    "invalid config",
			site:    loopbackSite(0),
			cfg:     Config{MaxProbes: -1},
			wantErr: ErrInvalidConfig,
			probes:  func(t *testing.T, n int) { require.Zero(t, n) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				est, took, err := measureFake(t, tt.site, 1, tt.cfg)
				if tt.probes != nil {
					tt.probes(t, tt.site.count())
				}
				if tt.took != nil {
					tt.took(t, took)
				}
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
					if tt.site.failEvery == 1 {
						require.ErrorIs(t, err, errFakeProbe, "the last probe error is wrapped")
					}
					return
				}
				require.NoError(t, err)
				require.Equal(t, tt.site.count(), est.Probes)
				require.LessOrEqual(t, absDur(est.Offset-tt.skew), est.Uncertainty, "offset %v ± %v", est.Offset, est.Uncertainty)
			})
		})
	}
}

func TestMeasureCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		site := loopbackSite(2300 * time.Millisecond)
		site.rng = rand.New(rand.NewPCG(1, 1))
		start := time.Now()
		_, err := Measure(ctx, site, Config{})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 300*time.Millisecond, time.Since(start), "returns when cancelled, not at the next probe")
	})
}

// recordingProber remembers when each probe was sent.
type recordingProber struct {
	*fakeSite
	sent []time.Time
}

func (p *recordingProber) Probe(ctx context.Context) (Sample, error) {
	s, err := p.fakeSite.Probe(ctx)
	p.sent = append(p.sent, s.Sent)
	return s, err
}

func TestMeasureMinSpacing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const spacing = 400 * time.Millisecond
		p := &recordingProber{fakeSite: loopbackSite(-1700 * time.Millisecond)}
		p.rng = rand.New(rand.NewPCG(2, 1))
		est, err := Measure(t.Context(), p, Config{MinSpacing: spacing})
		require.NoError(t, err)
		require.LessOrEqual(t, absDur(est.Offset-(-1700*time.Millisecond)), est.Uncertainty)
		require.LessOrEqual(t, est.Precision, TargetDefault)
		require.Len(t, p.sent, est.Probes)
		for i := 1; i < len(p.sent); i++ {
			require.GreaterOrEqual(t, p.sent[i].Sub(p.sent[i-1]), spacing, "probes %d and %d", i-1, i)
		}
	})
}
