// Package backoff is the one retry helper of reserver: a capped exponential
// backoff with equal jitter as a pure function, and Retry, which runs an
// operation until it succeeds, fails for good, or its context ends.
//
// It does not decide what is worth retrying: callers pass that in.
package backoff

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Policy is a capped exponential backoff: the wait after the n-th failed
// try is Base·2^(n−1), at most Cap, with "equal jitter" — half of it fixed,
// half scaled by a random factor — so that processes failing together do
// not retry together but never retry sooner than half the nominal wait.
type Policy struct {
	Base time.Duration
	Cap  time.Duration
}

// Delay is the wait after the tries-th failed try (tries ≥ 1) for a jitter
// factor r in [0, 1).
func (p Policy) Delay(tries int, r float64) time.Duration {
	d := max(p.Base, time.Millisecond)
	limit := max(p.Cap, d)
	for i := 1; i < tries && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	r = min(max(r, 0), 1)
	return d/2 + time.Duration(r*float64(d-d/2))
}

// ErrPermanent wraps an error that Retry must not retry; Permanent makes one.
var ErrPermanent = errors.New("permanent")

type permanent struct{ err error }

func (p permanent) Error() string        { return p.err.Error() }
func (p permanent) Unwrap() []error      { return []error{p.err, ErrPermanent} }
func (p permanent) Is(target error) bool { return target == ErrPermanent }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// Retry runs op until it returns nil or an error marked Permanent, or ctx
// ends; it waits p.Delay between tries. It returns op's last error (joined
// with ctx's when the context ended first). onRetry, if not nil, is told of
// each failure that will be retried.
func Retry(ctx context.Context, p Policy, op func(context.Context) error, onRetry func(tries int, err error, wait time.Duration)) error {
	for tries := 1; ; tries++ {
		err := op(ctx)
		if err == nil || errors.Is(err, ErrPermanent) {
			var pe permanent
			if errors.As(err, &pe) {
				return pe.err
			}
			return err
		}
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		wait := p.Delay(tries, rand.Float64())
		if onRetry != nil {
			onRetry(tries, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}
