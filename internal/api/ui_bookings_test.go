package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/tenant"
)

// pageFixture is the bookings the page tests look at: seedRun's, with
// play dates and phones set apart so that the filters can tell them apart.
type pageFixture struct {
	sold, win, won, live seeded
}

func seedPage(t *testing.T, b *bundle, db *database.DB) pageFixture {
	t.Helper()
	f := pageFixture{
		sold: seedRun(t, db, b.alice, "courtsim", "1", booking.Failed, booking.ReasonSoldOut, "not_open", "not_open", "sold_out"),
		win:  seedRun(t, db, b.bob, "other", "2", booking.Failed, booking.ReasonWindow, "retry", "blocked", "retry"),
		won:  seedRun(t, db, b.alice, "courtsim", "3", booking.Succeeded, "", "not_open", "success"),
		live: seedRun(t, db, b.bob, "courtsim", "4", booking.Armed, "", "not_open"),
	}
	for i, id := range []int64{f.sold.id, f.win.id, f.won.id, f.live.id} {
		require.NoError(t, db.Exec("UPDATE bookings SET play_date = ?, phone = ? WHERE id = ?",
			fmt.Sprintf("2026-12-0%d", i+1), fmt.Sprintf("+8210555%05d", i+1), id).Error)
	}
	return f
}

// rowIDs are the data-id of the rows a page lists.
func rowIDs(p page, sel string) []string {
	out := []string{}
	p.doc.Find(sel).Each(func(_ int, s *goquery.Selection) { out = append(out, s.AttrOr("data-id", "")) })
	return out
}

func ids(vs ...int64) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func TestUIBookings(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		f := seedPage(t, b, db)
		br := newBrowser(t, b.url)
		require.Equal(t, 303, br.login(b.op).status)

		p := br.get("/ui/bookings")
		require.Equal(t, 200, p.status, p.body)
		require.Contains(t, p.header.Get("Content-Type"), "text/html", "a page for the browser, not the API's JSON")
		require.Equal(t, ids(f.live.id, f.won.id, f.win.id, f.sold.id), rowIDs(p, "tr.booking"), "every state, every tenant, newest first")
		live := p.doc.Find(fmt.Sprintf(`tr.booking[data-id="%d"]`, f.live.id))
		require.Equal(t, "running", live.Find("span.state").Text())
		require.Equal(t, "bob", live.Find("td.tenant").Text(), "the tenant by name")
		require.Contains(t, live.Text(), "user-4")
		opens := live.Find("td.opens time")
		require.Equal(t, "2026-11-25 10:00:00 +09:00 KST", opens.Text(), "the opening in the site's zone")
		require.Equal(t, "2026-11-25T01:00:00.000Z", opens.AttrOr("title", ""), "UTC on hover")
		require.Equal(t, "in 13 h", live.Find("td.opens b.rel").Text(), "the next opening, at a glance")
		won := p.doc.Find(fmt.Sprintf(`tr.booking[data-id="%d"]`, f.won.id))
		require.Contains(t, won.Find("td.outcome").Text(), "reservation R-3")
		require.Zero(t, won.Find("b.rel").Length(), "a finished booking has no next opening")
		require.Equal(t, fmt.Sprintf("/ui/bookings/%d", f.won.id), won.Find("a").AttrOr("href", ""), "a success opens the same detail page")
		require.Equal(t, "2026-11-25 01:00:00 +00:00 UTC",
			p.doc.Find(fmt.Sprintf(`tr.booking[data-id="%d"] td.opens time`, f.win.id)).Text(), "a site without a profile is shown in UTC, saying so")

		tests := []struct {
			query string
			want  []string
		}{
			{"?state=running", ids(f.live.id)},
			{"?state=failed&state=succeeded", ids(f.won.id, f.win.id, f.sold.id)},
			{"?state=armed,running", ids(f.live.id)},
			{"?site=other", ids(f.win.id)},
			{"?tenant=bob", ids(f.live.id, f.win.id)},
			{"?account=user-3", ids(f.won.id)},
			{"?reason=sold_out", ids(f.sold.id)},
			{"?from=2026-12-02&to=2026-12-03", ids(f.won.id, f.win.id)},
			{"?by=play&from=2026-12-04", ids(f.live.id)},
			{"?by=opening&from=2026-11-25&to=2026-11-25", ids(f.live.id, f.won.id, f.win.id, f.sold.id)},
			{"?by=opening&to=2026-11-24", ids()},
			{"?q=R-3", ids(f.won.id)},
			{"?q=user-", ids(f.live.id, f.won.id, f.win.id, f.sold.id)},
			{"?q=" + url.QueryEscape(fmt.Sprintf("#%d", f.sold.id)), ids(f.sold.id)},
			{"?q=555-00002", ids(f.win.id)},
			{"?q=nobody", ids()},
			{"?tenant=alice&state=failed", ids(f.sold.id)},
			{"?limit=2", ids(f.live.id, f.won.id)},
			{fmt.Sprintf("?limit=2&cursor=%d", f.won.id), ids(f.win.id, f.sold.id)},
		}
		for _, tt := range tests {
			p := br.get("/ui/bookings" + tt.query)
			require.Equal(t, 200, p.status, tt.query+": "+p.doc.Find(".error").Text())
			require.Equal(t, tt.want, rowIDs(p, "tr.booking"), tt.query)
		}

		// The filter form keeps its values, and the next page its filters.
		p = br.get("/ui/bookings?tenant=bob&state=failed&limit=1&q=user")
		require.Equal(t, "bob", p.doc.Find(`select[name=tenant] option[selected]`).AttrOr("value", ""))
		require.Equal(t, "failed", p.doc.Find(`select[name=state] option[selected]`).AttrOr("value", ""))
		require.Equal(t, "user", p.doc.Find(`input[name=q]`).AttrOr("value", ""))
		next, err := url.Parse(p.doc.Find("a.next").AttrOr("href", ""))
		require.NoError(t, err)
		require.Equal(t, "/ui/bookings", next.Path)
		require.Equal(t, url.Values{"tenant": {"bob"}, "state": {"failed"}, "q": {"user"}, "limit": {"1"}, "cursor": {fmt.Sprint(f.win.id)}}, next.Query())

		// A value the page cannot use is refused, saying what to fix.
		bad := []struct{ query, says string }{
			{"?state=done", `state: unknown state "done"`},
			{"?reason=nope", `reason: unknown reason "nope": expected one of`},
			{"?from=2026-13-01", `dates: from "2026-13-01" is not a date: expected YYYY-MM-DD`},
			{"?from=2026-12-05&to=2026-12-01", "dates: the range ends (2026-12-01) before it begins (2026-12-05)"},
			{"?by=created", `by: "created": expected play`},
			{"?tenant=carol", `tenant: there is no tenant named "carol"`},
			{"?site=Court%20Sim", `site: "Court Sim" is not a site profile name`},
			{"?review=maybe", `review: "maybe"`},
			{"?cursor=x", "cursor: expected the next_cursor value"},
		}
		for _, tt := range bad {
			p := br.get("/ui/bookings" + tt.query)
			require.Equal(t, 400, p.status, tt.query)
			require.Contains(t, p.doc.Find("p.error").Text(), tt.says, tt.query)
			require.Zero(t, p.doc.Find("tr.booking").Length(), "%s: nothing listed under a filter that was not applied", tt.query)
			require.Equal(t, 1, p.doc.Find("form.filters").Length(), "%s: the form is there to fix it", tt.query)
		}
		p = br.get("/ui/bookings?state=done&reason=nope")
		require.Contains(t, p.doc.Find("p.error").Text(), "state:")
		require.Contains(t, p.doc.Find("p.error").Text(), "reason:", "every problem at once")
		require.NotContains(t, p.body, "S3cr3t")
	})
}

func TestUIDashboardAndRefresh(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	// The page's clock is 4 minutes after seedRun's opening: the failures
	// (seconds after T) are of the last hour, the live booking's window
	// is still open.
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	b := setup(t, db, func(o *Options) { o.Now = func() time.Time { return opens.Add(4 * time.Minute) } })
	f := seedPage(t, b, db)
	require.NoError(t, db.Exec("UPDATE bookings SET review = ? WHERE id = ?", booking.ReviewLateSuccess, f.win.id).Error)
	// The live booking's lease lapsed a minute after T: no instance holds it.
	require.NoError(t, db.Exec("UPDATE bookings SET lease_until = ? WHERE id = ?", opens.Add(time.Minute), f.live.id).Error)
	br := newBrowser(t, b.url)
	require.Equal(t, 303, br.login(b.op).status)

	p := br.get("/ui/failures")
	require.Equal(t, 200, p.status)
	dash := p.doc.Find("section.dashboard")
	require.Equal(t, 1, dash.Length(), "the dashboard line tops every page")
	require.Contains(t, dash.Find(".active").Text(), "armed 0 · running 1 · queued 0")
	require.Contains(t, dash.Find(".failing").Text(), "2 failed in the last hour (window_closed 1, sold_out 1)")
	require.Contains(t, dash.Find(".failing").Text(), "1 marked for review")
	require.Contains(t, dash.Find(".failing").Text(), "1 held by no instance", "the live booking's lease lapsed at T+1 min")
	require.Contains(t, dash.Find(".outbox").Text(), "SMS unsent 0")
	require.Contains(t, dash.Find(".instances").Text(), "instances live 0")
	require.Contains(t, dash.Find(".next").Text(), "courtsim")
	require.Equal(t, "2026-11-25 10:00:00 +09:00 KST", dash.Find(".next time").Text(), "the running booking's window is open: its opening is next")
	require.Equal(t, "4 min ago", dash.Find(".next b").Text())

	// A running booking's page reloads itself; a finished one's does not.
	p = br.get(fmt.Sprintf("/ui/bookings/%d", f.live.id))
	require.Equal(t, "3", p.doc.Find(`meta[http-equiv=refresh]`).AttrOr("content", ""))
	require.Equal(t, "pending", strings.TrimPrefix(p.doc.Find("path.outcome").AttrOr("class", ""), "outcome "), "running is in progress, not a failure's cross")
	require.Equal(t, "#bf8700", p.doc.Find("text.outcome-label").AttrOr("fill", ""))
	require.Equal(t, "running", p.doc.Find("dd.state").Text())
	for _, id := range []int64{f.sold.id, f.won.id} {
		p = br.get(fmt.Sprintf("/ui/bookings/%d", id))
		require.Zero(t, p.doc.Find(`meta[http-equiv=refresh]`).Length(), "booking %d has ended", id)
	}
}

func TestUIBookingPage(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	b := setup(t, db)
	f := seedPage(t, b, db)
	require.NoError(t, db.Exec("UPDATE attempts SET waited_for = ?, waited_us = ? WHERE booking_id = ? AND seq = 4",
		booking.WaitHostCeiling, 20000, f.sold.id).Error)
	br := newBrowser(t, b.url)
	require.Equal(t, 303, br.login(b.op).status)

	p := br.get(fmt.Sprintf("/ui/bookings/%d", f.sold.id))
	require.Equal(t, 200, p.status)
	require.Equal(t, "alice", p.doc.Find("dd .tenant").Text(), "the tenant by name")
	require.Equal(t, "2026-11-25 10:00:00.000 +09:00 KST", p.doc.Find("dd.opens time").Text())
	require.Equal(t, "2026-11-25T01:00:00.000Z", p.doc.Find("dd.opens time").AttrOr("title", ""))
	require.Equal(t, "2026-11-25 10:00:01 +09:00 KST", p.doc.Find("dd.finished time").Text())
	rows := p.doc.Find("table.attempts tr.attempt")
	second := rows.Eq(3)
	require.Equal(t, "T+503.0 ms", second.Find("td.from-t").Text(), "T+ms on the site's clock")
	require.Equal(t, "waited 20.0 ms for the host ceiling", second.Find("td.waited").Text(), "why it was late")
	require.Equal(t, "", rows.Eq(2).Find("td.waited").Text(), "a request that did not wait says nothing")
	require.Equal(t, "2026-11-25 10:00:00.503 +09:00 KST", second.Find("td.sent time").Text())
	require.Contains(t, p.doc.Find("circle.attempt").Eq(3).Find("title").Text(), "waited 20.0 ms for the host ceiling")

	// A login's success is quiet beside the submits' answers.
	login := p.doc.Find("dd.steps .steprow").First()
	require.Equal(t, "login", login.Find(".step").Text())
	require.Equal(t, "chip success quiet", login.Find(".chip").AttrOr("class", ""))
	require.Equal(t, "chip success quiet", rows.First().Find(".chip").AttrOr("class", ""))
	require.Contains(t, p.doc.Find("dd.steps").Text(), "submit not_open 2 sold_out 1")

	// The timeline: T with its clock time, the planned fire, a viewBox and
	// no fixed width.
	svg := p.doc.Find("figure.timeline svg.wide")
	require.Equal(t, "", svg.AttrOr("width", ""), "no fixed width: the drawing scales to the screen")
	require.True(t, strings.HasPrefix(svg.AttrOr("viewBox", ""), "0 0 720 "))
	require.Contains(t, svg.Find("text.t-clock").Text(), "T 10:00:00.000 +09:00")
	require.Equal(t, 1, svg.Find("path.fire").Length())
	require.Contains(t, svg.Find("path.fire title").Text(), "Planned fire T+3.0 ms")
	labels := svg.Find("text.tick").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	require.Equal(t, "−1m", labels[0], "the login at −60 s sits on the first tick")

	// The failures list: the tenant by name, reason up front, quiet chips.
	p = br.get("/ui/failures?since=30d")
	row := p.doc.Find(fmt.Sprintf(`tr.failure[data-id="%d"]`, f.sold.id))
	require.Equal(t, "alice", row.Find(".tenant").Text())
	require.Equal(t, "2026-11-25 10:00:01 +09:00 KST", row.Find(`td[data-label=Finished] time`).Text())
	require.Equal(t, 2, row.Find(".chip.success.quiet").Length(), "the login's and the trace's successes")
	require.Equal(t, 0, row.Find(".chip.success:not(.quiet)").Length(), "no green chip on a failure")
	p = br.get("/ui/failures?reason=nope")
	require.Equal(t, 400, p.status)
	require.Contains(t, p.doc.Find("p.error").Text(), `reason: unknown reason "nope"`)
}

func TestUIErrorPages(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t))
	br := newBrowser(t, b.url)
	require.Equal(t, 303, br.login(b.op).status)
	for _, path := range []string{"/ui/bookings/999999", "/ui/bookings/x", "/ui/nothing-here"} {
		p := br.get(path)
		require.Equal(t, 404, p.status, path)
		require.Contains(t, p.header.Get("Content-Type"), "text/html", path)
		require.Equal(t, 1, p.doc.Find(`link[rel=stylesheet]`).Length(), "%s: the page's layout", path)
		require.NotEmpty(t, p.doc.Find("p.error-page").Text(), path)
		require.Contains(t, p.header.Get("Content-Security-Policy"), "default-src 'none'", path)
	}
	require.Equal(t, 1, br.get("/ui/bookings/999999").doc.Find("section.dashboard").Length(), "signed in: the navigation and the dashboard too")
	p := br.post("/ui/bookings/1/cancel", url.Values{"csrf": {"wrong"}})
	require.Equal(t, 403, p.status)
	require.Contains(t, p.doc.Find("p.error-page").Text(), "CSRF")

	// A client that does not ask for HTML gets the message as plain text.
	br.accept = ""
	p = br.get("/ui/bookings/999999")
	require.Equal(t, 404, p.status)
	require.Contains(t, p.header.Get("Content-Type"), "text/plain")
	require.Equal(t, "no booking with this id\n", p.body)
}

// choiceFixture is a booking of three choices that the site booked on
// its second, and one of three that waits for its opening.
type choiceFixture struct{ won, queued int64 }

var testChoices = []booking.Choice{
	{Court: "3", Date: "2026-12-10", Start: "10:00", End: "11:00"},
	{Court: "4", Date: "2026-12-10", Start: "10:00", End: "11:00"},
	{Court: "1", Date: "2026-12-11", Start: "12:00", End: "13:00"},
}

func seedChoices(t *testing.T, b *bundle) choiceFixture {
	t.Helper()
	ctx := context.Background()
	p, err := tenant.NewStore(b.db).Authenticate(ctx, b.alice)
	require.NoError(t, err)
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	create := func(user string, at time.Time) *booking.Booking {
		bk, _, err := b.store.Create(ctx, booking.NewBooking{
			TenantID: p.TenantID, Site: "courtsim", Username: user, Password: "S3cr3t-Pa55!", Choices: testChoices,
			OpensAt: at, WindowSeconds: 300, RatePerSecond: 2,
		})
		require.NoError(t, err)
		return bk
	}
	won := create("chooser", opens)
	_, err = b.store.Claim(ctx, won.ID, "inst-a", opens.Add(-2*time.Minute), opens.Add(10*time.Minute))
	require.NoError(t, err)
	rows := []booking.Attempt{
		{BookingID: won.ID, Instance: "inst-a", Seq: 1, Step: "login", SentAt: opens.Add(-time.Minute), Status: 302, Class: "success", Egress: "direct"},
		{BookingID: won.ID, Instance: "inst-a", Seq: 2, Step: "submit", SentAt: opens.Add(3 * time.Millisecond), Status: 200, Class: "sold_out", Egress: "direct", Choice: 1},
		{BookingID: won.ID, Instance: "inst-a", Seq: 3, Step: "submit", SentAt: opens.Add(503 * time.Millisecond), Status: 200, Class: "success", Egress: "direct", Choice: 2},
	}
	require.NoError(t, b.store.AddAttempts(ctx, rows))
	require.NoError(t, b.store.Succeed(ctx, won.ID, booking.Armed, "inst-a", booking.Reserved{No: "R-1", Choice: 2}, nil, opens.Add(time.Second)))
	queued := create("waiter", opens.Add(24*time.Hour))
	return choiceFixture{won: won.ID, queued: queued.ID}
}

// A booking with choices: its page lists them in order and marks the one
// booked, says which choice each attempt was for and labels the move to a
// later choice on the timeline; the list shows the slot booked, or the
// first choice and how many more.
func TestUIBookingChoices(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		one := seedRun(t, db, b.bob, "courtsim", "7", booking.Succeeded, "", "success")
		f := seedChoices(t, b)
		br := newBrowser(t, b.url)
		require.Equal(t, 303, br.login(b.op).status)

		p := br.get(fmt.Sprintf("/ui/bookings/%d", f.won))
		require.Equal(t, 200, p.status, p.body)
		items := p.doc.Find("dd.choices ol li.choice")
		require.Equal(t, []string{
			"court 3, 2026-12-10 10:00–11:00",
			"court 4, 2026-12-10 10:00–11:00 booked",
			"court 1, 2026-12-11 12:00–13:00",
		}, items.Map(func(_ int, s *goquery.Selection) string { return strings.TrimSpace(s.Text()) }), "every choice, in order")
		require.Equal(t, "2", p.doc.Find("dd.choices li.won").AttrOr("value", ""), "the second is the one booked")
		require.Equal(t, 1, p.doc.Find("dd.choices li.won").Length())
		require.Equal(t, "choice 2, court 4, 2026-12-10 10:00–11:00", p.doc.Find("dd.booked").Text())
		require.Equal(t, []string{"", "choice 1", "choice 2"},
			p.doc.Find("table.attempts tr.attempt td.choice").Map(func(_ int, s *goquery.Selection) string { return s.Text() }),
			"which choice each request was for; none for the login")
		svg := p.doc.Find("figure.timeline svg.wide")
		require.Equal(t, []string{"choice 2"}, svg.Find("text.choice-mark").Map(func(_ int, s *goquery.Selection) string { return s.Text() }),
			"the timeline marks the move to the second choice")
		require.Contains(t, svg.Find("circle.attempt").Eq(2).Find("title").Text(), "#3 submit (choice 2) → success")

		p = br.get(fmt.Sprintf("/ui/bookings/%d", f.queued))
		require.Equal(t, 200, p.status)
		require.Equal(t, 3, p.doc.Find("dd.choices li.choice").Length())
		require.Zero(t, p.doc.Find("dd.choices li.won, dd.booked").Length(), "nothing booked yet")

		p = br.get(fmt.Sprintf("/ui/bookings/%d", one.id))
		require.Equal(t, "7, 2026-12-01 10:00–11:00", p.doc.Find("dd.slot").Text(), "one slot: as before")
		require.Zero(t, p.doc.Find("dd.choices, th:contains('Choice'), td.choice").Length(), "no choices to speak of")

		p = br.get("/ui/bookings")
		require.Equal(t, 200, p.status)
		slot := func(id int64) string {
			return strings.Join(strings.Fields(p.doc.Find(fmt.Sprintf(`tr.booking[data-id="%d"] td.slot`, id)).Text()), " ")
		}
		require.Equal(t, "4, 2026-12-10 10:00–11:00 choice 2 of 3", slot(f.won), "the slot booked")
		require.Equal(t, "3, 2026-12-10 10:00–11:00 +2 choices", slot(f.queued), "the first choice and how many more")
		require.Equal(t, "7, 2026-12-01 10:00–11:00", slot(one.id))

		// The play-date filter keeps reading the first choice.
		p = br.get("/ui/bookings?by=play&from=2026-12-10&to=2026-12-10")
		require.Equal(t, ids(f.queued, f.won), rowIDs(p, "tr.booking"))

		// A failure of two choices, in the failures list.
		ctx := context.Background()
		pr, err := tenant.NewStore(db).Authenticate(ctx, b.alice)
		require.NoError(t, err)
		sold, _, err := b.store.Create(ctx, booking.NewBooking{TenantID: pr.TenantID, Site: "courtsim", Username: "loser", Password: "S3cr3t-Pa55!",
			Choices: testChoices[:2], OpensAt: fixedNow.Add(-time.Hour), WindowSeconds: 300, RatePerSecond: 2})
		require.NoError(t, err)
		_, err = b.store.Claim(ctx, sold.ID, "inst-a", fixedNow.Add(-2*time.Hour), fixedNow.Add(time.Hour))
		require.NoError(t, err)
		require.NoError(t, b.store.Fail(ctx, sold.ID, booking.Armed, "inst-a", booking.ReasonSoldOut, nil, fixedNow.Add(-time.Hour)))
		p = br.get("/ui/failures?since=30d")
		require.Equal(t, 200, p.status)
		require.Equal(t, "3, 2026-12-10 10:00–11:00 +1 choice",
			strings.Join(strings.Fields(p.doc.Find(fmt.Sprintf(`tr.failure[data-id="%d"] td.slot`, sold.ID)).Text()), " "))
	})
}
