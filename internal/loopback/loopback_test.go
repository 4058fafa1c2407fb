package loopback

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:0", "127.0.0.9:8080", "[::1]:0", "localhost:9090"} {
		require.NoError(t, Check(ok), ok)
	}
	for _, bad := range []string{"0.0.0.0:0", "10.0.0.7:0", "example.com:80", "[::]:0"} {
		require.ErrorIs(t, Check(bad), ErrNotLoopback, bad)
	}
	require.Error(t, Check("127.0.0.1"), "no port")
}
