package api

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimited bounds the requests of each API token (Quotas.
// RequestsPerSecond and Burst) and answers 429 beyond them. It runs after
// authenticated, so only tokens that exist get a bucket.
func (s *Server) rateLimited(next http.HandlerFunc) http.HandlerFunc {
	if s.limiter == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if wait, ok := s.limiter.allow(sha256.Sum256([]byte(strings.TrimSpace(token))), s.o.Now()); !ok {
			writeTooMany(w, wait, problem{Type: typeRateLimited, Title: "Too many requests", Status: http.StatusTooManyRequests,
				Detail: fmt.Sprintf("this token may make %g requests per second (bursts of %d; limits.api_requests_per_second): retry after the Retry-After seconds",
					float64(s.limiter.rate), s.limiter.burst)})
			return
		}
		next(w, r)
	}
}

// tokenLimiter keeps a token bucket per API token, keyed by the token's
// SHA-256 so that the map holds no token. A bucket idle long enough to
// have refilled is the same as a new one, so it is dropped: the map holds
// only the tokens active in the last refill period.
type tokenLimiter struct {
	rate  rate.Limit
	burst int
	idle  time.Duration // how long an untouched bucket takes to refill

	mu        sync.Mutex
	buckets   map[[sha256.Size]byte]*tokenBucket
	lastSweep time.Time
}

type tokenBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newTokenLimiter(perSecond float64, burst int) *tokenLimiter {
	return &tokenLimiter{
		rate: rate.Limit(perSecond), burst: burst,
		idle:    max(time.Second, time.Duration(float64(burst)/perSecond*float64(time.Second))),
		buckets: map[[sha256.Size]byte]*tokenBucket{},
	}
}

// allow takes one request from key's bucket at now, or reports how long
// until one is there.
func (l *tokenLimiter) allow(key [sha256.Size]byte, now time.Time) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= l.idle {
		for k, b := range l.buckets {
			if now.Sub(b.seen) >= l.idle {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, found := l.buckets[key]
	if !found {
		b = &tokenBucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}
