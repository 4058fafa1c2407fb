package schedule

import (
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/sitesim"
)

// A court the site does not have: its booking page already says "invalid
// request", so the booking fails at the pre-warm as site_rejected, with
// time for a person to act, and no submit is sent — not five minutes of
// retries ending window_closed.
func TestInvalidCourtFailsAtPrewarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{court: "99", window: 300})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()

		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonRejected, got.Reason)
		require.True(t, got.FinishedAt.Before(opensAt), "failed at the pre-warm, %v before the opening", opensAt.Sub(*got.FinishedAt))
		require.Empty(t, b.site.Ledger().Submits, "nothing submitted")
		rows := b.attempts(t, bk.ID)
		require.Equal(t, []string{"login:success", "trace:invalid"}, steps(rows))
		require.True(t, strings.HasPrefix(rows[1].Excerpt, sitesim.MsgBadRequest), "the excerpt leads with the site's message: %s", rows[1].Excerpt)
	})
}

// A submit the site refuses as invalid (here the page visit is of a court
// it has, the submit names one it lacks) ends the booking after that one
// submit as site_rejected.
func TestInvalidSubmitFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, setupOpts{})
		src, err := os.ReadFile("../../configs/sites/courtsim.yaml")
		require.NoError(t, err)
		text := strings.Replace(string(src), "path: /rent/form.do?facilityNo={{ .Booking.Court }}", "path: /rent/form.do?facilityNo=3", 1)
		require.NotEqual(t, string(src), text)
		p, err := profile.Parse("courtsim.yaml", []byte(text))
		require.NoError(t, err)
		b.prof, err = p.WithBaseURL("http://courtsim.test")
		require.NoError(t, err)

		opensAt := b.site.Now().Add(90 * time.Second).Truncate(time.Second)
		b.site.SetOpenAt(opensAt)
		bk := b.book(t, opensAt, bookingOpts{court: "99", window: 300})
		d := b.daemon(t, "i1", nil)
		require.NoError(t, d.Start(t.Context()))
		got := b.waitTerminal(t, bk.ID, 3*time.Minute)
		d.Stop()

		require.Equal(t, booking.Failed, got.State)
		require.Equal(t, booking.ReasonRejected, got.Reason)
		require.Less(t, got.FinishedAt.Sub(opensAt), 2*time.Second, "failed at the opening, not at the window's end")
		led := b.site.Ledger()
		require.Len(t, led.Submits, 1, "one submit")
		require.Equal(t, sitesim.ResultBadRequest, led.Submits[0].Result)
		rows := b.attempts(t, bk.ID)
		last := rows[len(rows)-1]
		require.Equal(t, "submit:invalid", last.Step+":"+last.Class)
	})
}
