package booking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"reserver/internal/database"
)

// The evidence of where a site decides. At an opening each submit is
// answered not_open (the site said "not yet") or with an open answer
// (success, sold_out, already_mine, held, conflict). The daemon estimates
// when each submit arrived on the site's clock, relative to the opening T,
// and records per booking the latest arrival answered not_open and the
// earliest answered open. The site's real edge lies between the two (give
// or take the estimates' precision); the bookings of one opening, and the
// openings of one site, narrow it down. The rows are kept per booking and
// aggregated on read.

// ErrEdgeEvidence is returned by RecordEdge for evidence it cannot store.
var ErrEdgeEvidence = errors.New("invalid opening edge evidence")

// EdgeEvidence is one booking's answers around one opening.
type EdgeEvidence struct {
	Site      string
	OpensAt   time.Time // T, site clock
	BookingID int64
	ClosedMax *time.Duration // latest estimated arrival − T answered not_open; nil if none
	OpenMin   *time.Duration // earliest estimated arrival − T answered open; nil if none
	Within    time.Duration  // the arrival estimates' precision
}

// OpeningEdge is what the bookings of one opening of a site showed
// together.
type OpeningEdge struct {
	Site      string
	OpensAt   time.Time
	ClosedMax *time.Duration // MAX over the opening's rows; nil when none answered not_open
	OpenMin   *time.Duration // MIN over the opening's rows; nil when none answered open
	Within    time.Duration  // MAX within
	Bookings  int            // distinct bookings that gave evidence
}

// edgeRow is a row of opening_edges.
type edgeRow struct {
	ID          int64
	Site        string
	OpensAt     time.Time
	BookingID   int64
	ClosedMaxUS *int64
	OpenMinUS   *int64
	WithinUS    int64
	CreatedAt   time.Time
}

func (edgeRow) TableName() string { return "opening_edges" }

// RecordEdge stores e. It refuses (ErrEdgeEvidence, nothing written) an
// empty site, a zero OpensAt, a booking id ≤ 0, a negative Within, or
// evidence with neither a closed nor an open arrival. Durations are kept to
// the microsecond.
func (s *Store) RecordEdge(ctx context.Context, e EdgeEvidence) error {
	switch {
	case e.Site == "":
		return fmt.Errorf("%w: no site", ErrEdgeEvidence)
	case e.OpensAt.IsZero():
		return fmt.Errorf("%w: no opening instant", ErrEdgeEvidence)
	case e.BookingID <= 0:
		return fmt.Errorf("%w: no booking", ErrEdgeEvidence)
	case e.ClosedMax == nil && e.OpenMin == nil:
		return fmt.Errorf("%w: neither a not_open nor an open arrival", ErrEdgeEvidence)
	case e.Within < 0:
		return fmt.Errorf("%w: negative precision %v", ErrEdgeEvidence, e.Within)
	}
	row := edgeRow{
		Site: e.Site, OpensAt: utc(e.OpensAt), BookingID: e.BookingID,
		ClosedMaxUS: micros(e.ClosedMax), OpenMinUS: micros(e.OpenMin),
		WithinUS: e.Within.Microseconds(),
	}
	return database.Retry(ctx, func() error {
		row.ID = 0
		return s.db.WithContext(ctx).Create(&row).Error
	})
}

// Edges returns the newest openings openings of site, newest first, each
// aggregated over its bookings' rows. With site "" it returns the newest
// openings openings of every site (the limit is per site), newest first;
// openings ≤ 0 means no limit.
func (s *Store) Edges(ctx context.Context, site string, openings int) ([]OpeningEdge, error) {
	sites := []string{site}
	if site == "" {
		sites = nil
		if err := s.db.WithContext(ctx).Model(&edgeRow{}).Distinct("site").Order("site").Pluck("site", &sites).Error; err != nil {
			return nil, fmt.Errorf("list edge sites: %w", err)
		}
	}
	var rows []edgeAggregate
	for _, site := range sites {
		var got []edgeAggregate
		q := s.db.WithContext(ctx).Model(&edgeRow{}).
			Select("site, opens_at, MAX(closed_max_us) AS closed_max_us, MIN(open_min_us) AS open_min_us, "+
				"MAX(within_us) AS within_us, COUNT(DISTINCT booking_id) AS bookings").
			Where("site = ?", site).
			Group("site, opens_at").
			Order("opens_at DESC")
		if openings > 0 {
			q = q.Limit(openings)
		}
		if err := q.Scan(&got).Error; err != nil {
			return nil, fmt.Errorf("read edges of %s: %w", site, err)
		}
		rows = append(rows, got...)
	}
	// Newest first across sites; sites in name order within one instant.
	slices.SortStableFunc(rows, func(a, b edgeAggregate) int { return b.OpensAt.Compare(a.OpensAt) })
	out := make([]OpeningEdge, len(rows))
	for i, r := range rows {
		out[i] = OpeningEdge{
			Site: r.Site, OpensAt: r.OpensAt.UTC(),
			ClosedMax: duration(r.ClosedMaxUS), OpenMin: duration(r.OpenMinUS),
			Within: time.Duration(r.WithinUS) * time.Microsecond, Bookings: r.Bookings,
		}
	}
	return out, nil
}

// edgeAggregate is one row of the grouped query.
type edgeAggregate struct {
	Site        string
	OpensAt     time.Time
	ClosedMaxUS *int64
	OpenMinUS   *int64
	WithinUS    int64
	Bookings    int
}

func micros(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	us := d.Microseconds()
	return &us
}

func duration(us *int64) *time.Duration {
	if us == nil {
		return nil
	}
	d := time.Duration(*us) * time.Microsecond
	return &d
}
