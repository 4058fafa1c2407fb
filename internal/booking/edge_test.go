package booking

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

func us(n int64) *time.Duration {
	d := time.Duration(n) * time.Microsecond
	return &d
}

// The bookings of one opening together bound the site's edge: the latest
// arrival any of them saw answered not_open, the earliest any saw answered
// open, and the loosest precision among them.
func TestEdgesAggregateAnOpening(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		both := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
		closedOnly := both.Add(-24 * time.Hour)
		openOnly := both.Add(-48 * time.Hour)
		for _, e := range []EdgeEvidence{
			{Site: "s", OpensAt: both, BookingID: 1, ClosedMax: us(-2000), Within: 1500 * time.Microsecond},
			{Site: "s", OpensAt: both, BookingID: 2, ClosedMax: us(-501), OpenMin: us(1201), Within: 3 * time.Millisecond},
			{Site: "s", OpensAt: both, BookingID: 3, OpenMin: us(799), Within: 2 * time.Millisecond},
			{Site: "s", OpensAt: both, BookingID: 4, ClosedMax: us(-900), OpenMin: us(2500), Within: time.Millisecond},
			{Site: "s", OpensAt: closedOnly, BookingID: 5, ClosedMax: us(-40)},
			{Site: "s", OpensAt: closedOnly, BookingID: 6, ClosedMax: us(-3)},
			{Site: "s", OpensAt: openOnly, BookingID: 7, OpenMin: us(12)},
			{Site: "s", OpensAt: openOnly, BookingID: 8, OpenMin: us(4)},
		} {
			require.NoError(t, b.store.RecordEdge(ctx, e))
		}

		got, err := b.store.Edges(ctx, "s", 0)
		require.NoError(t, err)
		require.Equal(t, []OpeningEdge{
			{Site: "s", OpensAt: both, ClosedMax: us(-501), OpenMin: us(799), Within: 3 * time.Millisecond, Bookings: 4},
			{Site: "s", OpensAt: closedOnly, ClosedMax: us(-3), Bookings: 2},
			{Site: "s", OpensAt: openOnly, OpenMin: us(4), Bookings: 2},
		}, got)
	})
}

// Openings and sites are kept apart; the newest openings come first and
// the limit counts openings of each site.
func TestEdgesOpeningsAndSites(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		t0 := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
		// Sub-second opening instants survive and stay apart.
		t1 := t0.Add(7*24*time.Hour + 250*time.Millisecond)
		t2 := t0.Add(14 * 24 * time.Hour)
		record := func(site string, at time.Time, id int64, closed, open *time.Duration) {
			t.Helper()
			require.NoError(t, b.store.RecordEdge(ctx, EdgeEvidence{Site: site, OpensAt: at, BookingID: id, ClosedMax: closed, OpenMin: open, Within: time.Millisecond}))
		}
		// Written out of order, in another zone than UTC.
		kst := time.FixedZone("KST", 9*3600)
		record("a", t1.In(kst), 1, us(-10), us(10))
		record("a", t0, 2, us(-20), us(20))
		record("a", t2, 3, us(-30), us(30))
		record("a", t1, 4, us(-11), us(11))
		record("b", t1, 5, us(-100), us(100))
		record("b", t0.Add(time.Hour), 6, us(-200), nil)

		got, err := b.store.Edges(ctx, "a", 0)
		require.NoError(t, err)
		require.Equal(t, []OpeningEdge{
			{Site: "a", OpensAt: t2, ClosedMax: us(-30), OpenMin: us(30), Within: time.Millisecond, Bookings: 1},
			{Site: "a", OpensAt: t1, ClosedMax: us(-10), OpenMin: us(10), Within: time.Millisecond, Bookings: 2},
			{Site: "a", OpensAt: t0, ClosedMax: us(-20), OpenMin: us(20), Within: time.Millisecond, Bookings: 1},
		}, got)

		got, err = b.store.Edges(ctx, "a", 2)
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Equal(t, []time.Time{t2, t1}, []time.Time{got[0].OpensAt, got[1].OpensAt}, "the newest two")

		got, err = b.store.Edges(ctx, "b", 10)
		require.NoError(t, err)
		require.Equal(t, []OpeningEdge{
			{Site: "b", OpensAt: t1, ClosedMax: us(-100), OpenMin: us(100), Within: time.Millisecond, Bookings: 1},
			{Site: "b", OpensAt: t0.Add(time.Hour), ClosedMax: us(-200), Within: time.Millisecond, Bookings: 1},
		}, got)

		type key struct {
			site string
			at   time.Time
		}
		keys := func(es []OpeningEdge) []key {
			var ks []key
			for _, e := range es {
				ks = append(ks, key{e.Site, e.OpensAt})
			}
			return ks
		}
		got, err = b.store.Edges(ctx, "", 0)
		require.NoError(t, err)
		require.Equal(t, []key{{"a", t2}, {"a", t1}, {"b", t1}, {"b", t0.Add(time.Hour)}, {"a", t0}}, keys(got), "all sites, newest first")

		got, err = b.store.Edges(ctx, "", 1)
		require.NoError(t, err)
		require.Equal(t, []key{{"a", t2}, {"b", t1}}, keys(got), "the limit is per site")

		got, err = b.store.Edges(ctx, "nowhere", 10)
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

func TestRecordEdgeRefusesBadEvidence(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		good := EdgeEvidence{Site: "s", OpensAt: time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC), BookingID: 1, ClosedMax: us(-1), OpenMin: us(1), Within: time.Millisecond}
		tests := []struct {
			name string
			edit func(e *EdgeEvidence)
		}{
			{"empty site", func(e *EdgeEvidence) { e.Site = "" }},
			{"zero opening", func(e *EdgeEvidence) { e.OpensAt = time.Time{} }},
			{"no booking", func(e *EdgeEvidence) { e.BookingID = 0 }},
			{"neither closed nor open", func(e *EdgeEvidence) { e.ClosedMax, e.OpenMin = nil, nil }},
			{"negative precision", func(e *EdgeEvidence) { e.Within = -time.Microsecond }},
		}
		for _, tt := range tests {
			e := good
			tt.edit(&e)
			require.ErrorIs(t, b.store.RecordEdge(ctx, e), ErrEdgeEvidence, tt.name)
		}
		var n int64
		require.NoError(t, db.Table("opening_edges").Count(&n).Error)
		require.Zero(t, n, "nothing written")
		got, err := b.store.Edges(ctx, "", 0)
		require.NoError(t, err)
		require.Empty(t, got)

		require.NoError(t, b.store.RecordEdge(ctx, good), "the unedited evidence is fine")
		require.NoError(t, db.Table("opening_edges").Count(&n).Error)
		require.EqualValues(t, 1, n)
	})
}
