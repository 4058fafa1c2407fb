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

// TestBrowserOperatorPage drives a real headless Chromium through the
// operator page: sign in with an operator token, read the failures list,
// open a booking's timeline, and take a screenshot of it.
func TestBrowserOperatorPage(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	b := setup(t, db)
	sold := seedRun(t, db, b.alice, "courtsim", "1", booking.Failed, booking.ReasonSoldOut,
		"not_open", "not_open", "not_open", "retry", "sold_out")
	seedRun(t, db, b.bob, "other", "2", booking.Failed, booking.ReasonWindow, "retry", "blocked", "retry")
	seedRun(t, db, b.alice, "courtsim", "3", booking.Succeeded, "", "not_open", "success")

	ctx := simbrowser.StartForTest(t, chromedp.WindowSize(1280, 900))
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	// Signing in: the failures page sends us to the form and back.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(b.url+"/ui/failures"),
		chromedp.WaitVisible(chromedp.ID("token")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc, b.url+"/ui/login"), loc)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), b.op),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("table.failures")),
	))
	loc, err = chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Equal(t, b.url+"/ui/failures", loc)

	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr.failure').length`))
	require.NoError(t, err)
	require.Equal(t, 2, rows, "two failed bookings")
	reasons, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('tr.failure td.reason')).map(e => e.textContent)`))
	require.NoError(t, err)
	require.Equal(t, []string{"window_closed", "sold_out"}, reasons)

	// The timeline of the sold-out booking: one circle per attempt.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/ui/bookings/%d"]`, sold.id))),
		chromedp.WaitVisible(chromedp.CSS("figure.timeline svg")),
	))
	circles, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('figure.timeline svg circle.attempt').length`))
	require.NoError(t, err)
	require.Equal(t, sold.attempts, circles)
	outcome, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("text.outcome-label")))
	require.NoError(t, err)
	require.Equal(t, "failed: sold_out", outcome)
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("Booking %d · reserver", sold.id), title)

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.Greater(t, len(png), 10_000, "a screenshot of a rendered page")
	shot := filepath.Join(t.TempDir(), "timeline.png")
	require.NoError(t, os.WriteFile(shot, png, 0o600))
	t.Logf("screenshot of booking %d: %s", sold.id, shot)
	if dir := os.Getenv("RESERVER_SCREENSHOT_DIR"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "timeline.png"), png, 0o600))
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
