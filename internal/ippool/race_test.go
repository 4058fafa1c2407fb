package ippool

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// Many bookings at once: requests, reports, moves, assigns, releases and
// snapshots concurrently (run with -race). Afterwards the declared loads
// add up to what the remaining accounts declared.
func TestConcurrentUseKeepsLoadsConsistent(t *testing.T) {
	t.Parallel()
	b := fakePool(t, Config{OpenTimeout: time.Millisecond}, "a", "b", "c", "d")
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			acct := fmt.Sprintf("user%02d", g)
			for i := range 60 {
				eg, err := b.pool.Assign(acct, siteHost, 1)
				if err != nil {
					continue
				}
				_, _ = b.send(t, eg.Name())
				switch i % 6 {
				case 0:
					_ = b.pool.Report(eg.Name(), siteHost, Outcome{Class: profile.ClassBlocked, RetryAfter: time.Millisecond})
					_, _ = b.pool.Move(acct, siteHost)
				case 1:
					_ = b.pool.States()
				case 2:
					_ = b.pool.Limiter(eg.Name(), siteHost).Allow()
				}
				if i%2 == 1 {
					b.pool.Release(acct, siteHost, 1)
				}
			}
		})
	}
	wg.Wait()
	// Each goroutine assigned 60 times (when not all cooling) and released
	// 30 times: what is left per account is its own business, but the
	// egresses' loads must equal the accounts' declared rates.
	b.pool.mu.Lock()
	defer b.pool.mu.Unlock()
	perEgress := map[string]float64{}
	accounts := map[string]int{}
	for k, pl := range b.pool.placed {
		require.Equal(t, siteHost, k.host)
		perEgress[pl.e.name] += pl.rps
		accounts[pl.e.name]++
	}
	for _, e := range b.pool.egresses {
		l := b.pool.loadLocked(e, siteHost)
		require.InDelta(t, perEgress[e.name], l.rps, 1e-9, e.name)
		require.Equal(t, accounts[e.name], l.accounts, e.name)
	}
}
