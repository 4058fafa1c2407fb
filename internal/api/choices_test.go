package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
)

// profSite is a site backed by a real profile, as app.profileSite is: its
// courts expand shorthands, its slot grid and courts check each choice,
// its opening rule opens each choice, its account_limits cap the account.
type profSite struct{ p *profile.Profile }

func (s profSite) Location() *time.Location { return s.p.Location }
func (s profSite) CheckFields(f map[string]string) []FieldProblem {
	var out []FieldProblem
	for _, e := range s.p.ValidateFields(f) {
		out = append(out, FieldProblem{Field: e.Field, Detail: e.Problem})
	}
	return out
}
func (s profSite) OpensAt(d time.Time, start, end string) (time.Time, bool) {
	return s.p.OpensAt(d, start, end)
}
func (s profSite) CheckSlot(court, _, start, end string) ([]FieldProblem, []string) {
	var out []FieldProblem
	for _, e := range s.p.CheckSlot(court, start, end) {
		out = append(out, FieldProblem{Field: e.Field, Detail: e.Problem})
	}
	return out, nil
}
func (s profSite) ExpandCourts(spec string) ([]string, error) { return s.p.Courts.Expand(spec) }
func (s profSite) AccountLimits() profile.AccountLimits       { return s.p.AccountLimits }

var courtsimProfile = sync.OnceValues(func() (*profile.Profile, error) {
	return profile.Load("../../configs/sites/courtsim.yaml")
})

// choiceSites are courtsim (courts 1-10, one-hour slots 06:00-17:00, a
// date opens 7 days before at 09:00), "monthly" (courtsim whose whole
// next month opens on the last day of the month before: choices on
// several dates open together), "limited" (monthly, 2 reservations a day
// and 3 a week for one account) and "plain" (no courts: no shorthand).
func choiceSites(t testing.TB) siteMap {
	t.Helper()
	p, err := courtsimProfile()
	require.NoError(t, err)
	monthly := *p
	monthly.Name = "monthly"
	monthly.Opening = &profile.Opening{Monthly: true, Day: profile.LastDay, At: 9 * time.Hour}
	limited := monthly
	limited.Name = "limited"
	limited.AccountLimits = profile.AccountLimits{PerDay: 2, PerWeek: 3}
	return siteMap{"courtsim": profSite{p}, "monthly": profSite{&monthly}, "limited": profSite{&limited}, "plain": testSite{opensRule: true}}
}

func setupChoices(t *testing.T, db *database.DB) *bundle {
	t.Helper()
	sites := choiceSites(t)
	return setup(t, db, func(o *Options) { o.Sites = sites })
}

// choiceBody is a booking of site on 2026-12-10 10:00-11:00 with the
// members extra (JSON, without braces) added.
func choiceBody(site, extra string) string {
	return fmt.Sprintf(`{"site": %q, "account": {"username": "user001", "password": "S3cr3t-Pa55!"},
		"date": "2026-12-10", "start": "10:00", "end": "11:00", %s}`, site, extra)
}

func choicesOf(t *testing.T, v any) []booking.Choice {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var cs []booking.Choice
	require.NoError(t, json.Unmarshal(raw, &cs))
	return cs
}

func slot(court, date, start, end string) booking.Choice {
	return booking.Choice{Court: court, Date: date, Start: start, End: end}
}

// A booking with choices stores them expanded, in order, the first as its
// slot: court as a string or a number, "any" as every court of the site,
// "1-4" as those four, date/start/end defaulting to the top level's. The
// booking JSON shows them (GET, list), and won_choice/booked once the site
// booked one.
func TestCreateWithChoices(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setupChoices(t, db)
		r := b.do(t, "POST", "/v1/bookings", b.alice, choiceBody("courtsim",
			`"choices": [{"court": "3"}, {"court": 4}, {"courts": "any", "start": "12:00", "end": "13:00"}], "priority": 1`))
		require.Equal(t, 201, r.status, r.raw)
		cs := choicesOf(t, r.body["choices"])
		require.Len(t, cs, 12)
		require.Equal(t, slot("3", "2026-12-10", "10:00", "11:00"), cs[0])
		require.Equal(t, slot("4", "2026-12-10", "10:00", "11:00"), cs[1])
		for i := 1; i <= 10; i++ {
			require.Equal(t, slot(fmt.Sprint(i), "2026-12-10", "12:00", "13:00"), cs[1+i])
		}
		require.Equal(t, "3", r.body["court"])
		require.Equal(t, "2026-12-10", r.body["date"])
		require.Equal(t, 1.0, r.body["priority"])
		require.Equal(t, "2026-12-03T00:00:00Z", r.body["opens_at"], "the rule's opening: 7 days before at 09:00 KST")
		require.NotContains(t, r.body, "won_choice")
		require.NotContains(t, r.body, "booked")
		id := int64(r.body["id"].(float64))
		path := bookingPath(id)

		got := b.do(t, "GET", path, b.alice, "")
		require.Equal(t, cs, choicesOf(t, got.body["choices"]))
		list := b.do(t, "GET", "/v1/bookings", b.alice, "")
		require.Equal(t, cs, choicesOf(t, list.body["items"].([]any)[0].(map[string]any)["choices"]))

		// "1-4" on another date, at a site that opens the whole month at once.
		r = b.do(t, "POST", "/v1/bookings", b.alice, choiceBody("monthly",
			`"choices": [{"court": 7}, {"courts": "1-4", "date": "2026-12-11"}]`))
		require.Equal(t, 201, r.status, r.raw)
		require.Equal(t, []booking.Choice{
			slot("7", "2026-12-10", "10:00", "11:00"),
			slot("1", "2026-12-11", "10:00", "11:00"), slot("2", "2026-12-11", "10:00", "11:00"),
			slot("3", "2026-12-11", "10:00", "11:00"), slot("4", "2026-12-11", "10:00", "11:00"),
		}, choicesOf(t, r.body["choices"]))
		require.Equal(t, 0.0, r.body["priority"], "priority defaults to 0")

		// A one-slot booking shows its one choice.
		one := b.do(t, "POST", "/v1/bookings", b.alice, choiceBody("courtsim", `"court": 9`))
		require.Equal(t, 201, one.status, one.raw)
		require.Equal(t, []booking.Choice{slot("9", "2026-12-10", "10:00", "11:00")}, choicesOf(t, one.body["choices"]))

		// The site booked choice 2: won_choice and booked say so.
		ctx := context.Background()
		now := time.Now()
		_, err := b.store.Claim(ctx, id, "i1", now, now.Add(time.Hour))
		require.NoError(t, err)
		require.NoError(t, b.store.Transition(ctx, id, booking.Armed, booking.Running, booking.Change{Instance: "i1"}))
		require.NoError(t, b.store.Succeed(ctx, id, booking.Running, "i1", booking.Reserved{No: "R-7", Choice: 2}, nil, now))
		got = b.do(t, "GET", path, b.alice, "")
		require.Equal(t, "succeeded", got.body["state"])
		require.Equal(t, 2.0, got.body["won_choice"])
		require.Equal(t, map[string]any{"court": "4", "date": "2026-12-10", "start": "10:00", "end": "11:00"}, got.body["booked"])
		require.Len(t, got.body["choices"], 12, "the choices stay as they were")
	})
}

// What a list of choices may not be, each refused with the field to fix
// and nothing stored.
func TestChoicesProblems(t *testing.T) {
	t.Parallel()
	b := setupChoices(t, dbtest.SQLite(t))
	tests := []struct {
		name, body string
		status     int
		field      string
		detail     []string
	}{
		{"a top-level court with choices", choiceBody("courtsim", `"court": 3, "choices": [{"court": 4}]`), 400,
			"court", []string{"give the court in each choice"}},
		{"a duplicate after expansion", choiceBody("courtsim", `"choices": [{"court": "2"}, {"courts": "1-4"}]`), 400,
			"choices[1]", []string{`choices[1] (court 2 of courts "1-4") is the same slot as choices[0] (court 2, 2026-12-10 10:00-11:00)`}},
		{"a duplicate written twice", choiceBody("courtsim", `"choices": [{"court": "2"}, {"court": "02"}]`), 400,
			"choices[1]", []string{"choices[1] is the same slot as choices[0]"}},
		{"an unknown court in a range", choiceBody("courtsim", `"choices": [{"courts": "8-12"}]`), 400,
			"choices[0].courts", []string{`the site has no court "11" (its courts: 1-10)`}},
		{"17 choices", choiceBody("courtsim", `"choices": [{"courts": "any"}, {"courts": "1-7", "start": "12:00", "end": "13:00"}]`), 400,
			"choices", []string{"17 choices once the courts shorthands are expanded: at most 16"}},
		{"a choice opening at another instant", choiceBody("courtsim", `"choices": [{"court": 3}, {"court": 3, "date": "2026-12-11"}]`), 400,
			"choices[1]", []string{"opens at 2026-12-04 09:00:00", "the booking opens at 2026-12-03 09:00:00", "make it a separate booking"}},
		{"court and courts", choiceBody("courtsim", `"choices": [{"court": 3, "courts": "1-4"}]`), 400,
			"choices[0].courts", []string{"give court or courts, not both"}},
		{"neither court nor courts", choiceBody("courtsim", `"choices": [{"start": "12:00", "end": "13:00"}]`), 400,
			"choices[0].court", []string{"required"}},
		{"no choices", choiceBody("courtsim", `"choices": []`), 400, "choices", []string{"at least one choice"}},
		{"a court of the wrong type", choiceBody("courtsim", `"choices": [{"court": 3}, {"court": [4]}]`), 400,
			"choices.court", []string{"expected a string or a number, got array"}},
		{"an unknown key in a choice", choiceBody("courtsim", `"choices": [{"court": 3, "colour": "red"}]`), 400,
			"choices[0].colour", []string{"unknown field"}},
		{"a bad date in a choice", choiceBody("courtsim", `"choices": [{"court": 3, "date": "2026-12-32"}]`), 400,
			"choices[0].date", []string{"not a date that exists"}},
		{"no date anywhere", strings.Replace(choiceBody("courtsim", `"choices": [{"court": 3}]`), `"date": "2026-12-10",`, "", 1), 400,
			"choices[0].date", []string{"here or at the top level"}},
		{"end before start in a choice", choiceBody("courtsim", `"choices": [{"court": 3, "end": "09:00"}]`), 400,
			"choices[0].end", []string{"must be after start"}},
		{"a shorthand where the site names no courts", choiceBody("plain", `"choices": [{"courts": "any"}]`), 400,
			"choices[0].courts", []string{"cannot expand a courts shorthand"}},
		{"priority above 100", choiceBody("courtsim", `"court": 3, "priority": 101`), 400,
			"priority", []string{"an integer from 0 to 100"}},
		{"priority below 0", choiceBody("courtsim", `"court": 3, "priority": -1`), 400,
			"priority", []string{"an integer from 0 to 100"}},
		{"a court the site lacks", choiceBody("courtsim", `"choices": [{"court": 3}, {"court": 99}]`), 422,
			"choices[1].court", []string{`the site has no court "99"`}},
		{"a slot off the grid", choiceBody("courtsim", `"choices": [{"court": 3}, {"court": 4, "start": "10:30", "end": "11:30"}]`), 422,
			"choices[1].start", []string{"no slot of the site starts at 10:30"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.do(t, "POST", "/v1/bookings", b.alice, tt.body)
			require.Equal(t, tt.status, r.status, r.raw)
			require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
			var found bool
			for _, e := range r.body["errors"].([]any) {
				m := e.(map[string]any)
				if m["field"] == tt.field {
					found = true
					for _, d := range tt.detail {
						require.Contains(t, m["detail"], d, r.raw)
					}
				}
			}
			require.True(t, found, "no problem of field %s: %s", tt.field, r.raw)
			require.Equal(t, [2]int64{0, 0}, b.counts(t), "a refused request stores nothing")
		})
	}
}

// DecodeBooking (reserver check --booking) returns the choices expanded.
func TestDecodeBookingChoices(t *testing.T) {
	t.Parallel()
	got, probs := DecodeBooking([]byte(choiceBody("courtsim", `"choices": [{"court": 5}, {"courts": "1-2", "start": "12:00", "end": "13:00"}], "priority": 3`)),
		Defaults{}, choiceSites(t), Limits{DefaultRate: 2, MaxRate: 2, DefaultWindow: 300, MinWindow: 10, MaxWindow: 3600}, fixedNow)
	require.Empty(t, probs)
	require.Equal(t, []booking.Choice{slot("5", "2026-12-10", "10:00", "11:00"),
		slot("1", "2026-12-10", "12:00", "13:00"), slot("2", "2026-12-10", "12:00", "13:00")}, got.Choices)
	require.Equal(t, "5", got.Court)
	require.Equal(t, 3, got.Priority)
}

// expandChoices for a series: no dates, and an item's date is refused.
func TestExpandChoicesUndated(t *testing.T) {
	t.Parallel()
	site := choiceSites(t)["courtsim"]
	str := func(s string) *string { return &s }
	court := flexString("3")
	var probs []FieldProblem
	bad := func(f, d string) { probs = append(probs, FieldProblem{f, d}) }
	got := expandChoices([]choiceRequest{{Court: &court}, {Courts: str("1-2"), Start: str("12:00"), End: str("13:00")}},
		booking.Choice{Start: "10:00", End: "11:00"}, site, false, "choices", bad)
	require.Empty(t, probs)
	require.Equal(t, []booking.Choice{slot("3", "", "10:00", "11:00"), slot("1", "", "12:00", "13:00"), slot("2", "", "12:00", "13:00")}, got)

	got = expandChoices([]choiceRequest{{Court: &court, Date: str("2026-12-10")}}, booking.Choice{Start: "10:00", End: "11:00"}, site, false, "choices", bad)
	require.Nil(t, got)
	require.Equal(t, []FieldProblem{{"choices[0].date", "a series' choice has no date: each occurrence's date is used; leave it out"}}, probs)
}
