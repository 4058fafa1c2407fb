package booking

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// Every reservation the daemon has seen ends on its booking, whatever
// happened to the booking meanwhile.
func TestRecordLateReservation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		now := time.Now()
		live := now.Add(time.Hour)
		note := func(id int64) []Outbox {
			return []Outbox{{BookingID: id, Kind: "booked", Phone: "+821012345678", Payload: "{}"}}
		}
		outbox := func(id int64) int64 {
			var n int64
			require.NoError(t, db.Model(&Outbox{}).Where("booking_id = ?", id).Count(&n).Error)
			return n
		}

		// The lease was lost: another instance holds it now.
		lost := hold(t, b, "40", "heir", Running, live)
		// Given back (queued) after the submit left.
		queued, _, err := b.store.Create(ctx, newBooking(b.tenant, "41"))
		require.NoError(t, err)
		// Cancel requested while the submit was on the wire.
		requested := hold(t, b, "42", "i1", Running, live)
		_, err = b.store.Cancel(ctx, Scope{All: true}, requested.ID, ReasonUser)
		require.NoError(t, err)
		won := hold(t, b, "43", "i1", Running, live)
		require.NoError(t, b.store.Succeed(ctx, won.ID, Running, "i1", Reserved{No: "R-43"}, nil, now))
		failed := hold(t, b, "44", "i1", Running, live)
		require.NoError(t, b.store.Fail(ctx, failed.ID, Running, "i1", ReasonWindow, nil, now))
		cancelled, _, err := b.store.Create(ctx, newBooking(b.tenant, "45"))
		require.NoError(t, err)
		_, err = b.store.Cancel(ctx, Scope{All: true}, cancelled.ID, ReasonUser)
		require.NoError(t, err)

		tests := []struct {
			name    string
			id      int64
			no      string
			review  string
			state   State
			resNo   string
			note    string // contained in review_note
			outbox  int64
			flagged string // bookings.review afterwards
		}{
			{"lease lost", lost.ID, "R-40", ReviewLateSuccess, Succeeded, "R-40", "", 1, ReviewLateSuccess},
			{"given back", queued.ID, "R-41", ReviewLateSuccess, Succeeded, "R-41", "", 1, ReviewLateSuccess},
			{"cancel requested", requested.ID, "R-42", ReviewLateSuccess, Succeeded, "R-42", "", 1, ReviewLateSuccess},
			{"same number again", lost.ID, "R-40", "", Succeeded, "R-40", "", 1, ReviewLateSuccess},
			{"second reservation", won.ID, "R-43b", ReviewSecondReservation, Succeeded, "R-43", "reservation R-43b", 0, ReviewSecondReservation},
			{"second again", won.ID, "R-43b", "", Succeeded, "R-43", "reservation R-43b", 0, ReviewSecondReservation},
			{"after a late success", lost.ID, "R-40b", ReviewSecondReservation, Succeeded, "R-40", "reservation R-40b", 1, ReviewSecondReservation},
			{"after failed", failed.ID, "R-44", ReviewAfterFailed, Failed, "R-44", "the site holds reservation R-44", 0, ReviewAfterFailed},
			{"after cancelled", cancelled.ID, "R-45", ReviewAfterCancelled, Cancelled, "R-45", "keep or cancel it there", 0, ReviewAfterCancelled},
			{"after cancelled again", cancelled.ID, "R-45", "", Cancelled, "R-45", "", 0, ReviewAfterCancelled},
		}
		for _, tt := range tests {
			review, err := b.store.RecordLateReservation(ctx, tt.id, Reserved{No: tt.no}, note(tt.id), now)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.review, review, tt.name)
			got, err := b.store.Get(ctx, Scope{All: true}, tt.id)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.state, got.State, tt.name)
			require.Equal(t, tt.resNo, got.ReservationNo, tt.name)
			require.Equal(t, tt.flagged, got.Review, tt.name)
			require.Contains(t, got.ReviewNote, tt.note, tt.name)
			require.Equal(t, tt.outbox, outbox(tt.id), "%s: a message only for a new success", tt.name)
			if tt.state == Succeeded {
				require.Empty(t, got.ClaimedBy, tt.name)
				require.Nil(t, got.ActiveKey, tt.name)
			}
		}
		_, err = b.store.RecordLateReservation(ctx, 999999, Reserved{No: "R-x"}, nil, now)
		require.ErrorIs(t, err, ErrNotFound)
		_, err = b.store.RecordLateReservation(ctx, failed.ID, Reserved{No: ""}, nil, now)
		require.Error(t, err)

		// The flagged bookings are in the operator's failures list, whatever
		// their state, with the failed ones; a plain success is not.
		plain := hold(t, b, "46", "i1", Running, live)
		require.NoError(t, b.store.Succeed(ctx, plain.ID, Running, "i1", Reserved{No: "R-46"}, nil, now))
		fs, err := b.store.Failures(ctx, FailureFilter{Limit: 100})
		require.NoError(t, err)
		var ids []int64
		for _, f := range fs {
			ids = append(ids, f.Booking.ID)
		}
		require.Equal(t, []int64{cancelled.ID, failed.ID, won.ID, requested.ID, queued.ID, lost.ID}, ids)
		fs, err = b.store.Failures(ctx, FailureFilter{Review: ReviewSecondReservation})
		require.NoError(t, err)
		require.Len(t, fs, 2)

		// A booking that failed long ago but was flagged just now is news.
		old := hold(t, b, "47", "i1", Running, live)
		require.NoError(t, b.store.Fail(ctx, old.ID, Running, "i1", ReasonWindow, nil, now.AddDate(0, 0, -3)))
		stale := hold(t, b, "48", "i1", Running, live)
		require.NoError(t, b.store.Fail(ctx, stale.ID, Running, "i1", ReasonWindow, nil, now.AddDate(0, 0, -3)))
		_, err = b.store.RecordLateReservation(ctx, old.ID, Reserved{No: "R-47"}, nil, now)
		require.NoError(t, err)
		fs, err = b.store.Failures(ctx, FailureFilter{Since: now.Add(-24 * time.Hour)})
		require.NoError(t, err)
		ids = nil
		for _, f := range fs {
			ids = append(ids, f.Booking.ID)
		}
		require.Contains(t, ids, old.ID)
		require.NotContains(t, ids, stale.ID)
		fs, err = b.store.Failures(ctx, FailureFilter{Until: now.Add(-24 * time.Hour)})
		require.NoError(t, err)
		require.Len(t, fs, 1)
		require.Equal(t, stale.ID, fs[0].Booking.ID)
	})
}
