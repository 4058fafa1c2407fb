package booking

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file holds the read-only queries of operator review: the failures
// list, the daemon status and the counts the metrics scrape. None of them
// change a booking.

// Reasons lists every reason a booking can end with, for a filter to
// name the allowed values (and for a test of internal/notify: every
// language says each in words).
var Reasons = []Reason{
	ReasonWindow, ReasonSoldOut, ReasonLogin, ReasonFatal, ReasonMissed, ReasonPanic,
	ReasonUser, ReasonOperator, ReasonUnverified, ReasonUnrecognised, ReasonUnconfirmed,
	ReasonProfile, ReasonRejected, ReasonBlocked, ReasonAccountLimit,
}

// Reviews lists every review flag (Booking.Review).
var Reviews = []string{ReviewLateSuccess, ReviewSecondReservation, ReviewAfterFailed, ReviewAfterCancelled}

// ParseReason checks a reason code from outside (a filter): an unknown
// one is an error naming the known ones, not a filter matching nothing.
func ParseReason(s string) (Reason, error) {
	if slices.Contains(Reasons, Reason(s)) {
		return Reason(s), nil
	}
	return "", fmt.Errorf("unknown reason %q: expected one of %s", s, joinAny(Reasons))
}

// ParseReview checks a review flag from outside (a filter).
func ParseReview(s string) (string, error) {
	if slices.Contains(Reviews, s) {
		return s, nil
	}
	return "", fmt.Errorf("unknown review %q: expected one of %s", s, joinAny(Reviews))
}

func joinAny[T ~string](vs []T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}

// FailureFilter selects failed and review-flagged bookings for Failures.
type FailureFilter struct {
	// Since and Until bound finished_at, or for a booking flagged for
	// review the moment it was last flagged (updated_at), so that a late
	// reservation of a booking that ended days ago is still news (Since
	// inclusive, Until exclusive); zero means unbounded.
	Since, Until time.Time
	Site         string // empty: any
	Reason       Reason // empty: any
	// Review, when set, keeps only the bookings flagged with this review
	// (late_success, second_reservation, ...).
	Review string
	// Before is the cursor: only ids smaller than this (0: from the newest).
	Before int64
	// Limit is the page size, 1..500 (default 50).
	Limit int
	// LastAttempts is how many of each booking's latest attempts to load
	// (default 5, at most 50).
	LastAttempts int
}

// Failure is one failed or review-flagged booking as an operator reviews
// it; Booking.Review and Booking.ReviewNote say what a person must do.
type Failure struct {
	Booking Booking
	// Attempts is the number of attempts logged for the booking.
	Attempts int
	// Classes counts the attempts by response class.
	Classes map[string]int
	// Steps counts the attempts by step, then class: a login's success
	// is not a submit's.
	Steps map[string]map[string]int
	// Last holds the latest attempts, oldest first.
	Last []Attempt
}

// Failures returns failed bookings and the bookings flagged for review
// (whatever their state: a late or second reservation may have succeeded),
// newest first (by id), with their attempt counts by class and their last
// few attempts. Failures reads every tenant's bookings: it is for operators
// only.
func (s *Store) Failures(ctx context.Context, f FailureFilter) ([]Failure, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	last := f.LastAttempts
	if last <= 0 {
		last = 5
	}
	last = min(last, 50)

	q := s.db.WithContext(ctx).Preload("Account").Where("(state = ? OR review <> '')", Failed)
	const listedAt = "(CASE WHEN review = '' THEN finished_at ELSE updated_at END)"
	if !f.Since.IsZero() {
		q = q.Where(listedAt+" >= ?", utc(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where(listedAt+" < ?", utc(f.Until))
	}
	if f.Site != "" {
		q = q.Where("site = ?", f.Site)
	}
	if f.Reason != "" {
		q = q.Where("reason = ?", f.Reason)
	}
	if f.Review != "" {
		q = q.Where("review = ?", f.Review)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	var bs []Booking
	if err := q.Order("id DESC").Limit(limit).Find(&bs).Error; err != nil {
		return nil, err
	}
	if len(bs) == 0 {
		return []Failure{}, nil
	}
	ids := make([]int64, len(bs))
	out := make([]Failure, len(bs))
	byID := make(map[int64]*Failure, len(bs))
	for i := range bs {
		ids[i] = bs[i].ID
		out[i] = Failure{Booking: bs[i], Classes: map[string]int{}, Steps: map[string]map[string]int{}}
		byID[bs[i].ID] = &out[i]
	}
	counts, err := s.StepClassCounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, steps := range counts {
		fl := byID[id]
		fl.Steps = steps
		for _, m := range steps {
			for class, n := range m {
				fl.Classes[class] += n
				fl.Attempts += n
			}
		}
	}
	for i := range out {
		rows, err := s.LastAttempts(ctx, out[i].Booking.ID, last)
		if err != nil {
			return nil, err
		}
		out[i].Last = rows
	}
	return out, nil
}

// StepClassCounts counts the attempts of the given bookings by step and
// class (booking → step → class → n), with one GROUP BY query.
func (s *Store) StepClassCounts(ctx context.Context, ids []int64) (map[int64]map[string]map[string]int, error) {
	out := make(map[int64]map[string]map[string]int, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		BookingID int64
		Step      string
		Class     string
		N         int
	}
	err := s.db.WithContext(ctx).Model(&Attempt{}).
		Select("booking_id, step, class, COUNT(*) AS n").
		Where("booking_id IN ?", ids).
		Group("booking_id, step, class").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if out[r.BookingID] == nil {
			out[r.BookingID] = map[string]map[string]int{}
		}
		if out[r.BookingID][r.Step] == nil {
			out[r.BookingID][r.Step] = map[string]int{}
		}
		out[r.BookingID][r.Step][r.Class] = r.N
	}
	return out, nil
}

// LastAttempts returns the latest n attempts of a booking, oldest first.
func (s *Store) LastAttempts(ctx context.Context, bookingID int64, n int) ([]Attempt, error) {
	var rows []Attempt
	err := s.db.WithContext(ctx).Where("booking_id = ?", bookingID).
		Order("id DESC").Limit(n).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows, nil
}

// Status is what the daemons are doing, as the database shows it.
type Status struct {
	// Instances are alive: each beat within InstanceAliveBeats of its
	// heartbeats (see instances.go), or holds an unexpired lease. An idle
	// instance is listed with 0 bookings.
	Instances []Instance
	// Gone are the instances that stopped beating in the last day, the
	// latest first: stopped, killed or cut off from the database.
	Gone []Instance
	// Active are the armed and running bookings, soonest opening first.
	Active []Booking
	// Next are the queued bookings, soonest opening first.
	Next []Booking
}

// Status reports the live instances, the armed and running bookings and
// the next n queued openings (default 10) as of now.
func (s *Store) Status(ctx context.Context, now time.Time, n int) (*Status, error) {
	if n <= 0 {
		n = 10
	}
	now = utc(now)
	st := &Status{Instances: []Instance{}, Gone: []Instance{}, Active: []Booking{}, Next: []Booking{}}
	var inst []struct {
		ClaimedBy string
		N         int
	}
	// MAX over a DATETIME comes back as text on SQLite; the latest lease
	// is read per instance below instead of parsing it here.
	err := s.db.WithContext(ctx).Model(&Booking{}).
		Select("claimed_by, COUNT(*) AS n").
		Where("claimed_by <> '' AND lease_until >= ? AND state IN ?", now, []State{Armed, Running}).
		Group("claimed_by").Order("claimed_by").Scan(&inst).Error
	if err != nil {
		return nil, err
	}
	leases := make(map[string]Instance, len(inst))
	for _, r := range inst {
		var b Booking
		err := s.db.WithContext(ctx).Select("lease_until").
			Where("claimed_by = ? AND lease_until >= ? AND state IN ?", r.ClaimedBy, now, []State{Armed, Running}).
			Order("lease_until DESC").Take(&b).Error
		if err != nil {
			return nil, err
		}
		in := Instance{Name: r.ClaimedBy, Bookings: r.N}
		if b.LeaseUntil != nil {
			in.LeaseUntil = *b.LeaseUntil
		}
		leases[r.ClaimedBy] = in
	}
	if st.Instances, st.Gone, err = s.instances(ctx, now, leases); err != nil {
		return nil, err
	}
	err = s.db.WithContext(ctx).Where("state IN ?", []State{Armed, Running}).
		Order("opens_at, id").Find(&st.Active).Error
	if err != nil {
		return nil, err
	}
	err = s.db.WithContext(ctx).Where("state = ?", Queued).
		Order("opens_at, id").Limit(n).Find(&st.Next).Error
	if err != nil {
		return nil, err
	}
	return st, nil
}

// CountByState counts bookings per state, with one GROUP BY query; every
// state is present in the result, zero or not.
func (s *Store) CountByState(ctx context.Context) (map[State]int64, error) {
	var rows []struct {
		State State
		N     int64
	}
	err := s.db.WithContext(ctx).Model(&Booking{}).
		Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[State]int64, len(States))
	for _, st := range States {
		out[st] = 0
	}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// CountOutbox counts outbox rows per state (pending, sending, sent,
// failed), with one GROUP BY query.
func (s *Store) CountOutbox(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		State string
		N     int64
	}
	err := s.db.WithContext(ctx).Model(&Outbox{}).
		Select("state, COUNT(*) AS n").Group("state").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}
