package ippool

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// whoServer answers every request with the client's IP, as a site sees it.
func whoServer(t *testing.T, tlsOn bool) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		_, _ = io.WriteString(w, host)
	})
	var srv *httptest.Server
	if tlsOn {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv
}

// get sends GET url through rt and returns the body.
func get(t *testing.T, rt http.RoundTripper, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return string(b)
}

// Every kind reaches plain-http and https sites, each from its own address:
// the proxies dial out from distinct 127.0.0.x, the source egress binds its
// own, the direct one uses the default 127.0.0.1.
func TestEgressKindsReachSitesFromTheirOwnAddress(t *testing.T) {
	t.Parallel()
	plain, secure := whoServer(t, false), whoServer(t, true)

	hp := startHTTPProxy(t, "127.0.0.1:0", "127.0.0.3", "", "")
	hpAuth := startHTTPProxy(t, "127.0.0.1:0", "127.0.0.4", "agent", "s3cret-proxy")
	sp := startSOCKSProxy(t, "127.0.0.1:0", "127.0.0.5", "", "")
	spAuth := startSOCKSProxy(t, "127.0.0.1:0", "127.0.0.6", "agent", "s3cret-socks")

	authURL := "http://agent:s3cret-proxy@" + hpAuth.ln.Addr().String()
	p, err := New(Config{
		Egresses: []EgressConfig{
			{Name: "direct", Kind: KindDirect},
			{Name: "src", Kind: KindSource, Source: "127.0.0.2"},
			{Name: "http", Kind: KindHTTP, URL: hp.URL()},
			{Name: "http-auth", Kind: KindHTTP, URL: authURL},
			{Name: "socks", Kind: KindSOCKS5, URL: sp.URL("", "")},
			{Name: "socks-auth", Kind: KindSOCKS5, URL: spAuth.URL("agent", "s3cret-socks")},
		},
		TLSClientConfig: &tls.Config{RootCAs: secure.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs},
	})
	require.NoError(t, err)
	t.Cleanup(p.Close)

	want := map[string]string{
		"direct": "127.0.0.1", "src": "127.0.0.2", "http": "127.0.0.3",
		"http-auth": "127.0.0.4", "socks": "127.0.0.5", "socks-auth": "127.0.0.6",
	}
	for _, eg := range p.Egresses() {
		for _, site := range []*httptest.Server{plain, secure} {
			got := get(t, eg.Transport(), site.URL+"/who")
			require.Equal(t, want[eg.Name()], got, "egress %s to %s", eg.Name(), site.URL)
		}
	}
	require.Positive(t, hp.requests.Load(), "the http proxy was used")
	require.Positive(t, hpAuth.requests.Load(), "the authenticating http proxy was used")
	require.Positive(t, sp.accepted.Load(), "the socks proxy was used")
	require.Positive(t, spAuth.accepted.Load(), "the authenticating socks proxy was used")
	for _, s := range p.States() {
		require.Equal(t, StateClosed, s.State, "%+v", s)
	}
}

// Keep-alive: a second request reuses the tunnel instead of dialling the
// proxy again (bookings pre-warm one minute ahead and must not pay a dial
// at the opening instant).
func TestEgressKeepsConnectionsAlive(t *testing.T) {
	t.Parallel()
	site := whoServer(t, false)
	sp := startSOCKSProxy(t, "127.0.0.1:0", "127.0.0.7", "", "")
	p, err := New(Config{Egresses: []EgressConfig{{Name: "socks", Kind: KindSOCKS5, URL: sp.URL("", "")}}})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	eg, ok := p.Egress("socks")
	require.True(t, ok)
	for range 5 {
		require.Equal(t, "127.0.0.7", get(t, eg.Transport(), site.URL))
	}
	require.EqualValues(t, 1, sp.accepted.Load())
}
