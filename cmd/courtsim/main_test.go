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
	for _, want := range []string{"user001", "pass1234", "-open-in", "-skew", "-block-rps", "-reset-applied", "-charset", "-strict"} {
		require.Contains(t, stderr.String(), want)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, run([]string{"-addr", "0.0.0.0:0"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "loopback")
	require.Empty(t, stdout.String())
}
