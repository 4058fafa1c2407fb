package booking

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// Status counts the instances that beat, idle ones with 0 bookings, and
// drops one InstanceAliveBeats heartbeats after its last beat; a restart
// under the same name (a new boot) starts anew, a beat of the same boot
// keeps its start.
func TestStatusCountsBeatingInstances(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
		beat := func(name, boot string, every time.Duration, at time.Time) {
			t.Helper()
			require.NoError(t, b.store.Beat(ctx, Beat{Name: name, Boot: boot, Host: "h-" + name, Every: every, Now: at}))
		}
		beat("idle", "b1", 2*time.Second, t0)
		beat("idle", "b1", 2*time.Second, t0.Add(2*time.Second))
		beat("slow", "s1", 10*time.Second, t0)
		// busy holds a booking and beats.
		bk, _, err := b.store.Create(ctx, newBooking(b.tenant, "1"))
		require.NoError(t, err)
		_, err = b.store.Claim(ctx, bk.ID, "busy", t0, t0.Add(time.Minute))
		require.NoError(t, err)
		beat("busy", "x1", 2*time.Second, t0)

		names := func(in []Instance) string {
			s := ""
			for _, i := range in {
				s += fmt.Sprintf("%s:%d ", i.Name, i.Bookings)
			}
			return s
		}
		st, err := b.store.Status(ctx, t0.Add(3*time.Second), 10)
		require.NoError(t, err)
		require.Equal(t, "busy:1 idle:0 slow:0 ", names(st.Instances))
		idle := st.Instances[1]
		require.Equal(t, "b1", idle.Boot)
		require.Equal(t, "h-idle", idle.Host)
		require.True(t, idle.StartedAt.Equal(t0), "the same boot keeps its start: %v", idle.StartedAt)
		require.True(t, idle.SeenAt.Equal(t0.Add(2*time.Second)), "%v", idle.SeenAt)
		require.Equal(t, 2*time.Second, idle.Heartbeat)
		require.Empty(t, st.Gone)

		// 6 s after idle's last beat it is still alive, 6 s and a bit it is
		// gone; slow (10 s heartbeat) is alive for 30 s; busy holds a lease.
		st, err = b.store.Status(ctx, t0.Add(8*time.Second), 10)
		require.NoError(t, err)
		require.Equal(t, "busy:1 idle:0 slow:0 ", names(st.Instances))
		st, err = b.store.Status(ctx, t0.Add(8*time.Second+time.Millisecond), 10)
		require.NoError(t, err)
		require.Equal(t, "busy:1 slow:0 ", names(st.Instances))
		require.Equal(t, "idle:0 ", names(st.Gone))
		st, err = b.store.Status(ctx, t0.Add(31*time.Second), 10)
		require.NoError(t, err)
		require.Equal(t, "busy:1 ", names(st.Instances), "busy's beats stopped, its lease has not")
		require.Equal(t, "idle:0 slow:0 ", names(st.Gone), "latest beat first")

		// A restart of idle: a new boot, a new start.
		t1 := t0.Add(time.Hour)
		beat("idle", "b2", 2*time.Second, t1)
		st, err = b.store.Status(ctx, t1, 10)
		require.NoError(t, err)
		require.Equal(t, "idle:0 ", names(st.Instances))
		require.Equal(t, "b2", st.Instances[0].Boot)
		require.True(t, st.Instances[0].StartedAt.Equal(t1), "%v", st.Instances[0].StartedAt)

		// A day later nobody is listed at all.
		st, err = b.store.Status(ctx, t1.Add(25*time.Hour), 10)
		require.NoError(t, err)
		require.Empty(t, st.Instances)
		require.Empty(t, st.Gone)

		require.Error(t, b.store.Beat(ctx, Beat{Name: "", Boot: "b"}), "a beat names its instance")
	})
}

// A filter's reason or review is one of the known ones; an unknown one is
// an error naming them.
func TestParseReasonAndReview(t *testing.T) {
	t.Parallel()
	for _, r := range Reasons {
		got, err := ParseReason(string(r))
		require.NoError(t, err)
		require.Equal(t, r, got)
	}
	_, err := ParseReason("nope")
	require.EqualError(t, err, `unknown reason "nope": expected one of window_closed, sold_out, login_failed, fatal, missed, internal_error, user_cancelled, operator_cancel, unverified, unrecognised_answer, mine_unconfirmed, profile_error, site_rejected, site_blocked, account_limit`)
	_, err = ParseReason("")
	require.Error(t, err)
	got, err := ParseReview(ReviewSecondReservation)
	require.NoError(t, err)
	require.Equal(t, ReviewSecondReservation, got)
	_, err = ParseReview("nope")
	require.ErrorContains(t, err, "late_success, second_reservation, reservation_after_failed, reservation_after_cancelled")
}
