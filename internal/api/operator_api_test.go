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

// The API's side of issue 17: what an operator (or a client) reads and
// types on a busy morning.

// An unknown filter value is refused, naming the allowed values, not read
// as "nothing matches".
func TestFilterValuesAreChecked(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	seedRun(t, b.db, b.alice, "courtsim", "1", booking.Failed, booking.ReasonRejected, "unknown")

	tests := []struct {
		path, field string
		names       []string
	}{
		{"/v1/failures?reason=nope", "reason", []string{`"nope"`, "window_closed", "sold_out", "site_rejected", "profile_error"}},
		{"/v1/failures?review=nope", "review", []string{"late_success", "reservation_after_cancelled"}},
		{"/v1/bookings?state=nope", "state", []string{"queued", "armed", "running", "succeeded", "failed", "cancelled"}},
	}
	for _, tt := range tests {
		r := b.do(t, "GET", tt.path, b.op, "")
		require.Equal(t, 400, r.status, "%s: %s", tt.path, r.raw)
		require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		errs := r.body["errors"].([]any)
		require.Len(t, errs, 1, r.raw)
		e := errs[0].(map[string]any)
		require.Equal(t, tt.field, e["field"])
		for _, n := range tt.names {
			require.Contains(t, e["detail"], n, tt.path)
		}
	}
	r := b.do(t, "GET", "/v1/failures?reason=site_rejected", b.op, "")
	require.Equal(t, 200, r.status, r.raw)
	require.Len(t, r.body["items"], 1, "the new reason is a filter value")
}

// The list shows each booking's account as the single GET does, and an
// operator sees the tenant by name beside its id.
func TestListShowsAccountAndTenantName(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		created := b.do(t, "POST", "/v1/bookings", b.alice, validBody)
		require.Equal(t, 201, created.status, created.raw)
		require.NotContains(t, created.body, "tenant", "a tenant's own view has no tenant")
		id := int64(created.body["id"].(float64))

		r := b.do(t, "GET", "/v1/bookings", b.alice, "")
		require.Equal(t, 200, r.status, r.raw)
		items := r.body["items"].([]any)
		require.Len(t, items, 1)
		require.Equal(t, map[string]any{"username": "user001"}, items[0].(map[string]any)["account"])

		r = b.do(t, "GET", "/v1/bookings", b.op, "")
		require.Equal(t, 200, r.status, r.raw)
		item := r.body["items"].([]any)[0].(map[string]any)
		require.Equal(t, "user001", item["account"].(map[string]any)["username"])
		require.Equal(t, "alice", item["tenant"])
		require.NotZero(t, item["tenant_id"])

		one := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d", id), b.op, "")
		require.Equal(t, 200, one.status, one.raw)
		require.Equal(t, "alice", one.body["tenant"])

		seedRun(t, db, b.bob, "courtsim", "7", booking.Failed, booking.ReasonSoldOut, "sold_out")
		f := b.do(t, "GET", "/v1/failures", b.op, "")
		require.Equal(t, 200, f.status, f.raw)
		require.Equal(t, "bob", f.body["items"].([]any)[0].(map[string]any)["tenant"])
	})
}

// One unknown field does not hide the other problems: all are reported at
// once, and nothing is stored.
func TestUnknownFieldDoesNotHideOthers(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	body := strings.Replace(validBody, `"court": 3,`, `"colour": "red",`, 1)
	body = strings.Replace(body, `"password": "S3cr3t-Pa55!"`, `"password": "S3cr3t-Pa55!", "pin": 1`, 1)
	body = strings.Replace(body, `"phone": "010-1234-5678"`, `"phone": "12"`, 1)
	r := b.do(t, "POST", "/v1/bookings", b.alice, body)
	require.Equal(t, 400, r.status, r.raw)
	var fields []string
	for _, e := range r.body["errors"].([]any) {
		fields = append(fields, e.(map[string]any)["field"].(string))
	}
	require.ElementsMatch(t, []string{"colour", "account.pin", "court", "phone"}, fields, r.raw)
	require.Equal(t, "the request has problems (4); each is listed in errors", r.body["detail"])
	require.NotContains(t, r.raw, "S3cr3t")
	require.Equal(t, [2]int64{0, 0}, b.counts(t))
}

// A method a route does not have is 405 with Allow, as problem+json.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	created := b.do(t, "POST", "/v1/bookings", b.alice, validBody)
	require.Equal(t, 201, created.status, created.raw)
	id := int64(created.body["id"].(float64))
	tests := []struct{ method, path, allow string }{
		{"PUT", fmt.Sprintf("/v1/bookings/%d", id), "DELETE, GET, HEAD, PATCH"},
		{"POST", fmt.Sprintf("/v1/bookings/%d", id), "DELETE, GET, HEAD, PATCH"},
		{"PUT", "/v1/bookings", "GET, HEAD, POST"},
		{"POST", fmt.Sprintf("/v1/bookings/%d/attempts", id), "GET, HEAD"},
	}
	for _, tt := range tests {
		r := b.do(t, tt.method, tt.path, b.alice, `{}`)
		require.Equal(t, 405, r.status, "%s %s: %s", tt.method, tt.path, r.raw)
		require.Equal(t, tt.allow, r.header.Get("Allow"))
		require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		require.Equal(t, typeMethod, r.body["type"])
	}
	r := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d", id), b.alice, "")
	require.Equal(t, 200, r.status, "the booking is untouched")
	require.Equal(t, 404, b.do(t, "PUT", "/v1/nothing", b.alice, "").status)
}

// slotSite declares courts 1-8 and whole-hour slots from 06:00 to 22:00,
// as a profile with courts and a slot grid does (helper C's adapter).
type slotSite struct{ testSite }

func (slotSite) CheckSlot(court, _, start, end string) ([]FieldProblem, []string) {
	var probs []FieldProblem
	var warns []string
	if len(court) != 1 || court < "1" || court > "8" {
		probs = append(probs, FieldProblem{Field: "court", Detail: fmt.Sprintf("the site has no court %q: it has 1-8", court)})
	}
	if !strings.HasSuffix(start, ":00") {
		warns = append(warns, fmt.Sprintf("slot %s-%s is off the site's whole-hour grid", start, end))
	}
	return probs, warns
}

type slotSites map[string]Site

func (s slotSites) Site(name string) (Site, bool) {
	v, ok := s[name]
	return v, ok
}

// A site that declares its courts and slots refuses a court it lacks (422,
// /problems/slot) and warns about a slot it doubts; with other problems the
// slot's join them in one 400.
func TestSlotChecker(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t), func(o *Options) { o.Sites = slotSites{"courtsim": slotSite{}} })

	r := b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(validBody, `"court": 3`, `"court": 99`, 1))
	require.Equal(t, 422, r.status, r.raw)
	require.Equal(t, typeSlot, r.body["type"])
	require.Equal(t, `court: the site has no court "99": it has 1-8`, r.body["detail"])
	require.Equal(t, [2]int64{0, 0}, b.counts(t), "nothing stored")

	bad := strings.Replace(strings.Replace(validBody, `"court": 3`, `"court": 99`, 1), `"010-1234-5678"`, `"12"`, 1)
	r = b.do(t, "POST", "/v1/bookings", b.alice, bad)
	require.Equal(t, 400, r.status, r.raw)
	require.Len(t, r.body["errors"], 2, "the phone and the court at once: %s", r.raw)

	r = b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(validBody, `"start": "10:00"`, `"start": "10:30"`, 1))
	require.Equal(t, 201, r.status, r.raw)
	require.Equal(t, []any{"slot 10:30-11:00 is off the site's whole-hour grid"}, r.body["warnings"])

	// A site without the interface is not asked.
	plain := setup(t, dbtest.SQLite(t))
	r = plain.do(t, "POST", "/v1/bookings", plain.alice, strings.Replace(validBody, `"court": 3`, `"court": 99`, 1))
	require.Equal(t, 201, r.status, r.raw)
}

// Instants a person reads are in the site's zone with its offset: the
// booking's opens_at_local, the attempts' sent_at_local and T offset, and
// the validation details. JSON keeps RFC 3339 UTC.
func TestTimesInTheSiteZone(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	r := b.do(t, "POST", "/v1/bookings", b.alice, validBody)
	require.Equal(t, 201, r.status, r.raw)
	require.Equal(t, "2026-11-25T01:00:00Z", r.body["opens_at"])
	require.Equal(t, "2026-11-25 10:00:00 +09:00 KST", r.body["opens_at_local"])

	past := strings.Replace(validBody, `"2026-11-25T10:00:00+09:00"`, `"2026-11-01T00:30:00Z"`, 1)
	r = b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(past, `"court": 3`, `"court": 4`, 1))
	require.Equal(t, 400, r.status, r.raw)
	require.Equal(t, "opens_at: 2026-11-01 09:30:00 +09:00 KST is in the past (now is 2026-11-24 21:00:00 +09:00 KST): the opening instant must be in the future", r.body["detail"])

	late := strings.Replace(validBody, `"2026-11-25T10:00:00+09:00"`, `"2026-12-01T10:30:00+09:00"`, 1)
	r = b.do(t, "POST", "/v1/bookings", b.alice, strings.Replace(late, `"court": 3`, `"court": 5`, 1))
	require.Equal(t, 400, r.status, r.raw)
	require.Equal(t, "opens_at: 2026-12-01 10:30:00 +09:00 KST is not before the play time 2026-12-01 10:00:00 +09:00 KST: a booking must open before the court is played", r.body["detail"])

	s := seedRun(t, b.db, b.alice, "courtsim", "6", booking.Failed, booking.ReasonSoldOut, "not_open", "sold_out")
	a := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d/attempts", s.id), b.alice, "")
	require.Equal(t, 200, a.status, a.raw)
	items := a.body["items"].([]any)
	first := items[0].(map[string]any)
	require.Equal(t, "2026-11-25 09:59:00.000 +09:00 KST", first["sent_at_local"])
	require.Equal(t, "T−60.00 s", first["offset"])
	sub := items[2].(map[string]any)
	require.Equal(t, "T+3.0 ms", sub["offset"], "site clock unknown: the local offset")
}

// Why a request waited is in the attempt JSON: waited_for and waited_ms.
func TestAttemptsSayWhyTheyWaited(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		s := seedRun(t, db, b.alice, "courtsim", "1", booking.Failed, booking.ReasonSoldOut, "sold_out")
		ctx := context.Background()
		got, err := b.store.Get(ctx, booking.Scope{All: true}, s.id)
		require.NoError(t, err)
		require.NoError(t, b.store.AddAttempts(ctx, []booking.Attempt{{
			BookingID: got.ID, Instance: "inst-a", Boot: "b2", Seq: 1, Step: "submit", SentAt: s.opensAt.Add(44 * time.Millisecond),
			Status: 200, Class: "sold_out", LatencyUS: 30000, Egress: "direct",
			WaitedFor: booking.WaitHostCeiling, WaitedUS: 20500,
		}}))
		r := b.do(t, "GET", fmt.Sprintf("/v1/bookings/%d/attempts", s.id), b.alice, "")
		require.Equal(t, 200, r.status, r.raw)
		items := r.body["items"].([]any)
		last := items[len(items)-1].(map[string]any)
		require.Equal(t, "host_ceiling", last["waited_for"], r.raw)
		require.Equal(t, 20.5, last["waited_ms"])
		first := items[0].(map[string]any)
		require.NotContains(t, first, "waited_for", "did not wait")
		require.Equal(t, 0.0, first["waited_ms"])

		f := b.do(t, "GET", "/v1/failures?attempts=1", b.op, "")
		require.Equal(t, 200, f.status, f.raw)
		la := f.body["items"].([]any)[0].(map[string]any)["last_attempts"].([]any)[0].(map[string]any)
		require.Equal(t, "host_ceiling", la["waited_for"])
	})
}
