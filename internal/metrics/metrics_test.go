package metrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/secret"
	"reserver/internal/tenant"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	return rec.Body.String()
}

// The instruments are process-wide, so these tests look at deltas and use
// label values no other test uses.
func TestInstruments(t *testing.T) {
	t.Parallel()
	before := testutil.ToFloat64(attempts.WithLabelValues("sold_out", "submit"))
	Attempt("sold_out", "submit")
	Attempt("sold_out", "submit")
	Attempt("not_open", "submit")
	require.InDelta(t, before+2, testutil.ToFloat64(attempts.WithLabelValues("sold_out", "submit")), 0)

	ClockOffset("instruments-site", -1.7)
	ClockOffset("instruments-site", 1.25)
	require.InDelta(t, 1.25, testutil.ToFloat64(clockOffset.WithLabelValues("instruments-site")), 0, "a gauge keeps the latest value")

	lt := testutil.ToFloat64(leaseTakeovers)
	LeaseTakeover()
	require.InDelta(t, lt+1, testutil.ToFloat64(leaseTakeovers), 0)

	FireLateness(0.0015)
	SubmitLatency(0.040)

	body := scrape(t, Handler(Registry(nil)))
	for _, want := range []string{
		`reserver_attempts_total{class="sold_out",step="submit"}`,
		`reserver_attempts_total{class="not_open",step="submit"}`,
		`reserver_clock_offset_seconds{site="instruments-site"} 1.25`,
		`reserver_fire_lateness_seconds_bucket{le="0.002"}`,
		`reserver_submit_latency_seconds_count`,
		`reserver_lease_takeovers_total`,
		`go_goroutines`,
		`process_start_time_seconds`,
	} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "reserver_bookings", "no database: no database collectors")
}

func TestBreakerState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state string
		want  map[string]float64
	}{
		{"closed", map[string]float64{"closed": 1, "half-open": 0, "open": 0}},
		{"open", map[string]float64{"closed": 0, "half-open": 0, "open": 1}},
		{"half-open", map[string]float64{"closed": 0, "half-open": 1, "open": 0}},
	}
	for _, tt := range tests {
		BreakerState("proxy-1", "breaker.test", tt.state)
		for st, v := range tt.want {
			require.InDelta(t, v, testutil.ToFloat64(breakerState.WithLabelValues("proxy-1", "breaker.test", st)), 0, "%s: %s", tt.state, st)
		}
	}
	BreakerState("proxy-2", "breaker.test", "weird")
	require.InDelta(t, 1, testutil.ToFloat64(breakerState.WithLabelValues("proxy-2", "breaker.test", "weird")), 0, "an unknown state is still shown")
	require.InDelta(t, 0, testutil.ToFloat64(breakerState.WithLabelValues("proxy-2", "breaker.test", "closed")), 0)
}

// The edge gauges keep each side's latest value: an opening that saw only
// one side leaves the other as the last opening that saw it.
func TestSiteEdge(t *testing.T) {
	t.Parallel()
	ms := func(f float64) *time.Duration {
		d := time.Duration(f * float64(time.Millisecond))
		return &d
	}
	closed := func(site string) float64 { return testutil.ToFloat64(siteEdgeClosed.WithLabelValues(site)) }
	open := func(site string) float64 { return testutil.ToFloat64(siteEdgeOpen.WithLabelValues(site)) }

	SiteEdge("edge-site", ms(-0.8), ms(1.2))
	require.InDelta(t, -0.0008, closed("edge-site"), 1e-12)
	require.InDelta(t, 0.0012, open("edge-site"), 1e-12)
	SiteEdge("edge-site", nil, ms(0.5))
	require.InDelta(t, -0.0008, closed("edge-site"), 1e-12, "nil leaves the closed side untouched")
	require.InDelta(t, 0.0005, open("edge-site"), 1e-12)
	SiteEdge("edge-site", ms(-0.2), nil)
	require.InDelta(t, -0.0002, closed("edge-site"), 1e-12)
	require.InDelta(t, 0.0005, open("edge-site"), 1e-12, "nil leaves the open side untouched")

	SiteEdge("edge-open-only", nil, ms(3))
	SiteEdge("edge-nothing", nil, nil)
	body := scrape(t, Handler(Registry(nil)))
	require.Contains(t, body, `reserver_site_edge_closed_seconds{site="edge-site"} -0.0002`)
	require.Contains(t, body, `reserver_site_edge_open_seconds{site="edge-site"} 0.0005`)
	require.Contains(t, body, `reserver_site_edge_open_seconds{site="edge-open-only"} 0.003`)
	require.NotContains(t, body, `reserver_site_edge_closed_seconds{site="edge-open-only"}`, "no series for a side never seen")
	require.NotContains(t, body, `site="edge-nothing"`)
}

func TestDatabaseCollectors(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		box, err := secret.NewBox(bytes.Repeat([]byte{3}, secret.KeySize))
		require.NoError(t, err)
		store := booking.NewStore(db, box)
		tok, err := tenant.NewStore(db).CreateToken(ctx, "m", tenant.RoleUser)
		require.NoError(t, err)
		p, err := tenant.NewStore(db).Authenticate(ctx, tok)
		require.NoError(t, err)
		var ids []int64
		for _, court := range []string{"1", "2", "3"} {
			b, _, err := store.Create(ctx, booking.NewBooking{
				TenantID: p.TenantID, Site: "courtsim", Username: "u", Password: "pw", Court: court,
				PlayDate: "2026-12-01", StartTime: "10:00", EndTime: "11:00",
				OpensAt: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), WindowSeconds: 300, RatePerSecond: 2,
			})
			require.NoError(t, err)
			ids = append(ids, b.ID)
		}
		_, err = store.Cancel(ctx, booking.Scope{All: true}, ids[0], booking.ReasonUser)
		require.NoError(t, err)
		now := time.Now()
		require.NoError(t, store.AddOutbox(ctx, []booking.Outbox{
			{BookingID: ids[1], Kind: "a", Phone: "+8210", Payload: "{}"},
			{BookingID: ids[1], Kind: "b", Phone: "+8210", Payload: "{}", State: "sending"},
			{BookingID: ids[2], Kind: "a", Phone: "+8210", Payload: "{}", State: "sent"},
		}, now))

		body := scrape(t, Handler(Registry(store)))
		for _, want := range []string{
			`reserver_bookings{state="queued"} 2`,
			`reserver_bookings{state="cancelled"} 1`,
			`reserver_bookings{state="failed"} 0`,
			`reserver_outbox{state="pending"} 1`,
			`reserver_outbox{state="sent"} 1`,
			`reserver_outbox{state="failed"} 0`,
			`reserver_outbox_backlog 2`,
			`reserver_db_scrape_error 0`,
		} {
			require.Contains(t, body, want)
		}
	})
}

type brokenCounter struct{}

func (brokenCounter) CountByState(context.Context) (map[booking.State]int64, error) {
	return nil, errors.New("database gone")
}
func (brokenCounter) CountOutbox(context.Context) (map[string]int64, error) {
	return nil, errors.New("database gone")
}

func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	Handler(Registry(brokenCounter{})).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code, "the other metrics are still served")
	require.Contains(t, rec.Body.String(), "reserver_db_scrape_error 1")
	require.Contains(t, rec.Body.String(), "go_goroutines")
}

func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- ServeRegistry(ctx, "127.0.0.1:0", Registry(nil), func(a net.Addr) { addrc <- a }) }()
	addr := <-addrc
	Attempt("success", "serve-test")
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, 200, resp.StatusCode)
	require.True(t, strings.Contains(string(body), `reserver_attempts_total{class="success",step="serve-test"} 1`), "the served registry shows the process-wide instruments")
	cancel()
	require.NoError(t, <-done, "a clean shutdown is not an error")

	err = ServeRegistry(context.Background(), "256.0.0.1:1", Registry(nil), nil)
	require.ErrorContains(t, err, "metrics: listen on 256.0.0.1:1")
}
