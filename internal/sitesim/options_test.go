package sitesim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"zero value", Options{}, ""},
		{"euc-kr any case", Options{Charset: "EUC-KR"}, ""},
		{"explicit zero applied", Options{ResetRate: 0.1, ResetApplied: ResetAppliedNever}, ""},
		{"non-loopback addr", Options{Addr: "0.0.0.0:9090"}, "loopback"},
		{"public addr", Options{Addr: "8.8.8.8:80"}, "loopback"},
		{"no port", Options{Addr: "127.0.0.1"}, "addr"},
		{"negative facilities", Options{Facilities: -1}, "facilities"},
		{"too many slots", Options{Slots: 49}, "slots"},
		{"negative accounts", Options{Accounts: -5}, "accounts"},
		{"unknown charset", Options{Charset: "latin1"}, "charset"},
		{"negative idle", Options{SessionIdle: -time.Second}, "session idle"},
		{"negative rps", Options{BlockRPS: -1}, "block rps"},
		{"negative latency", Options{Latency: -time.Millisecond}, "latency"},
		{"fail rate above one", Options{FailRate: 1.5}, "fail rate"},
		{"rates sum above one", Options{FailRate: 0.6, ResetRate: 0.6}, "must not exceed 1"},
		{"applied out of range", Options{ResetApplied: 2}, "reset applied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.opts)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, s)
				return
			}
			require.ErrorIs(t, err, ErrInvalidOptions)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	t.Parallel()
	s, err := New(Options{BlockRPS: 5, Charset: "euckr"})
	require.NoError(t, err)
	o := s.Options()
	require.Equal(t, AddrDefault, o.Addr)
	require.Equal(t, FacilitiesDefault, o.Facilities)
	require.Equal(t, SlotsDefault, o.Slots)
	require.Equal(t, AccountsDefault, o.Accounts)
	require.Equal(t, PasswordDefault, o.Password)
	require.Equal(t, CharsetEUCKR, o.Charset)
	require.Equal(t, SessionIdleDefault, o.SessionIdle)
	require.Equal(t, BlockForDefault, o.BlockFor)
	require.True(t, s.OpenAt().IsZero())
	require.Equal(t, ResetAppliedDefault, s.Faults().ResetApplied)

	s.SetFaults(Faults{ResetApplied: ResetAppliedNever, FailRate: 3, Latency: -1})
	f := s.Faults()
	require.Zero(t, f.ResetApplied)
	require.Equal(t, 1.0, f.FailRate)
	require.Zero(t, f.Latency)
}

func TestAccountName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accounts int
		i        int
		want     string
	}{
		{500, 1, "user001"},
		{500, 500, "user500"},
		{5, 3, "user003"},
		{999, 42, "user042"},
		{1000, 1, "user0001"},
		{1000, 1000, "user1000"},
		{12345, 77, "user00077"},
	}
	for _, tt := range tests {
		s, err := New(Options{Accounts: tt.accounts})
		require.NoError(t, err)
		got := s.AccountName(tt.i)
		require.Equal(t, tt.want, got)
		require.True(t, s.names.valid(got), got)
	}
	n := newAccountNames(500)
	for _, bad := range []string{"user000", "user501", "user01", "user0001", "User001", "user+01", "user-01", "user", ""} {
		require.False(t, n.valid(bad), bad)
	}
}
