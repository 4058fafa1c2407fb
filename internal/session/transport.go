package session

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"sync/atomic"

	"golang.org/x/net/publicsuffix"
)

// swapTransport forwards to a RoundTripper that can be replaced while
// requests are in flight: the egress pool moves a session to another proxy
// without rebuilding its client or losing its cookies.
type swapTransport struct {
	cur atomic.Pointer[rtBox]
}

type rtBox struct{ rt http.RoundTripper }

func newSwapTransport(rt http.RoundTripper) *swapTransport {
	t := &swapTransport{}
	t.set(rt)
	return t
}

func (t *swapTransport) set(rt http.RoundTripper) { t.cur.Store(&rtBox{rt: rt}) }

func (t *swapTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.cur.Load().rt.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// current transport.
func (t *swapTransport) CloseIdleConnections() {
	if c, ok := t.cur.Load().rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// resettableJar is a public-suffix-aware cookie jar that can be emptied
// while the client is in use.
type resettableJar struct {
	mu  sync.RWMutex
	jar *cookiejar.Jar
}

func newJar() *cookiejar.Jar {
	// cookiejar.New only fails for a nil-returning option, which we never pass.
	j, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	return j
}

func (j *resettableJar) reset() {
	nj := newJar()
	j.mu.Lock()
	j.jar = nj
	j.mu.Unlock()
}

func (j *resettableJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.RLock()
	jar := j.jar
	j.mu.RUnlock()
	jar.SetCookies(u, cookies)
}

func (j *resettableJar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.RLock()
	jar := j.jar
	j.mu.RUnlock()
	return jar.Cookies(u)
}
