package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database/dbtest"
	"reserver/internal/sitesim/simbrowser"
)

// koreanExcerpt is what the simulated site says when a slot is taken; the
// page must render it (CI installs fonts-nanum for Chromium).
const koreanExcerpt = "이미 예약이 완료된 시설입니다. 다른 시간을 선택해 주세요."

// rect is an element's box in the viewport, in CSS pixels.
type rect struct {
	Left, Right, Top, Bottom, Width, Height float64
}

// TestBrowserOperatorPage drives a real headless Chromium through the
// operator page at a desktop's and a phone's width: sign in, filter the
// bookings list, read the failures list, open a timeline, and watch a
// running booking's page turn into a success by itself. At each width it
// asserts what must be visible and that the page does not scroll sideways,
// and it takes a screenshot of every page (to $RESERVER_SCREENSHOTS when
// set, else the test's temp dir).
func TestBrowserOperatorPage(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	b := setup(t, db)
	sold := seedRun(t, db, b.alice, "courtsim", "1", booking.Failed, booking.ReasonSoldOut,
		"not_open", "not_open", "not_open", "retry", "sold_out")
	win := seedRun(t, db, b.bob, "other", "2", booking.Failed, booking.ReasonWindow, "retry", "blocked", "retry")
	seedRun(t, db, b.alice, "courtsim", "3", booking.Succeeded, "", "not_open", "success")
	// One running booking per width: each turns into a success while its
	// page is open.
	running := map[int]seeded{
		1400: seedRun(t, db, b.bob, "courtsim", "4", booking.Armed, "", "not_open", "not_open"),
		390:  seedRun(t, db, b.bob, "courtsim", "5", booking.Armed, "", "not_open", "not_open"),
	}
	// A booking of three choices booked on its second, and one waiting.
	choices := seedChoices(t, b)
	require.NoError(t, db.Exec("UPDATE attempts SET excerpt = ?, waited_for = ?, waited_us = ? WHERE booking_id = ? AND seq = 7",
		koreanExcerpt, booking.WaitHostCeiling, 20000, sold.id).Error)

	dir := os.Getenv("RESERVER_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	ctx := simbrowser.StartForTest(t, chromedp.WindowSize(1400, 900))
	ctx, cancel := context.WithTimeout(ctx, 150*time.Second)
	defer cancel()

	eval := func(js string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		require.NoError(t, err, js)
		return v
	}
	box := func(sel string) rect {
		t.Helper()
		r, err := chromedp.Run(ctx, chromedp.Evaluate[rect](fmt.Sprintf(`(() => {
			const r = document.querySelector(%q).getBoundingClientRect();
			return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom, Width: r.width, Height: r.height};
		})()`, sel)))
		require.NoError(t, err, sel)
		return r
	}
	// onScreen: the element is drawn, and inside the viewport's width.
	onScreen := func(width int, sel string) {
		t.Helper()
		r := box(sel)
		require.Greater(t, r.Width+r.Height, 0.0, "%d px: %s is drawn", width, sel)
		require.GreaterOrEqual(t, r.Left, 0.0, "%d px: %s starts on screen", width, sel)
		require.LessOrEqual(t, r.Right, float64(width), "%d px: %s ends on screen", width, sel)
	}
	noSideScroll := func(width int, what string) {
		t.Helper()
		w, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[document.documentElement.scrollWidth, window.innerWidth]`))
		require.NoError(t, err)
		if w[0] > w[1] || w[1] != float64(width) {
			// Name what sticks out, for the failure message.
			wide, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`Array.from(document.querySelectorAll('body *'))
				.filter(e => e.getBoundingClientRect().right > %d)
				.slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`, width)))
			t.Fatalf("%d px: the %s page is %v px wide in a %v px viewport; too wide: %v", width, what, w[0], w[1], wide)
		}
	}
	// waitFor polls the page until js is true: across the page's own
	// reloads, which end any script waiting inside it.
	waitFor := func(js string, within time.Duration) error {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err == nil && ok {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("still not %s after %v (last error: %v)", js, within, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	shoot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.Greater(t, len(png), 10_000, "a screenshot of a rendered page")
		path := filepath.Join(dir, name+".png")
		require.NoError(t, os.WriteFile(path, png, 0o644))
		t.Logf("screenshot: %s", path)
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		require.NoError(t, err)
		return n
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).textContent`, sel)))
		require.NoError(t, err, sel)
		return s
	}

	// Signing in on a phone: the bookings page sends us to the form, whose
	// token input fits the screen, and back.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(b.url+"/ui/bookings"),
		chromedp.WaitVisible(chromedp.ID("token")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc, b.url+"/ui/login"), loc)
	onScreen(390, "#token")
	noSideScroll(390, "login")
	shoot("login-390")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), b.op),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("table.bookings")),
	))
	loc, err = chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, b.url+"/ui/bookings", loc)

	sizes := []struct {
		w, h int64
		opts []chromedp.EmulateViewportOption
	}{{1400, 900, nil}, {390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile}}}
	stillRunning := len(running)
	for _, size := range sizes {
		w := int(size.w)
		// The drawing the width shows: the phone's is the compact one.
		svg := "figure.timeline svg.wide"
		if w < 760 {
			svg = "figure.timeline svg.compact"
		}
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(size.w, size.h, size.opts...)))

		// The bookings list, filtered through its form by tenant and state.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(b.url+"/ui/bookings"),
			chromedp.WaitVisible(chromedp.CSS("table.bookings")),
		))
		require.Equal(t, 7, count("tr.booking"), "%d px: every booking", w)
		onScreen(w, fmt.Sprintf(`tr.booking[data-id="%d"] td.slot .choice-note`, choices.won))
		onScreen(w, fmt.Sprintf(`tr.booking[data-id="%d"] td.slot .choice-note`, choices.queued))
		noSideScroll(w, "bookings with choices")
		require.True(t, eval(`!!document.querySelector('section.dashboard .active')`), "%d px: the dashboard line", w)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`select[name=tenant]`), "alice"),
			chromedp.SetValue(chromedp.CSS(`select[name=state]`), "failed"),
			chromedp.Click(chromedp.CSS(`form.filters button`)),
		))
		require.NoError(t, waitFor(`location.search.includes('tenant=alice') && document.readyState === 'complete'`, 10*time.Second))
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		require.Contains(t, loc, "tenant=alice")
		require.Equal(t, 1, count("tr.booking"), "%d px: alice's failed booking only", w)
		require.Equal(t, "alice", text("tr.booking td.tenant"))
		onScreen(w, "tr.booking td.opens")
		onScreen(w, "tr.booking td.outcome .reason")
		noSideScroll(w, "bookings")
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(b.url+"/ui/bookings?state=armed&state=running"),
			chromedp.WaitVisible(chromedp.CSS("table.bookings")),
		))
		require.Equal(t, stillRunning, count("tr.booking"), "%d px: the running bookings", w)
		shoot(fmt.Sprintf("bookings-%d", w))

		// The failures list: the Reason column on screen, no sideways scroll,
		// the site's Korean message readable.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(b.url+"/ui/failures?since=30d"),
			chromedp.WaitVisible(chromedp.CSS("table.failures")),
		))
		require.Equal(t, 2, count("tr.failure"))
		reasons, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('tr.failure td.reason')).map(e => e.textContent)`))
		require.NoError(t, err)
		require.Equal(t, []string{"window_closed", "sold_out"}, reasons)
		onScreen(w, fmt.Sprintf(`tr.failure[data-id="%d"] td.reason`, win.id))
		onScreen(w, fmt.Sprintf(`tr.failure[data-id="%d"] td.reason`, sold.id))
		onScreen(w, fmt.Sprintf(`tr.failure[data-id="%d"] td.excerpt`, sold.id))
		require.Contains(t, text(fmt.Sprintf(`tr.failure[data-id="%d"] td.excerpt`, sold.id)), koreanExcerpt)
		noSideScroll(w, "failures")
		shoot(fmt.Sprintf("failures-%d", w))

		// A timeline: one circle per attempt, T and the outcome on screen.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/ui/bookings/%d"]`, sold.id))),
			chromedp.WaitVisible(chromedp.CSS(svg)),
		))
		require.Equal(t, sold.attempts, count(svg+" circle.attempt"))
		require.Equal(t, "failed: sold_out", text(svg+" text.outcome-label"))
		title, err := chromedp.Run(ctx, chromedp.Title())
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("Booking %d · reserver", sold.id), title)
		for _, sel := range []string{"line.opening", "text.t-clock", "text.outcome-label", "path.outcome", "path.fire"} {
			onScreen(w, svg+" "+sel)
		}
		require.Contains(t, text(svg+" text.t-clock"), "T 10:00:00.000 +09:00")
		require.Equal(t, "waited 20.0 ms for the host ceiling", text("tr.attempt:last-child td.waited"))
		noSideScroll(w, "booking")
		shoot(fmt.Sprintf("timeline-%d", w))
		png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("figure.timeline")))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("timeline-figure-%d.png", w)), png, 0o644))

		// A booking with choices: the list of them, the one booked, the
		// attempts' choice and the timeline's label fit the screen.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(fmt.Sprintf("%s/ui/bookings/%d", b.url, choices.won)),
			chromedp.WaitVisible(chromedp.CSS(svg)),
		))
		require.Equal(t, 3, count("dd.choices li.choice"))
		onScreen(w, "dd.choices li.won")
		onScreen(w, "dd.booked")
		onScreen(w, "tr.attempt:last-child td.choice .chip")
		onScreen(w, svg+" text.choice-mark")
		require.Equal(t, "choice 2", text(svg+" text.choice-mark"))
		noSideScroll(w, "booking with choices")
		shoot(fmt.Sprintf("choices-%d", w))

		// A running booking: amber, reloading itself; it succeeds in the
		// database while the page is open, and the page shows it.
		live := running[w]
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(fmt.Sprintf("%s/ui/bookings/%d", b.url, live.id)),
			chromedp.WaitVisible(chromedp.CSS(svg)),
		))
		require.Equal(t, "running, before T", text(svg+" text.outcome-label"))
		require.True(t, eval(fmt.Sprintf(`document.querySelector('%s path.outcome').classList.contains('pending')`, svg)), "%d px: running is not drawn as a failure", w)
		require.True(t, eval(`!!document.querySelector('meta[http-equiv=refresh]')`))
		onScreen(w, svg+" text.outcome-label")
		noSideScroll(w, "running booking")
		shoot(fmt.Sprintf("running-%d", w))
		require.NoError(t, b.store.Succeed(context.Background(), live.id, booking.Running, "inst-a", booking.Reserved{No: fmt.Sprintf("R-LIVE-%d", w)}, nil, fixedNow))
		err = waitFor(fmt.Sprintf(`document.readyState === 'complete' && (document.querySelector('%s text.outcome-label') || {}).textContent === 'booked: R-LIVE-%d'`, svg, w), 20*time.Second)
		require.NoError(t, err, "%d px: the running booking's page shows its success by itself", w)
		require.True(t, eval(fmt.Sprintf(`document.querySelector('%s path.outcome').classList.contains('success')`, svg)))
		require.False(t, eval(`!!document.querySelector('meta[http-equiv=refresh]')`), "%d px: a finished booking's page stops reloading", w)
		onScreen(w, svg+" text.outcome-label")
		shoot(fmt.Sprintf("succeeded-%d", w))
		stillRunning--
	}

	// Signing out is a form post with the CSRF token; afterwards the page
	// asks for the token again.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("form.logout button")),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.Navigate(b.url+"/ui/failures"),
		chromedp.WaitVisible(chromedp.ID("token")),
	))
}
