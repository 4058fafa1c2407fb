package schedule

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/ippool"
	"reserver/internal/sitesim"
)

// egressPool builds n egresses e1..en whose requests reach the simulator
// from 127.0.0.2, 127.0.0.3, ... (in-process).
func egressPool(t *testing.T, site *sitesim.Site, n int, ceiling float64) *ippool.Pool {
	t.Helper()
	var cfg ippool.Config
	for i := range n {
		cfg.Egresses = append(cfg.Egresses, ippool.EgressConfig{Name: fmt.Sprintf("e%d", i+1), Kind: ippool.KindDirect})
	}
	cfg.HostCeilingPerEgress = ceiling
	p, err := ippool.NewWithTransports(cfg, func(ec ippool.EgressConfig) http.RoundTripper {
		var i int
		fmt.Sscanf(ec.Name, "e%d", &i)
		return &inProcess{h: site.Handler(), remote: fmt.Sprintf("127.0.0.%d:40000", i+1)}
	})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

type egressRun struct {
	bookings []*booking.Booking
	finals   []*booking.Booking
	ledger   sitesim.Ledger
	attempts map[int64][]booking.Attempt
}

func runWithEgress(t *testing.T, b *bundle, pool *ippool.Pool, n int, siteOpensLate time.Duration, before ...func()) egressRun {
	t.Helper()
	opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
	b.site.SetOpenAt(opensAt.Add(siteOpensLate))
	var out egressRun
	for i := range n {
		out.bookings = append(out.bookings, b.book(t, opensAt, bookingOpts{
			account: b.site.AccountName(i + 1), court: fmt.Sprint(i%10 + 1), start: fmt.Sprintf("%02d:00", 6+i/10), window: 180,
		}))
	}
	for _, f := range before {
		f()
	}
	d := b.daemon(t, "i1", func(c *Config) { c.Egress = pool; c.Transport = nil })
	require.NoError(t, d.Start(t.Context()))
	for _, bk := range out.bookings {
		out.finals = append(out.finals, b.waitTerminal(t, bk.ID, 10*time.Minute))
	}
	d.Stop()
	out.ledger = b.site.Ledger()
	out.attempts = map[int64][]booking.Attempt{}
	for _, bk := range out.bookings {
		out.attempts[bk.ID] = b.attempts(t, bk.ID)
	}
	return out
}

// requireWithinRate checks that no booking sent more than 2 requests in
// any 1 s window.
func requireWithinRate(t *testing.T, rows []booking.Attempt) {
	t.Helper()
	var sent []time.Time
	for _, a := range rows {
		if a.Step != "egress" {
			sent = append(sent, a.SentAt)
		}
	}
	for i := 2; i < len(sent); i++ {
		require.GreaterOrEqual(t, sent[i].Sub(sent[i-2]), time.Second-time.Millisecond, "three requests within a second")
	}
}

// Spread over four egresses by placement, the bookings stay under the
// site's per-IP threshold: no block at all, and all are booked.
func TestEgressSpreadStaysUnderBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		site, err := sitesim.New(sitesim.Options{Accounts: 50, BlockRPS: 3, BlockFor: 20 * time.Second})
		require.NoError(t, err)
		b.site = site
		pool := egressPool(t, site, 4, 3) // one 2 req/s account per egress
		got := runWithEgress(t, b, pool, 4, 5*time.Second)

		for _, f := range got.finals {
			require.Equal(t, booking.Succeeded, f.State, "booking %d: %s", f.ID, f.Reason)
		}
		require.Len(t, got.ledger.Reservations, 4)
		ips := map[string]bool{}
		for _, s := range got.ledger.Submits {
			require.NotEqual(t, sitesim.ResultBlocked, s.Result)
			ips[s.IP] = true
		}
		require.Len(t, ips, 4, "each account from its own address")
		for _, rows := range got.attempts {
			requireWithinRate(t, rows)
		}
	})
}

// Bookings placed on one egress (the others were cooling down when they
// were placed) overload it and get blocked; each blocked account moves to
// another egress, logs in again and still books.
func TestEgressRotatesWhenBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		site, err := sitesim.New(sitesim.Options{Accounts: 50, BlockRPS: 3, BlockFor: 20 * time.Second})
		require.NoError(t, err)
		b.site = site
		pool := egressPool(t, site, 4, 100) // a ceiling the site does not honour
		const n = 3
		got := runWithEgress(t, b, pool, n, 5*time.Second, func() {
			for _, e := range []string{"e2", "e3", "e4"} {
				require.NoError(t, pool.Report(e, "courtsim.test", ippool.Outcome{Class: "blocked", RetryAfter: 40 * time.Second}))
			}
			for i := range n {
				eg, err := pool.Assign("courtsim/"+site.AccountName(i+1), "courtsim.test", 2)
				require.NoError(t, err)
				require.Equal(t, "e1", eg.Name())
			}
		})

		for _, f := range got.finals {
			if f.State != booking.Succeeded {
				for _, a := range got.attempts[f.ID] {
					t.Logf("booking %d: %s %s %s %d %s %q", f.ID, a.SentAt.Format("15:04:05.000"), a.Egress, a.Step, a.Status, a.Class, a.Error)
				}
			}
		}
		for _, f := range got.finals {
			require.Equal(t, booking.Succeeded, f.State, "booking %d: %s", f.ID, f.Reason)
		}
		require.Len(t, got.ledger.Reservations, n, "one reservation per booking")
		blocked, moved := 0, 0
		for _, rows := range got.attempts {
			egresses := map[string]bool{}
			for _, a := range rows {
				if a.Class == "blocked" {
					blocked++
				}
				if a.Egress != "" {
					egresses[a.Egress] = true
				}
			}
			if len(egresses) > 1 {
				moved++
			}
			requireWithinRate(t, rows)
		}
		require.Positive(t, blocked, "the site blocked the overloaded egress")
		require.Positive(t, moved, "a blocked account moved to another egress")
		ips := map[string]bool{}
		for _, s := range got.ledger.Submits {
			if s.Result == sitesim.ResultSuccess {
				ips[s.IP] = true
			}
		}
		require.NotContains(t, ips, "127.0.0.2", "nothing was booked through the blocked egress")
	})
}

// With a single egress that gets blocked, bookings wait within their window
// without exceeding any rate; the attempt log says why, nothing is lost.
func TestEgressAllCooling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		site, err := sitesim.New(sitesim.Options{Accounts: 50, BlockRPS: 3, BlockFor: 10 * time.Second})
		require.NoError(t, err)
		b.site = site
		pool := egressPool(t, site, 1, 100)
		got := runWithEgress(t, b, pool, 3, 20*time.Second)

		cooling := 0
		for _, f := range got.finals {
			require.True(t, f.State.Terminal())
		}
		for _, rows := range got.attempts {
			for _, a := range rows {
				if a.Step == "egress" {
					cooling++
					require.Contains(t, a.Error, "cooling down")
				}
			}
			requireWithinRate(t, rows)
		}
		require.Positive(t, cooling, "the attempt log says why the bookings waited")
		// Whatever was booked was booked once.
		seen := map[string]int{}
		for _, r := range got.ledger.Reservations {
			seen[r.Account]++
		}
		for acct, n := range seen {
			require.Equal(t, 1, n, acct)
		}
	})
}
