package booking

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reserver/internal/database"
)

// The append-only rows beside a booking: its outbox messages and its
// attempt log.

// AddOutbox writes notification rows outside a transition (e.g. a login
// failure at pre-warm). A row of the same booking and kind is not doubled.
func (s *Store) AddOutbox(ctx context.Context, notes []Outbox, now time.Time) error {
	return insertOutbox(s.db.WithContext(ctx), notes, now)
}

func insertOutbox(tx *gorm.DB, notes []Outbox, now time.Time) error {
	if len(notes) == 0 {
		return nil
	}
	for i := range notes {
		if notes[i].State == "" {
			notes[i].State = "pending"
		}
		if notes[i].NextAt.IsZero() {
			notes[i].NextAt = utc(now)
		}
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&notes).Error
}

// AddAttempts writes attempt rows; rows already written (same booking,
// instance, boot and seq) are skipped, so a batch may be retried safely,
// while the rows of a restarted process (another boot, its seq counting
// from the start again) are all kept. It is
// one plain multi-row INSERT per 500 rows: gorm's Create would read every
// new id back, which costs more than the insert at a thousand bookings.
func (s *Store) AddAttempts(ctx context.Context, rows []Attempt) error {
	const cols = "booking_id, instance, boot, seq, step, sent_at, site_date, latency_us, status, class, egress, excerpt, error, waited_for, waited_us, choice"
	tail := " ON CONFLICT DO NOTHING"
	if s.db.Dialect == database.MySQL {
		tail = " ON DUPLICATE KEY UPDATE seq = seq"
	}
	for len(rows) > 0 {
		n := min(len(rows), 500)
		var q strings.Builder
		q.WriteString("INSERT INTO attempts (" + cols + ") VALUES ")
		args := make([]any, 0, n*16)
		for i, a := range rows[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			var siteDate *time.Time
			if a.SiteDate != nil {
				d := utc(*a.SiteDate)
				siteDate = &d
			}
			args = append(args, a.BookingID, a.Instance, a.Boot, a.Seq, a.Step, utc(a.SentAt), siteDate,
				a.LatencyUS, a.Status, a.Class, a.Egress, a.Excerpt, a.Error, a.WaitedFor, a.WaitedUS, a.Choice)
		}
		q.WriteString(tail)
		if err := s.db.WithContext(ctx).Exec(q.String(), args...).Error; err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// Attempts returns a booking's attempts in the order they were sent.
func (s *Store) Attempts(ctx context.Context, bookingID int64, after int64, limit int) ([]Attempt, error) {
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, 1000)
	var out []Attempt
	err := s.db.WithContext(ctx).Where("booking_id = ? AND id > ?", bookingID, after).
		Order("id").Limit(limit).Find(&out).Error
	return out, err
}
