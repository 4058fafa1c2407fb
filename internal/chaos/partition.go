package chaos

import (
	"context"
	"slices"
	"time"

	"reserver/internal/ippool"
)

// partitionBookings caps the bookings of the partition scenario, all run
// by d1 on one egress at 4 requests per second: each of its requests waits
// about five seconds in the limiter.
const partitionBookings = 20

// runPartition: the first daemon reaches the database through a relay
// inside the harness. While it holds running windows (the site opens
// late, so they keep submitting) the relay is cut: every relayed
// connection is closed and new ones are refused. Its leases lapse and the
// others take its bookings over; it must stop submitting before they
// start (overlapping_submits=0). The relay is restored before the site
// opens; every booking must end with exactly one reservation. The cut
// daemon runs every booking on one egress at the pool's default ceiling
// of 4 requests per second, so its windows queue in the egress limiter for
// seconds: a lease checked before that wait, not just before the request
// goes on the wire, lets a submit leave after the lease lapsed.
func runPartition(ctx context.Context, o Options, r *result) error {
	// The first daemon starts alone and arms every booking; the other two
	// join before the opening and wait for its leases to lapse.
	// At most partitionBookings: at 4 requests per second more would starve
	// d1 so that it sends no submit at all during the cut.
	c, err := setup(ctx, o, r, clusterSpec{name: "partition", bookings: min(o.Bookings, partitionBookings), openIn: 30 * time.Second, window: 60, daemons: 1,
		siteOpensAfter: 30 * time.Second, relayFirst: true, rate: 1, firstCeiling: ippool.HostCeilingPerEgressDefault})
	if err != nil {
		return err
	}
	defer finish(c, o, r)
	d := c.daemon(0)
	for {
		held, err := c.held(ctx, d.instance)
		if err != nil {
			return err
		}
		if len(held) == len(c.bookings) || time.Now().After(c.opensAt.Add(-5*time.Second)) {
			break
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	for i := 1; i < 3; i++ {
		if _, err := c.startDaemon(ctx, i); err != nil {
			return err
		}
	}
	if err := sleepUntil(ctx, c.opensAt.Add(3*time.Second)); err != nil {
		return err
	}
	held, err := c.held(ctx, d.instance)
	if err != nil {
		return err
	}
	cut := time.Now()
	c.relay.cut()
	o.logf("partition: cut %s from the database while it holds %d bookings", d.instance, len(held))
	if err := sleepUntil(ctx, c.opensAt.Add(25*time.Second)); err != nil {
		return err
	}
	if err := c.relay.restore(); err != nil {
		return err
	}
	restored := time.Now()
	o.logf("partition: restored %s's database connection", d.instance)
	a, l, s, err := settle(ctx, c, r)
	if err != nil {
		return err
	}
	first := map[int64]time.Time{}
	for _, row := range s.Attempts {
		if row.Instance == d.instance || !slices.Contains(held, row.BookingID) || row.SentAt.Before(cut) {
			continue
		}
		if f, ok := first[row.BookingID]; !ok || row.SentAt.Before(f) {
			first[row.BookingID] = row.SentAt
		}
	}
	worst, notTaken := time.Duration(0), 0
	for _, id := range held {
		f, ok := first[id]
		if !ok {
			notTaken++
			continue
		}
		worst = max(worst, f.Sub(cut))
	}
	accounts := map[string]bool{}
	for _, b := range c.bookings {
		if slices.Contains(held, b.ID) {
			accounts[b.Account] = true
		}
	}
	var last time.Time
	for _, sub := range l.Submits {
		if sub.IP == d.ip && accounts[sub.Account] && sub.At.After(last) && sub.At.Before(restored) {
			last = sub.At
		}
	}
	bound := leaseTTL + scanEvery + 3*time.Second
	r.set("held", len(held))
	r.set("cut_ms", restored.Sub(cut).Milliseconds())
	r.set("last_submit_after_cut_ms", max(last.Sub(cut), -time.Millisecond).Milliseconds())
	r.set("takeover_worst_ms", worst.Milliseconds())
	r.set("takeover_bound_ms", bound.Milliseconds())
	r.set("not_taken_over", notTaken)
	if len(held) == 0 {
		r.breaks("nothing_held")
	}
	if notTaken > 0 {
		r.breaks("not_taken_over")
	}
	if worst > bound {
		r.breaks("takeover_slower_than_lease")
	}
	if a.Succeeded != len(c.bookings) {
		r.breaks("not_all_succeeded")
	}
	return nil
}
