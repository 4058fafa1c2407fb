package ippool

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A proxy with nothing listening trips its breaker after the threshold;
// Assign and Move skip it; when the proxy is up again the first request
// after the cool-down is the half-open probe and closes it.
func TestDeadProxyIsSkippedAndComesBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind   Kind
		scheme string
		src    string
		start  func(t *testing.T, addr, src string)
	}{
		{KindHTTP, "http", "127.0.0.22", func(t *testing.T, addr, src string) { startHTTPProxy(t, addr, src, "", "") }},
		{KindSOCKS5, "socks5", "127.0.0.23", func(t *testing.T, addr, src string) { startSOCKSProxy(t, addr, src, "", "") }},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			site := whoServer(t, false)
			host := strings.TrimPrefix(site.URL, "http://")
			deadAddr := freeAddr(t)
			changes := &changeLog{}
			p, err := New(Config{
				Egresses: []EgressConfig{
					{Name: "proxy", Kind: tt.kind, URL: tt.scheme + "://" + deadAddr},
					{Name: "live", Kind: KindSource, Source: "127.0.0.21"},
				},
				OpenTimeout: 300 * time.Millisecond, FailureThreshold: 2, OnStateChange: changes.add,
			})
			require.NoError(t, err)
			t.Cleanup(p.Close)

			eg, err := p.Assign("kim", host, 1)
			require.NoError(t, err)
			require.Equal(t, "proxy", eg.Name(), "nobody knew it was dead")
			send := func() (string, error) {
				req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, site.URL, nil)
				require.NoError(t, err)
				resp, err := eg.Transport().RoundTrip(req)
				if err != nil {
					return "", err
				}
				defer resp.Body.Close()
				b := new(strings.Builder)
				_, err = fmt.Fprint(b, resp.StatusCode)
				return b.String(), err
			}
			for range 2 {
				_, err := send()
				require.Error(t, err)
				require.NotErrorIs(t, err, ErrEgressOpen)
				require.True(t, isEgressFailure(err), "%v", err)
			}
			_, err = send()
			var oe *EgressOpenError
			require.ErrorAs(t, err, &oe)
			require.Positive(t, oe.Wait)
			require.LessOrEqual(t, oe.Wait, 300*time.Millisecond)

			for i := range 3 {
				other, err := p.Assign(fmt.Sprintf("user%d", i), host, 1)
				require.NoError(t, err)
				require.Equal(t, "live", other.Name(), "Assign skips the open breaker though it has less load")
			}
			moved, err := p.Move("kim", host)
			require.NoError(t, err)
			require.Equal(t, "live", moved.Name())

			tt.start(t, deadAddr, tt.src)
			time.Sleep(time.Until(stateOf(t, p, "proxy", host).Until) + 10*time.Millisecond)
			require.Equal(t, StateHalfOpen, stateOf(t, p, "proxy", host).State)
			eg, _ = p.Egress("proxy")
			require.Equal(t, tt.src, get(t, eg.Transport(), site.URL), "the probe went through the revived proxy")
			require.Equal(t, StateClosed, stateOf(t, p, "proxy", host).State)
			h := "proxy " + host + " "
			require.Equal(t, []string{h + "closed>open", h + "open>half-open", h + "half-open>closed"}, changes.list())

			back, err := p.Assign("newcomer", host, 1)
			require.NoError(t, err)
			require.Equal(t, "proxy", back.Name(), "used again")
		})
	}
}

// Proxy passwords appear in no error, log line, state or description,
// whatever fails: wrong credentials (407 on plain http, refused CONNECT,
// refused SOCKS auth), a dead proxy, a bad configuration.
func TestProxyCredentialsNeverShow(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-very-secret"
	forbidden := []string{secret, base64.StdEncoding.EncodeToString([]byte("agent:" + secret))}

	plain, secure := whoServer(t, false), whoServer(t, true)
	hp := startHTTPProxy(t, "127.0.0.1:0", "127.0.0.31", "agent", "the-right-one")
	sp := startSOCKSProxy(t, "127.0.0.1:0", "127.0.0.32", "agent", "the-right-one")
	core, logs := observer.New(zapcore.DebugLevel)
	p, err := New(Config{
		Egresses: []EgressConfig{
			{Name: "http-wrong", Kind: KindHTTP, URL: "http://agent:" + secret + "@" + hp.ln.Addr().String()},
			{Name: "socks-wrong", Kind: KindSOCKS5, URL: "socks5://agent:" + secret + "@" + sp.ln.Addr().String()},
			{Name: "socks-dead", Kind: KindSOCKS5, URL: "socks5://agent:" + secret + "@" + freeAddr(t)},
		},
		FailureThreshold: 2,
		Logger:           zap.New(core),
		TLSClientConfig:  &tls.Config{RootCAs: secure.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs},
	})
	require.NoError(t, err)
	t.Cleanup(p.Close)

	var texts []string
	for _, eg := range p.Egresses() {
		texts = append(texts, eg.String())
		require.Contains(t, eg.String(), "***@", "shows that credentials are configured")
		for _, site := range []string{plain.URL, secure.URL} {
			for range 3 {
				req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, site, nil)
				require.NoError(t, err)
				resp, err := eg.Transport().RoundTrip(req)
				require.Error(t, err, "%s to %s", eg.Name(), site)
				require.Nil(t, resp)
				texts = append(texts, err.Error(), (&url.Error{Op: "Get", URL: site, Err: err}).Error())
			}
		}
		_, err := p.Assign("kim-"+eg.Name(), plain.URL, 1)
		texts = append(texts, fmt.Sprint(err))
	}
	for _, s := range p.States() {
		require.Equal(t, StateOpen, s.State, "wrong credentials and dead proxies trip: %+v", s)
		texts = append(texts, fmt.Sprintf("%+v", s))
	}
	for _, bad := range []string{
		"http://agent:" + secret + "@127.0.0.1:3128/some/path",
		"ftp://agent:" + secret + "@127.0.0.1:3128",
		"http://agent:" + secret + "@127.0.0.1",
		"http://agent:" + secret + "@127.0.0.1:%zz",
		"socks5://agent:" + secret + "@[::1",
	} {
		_, err := New(Config{Egresses: []EgressConfig{{Name: "x", Kind: KindHTTP, URL: bad}, {Name: "y", Kind: KindSOCKS5, URL: bad}}})
		require.ErrorIs(t, err, ErrInvalidConfig, bad)
		texts = append(texts, err.Error())
	}
	require.NotEmpty(t, logs.All())
	for _, e := range logs.All() {
		texts = append(texts, e.Message, fmt.Sprint(e.ContextMap()))
	}
	for _, text := range texts {
		for _, f := range forbidden {
			require.NotContains(t, text, f)
		}
	}
}

func TestScrubRemovesEveryForm(t *testing.T) {
	t.Parallel()
	u, err := url.Parse("socks5://agent:p%40ss%2Fw0rd@127.0.0.1:1080")
	require.NoError(t, err)
	secrets := credentials(u)
	msg := "a p@ss/w0rd b p%40ss%2Fw0rd c agent:p%40ss%2Fw0rd d " + base64.StdEncoding.EncodeToString([]byte("agent:p@ss/w0rd"))
	got := scrub(msg, secrets)
	require.NotContains(t, got, "p@ss/w0rd")
	require.NotContains(t, got, "w0rd")
	require.Equal(t, "socks5://***@127.0.0.1:1080", redactURL(u))
}
