package booking

import (
	"context"
	"time"
)

// This file holds the operator page's dashboard line: what is about to
// happen and what is wrong right now, in a handful of cheap queries. It
// reads only.

// DashboardRecent is how far back "failing right now" looks.
const DashboardRecent = time.Hour

// dashboardOpenings is how many upcoming openings the dashboard names.
const dashboardOpenings = 3

// Opening is one upcoming opening instant of a site and how many
// unfinished bookings wait for it.
type Opening struct {
	Site     string
	OpensAt  time.Time
	Bookings int
}

// Dashboard is the state of the fleet at one instant.
type Dashboard struct {
	// Now is the instant it describes.
	Now time.Time
	// Next are the soonest openings whose window has not ended, of
	// unfinished bookings, soonest first (at most 3).
	Next []Opening
	// Queued, Armed and Running count the bookings in those states.
	Queued, Armed, Running int
	// Instances are the live daemon instances (Store.Status).
	Instances []Instance
	// Unsent counts the outbox rows not sent yet (pending or sending);
	// OldestUnsent is when the oldest of them was written.
	Unsent       int
	OldestUnsent *time.Time
	// OutboxFailed counts messages the relay gave up on.
	OutboxFailed int
	// FailedRecent counts the bookings that failed within DashboardRecent;
	// Reasons counts them by reason.
	FailedRecent int
	Reasons      map[Reason]int
	// Review counts the bookings flagged for an operator.
	Review int
	// Stale counts armed or running bookings whose lease has expired: no
	// instance holds them (a takeover is due).
	Stale int
}

// Failing reports whether anything needs an operator now.
func (d *Dashboard) Failing() bool {
	return d.FailedRecent > 0 || d.Review > 0 || d.Stale > 0 || d.OutboxFailed > 0
}

// Dashboard reads the dashboard as of now.
func (s *Store) Dashboard(ctx context.Context, now time.Time) (*Dashboard, error) {
	now = utc(now)
	db := s.db.WithContext(ctx)
	d := &Dashboard{Now: now, Next: []Opening{}, Reasons: map[Reason]int{}}

	counts, err := s.CountByState(ctx)
	if err != nil {
		return nil, err
	}
	d.Queued, d.Armed, d.Running = int(counts[Queued]), int(counts[Armed]), int(counts[Running])

	st, err := s.Status(ctx, now, 1)
	if err != nil {
		return nil, err
	}
	d.Instances = st.Instances

	// A booking's window ends at opens_at + window_seconds; the bound below
	// keeps the scan to openings at most a day old (no window is longer),
	// and the window is checked per row.
	var rows []struct {
		Site          string
		OpensAt       time.Time
		WindowSeconds int
	}
	err = db.Model(&Booking{}).Select("site, opens_at, window_seconds").
		Where("state IN ? AND opens_at >= ?", []State{Queued, Armed, Running}, now.Add(-24*time.Hour)).
		Order("opens_at, site, id").Limit(2000).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.OpensAt.Add(time.Duration(r.WindowSeconds) * time.Second).Before(now) {
			continue
		}
		n := len(d.Next)
		if n > 0 && d.Next[n-1].Site == r.Site && d.Next[n-1].OpensAt.Equal(r.OpensAt) {
			d.Next[n-1].Bookings++
			continue
		}
		if n == dashboardOpenings {
			break
		}
		d.Next = append(d.Next, Opening{Site: r.Site, OpensAt: r.OpensAt, Bookings: 1})
	}

	var unsent []Outbox
	err = db.Select("id, created_at").Where("state IN ?", []string{"pending", "sending"}).
		Order("created_at, id").Find(&unsent).Error
	if err != nil {
		return nil, err
	}
	d.Unsent = len(unsent)
	if len(unsent) > 0 {
		at := unsent[0].CreatedAt
		d.OldestUnsent = &at
	}
	var n int64
	if err := db.Model(&Outbox{}).Where("state = ?", "failed").Count(&n).Error; err != nil {
		return nil, err
	}
	d.OutboxFailed = int(n)

	var reasons []struct {
		Reason Reason
		N      int
	}
	err = db.Model(&Booking{}).Select("reason, COUNT(*) AS n").
		Where("state = ? AND finished_at >= ?", Failed, now.Add(-DashboardRecent)).
		Group("reason").Scan(&reasons).Error
	if err != nil {
		return nil, err
	}
	for _, r := range reasons {
		d.Reasons[r.Reason] = r.N
		d.FailedRecent += r.N
	}
	if err := db.Model(&Booking{}).Where("review <> ''").Count(&n).Error; err != nil {
		return nil, err
	}
	d.Review = int(n)
	err = db.Model(&Booking{}).Where("state IN ? AND (lease_until IS NULL OR lease_until < ?)", []State{Armed, Running}, now).
		Count(&n).Error
	if err != nil {
		return nil, err
	}
	d.Stale = int(n)
	return d, nil
}
