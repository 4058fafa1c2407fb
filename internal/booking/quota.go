package booking

import (
	"context"
	"fmt"
)

// ActiveStates are the states that hold a place in a tenant's quota: the
// bookings still to be run or running.
var ActiveStates = []State{Queued, Armed, Running}

// CountActive returns how many bookings of a tenant are queued, armed or
// running: what limits.max_active_bookings_per_tenant bounds. One indexed
// query (ix_bookings_tenant_state).
func (s *Store) CountActive(ctx context.Context, tenantID int64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Booking{}).
		Where("tenant_id = ? AND state IN ?", tenantID, ActiveStates).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count active bookings: %w", err)
	}
	return n, nil
}
