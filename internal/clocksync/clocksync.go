// Package clocksync estimates a booking site's clock offset and round-trip
// time from the HTTP Date header, and waits precisely for the local instant
// at which a request must be sent to arrive at a given instant on the site's
// clock.
//
// A Date header has one-second resolution, so one reading places the site's
// clock only within a second. Measure times a handful of cheap probes so that
// they straddle the site's second edges and intersects what each answer
// proves about the offset: a hard interval, valid on any path, that can never
// be narrower than about one round trip, and inside it a much narrower one
// that assumes the site read its clock halfway through each round trip (see
// Estimate). On loopback the offset is known to within a couple of
// milliseconds after about ten probes in three seconds; over a 20 ms round
// trip jittered by ±2 ms each way, to within three milliseconds after about
// ten probes in five to seven seconds.
//
// The package owns the estimate and the wait. It does not own the HTTP
// session (HTTPProber takes any *http.Client), nor deciding when to measure
// or what to fire: that belongs to the scheduler.
package clocksync

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors returned by this package.
var (
	// ErrInconsistent means the samples contradicted each other twice in a
	// row: no single offset explains them, e.g. the site's clock jumped
	// while it was being measured, or a cache served a stale Date.
	ErrInconsistent = errors.New("clocksync: inconsistent site clock samples")
	// ErrProbesFailed means more than half of a round's probes failed; it
	// wraps the last probe error.
	ErrProbesFailed = errors.New("clocksync: too many probes failed")
	// ErrBadSample means a probe returned a sample that cannot be used,
	// e.g. Received before Sent or no site date.
	ErrBadSample = errors.New("clocksync: bad sample")
	// ErrNoDate means the site's response carried no parseable Date header.
	ErrNoDate = errors.New("clocksync: response has no valid Date header")
	// ErrInvalidConfig means a Config field is out of range.
	ErrInvalidConfig = errors.New("clocksync: invalid config")
)

// A Prober performs one cheap request to the site. It reports when the
// request was sent and when the answer arrived, both on the local clock, and
// the site's Date header (second resolution, truncated).
type Prober interface {
	Probe(ctx context.Context) (Sample, error)
}

// Sample is one probe's answer. The site must have read its clock at some
// instant between Sent and Received; Sent must therefore be taken no later
// than the first byte of the request leaves and Received no earlier than the
// Date header arrives.
type Sample struct {
	Sent     time.Time // local instant the request started to go out
	Received time.Time // local instant the response headers started to arrive
	SiteDate time.Time // the site's Date header; sub-second parts are ignored
}

// RTT is the sample's round-trip time.
func (s Sample) RTT() time.Duration { return s.Received.Sub(s.Sent) }

func (s Sample) valid() error {
	switch {
	case s.Sent.IsZero() || s.Received.IsZero() || s.SiteDate.IsZero():
		return fmt.Errorf("%w: zero time", ErrBadSample)
	case s.Received.Before(s.Sent):
		return fmt.Errorf("%w: received before sent", ErrBadSample)
	}
	return nil
}

// Clock reads the local time. The default is the real clock (time.Now).
// Waiting uses runtime timers, so a Clock must advance with them: the real
// clock, or time.Now inside a testing/synctest bubble.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// RealClock returns the clock that reads time.Now.
func RealClock() Clock { return realClock{} }

func clockOrReal(c Clock) Clock {
	if c == nil {
		return realClock{}
	}
	return c
}

// Estimate is what Measure learned about the site's clock.
//
// A Date header only says that the site read its clock somewhere within the
// round trip. Where within it, no client can see: on a path whose legs take
// up and down, reading it halfway is off by (up − down)/2. Two figures
// therefore describe the estimate. Uncertainty holds on any path; Precision
// assumes the site read its clock halfway through each round trip, which is
// true on a symmetric path up to its jitter, and is usually much smaller
// (the hard interval can never be narrower than about one RTT).
type Estimate struct {
	// Offset is the site clock minus the local clock: the middle of the
	// interval Precision describes, moved inside the one Uncertainty
	// describes if it lay outside it.
	Offset time.Duration
	// Uncertainty is the hard bound: on any path, however asymmetric, the
	// true offset is within Offset ± Uncertainty. It is the distance from
	// Offset to the farther end of the interval the samples allow when the
	// site may have read its clock anywhere within each round trip, so at
	// least half that interval's width (about RTT/2 + Precision).
	Uncertainty time.Duration
	// Precision is the half-width of the interval the offset lies in if the
	// site read its clock halfway through each probe's round trip. On a
	// symmetric path the true offset is within Offset ± (Precision + the
	// jitter of (up − down)/2); on an asymmetric one add |up − down|/2,
	// which no Date-header method can see. When jitter makes the samples
	// contradict that assumption, Offset is the offset that needs the least
	// asymmetry to explain them all, and Precision is that asymmetry.
	Precision time.Duration
	// RTT is the median round-trip time of the probes used.
	RTT time.Duration
	// Spread is how much faster than the median the fastest round trip
	// used was: the path's jitter as the probes saw it. A request's way up
	// may be faster than RTT/2 by half of it, and the site's reading may
	// lie off the round trip's middle by the other half (what Precision
	// does not cover on a jittered path), so an aim that must not be early
	// adds Precision + Spread to its margin.
	Spread time.Duration
	// Probes is how many probes were sent, including failed and discarded
	// ones, i.e. the load the measurement put on the site.
	Probes int
	// At is the local instant the estimate was made.
	At time.Time
}

// SiteToLocal converts an instant on the site's clock to the local instant.
func (e Estimate) SiteToLocal(t time.Time) time.Time { return t.Add(-e.Offset) }

// LocalToSite converts a local instant to the site's clock, e.g. to log when
// a request was sent in the site's terms.
func (e Estimate) LocalToSite(t time.Time) time.Time { return t.Add(e.Offset) }

// OneWay is the estimated one-way latency to the site, half the RTT.
func (e Estimate) OneWay() time.Duration { return e.RTT / 2 }

// FireAt returns the local instant at which to send a request so that it
// reaches the site at siteT+margin on the site's clock:
// siteT + margin − Offset − RTT/2.
//
// On an asymmetric path Offset is off by (up − down)/2 and RTT/2 misses the
// up leg by as much the other way, so the two cancel: the request arrives on
// time to within Precision and the path's jitter on any path. A caller that
// must never arrive early whatever the path adds e.Uncertainty to margin.
func (e Estimate) FireAt(siteT time.Time, margin time.Duration) time.Time {
	return siteT.Add(margin - e.Offset - e.OneWay())
}
