package schedule

import (
	"fmt"
	"net/http"
	"strings"
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
		return &sitesim.InProcess{Handler: site.Handler(), RemoteAddr: fmt.Sprintf("127.0.0.%d:40000", i+1)}
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

func runWithEgress(t *testing.T, b *bundle, pool *ippool.Pool, n int, siteOpensLate time.Duration) egressRun {
	t.Helper()
	opensAt := b.site.Now().Add(65 * time.Second).Truncate(time.Second)
	b.site.SetOpenAt(opensAt.Add(siteOpensLate))
	var out egressRun
	for i := range n {
		out.bookings = append(out.bookings, b.book(t, opensAt, bookingOpts{
			account: b.site.AccountName(i + 1), court: fmt.Sprint(i%10 + 1), start: fmt.Sprintf("%02d:00", 6+i/10), window: 180,
		}))
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

// A site that blocks more than two requests a second blocks a booking's
// egress while the booking keeps trying (a trace and a submit every
// second); the account moves to another egress, logs in again, and books.
func TestEgressRotatesWhenBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		// Jitter in the answers lets three requests fall into one second now
		// and then, as on a real network.
		site, err := sitesim.New(sitesim.Options{Accounts: 50, BlockRPS: 2, BlockFor: 10 * time.Second, Jitter: 200 * time.Millisecond, Seed: 7})
		require.NoError(t, err)
		b.site = site
		pool := egressPool(t, site, 3, 100)
		got := runWithEgress(t, b, pool, 1, 8*time.Second)

		f := got.finals[0]
		rows := got.attempts[f.ID]
		if f.State != booking.Succeeded {
			for _, a := range rows {
				t.Logf("%s %s %s %d %s %q", a.SentAt.Format("15:04:05.000"), a.Egress, a.Step, a.Status, a.Class, a.Error)
			}
		}
		require.Equal(t, booking.Succeeded, f.State, "reason %s", f.Reason)
		require.Len(t, got.ledger.Reservations, 1)

		blockedOn := map[string]bool{}
		used := map[string]bool{}
		for _, a := range rows {
			used[a.Egress] = true
			if a.Class == "blocked" && a.Step != "egress" {
				blockedOn[a.Egress] = true
			}
		}
		require.NotEmpty(t, blockedOn, "the site blocked an egress")
		require.Greater(t, len(used), 1, "the account moved to another egress")
		last := rows[len(rows)-1]
		require.Equal(t, "success", last.Class)
		requireWithinRate(t, rows)
		// After each block the next request of the account is a login on
		// another egress.
		for i, a := range rows[:len(rows)-1] {
			if a.Class == "blocked" && a.Step != "egress" && rows[i+1].Step != "egress" {
				require.Equal(t, "login", rows[i+1].Step)
				require.NotEqual(t, a.Egress, rows[i+1].Egress)
			}
		}
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

		cooling, saidCooling := 0, 0
		for _, f := range got.finals {
			require.True(t, f.State.Terminal())
		}
		for _, rows := range got.attempts {
			for i, a := range rows {
				if a.Step == "egress" {
					cooling++
					require.Contains(t, a.Error, "cooling down")
					// The request after the wait counts it in its own.
					_, w, ok := strings.Cut(a.Error, "waiting ")
					require.True(t, ok, a.Error)
					wait, err := time.ParseDuration(w)
					require.NoError(t, err)
					if i+1 < len(rows) && rows[i+1].Step != "egress" {
						next := rows[i+1]
						require.GreaterOrEqual(t, time.Duration(next.WaitedUS)*time.Microsecond, wait-time.Millisecond, "%s after %s", next.Step, a.Error)
						if next.WaitedFor == booking.WaitEgressCooling {
							saidCooling++
						}
					}
				}
			}
			requireWithinRate(t, rows)
		}
		require.Positive(t, cooling, "the attempt log says why the bookings waited")
		require.Positive(t, saidCooling, "and the requests after the waits say egress_cooling")
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
