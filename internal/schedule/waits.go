package schedule

import (
	"time"

	"reserver/internal/booking"
)

// waitNoticeable: a request that waited less than this in all did not
// wait (a limiter with a token to spare still costs a few µs); its
// attempt row says nothing.
const waitNoticeable = time.Millisecond

// waitNames say each wait reason in words, for the daemon's events.
var waitNames = map[string]string{
	booking.WaitBookingRate:    "booking's rate",
	booking.WaitHostCeiling:    "host ceiling",
	booking.WaitEgressCeiling:  "egress ceiling",
	booking.WaitEgressCooling:  "cooling egresses",
	booking.WaitClockRemeasure: "clock measurement",
	booking.WaitAccountTurn:    "account's other booking to submit",
}

// waits is what one request waited for before it went on the wire, for
// its attempt row (booking.Attempt.WaitedFor, WaitedUS): each wait is
// measured around the call that blocked, with the reason it blocked for.
// The run keeps the waits of its next request (run.pending) and the row
// that records the request takes them.
type waits struct {
	total   time.Duration
	longest time.Duration
	why     string // the reason of the longest wait: a booking.Wait* value
}

// add counts a wait of d for why.
func (w *waits) add(why string, d time.Duration) {
	if d <= 0 {
		return
	}
	w.total += d
	if d > w.longest {
		w.longest, w.why = d, why
	}
}

// merge adds the waits of o.
func (w *waits) merge(o waits) {
	w.total += o.total
	if o.longest > w.longest {
		w.longest, w.why = o.longest, o.why
	}
}

// row gives the attempt row's fields: the longest wait's reason and the
// total in µs, or nothing when the request did not wait noticeably.
func (w waits) row() (string, int64) {
	if w.total < waitNoticeable {
		return "", 0
	}
	return w.why, w.total.Microseconds()
}

// take hands the waits of the run's next request to the row recording
// it, and starts the next request's from nothing.
func (r *run) take() (string, int64) {
	why, us := r.pending.row()
	r.pending = waits{}
	return why, us
}

// measuredPast notes a clock measurement from..to that ran past the
// instant the next request was planned for (the fire): the part after it
// is what that request waited for the measurement.
func (r *run) measuredPast(planned, from, to time.Time) {
	if from.Before(planned) {
		from = planned
	}
	r.pending.add(booking.WaitClockRemeasure, to.Sub(from))
}
