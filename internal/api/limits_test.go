package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// limitBody is a booking at "limited" (2 a day, 3 a week per account) of
// court on date, with the members extra.
func limitBody(date string, court int, extra string) string {
	body := strings.Replace(choiceBody("limited", fmt.Sprintf(`"court": %d`, court)+extra), `"2026-12-10"`, fmt.Sprintf("%q", date), 1)
	return body
}

func idOf(t *testing.T, r reply) int64 {
	t.Helper()
	require.Equal(t, 201, r.status, r.raw)
	return int64(r.body["id"].(float64))
}

// requireLimit checks a 409 /problems/account-limit answer.
func requireLimit(t *testing.T, r reply, period, date string, limit int, ids ...int64) {
	t.Helper()
	require.Equal(t, 409, r.status, r.raw)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	require.Equal(t, typeAccountLimit, r.body["type"])
	require.Equal(t, "The site's limit for this account", r.body["title"])
	want := make([]any, len(ids))
	for i, id := range ids {
		want[i] = float64(id)
	}
	require.Equal(t, map[string]any{"period": period, "date": date, "limit": float64(limit), "held": float64(len(ids)), "bookings": want}, r.body["limit"], r.raw)
	le := booking.LimitError{Username: "user001", Period: period, Date: date, Limit: limit, Held: len(ids), IDs: ids}
	require.Equal(t, le.Error(), r.body["detail"])
}

// The site's per-account limits are enforced at create: a third booking of
// the account on a date that allows two is a 409 naming the two; a failed
// one does not count; nothing is stored for a refused one.
func TestAccountLimitPerDay(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setupChoices(t, db)
		first := idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-10", 1, "")))
		second := idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-10", 2, "")))
		before := b.counts(t)
		r := b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-10", 3, ""))
		requireLimit(t, r, "day", "2026-12-10", 2, first, second)
		require.Contains(t, r.body["detail"], `the site lets account "user001" hold at most 2 reservation(s) a day`)
		require.Equal(t, before, b.counts(t), "a refused booking stores nothing")

		// Another site has no limits: the account books there freely.
		idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(limitBody("2026-12-10", 3, ""), `"limited"`, `"monthly"`, 1)))

		// The first one failed: it no longer counts.
		ctx := context.Background()
		now := time.Now()
		_, err := b.store.Claim(ctx, first, "i1", now, now.Add(time.Hour))
		require.NoError(t, err)
		require.NoError(t, b.store.Transition(ctx, first, booking.Armed, booking.Running, booking.Change{Instance: "i1"}))
		require.NoError(t, b.store.Fail(ctx, first, booking.Running, "i1", booking.ReasonSoldOut, nil, now))
		idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-10", 3, "")))
	})
}

// A booking whose choices fall on two dates counts on both; the week's
// limit counts the account's bookings of the week (Monday to Sunday).
func TestAccountLimitChoicesAndWeek(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setupChoices(t, db)
		// 2026-12-10 is a Thursday: its week is 2026-12-07 to 2026-12-13.
		a := idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, choiceBody("limited",
			`"choices": [{"court": 1}, {"court": 1, "date": "2026-12-11"}]`)))
		bb := idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-11", 2, "")))
		requireLimit(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-11", 3, "")), "day", "2026-12-11", 2, a, bb)

		d := idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-12", 1, "")))
		requireLimit(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-13", 1, "")), "week", "2026-12-07", 3, a, bb, d)
		// The next week is another week.
		idOf(t, b.do(t, "POST", "/v1/bookings", b.alice, limitBody("2026-12-14", 1, "")))
	})
}
