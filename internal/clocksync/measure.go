package clocksync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config defaults.
const (
	MaxProbesDefault = 24
	TargetDefault    = 2 * time.Millisecond
)

// Outlier rejection: a sample whose round trip exceeds both
// outlierFactor × median and median + outlierFloor is not used. Its bounds
// would still be valid, but a round trip that long usually means the request
// queued somewhere, and the floor keeps microsecond noise on loopback from
// counting as an outlier.
const (
	outlierFactor = 4
	outlierFloor  = time.Millisecond
)

// retryPause keeps a site that fails every probe from being hammered while
// Measure has no sample yet to plan from.
const retryPause = 50 * time.Millisecond

// reserveFraction: the planner keeps MaxProbes/reserveFraction probes out
// of its plan for failures, outliers and jitter. Planning with all of them
// would finish in fewer passes (seconds) but with more probes: a second of
// uncertainty takes three passes with about 12 probes, or two with about 22.
const reserveFraction = 4

// Config tunes Measure. The zero value is usable.
type Config struct {
	// MaxProbes bounds the probes of one measurement round (default 24).
	// Measure restarts at most once, so at most 2×MaxProbes are sent.
	MaxProbes int
	// Target stops the measurement once the precision (Estimate.Precision)
	// is at most this (default 2 ms).
	Target time.Duration
	// MinSpacing is the least time between two probes' wake-ups (default
	// 0: the planner's own pacing). Set it for sites that block bursts; it
	// makes the measurement slower, not less sound.
	MinSpacing time.Duration
	// Clock reads the local time (default the real clock).
	Clock Clock
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxProbes < 0 || c.Target < 0 || c.MinSpacing < 0 {
		return c, fmt.Errorf("%w: negative MaxProbes, Target or MinSpacing", ErrInvalidConfig)
	}
	c.MaxProbes = cmp.Or(c.MaxProbes, MaxProbesDefault)
	c.Target = cmp.Or(c.Target, TargetDefault)
	c.Clock = clockOrReal(c.Clock)
	return c, nil
}

// errEmpty marks a round whose samples have no offset in common.
var errEmpty = errors.New("clocksync: empty intersection")

// Measure estimates the site's clock offset and round-trip time by probing
// it with p. It stops when the precision reaches cfg.Target or after
// cfg.MaxProbes probes; in the latter case the estimate is returned with the
// precision and uncertainty it reached, and the caller decides whether that
// is good enough.
//
// If the samples contradict each other, Measure discards them and starts
// over once, then returns ErrInconsistent. Probe errors are tolerated (the
// probe still counts) until more than half of a round's probes failed.
func Measure(ctx context.Context, p Prober, cfg Config) (Estimate, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Estimate{}, err
	}
	total := 0
	for range 2 {
		r := round{cfg: cfg, prober: p}
		est, err := r.run(ctx)
		total += r.sent
		est.Probes = total
		if !errors.Is(err, errEmpty) {
			return est, err
		}
	}
	return Estimate{Probes: total}, ErrInconsistent
}

// round is one measurement from a blank slate.
type round struct {
	cfg    Config
	prober Prober

	samples  []Sample        // usable samples, in order
	lags     []time.Duration // wake-up to Sent delays of planned probes
	sent     int
	failed   int
	lastErr  error
	lastWake time.Time
	deadline time.Time // set by the planner after the first sample
}

func (r *round) run(ctx context.Context) (Estimate, error) {
	clock := r.cfg.Clock
	for r.sent < r.cfg.MaxProbes {
		wake, planned := r.nextWake(clock.Now())
		if planned {
			if err := WaitUntil(ctx, clock, wake); err != nil {
				return Estimate{}, err
			}
		} else {
			wake = clock.Now()
		}
		r.lastWake = wake
		s, err := r.prober.Probe(ctx)
		r.sent++
		if err == nil {
			err = s.valid()
		}
		if err != nil {
			if ctx.Err() != nil {
				return Estimate{}, ctx.Err()
			}
			r.failed++
			r.lastErr = err
			if r.failed*2 > r.cfg.MaxProbes {
				return Estimate{}, fmt.Errorf("%w (%d of %d): %w", ErrProbesFailed, r.failed, r.sent, err)
			}
			continue
		}
		if planned {
			r.lags = append(r.lags, max(s.Sent.Sub(wake), 0))
		}
		r.samples = append(r.samples, s)
		f, ok := r.fit()
		if !ok {
			return Estimate{}, errEmpty
		}
		if f.mid.width() <= 2*r.cfg.Target {
			// Narrow enough, or inverted: samples that already contradict
			// each other by their jitter cannot be reconciled by more.
			break
		}
	}
	f, ok := r.fit()
	if !ok {
		if len(r.samples) > 0 {
			return Estimate{}, errEmpty
		}
		return Estimate{}, fmt.Errorf("%w: %w", ErrProbesFailed, r.lastErr)
	}
	return Estimate{
		Offset:      f.offset(),
		Uncertainty: f.uncertainty(),
		Precision:   f.precision(),
		RTT:         r.medianRTT(),
		Spread:      r.spread(),
		At:          clock.Now(),
	}, nil
}

// nextWake returns when to send the next probe; planned is false when the
// probe should go at once (nothing to aim at yet).
func (r *round) nextWake(now time.Time) (_ time.Time, planned bool) {
	earliest := now.Add(wakeLead)
	if r.sent > 0 {
		earliest = later(earliest, r.lastWake.Add(r.cfg.MinSpacing))
	}
	f, ok := r.fit()
	if !ok {
		// No usable sample yet: probe at once, or after a failed probe as
		// soon as the spacing and a short pause allow.
		if r.sent == 0 {
			return now, false
		}
		return later(earliest, r.lastWake.Add(retryPause)), true
	}
	rtt := r.medianRTT()
	pl := plan{
		b:        f.planned(rtt),
		left:     r.cfg.MaxProbes - r.sent,
		reserve:  r.cfg.MaxProbes / reserveFraction,
		accept:   2*r.cfg.Target*9/10 + rtt, // room for jitter
		rtt:      rtt,
		lag:      median(r.lags),
		spacing:  r.cfg.MinSpacing,
		earliest: earliest,
		deadline: r.deadline,
	}
	if r.deadline.IsZero() {
		r.deadline = pl.newDeadline()
		pl.deadline = r.deadline
	}
	return pl.next(), true
}

// fit fits the samples that are not outliers.
func (r *round) fit() (fit, bool) {
	limit := outlierLimit(r.medianRTT())
	used := make([]Sample, 0, len(r.samples))
	for _, s := range r.samples {
		if s.RTT() <= limit {
			used = append(used, s)
		}
	}
	return fitSamples(used)
}

// spread is how much faster than the median the fastest round trip in
// use was (Estimate.Spread).
func (r *round) spread() time.Duration {
	med := r.medianRTT()
	limit := outlierLimit(med)
	fastest := med
	for _, s := range r.samples {
		if rtt := s.RTT(); rtt <= limit && rtt < fastest {
			fastest = rtt
		}
	}
	return med - fastest
}

func (r *round) medianRTT() time.Duration {
	rtts := make([]time.Duration, len(r.samples))
	for i, s := range r.samples {
		rtts[i] = s.RTT()
	}
	return median(rtts)
}

// outlierLimit is the longest round trip still used, given the median.
func outlierLimit(med time.Duration) time.Duration {
	return max(outlierFactor*med, med+outlierFloor)
}

// median returns the median of ds (the lower one for an even count), or 0.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
