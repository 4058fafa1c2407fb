package api

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/tenant"
)

func withQuotas(q Quotas) func(*Options) {
	return func(o *Options) { o.Quotas = q }
}

func onCourt(court int) string {
	return strings.Replace(validBody, `"court": 3`, fmt.Sprintf(`"court": %d`, court), 1)
}

// A tenant at its ceiling of active bookings is answered 429 with a
// problem that names the ceiling; other tenants are not; a replay of a
// stored request still is a replay, and a finished booking frees a place.
func TestBookingQuota(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, withQuotas(Quotas{MaxActivePerTenant: 2}))
		first := b.do(t, "POST", "/v1/bookings", b.alice, onCourt(1), "Idempotency-Key", "q-1")
		require.Equal(t, 201, first.status, first.raw)
		require.Equal(t, 201, b.do(t, "POST", "/v1/bookings", b.alice, onCourt(2)).status)

		over := b.do(t, "POST", "/v1/bookings", b.alice, onCourt(3))
		require.Equal(t, 429, over.status, over.raw)
		require.Equal(t, "application/problem+json", over.header.Get("Content-Type"))
		require.Equal(t, "/problems/quota", over.body["type"])
		require.Equal(t, 429.0, over.body["status"])
		require.Contains(t, over.body["detail"], "ceiling is 2")
		require.Contains(t, over.body["detail"], "limits.max_active_bookings_per_tenant")
		require.Equal(t, "60", over.header.Get("Retry-After"))
		require.EqualValues(t, 2, b.counts(t)[0], "nothing stored")

		replay := b.do(t, "POST", "/v1/bookings", b.alice, onCourt(1), "Idempotency-Key", "q-1")
		require.Equal(t, 201, replay.status, "a replay takes no new place: %s", replay.raw)
		require.Equal(t, first.body["id"], replay.body["id"])

		bobs := strings.Replace(onCourt(3), `"user001"`, `"bob001"`, 1)
		require.Equal(t, 201, b.do(t, "POST", "/v1/bookings", b.bob, bobs).status, "another tenant has its own ceiling")

		require.Equal(t, 200, b.do(t, "DELETE", fmt.Sprintf("/v1/bookings/%v", first.body["id"]), b.alice, "").status)
		require.Equal(t, 201, b.do(t, "POST", "/v1/bookings", b.alice, onCourt(3)).status, "a cancelled booking frees its place")
	})
}

// testClock is a settable Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// A token past its rate is answered 429 with Retry-After; another token,
// of another tenant or of the same one, has its own bucket, and the bucket
// refills with time.
func TestTokenRate(t *testing.T) {
	t.Parallel()
	clk := &testClock{now: fixedNow}
	b := setup(t, dbtest.SQLite(t), withQuotas(Quotas{RequestsPerSecond: 0.5, Burst: 3}),
		func(o *Options) { o.Now = clk.Now })
	alice2, err := tenant.NewStore(b.db).CreateToken(context.Background(), "alice", tenant.RoleUser)
	require.NoError(t, err)

	for i := range 3 {
		require.Equal(t, 200, b.do(t, "GET", "/v1/bookings", b.alice, "").status, "request %d of the burst", i+1)
	}
	over := b.do(t, "GET", "/v1/bookings", b.alice, "")
	require.Equal(t, 429, over.status, over.raw)
	require.Equal(t, "application/problem+json", over.header.Get("Content-Type"))
	require.Equal(t, "/problems/rate-limited", over.body["type"])
	require.Equal(t, "2", over.header.Get("Retry-After"), "one request per 2 s")
	require.Equal(t, 429, b.do(t, "POST", "/v1/bookings", b.alice, validBody).status, "every authenticated route")

	require.Equal(t, 200, b.do(t, "GET", "/v1/bookings", b.bob, "").status, "another tenant's token")
	require.Equal(t, 200, b.do(t, "GET", "/v1/bookings", alice2, "").status, "another token of the same tenant")
	require.Equal(t, 200, b.do(t, "GET", "/healthz", "", "").status, "public routes are not limited")
	require.Equal(t, 401, b.do(t, "GET", "/v1/bookings", "rsv_nope", "").status, "an unknown token is 401, not 429")

	clk.Add(1500 * time.Millisecond)
	limited := b.do(t, "GET", "/v1/bookings", b.alice, "")
	require.Equal(t, 429, limited.status)
	require.Equal(t, "1", limited.header.Get("Retry-After"), "0.5 s left, rounded up to a whole second")
	clk.Add(500 * time.Millisecond)
	require.Equal(t, 200, b.do(t, "GET", "/v1/bookings", b.alice, "").status, "one request refilled")
	require.Equal(t, 429, b.do(t, "GET", "/v1/bookings", b.alice, "").status)
}

// Retry-After is whole seconds, at least one, and the limiter forgets a
// token once its bucket would be full again.
func TestTokenLimiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate  float64
		burst int
		wait  time.Duration
	}{
		{rate: 100, burst: 1, wait: 10 * time.Millisecond},
		{rate: 1, burst: 5, wait: time.Second},
		{rate: 0.25, burst: 2, wait: 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rate, "/", tt.burst), func(t *testing.T) {
			t.Parallel()
			l := newTokenLimiter(tt.rate, tt.burst)
			key := sha256.Sum256([]byte("rsv_x"))
			for range tt.burst {
				_, ok := l.allow(key, fixedNow)
				require.True(t, ok)
			}
			wait, ok := l.allow(key, fixedNow)
			require.False(t, ok)
			require.Equal(t, tt.wait, wait)
			_, ok = l.allow(key, fixedNow.Add(tt.wait))
			require.True(t, ok, "a refused request took nothing from the bucket")
		})
	}

	l := newTokenLimiter(10, 20) // refills in 2 s
	for i := range 100 {
		_, ok := l.allow(sha256.Sum256(fmt.Appendf(nil, "rsv_%d", i)), fixedNow)
		require.True(t, ok)
	}
	require.Equal(t, 100, len(l.buckets))
	_, _ = l.allow(sha256.Sum256([]byte("rsv_0")), fixedNow.Add(time.Second))
	require.Equal(t, 100, len(l.buckets), "not idle long enough")
	_, _ = l.allow(sha256.Sum256([]byte("rsv_1")), fixedNow.Add(2*time.Second))
	require.Equal(t, 2, len(l.buckets), "the idle ones are gone; rsv_0 was seen 1 s ago, rsv_1 now")
}

// A site account serves the tenant that registered it first: another
// tenant's booking for it is 409 with a problem that says what to do and
// does not name the owner.
func TestAccountOwnedIs409(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		require.Equal(t, 201, b.do(t, "POST", "/v1/bookings", b.alice, validBody).status)
		before := b.counts(t)

		r := b.do(t, "POST", "/v1/bookings", b.bob, onCourt(4))
		require.Equal(t, 409, r.status, r.raw)
		require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		require.Equal(t, "/problems/account-owned", r.body["type"])
		require.Contains(t, r.body["detail"], `"user001"`)
		require.Contains(t, r.body["detail"], "book with a site account of your own")
		require.NotContains(t, r.raw, "alice")
		require.NotContains(t, r.raw, "S3cr3t")
		require.Equal(t, before, b.counts(t), "nothing stored")
	})
}
