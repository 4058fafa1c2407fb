package clocksync

import "time"

// Planning the next probe.
//
// A probe sent at local s is handled at about s + rtt/2, where the site's
// clock reads s + rtt/2 + offset. Aimed at a site second edge E it asks
// "is offset ≥ q?" with q = E − s − rtt/2: if the site answers E (crossed),
// the new lower bound is E − Received ≈ q − rtt/2; if it answers E − 1s,
// the new upper bound is E − Sent ≈ q + rtt/2.
//
// Time only runs forward, which makes this unlike textbook bisection. Along
// one edge E (a "pass") later probes test smaller q, so after a "not yet"
// the search can continue on the same edge at once, but after a "crossed"
// the offsets left to test lie in the past and must wait for edge E+1s, up
// to a second later. Writing x = hi − q + rtt/2 for the width a crossing
// leaves, the widest interval that n probes resolve to an accepted width a
// using the current pass plus p further passes is
//
//	C(n, −1) = C(0, p) = a
//	C(n, p)  = C(n−1, p−1) + C(n−1, p) − rtt
//
// (a crossing must be resolvable with one pass fewer; a "not yet" leaves
// w − x + rtt in the same pass). After the first sample the planner fixes a
// deadline, the fewest passes its probe budget (MaxProbes less a reserve)
// allows, and then spends as few probes as it can within it. On loopback with
// the defaults that is three passes: a median of 10 probes (at most ~14) and
// 2–3.5 s.
//
// The interval planned on is not the hard one but the symmetric one (which
// assumes the site read its clock halfway through the round trip) widened by
// rtt/2 on each side: in the terms above, a crossing then leaves exactly
// [q, …) and a "not yet" […, q). The target is a symmetric interval of
// 2×Target, i.e. a planned width of 2×Target + rtt. Probes on one edge must
// be at least a round trip apart, so a pass cannot resolve much finer than
// 1.5 rtt (see width); below that each probe bisects the symmetric interval
// on an edge of its own, closing in on the located edge one second at a
// time. Over a 20 ms round trip that is three or four seconds more than on
// loopback.

// maxPlanPasses bounds the pass search; beyond it the planner just bisects.
const maxPlanPasses = 8

// capacity returns C(n, p) above for accepted width a and round trip rtt.
func capacity(n, p int, a, rtt time.Duration) time.Duration {
	if n <= 0 || p < 0 {
		return a
	}
	// row[q+1] holds C(k, q) for the current k, with row[0] = C(k, −1).
	row := make([]time.Duration, p+2)
	for i := range row {
		row[i] = a
	}
	for k := 1; k <= n; k++ {
		// Walk q downwards so row[q] still holds C(k−1, q−1).
		for q := p; q >= 0; q-- {
			row[q+1] = row[q] + row[q+1] - rtt
		}
	}
	return row[p+1]
}

// step returns x, the width of the offset interval that a crossing answer
// leaves, for an interval of width w when the plan may spend n more probes
// (this one included), must reach width a and may use p further passes. It
// takes the fewest probes that reach a in p passes (more passes if n probes
// cannot). Once w is down to a, or if n probes cannot reach a at all, it
// bisects: each probe then gets its own edge anyway.
func step(w time.Duration, n int, a, rtt time.Duration, p int) time.Duration {
	half := (w + rtt) / 2 // both answers leave the same width
	x := half
	if a > rtt && w > a {
		for p = max(p, 0); p <= maxPlanPasses; p++ {
			if capacity(n, p, a, rtt) < w {
				continue
			}
			for n > 1 && capacity(n-1, p, a, rtt) >= w {
				n--
			}
			lo := w - capacity(n-1, p, a, rtt) + rtt
			hi := capacity(n-1, p-1, a, rtt)
			x = min(max(half, lo), hi)
			break
		}
	}
	return min(max(x, 1), w)
}

// minPasses returns the fewest further passes in which n probes can bring
// width w down to a, or maxPlanPasses if none can.
func minPasses(w time.Duration, n int, a, rtt time.Duration) int {
	for p := 0; p < maxPlanPasses; p++ {
		if capacity(n, p, a, rtt) >= w {
			return p
		}
	}
	return maxPlanPasses
}

// planned is the interval the planner works on: the symmetric one widened
// by rtt/2 on each side, kept inside the hard interval. Planning on the hard
// interval itself would aim the last probes at its middle, which the jitter
// of the round trips moves away from the symmetric interval's.
func (f fit) planned(rtt time.Duration) bounds {
	b := bounds{lo: max(f.hard.lo, f.mid.lo-rtt/2), hi: min(f.hard.hi, f.mid.hi+rtt/2)}
	if b.width() <= 0 {
		return f.hard
	}
	return b
}

// plan is everything the planner needs to place the next probe.
type plan struct {
	b        bounds        // offset interval still to resolve (fit.planned)
	left     int           // probes left, this one included
	reserve  int           // probes the plan keeps for failures and outliers
	accept   time.Duration // planned width that meets the target
	rtt      time.Duration // expected round trip
	lag      time.Duration // expected delay from wake-up to Sent
	spacing  time.Duration // minimum time between wake-ups
	earliest time.Time     // no wake-up before this local instant
	deadline time.Time     // passes ending before this are free; zero: none yet
}

// wakeLead is the least time the planner leaves between deciding and the
// wake-up it plans, so that WaitUntil is never asked for the past.
const wakeLead = 200 * time.Microsecond

// deadlineSlack rounds the pass count of a deadline: a pass ending up to this
// much after the deadline still counts.
const deadlineSlack = 500 * time.Millisecond

// width is the accepted width actually planned for: consecutive probes on one
// edge are x − rtt apart, and that must leave room for the previous round
// trip (with some jitter), the lag and the spacing. A plan that resolved finer
// would place every final probe on its own edge.
func (p plan) width() time.Duration {
	return max(p.accept, 2*p.rtt+p.rtt/2+p.lag+p.spacing+wakeLead)
}

// budget is how many probes the plan may spend: all but the reserve, unless
// the reserve is needed to reach the target at all.
func (p plan) budget() int {
	n := p.left - p.reserve
	if n < 1 || capacity(n, maxPlanPasses, p.width(), p.rtt) < p.b.width() {
		n = p.left
	}
	return n
}

// passEnd is the last local instant at which the coming pass can still test
// an offset in b (the lowest one): later probes belong to the next edge.
func (p plan) passEnd() time.Time {
	lead := p.b.lo + p.rtt + p.lag
	return ceilSecond(p.earliest.Add(lead)).Add(-lead)
}

// newDeadline returns the deadline for a search starting now: the fewest
// passes the probe budget allows. Within it the planner then spends as few
// probes as it can, rather than as few seconds.
func (p plan) newDeadline() time.Time {
	passes := minPasses(p.b.width(), p.budget(), p.width(), p.rtt)
	return p.passEnd().Add(time.Duration(passes)*time.Second + deadlineSlack)
}

// next returns the local instant to wake up and send the next probe.
func (p plan) next() time.Time {
	passes := 0
	if !p.deadline.IsZero() {
		passes = int(p.deadline.Sub(p.passEnd()) / time.Second)
	}
	x := step(p.b.width(), p.budget(), p.width(), p.rtt, passes)
	// Send so that the site's edge E is crossed iff offset ≥ hi − x + rtt/2,
	// i.e. E − Sent = hi − x + rtt.
	lead := p.b.hi - x + p.rtt + p.lag
	edge := ceilSecond(p.earliest.Add(lead))
	return edge.Add(-lead)
}

// ceilSecond returns the first whole second at or after t.
func ceilSecond(t time.Time) time.Time {
	u := t.Truncate(time.Second)
	if u.Before(t) {
		u = u.Add(time.Second)
	}
	return u
}
