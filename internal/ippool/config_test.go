package ippool

import (
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"gopkg.in/yaml.v3"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	p, err := New(Config{})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	egs := p.Egresses()
	require.Len(t, egs, 1)
	require.Equal(t, DefaultEgressName, egs[0].Name())
	require.Equal(t, KindDirect, egs[0].Kind())
	require.Equal(t, HostCeilingPerEgressDefault, p.cfg.HostCeilingPerEgress)
	require.Equal(t, OpenTimeoutDefault, p.cfg.OpenTimeout)
	require.True(t, math.IsInf(p.OpeningBurst(), 1), "the implicit direct egress stands for the host: no opening cap")

	tr, ok := egs[0].e.base.(*http.Transport)
	require.True(t, ok)
	require.Nil(t, tr.Proxy, "never the environment's proxy")
	require.Equal(t, MaxIdleConnsPerHostDefault, tr.MaxIdleConnsPerHost)
	require.Equal(t, IdleConnTimeoutDefault, tr.IdleConnTimeout)
	require.Equal(t, ResponseHeaderTimeoutDefault, tr.ResponseHeaderTimeout)
	require.Equal(t, TLSHandshakeTimeoutDefault, tr.TLSHandshakeTimeout)
}

// The lead embeds Config under "egress:" in the main file.
func TestConfigFromYAML(t *testing.T) {
	t.Parallel()
	const doc = `
egress:
  host_ceiling_per_egress: 3.5
  open_timeout: 2s
  egresses:
    - name: home
      kind: direct
    - name: second-ip
      kind: source
      source: 127.0.0.2
    - name: office
      kind: http
      url: http://user:pass@127.0.0.1:3128
    - name: tunnel
      kind: socks5
      url: socks5://127.0.0.1:1080
`
	var file struct {
		Egress Config `yaml:"egress"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(doc), &file))
	c := file.Egress
	require.Equal(t, 3.5, c.HostCeilingPerEgress)
	require.Equal(t, 2*time.Second, c.OpenTimeout)
	require.Equal(t, []EgressConfig{
		{Name: "home", Kind: KindDirect},
		{Name: "second-ip", Kind: KindSource, Source: "127.0.0.2"},
		{Name: "office", Kind: KindHTTP, URL: "http://user:pass@127.0.0.1:3128"},
		{Name: "tunnel", Kind: KindSOCKS5, URL: "socks5://127.0.0.1:1080"},
	}, c.Egresses)
	p, err := New(c)
	require.NoError(t, err)
	p.Close()
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"kind defaults to direct", Config{Egresses: []EgressConfig{{Name: "x"}}}, ""},
		{"no name", Config{Egresses: []EgressConfig{{Kind: KindDirect}}}, "name is required"},
		{"duplicate", Config{Egresses: []EgressConfig{{Name: "x"}, {Name: "x"}}}, "duplicate name"},
		{"unknown kind", Config{Egresses: []EgressConfig{{Name: "x", Kind: "vpn"}}}, `got "vpn"`},
		{"source needs address", Config{Egresses: []EgressConfig{{Name: "x", Kind: KindSource}}}, "needs a source"},
		{"source not an IP", Config{Egresses: []EgressConfig{{Name: "x", Kind: KindSource, Source: "eth0"}}}, "not an IP"},
		{"direct takes no url", Config{Egresses: []EgressConfig{{Name: "x", URL: "http://127.0.0.1:1"}}}, "takes no url"},
		{"http needs url", Config{Egresses: []EgressConfig{{Name: "x", Kind: KindHTTP}}}, "needs a url"},
		{"socks scheme", Config{Egresses: []EgressConfig{{Name: "x", Kind: KindSOCKS5, URL: "http://127.0.0.1:1"}}}, "scheme must be"},
		{"http proxy from a source", Config{Egresses: []EgressConfig{{Name: "x", Kind: KindHTTP, URL: "http://127.0.0.1:1", Source: "127.0.0.2"}}}, ""},
		{"negative ceiling", Config{HostCeilingPerEgress: -1}, "host_ceiling_per_egress"},
		{"negative open", Config{OpenTimeout: -time.Second}, "open_timeout must not be negative"},
		{"cap under open", Config{OpenTimeout: time.Minute, MaxCoolDown: time.Second}, "max_cool_down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(tt.cfg)
			if tt.want == "" {
				require.NoError(t, err)
				p.Close()
				return
			}
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 25, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{" 0 ", 0, true},
		{"Wed, 25 Mar 2026 01:02:00 GMT", 2 * time.Minute, true},
		{"Wed, 25 Mar 2026 00:59:00 GMT", 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
		{"99999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		require.Equal(t, tt.ok, ok, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

// Listed egresses cap the opening burst at one second of their ceiling
// unless told otherwise; a cap below one request is refused.
func TestOpeningBurstDefaults(t *testing.T) {
	t.Parallel()
	listed := []EgressConfig{{Name: "a", Kind: KindDirect}}
	p, err := New(Config{Egresses: listed, HostCeilingPerEgress: 3})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	require.Equal(t, 3.0, p.OpeningBurst())
	p2, err := New(Config{Egresses: listed, OpeningBurst: 7})
	require.NoError(t, err)
	t.Cleanup(p2.Close)
	require.Equal(t, 7.0, p2.OpeningBurst())
	_, err = New(Config{Egresses: listed, OpeningBurst: 0.5})
	require.ErrorContains(t, err, "opening_burst")
}

// Placing more than the ceiling on the only egress is said once per
// crossing, not once per booking placed: a thousand bookings opening
// together gave a thousand identical warnings.
func TestOverCeilingIsWarnedOncePerCrossing(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	p, err := New(Config{HostCeilingPerEgress: 4, Logger: zap.New(core)})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	over := func() int { return logs.FilterMessageSnippet("per-host ceiling").Len() }
	for i := range 2 {
		_, err := p.Assign(fmt.Sprint("a", i), "site.test", 2)
		require.NoError(t, err)
	}
	require.Zero(t, over(), "at the ceiling, not above it")
	for i := 2; i < 10; i++ {
		_, err := p.Assign(fmt.Sprint("a", i), "site.test", 2)
		require.NoError(t, err)
	}
	require.Equal(t, 1, over())
	for i := 1; i < 10; i++ {
		p.Release(fmt.Sprint("a", i), "site.test", 2)
	}
	_, err = p.Assign("a1", "site.test", 2) // back under: 4 declared
	require.NoError(t, err)
	_, err = p.Assign("a2", "site.test", 2) // above again
	require.NoError(t, err)
	require.Equal(t, 2, over(), "a new crossing is said again")
}
