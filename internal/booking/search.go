package booking

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// This file holds the operator page's bookings list: every booking of
// every tenant, filtered and searched. It reads only.

// SearchFilter selects bookings for Search. Every field is optional; the
// zero filter lists every booking, newest first.
type SearchFilter struct {
	States   []State // any of these; empty: any state
	Site     string  // empty: any
	TenantID int64   // 0: any tenant
	Account  string  // the site account's username, exactly; empty: any
	Reason   Reason  // empty: any
	// Review keeps only the bookings flagged for an operator.
	Review bool
	// OpensOn bounds the opening instant's date in the site's zone (Zone),
	// PlayOn the play date (site-local already); both inclusive.
	OpensOn, PlayOn DateRange
	// Zone is a site's time zone, for OpensOn; nil or a nil answer is UTC.
	Zone func(site string) *time.Location
	// Query finds a booking by its id ("123" or "#123"), its account
	// (username, or a prefix of it), its reservation number (or a part of
	// it) or the last digits of its phone number (at least 4).
	Query string
	// Before is the cursor: only ids smaller than this (0: from the newest).
	Before int64
	// Limit is the page size, 1..500 (default 50).
	Limit int
}

// DateRange is an inclusive range of dates, "YYYY-MM-DD"; an empty end is
// open.
type DateRange struct {
	From, To string
}

func (r DateRange) set() bool { return r.From != "" || r.To != "" }

// dateLayout is the layout of a DateRange's ends.
const dateLayout = "2006-01-02"

// Check reports a malformed end or a range that ends before it begins.
func (r DateRange) Check() error {
	var from, to time.Time
	var err error
	if r.From != "" {
		if from, err = time.Parse(dateLayout, r.From); err != nil {
			return fmt.Errorf("from %q is not a date: expected YYYY-MM-DD", r.From)
		}
	}
	if r.To != "" {
		if to, err = time.Parse(dateLayout, r.To); err != nil {
			return fmt.Errorf("to %q is not a date: expected YYYY-MM-DD", r.To)
		}
	}
	if r.From != "" && r.To != "" && to.Before(from) {
		return fmt.Errorf("the range ends (%s) before it begins (%s)", r.To, r.From)
	}
	return nil
}

// Search returns the bookings f selects, newest first (by id), with their
// accounts. It reads every tenant's bookings unless f.TenantID is set: it
// is for operators. A malformed date range is an error; nothing else in f
// is: an unknown site or state simply matches nothing (the page checks
// them against what exists before it asks).
func (s *Store) Search(ctx context.Context, f SearchFilter) ([]Booking, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	for _, r := range []DateRange{f.OpensOn, f.PlayOn} {
		if err := r.Check(); err != nil {
			return nil, err
		}
	}
	db := s.db.WithContext(ctx)
	q := db.Preload("Account")
	if len(f.States) > 0 {
		q = q.Where("state IN ?", f.States)
	}
	if f.Site != "" {
		q = q.Where("site = ?", f.Site)
	}
	if f.TenantID != 0 {
		q = q.Where("tenant_id = ?", f.TenantID)
	}
	if f.Account != "" {
		q = q.Where("account_id IN (?)", db.Model(&Account{}).Select("id").Where("username = ?", f.Account))
	}
	if f.Reason != "" {
		q = q.Where("reason = ?", f.Reason)
	}
	if f.Review {
		q = q.Where("review <> ''")
	}
	if f.PlayOn.From != "" {
		q = q.Where("play_date >= ?", f.PlayOn.From)
	}
	if f.PlayOn.To != "" {
		q = q.Where("play_date <= ?", f.PlayOn.To)
	}
	if f.OpensOn.set() {
		cond, args, err := s.opensOn(ctx, f)
		if err != nil {
			return nil, err
		}
		q = q.Where(cond, args...)
	}
	if text := strings.TrimSpace(f.Query); text != "" {
		cond, args := queryCondition(db, text)
		q = q.Where(cond, args...)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	var out []Booking
	err := q.Order("id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// opensOn is the condition of f.OpensOn: opens_at is an instant and each
// site has its zone, so the dates become one instant range per site that
// has bookings (one DISTINCT query), joined by OR.
func (s *Store) opensOn(ctx context.Context, f SearchFilter) (string, []any, error) {
	var siteNames []string
	q := s.db.WithContext(ctx).Model(&Booking{}).Distinct("site")
	if f.Site != "" {
		q = q.Where("site = ?", f.Site)
	}
	if err := q.Pluck("site", &siteNames).Error; err != nil {
		return "", nil, err
	}
	if len(siteNames) == 0 {
		return "1 = 0", nil, nil
	}
	var parts []string
	var args []any
	for _, site := range siteNames {
		loc := time.UTC
		if f.Zone != nil {
			if l := f.Zone(site); l != nil {
				loc = l
			}
		}
		part := "(site = ?"
		args = append(args, site)
		if f.OpensOn.From != "" {
			from, _ := time.ParseInLocation(dateLayout, f.OpensOn.From, loc)
			part += " AND opens_at >= ?"
			args = append(args, utc(from))
		}
		if f.OpensOn.To != "" {
			to, _ := time.ParseInLocation(dateLayout, f.OpensOn.To, loc)
			part += " AND opens_at < ?"
			args = append(args, utc(to.AddDate(0, 0, 1)))
		}
		parts = append(parts, part+")")
	}
	return "(" + strings.Join(parts, " OR ") + ")", args, nil
}

// queryCondition is the search box's condition: any of the booking's id,
// its account's username (a prefix), its reservation number (a part) and
// its phone number's last digits.
func queryCondition(db *gorm.DB, text string) (string, []any) {
	like := likeEscape(text)
	conds := []string{"reservation_no LIKE ? ESCAPE '!'", "account_id IN (?)"}
	args := []any{"%" + like + "%", db.Model(&Account{}).Select("id").Where("username LIKE ? ESCAPE '!'", like+"%")}
	if id, err := strconv.ParseInt(strings.TrimPrefix(text, "#"), 10, 64); err == nil && id > 0 {
		conds = append(conds, "id = ?")
		args = append(args, id)
	}
	if digits, ok := phoneDigits(text); ok {
		conds = append(conds, "phone LIKE ?")
		args = append(args, "%"+digits)
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// likeEscape escapes LIKE's wildcards with '!' (ESCAPE '!' works the same
// on SQLite and MySQL, where a backslash would not).
func likeEscape(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// phoneDigits reads the end of a phone number: at least 4 digits, with
// '+', '-' and spaces allowed between them ("5678", "1234-5678").
func phoneDigits(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == '-' || r == ' ':
		default:
			return "", false
		}
	}
	return b.String(), b.Len() >= 4
}
