package chaos

import (
	"context"
	"database/sql"
	"time"
)

// waitTerminal polls until every booking is terminal or deadline passes;
// it returns the number still open.
func (c *cluster) waitTerminal(ctx context.Context, deadline time.Time) (int, error) {
	for {
		var open int
		err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bookings WHERE state NOT IN ('succeeded','failed','cancelled')").Scan(&open)
		if err == nil && open == 0 {
			return 0, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return -1, err
			}
			return open, nil
		}
		if err := sleep(ctx, time.Second); err != nil {
			return open, err
		}
	}
}

// snapshot reads what the checks compare with the ledger.
func (c *cluster) snapshot(ctx context.Context) (*DBState, error) {
	s := &DBState{Bookings: map[int64]DBBooking{}, SubmitRows: map[int64]int{}, Outbox: map[int64][]string{}}
	// Binaries from before issue 18 (-bin) have neither column.
	won, err := c.column(ctx, "bookings", "won_choice")
	if err != nil {
		return nil, err
	}
	choice, err := c.column(ctx, "attempts", "choice")
	if err != nil {
		return nil, err
	}
	rows, err := c.db.QueryContext(ctx, "SELECT id, state, reason, reservation_no, "+won+" FROM bookings")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var b DBBooking
		if err := rows.Scan(&b.ID, &b.State, &b.Reason, &b.ReservationNo, &b.WonChoice); err != nil {
			rows.Close()
			return nil, err
		}
		s.Bookings[b.ID] = b
	}
	rows.Close()
	rows, err = c.db.QueryContext(ctx, "SELECT booking_id, instance, step, class, sent_at, "+choice+" FROM attempts")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var a AttemptRow
		var class string
		if err := rows.Scan(&a.BookingID, &a.Instance, &a.Step, &class, &a.SentAt, &a.Choice); err != nil {
			rows.Close()
			return nil, err
		}
		s.Attempts = append(s.Attempts, a)
		switch a.Step {
		case "submit":
			s.SubmitRows[a.BookingID]++
		case "verify":
			s.VerifyRows++
			if class == "success" {
				s.VerifySuccess++
			}
		}
	}
	rows.Close()
	rows, err = c.db.QueryContext(ctx, "SELECT booking_id, kind, state FROM outbox")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var kind, state string
		if err := rows.Scan(&id, &kind, &state); err != nil {
			return nil, err
		}
		s.Outbox[id] = append(s.Outbox[id], kind+":"+state)
	}
	return s, rows.Err()
}

// column is the SQL expression that reads an integer column that may be
// NULL as 0, or a literal 0 when table has no such column.
func (c *cluster) column(ctx context.Context, table, name string) (string, error) {
	var n int
	err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?",
		table, name).Scan(&n)
	if err != nil || n == 0 {
		return "0", err
	}
	return "COALESCE(" + name + ", 0)", nil
}

// firstAttemptAfter is the earliest attempt of booking id by an instance
// other than inst sent after t.
func (c *cluster) firstAttemptAfter(ctx context.Context, id int64, inst string, t time.Time) (time.Time, bool, error) {
	var at sql.NullTime
	err := c.db.QueryRowContext(ctx, "SELECT MIN(sent_at) FROM attempts WHERE booking_id = ? AND instance <> ? AND sent_at >= ?",
		id, inst, t.UTC()).Scan(&at)
	if err != nil {
		return time.Time{}, false, err
	}
	return at.Time, at.Valid, nil
}

// held lists the non-terminal bookings whose lease inst holds.
func (c *cluster) held(ctx context.Context, inst string) ([]int64, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT id FROM bookings WHERE claimed_by = ? AND state IN ('armed','running')", inst)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// countState counts the bookings in state.
func (c *cluster) countState(ctx context.Context, state string) (int, error) {
	var n int
	err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM bookings WHERE state = ?", state).Scan(&n)
	return n, err
}
