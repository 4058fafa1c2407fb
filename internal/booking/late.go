package booking

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"reserver/internal/database"
)

// Review marks a booking an operator has to look at (bookings.review).
// The values appear in the failures list, the API and the metric
// reserver_late_reservations_total.
const (
	// ReviewLateSuccess: the site confirmed a reservation the running
	// instance could not record with Succeed (the booking changed
	// elsewhere or its lease was lost); it was recorded afterwards.
	ReviewLateSuccess = "late_success"
	// ReviewSecondReservation: the booking had succeeded already and the
	// site confirmed another reservation for it; the note names it.
	ReviewSecondReservation = "second_reservation"
	// ReviewAfterFailed: the site confirmed a reservation for a booking
	// that had already failed.
	ReviewAfterFailed = "reservation_after_failed"
	// ReviewAfterCancelled: the site confirmed a reservation for a booking
	// that had already been cancelled.
	ReviewAfterCancelled = "reservation_after_cancelled"
)

// reviewNoteMax is the width of bookings.review_note.
const reviewNoteMax = 512

// RecordLateReservation records reservation reservationNo that the daemon
// saw the site confirm for booking id but could not record with Succeed,
// because the booking changed elsewhere or the lease was lost. No
// reservation the daemon has seen is dropped:
//
//   - a booking not yet finished (whoever holds it) succeeds with the number
//     and the outbox rows, like Succeed, and is flagged late_success;
//   - a booking that succeeded with the same number is left alone (review
//     ""), so replaying the record is harmless;
//   - one that succeeded with another number keeps its state and is flagged
//     second_reservation, the note naming the extra number;
//   - a failed or cancelled one keeps its state, records the number and is
//     flagged reservation_after_failed or reservation_after_cancelled, the
//     note saying that a person must keep or cancel it on the site; no
//     message is sent.
//
// It returns what this record was (one of the Review values), "" when
// there was nothing new to record; the booking's review column keeps an
// earlier flag other than late_success.
func (s *Store) RecordLateReservation(ctx context.Context, id int64, rsv Reserved, notes []Outbox, now time.Time) (review string, err error) {
	if rsv.No == "" {
		return "", fmt.Errorf("booking %d: a late reservation needs its number", id)
	}
	now = utc(now)
	// Each pass reads the booking and writes conditionally on its version;
	// a concurrent change makes the pass start again.
	for range 5 {
		err = database.Retry(ctx, func() error {
			return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				review, err = s.recordLate(tx, id, rsv, notes, now)
				return err
			})
		})
		if !errors.Is(err, ErrConflict) {
			return review, err
		}
	}
	return "", err
}

func (s *Store) recordLate(tx *gorm.DB, id int64, rsv Reserved, notes []Outbox, now time.Time) (string, error) {
	no := rsv.No
	var b Booking
	if err := tx.Where("id = ?", id).Take(&b).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return "", ErrNotFound
	} else if err != nil {
		return "", err
	}
	version := b.Version
	sameVersion := func(q *gorm.DB) *gorm.DB { return q.Where("version = ?", version) }
	if !b.State.Terminal() {
		from := b.State
		if from == Queued {
			// Given back after the submit left: the machine has no
			// queued → succeeded edge, so go through armed.
			if err := s.move(tx, id, Queued, Armed, Change{Now: now}, nil, sameVersion); err != nil {
				return "", err
			}
			from, version = Armed, version+1
		}
		set := map[string]any{"review": ReviewLateSuccess}
		err := s.move(tx, id, from, Succeeded, Change{ReservationNo: no, WonChoice: rsv.Choice, Now: now}, set, sameVersion)
		if err != nil {
			return "", err
		}
		return ReviewLateSuccess, insertOutbox(tx, notes, now)
	}
	if b.ReservationNo == no || strings.Contains(b.ReviewNote, "reservation "+no+" ") {
		return "", nil // recorded before
	}
	var review, note string
	set := map[string]any{}
	switch b.State {
	case Succeeded:
		review = ReviewSecondReservation
		note = fmt.Sprintf("the site also booked reservation %s for this booking (recorded: %s); a person must keep or cancel it there", no, b.ReservationNo)
	case Failed, Cancelled:
		review = ReviewAfterFailed
		if b.State == Cancelled {
			review = ReviewAfterCancelled
		}
		note = fmt.Sprintf("the site holds reservation %s although the booking %s; a person must keep or cancel it there", no, b.State)
		if b.ReservationNo == "" {
			set["reservation_no"] = no
			if rsv.Choice > 0 {
				set["won_choice"] = rsv.Choice
			}
		}
	}
	// An earlier flag other than late_success stays (the first thing a
	// person must do); this record is added to the note.
	flag := review
	if b.Review != "" && b.Review != ReviewLateSuccess {
		flag = b.Review
	}
	if b.ReviewNote != "" {
		note = b.ReviewNote + "; " + note
	}
	set["review"] = flag
	set["review_note"] = clipNote(note)
	set["version"] = gorm.Expr("version + 1")
	set["updated_at"] = now
	res := tx.Model(&Booking{}).Where("id = ? AND version = ?", id, b.Version).Updates(set)
	if res.Error != nil {
		return "", res.Error
	}
	if res.RowsAffected == 0 {
		return "", ErrConflict
	}
	return review, nil
}

// clipNote keeps a note within the column, whole runes only.
func clipNote(s string) string {
	if len(s) <= reviewNoteMax {
		return s
	}
	r := []rune(s)
	for len(string(r)) > reviewNoteMax-len("…") {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
