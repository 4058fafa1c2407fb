package booking

import (
	"context"
	"time"

	"reserver/internal/database"
)

// One instance runs all of a site account's bookings: they share the
// account's session (legacy sites allow one per account: a second
// instance's login would kick the first one's out), its submit order and
// its egress. With several instances the account belongs to the holder of
// its oldest (lowest id) armed or running booking under a live lease; an
// instance that claimed another of its bookings gives it back before the
// pre-warm (HeldElsewhere), and the holder claims it on its next scan.

// HeldElsewhere returns the ids of the armed bookings instance holds whose
// site account another live instance runs: that instance holds an armed or
// running booking of the same account and site with a lower id, under a
// lease that has not expired at now. One query on the claimed_by and
// account indexes, run at every heartbeat.
func (s *Store) HeldElsewhere(ctx context.Context, instance string, now time.Time) ([]int64, error) {
	var ids []int64
	err := database.Retry(ctx, func() error {
		ids = nil
		return s.db.WithContext(ctx).Raw(`
SELECT DISTINCT b.id FROM bookings b
JOIN bookings o ON o.account_id = b.account_id AND o.site = b.site AND o.id < b.id
WHERE b.claimed_by = ? AND b.state = ?
  AND o.claimed_by <> '' AND o.claimed_by <> ? AND o.state IN (?, ?) AND o.lease_until >= ?
ORDER BY b.id`, instance, Armed, instance, Armed, Running, utc(now)).Scan(&ids).Error
	})
	return ids, err
}
