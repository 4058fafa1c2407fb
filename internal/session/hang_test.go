package session_test

import (
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/session"
)

// hangingProxy accepts connections, reads what it is sent and never
// answers, like a proxy that died mid-flight.
func hangingProxy(t *testing.T) *url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return &url.URL{Scheme: "http", Host: l.Addr().String()}
}

// TestHangingProxyIsCutByTheStepTimeout: a request through a proxy that
// never answers ends with an error after the profile's timeout, and a
// submit that was handed over is treated as of unknown outcome (verify
// first), never as not sent.
func TestHangingProxyIsCutByTheStepTimeout(t *testing.T) {
	t.Parallel()
	_, p := plainSite(t, func(http.ResponseWriter, *http.Request) {}, "300ms")
	tr := &http.Transport{Proxy: http.ProxyURL(hangingProxy(t))}
	t.Cleanup(tr.CloseIdleConnections)
	s, err := session.New(session.Config{Profile: p, Transport: tr})
	require.NoError(t, err)

	start := time.Now()
	res, err := s.Do(t.Context(), profile.StepSubmit, &profile.Data{X: map[string]string{"csrf_token": "t"}})
	require.Error(t, err)
	require.Less(t, time.Since(start), 5*time.Second, "the step timeout bounds a hanging proxy")
	require.NotNil(t, res)
	require.True(t, res.Ambiguous, "the submit reached the proxy: its outcome is unknown")
}
