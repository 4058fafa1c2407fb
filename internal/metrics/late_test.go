package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestLateReservation(t *testing.T) {
	t.Parallel()
	before := testutil.ToFloat64(lateReservations.WithLabelValues("second_reservation"))
	LateReservation("second_reservation")
	LateReservation("second_reservation")
	LateReservation("") // nothing new recorded: not counted
	require.InDelta(t, before+2, testutil.ToFloat64(lateReservations.WithLabelValues("second_reservation")), 0)
	require.Contains(t, scrape(t, Handler(Registry(nil))), `reserver_late_reservations_total{review="second_reservation"}`)
}
