package clocksync

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// fakeSite is a site inside a synctest bubble: its clock runs skew ahead of
// the bubble's, the request takes up and the answer down (each oneWay when
// zero) plus a uniform random jitter in [0, jitter), and its Date header is
// truncated to the second. The site reads its clock when the request
// arrives.
type fakeSite struct {
	skew     time.Duration
	oneWay   time.Duration
	up, down time.Duration // one-way delays of an asymmetric path
	jitter   time.Duration

	// Optional misbehaviour.
	jumpAt    int           // at this probe the skew moves by jump, once
	jumpEvery int           // every jumpEvery probes the skew moves by jump
	jump      time.Duration //
	failEvery int           // every failEvery-th probe fails
	slowEvery int           // every slowEvery-th probe is slow and its Date stale
	slowDelay time.Duration // extra delay each way of a slow probe
	staleBy   time.Duration // how far behind a slow probe's Date is

	mu     sync.Mutex
	rng    *rand.Rand
	probes int
}

var errFakeProbe = errors.New("fake probe failed")

// delay returns one leg's delay: base, or oneWay if base is zero, plus
// jitter.
func (f *fakeSite) delay(base time.Duration) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := cmp.Or(base, f.oneWay)
	if f.jitter > 0 {
		d += time.Duration(f.rng.Int64N(int64(f.jitter)))
	}
	return d
}

func (f *fakeSite) Probe(ctx context.Context) (Sample, error) {
	f.mu.Lock()
	f.probes++
	n := f.probes
	if n == f.jumpAt || f.jumpEvery > 0 && n%f.jumpEvery == 0 {
		f.skew += f.jump
	}
	skew := f.skew
	f.mu.Unlock()

	if f.failEvery > 0 && n%f.failEvery == 0 {
		return Sample{}, errFakeProbe
	}
	slow := f.slowEvery > 0 && n%f.slowEvery == 0
	var extra, stale time.Duration
	if slow {
		extra, stale = f.slowDelay, f.staleBy
	}
	sent := time.Now()
	if err := sleepCtx(ctx, f.delay(f.up)+extra); err != nil {
		return Sample{}, err
	}
	date := time.Now().Add(skew - stale).Truncate(time.Second)
	if err := sleepCtx(ctx, f.delay(f.down)+extra); err != nil {
		return Sample{}, err
	}
	return Sample{Sent: sent, Received: time.Now(), SiteDate: date}, nil
}

func (f *fakeSite) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.probes
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
