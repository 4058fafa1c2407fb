package tenant

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestThrottle(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	const a, b = "rsv_aaaaaa", "rsv_bbbbbb"
	type try struct {
		at       time.Duration // after t0
		addr     string
		prefix   string
		succeeds bool
		wait     time.Duration // 0: let through
	}
	cfg := ThrottleConfig{AddrBurst: 3, AddrEvery: 10 * time.Second, PrefixBurst: 2, PrefixEvery: 30 * time.Second}
	tests := []struct {
		name  string
		cfg   ThrottleConfig
		tries []try
	}{
		{"address burst, then one per AddrEvery", cfg, []try{
			{0, "1.1.1.1", "", false, 0},
			{0, "1.1.1.1", "", false, 0},
			{0, "1.1.1.1", "", false, 0},
			{0, "1.1.1.1", "", false, 10 * time.Second},
			{0, "2.2.2.2", "", false, 0},
			{9 * time.Second, "1.1.1.1", "", false, time.Second},
			{10 * time.Second, "1.1.1.1", "", false, 0},
			{10 * time.Second, "1.1.1.1", "", false, 10 * time.Second},
		}},
		{"a prefix is throttled across addresses", cfg, []try{
			{0, "1.1.1.1", a, false, 0},
			{0, "2.2.2.2", a, false, 0},
			{0, "3.3.3.3", a, false, 30 * time.Second},
			{0, "3.3.3.3", b, false, 0}, // the refused try did not count
			{0, "3.3.3.3", "", false, 0},
			{0, "3.3.3.3", "", false, 0},
			{0, "3.3.3.3", "", false, 10 * time.Second},
		}},
		{"successes give their try back", cfg, []try{
			{0, "1.1.1.1", a, true, 0},
			{0, "1.1.1.1", a, true, 0},
			{0, "1.1.1.1", a, true, 0},
			{0, "1.1.1.1", a, false, 0},
			{0, "1.1.1.1", a, false, 0},
			{0, "1.1.1.1", a, true, 30 * time.Second},
		}},
		{"a refused try counts nothing", cfg, []try{
			{0, "1.1.1.1", "", false, 0},
			{0, "1.1.1.1", "", false, 0},
			{0, "1.1.1.1", "", false, 0},
			{0, "1.1.1.1", "", false, 10 * time.Second},
			{0, "1.1.1.1", "", false, 10 * time.Second},
			{10 * time.Second, "1.1.1.1", "", false, 0},
		}},
		{"a wait is whole seconds", ThrottleConfig{AddrBurst: 1, AddrEvery: 1500 * time.Millisecond}, []try{
			{0, "1.1.1.1", "", false, 0},
			{0, "1.1.1.1", "", false, 2 * time.Second},
			{1400 * time.Millisecond, "1.1.1.1", "", false, time.Second},
		}},
		{"past MaxKeys new addresses share one bucket", ThrottleConfig{AddrBurst: 1, AddrEvery: time.Minute, MaxKeys: 2}, []try{
			{0, "1.1.1.1", "", false, 0},
			{0, "2.2.2.2", "", false, 0},
			{0, "3.3.3.3", "", false, 0},
			{0, "4.4.4.4", "", false, time.Minute},
			{0, "1.1.1.1", "", false, time.Minute},
			{time.Minute, "5.5.5.5", "", false, 0}, // the recovered ones are forgotten
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			th := NewThrottle(tt.cfg)
			for i, tr := range tt.tries {
				ok, wait := th.Begin(tr.addr, tr.prefix, t0.Add(tr.at))
				require.Equal(t, tr.wait, wait, fmt.Sprintf("try %d", i))
				if wait == 0 && tr.succeeds {
					ok()
				}
			}
		})
	}
}

func TestTokenPrefixOf(t *testing.T) {
	t.Parallel()
	require.Equal(t, "rsv_abcdef", TokenPrefixOf("rsv_abcdefghijkl"))
	require.Equal(t, "rsv_abcdef", TokenPrefixOf("rsv_abcdef"))
	require.Empty(t, TokenPrefixOf("rsv_abc"))
	require.Empty(t, TokenPrefixOf("hunter2-my-password"), "not a token: nothing of it is kept")
}
