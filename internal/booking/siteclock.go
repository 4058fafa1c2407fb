package booking

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// A booking's opens_at is an instant on the site's clock, while each
// attempt's sent_at is on the local clock of the instance that sent it.
// Review output (reserver attempts, reserver failures, the operator page)
// places attempts relative to the opening on the site's clock, so it needs
// the offset between the two: the daemon's own measurement before the
// opening when it stored one (RecordClock; precise to a few ms), else one
// SiteClockOf derives from the attempt rows' Date headers (1 s resolution,
// so as tight as the rows happen to straddle a second's edge).

// SiteClock is the site's clock against the local one as a booking's
// attempt rows show it.
type SiteClock struct {
	// Offset is site − local, the best estimate; zero when Samples is 0.
	Offset time.Duration
	// Within bounds the error of Offset: the true offset is in
	// Offset ± Within if the rows' latencies and Date headers are right.
	Within time.Duration
	// Samples is the number of rows with a Date header.
	Samples int
	// Bounded is true when every row's Date header agrees on one interval
	// and Offset is its middle; false when they contradict each other
	// (rows from instances with different clocks, a site clock that
	// stepped) and Offset is the median of the rows' midpoints, ±0.5 s.
	Bounded bool
	// Measured is true when Offset and Within are the daemon's own
	// measurement for the opening (SiteClockFor).
	Measured bool
}

// SiteClockOf estimates the site clock from rows. A row's Date header d
// (1 s resolution) was read at some local instant m within [sent_at,
// sent_at + latency], so site − local ∈ [d − (sent_at+latency), d + 1 s −
// sent_at). The intersection over the rows is tight when the site's second
// changed between two rows; its middle is the estimate.
func SiteClockOf(rows []Attempt) SiteClock {
	var c SiteClock
	var lo, hi time.Duration
	var mids []time.Duration
	for _, a := range rows {
		if a.SiteDate == nil || a.SiteDate.IsZero() || a.SentAt.IsZero() {
			continue
		}
		d := a.SiteDate.Truncate(time.Second)
		lat := time.Duration(max(a.LatencyUS, 0)) * time.Microsecond
		rlo, rhi := d.Sub(a.SentAt.Add(lat)), d.Add(time.Second).Sub(a.SentAt)
		mids = append(mids, d.Add(time.Second/2).Sub(a.SentAt.Add(lat/2)))
		if c.Samples == 0 {
			lo, hi = rlo, rhi
		} else {
			lo, hi = max(lo, rlo), min(hi, rhi)
		}
		c.Samples++
	}
	if c.Samples == 0 {
		return c
	}
	if lo < hi {
		c.Bounded = true
		c.Offset = lo + (hi-lo)/2
		c.Within = (hi - lo + 1) / 2
		return c
	}
	slices.Sort(mids)
	n := len(mids)
	c.Offset = mids[n/2]
	if n%2 == 0 {
		c.Offset = mids[n/2-1] + (mids[n/2]-mids[n/2-1])/2
	}
	c.Within = time.Second / 2
	return c
}

// Site returns the site-clock instant of the local instant local.
func (c SiteClock) Site(local time.Time) time.Time { return local.Add(c.Offset) }

// SinceOpening is how long after opensAt (site clock) the local instant
// local is on the site's clock, in milliseconds; negative: before it.
func (c SiteClock) SinceOpening(local, opensAt time.Time) float64 {
	return float64(c.Site(local).Sub(opensAt).Microseconds()) / 1000
}

// String says the estimate once for review output: "site clock ≈ local
// +0.300 s ±0.004 s (from 14 Date headers)".
func (c SiteClock) String() string {
	if c.Measured {
		return fmt.Sprintf("site clock = local %+.3f s ±%.3f s (measured by the daemon for the opening)", c.Offset.Seconds(), c.Within.Seconds())
	}
	if c.Samples == 0 {
		return "site clock unknown (no Date headers): times are on the local clock"
	}
	headers := "Date headers"
	if c.Samples == 1 {
		headers = "Date header"
	}
	src := fmt.Sprintf("from %d %s", c.Samples, headers)
	if !c.Bounded {
		src = fmt.Sprintf("median of %d %s, which disagree on a tighter bound", c.Samples, headers)
	}
	return fmt.Sprintf("site clock ≈ local %+.3f s ±%.3f s (%s)", c.Offset.Seconds(), c.Within.Seconds(), src)
}

// RecordClock stores the site clock the daemon measured for booking id
// (offset = site − local, ± within). It is not a state change: any
// instance may write it, and the last measurement wins.
func (s *Store) RecordClock(ctx context.Context, id int64, offset, within time.Duration) error {
	return s.db.WithContext(ctx).Model(&Booking{}).Where("id = ?", id).
		Updates(map[string]any{"clock_offset_us": offset.Microseconds(), "clock_within_us": within.Microseconds()}).Error
}

// RecordFire stores the local instant booking id's first submit was
// planned for (Booking.FireAt).
func (s *Store) RecordFire(ctx context.Context, id int64, fire time.Time) error {
	return s.db.WithContext(ctx).Model(&Booking{}).Where("id = ?", id).Update("fire_at", fire.UTC()).Error
}

// SiteClockFor is the site clock to show b's attempts on: the daemon's
// measurement when b has one at least as tight as what the rows' Date
// headers allow, else SiteClockOf(rows).
func SiteClockFor(b *Booking, rows []Attempt) SiteClock {
	c := SiteClockOf(rows)
	if b == nil || b.ClockOffsetUS == nil || b.ClockWithinUS == nil {
		return c
	}
	within := time.Duration(*b.ClockWithinUS) * time.Microsecond
	if c.Samples > 0 && c.Within < within {
		return c
	}
	return SiteClock{Offset: time.Duration(*b.ClockOffsetUS) * time.Microsecond, Within: within,
		Bounded: true, Samples: c.Samples, Measured: true}
}
