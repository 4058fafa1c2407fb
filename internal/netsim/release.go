package netsim

import "time"

// releaseAt is when a chunk read at readAt may be written to the other
// side: delay after it was read, but never before prev (the release of the
// chunk ahead of it in the same direction, so no chunk overtakes another)
// and never before floor (the handshake's cost for the first chunk a client
// sends; the zero time for every other chunk). A negative delay counts as
// zero.
func releaseAt(prev, floor, readAt time.Time, delay time.Duration) time.Time {
	t := readAt.Add(max(delay, 0))
	if t.Before(prev) {
		t = prev
	}
	if t.Before(floor) {
		t = floor
	}
	return t
}

// drawDelay is one chunk's delay for a nominal delay d: uniform over
// [d−jitter, d+jitter] as u runs over [0, 1), and never below zero.
func drawDelay(d, jitter time.Duration, u float64) time.Duration {
	if jitter <= 0 {
		return max(d, 0)
	}
	u = min(max(u, 0), 1)
	return max(d-jitter+time.Duration(u*float64(2*jitter)), 0)
}

// handshakeFloor is the earliest the first chunk of a connection accepted
// at accepted may reach the target: the SYN goes up, the SYN-ACK comes down,
// and the data goes up again.
func handshakeFloor(accepted time.Time, up, down time.Duration) time.Time {
	return accepted.Add(up + down + up)
}
