package booking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reserver/internal/database"
	"reserver/internal/profile"
)

// LimitError is the refusal of a booking that would let its account hold
// more than the site allows: the period (a date, or a week by its Monday)
// already has Held bookings that may each end in a reservation.
type LimitError struct {
	Username string
	Period   string // "day" or "week"
	Date     string // the play date, or the week's Monday
	Limit    int
	Held     int
	IDs      []int64 // the bookings that count
}

func (e *LimitError) Error() string {
	what := "on " + e.Date
	if e.Period == "week" {
		what = "in the week of " + e.Date
	}
	ids := make([]string, len(e.IDs))
	for i, id := range e.IDs {
		ids[i] = fmt.Sprint(id)
	}
	return fmt.Sprintf("the site lets account %q hold at most %d reservation(s) a %s, and %d booking(s) %s may already take them (%s): cancel one, or book another %s",
		e.Username, e.Limit, e.Period, e.Held, what, strings.Join(ids, ", "), e.Period)
}

// WeekOf is the Monday of date's week, YYYY-MM-DD (dates are site-local
// already); a date that does not parse is returned as it is.
func WeekOf(date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	back := (int(d.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	return d.AddDate(0, 0, -back).Format(time.DateOnly)
}

// counted is one booking of an account that may hold a reservation.
type counted struct {
	id    int64
	dates []string // the play dates it may hold a reservation on
}

// mayHold lists the dates booking b may end up holding a reservation on:
// the won choice's once it succeeded, else every choice's.
func (b *Booking) mayHold() []string {
	if c, ok := b.Won(); ok {
		return []string{c.Date}
	}
	var out []string
	for _, c := range b.Choices() {
		if !slices.Contains(out, c.Date) {
			out = append(out, c.Date)
		}
	}
	return out
}

// checkLimits refuses a new booking of account acct whose choices fall on
// dates when lim would be exceeded, counting every other booking of the
// account that is not failed or cancelled (but booking exclude: the one
// a PATCH changes; 0 for none). A booking whose choices span
// several dates counts on each (it may book any of them). It runs in the
// creating transaction; on MySQL the account row is locked first, so that
// two concurrent creates for one account are counted one after the other
// (SQLite runs one write transaction at a time).
func (s *Store) checkLimits(tx *gorm.DB, acct *Account, exclude int64, dates []string, lim profile.AccountLimits) error {
	if !lim.Any() {
		return nil
	}
	q := tx
	if s.db.Dialect == database.MySQL {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", acct.ID).Take(&Account{}).Error; err != nil {
			return err
		}
		// A locking read sees what the creates before this one committed
		// (a plain read keeps the transaction's first snapshot, taken
		// before the lock was granted).
		q = tx.Clauses(clause.Locking{Strength: "SHARE"})
	}
	var rows []Booking
	err := q.Select("id", "state", "court", "play_date", "start_time", "end_time", "choices", "won_choice").
		Where("account_id = ? AND id <> ? AND state IN ?", acct.ID, exclude, []State{Queued, Armed, Running, Succeeded}).
		Order("id").Find(&rows).Error
	if err != nil {
		return err
	}
	held := make([]counted, len(rows))
	for i := range rows {
		held[i] = counted{id: rows[i].ID, dates: rows[i].mayHold()}
	}
	check := func(period string, limit int, key func(string) string) error {
		if limit <= 0 {
			return nil
		}
		for _, d := range dates {
			var ids []int64
			for _, h := range held {
				if slices.ContainsFunc(h.dates, func(x string) bool { return key(x) == key(d) }) {
					ids = append(ids, h.id)
				}
			}
			if len(ids)+1 > limit {
				return &LimitError{Username: acct.Username, Period: period, Date: key(d), Limit: limit, Held: len(ids), IDs: ids}
			}
		}
		return nil
	}
	if err := check("day", lim.PerDay, func(d string) string { return d }); err != nil {
		return err
	}
	return check("week", lim.PerWeek, WeekOf)
}

// StopForLimit cancels, with reason account_limit, the unfinished bookings
// of b's account at b's site (b itself left out) whose every choice is in
// the period the site's "limit reached" covers (in): the site would refuse
// them too. Each goes through Cancel, so one a live instance is running is
// only asked to stop before its next request. It returns the ids it
// cancelled or asked to cancel; the first error ends it.
func (s *Store) StopForLimit(ctx context.Context, b *Booking, in func(Choice) bool) ([]int64, error) {
	var rows []Booking
	err := database.Retry(ctx, func() error {
		rows = nil
		return s.db.WithContext(ctx).
			Select("id", "state", "court", "play_date", "start_time", "end_time", "choices").
			Where("account_id = ? AND site = ? AND id <> ? AND state IN ?", b.AccountID, b.Site, b.ID, []State{Queued, Armed, Running}).
			Order("id").Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	var ids []int64
	for i := range rows {
		if !slices.ContainsFunc(rows[i].Choices(), func(c Choice) bool { return !in(c) }) {
			if _, err := s.Cancel(ctx, Scope{All: true}, rows[i].ID, ReasonAccountLimit); err != nil && !errors.Is(err, ErrTerminal) {
				return ids, fmt.Errorf("booking %d: %w", rows[i].ID, err)
			}
			ids = append(ids, rows[i].ID)
		}
	}
	return ids, nil
}
