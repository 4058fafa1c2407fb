package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
)

// A booking with choices: the confirmation names the slot the site booked
// (its second choice here, not the first the payload holds) and which
// choice it was; a failure says none of its choices could be booked. Both
// languages, on SQLite and MySQL, through the store and the relay.
func TestRelayNamesTheChoiceBooked(t *testing.T) {
	t.Parallel()
	eachDSN(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		opens := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
		choices := []booking.Choice{
			{Court: "3", Date: "2030-05-01", Start: "10:00", End: "11:00"},
			{Court: "4", Date: "2030-05-01", Start: "10:00", End: "11:00"},
			{Court: "1", Date: "2030-05-02", Start: "12:00", End: "13:00"},
		}
		// book stores a booking of choices for user that ends as final, and
		// its outbox row of kind in lang, whose payload is what the daemon
		// writes: the first choice's slot.
		book := func(user, lang, kind string, cs []booking.Choice, end func(id int64)) int64 {
			b, _, err := f.store.Create(ctx, booking.NewBooking{
				TenantID: f.tenant, Site: "courtsim", Username: user, Password: "pass1234", Choices: cs,
				OpensAt: opens, WindowSeconds: 60, RatePerSecond: 2, Phone: testPhone,
			})
			require.NoError(t, err)
			_, err = f.store.Claim(ctx, b.ID, "i1", time.Now(), time.Now().Add(time.Hour))
			require.NoError(t, err)
			end(b.ID)
			payload := fmt.Sprintf(`{"site":"courtsim","court":%q,"date":%q,"start":%q,"end":%q,"reservation_no":"R-1","language":%q}`,
				cs[0].Court, cs[0].Date, cs[0].Start, cs[0].End, lang)
			if kind == KindFailed {
				payload = fmt.Sprintf(`{"site":"courtsim","court":%q,"date":%q,"start":%q,"end":%q,"language":%q}`,
					cs[0].Court, cs[0].Date, cs[0].Start, cs[0].End, lang)
			}
			require.NoError(t, f.store.AddOutbox(ctx, []booking.Outbox{{BookingID: b.ID, Kind: kind, Phone: testPhone, Payload: payload}}, time.Now()))
			return b.ID
		}
		won := func(id int64) {
			require.NoError(t, f.store.Succeed(ctx, id, booking.Armed, "i1", booking.Reserved{No: "R-1", Choice: 2}, nil, time.Now()))
		}
		fail := func(reason booking.Reason) func(int64) {
			return func(id int64) {
				require.NoError(t, f.store.Fail(ctx, id, booking.Armed, "i1", reason, nil, time.Now()))
			}
		}
		wonKo := book("u1", "ko", KindBooked, choices, won)
		wonEn := book("u2", "en", KindBooked, choices, won)
		takenKo := book("u3", "ko", KindFailed, choices, fail(booking.ReasonSoldOut))
		takenEn := book("u4", "en", KindFailed, choices, fail(booking.ReasonSoldOut))
		windowEn := book("u5", "en", KindFailed, choices[:2], fail(booking.ReasonWindow))
		oneKo := book("u6", "ko", KindBooked, choices[:1], func(id int64) {
			require.NoError(t, f.store.Succeed(ctx, id, booking.Armed, "i1", booking.Reserved{No: "R-1", Choice: 1}, nil, time.Now()))
		})
		oneEn := book("u7", "en", KindFailed, choices[:1], fail(booking.ReasonSoldOut))

		// The relay renders each row as it would before a send.
		r := f.relay(t, "r1", Config{Sender: newRecorder()})
		var rows []booking.Outbox
		require.NoError(t, f.db.Find(&rows).Error)
		texts := map[int64]string{}
		for _, row := range rows {
			m, err := r.message(ctx, &row)
			require.NoError(t, err)
			texts[m.BookingID] = m.Text
		}
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 4번 코트 예약 완료(2순위). 예약번호 R-1", texts[wonKo])
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 court 4 booked (2nd choice). Reservation no. R-1", texts[wonEn])
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 3번 코트 외 2개 예약 실패: 선택지 3개 모두 이미 다른 사람이 예약했습니다", texts[takenKo])
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 court 3 (+2 more) not booked: all 3 choices were taken", texts[takenEn])
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 court 3 (+1 more) not booked: none of the 2 choices could be booked: no success within the booking window", texts[windowEn])
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 완료. 예약번호 R-1", texts[oneKo], "one slot: as before")
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 court 3 not booked: someone else booked it first", texts[oneEn], "one slot: as before")
	})
}

// The payload the daemon writes says which of how many choices a
// confirmation's slot is: enough for the texts when the booking's row
// says nothing more.
func TestPayloadChoices(t *testing.T) {
	t.Parallel()
	tx, err := parseTexts(nil, nil)
	require.NoError(t, err)
	tests := []struct{ kind, payload, want string }{
		{KindBooked, `{"court":"4","date":"2030-05-01","start":"10:00","end":"11:00","reservation_no":"R-1","language":"en","choice":2,"choices":3}`,
			"[reserver] 2030-05-01 10:00-11:00 court 4 booked (2nd choice). Reservation no. R-1"},
		{KindBooked, `{"court":"4","date":"2030-05-01","start":"10:00","end":"11:00","reservation_no":"R-1","language":"ko","choice":3,"choices":3}`,
			"[reserver] 2030-05-01 10:00-11:00 4번 코트 예약 완료(3순위). 예약번호 R-1"},
		{KindBooked, `{"court":"4","date":"2030-05-01","start":"10:00","end":"11:00","reservation_no":"R-1","language":"en","choice":1,"choices":1}`,
			"[reserver] 2030-05-01 10:00-11:00 court 4 booked. Reservation no. R-1"},
		{KindFailed, `{"court":"3","date":"2030-05-01","start":"10:00","end":"11:00","language":"ko","reason":"sold_out","choice":1,"choices":3}`,
			"[reserver] 2030-05-01 10:00-11:00 3번 코트 외 2개 예약 실패: 선택지 3개 모두 이미 다른 사람이 예약했습니다"},
		{KindFailed, `{"court":"3","date":"2030-05-01","start":"10:00","end":"11:00","language":"en","reason":"sold_out","choice":1,"choices":3}`,
			"[reserver] 2030-05-01 10:00-11:00 court 3 (+2 more) not booked: all 3 choices were taken"},
	}
	for _, tt := range tests {
		d, err := payloadData(tt.payload)
		require.NoError(t, err)
		choiceWords(&d, tt.kind)
		text, err := tx.render(tt.kind, d)
		require.NoError(t, err)
		require.Equal(t, tt.want, text, tt.payload)
	}
}
