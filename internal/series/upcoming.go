package series

import (
	"context"
	"slices"
	"time"
)

// Next is one of a series' next occurrences: already created (BookingID,
// or Note when it could not be) and still to open, or still to be created
// (Note when it will not be booked: a choice that opens at another
// instant).
type Next struct {
	Series    *Series
	Date      string
	Start     string
	End       string
	OpensAt   time.Time
	BookingID *int64
	Note      string
}

// Upcoming lists, for every active and paused series, its occurrences
// whose opening is after now: those created already, then up to n still
// to be created; all by opening, soonest first. A paused series' still to
// be created are listed (they are what resuming brings) and marked by
// the series' state; a series whose site has no profile is left out.
func (s *Store) Upcoming(ctx context.Context, sites Sites, now time.Time, n int) ([]Next, error) {
	var all []Series
	if err := s.db.WithContext(ctx).Where("state IN ?", []State{Active, Paused}).Order("id").Find(&all).Error; err != nil {
		return nil, err
	}
	ids := make([]int64, len(all))
	for i := range all {
		ids[i] = all[i].ID
	}
	occ, err := s.Occurrences(ctx, ids...)
	if err != nil {
		return nil, err
	}
	var out []Next
	for i := range all {
		sr := &all[i]
		for _, o := range occ[sr.ID] {
			if o.OpensAt.After(now) {
				out = append(out, Next{Series: sr, Date: o.PlayDate, Start: o.StartTime, End: o.EndTime, OpensAt: o.OpensAt, BookingID: o.BookingID, Note: o.Note})
			}
		}
		site, ok := sites.Site(sr.Site)
		if !ok {
			continue
		}
		due, err := Due(sr, site, occ[sr.ID], now, -1)
		if err != nil {
			continue // the profile changed under the series; RunOnce logs it
		}
		for _, p := range due[:min(n, len(due))] {
			out = append(out, Next{Series: sr, Date: p.Date, Start: p.Start, End: p.End, OpensAt: p.OpensAt, Note: p.Note})
		}
	}
	slices.SortStableFunc(out, func(a, b Next) int { return a.OpensAt.Compare(b.OpensAt) })
	return out, nil
}
