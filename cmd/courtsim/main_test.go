package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/netsim"
	"reserver/internal/sitesim"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o options)
		wantErr string
	}{
		{"defaults", nil, func(t *testing.T, o options) {
			require.Equal(t, "127.0.0.1:9090", o.Addr)
			require.Equal(t, sitesim.AccountsDefault, o.Accounts)
			require.Equal(t, sitesim.PasswordDefault, o.Password)
			require.True(t, o.OpenAt.IsZero())
			require.Equal(t, sitesim.ResetAppliedDefault, o.ResetApplied)
			require.False(t, o.Strict)
			require.Equal(t, sitesim.FlavorEgov, o.Flavor)
			require.Equal(t, sitesim.NoticeDefault, o.Notice)
			require.Equal(t, sitesim.HoldForDefault, o.HoldFor)
			require.Equal(t, sitesim.ListDaysDefault, o.ListDays)
			require.False(t, o.delayed(), "no delay line unless asked for")
		}, ""},
		{"delay line", []string{"-net-up", "15ms", "-net-down", "5ms", "-net-jitter", "2ms", "-seed", "9"}, func(t *testing.T, o options) {
			require.True(t, o.delayed())
			require.Equal(t, netsim.Config{Up: 15 * time.Millisecond, Down: 5 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 9}, o.net)
			require.Equal(t, "127.0.0.1:9090", o.Addr, "-addr is where the delay line listens")
		}, ""},
		{"delay line one way only", []string{"-net-down", "30ms"}, func(t *testing.T, o options) {
			require.True(t, o.delayed())
			require.Equal(t, 30*time.Millisecond, o.net.Down)
		}, ""},
		{"bad net-up", []string{"-net-up", "fast"}, nil, `invalid value "fast" for flag -net-up`},
		{"net-down without a unit", []string{"-net-down", "5"}, nil, `invalid value "5" for flag -net-down`},
		{"bad net-jitter", []string{"-net-jitter", "a bit"}, nil, `invalid value "a bit" for flag -net-jitter`},
		{"cart", []string{"-flavor", "cart", "-notice", "48h", "-hold-for", "5m", "-list-days", "7"}, func(t *testing.T, o options) {
			require.Equal(t, sitesim.FlavorCart, o.Flavor)
			require.Equal(t, 48*time.Hour, o.Notice)
			require.Equal(t, 5*time.Minute, o.HoldFor)
			require.Equal(t, 7, o.ListDays)
			require.True(t, o.OpenAt.IsZero())
		}, ""},
		{"strict", []string{"-strict"}, func(t *testing.T, o options) {
			require.True(t, o.Strict)
		}, ""},
		{"open-in counts from the sim clock", []string{"-open-in", "90s", "-skew", "-2.5s"}, func(t *testing.T, o options) {
			require.Equal(t, -2500*time.Millisecond, o.Skew)
			require.WithinDuration(t, time.Now().Add(-2500*time.Millisecond+90*time.Second), o.OpenAt, time.Second)
		}, ""},
		{"open-at", []string{"-open-at", "2026-11-25T10:00:00+09:00"}, func(t *testing.T, o options) {
			require.True(t, o.OpenAt.Equal(time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)))
		}, ""},
		{"explicit zero applied resets", []string{"-reset-rate", "0.2", "-reset-applied", "0"}, func(t *testing.T, o options) {
			require.Equal(t, sitesim.ResetAppliedNever, o.ResetApplied)
		}, ""},
		{"both openings", []string{"-open-at", "2026-11-25T10:00:00+09:00", "-open-in", "1m"}, nil, "either"},
		{"bad open-at", []string{"-open-at", "tomorrow"}, nil, "-open-at"},
		{"stray argument", []string{"serve"}, nil, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			o, err := parseFlags(tt.args, &stderr)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
}

func TestHelpDocumentsAccountsAndExitsZero(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-h"}, &stdout, &stderr))
	for _, want := range []string{"user001", "pass1234", "-open-in", "-skew", "-block-rps", "-reset-applied", "-charset", "-strict",
		"-flavor", "-notice", "-hold-for", "-list-days", "docs/simulator.md", "-net-up", "-net-down", "-net-jitter", "delay line"} {
		require.Contains(t, stderr.String(), want)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"public address", []string{"-addr", "0.0.0.0:0"}, "loopback"},
		{"unknown flavor", []string{"-flavor", "shop"}, "flavor must be one of egov, cart"},
		{"opening with cart", []string{"-flavor", "cart", "-open-in", "1m"}, "open at does not apply to the cart flavor"},
		{"euc-kr with cart", []string{"-flavor", "cart", "-charset", "euc-kr"}, "charset"},
		{"negative hold", []string{"-flavor", "cart", "-hold-for", "-1m"}, "hold for must not be negative"},
		{"public address behind a delay line", []string{"-addr", "0.0.0.0:0", "-net-up", "5ms"}, "host must be a loopback IP"},
		{"negative net-up", []string{"-net-up", "-5ms"}, "up delay -5ms is negative: use 0 or more"},
		{"negative net-down", []string{"-net-up", "5ms", "-net-down", "-1ms"}, "down delay -1ms is negative"},
		{"jitter over the delay", []string{"-net-up", "5ms", "-net-down", "20ms", "-net-jitter", "10ms"}, "jitter 10ms exceeds the up delay 5ms"},
		{"jitter without a delay", []string{"-net-jitter", "3ms"}, "jitter 3ms exceeds the up delay 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			require.Equal(t, 1, run(append([]string{"-addr", "127.0.0.1:0"}, tt.args...), &stdout, &stderr))
			require.Contains(t, stderr.String(), tt.want)
			require.Empty(t, stdout.String())
		})
	}
}

func TestStartLineNamesTheFlavor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts sitesim.Options
		want []string
	}{
		{sitesim.Options{}, []string{"flavor=egov", "open_at=always open", "charset=utf-8", "strict=false", "accounts=user001..user500"}},
		{sitesim.Options{Flavor: sitesim.FlavorCart, Notice: 48 * time.Hour}, []string{"flavor=cart", "notice=48h0m0s", "hold_for=10m0s", "list_days=14"}},
	}
	for _, tt := range tests {
		srv, err := sitesim.Start(tt.opts)
		require.NoError(t, err)
		line := startLine(srv, nil)
		require.NoError(t, srv.Close())
		require.Contains(t, line, "courtsim: serving "+srv.URL()+" ")
		require.NotContains(t, line, "net_up=")
		for _, w := range tt.want {
			require.Contains(t, line, w)
		}
	}
}

// TestServesBehindTheDelayLine runs courtsim's wiring in-process: the
// banner's URL (the field the benchmarks parse) is the delay line's, the
// ledger is reached through it, and ending the context stops both.
func TestServesBehindTheDelayLine(t *testing.T) {
	t.Parallel()
	const up, down = 15 * time.Millisecond, 5 * time.Millisecond
	opts, err := parseFlags([]string{"-addr", "127.0.0.1:0", "-net-up", up.String(), "-net-down", down.String()}, io.Discard)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	served := make(chan error, 1)
	go func() {
		err := serve(ctx, opts, pw)
		_ = pw.CloseWithError(err)
		served <- err
	}()
	banner, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	f := strings.Fields(banner)
	require.GreaterOrEqual(t, len(f), 3)
	require.Equal(t, []string{"courtsim:", "serving"}, f[:2])
	url := f[2]
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), url)
	require.Contains(t, banner, " net_up=15ms net_down=5ms net_jitter=0s")

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	sent := time.Now()
	resp, err := (&http.Client{Transport: tr}).Get(url + sitesim.PathLedger)
	require.NoError(t, err)
	var led sitesim.Ledger
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&led))
	require.NoError(t, resp.Body.Close())
	took := time.Since(sent)
	require.Equal(t, sitesim.FlavorEgov, led.Flavor)
	// A fresh connection: the handshake's round trip, the request up and
	// the answer down. Only a lower bound; a loaded machine is slower.
	require.GreaterOrEqual(t, took, up+down+up+down, "the ledger was not reached through the delay line")

	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("courtsim did not stop")
	}
}
