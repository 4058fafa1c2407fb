package netsim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStartRejectsBadConfig(t *testing.T) {
	t.Parallel()
	const target = "127.0.0.1:9"
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"public listen address", Config{Listen: "0.0.0.0:0", Target: target}, []string{`listen "0.0.0.0:0": host must be a loopback IP`}},
		{"listen address without a port", Config{Listen: "127.0.0.1", Target: target}, []string{`listen "127.0.0.1"`}},
		{"empty target", Config{}, []string{"target is empty: give the host:port to forward to"}},
		{"target without a port", Config{Target: "127.0.0.1"}, []string{`target "127.0.0.1"`, "host:port"}},
		{"negative up", Config{Target: target, Up: -time.Millisecond}, []string{"up delay -1ms is negative: use 0 or more"}},
		{"negative down", Config{Target: target, Down: -time.Millisecond}, []string{"down delay -1ms is negative: use 0 or more"}},
		{"negative jitter", Config{Target: target, Up: 5 * time.Millisecond, Down: 5 * time.Millisecond, Jitter: -time.Millisecond}, []string{"jitter -1ms is negative"}},
		{"jitter over the up delay", Config{Target: target, Up: 2 * time.Millisecond, Down: 5 * time.Millisecond, Jitter: 3 * time.Millisecond},
			[]string{"jitter 3ms exceeds the up delay 2ms: use a jitter of at most 2ms or a longer up delay"}},
		{"jitter over the down delay", Config{Target: target, Up: 5 * time.Millisecond, Down: 2 * time.Millisecond, Jitter: 3 * time.Millisecond},
			[]string{"jitter 3ms exceeds the down delay 2ms"}},
		{"jitter without a delay", Config{Target: target, Jitter: time.Millisecond}, []string{"jitter 1ms exceeds the up delay 0s"}},
		{"every problem at once", Config{Listen: "10.0.0.1:0", Up: -time.Millisecond, Down: -time.Millisecond},
			[]string{"loopback", "target is empty", "up delay", "down delay"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Start(tt.cfg)
			require.Nil(t, d)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestStartAcceptsLoopbackAddresses(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"", "127.0.0.1:0", "127.0.0.9:0", "localhost:0"} {
		d, err := Start(Config{Listen: listen, Target: "127.0.0.1:9", Up: 3 * time.Millisecond, Down: 3 * time.Millisecond, Jitter: 3 * time.Millisecond})
		require.NoError(t, err, listen)
		require.Equal(t, "http://"+d.Addr(), d.URL())
		require.NoError(t, d.Close())
	}
}
