package tenant

import (
	"cmp"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of ThrottleConfig: ten failed sign-ins from one address and
// five against one token prefix, then one more every six and twelve
// seconds. An operator who mistypes twice never notices; a guesser gets
// ten tries a minute per address.
const (
	ThrottleAddrBurstDefault   = 10
	ThrottleAddrEveryDefault   = 6 * time.Second
	ThrottlePrefixBurstDefault = 5
	ThrottlePrefixEveryDefault = 12 * time.Second
	ThrottleMaxKeysDefault     = 10000
)

// throttleOverflowKey names the bucket new keys share past MaxKeys.
const throttleOverflowKey = "\x00overflow"

// ThrottleConfig bounds failed sign-ins; zero fields take the defaults.
type ThrottleConfig struct {
	AddrBurst   int
	AddrEvery   time.Duration
	PrefixBurst int
	PrefixEvery time.Duration
	// MaxKeys bounds the addresses and prefixes remembered, each; past it,
	// the recovered ones are forgotten and new ones share one bucket.
	MaxKeys int
}

// Throttle bounds failed sign-ins per client address and per token
// prefix, with one token bucket (x/time/rate) per key. A sign-in that
// succeeds gives its tokens back, so only failures count.
type Throttle struct {
	cfg ThrottleConfig

	mu       sync.Mutex
	addrs    map[string]*rate.Limiter
	prefixes map[string]*rate.Limiter
}

// NewThrottle returns a Throttle with c's limits.
func NewThrottle(c ThrottleConfig) *Throttle {
	c.AddrBurst = cmp.Or(c.AddrBurst, ThrottleAddrBurstDefault)
	c.AddrEvery = cmp.Or(c.AddrEvery, ThrottleAddrEveryDefault)
	c.PrefixBurst = cmp.Or(c.PrefixBurst, ThrottlePrefixBurstDefault)
	c.PrefixEvery = cmp.Or(c.PrefixEvery, ThrottlePrefixEveryDefault)
	c.MaxKeys = cmp.Or(c.MaxKeys, ThrottleMaxKeysDefault)
	return &Throttle{cfg: c, addrs: map[string]*rate.Limiter{}, prefixes: map[string]*rate.Limiter{}}
}

// TokenPrefixOf returns the prefix of what looks like a reserver token,
// or "" for anything else (so that a password pasted by mistake is never
// kept, not even in part).
func TokenPrefixOf(s string) string {
	if strings.HasPrefix(s, tokenPrefix) && len(s) >= PrefixLen {
		return s[:PrefixLen]
	}
	return ""
}

// Begin counts a sign-in from addr with a token of prefix ("" for none) at
// now. When addr or prefix has no tries left it returns how long to wait
// and counts nothing. Otherwise wait is zero and the caller calls
// succeeded if the sign-in succeeds, which gives the try back.
func (t *Throttle) Begin(addr, prefix string, now time.Time) (succeeded func(), wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rs := []*rate.Reservation{t.limiter(t.addrs, addr, t.cfg.AddrBurst, t.cfg.AddrEvery, now).ReserveN(now, 1)}
	if prefix != "" {
		rs = append(rs, t.limiter(t.prefixes, prefix, t.cfg.PrefixBurst, t.cfg.PrefixEvery, now).ReserveN(now, 1))
	}
	for _, r := range rs {
		wait = max(wait, r.DelayFrom(now))
	}
	cancel := func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, r := range rs {
			r.CancelAt(now)
		}
	}
	if wait > 0 {
		for _, r := range rs {
			r.CancelAt(now)
		}
		return nil, RetryAfter(wait)
	}
	return cancel, 0
}

// RetryAfter rounds a wait up to whole seconds, at least one, as the
// Retry-After header counts them.
func RetryAfter(wait time.Duration) time.Duration {
	s := math.Ceil(wait.Seconds())
	return max(time.Duration(s)*time.Second, time.Second)
}

// limiter returns the bucket of key in m, making it if new. Past MaxKeys
// the buckets that have refilled are forgotten (they hold no memory of a
// failure); if none has, new keys share one overflow bucket, so that a
// flood of new addresses or prefixes is throttled as one.
func (t *Throttle) limiter(m map[string]*rate.Limiter, key string, burst int, every time.Duration, now time.Time) *rate.Limiter {
	if l, ok := m[key]; ok {
		return l
	}
	if len(m) >= t.cfg.MaxKeys {
		for k, l := range m {
			if l.TokensAt(now) >= float64(burst) {
				delete(m, k)
			}
		}
		if len(m) >= t.cfg.MaxKeys {
			key = throttleOverflowKey
			if l, ok := m[key]; ok {
				return l
			}
		}
	}
	l := rate.NewLimiter(rate.Every(every), burst)
	m[key] = l
	return l
}
