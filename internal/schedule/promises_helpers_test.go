package schedule

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"reserver/internal/booking"
	"reserver/internal/database"
)

// Helpers of the promise tests (promises_test.go): a switch that takes one
// connection's database away and gives it back, a handler around the
// simulator that records every request and may rewrite answers, and waits
// bounded in (fake) time so that a broken promise fails a test instead of
// hanging it.

// errDBDown is what every statement of a connection returns while its
// outage is on.
var errDBDown = errors.New("test: database unavailable (outage switch on)")

// outage makes every statement of one *database.DB fail while it is on,
// without closing the connection, so that the test can end the outage
// again (a closed *sql.DB cannot be reopened under the daemon).
type outage struct{ down atomic.Bool }

func newOutage(t *testing.T, db *database.DB) *outage {
	t.Helper()
	o := &outage{}
	fail := func(tx *gorm.DB) {
		if o.down.Load() {
			_ = tx.AddError(errDBDown)
		}
	}
	cb := db.Callback()
	require.NoError(t, cb.Create().Before("gorm:create").Register("test:outage", fail))
	require.NoError(t, cb.Query().Before("gorm:query").Register("test:outage", fail))
	require.NoError(t, cb.Update().Before("gorm:update").Register("test:outage", fail))
	require.NoError(t, cb.Delete().Before("gorm:delete").Register("test:outage", fail))
	require.NoError(t, cb.Row().Before("gorm:row").Register("test:outage", fail))
	require.NoError(t, cb.Raw().Before("gorm:raw").Register("test:outage", fail))
	return o
}

func (o *outage) set(down bool) { o.down.Store(down) }

// tapped is one request as the site received it.
type tapped struct {
	Method, Path, Remote string
	At                   time.Time // local (fake) time of arrival
}

// tap is an http.Handler around the simulator's: it records every request
// on arrival and may rewrite the answer before the client sees it.
type tap struct {
	inner http.Handler
	// rewrite, if set, returns the body the client gets instead of the
	// site's answer body to r.
	rewrite func(r *http.Request, body string) string
	// answered, if set, runs after the site handled r and before its
	// answer leaves (the request is "on the wire" and already applied).
	answered func(r *http.Request)

	mu   sync.Mutex
	seen []tapped
}

func (h *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.seen = append(h.seen, tapped{Method: r.Method, Path: r.URL.Path, Remote: r.RemoteAddr, At: time.Now()})
	h.mu.Unlock()
	rec := httptest.NewRecorder()
	h.inner.ServeHTTP(rec, r) // a simulated reset panics through, as InProcess expects
	body := rec.Body.String()
	if h.rewrite != nil {
		body = h.rewrite(r, body)
	}
	if h.answered != nil {
		h.answered(r)
	}
	for k, v := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write([]byte(body))
}

func (h *tap) requests() []tapped {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]tapped(nil), h.seen...)
}

// withTap puts a tap around the site's handler on b's shared transport.
func (b *bundle) withTap(h *tap) *tap {
	h.inner = b.site.Handler()
	b.tr.Handler = h
	return h
}

// returnsWithin runs stop in a goroutine and reports whether it returned
// within bound (fake time). When it did not, rescue is called to unblock
// it — today's code would otherwise hang the bubble for ever — and the
// goroutine is waited for, so that the caller can fail the test cleanly.
func returnsWithin(t *testing.T, bound time.Duration, stop func(), rescue func()) (took time.Duration, ok bool) {
	t.Helper()
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		stop()
	}()
	select {
	case <-done:
		return time.Since(start), true
	case <-time.After(bound):
	}
	if rescue != nil {
		rescue()
	}
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		t.Log("still blocked ten minutes after the rescue")
	}
	return time.Since(start), false
}

// rescueArmed ends the runs of d that a hung Stop or Kill waits for, so
// that a failing test ends instead of hanging its bubble.
func rescueArmed(d *Daemon) func() {
	return func() { d.cancelRun() }
}

// eventually polls cond every step (fake time) until it holds or limit
// passes, and reports whether it held.
func eventually(limit, step time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(step)
	}
}

// get reads a booking with the test's own connection.
func (b *bundle) get(t *testing.T, id int64) *booking.Booking {
	t.Helper()
	got, err := b.store.Get(context.Background(), booking.Scope{All: true}, id)
	require.NoError(t, err)
	return got
}

// outboxCount counts a booking's outbox rows of one kind.
func (b *bundle) outboxCount(t *testing.T, id int64, kind string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, b.db.Model(&booking.Outbox{}).Where("booking_id = ? AND kind = ?", id, kind).Count(&n).Error)
	return n
}

// steps lists the steps of attempt rows.
func steps(rows []booking.Attempt) []string {
	out := make([]string, 0, len(rows))
	for _, a := range rows {
		out = append(out, a.Step+":"+a.Class)
	}
	return out
}
