package schedule

import (
	"testing"
	"testing/synctest"
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

// An idle daemon (no booking held) still beats: `reserver status` counts
// it alive with 0 bookings, and once it stops beating it drops out after
// booking.InstanceAliveBeats heartbeats.
func TestHeartbeatOfAnIdleDaemon(t *testing.T) {
	b := setup(t, setupOpts{})
	d := b.daemon(t, "idle-1", nil)
	d.runCtx = t.Context() // as Start sets it; the daemon's loops stay off
	before := time.Now()
	d.heartbeat(t.Context())

	st, err := b.store.Status(t.Context(), time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, st.Instances, 1, "the idle instance is alive")
	in := st.Instances[0]
	require.Equal(t, "idle-1", in.Name)
	require.Zero(t, in.Bookings)
	require.Equal(t, d.boot, in.Boot)
	require.Equal(t, HeartbeatDefault, in.Heartbeat)
	require.False(t, in.SeenAt.Before(before.Truncate(time.Microsecond)), "seen at the beat")
	started := in.StartedAt

	// A later beat of the same process keeps its start.
	d.heartbeat(t.Context())
	st, err = b.store.Status(t.Context(), time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, st.Instances, 1)
	require.True(t, st.Instances[0].StartedAt.Equal(started), "started_at kept: %v vs %v", st.Instances[0].StartedAt, started)

	// No beat for three heartbeats: gone.
	later := st.Instances[0].SeenAt.Add(booking.InstanceAliveBeats*HeartbeatDefault + time.Millisecond)
	st, err = b.store.Status(t.Context(), later, 10)
	require.NoError(t, err)
	require.Empty(t, st.Instances, "stopped beating %v ago", booking.InstanceAliveBeats*HeartbeatDefault)
	require.Len(t, st.Gone, 1)
	require.Equal(t, "idle-1", st.Gone[0].Name)

	// A restart under the same name is a new boot with its own start.
	d2 := b.daemon(t, "idle-1", nil)
	d2.runCtx = t.Context()
	d2.beat(t.Context(), later)
	st, err = b.store.Status(t.Context(), later, 10)
	require.NoError(t, err)
	require.Len(t, st.Instances, 1)
	require.Equal(t, d2.boot, st.Instances[0].Boot)
	require.True(t, st.Instances[0].StartedAt.Equal(later.UTC().Truncate(time.Microsecond)), "the restart's start: %v", st.Instances[0].StartedAt)
}

// A daemon is alive in `reserver status` as soon as it has started, not
// one heartbeat later (synctest: no time passes before the check).
func TestStartedDaemonIsAliveAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		d := b.daemon(t, "fresh-1", nil)
		require.NoError(t, d.Start(t.Context()))
		defer d.Stop()
		synctest.Wait()
		st, err := b.store.Status(t.Context(), time.Now(), 10)
		require.NoError(t, err)
		require.Len(t, st.Instances, 1, "alive before its first heartbeat")
		require.Equal(t, "fresh-1", st.Instances[0].Name)
	})
}
