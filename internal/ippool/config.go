package ippool

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Kind is how an egress reaches the sites.
type Kind string

// Egress kinds.
const (
	// KindDirect dials the site from the default local address.
	KindDirect Kind = "direct"
	// KindSource dials the site from a fixed local source address
	// (EgressConfig.Source), e.g. one of several addresses of the host.
	KindSource Kind = "source"
	// KindHTTP goes through an HTTP proxy: absolute-URI requests for http
	// targets, CONNECT tunnels for https targets.
	KindHTTP Kind = "http"
	// KindSOCKS5 goes through a SOCKS5 proxy, with optional username and
	// password in the URL.
	KindSOCKS5 Kind = "socks5"
)

// Defaults applied by New to zero-valued Config fields.
// PaceFraction: a ceiling of N requests/s is paced at PaceFraction × N, so
// that the site counts at most N in any 1 s window even when a request
// leaves a little after its turn (the scheduler) or the path's jitter
// brings two closer: a token bucket at exactly N lets N+1 through a 1 s
// window whenever one of them was delayed.
const PaceFraction = 0.98

const (
	// HostCeilingPerEgressDefault is the most requests per second one egress
	// sends one site host. Legacy sites block an address at a handful of
	// requests per second; 4 stays under the usual 5.
	HostCeilingPerEgressDefault = 4.0
	// OpenTimeoutDefault is how long a tripped breaker stays open when the
	// site named no wait. gobreaker's own default of 60 s would eat a fifth
	// of a five-minute window.
	OpenTimeoutDefault = 5 * time.Second
	// MaxCoolDownDefault caps a cool-down a site asks for (Retry-After).
	MaxCoolDownDefault = 15 * time.Minute
	// FailureThresholdDefault is the number of consecutive transport
	// failures (refused dial, dead proxy) that trips a breaker.
	FailureThresholdDefault = 2
	// RetryAfterMemoryDefault is how long a Retry-After header seen by an
	// egress's transport is remembered for a Report that names no wait.
	RetryAfterMemoryDefault = 10 * time.Second

	DialTimeoutDefault           = 5 * time.Second
	KeepAliveDefault             = 30 * time.Second
	TLSHandshakeTimeoutDefault   = 10 * time.Second
	ResponseHeaderTimeoutDefault = 30 * time.Second
	// IdleConnTimeoutDefault keeps the connections of the pre-warm (one
	// minute before the opening) alive until the first submit.
	IdleConnTimeoutDefault = 5 * time.Minute
	// MaxIdleConnsPerHostDefault: a thousand bookings may open at once.
	MaxIdleConnsPerHostDefault = 1024
)

// DefaultEgressName is the name of the egress used when none is configured.
const DefaultEgressName = "direct"

// ErrInvalidConfig is wrapped by every validation error from New.
var ErrInvalidConfig = errors.New("ippool: invalid config")

// EgressConfig describes one egress.
type EgressConfig struct {
	// Name identifies the egress in logs, metrics and attempt rows.
	Name string `yaml:"name"`
	// Kind is direct, source, http or socks5.
	Kind Kind `yaml:"kind"`
	// Source is the local IP address to dial from: required for kind
	// source; for http and socks5 it is the address the proxy is dialled
	// from (optional).
	Source string `yaml:"source,omitempty"`
	// URL is the proxy, for kinds http ("http://[user:pass@]host:port") and
	// socks5 ("socks5://[user:pass@]host:port"). Credentials in it are never
	// logged nor put in errors.
	URL string `yaml:"url,omitempty"`
}

// Config configures a Pool. The zero value is one direct egress.
type Config struct {
	// Egresses to spread accounts over; default one direct egress.
	Egresses []EgressConfig `yaml:"egresses"`
	// HostCeilingPerEgress is the request rate (req/s) one egress may send
	// one site host: placement keeps the declared rates of the accounts on
	// an egress under it, and Limiter paces at it. Default 4.
	HostCeilingPerEgress float64 `yaml:"host_ceiling_per_egress"`
	// OpeningBurst caps how many first submits of one opening an egress
	// sends to a host at once, ahead of its ceiling's pace (docs/opening.md):
	// the rest wait for the ceiling. Default: with egresses listed, one
	// second of HostCeilingPerEgress, so that a listed egress (an address a
	// site may block) never sends more than its ceiling in any 1 s window,
	// the opening included; with none listed (one implicit direct egress,
	// which stands for the host), no cap: the per-host opening policy
	// governs.
	OpeningBurst float64 `yaml:"opening_burst"`
	// OpenTimeout is how long a tripped breaker stays open before a single
	// probe request decides whether the egress is used again. Default 5s.
	OpenTimeout time.Duration `yaml:"open_timeout"`
	// MaxCoolDown caps the cool-down a block page asks for. Default 15m.
	MaxCoolDown time.Duration `yaml:"max_cool_down"`
	// FailureThreshold is the number of consecutive transport failures that
	// trips a breaker. Default 2.
	FailureThreshold uint32 `yaml:"failure_threshold"`
	// Transport tuning of every egress.
	DialTimeout           time.Duration `yaml:"dial_timeout"`
	TLSHandshakeTimeout   time.Duration `yaml:"tls_handshake_timeout"`
	ResponseHeaderTimeout time.Duration `yaml:"response_header_timeout"`
	IdleConnTimeout       time.Duration `yaml:"idle_conn_timeout"`
	MaxIdleConnsPerHost   int           `yaml:"max_idle_conns_per_host"`

	// Logger receives one line per breaker state change; default no logs.
	Logger *zap.Logger `yaml:"-"`
	// OnStateChange, if set, is called on every breaker state change with
	// the state names "closed", "open" and "half-open". It runs while the
	// breaker is locked: it must be quick and must not call the Pool.
	OnStateChange func(egress, host string, from, to string) `yaml:"-"`
	// TLSClientConfig, if set, is used for https sites (e.g. a private CA).
	TLSClientConfig *tls.Config `yaml:"-"`
}

// withDefaults returns a copy of c with zero fields replaced by defaults.
func (c Config) withDefaults() Config {
	implicit := len(c.Egresses) == 0
	if implicit {
		c.Egresses = []EgressConfig{{Name: DefaultEgressName, Kind: KindDirect}}
	}
	c.Egresses = append([]EgressConfig(nil), c.Egresses...)
	for i := range c.Egresses {
		e := &c.Egresses[i]
		e.Name = strings.TrimSpace(e.Name)
		e.Kind = Kind(strings.ToLower(strings.TrimSpace(string(e.Kind))))
		e.Source = strings.TrimSpace(e.Source)
		e.URL = strings.TrimSpace(e.URL)
		if e.Kind == "" {
			e.Kind = KindDirect
		}
	}
	c.HostCeilingPerEgress = cmp.Or(c.HostCeilingPerEgress, HostCeilingPerEgressDefault)
	if c.OpeningBurst == 0 {
		c.OpeningBurst = c.HostCeilingPerEgress
		if implicit {
			c.OpeningBurst = math.Inf(1)
		}
	}
	c.OpenTimeout = cmp.Or(c.OpenTimeout, OpenTimeoutDefault)
	c.MaxCoolDown = cmp.Or(c.MaxCoolDown, MaxCoolDownDefault)
	c.FailureThreshold = cmp.Or(c.FailureThreshold, FailureThresholdDefault)
	c.DialTimeout = cmp.Or(c.DialTimeout, DialTimeoutDefault)
	c.TLSHandshakeTimeout = cmp.Or(c.TLSHandshakeTimeout, TLSHandshakeTimeoutDefault)
	c.ResponseHeaderTimeout = cmp.Or(c.ResponseHeaderTimeout, ResponseHeaderTimeoutDefault)
	c.IdleConnTimeout = cmp.Or(c.IdleConnTimeout, IdleConnTimeoutDefault)
	c.MaxIdleConnsPerHost = cmp.Or(c.MaxIdleConnsPerHost, MaxIdleConnsPerHostDefault)
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

// validate reports every problem with already-defaulted config at once.
// It never quotes a proxy URL as written: it may hold a password.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if !(c.HostCeilingPerEgress > 0) {
		bad("host_ceiling_per_egress must be positive, got %v", c.HostCeilingPerEgress)
	}
	if !(c.OpeningBurst >= 1) {
		bad("opening_burst must be at least 1 (first submits an egress may send at once), got %v", c.OpeningBurst)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"open_timeout", c.OpenTimeout}, {"max_cool_down", c.MaxCoolDown},
		{"dial_timeout", c.DialTimeout}, {"tls_handshake_timeout", c.TLSHandshakeTimeout},
		{"response_header_timeout", c.ResponseHeaderTimeout}, {"idle_conn_timeout", c.IdleConnTimeout},
	} {
		if d.v < 0 {
			bad("%s must not be negative, got %v", d.name, d.v)
		}
	}
	if c.MaxCoolDown < c.OpenTimeout {
		bad("max_cool_down %v must not be shorter than open_timeout %v", c.MaxCoolDown, c.OpenTimeout)
	}
	if c.MaxIdleConnsPerHost < 0 {
		bad("max_idle_conns_per_host must not be negative, got %d", c.MaxIdleConnsPerHost)
	}
	seen := map[string]bool{}
	for i, e := range c.Egresses {
		label := fmt.Sprintf("egress #%d %q", i+1, e.Name)
		if e.Name == "" {
			bad("egress #%d: name is required", i+1)
		} else if seen[e.Name] {
			bad("%s: duplicate name", label)
		}
		seen[e.Name] = true
		if err := e.validate(); err != nil {
			bad("%s: %w", label, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

func (e EgressConfig) validate() error {
	var errs []error
	if e.Source != "" && net.ParseIP(e.Source) == nil {
		errs = append(errs, fmt.Errorf("source %q is not an IP address", e.Source))
	}
	switch e.Kind {
	case KindDirect:
		if e.Source != "" {
			errs = append(errs, errors.New("kind direct takes no source; use kind source"))
		}
		if e.URL != "" {
			errs = append(errs, errors.New("kind direct takes no url"))
		}
	case KindSource:
		if e.Source == "" {
			errs = append(errs, errors.New("kind source needs a source address"))
		}
		if e.URL != "" {
			errs = append(errs, errors.New("kind source takes no url"))
		}
	case KindHTTP, KindSOCKS5:
		if _, err := parseProxyURL(e.Kind, e.URL); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("kind must be %s, %s, %s or %s, got %q", KindDirect, KindSource, KindHTTP, KindSOCKS5, e.Kind))
	}
	return errors.Join(errs...)
}

// parseProxyURL parses a proxy URL of kind k. Its errors never quote the
// URL: url.Parse's own error would repeat it, password included.
func parseProxyURL(k Kind, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("kind %s needs a url", k)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("url does not parse")
	}
	schemes := map[Kind][]string{KindHTTP: {"http", "https"}, KindSOCKS5: {"socks5", "socks5h"}}[k]
	ok := false
	for _, s := range schemes {
		ok = ok || strings.EqualFold(u.Scheme, s)
	}
	if !ok {
		return nil, fmt.Errorf("url %s: scheme must be one of %v", redactURL(u), schemes)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("url %s: needs host:port", redactURL(u))
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("url %s: must not have a path or query", redactURL(u))
	}
	return u, nil
}

// redactURL prints u without its user info; "***@" shows that there was
// some.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.Path, c.RawPath, c.RawQuery, c.Fragment = "", "", "", ""
	if c.User == nil {
		return c.String()
	}
	c.User = nil
	s := c.String()
	if i := strings.Index(s, "://"); i >= 0 {
		return s[:i+3] + "***@" + s[i+3:]
	}
	return "***@" + s
}
