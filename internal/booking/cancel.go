package booking

import (
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"

	"reserver/internal/database"
)

// A cancel must never overtake a running window: an instance that holds a
// live lease may have a submit on the wire, and if that submit wins, the
// site holds a reservation that a cancelled booking would hide. So a cancel
// of a booking a live instance is running only records the request
// (cancel_requested_at, a flag and not a state); the instance sees it
// through CancelRequests, stops before its next request and writes
// cancelled itself with FinishCancel — or succeeded, when the submit on the
// wire won. A booking nobody runs (queued, or a lease that lapsed) is
// cancelled at once, by an update whose condition includes the lease, so a
// claim cannot slip in between.

// CancelPoll is how often CancelAndWait reads the booking while it waits.
const CancelPoll = 100 * time.Millisecond

// SubmitSafety: a running booking whose holder is gone may have had a
// submit on the wire from this long before its opening instant on (the
// first submit is timed by the site's clock, which can be seconds off
// ours). Such a booking is not cancelled directly, by the API or by a
// claim: the request is recorded, and the daemon that takes it over asks
// the site (verify) before it writes cancelled — or succeeded, when the
// dead holder's submit had booked.
const SubmitSafety = 30 * time.Second

// noSubmitYet limits an update to bookings that cannot have a submit of a
// gone holder behind them as of now: armed (the pre-warm has not started),
// or running but still well before the opening.
func noSubmitYet(q *gorm.DB, now time.Time) *gorm.DB {
	return q.Where("(state = ? OR opens_at > ?)", Armed, utc(now.Add(SubmitSafety)))
}

// Cancel cancels a booking visible in scope that is not yet finished: at
// once when it is queued or nobody holds a live lease on it; otherwise it
// records a cancel request for the instance running it and returns the
// booking unchanged but for CancelRequestedAt (a repeated request keeps the
// first time and reason). A finished booking is returned with ErrTerminal.
func (s *Store) Cancel(ctx context.Context, sc Scope, id int64, reason Reason) (*Booking, error) {
	for range 5 {
		b, err := s.Get(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		if b.State.Terminal() {
			return b, ErrTerminal
		}
		now := database.Now()
		err = database.Retry(ctx, func() error {
			return s.cancelUnheld(s.db.WithContext(ctx), id, b.State, reason, now)
		})
		if err == nil {
			return s.Get(ctx, sc, id)
		}
		if !errors.Is(err, ErrConflict) {
			return nil, err
		}
		if b.State == Queued {
			continue // claimed meanwhile: read it again
		}
		requested, err := s.requestCancel(ctx, id, reason, now)
		if err != nil {
			return nil, err
		}
		if requested {
			return s.Get(ctx, sc, id)
		}
	}
	return nil, ErrConflict
}

// cancelUnheld moves booking id from → cancelled, when from is queued or
// the lease has lapsed (or was given back) as of now.
func (s *Store) cancelUnheld(tx *gorm.DB, id int64, from State, reason Reason, now time.Time) error {
	var unheld func(*gorm.DB) *gorm.DB
	if from != Queued {
		unheld = func(q *gorm.DB) *gorm.DB {
			return noSubmitYet(q.Where("(claimed_by = '' OR lease_until IS NULL OR lease_until < ?)", utc(now)), now)
		}
	}
	return s.move(tx, id, from, Cancelled, Change{Reason: reason, Now: now}, nil, unheld)
}

// requestCancel records a cancel request on an armed or running booking
// that cannot be cancelled directly: held under a live lease, or running
// near or after its opening (see SubmitSafety). It reports false when the
// booking is not (or no longer) in that condition, so that the caller
// reads it again.
func (s *Store) requestCancel(ctx context.Context, id int64, reason Reason, now time.Time) (bool, error) {
	now = utc(now)
	live := func(q *gorm.DB) *gorm.DB {
		return q.Model(&Booking{}).
			Where("id = ? AND state IN ?", id, []State{Armed, Running}).
			Where("((claimed_by <> '' AND lease_until >= ?) OR (state = ? AND opens_at <= ?))", now, Running, utc(now.Add(SubmitSafety)))
	}
	var n int64
	err := database.Retry(ctx, func() error {
		res := live(s.db.WithContext(ctx)).Where("cancel_requested_at IS NULL").
			Updates(map[string]any{
				"cancel_requested_at": now, "cancel_reason": reason,
				"version": gorm.Expr("version + 1"), "updated_at": now,
			})
		if res.Error != nil || res.RowsAffected == 1 {
			n = res.RowsAffected
			return res.Error
		}
		// Requested before: the first request stands.
		return live(s.db.WithContext(ctx)).Where("cancel_requested_at IS NOT NULL").Count(&n).Error
	})
	return n == 1, err
}

// CancelRequests returns the ids of the armed and running bookings that
// instance holds and that have a cancel request. The daemon polls it every
// CancelPoll; it is one query on the index (claimed_by, cancel_requested_at).
func (s *Store) CancelRequests(ctx context.Context, instance string) ([]int64, error) {
	var ids []int64
	// No ORDER BY: sorting by id would tempt MySQL into a primary-key scan.
	err := s.db.WithContext(ctx).Model(&Booking{}).
		Where("claimed_by = ? AND cancel_requested_at IS NOT NULL AND state IN ?", instance, []State{Armed, Running}).
		Pluck("id", &ids).Error
	slices.Sort(ids)
	return ids, err
}

// cancelReasonExpr is the reason a requested cancel ends with: the
// requested one, user_cancelled when none was recorded.
func cancelReasonExpr() any {
	return gorm.Expr("CASE WHEN cancel_reason = '' THEN ? ELSE cancel_reason END", ReasonUser)
}

// FinishCancel moves booking id, which instance holds in state from, to
// cancelled with the requested reason; the instance calls it once it has
// stopped the booking's run. ErrConflict means the booking is not in from
// or not held by instance.
func (s *Store) FinishCancel(ctx context.Context, id int64, from State, instance string, now time.Time) error {
	return database.Retry(ctx, func() error {
		return s.move(s.db.WithContext(ctx), id, from, Cancelled, Change{Instance: instance, Now: now},
			map[string]any{"reason": cancelReasonExpr()}, nil)
	})
}

// finishCancelUpdates are the columns of a requested cancel finished by
// someone else than the holder (a claim that finds the holder dead).
func finishCancelUpdates(now time.Time) map[string]any {
	return map[string]any{
		"state": Cancelled, "reason": cancelReasonExpr(),
		"version": gorm.Expr("version + 1"), "updated_at": now, "finished_at": now,
		"active_key": nil, "claimed_by": "", "lease_until": nil,
	}
}

// CancelAndWait cancels booking id like Cancel and, when that only
// recorded a request, waits up to wait for the instance running it to
// finish: it reads the booking every CancelPoll until it is terminal, ctx
// ends or wait passes, and cancels it directly if the holder's lease lapses
// meanwhile (the holder died). It returns the latest booking: cancelled;
// succeeded when a submit already on the wire won; still armed or running
// (with CancelRequestedAt) when the wait ran out. A booking that was
// finished before the call comes with ErrTerminal, as from Cancel.
func (s *Store) CancelAndWait(ctx context.Context, sc Scope, id int64, reason Reason, wait time.Duration) (*Booking, error) {
	b, err := s.Cancel(ctx, sc, id, reason)
	if err != nil || b.State.Terminal() {
		return b, err
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(CancelPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-deadline.C:
			return b, nil
		case <-tick.C:
		}
		got, err := s.Get(ctx, sc, id)
		if err != nil {
			return b, err
		}
		b = got
		if b.State.Terminal() {
			return b, nil
		}
		if b.ClaimedBy != "" && b.LeaseUntil != nil && !b.LeaseUntil.Before(database.Now()) {
			continue
		}
		got, err = s.Cancel(ctx, sc, id, reason)
		if errors.Is(err, ErrTerminal) {
			return got, nil // finished by someone else just now
		}
		if err != nil {
			return b, err
		}
		b = got
		if b.State.Terminal() {
			return b, nil
		}
	}
}
