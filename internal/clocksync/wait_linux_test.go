package clocksync

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOSClockLinux(t *testing.T) {
	t.Parallel()
	require.True(t, osClock(time.Now()), "time.Now is the kernel's wall clock")
	start := time.Now()
	osSleep(300 * time.Microsecond)
	require.GreaterOrEqual(t, time.Since(start), 300*time.Microsecond)
}
