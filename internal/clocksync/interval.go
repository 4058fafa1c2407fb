package clocksync

import "time"

// bounds is the half-open set [lo, hi) of clock offsets (site − local)
// consistent with the samples seen so far.
type bounds struct {
	lo, hi time.Duration
}

// sampleBounds returns the offsets a sample allows. The site read its clock
// at some local instant m in [Sent, Received] and reported floor(m+offset) =
// SiteDate, so offset ∈ [SiteDate − m, SiteDate + 1s − m). Taking the worst
// m on each side keeps the bound valid whenever within the round trip the
// site actually read its clock.
func sampleBounds(s Sample) bounds {
	d := s.SiteDate.Truncate(time.Second)
	return bounds{
		lo: d.Sub(s.Received),
		hi: d.Add(time.Second).Sub(s.Sent),
	}
}

// intersect returns the offsets allowed by both b and o; ok is false when
// none is.
func (b bounds) intersect(o bounds) (_ bounds, ok bool) {
	r := bounds{lo: max(b.lo, o.lo), hi: min(b.hi, o.hi)}
	return r, r.lo < r.hi
}

func (b bounds) width() time.Duration { return b.hi - b.lo }

func (b bounds) mid() time.Duration { return b.lo + b.width()/2 }

// halfWidth is the uncertainty of b's midpoint, rounded up so the true
// offset is never outside mid ± halfWidth.
func (b bounds) halfWidth() time.Duration { return (b.width() + 1) / 2 }

// intersectSamples intersects the bounds of every sample; ok is false when
// the samples contradict each other or there are none.
func intersectSamples(samples []Sample) (_ bounds, ok bool) {
	if len(samples) == 0 {
		return bounds{}, false
	}
	b := sampleBounds(samples[0])
	for _, s := range samples[1:] {
		if b, ok = b.intersect(sampleBounds(s)); !ok {
			return b, false
		}
	}
	return b, true
}
