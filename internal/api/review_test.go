package api

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/secret"
	"reserver/internal/tenant"
)

// seeded is one booking written straight into the store, run as if by a
// daemon: claimed, attempts logged, then finished.
type seeded struct {
	id       int64
	opensAt  time.Time
	attempts int
}

// seedRun stores a booking for the token's tenant on court and plays it:
// a login and a trace a minute before T, then one submit per class from T
// on, 500 ms apart. A final state of Failed uses reason; Succeeded records
// reservation R-<court>; Armed leaves it running.
func seedRun(t *testing.T, db *database.DB, token, site, court string, final booking.State, reason booking.Reason, classes ...string) seeded {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(bytes.Repeat([]byte{9}, secret.KeySize))
	require.NoError(t, err)
	store := booking.NewStore(db, box)
	p, err := tenant.NewStore(db).Authenticate(ctx, token)
	require.NoError(t, err)
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	b, _, err := store.Create(ctx, booking.NewBooking{
		TenantID: p.TenantID, Site: site, Username: "user-" + court, Password: "S3cr3t-Pa55!",
		Court: court, PlayDate: "2026-12-01", StartTime: "10:00", EndTime: "11:00",
		OpensAt: opens, WindowSeconds: 300, RatePerSecond: 2,
	})
	require.NoError(t, err)
	_, err = store.Claim(ctx, b.ID, "inst-a", opens.Add(-2*time.Minute), opens.Add(10*time.Minute))
	require.NoError(t, err)
	rows := []booking.Attempt{
		{BookingID: b.ID, Instance: "inst-a", Seq: 1, Step: "login", SentAt: opens.Add(-60 * time.Second), Status: 302, Class: "success", LatencyUS: 41000, Egress: "direct"},
		{BookingID: b.ID, Instance: "inst-a", Seq: 2, Step: "trace", SentAt: opens.Add(-59900 * time.Millisecond), Status: 200, Class: "success", LatencyUS: 38000, Egress: "direct"},
	}
	for i, c := range classes {
		rows = append(rows, booking.Attempt{
			BookingID: b.ID, Instance: "inst-a", Seq: 3 + i, Step: "submit",
			SentAt: opens.Add(time.Duration(i)*500*time.Millisecond + 3*time.Millisecond), Status: 200, Class: c,
			LatencyUS: 35000, Egress: "direct", Excerpt: fmt.Sprintf("answer %d: %s", i+1, c),
		})
	}
	require.NoError(t, store.AddAttempts(ctx, rows))
	require.NoError(t, store.Transition(ctx, b.ID, booking.Armed, booking.Running, booking.Change{Instance: "inst-a", Now: opens.Add(-time.Minute)}))
	done := opens.Add(time.Duration(len(classes)) * 500 * time.Millisecond)
	switch final {
	case booking.Failed:
		require.NoError(t, store.Fail(ctx, b.ID, booking.Running, "inst-a", reason, nil, done))
	case booking.Succeeded:
		require.NoError(t, store.Succeed(ctx, b.ID, booking.Running, "inst-a", booking.Reserved{No: "R-" + court}, nil, done))
	}
	return seeded{id: b.ID, opensAt: opens, attempts: len(rows)}
}

func TestFailuresRoute(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		sold := seedRun(t, db, b.alice, "courtsim", "1", booking.Failed, booking.ReasonSoldOut, "not_open", "not_open", "sold_out")
		win := seedRun(t, db, b.bob, "other", "2", booking.Failed, booking.ReasonWindow, "retry", "blocked", "retry")
		seedRun(t, db, b.alice, "courtsim", "3", booking.Succeeded, "", "not_open", "success")

		r := b.do(t, "GET", "/v1/failures", b.alice, "")
		require.Equal(t, 403, r.status, "users may not review failures")
		require.Equal(t, "/problems/forbidden", r.body["type"])
		require.Equal(t, 401, b.do(t, "GET", "/v1/failures", "", "").status)

		r = b.do(t, "GET", "/v1/failures", b.op, "")
		require.Equal(t, 200, r.status, r.raw)
		items := r.body["items"].([]any)
		require.Len(t, items, 2, "the success is not a failure")
		first := items[0].(map[string]any)
		require.Equal(t, float64(win.id), first["id"], "newest first, every tenant")
		require.Equal(t, "window_closed", first["reason"])
		require.Equal(t, "other", first["site"])
		require.NotNil(t, first["tenant_id"])
		require.Equal(t, float64(win.attempts), first["attempt_count"])
		require.Equal(t, map[string]any{"success": 2.0, "retry": 2.0, "blocked": 1.0}, first["classes"])
		last := first["last_attempts"].([]any)
		require.Len(t, last, 5)
		require.Equal(t, "retry", last[4].(map[string]any)["class"])
		require.Equal(t, 1003.0, last[4].(map[string]any)["offset_ms"])
		require.NotContains(t, r.raw, "S3cr3t")

		tests := []struct {
			query string
			want  []int64
		}{
			{"?site=courtsim", []int64{sold.id}},
			{"?reason=window_closed", []int64{win.id}},
			{"?reason=missed", []int64{}},
			{"?since=2026-11-25T01:00:01.2Z", []int64{win.id, sold.id}},
			{"?since=2026-11-25T01:00:01.6Z", []int64{}},
			{"?until=2026-11-25T01:00:01.6Z", []int64{win.id, sold.id}},
			{"?since=24h", []int64{win.id, sold.id}}, // fixedNow is 2026-11-24 12:00, they finished the next day
			{"?until=1h", []int64{}},
			{"?limit=1", []int64{win.id}},
			{fmt.Sprintf("?limit=1&cursor=%d", win.id), []int64{sold.id}},
		}
		for _, tt := range tests {
			r := b.do(t, "GET", "/v1/failures"+tt.query, b.op, "")
			require.Equal(t, 200, r.status, tt.query+": "+r.raw)
			got := []int64{}
			for _, it := range r.body["items"].([]any) {
				got = append(got, int64(it.(map[string]any)["id"].(float64)))
			}
			require.Equal(t, tt.want, got, tt.query)
		}
		r = b.do(t, "GET", "/v1/failures?limit=1", b.op, "")
		require.Equal(t, fmt.Sprint(win.id), r.body["next_cursor"])
		r = b.do(t, "GET", "/v1/failures?attempts=2", b.op, "")
		require.Len(t, r.body["items"].([]any)[0].(map[string]any)["last_attempts"], 2)

		for _, bad := range []string{"?since=yesterday", "?until=-5h", "?site=Bad!", "?reason=DROP%20TABLE", "?attempts=0", "?cursor=x", "?limit=501"} {
			r := b.do(t, "GET", "/v1/failures"+bad, b.op, "")
			require.Equal(t, 400, r.status, bad)
			require.Equal(t, "/problems/validation", r.body["type"], bad)
		}
	})
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"24h", now.Add(-24 * time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"7d", now.AddDate(0, 0, -7), false},
		{"0d", now, false},
		{"2026-11-20T09:00:00+09:00", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), false},
		{"2026-11-20T00:00:00.5Z", time.Date(2026, 11, 20, 0, 0, 0, 5e8, time.UTC), false},
		{"-1h", time.Time{}, true},
		{"xd", time.Time{}, true},
		{"2026-11-20", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in, now)
		if tt.err {
			require.ErrorIs(t, err, errBadTime, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.True(t, tt.want.Equal(got), "%s: got %v", tt.in, got)
	}
}

func TestMetricsRoute(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	b := setup(t, db)
	seedRun(t, db, b.alice, "courtsim", "1", booking.Failed, booking.ReasonSoldOut, "sold_out")
	seedRun(t, db, b.alice, "courtsim", "2", booking.Armed, "", "not_open")
	require.Equal(t, 403, b.do(t, "GET", "/metrics", b.alice, "").status)
	require.Equal(t, 401, b.do(t, "GET", "/metrics", "", "").status)
	r := b.do(t, "GET", "/metrics", b.op, "")
	require.Equal(t, 200, r.status, r.raw)
	require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/plain"), r.header.Get("Content-Type"))
	for _, want := range []string{`reserver_bookings{state="failed"} 1`, `reserver_bookings{state="running"} 1`, `reserver_bookings{state="queued"} 0`, "reserver_outbox_backlog 0", "go_goroutines"} {
		require.Contains(t, r.raw, want)
	}
}

// Bookings flagged for review are in the failures list, the API and the
// page, whatever their state, with what a person must do.
func TestFailuresShowReviews(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		failed := seedRun(t, db, b.alice, "courtsim", "1", booking.Failed, booking.ReasonSoldOut, "sold_out")
		won := seedRun(t, db, b.alice, "courtsim", "2", booking.Succeeded, "", "success")
		seedRun(t, db, b.alice, "courtsim", "3", booking.Succeeded, "", "success")
		review, err := b.store.RecordLateReservation(ctx, won.id, booking.Reserved{No: "R-2b"}, nil, time.Now())
		require.NoError(t, err)
		require.Equal(t, booking.ReviewSecondReservation, review)
		review, err = b.store.RecordLateReservation(ctx, failed.id, booking.Reserved{No: "R-1"}, nil, time.Now())
		require.NoError(t, err)
		require.Equal(t, booking.ReviewAfterFailed, review)

		r := b.do(t, "GET", "/v1/failures", b.op, "")
		require.Equal(t, 200, r.status, r.raw)
		items := r.body["items"].([]any)
		require.Len(t, items, 2, "the plain success is not listed")
		first := items[0].(map[string]any)
		require.Equal(t, float64(won.id), first["id"])
		require.Equal(t, "succeeded", first["state"])
		require.Equal(t, "second_reservation", first["review"])
		require.Contains(t, first["review_note"], "reservation R-2b")
		second := items[1].(map[string]any)
		require.Equal(t, "reservation_after_failed", second["review"])
		require.Equal(t, "R-1", second["reservation_no"])

		r = b.do(t, "GET", "/v1/failures?review=second_reservation", b.op, "")
		require.Len(t, r.body["items"], 1)
		require.Equal(t, 400, b.do(t, "GET", "/v1/failures?review=Bad!", b.op, "").status)
		g := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d", won.id), b.alice, "")
		require.Equal(t, "second_reservation", g.body["review"], "the owner sees it too")

		br := newBrowser(t, b.url)
		require.Equal(t, 303, br.login(b.op).status)
		p := br.get("/ui/failures")
		rows := p.doc.Find("tr.failure")
		require.Equal(t, 2, rows.Length())
		require.Equal(t, fmt.Sprint(won.id), rows.First().AttrOr("data-id", ""))
		require.Contains(t, rows.First().Find("td.review").Text(), "second_reservation (succeeded)")
		require.Contains(t, rows.First().Find("td.review .review-note").Text(), "R-2b")
		p = br.get(fmt.Sprintf("/ui/bookings/%d", failed.id))
		require.Contains(t, p.doc.Find("dd.review").Text(), "the site holds reservation R-1")
	})
}
