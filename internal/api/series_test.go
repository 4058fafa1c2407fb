package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
	"reserver/internal/secret"
	"reserver/internal/series"
	"reserver/internal/tenant"
)

// seriesSites hands the test sites to the materialiser.
type seriesSites struct{ Sites }

func (s seriesSites) Site(name string) (series.Site, bool) { return s.Sites.Site(name) }

type seriesBundle struct {
	*bundle
	series *series.Store
	mat    *series.Materialiser
}

func setupSeries(t *testing.T, db *database.DB) seriesBundle {
	t.Helper()
	return setupSeriesOf(t, db, sites)
}

// setupSeriesOf is setupSeries with the API and the materialiser on
// sites.
func setupSeriesOf(t *testing.T, db *database.DB, sites Sites) seriesBundle {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(bytes.Repeat([]byte{9}, secret.KeySize))
	require.NoError(t, err)
	ts := tenant.NewStore(db)
	b := &bundle{db: db, logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	b.alice, err = ts.CreateToken(ctx, "alice", tenant.RoleUser)
	require.NoError(t, err)
	b.bob, err = ts.CreateToken(ctx, "bob", tenant.RoleUser)
	require.NoError(t, err)
	b.op, err = ts.CreateToken(ctx, "ops", tenant.RoleOperator)
	require.NoError(t, err)
	b.store = booking.NewStore(db, box)
	st := series.NewStore(db, box)
	srv, err := New(Options{Series: st,
		DB: db, Bookings: b.store, Tenants: ts, Sites: sites,
		Limits:       Limits{DefaultRate: 2, MaxRate: 2, DefaultWindow: 300, MinWindow: 10, MaxWindow: 3600},
		MaxBodyBytes: 4096, Logger: zap.NewNop(), Now: func() time.Time { return fixedNow },
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	b.url = hs.URL
	m, err := series.New(series.Config{Series: st, Bookings: b.store, Sites: seriesSites{sites}})
	require.NoError(t, err)
	return seriesBundle{bundle: b, series: st, mat: m}
}

// saturdaysBody is a series on the ruled site (it opens seven days ahead
// at 09:00 Seoul): the Saturdays of December 2026 but the 19th.
const saturdaysBody = `{
  "site": "ruled",
  "account": {"username": "user001", "password": "S3cr3t-Pa55!"},
  "court": 3,
  "rule": {"weekdays": ["sat"]},
  "start": "10:00", "end": "12:00",
  "from": "2026-12-01", "until": "2026-12-31",
  "skip": ["2026-12-19"],
  "phone": "010-1234-5678",
  "fields": {"people": 4}
}`

func TestSeriesThroughTheAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setupSeries(t, db)
		r := b.do(t, "POST", "/v1/series", b.alice, saturdaysBody, "Idempotency-Key", "sat-dec")
		require.Equal(t, 201, r.status, r.raw)
		require.NotContains(t, r.raw, "S3cr3t")
		id := int64(r.body["id"].(float64))
		require.Equal(t, fmt.Sprintf("/v1/series/%d", id), r.header.Get("Location"))
		require.Equal(t, "active", r.body["state"])
		require.Equal(t, map[string]any{"weekdays": []any{"sat"}}, r.body["rule"])
		var up []string
		for _, o := range r.body["upcoming"].([]any) {
			up = append(up, o.(map[string]any)["date"].(string))
		}
		require.Equal(t, []string{"2026-12-05", "2026-12-12", "2026-12-26"}, up, "the 19th is skipped")
		require.Equal(t, "2026-11-28 09:00:00 +09:00 KST", r.body["upcoming"].([]any)[0].(map[string]any)["opens_at_local"])

		replay := b.do(t, "POST", "/v1/series", b.alice, saturdaysBody, "Idempotency-Key", "sat-dec")
		require.Equal(t, 201, replay.status)
		require.Equal(t, "true", replay.header.Get("Idempotent-Replayed"))
		require.Equal(t, float64(id), replay.body["id"])

		// Two weeks ahead of 11-24 21:00 KST: the openings of the 5th and
		// the 12th; the 26th opens on the 19th.
		res, err := b.mat.RunOnce(context.Background(), fixedNow)
		require.NoError(t, err)
		require.Equal(t, 2, res.Created)

		list := b.do(t, "GET", "/v1/bookings", b.alice, "")
		require.Equal(t, 200, list.status)
		var got []string
		for _, it := range list.body["items"].([]any) {
			m := it.(map[string]any)
			got = append(got, m["date"].(string)+" "+m["state"].(string))
		}
		require.ElementsMatch(t, []string{"2026-12-05 queued", "2026-12-12 queued"}, got)

		one := b.do(t, "GET", fmt.Sprintf("/v1/series/%d", id), b.alice, "")
		require.Equal(t, 200, one.status)
		occ := one.body["occurrences"].([]any)
		require.Len(t, occ, 2)
		require.Equal(t, "queued", occ[0].(map[string]any)["state"])
		require.NotNil(t, occ[0].(map[string]any)["booking_id"])
		require.Equal(t, "2026-12-26", one.body["upcoming"].([]any)[0].(map[string]any)["date"])

		require.Equal(t, 404, b.do(t, "GET", fmt.Sprintf("/v1/series/%d", id), b.bob, "").status, "another tenant's series is 404")
		require.Equal(t, 404, b.do(t, "POST", fmt.Sprintf("/v1/series/%d/pause", id), b.bob, "").status)
		require.Len(t, b.do(t, "GET", "/v1/series", b.bob, "").body["items"], 0)
		require.Len(t, b.do(t, "GET", "/v1/series", b.op, "").body["items"], 1)

		p := b.do(t, "POST", fmt.Sprintf("/v1/series/%d/pause", id), b.alice, "")
		require.Equal(t, 200, p.status, p.raw)
		require.Equal(t, "paused", p.body["state"])
		require.Len(t, b.do(t, "GET", "/v1/series?state=paused", b.alice, "").body["items"], 1)
		res, err = b.mat.RunOnce(context.Background(), fixedNow.AddDate(0, 0, 14))
		require.NoError(t, err)
		require.Zero(t, res.Created, "paused")
		require.Equal(t, "active", b.do(t, "POST", fmt.Sprintf("/v1/series/%d/resume", id), b.alice, "").body["state"])
		end := b.do(t, "DELETE", fmt.Sprintf("/v1/series/%d", id), b.alice, "")
		require.Equal(t, 200, end.status)
		require.Equal(t, "ended", end.body["state"])
		again := b.do(t, "POST", fmt.Sprintf("/v1/series/%d/resume", id), b.alice, "")
		require.Equal(t, 409, again.status)
		require.Contains(t, again.body["detail"], "has ended and cannot be paused or resumed: create a new series")
		res, err = b.mat.RunOnce(context.Background(), fixedNow.AddDate(0, 0, 14))
		require.NoError(t, err)
		require.Zero(t, res.Created, "ended")
	})
}

// Each bad series is refused with a problem naming the field and what to
// give instead, and nothing is stored.
func TestSeriesValidation(t *testing.T) {
	t.Parallel()
	b := setupSeries(t, dbtest.SQLite(t))
	for _, tc := range []struct {
		name, from, to string
		status         int
		field, detail  string
	}{
		{"bad cron", `"rule": {"weekdays": ["sat"]}`, `"rule": {"cron": "0 25 * * sat", "slot_minutes": 60}`, 400,
			"rule.cron", `"0 25 * * sat" is not a cron expression (minute hour day-of-month month day-of-week, such as "0 7 * * sat")`},
		{"until before from", `"until": "2026-12-31"`, `"until": "2026-11-30"`, 400,
			"until", "2026-11-30 is before from (2026-12-01): the season's last date must be on or after its first"},
		{"unknown weekday", `["sat"]`, `["sat", "sunday", "someday"]`, 400,
			"rule.weekdays", `unknown weekday "someday": expected one of sun, mon, tue, wed, thu, fri, sat`},
		{"no opening rule", `"site": "ruled"`, `"site": "courtsim"`, 422,
			"site", `site "courtsim" has no opening rule in its profile, so nothing tells when each occurrence's booking opens: a series needs a site with one`},
		{"no rule", `"rule": {"weekdays": ["sat"]},`, ``, 400,
			"rule", `required: {"weekdays": ["sat"]} with start and end`},
		{"season passed", `"from": "2026-12-01", "until": "2026-12-31"`, `"from": "2026-11-01", "until": "2026-11-30"`, 400,
			"until", "no occurrence of this series from 2026-11-01 to 2026-11-30 opens after now"},
		{"bad skip", `["2026-12-19"]`, `["2026-12-32"]`, 400,
			"skip[0]", `"2026-12-32" is not a date that exists`},
		{"cron with start", `"rule": {"weekdays": ["sat"]}`, `"rule": {"cron": "0 7 * * sat", "slot_minutes": 60}`, 400,
			"start", "leave start and end out with a cron rule"},
		{"booking field", `"fields": {"people": 4}`, `"fields": {}`, 400,
			"fields.people", "required: an integer"},
		{"empty choices", `"court": 3,`, `"choices": [],`, 400,
			"choices", "expected at least one choice"},
		{"bad notify", `"court": 3,`, `"court": 3, "notify": {"on": "sometimes"},`, 400,
			"notify.on", `"sometimes" is not a notify policy: expected one of`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(saturdaysBody, tc.from, tc.to, 1)
			require.NotEqual(t, saturdaysBody, body)
			r := b.do(t, "POST", "/v1/series", b.alice, body)
			require.Equal(t, tc.status, r.status, r.raw)
			found := false
			for _, e := range r.body["errors"].([]any) {
				e := e.(map[string]any)
				if e["field"] == tc.field {
					require.Contains(t, e["detail"], tc.detail)
					found = true
				}
			}
			require.True(t, found, "no problem for %s in %s", tc.field, r.raw)
		})
	}
	if r := b.do(t, "POST", "/v1/series", b.alice, strings.Replace(saturdaysBody, `"site": "ruled"`, `"site": "courtsim"`, 1)); true {
		require.Equal(t, "/problems/no-opening-rule", r.body["type"])
	}
	var n int64
	require.NoError(t, b.db.Table("series").Count(&n).Error)
	require.Zero(t, n)
}

// A cron series: each match in the site's zone is a slot start.
func TestCronSeriesThroughTheAPI(t *testing.T) {
	t.Parallel()
	b := setupSeries(t, dbtest.SQLite(t))
	body := strings.Replace(strings.Replace(saturdaysBody, `"rule": {"weekdays": ["sat"]}`, `"rule": {"cron": "30 7 * * sun", "slot_minutes": 90}`, 1),
		`"start": "10:00", "end": "12:00",`, "", 1)
	r := b.do(t, "POST", "/v1/series", b.alice, body)
	require.Equal(t, 201, r.status, r.raw)
	first := r.body["upcoming"].([]any)[0].(map[string]any)
	require.Equal(t, "2026-12-06", first["date"])
	require.Equal(t, "07:30", first["start"])
	require.Equal(t, "09:00", first["end"])
	res, err := b.mat.RunOnce(context.Background(), fixedNow)
	require.NoError(t, err)
	require.Equal(t, 2, res.Created, "the 6th and the 13th open within two weeks")
	list := b.do(t, "GET", "/v1/bookings", b.alice, "")
	for _, it := range list.body["items"].([]any) {
		require.Equal(t, "07:30", it.(map[string]any)["start"])
	}
}

// seriesSite is a site backed by a real profile, as the binary's are:
// courts that expand shorthands, a slot grid, an opening rule and
// account limits.
type seriesSite struct{ p *profile.Profile }

func (s seriesSite) Location() *time.Location { return s.p.Location }
func (s seriesSite) CheckFields(f map[string]string) []FieldProblem {
	var out []FieldProblem
	for _, e := range s.p.ValidateFields(f) {
		out = append(out, FieldProblem{Field: e.Field, Detail: e.Problem})
	}
	return out
}
func (s seriesSite) OpensAt(d time.Time, start, end string) (time.Time, bool) {
	return s.p.OpensAt(d, start, end)
}
func (s seriesSite) CheckSlot(court, _, start, end string) ([]FieldProblem, []string) {
	var out []FieldProblem
	for _, e := range s.p.CheckSlot(court, start, end) {
		out = append(out, FieldProblem{Field: e.Field, Detail: e.Problem})
	}
	return out, nil
}
func (s seriesSite) ExpandCourts(spec string) ([]string, error) { return s.p.Courts.Expand(spec) }
func (s seriesSite) AccountLimits() profile.AccountLimits       { return s.p.AccountLimits }

// profileSites are courtsim's profile (courts 1-10, one-hour slots from
// 06:00 to 18:00, a date opens seven days before at 09:00) as "courtsim",
// and as "rolling", whose slots open seven days before their start.
func profileSites(t *testing.T) siteMap {
	t.Helper()
	p, err := profile.Load("../../configs/sites/courtsim.yaml")
	require.NoError(t, err)
	rolling := *p
	rolling.Name = "rolling"
	rolling.Opening = &profile.Opening{Rolling: true, Before: 7 * 24 * time.Hour, Of: profile.OfStart, Granularity: time.Minute}
	return siteMap{"courtsim": seriesSite{p}, "rolling": seriesSite{&rolling}}
}

// choicesBody is a series of the Saturdays of December 2026 but the 19th
// on courtsim, 10:00-11:00, with the members extra added.
func choicesBody(extra string) string {
	return `{"site": "courtsim", "account": {"username": "user001", "password": "S3cr3t-Pa55!"},
  "rule": {"weekdays": ["sat"]}, "start": "10:00", "end": "11:00",
  "from": "2026-12-01", "until": "2026-12-31", "skip": ["2026-12-19"], ` + extra + `}`
}

// A series with choices and notify settings shows them, and every
// occurrence's booking carries both, the choices on its date: a weekday
// rule's choice without times takes the series' start and end, a courts
// shorthand is expanded by the site's profile.
func TestSeriesChoicesAndNotifyThroughTheAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setupSeriesOf(t, db, profileSites(t))
		r := b.do(t, "POST", "/v1/series", b.alice, choicesBody(`"choices": [{"court": 3}, {"court": "4"}, {"courts": "1-2", "start": "12:00", "end": "13:00"}],
  "notify": {"on": "always", "language": "en"}`))
		require.Equal(t, 201, r.status, r.raw)
		require.Equal(t, []any{
			map[string]any{"court": "3", "start": "10:00", "end": "11:00"}, map[string]any{"court": "4", "start": "10:00", "end": "11:00"},
			map[string]any{"court": "1", "start": "12:00", "end": "13:00"}, map[string]any{"court": "2", "start": "12:00", "end": "13:00"},
		}, r.body["choices"])
		require.Equal(t, map[string]any{"on": "always", "language": "en"}, r.body["notify"])
		require.Equal(t, "3", r.body["court"], "the first choice's court")
		id := int64(r.body["id"].(float64))
		one := b.do(t, "GET", fmt.Sprintf("/v1/series/%d", id), b.alice, "")
		require.Equal(t, r.body["choices"], one.body["choices"])
		require.Equal(t, r.body["notify"], one.body["notify"])

		res, err := b.mat.RunOnce(context.Background(), fixedNow)
		require.NoError(t, err)
		require.Equal(t, series.Result{Created: 2, Recorded: 2}, res)
		occ, err := b.series.Occurrences(context.Background(), id)
		require.NoError(t, err)
		require.Len(t, occ[id], 2)
		for _, o := range occ[id] {
			bk, err := b.store.Get(context.Background(), booking.Scope{All: true}, *o.BookingID)
			require.NoError(t, err)
			d := o.PlayDate
			require.Equal(t, []booking.Choice{{Court: "3", Date: d, Start: "10:00", End: "11:00"}, {Court: "4", Date: d, Start: "10:00", End: "11:00"},
				{Court: "1", Date: d, Start: "12:00", End: "13:00"}, {Court: "2", Date: d, Start: "12:00", End: "13:00"}}, bk.Choices())
			require.Equal(t, "always", bk.NotifyOn)
			require.Equal(t, "en", bk.NotifyLanguage)
		}
	})
}

// A cron series' choice without times takes each occurrence's slot (the
// match, slot_minutes long); one with times keeps them.
func TestCronSeriesChoices(t *testing.T) {
	t.Parallel()
	b := setupSeriesOf(t, dbtest.SQLite(t), profileSites(t))
	body := strings.Replace(strings.Replace(choicesBody(`"choices": [{"court": 5}, {"court": 6, "start": "12:00", "end": "13:00"}]`),
		`"rule": {"weekdays": ["sat"]}, "start": "10:00", "end": "11:00",`, `"rule": {"cron": "0 7 * * sun", "slot_minutes": 60},`, 1), `"2026-12-19"`, `"2026-12-20"`, 1)
	r := b.do(t, "POST", "/v1/series", b.alice, body)
	require.Equal(t, 201, r.status, r.raw)
	require.Equal(t, []any{map[string]any{"court": "5"}, map[string]any{"court": "6", "start": "12:00", "end": "13:00"}}, r.body["choices"])
	res, err := b.mat.RunOnce(context.Background(), fixedNow)
	require.NoError(t, err)
	require.Equal(t, 2, res.Created)
	list, err := b.store.List(context.Background(), booking.ListFilter{Scope: booking.Scope{All: true}})
	require.NoError(t, err)
	require.Len(t, list, 2)
	for _, bk := range list {
		d := bk.PlayDate
		require.Equal(t, []booking.Choice{{Court: "5", Date: d, Start: "07:00", End: "08:00"}, {Court: "6", Date: d, Start: "12:00", End: "13:00"}}, bk.Choices())
	}
}

// Each bad choice of a series is refused naming it and what to give
// instead, and nothing is stored.
func TestSeriesChoicesValidation(t *testing.T) {
	t.Parallel()
	b := setupSeriesOf(t, dbtest.SQLite(t), profileSites(t))
	cron := func(body string) string {
		return strings.Replace(body, `"rule": {"weekdays": ["sat"]}, "start": "10:00", "end": "11:00",`, `"rule": {"cron": "0 7 * * sun", "slot_minutes": 60},`, 1)
	}
	for _, tc := range []struct {
		name, body    string
		status        int
		field, detail string
	}{
		{"a date", choicesBody(`"choices": [{"court": 3}, {"court": 4, "date": "2026-12-05"}]`), 400,
			"choices[1].date", "a series' choice has no date: each occurrence's date is used; leave it out"},
		{"top-level court", choicesBody(`"court": 3, "choices": [{"court": 4}]`), 400,
			"court", "give the court in each choice: with choices, a top-level court is not used"},
		{"unknown court", choicesBody(`"choices": [{"court": 3}, {"court": 11}]`), 400,
			"choices[1].court", "11"},
		{"bad shorthand", choicesBody(`"choices": [{"courts": "9-12"}]`), 400,
			"choices[0].courts", "its courts: 1-10"},
		{"twice", choicesBody(`"choices": [{"court": 3}, {"courts": "2-4"}]`), 400,
			"choices[1]", "is the same slot as choices[0]"},
		{"unknown site", strings.Replace(choicesBody(`"choices": [{"courts": "any"}]`), `"courtsim"`, `"nope"`, 1), 400,
			"site", `unknown site "nope"`},
		{"bad season", strings.Replace(choicesBody(`"choices": [{"court": 3}, {"court": 4, "date": "2026-12-05"}]`), `"until": "2026-12-31"`, `"until": "2026-11-30"`, 1), 400,
			"choices[1].date", "each occurrence's date is used"},
		{"cron, bad season", cron(strings.Replace(choicesBody(`"choices": [{"court": 3}]`), `"until": "2026-12-31"`, `"until": "2026-11-30"`, 1)), 400,
			"until", "is before from"},
		{"cron start only", cron(choicesBody(`"choices": [{"court": 3, "start": "12:00"}]`)), 400,
			"choices[0].start", "with a cron rule give a choice both start and end, or neither"},
		{"another opening", strings.Replace(choicesBody(`"choices": [{"court": 3}, {"court": 4, "start": "14:00", "end": "15:00"}]`), `"courtsim"`, `"rolling"`, 1), 400,
			"choices[1]", "court 4, 2026-12-05 14:00-15:00 opens at 2026-11-28 14:00:00 +09:00 KST, but the occurrence of 2026-12-05 opens at 2026-11-28 10:00:00 +09:00 KST (its first choice, court 3, 2026-12-05 10:00-11:00): a booking opens at one instant; make it a separate series"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.do(t, "POST", "/v1/series", b.alice, tc.body)
			require.Equal(t, tc.status, r.status, r.raw)
			found := false
			for _, e := range r.body["errors"].([]any) {
				e := e.(map[string]any)
				if e["field"] == tc.field {
					require.Contains(t, e["detail"], tc.detail)
					found = true
				}
			}
			require.True(t, found, "no problem for %s in %s", tc.field, r.raw)
		})
	}
	var n int64
	require.NoError(t, b.db.Table("series").Count(&n).Error)
	require.Zero(t, n)
}
