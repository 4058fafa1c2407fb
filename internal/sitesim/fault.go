package sitesim

import (
	"math/rand/v2"
	"sync"
	"time"
)

// fault is what the fault injector decided for one request.
type fault int

const (
	faultNone fault = iota
	fault500
	fault503
	faultResetApplied
	faultResetNotApplied
)

// faultInjector draws fault decisions from one seeded generator. The mutex
// is held only for the draw, never while sleeping.
type faultInjector struct {
	mu  sync.Mutex
	rng *rand.Rand
	f   Faults // normalized
}

func newFaultInjector(seed int64, f Faults) *faultInjector {
	return &faultInjector{
		rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		f:   f.normalize(),
	}
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	fi.f = f.normalize()
	fi.mu.Unlock()
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.f
}

// latency returns the extra latency of one response: fixed plus uniform
// jitter in [0, Jitter).
func (fi *faultInjector) latency() time.Duration {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	d := fi.f.Latency
	if fi.f.Jitter > 0 {
		d += time.Duration(fi.rng.Int64N(int64(fi.f.Jitter)))
	}
	return d
}

// decide draws the fault for one request. Resets are only possible on
// submits; 5xx on other pages only with FailPages.
func (fi *faultInjector) decide(submit bool) fault {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.f
	if f.FailRate == 0 && (!submit || f.ResetRate == 0) {
		return faultNone
	}
	if !submit && !f.FailPages {
		return faultNone
	}
	u := fi.rng.Float64()
	switch {
	case u < f.FailRate:
		if fi.rng.IntN(2) == 0 {
			return fault500
		}
		return fault503
	case submit && u < f.FailRate+f.ResetRate:
		if fi.rng.Float64() < f.ResetApplied {
			return faultResetApplied
		}
		return faultResetNotApplied
	}
	return faultNone
}
