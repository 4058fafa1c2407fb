package ippool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"golang.org/x/time/rate"

	"reserver/internal/profile"
	"reserver/internal/sitesim"
)

// simBundle is the simulated site with its per-IP block on, and four
// egresses reaching it from four addresses: a source address, an HTTP
// proxy, a SOCKS5 proxy with credentials, another source address.
type simBundle struct {
	sim  *sitesim.Server
	host string
	pool *Pool
	ips  map[string]string // egress name -> client IP the site sees
}

func setupSim(t *testing.T, cfg Config) simBundle {
	t.Helper()
	sim, err := sitesim.Start(sitesim.Options{BlockRPS: 5, BlockFor: 30 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	hp := startHTTPProxy(t, "127.0.0.1:0", "127.0.0.12", "", "")
	sp := startSOCKSProxy(t, "127.0.0.1:0", "127.0.0.13", "booker", "pw-0f-socks")
	cfg.Egresses = []EgressConfig{
		{Name: "a", Kind: KindSource, Source: "127.0.0.11"},
		{Name: "b", Kind: KindHTTP, URL: hp.URL()},
		{Name: "c", Kind: KindSOCKS5, URL: sp.URL("booker", "pw-0f-socks")},
		{Name: "d", Kind: KindSource, Source: "127.0.0.14"},
	}
	p, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return simBundle{sim: sim, host: sim.Addr().String(), pool: p,
		ips: map[string]string{"a": "127.0.0.11", "b": "127.0.0.12", "c": "127.0.0.13", "d": "127.0.0.14"}}
}

// booker plays the daemon's part for one account: it paces at its own
// rate and at the egress's limiter, submits, and on a block reports it and
// moves; a refusal by an open breaker also moves; when every egress cools
// down it waits for the first. A hammering booker skips the egress's
// limiter until its first move, as a daemon without the pool would.
type booker struct {
	name   string
	rps    float64
	hammer bool
	eg     Egress
	stop   func(*booker) bool
	ok     int // answers that were not blocks
	since  int // ... since the last move
	moves  int
	block  int
	errs   []error
}

func (k *booker) run(ctx context.Context, s simBundle) {
	own := rate.NewLimiter(rate.Limit(k.rps), 1)
	for ctx.Err() == nil && !k.stop(k) {
		if own.Wait(ctx) != nil {
			return
		}
		if (!k.hammer || k.moves > 0) && s.pool.Limiter(k.eg.Name(), s.host).Wait(ctx) != nil {
			return
		}
		status, body, err := submit(ctx, k.eg.Transport(), s.sim.URL()+sitesim.PathApply)
		switch {
		case errors.Is(err, ErrEgressOpen):
			k.move(ctx, s)
		case err != nil:
			if ctx.Err() == nil {
				k.errs = append(k.errs, err)
			}
			return
		case status == http.StatusForbidden && strings.Contains(body, sitesim.MsgBlocked):
			k.block++
			// No wait passed: the egress saw the page's Retry-After.
			if err := s.pool.Report(k.eg.Name(), s.host, Outcome{Class: profile.ClassBlocked}); err != nil {
				k.errs = append(k.errs, err)
				return
			}
			k.move(ctx, s)
		default:
			k.ok++
			k.since++
		}
	}
}

func (k *booker) move(ctx context.Context, s simBundle) {
	for ctx.Err() == nil {
		next, err := s.pool.Move(k.name, s.host)
		var ac *AllCoolingError
		if errors.As(err, &ac) {
			t := time.NewTimer(ac.Wait + time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			continue
		}
		if err != nil {
			k.errs = append(k.errs, err)
			return
		}
		if next.Name() != k.eg.Name() {
			k.moves++
			k.since = 0
		}
		k.eg = next
		return
	}
}

// submit posts a (sessionless) booking form; the simulator records every
// submit with the client IP it came from.
func submit(ctx context.Context, rt http.RoundTripper, u string) (int, string, error) {
	form := url.Values{"facilityNo": {"1"}, "useDate": {"20300101"}, "timeNo": {"1"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func runBookers(ctx context.Context, s simBundle, ks []*booker) {
	var wg sync.WaitGroup
	for _, k := range ks {
		wg.Go(func() { k.run(ctx, s) })
	}
	wg.Wait()
}

// submitsByIP counts the simulator's ledger: all submits and blocked ones
// per client IP.
func submitsByIP(t *testing.T, sim *sitesim.Server) (all, blocked map[string]int) {
	t.Helper()
	all, blocked = map[string]int{}, map[string]int{}
	for _, s := range sim.Ledger().Submits {
		all[s.IP]++
		if s.Result == sitesim.ResultBlocked {
			blocked[s.IP]++
		}
	}
	return all, blocked
}

// Accounts crowded on one egress (the others were cooling from an earlier
// block when they were placed) and hammering it get it blocked; each
// reports the block, moves, and carries on through the other three, paced,
// without being blocked again.
func TestBlockedAccountsMoveAndCarryOn(t *testing.T) {
	t.Parallel()
	s := setupSim(t, Config{Logger: zaptest.NewLogger(t)})
	for _, n := range []string{"b", "c", "d"} {
		require.NoError(t, s.pool.Report(n, s.host, Outcome{Class: profile.ClassBlocked, RetryAfter: 300 * time.Millisecond}))
	}
	const accounts, okAfterMove = 6, 3
	var ks []*booker
	for i := range accounts {
		name := fmt.Sprintf("user%03d", i+1)
		eg, err := s.pool.Assign(name, s.host, 1)
		require.NoError(t, err)
		require.Equal(t, "a", eg.Name())
		ks = append(ks, &booker{name: name, rps: 1, hammer: true, eg: eg, stop: func(k *booker) bool { return k.moves > 0 && k.since >= okAfterMove }})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	runBookers(ctx, s, ks)
	for _, k := range ks {
		t.Logf("%s on %s ok=%d since=%d moves=%d block=%d errs=%v", k.name, k.eg.Name(), k.ok, k.since, k.moves, k.block, k.errs)
	}
	require.NoError(t, ctx.Err(), "every account finished in time")

	blockedSeen := 0
	for _, k := range ks {
		require.Empty(t, k.errs, k.name)
		require.Equal(t, 1, k.moves, "%s moved once", k.name)
		require.NotEqual(t, "a", k.eg.Name(), k.name)
		require.GreaterOrEqual(t, k.since, okAfterMove, k.name)
		blockedSeen += k.block
	}
	require.Positive(t, blockedSeen)

	all, blocked := submitsByIP(t, s.sim)
	require.Equal(t, map[string]int{"127.0.0.11": blocked["127.0.0.11"]}, blocked, "only a's address was ever blocked")
	require.Positive(t, blocked["127.0.0.11"])
	for _, n := range []string{"b", "c", "d"} {
		require.Positive(t, all[s.ips[n]], "traffic went on through %s", n)
	}
	a := stateOf(t, s.pool, "a", s.host)
	require.Equal(t, StateOpen, a.State)
	require.Greater(t, time.Until(a.Until), 20*time.Second, "a cools down for the block's Retry-After (30s)")
	require.Zero(t, a.Accounts)
}

// The same kind of crowd, placed by Assign with the default ceiling over
// the four egresses and paced by their limiters, is never blocked: more
// traffic in total than one address may send, and not one 403.
func TestSpreadLoadStaysUnderTheBlockThreshold(t *testing.T) {
	t.Parallel()
	s := setupSim(t, Config{})
	const accounts = 8
	var ks []*booker
	perEgress := map[string]int{}
	for i := range accounts {
		name := fmt.Sprintf("user%03d", i+1)
		eg, err := s.pool.Assign(name, s.host, 2)
		require.NoError(t, err)
		perEgress[eg.Name()]++
		ks = append(ks, &booker{name: name, rps: 2, eg: eg, stop: func(*booker) bool { return false }})
	}
	require.Equal(t, map[string]int{"a": 2, "b": 2, "c": 2, "d": 2}, perEgress)

	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	runBookers(ctx, s, ks)

	total := 0
	for _, k := range ks {
		require.Empty(t, k.errs, k.name)
		require.Zero(t, k.block, k.name)
		require.Zero(t, k.moves, k.name)
		total += k.ok
	}
	all, blocked := submitsByIP(t, s.sim)
	require.Empty(t, blocked)
	require.Len(t, all, 4)
	for _, ip := range s.ips {
		require.GreaterOrEqual(t, all[ip], 8, "%s carried its share", ip)
	}
	require.Greater(t, total, 3*5, "more than one address could have sent unblocked in the same time")
	for _, st := range s.pool.States() {
		require.Equal(t, StateClosed, st.State, "%+v", st)
	}
}
