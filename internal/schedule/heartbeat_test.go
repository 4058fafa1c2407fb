package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"reserver/internal/booking"
)

// A run that has written its outcome but not yet returned (it still
// records its clock and edge evidence) is not "lease lost": the heartbeat
// neither warns about it nor cancels it.
func TestHeartbeatLeavesAFinishedRunAlone(t *testing.T) {
	b := setup(t, setupOpts{})
	opensAt := b.site.Now().Add(time.Hour).Truncate(time.Second)
	bk := b.book(t, opensAt, bookingOpts{})
	core, logs := observer.New(zapcore.WarnLevel)
	d := b.daemon(t, "i1", func(c *Config) { c.Logger = zap.New(core) })
	d.runCtx = t.Context() // as Start sets it; the daemon's loops stay off
	now := time.Now()
	claimed, err := d.cfg.Store.Claim(t.Context(), bk.ID, "i1", now, now.Add(d.cfg.LeaseTTL))
	require.NoError(t, err)
	r := newRun(d, claimed, now)
	d.mu.Lock()
	d.runs[bk.ID] = r
	d.mu.Unlock()

	r.succeed("R-1")
	require.Equal(t, booking.Succeeded, b.get(t, bk.ID).State)
	d.heartbeat(t.Context())

	require.NoError(t, r.ctx.Err(), "the heartbeat cancelled a run that had finished")
	require.Zero(t, logs.FilterMessageSnippet("lease lost").Len(), "warned: %v", logs.All())
}
