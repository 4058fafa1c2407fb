package notify

import "time"

// backoff is the wait after the tries-th failed try: base·2^(tries−1),
// capped at limit, with "equal jitter" — half of it fixed, half scaled by
// r ∈ [0, 1) — so that relays failing together do not retry together but
// never retry sooner than half the nominal wait.
func backoff(tries int, base, limit time.Duration, r float64) time.Duration {
	d := base
	for i := 1; i < tries && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	r = min(max(r, 0), 1)
	return d/2 + time.Duration(r*float64(d-d/2))
}
