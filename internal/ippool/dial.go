package ippool

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/proxy"
)

// dialError marks a failure to reach the site or the proxy: it counts
// against the egress's breaker.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// proxyError is an HTTP proxy refusing a CONNECT tunnel or an absolute-URI
// request with 407: the proxy, not the site, answered.
type proxyError struct{ status string }

func (e *proxyError) Error() string { return "proxy refused: " + e.status }

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func markDial(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, &dialError{err: err}
		}
		return c, nil
	}
}

// newTransport builds the tuned transport of one egress and the strings
// that must never appear in its errors (proxy credentials).
func newTransport(c Config, e EgressConfig) (*http.Transport, []string, error) {
	d := &net.Dialer{Timeout: c.DialTimeout, KeepAlive: KeepAliveDefault}
	if e.Source != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(e.Source)}
	}
	t := &http.Transport{
		// Never the environment's proxy: an egress is exactly what the
		// configuration says.
		Proxy:                  nil,
		DialContext:            markDial(d.DialContext),
		ForceAttemptHTTP2:      false,
		MaxIdleConns:           0,
		MaxIdleConnsPerHost:    c.MaxIdleConnsPerHost,
		MaxConnsPerHost:        0,
		IdleConnTimeout:        c.IdleConnTimeout,
		TLSHandshakeTimeout:    c.TLSHandshakeTimeout,
		ResponseHeaderTimeout:  c.ResponseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	if c.TLSClientConfig != nil {
		t.TLSClientConfig = c.TLSClientConfig.Clone()
	}
	var secrets []string
	switch e.Kind {
	case KindHTTP:
		u, err := parseProxyURL(e.Kind, e.URL)
		if err != nil {
			return nil, nil, err
		}
		secrets = credentials(u)
		t.Proxy = http.ProxyURL(u)
		t.OnProxyConnectResponse = func(_ context.Context, _ *url.URL, _ *http.Request, resp *http.Response) error {
			if resp.StatusCode != http.StatusOK {
				return &proxyError{status: resp.Status}
			}
			return nil
		}
	case KindSOCKS5:
		u, err := parseProxyURL(e.Kind, e.URL)
		if err != nil {
			return nil, nil, err
		}
		secrets = credentials(u)
		var auth *proxy.Auth
		if u.User != nil {
			pw, _ := u.User.Password()
			auth = &proxy.Auth{User: u.User.Username(), Password: pw}
		}
		pd, err := proxy.SOCKS5("tcp", u.Host, auth, d)
		if err != nil {
			return nil, nil, fmt.Errorf("socks5 proxy %s: %w", redactURL(u), err)
		}
		cd, ok := pd.(proxy.ContextDialer)
		if !ok {
			return nil, nil, fmt.Errorf("socks5 proxy %s: dialer does not take a context", redactURL(u))
		}
		timeout := c.DialTimeout
		t.DialContext = markDial(func(ctx context.Context, network, addr string) (net.Conn, error) {
			// The handshake with the proxy is part of the dial: a proxy
			// that accepts and then says nothing must not hang a booking.
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return cd.DialContext(ctx, network, addr)
		})
	}
	return t, secrets, nil
}

// credentials lists the forms in which u's credentials could show up in a
// message: raw, escaped, and as a Basic Proxy-Authorization value.
func credentials(u *url.URL) []string {
	if u.User == nil {
		return nil
	}
	user := u.User.Username()
	pw, _ := u.User.Password()
	out := []string{u.User.String(), base64.StdEncoding.EncodeToString([]byte(user + ":" + pw))}
	if len(pw) >= 4 { // shorter ones would mangle every message and reveal nothing
		out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	return out
}

// scrub replaces every secret in s.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}
