package api

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
	"reserver/internal/schedule"
	"reserver/internal/secret"
	"reserver/internal/sitesim"
	"reserver/internal/tenant"
)

// bookOnSkewedSite runs the real daemon against the simulator, whose clock
// is skew ahead of ours, for one booking of tenant token's tenant on the
// database at dsn, in fake time; it returns the booking, which has
// succeeded, and the simulator's record of its submits.
func bookOnSkewedSite(t *testing.T, dsn, token string, skew time.Duration) (*booking.Booking, []sitesim.Submit) {
	t.Helper()
	var bk *booking.Booking
	var submits []sitesim.Submit
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, err := database.Open(dsn)
		require.NoError(t, err)
		defer db.Close()
		box, err := secret.NewBox(bytes.Repeat([]byte{9}, secret.KeySize)) // setup's key
		require.NoError(t, err)
		store := booking.NewStore(db, box)
		who, err := tenant.NewStore(db).Authenticate(ctx, token)
		require.NoError(t, err)

		site, err := sitesim.New(sitesim.Options{Accounts: 2, Skew: skew})
		require.NoError(t, err)
		p, err := profile.Load("../../configs/sites/courtsim.yaml")
		require.NoError(t, err)
		p, err = p.WithBaseURL("http://courtsim.test")
		require.NoError(t, err)
		opensAt := site.Now().Add(90 * time.Second).Truncate(time.Second)
		site.SetOpenAt(opensAt)
		b, _, err := store.Create(ctx, booking.NewBooking{
			TenantID: who.TenantID, Site: "courtsim", Username: "user001", Password: "pass1234", Court: "3",
			PlayDate: opensAt.In(p.Location).AddDate(0, 0, 7).Format("2006-01-02"), StartTime: "10:00", EndTime: "11:00",
			OpensAt: opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678", BookerName: "홍길동",
			Fields: map[string]string{"people": "2"},
		})
		require.NoError(t, err)

		d, err := schedule.New(schedule.Config{
			Store: store, Profiles: map[string]*profile.Profile{"courtsim": p},
			Transport: &sitesim.InProcess{Handler: site.Handler(), RemoteAddr: "127.0.0.1:40000"},
			Logger:    zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), Instance: "i1", HostCeiling: 1000,
		})
		require.NoError(t, err)
		require.NoError(t, d.Start(t.Context()))
		for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
			if bk, err = store.Get(ctx, booking.Scope{All: true}, b.ID); err == nil && bk.State.Terminal() {
				break
			}
		}
		d.Stop()
		require.Equal(t, booking.Succeeded, bk.State, "reason %s", bk.Reason)
		submits = site.Ledger().Submits
	})
	return bk, submits
}

// TestAttemptsOnTheSiteClock: the simulator's clock runs 2.3 s ahead of
// ours. The daemon submits at the opening on the site's clock, which is
// 2.3 s before it on ours: GET /v1/bookings/{id}/attempts says the submit
// went out just after the opening (offset_ms, where the simulator's own
// record puts it), keeps the local figure apart (local_offset_ms) and says
// how it estimated the site's clock (site_clock). Every page of the list
// uses the estimate over the whole attempt log, not over the page.
func TestAttemptsOnTheSiteClock(t *testing.T) {
	t.Parallel()
	dsn := dbtest.DSN(t, database.SQLite)
	db, err := database.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	b := setup(t, db)
	const skew = 2300 * time.Millisecond
	bk, submits := bookOnSkewedSite(t, dsn, b.alice, skew)
	require.Len(t, submits, 1)

	r := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d/attempts?limit=500", bk.ID), b.alice, "")
	require.Equal(t, 200, r.status, r.raw)
	clock, _ := r.body["site_clock"].(string)
	// The daemon stored its own measurement for the opening: a few ms.
	m := regexp.MustCompile(`^site clock = local \+(\d\.\d{3}) s ±(\d\.\d{3}) s \(measured by the daemon for the opening\)$`).FindStringSubmatch(clock)
	require.NotNil(t, m, "site_clock %q", clock)
	est, within := parseSeconds(t, m[1]), parseSeconds(t, m[2])
	require.InDelta(t, skew.Seconds(), est, within, "the true skew is inside the bound")

	items := r.body["items"].([]any)
	require.GreaterOrEqual(t, len(items), 3, r.raw)
	submit := items[len(items)-1].(map[string]any)
	require.Equal(t, "submit", submit["step"])
	offset, local := submit["offset_ms"].(float64), submit["local_offset_ms"].(float64)
	require.InDelta(t, submits[0].OffsetMS, offset, within*1000+1, "where the site's own record puts the submit")
	require.GreaterOrEqual(t, offset, -within*1000, "not before the opening on the site's clock")
	require.InDelta(t, submits[0].OffsetMS-float64(skew.Milliseconds()), local, 1, "local_offset_ms is on our clock, 2.3 s earlier")
	require.InDelta(t, local+est*1000, offset, 1, "offset_ms is local_offset_ms moved by the estimate")
	login := items[0].(map[string]any)
	require.Equal(t, "login", login["step"])
	require.InDelta(t, login["local_offset_ms"].(float64)+est*1000, login["offset_ms"].(float64), 1)

	// One attempt per page: each page is on the whole log's clock.
	var paged []any
	cursor := ""
	for range len(items) + 1 {
		p := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d/attempts?limit=1&cursor=%s", bk.ID, cursor), b.alice, "")
		require.Equal(t, 200, p.status, p.raw)
		require.Equal(t, clock, p.body["site_clock"], "page after %q", cursor)
		paged = append(paged, p.body["items"].([]any)...)
		next, _ := p.body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, items, paged, "the same offsets page by page")
}

// A booking without Date headers in its attempt log (none answered, or
// all before this version recorded them) is timed on the local clock, and
// the list says so.
func TestAttemptsWithoutDateHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	s := seedRun(t, b.db, b.op, "courtsim", "4", booking.Failed, booking.ReasonSoldOut, "not_open", "sold_out")
	r := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d/attempts", s.id), b.op, "")
	require.Equal(t, 200, r.status, r.raw)
	require.Equal(t, "site clock unknown (no Date headers): times are on the local clock", r.body["site_clock"])
	for _, it := range r.body["items"].([]any) {
		a := it.(map[string]any)
		require.Equal(t, a["local_offset_ms"], a["offset_ms"])
	}
	first := r.body["items"].([]any)[2].(map[string]any)
	require.Equal(t, 3.0, first["offset_ms"], "the first submit, 3 ms after the opening")

	f := b.do(t, "GET", "/v1/failures", b.op, "")
	require.Equal(t, 200, f.status, f.raw)
	item := f.body["items"].([]any)[0].(map[string]any)
	require.Equal(t, "site clock unknown (no Date headers): times are on the local clock", item["site_clock"])
}

func parseSeconds(t *testing.T, s string) float64 {
	t.Helper()
	var v float64
	_, err := fmt.Sscanf(s, "%g", &v)
	require.NoError(t, err)
	return v
}
