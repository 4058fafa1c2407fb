package clocksync

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// skewedSite is a real HTTP server on 127.0.0.1 whose Date header comes from
// a clock skew ahead of ours; a "phase" query parameter (a Go duration)
// moves the clock of that request further ahead, so that one server can
// stand for sites whose seconds start at different instants. It notes on the
// request's clock when each POST with a "fire" query parameter arrived,
// under the parameter's value.
type skewedSite struct {
	*httptest.Server
	requests atomic.Int64
	arrivals sync.Map // fire id → time.Time on the site's clock
}

func newSkewedSite(t testing.TB, skew time.Duration) *skewedSite {
	t.Helper()
	s := &skewedSite{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Add(skew)
		if phase, err := time.ParseDuration(r.URL.Query().Get("phase")); err == nil {
			now = now.Add(phase)
		}
		s.requests.Add(1)
		if id := r.URL.Query().Get("fire"); r.Method == http.MethodPost && id != "" {
			s.arrivals.Store(id, now)
		}
		// Set Date ourselves: net/http would otherwise stamp the real clock.
		w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.Close)
	return s
}

func newProber(t testing.TB, url string) *HTTPProber {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	return &HTTPProber{Client: client, URL: url}
}

func TestMeasureRealSocket(t *testing.T) {
	t.Parallel()
	const skew = 2300 * time.Millisecond
	site := newSkewedSite(t, skew)
	require.Contains(t, site.URL, "http://127.0.0.1:")
	// A 4 ms target lets the search finish in two passes (about 2 s; how
	// long it takes is BENCH clock's to measure, not this test's: under
	// the race detector on a busy machine it took 3.3 s once).
	start := time.Now()
	est, err := Measure(t.Context(), newProber(t, site.URL), Config{Target: 4 * time.Millisecond})
	took := time.Since(start)
	require.NoError(t, err)
	t.Logf("offset %v ± %v, rtt %v, %d probes in %v", est.Offset, est.Uncertainty, est.RTT, est.Probes, took)
	require.LessOrEqual(t, absDur(est.Offset-skew), est.Uncertainty)
	require.LessOrEqual(t, absDur(est.Offset-skew), 10*time.Millisecond)
	require.Equal(t, int64(est.Probes), site.requests.Load())
	require.Less(t, took, 10*time.Second, "the search ends (a guard against a hang, not a speed target)")
}

func TestHTTPProber(t *testing.T) {
	t.Parallel()
	site := newSkewedSite(t, -90*time.Second)
	p := newProber(t, site.URL)
	p.Method = http.MethodGet
	before := time.Now()
	s, err := p.Probe(t.Context())
	after := time.Now()
	require.NoError(t, err)
	require.False(t, s.Sent.Before(before))
	require.False(t, s.Received.Before(s.Sent))
	require.False(t, after.Before(s.Received))
	require.WithinDuration(t, before.Add(-90*time.Second), s.SiteDate, 2*time.Second)
	b := sampleBounds(s)
	require.True(t, b.lo <= -90*time.Second && -90*time.Second < b.hi, "the true offset lies in %v", b)
}

func TestHTTPProberErrors(t *testing.T) {
	t.Parallel()
	noDate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil // suppress the automatic header
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(noDate.Close)
	badDate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", "yesterday-ish")
	}))
	t.Cleanup(badDate.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name    string
		url     string
		wantErr error
	}{
		{name: "no Date header", url: noDate.URL, wantErr: ErrNoDate},
		{name: "unparseable Date header", url: badDate.URL, wantErr: ErrNoDate},
		{name: "connection refused", url: closed.URL},
		{name: "bad URL", url: "http://127.0.0.1:bad/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newProber(t, tt.url).Probe(t.Context())
			require.Error(t, err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

func TestHTTPProberRedactsPassword(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	url := "http://user:hunter2@" + closed.Listener.Addr().String() + "/"
	_, err := newProber(t, url).Probe(t.Context())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}
