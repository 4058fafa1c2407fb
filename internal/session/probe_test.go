package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/clocksync"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

// TestProberMeasuresTheSiteClock: the daemon and `reserver check` measure
// a site's clock with clocksync.Measure through Session.Prober; over
// loopback to the simulator it finds the skew to a few milliseconds.
func TestProberMeasuresTheSiteClock(t *testing.T) {
	t.Parallel()
	const skew = 2300 * time.Millisecond
	b := setupSim(t, "courtsim.yaml", sitesim.Options{Accounts: 1, Skew: skew})
	s := b.session(t, "user001")
	waits := 0
	est, err := clocksync.Measure(t.Context(), s.Prober(func(context.Context) error {
		waits++
		return nil
	}), clocksync.Config{})
	require.NoError(t, err)
	t.Logf("offset %v ± %v, precision %v, rtt %v, %d probes", est.Offset, est.Uncertainty, est.Precision, est.RTT, est.Probes)
	require.LessOrEqual(t, (est.Offset - skew).Abs(), est.Uncertainty)
	require.LessOrEqual(t, (est.Offset - skew).Abs(), 5*time.Millisecond)
	require.Equal(t, est.Probes, waits, "wait runs before every probe")
}

func TestProberWaitEndsTheProbe(t *testing.T) {
	t.Parallel()
	b := setupSim(t, "courtsim.yaml", sitesim.Options{Accounts: 1})
	tr := &countingTransport{rt: b.tr}
	s, err := session.New(session.Config{Profile: b.prof, Transport: tr})
	require.NoError(t, err)
	_, err = s.Prober(func(context.Context) error { return context.DeadlineExceeded }).Probe(t.Context())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Zero(t, tr.n.Load(), "nothing was sent")
	_, err = s.Prober(nil).Probe(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(1), tr.n.Load())
}
