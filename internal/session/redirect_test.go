package session_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/session"
)

// redirectProfile's login follows redirects; BASE and HOSTS are filled in
// per test. A 200 is success, a redirect nobody followed is fatal.
const redirectProfile = `name: redirects
base_url: BASE
HOSTS
steps:
  login:
    method: POST
    path: /login
    follow_redirects: true
    classify:
      - {status: 200, class: success}
      - {status: [301, 302, 303, 307, 308], class: fatal}
  trace: {path: /trace}
  submit:
    method: POST
    path: /submit
    classify: [{status: 200, class: success}]
`

func redirectSession(t *testing.T, base, hosts string, rt http.RoundTripper) *session.Session {
	t.Helper()
	if hosts != "" {
		hosts = "redirect_hosts: " + hosts
	}
	y := strings.NewReplacer("BASE", base, "HOSTS", hosts).Replace(redirectProfile)
	p, err := profile.Parse("redirects.yaml", []byte(y))
	require.NoError(t, err)
	s, err := session.New(session.Config{Profile: p, Transport: rt,
		Account: profile.AccountData{Username: "u", Password: "pw"}})
	require.NoError(t, err)
	return s
}

// serveOn starts an httptest server listening on ip (127.0.0.2 stands for
// a second host).
func serveOn(t *testing.T, ip string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	require.NoError(t, err)
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// otherHost is a second host that counts every request it gets and answers
// with a page that must never reach an excerpt.
type otherHost struct {
	srv  *httptest.Server
	hits atomic.Int64
}

const otherPage = "OTHER-HOST-PAGE"

func newOtherHost(t *testing.T, ip string) *otherHost {
	o := &otherHost{}
	o.srv = serveOn(t, ip, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		_, _ = fmt.Fprint(w, otherPage)
	}))
	return o
}

func TestRedirectsStayOnTheProfilesHost(t *testing.T) {
	t.Parallel()
	other := newOtherHost(t, "127.0.0.2")    // another host
	samePort := newOtherHost(t, "127.0.0.1") // the site's IP, another port: another origin
	_, otherPort, _ := net.SplitHostPort(other.srv.Listener.Addr().String())

	var target atomic.Pointer[string] // where /login sends the client
	site := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			w.Header().Set("Location", *target.Load())
			w.WriteHeader(http.StatusFound)
			_, _ = fmt.Fprint(w, "site says: moved")
		case "/hop": // a redirect within the site that leads off it
			http.Redirect(w, r, other.srv.URL+"/from-hop", http.StatusFound)
		default:
			_, _ = fmt.Fprint(w, "welcome home")
		}
	}))

	tests := []struct {
		name     string
		location string
		hosts    string // the redirect_hosts value, "" for none
		status   int
		class    profile.Class
		other    *otherHost
		hits     int64 // requests the other host got
	}{
		{"within the host is followed", "/home", "", 200, profile.ClassSuccess, other, 0},
		{"absolute URL on the base origin is followed", site.URL + "/home", "", 200, profile.ClassSuccess, other, 0},
		{"another host is not followed", other.srv.URL + "/steal", "", 302, profile.ClassFatal, other, 0},
		{"another port of the same IP is not followed", samePort.srv.URL + "/steal", "", 302, profile.ClassFatal, samePort, 0},
		{"a listed host is followed", other.srv.URL + "/sso", `["127.0.0.2:` + otherPort + `"]`, 200, profile.ClassSuccess, other, 1},
		{"a listed host without its port is not followed", other.srv.URL + "/sso", `[127.0.0.2]`, 302, profile.ClassFatal, other, 0},
		{"an unlisted host is not followed", other.srv.URL + "/sso", `["127.0.0.3:` + otherPort + `"]`, 302, profile.ClassFatal, other, 0},
		{"a hop within the host then off it stops at the hop", "/hop", "", 302, profile.ClassFatal, other, 0},
	}
	// Serial: the cases share the site's target and the hit counters.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target.Store(&tt.location)
			before := tt.other.hits.Load()
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			s := redirectSession(t, site.URL, tt.hosts, tr)

			res, err := s.Do(context.Background(), profile.StepLogin, &profile.Data{})
			require.NoError(t, err)
			require.Equal(t, tt.hits, tt.other.hits.Load()-before, "requests the other host got")
			require.Equal(t, tt.status, res.Status, res.Excerpt)
			require.Equal(t, tt.class, res.Class)
			if tt.status == 302 {
				want := tt.location
				if want == "/hop" {
					want = other.srv.URL + "/from-hop"
				}
				require.Equal(t, want, res.Location, "the answer is the redirect itself")
			}
			if tt.hits == 0 {
				require.NotContains(t, res.Excerpt, otherPage)
			}
		})
	}
}

func TestRedirectFromHTTPSToHTTPIsRefused(t *testing.T) {
	t.Parallel()
	plain := newOtherHost(t, "127.0.0.2")
	_, plainPort, _ := net.SplitHostPort(plain.srv.Listener.Addr().String())

	var target atomic.Pointer[string]
	site := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.Redirect(w, r, *target.Load(), http.StatusFound)
			return
		}
		_, _ = fmt.Fprint(w, "welcome over TLS")
	}))
	t.Cleanup(site.Close)
	insecure := "http" + strings.TrimPrefix(site.URL, "https")
	_, tlsPort, _ := net.SplitHostPort(site.Listener.Addr().String())
	// Both hosts are listed, so only the downgrade stops the redirect.
	hosts := fmt.Sprintf(`["127.0.0.2:%s", "127.0.0.1:%s"]`, plainPort, tlsPort)

	tests := []struct {
		name, location string
		status         int
	}{
		{"same host over https is followed", site.URL + "/home", 200},
		{"same host and port over http is refused", insecure + "/home", 302},
		{"a listed host over http is refused", plain.srv.URL + "/home", 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target.Store(&tt.location)
			tr := site.Client().Transport.(*http.Transport).Clone()
			t.Cleanup(tr.CloseIdleConnections)
			s := redirectSession(t, site.URL, hosts, tr)
			res, err := s.Do(context.Background(), profile.StepLogin, &profile.Data{})
			require.NoError(t, err)
			require.Equal(t, tt.status, res.Status, res.Excerpt)
			if tt.status == 302 {
				require.Equal(t, tt.location, res.Location)
			}
			require.Zero(t, plain.hits.Load(), "nothing is sent in clear text")
		})
	}
}

// TestCookiesStayWithTheirHost follows redirects to listed hosts and checks
// which of the site's cookies each one is sent: the jar (public-suffix
// aware) sends a host-only cookie to its host alone and a Domain cookie to
// that domain alone, whatever hosts the profile lets redirects reach.
func TestCookiesStayWithTheirHost(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string]string{} // host → Cookie header it received
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Host] = r.Header.Get("Cookie")
		mu.Unlock()
		_, _ = fmt.Fprint(w, "hello")
	})
	site := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "host-only", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "wide", Value: "domain", Path: "/", Domain: "courts.test"})
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		default:
			record(w, r)
		}
	}))
	elsewhere := serveOn(t, "127.0.0.2", record)
	_, sitePort, _ := net.SplitHostPort(site.Listener.Addr().String())
	_, elsePort, _ := net.SplitHostPort(elsewhere.Listener.Addr().String())

	// Names stand for hosts: www and login.courts.test are the site's,
	// courts.test.example.org and 127.0.0.2 are not.
	addrs := map[string]string{
		"www.courts.test":         site.Listener.Addr().String(),
		"login.courts.test":       elsewhere.Listener.Addr().String(),
		"courts.test.example.org": elsewhere.Listener.Addr().String(),
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		if a, ok := addrs[host]; ok {
			addr = a
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	base := "http://www.courts.test:" + sitePort
	hosts := fmt.Sprintf(`["*.courts.test:%s", "courts.test.example.org:%s", "127.0.0.2:%s"]`, elsePort, elsePort, elsePort)
	y := strings.NewReplacer("BASE", base, "HOSTS", "redirect_hosts: "+hosts,
		"path: /submit", "follow_redirects: true\n    path: '/login?to={{ urlquery (index .Booking.Fields \"to\") }}'",
		"steps:", "fields: [{name: to}]\nsteps:").Replace(redirectProfile)
	p, err := profile.Parse("redirects.yaml", []byte(y))
	require.NoError(t, err)
	s, err := session.New(session.Config{Profile: p, Transport: tr})
	require.NoError(t, err)

	tests := []struct {
		host, cookie string
	}{
		{"www.courts.test:" + sitePort, "sid=host-only; wide=domain"},
		{"login.courts.test:" + elsePort, "wide=domain"},
		{"courts.test.example.org:" + elsePort, ""},
		{"127.0.0.2:" + elsePort, ""},
	}
	for _, tt := range tests {
		res, err := s.Do(context.Background(), profile.StepSubmit, &profile.Data{Booking: profile.BookingData{
			Fields: map[string]string{"to": "http://" + tt.host + "/landing"}}})
		require.NoError(t, err)
		require.Equal(t, 200, res.Status, "the listed host %s is reached", tt.host)
		mu.Lock()
		cookie, ok := got[tt.host]
		mu.Unlock()
		require.True(t, ok, "%s got a request", tt.host)
		require.Equal(t, tt.cookie, cookie, "cookies sent to %s", tt.host)
	}
}
