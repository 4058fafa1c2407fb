package ippool

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// fakeSite stands in for an egress's own transport where no sockets are
// needed: it counts what would have been sent and answers with next.
type fakeSite struct {
	sent atomic.Int64
	mu   sync.Mutex
	next func(*http.Request) (*http.Response, error)
}

func (f *fakeSite) RoundTrip(r *http.Request) (*http.Response, error) {
	f.sent.Add(1)
	f.mu.Lock()
	next := f.next
	f.mu.Unlock()
	if next == nil {
		return answer(http.StatusOK, nil), nil
	}
	return next(r)
}

func (f *fakeSite) set(next func(*http.Request) (*http.Response, error)) {
	f.mu.Lock()
	f.next = next
	f.mu.Unlock()
}

func answer(status int, h http.Header) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h, Body: io.NopCloser(strings.NewReader("page"))}
}

var errRefused = &dialError{err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}

// fakeBundle is a pool whose egresses talk to fake sites.
type fakeBundle struct {
	pool    *Pool
	sites   map[string]*fakeSite
	changes *changeLog
}

type changeLog struct {
	mu  sync.Mutex
	all []string
}

func (c *changeLog) add(egress, host, from, to string) {
	c.mu.Lock()
	c.all = append(c.all, egress+" "+host+" "+from+">"+to)
	c.mu.Unlock()
}

func (c *changeLog) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.all...)
}

func fakePool(t *testing.T, cfg Config, names ...string) fakeBundle {
	t.Helper()
	b := fakeBundle{sites: map[string]*fakeSite{}, changes: &changeLog{}}
	for _, n := range names {
		cfg.Egresses = append(cfg.Egresses, EgressConfig{Name: n, Kind: KindDirect})
		b.sites[n] = &fakeSite{}
	}
	cfg.OnStateChange = b.changes.add
	p, err := newPool(cfg, func(ec EgressConfig) http.RoundTripper { return b.sites[ec.Name] })
	require.NoError(t, err)
	b.pool = p
	return b
}

const siteURL = "http://court.example:8080/rent/apply.do"
const siteHost = "court.example:8080"

// send makes one request through egress name.
func (b fakeBundle) send(t *testing.T, name string) (*http.Response, error) {
	t.Helper()
	eg, ok := b.pool.Egress(name)
	require.True(t, ok)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, siteURL, strings.NewReader("a=1"))
	require.NoError(t, err)
	resp, err := eg.Transport().RoundTrip(req)
	if resp != nil {
		_ = resp.Body.Close()
	}
	return resp, err
}

func stateOf(t *testing.T, p *Pool, egress, host string) Status {
	t.Helper()
	for _, s := range p.States() {
		if s.Egress == egress && s.Host == host {
			return s
		}
	}
	t.Fatalf("no state for %s %s", egress, host)
	return Status{}
}

// A reported block opens the breaker for the wait the page asked for;
// meanwhile the transport refuses at once without sending; afterwards one
// probe closes it again.
func TestBlockOpensForTheAskedWaitAndAProbeClosesIt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := fakePool(t, Config{}, "a")
		_, err := b.send(t, "a")
		require.NoError(t, err)
		start := time.Now()
		require.NoError(t, b.pool.Report("a", siteHost, Outcome{Class: profile.ClassBlocked, RetryAfter: 30 * time.Second}))

		sent := b.sites["a"].sent.Load()
		_, err = b.send(t, "a")
		var oe *EgressOpenError
		require.ErrorAs(t, err, &oe)
		require.ErrorIs(t, err, ErrEgressOpen)
		require.Equal(t, "a", oe.Egress)
		require.Equal(t, siteHost, oe.Host)
		require.Equal(t, 30*time.Second, oe.Wait)
		require.Equal(t, start.Add(30*time.Second), oe.Until)
		require.Contains(t, err.Error(), `"a"`)
		require.Equal(t, sent, b.sites["a"].sent.Load(), "nothing is sent while open")

		time.Sleep(29 * time.Second)
		_, err = b.send(t, "a")
		require.ErrorIs(t, err, ErrEgressOpen)
		require.Equal(t, StateOpen, stateOf(t, b.pool, "a", siteHost).State)

		time.Sleep(time.Second)
		require.Equal(t, StateHalfOpen, stateOf(t, b.pool, "a", siteHost).State)
		_, err = b.send(t, "a")
		require.NoError(t, err)
		require.Equal(t, StateClosed, stateOf(t, b.pool, "a", siteHost).State)
		require.Equal(t, []string{
			"a " + siteHost + " closed>open",
			"a " + siteHost + " open>half-open",
			"a " + siteHost + " half-open>closed",
		}, b.changes.list())
	})
}

// A block report without a parsed wait takes the Retry-After header the
// egress saw on the block page; without either, the open timeout; a huge
// wait is capped.
func TestBlockCoolDownSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		header     string
		reported   time.Duration
		wantCool   time.Duration
		reportLate time.Duration
	}{
		{name: "reported wait", reported: 2 * time.Minute, wantCool: 2 * time.Minute},
		{name: "retry-after header", header: "12", wantCool: 12 * time.Second},
		{name: "header wins over the page text", header: "12", reported: 60 * time.Second, wantCool: 12 * time.Second},
		{name: "short wait honoured", reported: time.Second, wantCool: time.Second},
		{name: "nothing: open timeout", wantCool: 3 * time.Second},
		{name: "stale header ignored", header: "100", reportLate: time.Minute, wantCool: 3 * time.Second},
		{name: "capped", reported: 5 * time.Hour, wantCool: 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := fakePool(t, Config{OpenTimeout: 3 * time.Second, MaxCoolDown: 10 * time.Minute}, "a")
				b.sites["a"].set(func(*http.Request) (*http.Response, error) {
					h := http.Header{}
					if tt.header != "" {
						h.Set("Retry-After", tt.header)
					}
					return answer(http.StatusForbidden, h), nil
				})
				_, err := b.send(t, "a")
				require.NoError(t, err)
				time.Sleep(tt.reportLate)
				now := time.Now()
				require.NoError(t, b.pool.Report("a", siteHost, Outcome{Class: profile.ClassBlocked, RetryAfter: tt.reported}))
				s := stateOf(t, b.pool, "a", siteHost)
				require.Equal(t, StateOpen, s.State)
				require.Equal(t, now.Add(tt.wantCool), s.Until)
			})
		})
	}
}

// Only blocks and route failures count: pages the profile classifies as
// ordinary (not open, sold out, 5xx, a reset after sending) never open the
// breaker, nor does a caller giving up.
func TestOrdinaryAnswersDoNotTrip(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := fakePool(t, Config{FailureThreshold: 2}, "a")
		for _, c := range []profile.Class{profile.ClassNotOpen, profile.ClassSoldOut, profile.ClassRetry, profile.ClassFatal, profile.ClassSessionExpired} {
			for range 5 {
				require.NoError(t, b.pool.Report("a", siteHost, Outcome{Class: c}))
			}
		}
		answers := []func(*http.Request) (*http.Response, error){
			func(*http.Request) (*http.Response, error) { return answer(http.StatusInternalServerError, nil), nil },
			func(*http.Request) (*http.Response, error) { return answer(http.StatusServiceUnavailable, nil), nil },
			func(*http.Request) (*http.Response, error) {
				return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
			},
			func(*http.Request) (*http.Response, error) { return nil, io.ErrUnexpectedEOF },
			func(*http.Request) (*http.Response, error) { return nil, context.Canceled },
			func(*http.Request) (*http.Response, error) { return nil, context.DeadlineExceeded },
		}
		for _, a := range answers {
			b.sites["a"].set(a)
			for range 5 {
				_, _ = b.send(t, "a")
			}
		}
		require.Equal(t, StateClosed, stateOf(t, b.pool, "a", siteHost).State)
		require.Empty(t, b.changes.list())
		require.EqualValues(t, 6*5, b.sites["a"].sent.Load())
	})
}

// Consecutive route failures trip after the threshold, for the open
// timeout; a failing probe opens it again; a success in between resets the
// count.
func TestRouteFailuresTrip(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := fakePool(t, Config{FailureThreshold: 3, OpenTimeout: 2 * time.Second}, "a")
		fail := func(*http.Request) (*http.Response, error) { return nil, errRefused }
		b.sites["a"].set(fail)
		for range 2 {
			_, err := b.send(t, "a")
			require.ErrorIs(t, err, syscall.ECONNREFUSED, "the cause stays visible")
			require.Contains(t, err.Error(), "egress a:")
		}
		b.sites["a"].set(nil)
		_, err := b.send(t, "a")
		require.NoError(t, err)
		b.sites["a"].set(fail)
		for range 2 {
			_, _ = b.send(t, "a")
		}
		require.Equal(t, StateClosed, stateOf(t, b.pool, "a", siteHost).State, "a success reset the count")
		_, _ = b.send(t, "a")
		s := stateOf(t, b.pool, "a", siteHost)
		require.Equal(t, StateOpen, s.State)
		require.Equal(t, time.Now().Add(2*time.Second), s.Until)

		time.Sleep(2 * time.Second)
		_, err = b.send(t, "a") // the probe fails
		require.ErrorIs(t, err, syscall.ECONNREFUSED)
		require.Equal(t, StateOpen, stateOf(t, b.pool, "a", siteHost).State)
		time.Sleep(2 * time.Second)
		b.sites["a"].set(nil)
		_, err = b.send(t, "a")
		require.NoError(t, err)
		require.Equal(t, StateClosed, stateOf(t, b.pool, "a", siteHost).State)
		h := "a " + siteHost + " "
		require.Equal(t, []string{h + "closed>open", h + "open>half-open", h + "half-open>open", h + "open>half-open", h + "half-open>closed"}, b.changes.list())
	})
}

// Half-open lets exactly one probe through; the others fail fast until it
// has answered.
func TestHalfOpenSendsOneProbe(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := fakePool(t, Config{OpenTimeout: time.Second}, "a")
		require.NoError(t, b.pool.Report("a", siteHost, Outcome{Class: profile.ClassBlocked}))
		time.Sleep(time.Second)
		release := make(chan struct{})
		b.sites["a"].set(func(*http.Request) (*http.Response, error) {
			<-release
			return answer(http.StatusOK, nil), nil
		})
		probeDone := make(chan error, 1)
		go func() {
			_, err := b.send(t, "a")
			probeDone <- err
		}()
		synctest.Wait() // the probe is in flight
		_, err := b.send(t, "a")
		var oe *EgressOpenError
		require.ErrorAs(t, err, &oe)
		require.Zero(t, oe.Wait)
		require.Contains(t, oe.Error(), "probed")
		close(release)
		require.NoError(t, <-probeDone)
		_, err = b.send(t, "a")
		require.NoError(t, err)
		require.EqualValues(t, 2, b.sites["a"].sent.Load())
	})
}

// Breakers are per (egress, host): a block on one site leaves the others
// and the other egresses alone.
func TestBreakersArePerEgressAndHost(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := fakePool(t, Config{}, "a", "b")
		require.NoError(t, b.pool.Report("a", "http://COURT.example:8080/login.do", Outcome{Class: profile.ClassBlocked}))
		_, err := b.send(t, "a")
		require.ErrorIs(t, err, ErrEgressOpen, "the host key ignores case and accepts a URL")
		_, err = b.send(t, "b")
		require.NoError(t, err)

		eg, _ := b.pool.Egress("a")
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://other.example/", nil)
		require.NoError(t, err)
		resp, err := eg.Transport().RoundTrip(req)
		require.NoError(t, err)
		_ = resp.Body.Close()

		require.ErrorIs(t, b.pool.Report("nope", siteHost, Outcome{Class: profile.ClassBlocked}), ErrUnknownEgress)
	})
}

// Several accounts meeting the same block report it several times: the
// breaker trips once and the longest asked wait wins.
func TestRepeatedBlockReportsExtendOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := fakePool(t, Config{}, "a")
		start := time.Now()
		require.NoError(t, b.pool.Report("a", siteHost, Outcome{Class: profile.ClassBlocked, RetryAfter: 10 * time.Second}))
		require.NoError(t, b.pool.Report("a", siteHost, Outcome{Class: profile.ClassBlocked, RetryAfter: 4 * time.Second}))
		require.NoError(t, b.pool.Report("a", siteHost, Outcome{Class: profile.ClassBlocked, RetryAfter: 20 * time.Second}))
		require.NoError(t, b.pool.Report("a", siteHost, Outcome{Class: profile.ClassBlocked}))
		require.Equal(t, start.Add(20*time.Second), stateOf(t, b.pool, "a", siteHost).Until)
		require.Len(t, b.changes.list(), 1)
	})
}

func TestEgressOpenErrorIsTyped(t *testing.T) {
	t.Parallel()
	err := error(&EgressOpenError{Egress: "p1", Host: "h", Wait: 1500 * time.Millisecond})
	require.ErrorIs(t, err, ErrEgressOpen)
	require.False(t, errors.Is(err, ErrAllCooling))
	require.Equal(t, `ippool: egress "p1" to h is cooling down for 1.5s more`, err.Error())
}
