package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/sitesim"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o sitesim.Options)
		wantErr string
	}{
		{"defaults", nil, func(t *testing.T, o sitesim.Options) {
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
		}, ""},
		{"cart", []string{"-flavor", "cart", "-notice", "48h", "-hold-for", "5m", "-list-days", "7"}, func(t *testing.T, o sitesim.Options) {
			require.Equal(t, sitesim.FlavorCart, o.Flavor)
			require.Equal(t, 48*time.Hour, o.Notice)
			require.Equal(t, 5*time.Minute, o.HoldFor)
			require.Equal(t, 7, o.ListDays)
			require.True(t, o.OpenAt.IsZero())
		}, ""},
		{"strict", []string{"-strict"}, func(t *testing.T, o sitesim.Options) {
			require.True(t, o.Strict)
		}, ""},
		{"open-in counts from the sim clock", []string{"-open-in", "90s", "-skew", "-2.5s"}, func(t *testing.T, o sitesim.Options) {
			require.Equal(t, -2500*time.Millisecond, o.Skew)
			require.WithinDuration(t, time.Now().Add(-2500*time.Millisecond+90*time.Second), o.OpenAt, time.Second)
		}, ""},
		{"open-at", []string{"-open-at", "2026-11-25T10:00:00+09:00"}, func(t *testing.T, o sitesim.Options) {
			require.True(t, o.OpenAt.Equal(time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)))
		}, ""},
		{"explicit zero applied resets", []string{"-reset-rate", "0.2", "-reset-applied", "0"}, func(t *testing.T, o sitesim.Options) {
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
		"-flavor", "-notice", "-hold-for", "-list-days", "docs/simulator.md"} {
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
		line := startLine(srv)
		require.NoError(t, srv.Close())
		require.Contains(t, line, "courtsim: serving "+srv.URL())
		for _, w := range tt.want {
			require.Contains(t, line, w)
		}
	}
}
