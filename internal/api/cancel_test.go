package api

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// running queues a booking on court through the API and leaves it running
// under a live lease of instance, as a daemon would.
func (b *bundle) running(t *testing.T, court int, instance string) int64 {
	t.Helper()
	r := b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(validBody, `"court": 3`, fmt.Sprintf(`"court": %d`, court), 1))
	require.Equal(t, 201, r.status, r.raw)
	id := int64(r.body["id"].(float64))
	ctx := context.Background()
	now := time.Now()
	_, err := b.store.Claim(ctx, id, instance, now, now.Add(time.Hour))
	require.NoError(t, err)
	require.NoError(t, b.store.Transition(ctx, id, booking.Armed, booking.Running, booking.Change{Instance: instance}))
	return id
}

// daemon plays the instance holding id: once it sees the cancel request,
// it acts (finishes the cancel, or records the success a submit already on
// the wire brought). The returned channel gives act's error.
func (b *bundle) daemon(t *testing.T, id int64, instance string, act func(ctx context.Context) error) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		for ctx.Err() == nil {
			ids, err := b.store.CancelRequests(ctx, instance)
			if err != nil {
				done <- err
				return
			}
			if slices.Contains(ids, id) {
				done <- act(ctx)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		done <- ctx.Err()
	}()
	return done
}

// A DELETE of a booking a daemon instance is running answers with what
// became of it: cancelled by the instance (200), booked by a submit that
// was already on the wire (409, with the reservation number), or still
// running when the wait ran out (202).
func TestCancelWhileRunning(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, func(o *Options) { o.CancelWait = time.Second })
		path := func(id int64) string { return fmt.Sprintf("/v1/bookings/%d", id) }

		honoured := b.running(t, 11, "inst-live")
		done := b.daemon(t, honoured, "inst-live", func(ctx context.Context) error {
			return b.store.FinishCancel(ctx, honoured, booking.Running, "inst-live", time.Now())
		})
		r := b.do(t, "DELETE", path(honoured), b.alice, "")
		require.NoError(t, <-done)
		require.Equal(t, 200, r.status, r.raw)
		require.Equal(t, "cancelled", r.body["state"])
		require.Equal(t, "user_cancelled", r.body["reason"])
		require.NotEmpty(t, r.body["cancel_requested_at"])

		booked := b.running(t, 12, "inst-live")
		done = b.daemon(t, booked, "inst-live", func(ctx context.Context) error {
			return b.store.Succeed(ctx, booked, booking.Running, "inst-live", booking.Reserved{No: "R-77"}, nil, time.Now())
		})
		r = b.do(t, "DELETE", path(booked), b.alice, "")
		require.NoError(t, <-done)
		require.Equal(t, 409, r.status, r.raw)
		require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		require.Equal(t, "/problems/booked-before-cancel", r.body["type"])
		require.Equal(t, "the site had already booked it: reservation R-77; cancel it on the site if you do not want it", r.body["detail"])
		got := r.body["booking"].(map[string]any)
		require.Equal(t, "succeeded", got["state"])
		require.Equal(t, "R-77", got["reservation_no"])
		r = b.do(t, "DELETE", path(booked), b.alice, "")
		require.Equal(t, 409, r.status, "a later DELETE says the same")
		require.Equal(t, "/problems/booked-before-cancel", r.body["type"])

		stuck := b.running(t, 13, "inst-live")
		start := time.Now()
		r = b.do(t, "DELETE", path(stuck), b.op, "")
		require.Equal(t, 202, r.status, r.raw)
		require.GreaterOrEqual(t, time.Since(start), time.Second, "it waited for the instance")
		require.Equal(t, "running", r.body["state"])
		require.NotEmpty(t, r.body["cancel_requested_at"])
		require.Contains(t, r.body["detail"], "stops before its next request")
		require.Contains(t, r.body["detail"], "GET "+path(stuck))
		require.Equal(t, path(stuck), r.header.Get("Location"))
		g := b.do(t, "GET", path(stuck), b.alice, "")
		require.Equal(t, r.body["cancel_requested_at"], g.body["cancel_requested_at"])
		require.Nil(t, g.body["detail"])
		require.Nil(t, g.body["review"], "omitted when empty")
		require.Nil(t, g.body["review_note"])

		// The instance honours it later with the operator's reason.
		require.NoError(t, b.store.FinishCancel(context.Background(), stuck, booking.Running, "inst-live", time.Now()))
		g = b.do(t, "GET", path(stuck), b.alice, "")
		require.Equal(t, "cancelled", g.body["state"])
		require.Equal(t, "operator_cancel", g.body["reason"])
	})
}

// The operator page's cancel button says what became of the booking.
func TestUICancelOutcomes(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t), func(o *Options) { o.CancelWait = 300 * time.Millisecond })
	br := newBrowser(t, b.url)
	require.Equal(t, 303, br.login(b.op).status)
	cancel := func(id int64) page {
		t.Helper()
		p := br.get(fmt.Sprintf("/ui/bookings/%d", id))
		token := p.doc.Find("form.cancel input[name=csrf]").AttrOr("value", "")
		require.NotEmpty(t, token)
		r := br.post(fmt.Sprintf("/ui/bookings/%d/cancel", id), url.Values{"csrf": {token}})
		require.Equal(t, 303, r.status)
		return br.get(r.header.Get("Location"))
	}

	stuck := b.running(t, 21, "inst-live")
	p := cancel(stuck)
	require.Equal(t, "Cancel requested: instance inst-live is still running this booking (running) and stops before its next request. Reload this page for the final state.", p.doc.Find("p.notice").Text())
	require.Contains(t, p.doc.Find("dd.cancel-requested").Text(), "instance inst-live stops before its next request")

	booked := b.running(t, 22, "inst-live")
	done := b.daemon(t, booked, "inst-live", func(ctx context.Context) error {
		return b.store.Succeed(ctx, booked, booking.Running, "inst-live", booking.Reserved{No: "R-88"}, nil, time.Now())
	})
	p = cancel(booked)
	require.NoError(t, <-done)
	require.Equal(t, "Too late to cancel: the site had already booked it (reservation R-88). Cancel it on the site if it is not wanted.", p.doc.Find("p.notice").Text())

	honoured := b.running(t, 23, "inst-live")
	done = b.daemon(t, honoured, "inst-live", func(ctx context.Context) error {
		return b.store.FinishCancel(ctx, honoured, booking.Running, "inst-live", time.Now())
	})
	p = cancel(honoured)
	require.NoError(t, <-done)
	require.Equal(t, fmt.Sprintf("Booking %d cancelled.", honoured), p.doc.Find("p.notice").Text())
	require.Equal(t, 0, p.doc.Find("form.cancel").Length())

	p = br.get(fmt.Sprintf("/ui/bookings/%d?cancel=<script>", honoured))
	require.Equal(t, 0, p.doc.Find("p.notice").Length(), "only known outcomes make a notice")
}
