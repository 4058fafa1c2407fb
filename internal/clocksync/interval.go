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

// midBounds returns the offsets a sample allows if the site read its clock
// at c, halfway through the round trip, as it does on a symmetric path:
// offset ∈ [SiteDate − c, SiteDate + 1s − c). It lies inside sampleBounds,
// rtt/2 in from each end.
func midBounds(s Sample) bounds {
	d := s.SiteDate.Truncate(time.Second)
	c := s.Sent.Add(s.RTT() / 2)
	return bounds{
		lo: d.Sub(c),
		hi: d.Add(time.Second).Sub(c),
	}
}

// intersect returns the offsets allowed by both b and o; ok is false when
// none is.
func (b bounds) intersect(o bounds) (_ bounds, ok bool) {
	r := bounds{lo: max(b.lo, o.lo), hi: min(b.hi, o.hi)}
	return r, r.lo < r.hi
}

// width is hi − lo; it is negative for an inverted b (see meet).
func (b bounds) width() time.Duration { return b.hi - b.lo }

func (b bounds) mid() time.Duration { return b.lo + b.width()/2 }

// clamp returns the offset in [b.lo, b.hi] nearest to d.
func (b bounds) clamp(d time.Duration) time.Duration { return min(max(d, b.lo), b.hi) }

// halfWidth is the uncertainty of b's midpoint, rounded up so the true
// offset is never outside mid ± halfWidth.
func (b bounds) halfWidth() time.Duration { return (b.width() + 1) / 2 }

// meet intersects the given bounds of every sample, like intersectSamples,
// but keeps going when they contradict each other: the result may then be
// inverted (lo > hi), and its midpoint is the offset that violates no
// sample's bounds by more than −width/2, the least any offset can. ok is
// false when there are no samples.
func meet(samples []Sample, of func(Sample) bounds) (_ bounds, ok bool) {
	if len(samples) == 0 {
		return bounds{}, false
	}
	b := of(samples[0])
	for _, s := range samples[1:] {
		o := of(s)
		b = bounds{lo: max(b.lo, o.lo), hi: min(b.hi, o.hi)}
	}
	return b, true
}

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

// fit is what a set of samples says about the offset.
type fit struct {
	hard bounds // sampleBounds intersected: holds on any path
	mid  bounds // midBounds met: holds on a symmetric path; may be inverted
}

// fitSamples fits samples; ok is false when there are none or their hard
// bounds contradict each other.
func fitSamples(samples []Sample) (f fit, ok bool) {
	if f.hard, ok = intersectSamples(samples); !ok {
		return f, false
	}
	f.mid, _ = meet(samples, midBounds)
	return f, true
}

// offset is the best estimate on a symmetric path, kept inside the hard
// interval so that it stays within uncertainty of the truth on any path.
func (f fit) offset() time.Duration { return f.hard.clamp(f.mid.mid()) }

// uncertainty is the distance from offset to the farther end of the hard
// interval: the true offset is never farther away than that.
func (f fit) uncertainty() time.Duration {
	off := f.offset()
	return max(off-f.hard.lo, f.hard.hi-off)
}

// precision is half the width of the symmetric interval, rounded up, or
// half its inversion when jitter made the samples contradict each other.
func (f fit) precision() time.Duration { return (f.mid.width().Abs() + 1) / 2 }
