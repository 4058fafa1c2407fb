package booking

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

func TestSearch(t *testing.T) {
	t.Parallel()
	seoul, err := time.LoadLocation("Asia/Seoul")
	require.NoError(t, err)
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		// Openings: 2026-11-30 23:30 UTC is 12-01 08:30 in Seoul; the
		// "other" site runs on UTC.
		late := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
		make1 := func(tenantID int64, site, user, court, date, phone string, opens time.Time) *Booking {
			nb := newBooking(tenantID, court)
			nb.Site, nb.Username, nb.PlayDate, nb.Phone, nb.OpensAt = site, user, date, phone, opens
			bk, _, err := b.store.Create(ctx, nb)
			require.NoError(t, err)
			return bk
		}
		q := make1(b.tenant, "courtsim", "kim_01", "1", "2026-12-05", "+821011112222", late)
		won := make1(b.tenant, "courtsim", "kim_02", "2", "2026-12-06", "+821033334444", late)
		lost := make1(b.other, "other", "lee%x", "3", "2026-12-07", "+821055556666", late)
		run := make1(b.other, "courtsim", "park", "4", "2026-12-08", "", late.Add(time.Hour))

		_, err := b.store.Claim(ctx, won.ID, "i1", late.Add(-time.Minute), late.Add(time.Minute))
		require.NoError(t, err)
		require.NoError(t, b.store.Succeed(ctx, won.ID, Armed, "i1", Reserved{No: "RSV-2026-0042"}, nil, late))
		_, err = b.store.Claim(ctx, lost.ID, "i1", late.Add(-time.Minute), late.Add(time.Minute))
		require.NoError(t, err)
		require.NoError(t, b.store.Fail(ctx, lost.ID, Armed, "i1", ReasonSoldOut, nil, late))
		_, err = b.store.Claim(ctx, run.ID, "i1", late.Add(-time.Minute), late.Add(time.Hour))
		require.NoError(t, err)
		require.NoError(t, b.store.Transition(ctx, run.ID, Armed, Running, Change{Instance: "i1"}))
		require.NoError(t, db.Exec("UPDATE bookings SET review = ? WHERE id = ?", ReviewLateSuccess, lost.ID).Error)

		zone := func(site string) *time.Location {
			if site == "courtsim" {
				return seoul
			}
			return nil
		}
		tests := []struct {
			name string
			f    SearchFilter
			want []int64
		}{
			{"everything, newest first", SearchFilter{}, []int64{run.ID, lost.ID, won.ID, q.ID}},
			{"a state", SearchFilter{States: []State{Running}}, []int64{run.ID}},
			{"states", SearchFilter{States: []State{Queued, Succeeded}}, []int64{won.ID, q.ID}},
			{"site", SearchFilter{Site: "other"}, []int64{lost.ID}},
			{"tenant", SearchFilter{TenantID: b.other}, []int64{run.ID, lost.ID}},
			{"account", SearchFilter{Account: "kim_02"}, []int64{won.ID}},
			{"account is exact", SearchFilter{Account: "kim"}, []int64{}},
			{"reason", SearchFilter{Reason: ReasonSoldOut}, []int64{lost.ID}},
			{"review", SearchFilter{Review: true}, []int64{lost.ID}},
			{"play dates", SearchFilter{PlayOn: DateRange{From: "2026-12-06", To: "2026-12-07"}}, []int64{lost.ID, won.ID}},
			{"play from", SearchFilter{PlayOn: DateRange{From: "2026-12-08"}}, []int64{run.ID}},
			// 23:30 UTC on 11-30 is 12-01 in Seoul (courtsim) and 11-30 on
			// "other" (UTC): the date is the site's.
			{"opening date in the site's zone", SearchFilter{OpensOn: DateRange{From: "2026-12-01", To: "2026-12-01"}, Zone: zone}, []int64{run.ID, won.ID, q.ID}},
			{"opening date, other zone", SearchFilter{OpensOn: DateRange{To: "2026-11-30"}, Zone: zone}, []int64{lost.ID}},
			{"opening date and site", SearchFilter{Site: "courtsim", OpensOn: DateRange{From: "2026-11-30", To: "2026-11-30"}, Zone: zone}, []int64{}},
			{"query: id", SearchFilter{Query: fmt.Sprint(won.ID)}, []int64{won.ID}},
			{"query: #id", SearchFilter{Query: fmt.Sprintf("#%d", run.ID)}, []int64{run.ID}},
			{"query: account prefix", SearchFilter{Query: "kim"}, []int64{won.ID, q.ID}},
			{"query: LIKE wildcards are literal", SearchFilter{Query: "lee%"}, []int64{lost.ID}},
			{"query: a wildcard alone matches no account", SearchFilter{Query: "%"}, []int64{}},
			{"query: reservation number part", SearchFilter{Query: "0042"}, []int64{won.ID}},
			{"query: phone suffix", SearchFilter{Query: "5556666"}, []int64{lost.ID}},
			{"query: phone suffix with a dash", SearchFilter{Query: "1111-2222"}, []int64{q.ID}},
			{"query: nothing", SearchFilter{Query: "nobody"}, []int64{}},
			{"cursor", SearchFilter{Before: lost.ID}, []int64{won.ID, q.ID}},
			{"limit", SearchFilter{Limit: 1}, []int64{run.ID}},
			{"combined", SearchFilter{States: []State{Queued, Succeeded}, Query: "kim", TenantID: b.tenant, PlayOn: DateRange{To: "2026-12-05"}}, []int64{q.ID}},
		}
		for _, tt := range tests {
			got, err := b.store.Search(ctx, tt.f)
			require.NoError(t, err, tt.name)
			ids := []int64{}
			for _, bk := range got {
				ids = append(ids, bk.ID)
				require.NotNil(t, bk.Account, "%s: the account is loaded", tt.name)
			}
			require.Equal(t, tt.want, ids, tt.name)
		}
		got, err := b.store.Search(ctx, SearchFilter{Query: fmt.Sprint(won.ID)})
		require.NoError(t, err)
		require.Equal(t, "kim_02", got[0].Account.Username)
		require.True(t, slices.ContainsFunc(got, func(bk Booking) bool { return bk.ReservationNo == "RSV-2026-0042" }))

		for _, bad := range []DateRange{{From: "2026-13-01"}, {To: "tomorrow"}, {From: "2026-12-02", To: "2026-12-01"}} {
			_, err := b.store.Search(ctx, SearchFilter{PlayOn: bad})
			require.Error(t, err, "%+v", bad)
			_, err = b.store.Search(ctx, SearchFilter{OpensOn: bad})
			require.Error(t, err, "%+v", bad)
		}
	})
}
