package session_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

// A generic profile whose paths all hit one handler.
const plainProfile = `name: plain
base_url: http://127.0.0.1:1
timeout: TIMEOUT
fields:
  - {name: pin, secret: true}
steps:
  login:
    method: POST
    path: /login
    form: {id: "{{ .Account.Username }}", passwd: "{{ .Account.Password }}"}
    classify: [{status: 200, class: success}]
  trace:
    path: /trace
    extract: {csrf_token: {regex: 'token=(\w+)'}}
  submit:
    method: POST
    path: /submit
    form:
      pin: '{{ index .Booking.Fields "pin" }}'
      auth_token: "{{ .X.csrf_token }}"
      name: "{{ .Booking.Name }}"
    classify:
      - {status: 200, body_contains: booked, class: success}
      - {status: [500, 503], class: retry}
`

func plainSite(t *testing.T, h http.HandlerFunc, timeout string) (*httptest.Server, *profile.Profile) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	p, err := profile.Parse("plain.yaml", []byte(strings.Replace(plainProfile, "TIMEOUT", timeout, 1)))
	require.NoError(t, err)
	p, err = p.WithBaseURL(srv.URL)
	require.NoError(t, err)
	return srv, p
}

func TestLoginIsSingleFlight(t *testing.T) {
	t.Parallel()
	var logins, inside, maxInside atomic.Int64
	release := make(chan struct{})
	srv, p := plainSite(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			n := inside.Add(1)
			for {
				m := maxInside.Load()
				if n <= m || maxInside.CompareAndSwap(m, n) {
					break
				}
			}
			logins.Add(1)
			<-release // hold the login open while everyone else piles up
			inside.Add(-1)
		}
	}, "5s")
	_ = srv
	pool := session.NewPool(session.PoolConfig{Transport: newTransport(t)})
	acct := profile.AccountData{Username: "u1", Password: "pw"}

	// A holder that outlives the callers keeps the session in the pool.
	_, keep, err := pool.Acquire("t1", p, acct)
	require.NoError(t, err)
	defer keep()
	const callers = 40
	var wg sync.WaitGroup
	sessions := make(chan *session.Session, callers)
	gens := make(chan uint64, callers)
	for range callers {
		wg.Go(func() {
			s, done, err := pool.Acquire("t1", p, acct)
			if err != nil {
				t.Error(err)
				return
			}
			defer done()
			sessions <- s
			g, _, err := s.Login(t.Context(), 0)
			if err != nil {
				t.Error(err)
			}
			gens <- g
		})
	}
	// Let the first login reach the server, then let it finish.
	require.Eventually(t, func() bool { return logins.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	close(sessions)
	close(gens)
	require.Equal(t, int64(1), logins.Load())
	require.Equal(t, int64(1), maxInside.Load())
	var first *session.Session
	for s := range sessions {
		if first == nil {
			first = s
		}
		require.Same(t, first, s, "one session per account")
	}
	for g := range gens {
		require.Equal(t, uint64(1), g)
	}
	require.Equal(t, 1, pool.Len())

	// Everyone saw generation 1 expire: again exactly one login.
	var wg2 sync.WaitGroup
	for range callers {
		wg2.Go(func() {
			if _, _, err := first.Login(t.Context(), 1); err != nil {
				t.Error(err)
			}
		})
	}
	wg2.Wait()
	require.Equal(t, int64(2), logins.Load())
	require.Equal(t, uint64(2), first.Generation())
	require.Equal(t, int64(1), maxInside.Load())

	// Another account is another session.
	other, _, err := pool.Acquire("t1", p, profile.AccountData{Username: "u2", Password: "pw"})
	require.NoError(t, err)
	require.NotSame(t, first, other)
	pool.Remove(p.Name, "u2")
	require.Equal(t, 1, pool.Len())
}

func TestLoginWaiterGivesUpWithItsContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	_, p := plainSite(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			<-release
		}
	}, "5s")
	s := newSession(t, p, "u", "pw")
	done := make(chan error, 1)
	go func() { _, _, err := s.Login(t.Context(), 0); done <- err }()
	require.Eventually(t, func() bool { return s.LoginCount() == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := s.Login(ctx, 0)
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	require.NoError(t, <-done)
	require.Equal(t, int64(1), s.LoginCount())
}

// Not parallel: it measures the process's allocations, so it must run alone
// (sequential tests finish before parallel ones resume).
func TestLargeResponseIsTruncated(t *testing.T) {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	_, p := plainSite(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<p>token=abc booked</p>"))
		for range 10 << 20 / len(chunk) { // 10 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}, "5s")
	s := newSession(t, p, "u", "pw")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := s.Do(t.Context(), profile.StepTrace, &profile.Data{})
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.True(t, res.Truncated)
	require.Equal(t, "abc", res.Extracted["csrf_token"])
	// The client read 1 MiB; the whole process (server included) allocated
	// far less than the 10 MiB page.
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(6<<20))
	require.LessOrEqual(t, len([]rune(res.Excerpt)), session.ExcerptMax)

	small, err := session.New(session.Config{Profile: p, Transport: newTransport(t), MaxBody: 100})
	require.NoError(t, err)
	res, err = small.Do(t.Context(), profile.StepTrace, &profile.Data{})
	require.NoError(t, err)
	require.True(t, res.Truncated)
}

func TestAmbiguousAnswers(t *testing.T) {
	t.Parallel()
	var mode atomic.Value
	mode.Store("")
	_, p := plainSite(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the request was fully received
		switch mode.Load().(string) {
		case "reset":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()
			}
		case "slow":
			<-r.Context().Done()
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("booked"))
		}
	}, "300ms")
	s := newSession(t, p, "u", "pw")
	d := &profile.Data{X: map[string]string{"csrf_token": "t"}}
	tests := []struct {
		mode      string
		class     profile.Class
		status    int
		ambiguous bool
		err       bool
	}{
		{"", profile.ClassSuccess, 200, false, false},
		{"503", profile.ClassRetry, 503, true, false},
		{"reset", profile.ClassUnknown, 0, true, true},
		{"slow", profile.ClassUnknown, 0, true, true},
	}
	for _, tc := range tests {
		mode.Store(tc.mode)
		res, err := s.Do(t.Context(), profile.StepSubmit, d)
		require.NotNil(t, res, tc.mode)
		require.Equal(t, tc.err, err != nil, "%s: %v", tc.mode, err)
		require.Equal(t, tc.class, res.Class, tc.mode)
		require.Equal(t, tc.status, res.Status, tc.mode)
		require.Equal(t, tc.ambiguous, res.Ambiguous, tc.mode)
	}
}

func TestNotSentIsNotAmbiguous(t *testing.T) {
	t.Parallel()
	_, p := plainSite(t, func(http.ResponseWriter, *http.Request) {}, "1s")
	s, err := session.New(session.Config{Profile: p, Transport: failingTransport{}})
	require.NoError(t, err)
	res, err := s.Do(t.Context(), profile.StepSubmit, &profile.Data{X: map[string]string{"csrf_token": "t"}})
	require.Error(t, err)
	require.False(t, res.Ambiguous, "the request never left")

	res, err = s.Do(t.Context(), "dance", &profile.Data{})
	require.ErrorIs(t, err, profile.ErrUnknownStep)
	require.Nil(t, res)
	_, err = s.Do(t.Context(), profile.StepSubmit, &profile.Data{})
	require.ErrorIs(t, err, profile.ErrRender)

	_, err = session.New(session.Config{Profile: p})
	require.ErrorIs(t, err, session.ErrNoTransport)
	_, err = session.New(session.Config{Transport: failingTransport{}})
	require.ErrorIs(t, err, session.ErrNoProfile)
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, io.ErrUnexpectedEOF
}

func TestExcerptMasksSecrets(t *testing.T) {
	t.Parallel()
	// The site echoes what it got, and the password in several spellings.
	_, p := plainSite(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write([]byte("<html><body>\n  you sent:   " + string(b) +
			" raw=p&w \"d!\" html=p&amp;w &quot;d!&quot; token=T0K3N booked</body></html>"))
	}, "1s")
	s := newSession(t, p, "u", `p&w "d!"`)
	d := &profile.Data{Booking: profile.BookingData{Name: "Kim", Fields: map[string]string{"pin": "987654"}}}
	tr, err := s.Do(t.Context(), profile.StepTrace, d)
	require.NoError(t, err)
	require.Equal(t, "T0K3N", tr.Extracted["csrf_token"])
	require.NotContains(t, tr.Excerpt, "T0K3N", "a token-named extraction is masked")

	res, err := s.Do(t.Context(), profile.StepSubmit, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassSuccess, res.Class)
	for _, secret := range []string{"987654", "T0K3N", `p&w "d!"`, "p%26w+%22d%21%22", "p&amp;w"} {
		require.NotContains(t, res.Excerpt, secret)
	}
	require.True(t, strings.HasPrefix(res.Excerpt, "you sent: pin=***&auth_token=***&name=Kim raw=*** html=*** token=*** booked"), res.Excerpt)
	require.Contains(t, res.Excerpt, "name=Kim")
	require.NotContains(t, res.Excerpt, "  ", "whitespace is collapsed")

	lres, err := s.Do(t.Context(), profile.StepLogin, d)
	require.NoError(t, err)
	require.NotContains(t, lres.Excerpt, "p%26w")
	require.Contains(t, lres.Excerpt, "passwd=***")
}

// countingTransport counts requests and forwards them.
type countingTransport struct {
	n  atomic.Int64
	rt http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

func TestSetTransportAndResetCookies(t *testing.T) {
	t.Parallel()
	b := setupSim(t, "courtsim.yaml", sitesim.Options{Accounts: 10})
	first := &countingTransport{rt: b.tr}
	s, err := session.New(session.Config{Profile: b.prof, Transport: first,
		Account: profile.AccountData{Username: "user001", Password: "pass1234"}})
	require.NoError(t, err)
	_, _, err = s.Login(t.Context(), 0)
	require.NoError(t, err)
	require.Equal(t, int64(1), first.n.Load())

	second := &countingTransport{rt: b.tr}
	s.SetTransport(second)
	d := booking(b.prof, "1", "06:00", "Kim")
	res, err := s.Do(t.Context(), profile.StepTrace, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassSuccess, res.Class, "cookies survive a transport swap")
	require.Equal(t, int64(1), first.n.Load())
	require.Equal(t, int64(1), second.n.Load())

	s.ResetCookies()
	res, err = s.Do(t.Context(), profile.StepTrace, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassSessionExpired, res.Class)
}

func TestRehearse(t *testing.T) {
	t.Parallel()
	b := setupSim(t, "courtsim-euckr.yaml", sitesim.Options{Charset: sitesim.CharsetEUCKR, Accounts: 10, Skew: 1500 * time.Millisecond})
	d := booking(b.prof, "3", "09:00", "홍길동")
	var out strings.Builder
	healthy, err := session.Rehearse(t.Context(), b.prof, profile.AccountData{Username: "user001", Password: "pass1234"}, d,
		session.RehearseOptions{Submit: true, Transport: b.tr, Probes: 4, ProbeSpacing: 260 * time.Millisecond}, &out)
	require.NoError(t, err)
	require.True(t, healthy, out.String())
	text := out.String()
	require.Contains(t, text, "login   POST /loginProc.do  302")
	require.Contains(t, text, "rentToken=***(")
	require.Contains(t, text, "submit  POST /rent/apply.do  200")
	require.Contains(t, text, "reservation=")
	require.Contains(t, text, "opens   2026-11-24 09:00:00 +09:00 KST (")
	// Four probes, the most it may send here, say little more than the
	// second the site is in, but soundly.
	clock := regexp.MustCompile(`clock   site − local = (\+1\.[0-9]{3})s ± ([0-9.]+)s \(precision [0-9.]+[µm]?s, rtt [0-9.]+[µm]s, spread [0-9.]+[µm]?s, 4 probes\)`).FindStringSubmatch(text)
	require.NotNil(t, clock, text)
	t.Log(clock[0])
	offset, err := strconv.ParseFloat(clock[1], 64)
	require.NoError(t, err)
	uncertainty, err := strconv.ParseFloat(clock[2], 64)
	require.NoError(t, err)
	require.InDelta(t, 1.5, offset, uncertainty+0.001)
	require.NotContains(t, text, "pass1234")
	require.Len(t, b.srv.Ledger().Reservations, 1)

	out.Reset()
	healthy, err = session.Rehearse(t.Context(), b.prof, profile.AccountData{Username: "user002", Password: "bad"}, d,
		session.RehearseOptions{Transport: b.tr, Probes: -1}, &out)
	require.NoError(t, err)
	require.False(t, healthy)
	require.Contains(t, out.String(), "fatal")
	require.Contains(t, out.String(), "unhealthy: login failed")
	require.NotContains(t, out.String(), "bad\n")
}
