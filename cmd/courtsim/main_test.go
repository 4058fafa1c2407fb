package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"reserver/internal/netsim"
	"reserver/internal/sitesim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o options)
		wantErr string
	}{
		{"defaults", nil, func(t *testing.T, o options) {
			require.Equal(t, "127.0.0.1:9090", o.Addr)
			require.Equal(t, sitesim.AccountsDefault, o.Accounts)
			require.Equal(t, sitesim.PasswordDefault, o.Password)
			require.True(t, o.OpenAt.IsZero())
			require.Equal(t, sitesim.ResetAppliedDefault, o.ResetApplied)
			require.False(t, o.Strict)
			require.Equal(t, sitesim.FlavorEgov, o.Flavor)
			require.Equal(t, sitesim.NoticeDefault, o.Notice)
			require.Equal(t, sitesim.HoldForDefault, o.HoldFor)
			require.Equal(t, sitesim.ListDaysDefault, o.ListDays)
			require.False(t, o.delayed(), "no delay line unless asked for")
		}, ""},
		{"delay line", []string{"-net-up", "15ms", "-net-down", "5ms", "-net-jitter", "2ms", "-seed", "9"}, func(t *testing.T, o options) {
			require.True(t, o.delayed())
			require.Equal(t, netsim.Config{Up: 15 * time.Millisecond, Down: 5 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 9}, o.net)
			require.Equal(t, "127.0.0.1:9090", o.Addr, "-addr is where the delay line listens")
		}, ""},
		{"delay line one way only", []string{"-net-down", "30ms"}, func(t *testing.T, o options) {
			require.True(t, o.delayed())
			require.Equal(t, 30*time.Millisecond, o.net.Down)
		}, ""},
		{"bad net-up", []string{"-net-up", "fast"}, nil, `invalid value "fast" for flag -net-up`},
		{"net-down without a unit", []string{"-net-down", "5"}, nil, `invalid value "5" for flag -net-down`},
		{"bad net-jitter", []string{"-net-jitter", "a bit"}, nil, `invalid value "a bit" for flag -net-jitter`},
		{"cart", []string{"-flavor", "cart", "-notice", "48h", "-hold-for", "5m", "-list-days", "7"}, func(t *testing.T, o options) {
			require.Equal(t, sitesim.FlavorCart, o.Flavor)
			require.Equal(t, 48*time.Hour, o.Notice)
			require.Equal(t, 5*time.Minute, o.HoldFor)
			require.Equal(t, 7, o.ListDays)
			require.True(t, o.OpenAt.IsZero())
		}, ""},
		{"strict", []string{"-strict"}, func(t *testing.T, o options) {
			require.True(t, o.Strict)
			require.Zero(t, o.AccountLimitPerDay, "no limit by default")
			require.Zero(t, o.AccountLimitPerWeek)
		}, ""},
		{"account limits", []string{"-limit-per-day", "1", "-limit-per-week", "3"}, func(t *testing.T, o options) {
			require.Equal(t, 1, o.AccountLimitPerDay)
			require.Equal(t, 3, o.AccountLimitPerWeek)
		}, ""},
		{"bad limit-per-day", []string{"-limit-per-day", "one"}, nil, `invalid value "one" for flag -limit-per-day`},
		{"open-in counts from the sim clock", []string{"-open-in", "90s", "-skew", "-2.5s"}, func(t *testing.T, o options) {
			require.Equal(t, -2500*time.Millisecond, o.Skew)
			require.WithinDuration(t, time.Now().Add(-2500*time.Millisecond+90*time.Second), o.OpenAt, time.Second)
		}, ""},
		{"open-at", []string{"-open-at", "2026-11-25T10:00:00+09:00"}, func(t *testing.T, o options) {
			require.True(t, o.OpenAt.Equal(time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)))
		}, ""},
		{"explicit zero applied resets", []string{"-reset-rate", "0.2", "-reset-applied", "0"}, func(t *testing.T, o options) {
			require.Equal(t, sitesim.ResetAppliedNever, o.ResetApplied)
		}, ""},
		{"both openings", []string{"-open-at", "2026-11-25T10:00:00+09:00", "-open-in", "1m"}, nil, "either"},
		{"bad open-at", []string{"-open-at", "tomorrow"}, nil, "-open-at"},
		{"stray argument", []string{"serve"}, nil, "unexpected"},
		{"record requests", []string{"-record-requests"}, func(t *testing.T, o options) {
			require.True(t, o.RecordRequests)
		}, ""},
		{"open lag", []string{"-open-lag", "-1.5s"}, func(t *testing.T, o options) {
			require.Equal(t, -1500*time.Millisecond, o.OpenLag)
			require.False(t, o.RecordRequests)
		}, ""},
		{"bad open-lag", []string{"-open-lag", "late"}, nil, `invalid value "late" for flag -open-lag`},
		{"several addresses", []string{"-addr", "127.0.0.1:0, 127.0.0.2:0,[::1]:0,localhost:0"}, func(t *testing.T, o options) {
			require.Equal(t, "127.0.0.1:0", o.Addr, "the site's own address is the first")
		}, ""},
		{"a fixed port twice", []string{"-addr", "127.0.0.1:9090,127.0.0.2:9090,127.0.0.1:9090"}, nil, `-addr "127.0.0.1:9090": listed twice`},
		{"empty element", []string{"-addr", "127.0.0.1:0,,127.0.0.2:0"}, nil, `-addr "127.0.0.1:0,,127.0.0.2:0": address 2 is empty`},
		{"trailing comma", []string{"-addr", "127.0.0.1:0,"}, nil, "address 2 is empty"},
		{"bad address in the list", []string{"-addr", "127.0.0.1:0,127.0.0.2"}, nil, `-addr "127.0.0.2": address 127.0.0.2: missing port in address`},
		{"non-loopback in the list", []string{"-addr", "127.0.0.1:0,10.0.0.7:0"}, nil, `-addr "10.0.0.7:0": host must be a loopback IP (127.0.0.0/8, ::1)`},
		{"public address", []string{"-addr", "0.0.0.0:0"}, nil, `-addr "0.0.0.0:0": host must be a loopback IP`},
		{"public address behind a delay line", []string{"-addr", "0.0.0.0:0", "-net-up", "5ms"}, nil, "host must be a loopback IP"},
		{"host name", []string{"-addr", "example.com:80"}, nil, "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			o, err := parseFlags(tt.args, &stderr)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
}

func TestHelpDocumentsAccountsAndExitsZero(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-h"}, &stdout, &stderr))
	for _, want := range []string{"user001", "pass1234", "-open-in", "-skew", "-block-rps", "-reset-applied", "-charset", "-strict",
		"-flavor", "-notice", "-hold-for", "-list-days", "docs/simulator.md", "-net-up", "-net-down", "-net-jitter", "delay line",
		"-record-requests", "-open-lag", "comma-separated", "-limit-per-day", "-limit-per-week", "/_sim/reserve", "double_bookings"} {
		require.Contains(t, stderr.String(), want)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = busy.Close() })
	taken := busy.Addr().String()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flavor", []string{"-flavor", "shop"}, "flavor must be one of egov, cart"},
		{"opening with cart", []string{"-flavor", "cart", "-open-in", "1m"}, "open at does not apply to the cart flavor"},
		{"euc-kr with cart", []string{"-flavor", "cart", "-charset", "euc-kr"}, "charset"},
		{"negative hold", []string{"-flavor", "cart", "-hold-for", "-1m"}, "hold for must not be negative"},
		{"negative net-up", []string{"-net-up", "-5ms"}, "up delay -5ms is negative: use 0 or more"},
		{"negative net-down", []string{"-net-up", "5ms", "-net-down", "-1ms"}, "down delay -1ms is negative"},
		{"jitter over the delay", []string{"-net-up", "5ms", "-net-down", "20ms", "-net-jitter", "10ms"}, "jitter 10ms exceeds the up delay 5ms"},
		{"jitter without a delay", []string{"-net-jitter", "3ms"}, "jitter 3ms exceeds the up delay 0s"},
		{"open lag with cart", []string{"-flavor", "cart", "-open-lag", "1s"}, "open lag does not apply to the cart flavor"},
		{"negative limit per day", []string{"-limit-per-day", "-1"}, "account limit per day must not be negative (0 = no limit), got -1"},
		{"negative limit per week", []string{"-flavor", "cart", "-limit-per-week", "-2"}, "account limit per week must not be negative (0 = no limit), got -2"},
		{"open lag over a minute", []string{"-open-lag", "-61s"}, "open lag must be within ±1m, got -1m1s"},
		{"second address taken", []string{"-addr", "127.0.0.1:0," + taken}, "address already in use"},
		{"second address taken behind a delay line", []string{"-addr", "127.0.0.1:0," + taken, "-net-up", "1ms"}, "address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			require.Equal(t, 1, run(append([]string{"-addr", "127.0.0.1:0"}, tt.args...), &stdout, &stderr))
			require.Contains(t, stderr.String(), tt.want)
			require.Empty(t, stdout.String())
		})
	}
}

func TestStartLineNamesTheFlavor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{nil, []string{"flavor=egov", "open_at=always open", "charset=utf-8", "strict=false", "accounts=user001..user500"}},
		{[]string{"-flavor", "cart", "-notice", "48h"}, []string{"flavor=cart", "notice=48h0m0s", "hold_for=10m0s", "list_days=14"}},
		{[]string{"-limit-per-day", "1"}, []string{"strict=false limit_per_day=1 limit_per_week=0 (0 = none)"}},
		{[]string{"-flavor", "cart", "-limit-per-week", "4"}, []string{"list_days=14", "limit_per_day=0 limit_per_week=4 (0 = none)"}},
	}
	for _, tt := range tests {
		c := startCourtsim(t, append([]string{"-addr", "127.0.0.1:0"}, tt.args...)...)
		require.NotContains(t, c.banner, "net_up=")
		require.NotContains(t, c.banner, "urls=", "one address: the banner as before")
		if len(tt.args) == 0 {
			require.NotContains(t, c.banner, "limit_per", "no limits: not in the banner")
		}
		for _, w := range tt.want {
			require.Contains(t, c.banner, w)
		}
	}
}

// TestBannerListsEveryAddress: the banner's third field (the one the
// benchmarks parse) stays the first address's URL, and with several
// addresses the banner ends with urls= listing every one in -addr's order,
// each the delay line's when there are delay lines.
func TestBannerListsEveryAddress(t *testing.T) {
	t.Parallel()
	needLoopbackAlias(t)
	tests := []struct {
		name     string
		args     []string
		hosts    []string
		wantTail string // what comes before urls=
	}{
		{"two", []string{"-addr", "127.0.0.1:0,127.0.0.2:0"}, []string{"127.0.0.1", "127.0.0.2"}, "strict=false"},
		{"three, cart", []string{"-addr", "127.0.0.2:0,127.0.0.1:0,127.0.0.3:0", "-flavor", "cart"}, []string{"127.0.0.2", "127.0.0.1", "127.0.0.3"}, "accounts=user001..user500"},
		{"behind delay lines", []string{"-addr", "127.0.0.1:0,127.0.0.2:0", "-net-up", "2ms", "-net-down", "1ms", "-net-jitter", "1ms"}, []string{"127.0.0.1", "127.0.0.2"}, "net_up=2ms net_down=1ms net_jitter=1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startCourtsim(t, tt.args...)
			require.Len(t, c.urls, len(tt.hosts), c.banner)
			require.Equal(t, c.urls[0], c.url, "field 3 is the first address's URL")
			require.True(t, strings.HasSuffix(c.banner, " "+tt.wantTail+" urls="+strings.Join(c.urls, ",")), c.banner)
			for i, u := range c.urls {
				host, port, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
				require.NoError(t, err)
				require.Equal(t, tt.hosts[i], host, u)
				require.NotEqual(t, "0", port, "the URL names the port actually bound")
			}
		})
	}
}

// TestServesOneSiteOnEveryAddress: a session opened through one address
// is valid through the other, and the ledger read through either lists the
// requests that came through both.
func TestServesOneSiteOnEveryAddress(t *testing.T) {
	t.Parallel()
	needLoopbackAlias(t)
	c := startCourtsim(t, "-addr", "127.0.0.1:0,127.0.0.2:0", "-record-requests")
	require.Len(t, c.urls, 2, c.banner)
	first, second := c.urls[0], c.urls[1]
	require.True(t, strings.HasPrefix(second, "http://127.0.0.2:"), second)
	client := newClient(t)

	login, err := client.PostForm(first+sitesim.PathLoginProc, url.Values{"userId": {"user007"}, "userPw": {sitesim.PasswordDefault}})
	require.NoError(t, err)
	require.NoError(t, login.Body.Close())
	require.Equal(t, http.StatusFound, login.StatusCode)
	var sid *http.Cookie
	for _, ck := range login.Cookies() {
		if ck.Name == sitesim.SessionCookie {
			sid = ck
		}
	}
	require.NotNil(t, sid, "login through the first address sets the session cookie")

	req, err := http.NewRequest(http.MethodGet, second+sitesim.PathMain, nil)
	require.NoError(t, err)
	req.AddCookie(sid)
	main, err := client.Do(req)
	require.NoError(t, err)
	page, err := io.ReadAll(main.Body)
	require.NoError(t, err)
	require.NoError(t, main.Body.Close())
	require.Equal(t, http.StatusOK, main.StatusCode, "the session is not known through the second address: not the same site")
	require.Contains(t, string(page), "user007")

	want := []string{"POST " + sitesim.PathLoginProc, "GET " + sitesim.PathMain}
	for _, u := range c.urls {
		led := getLedger(t, client, u)
		var got []string
		for _, a := range led.Requests {
			got = append(got, a.Method+" "+a.Path)
		}
		require.Equal(t, want, got, "the ledger through %s", u)
	}
}

// TestEachAddressHasItsOwnDelayLine: with -net-up and -net-down a request
// through either address, the second included, pays the delay line's
// delays (lower bounds only), and ending the context stops everything.
func TestEachAddressHasItsOwnDelayLine(t *testing.T) {
	t.Parallel()
	needLoopbackAlias(t)
	const up, down = 15 * time.Millisecond, 5 * time.Millisecond
	c := startCourtsim(t, "-addr", "127.0.0.1:0,127.0.0.2:0", "-net-up", up.String(), "-net-down", down.String())
	require.Len(t, c.urls, 2, c.banner)
	for _, u := range c.urls {
		client := newClient(t)
		sent := time.Now()
		led := getLedger(t, client, u)
		took := time.Since(sent)
		require.Equal(t, sitesim.FlavorEgov, led.Flavor)
		// A fresh connection: the handshake's round trip, the request up
		// and the answer down. Only a lower bound; a loaded machine is
		// slower.
		require.GreaterOrEqual(t, took, up+down+up+down, "%s was not reached through a delay line", u)
	}
}

// TestDelayLinesDrawTheirOwnJitter: the line on the i-th address is
// seeded with -seed + i, so that the lines' jitter differs while a run
// stays reproducible.
func TestDelayLinesDrawTheirOwnJitter(t *testing.T) {
	t.Parallel()
	needLoopbackAlias(t)
	opts, err := parseFlags([]string{"-addr", "127.0.0.1:0,127.0.0.2:0,127.0.0.3:0", "-seed", "9", "-net-up", "2ms", "-net-down", "2ms", "-net-jitter", "1ms"}, io.Discard)
	require.NoError(t, err)
	s, err := start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.close()) })
	var seeds []uint64
	for _, l := range s.lines {
		require.Equal(t, netsim.Config{Listen: l.Config().Listen, Target: s.srv.Addr().String(), Up: 2 * time.Millisecond, Down: 2 * time.Millisecond, Jitter: time.Millisecond, Seed: l.Config().Seed}, l.Config())
		seeds = append(seeds, l.Config().Seed)
	}
	require.Equal(t, []uint64{9, 10, 11}, seeds)
	require.Empty(t, s.extra, "behind delay lines the site listens once")
}

// TestServesBehindTheDelayLine runs courtsim's wiring in-process: the
// banner's URL (the field the benchmarks parse) is the delay line's, the
// ledger is reached through it, and ending the context stops both.
func TestServesBehindTheDelayLine(t *testing.T) {
	t.Parallel()
	const up, down = 15 * time.Millisecond, 5 * time.Millisecond
	c := startCourtsim(t, "-addr", "127.0.0.1:0", "-net-up", up.String(), "-net-down", down.String())
	require.True(t, strings.HasPrefix(c.url, "http://127.0.0.1:"), c.url)
	require.True(t, strings.HasSuffix(c.banner, " net_up=15ms net_down=5ms net_jitter=0s"), c.banner)

	sent := time.Now()
	led := getLedger(t, newClient(t), c.url)
	took := time.Since(sent)
	require.Equal(t, sitesim.FlavorEgov, led.Flavor)
	// A fresh connection: the handshake's round trip, the request up and
	// the answer down. Only a lower bound; a loaded machine is slower.
	require.GreaterOrEqual(t, took, up+down+up+down, "the ledger was not reached through the delay line")
}

// courtsim is courtsim's wiring running in-process.
type courtsim struct {
	banner string   // the first line printed, without its newline
	url    string   // the banner's third field
	urls   []string // the banner's urls=, or url alone
}

// startCourtsim parses args and serves them in-process until the test
// ends; the cleanup ends the context and requires serve to stop cleanly.
func startCourtsim(t *testing.T, args ...string) courtsim {
	t.Helper()
	opts, err := parseFlags(args, io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	served := make(chan error, 1)
	go func() {
		err := serve(ctx, opts, pw)
		_ = pw.CloseWithError(err)
		served <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("courtsim did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err, "no banner: serve ended early")
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	c := courtsim{banner: strings.TrimSuffix(line, "\n")}
	f := strings.Fields(c.banner)
	require.GreaterOrEqual(t, len(f), 3)
	require.Equal(t, []string{"courtsim:", "serving"}, f[:2])
	c.url, c.urls = f[2], []string{f[2]}
	if last := f[len(f)-1]; strings.HasPrefix(last, "urls=") {
		c.urls = strings.Split(strings.TrimPrefix(last, "urls="), ",")
	}
	return c
}

// newClient is a client that does not follow redirects and whose idle
// connections are closed when the test ends.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func getLedger(t *testing.T, client *http.Client, base string) sitesim.Ledger {
	t.Helper()
	resp, err := client.Get(base + sitesim.PathLedger)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var led sitesim.Ledger
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&led))
	return led
}

// needLoopbackAlias skips the test where only 127.0.0.1 of 127.0.0.0/8
// can be bound (macOS without an alias); Linux routes the whole /8 to lo.
func needLoopbackAlias(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	require.NoError(t, ln.Close())
}
