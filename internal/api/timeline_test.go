package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
)

func TestOffsetLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ms   float64
		want string
	}{
		{0, "T"}, {10, "+10ms"}, {-100, "−100ms"}, {1000, "+1s"}, {-10000, "−10s"}, {60000, "+1m"}, {600000, "+10m"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, offsetLabel(tt.ms))
	}
	require.Equal(t, "T+12.3 ms", sinceOpening(12.34))
	require.Equal(t, "T−59.98 s", sinceOpening(-59980))
}

func TestSymlogIsMonotonic(t *testing.T) {
	t.Parallel()
	prev := symlog(-3600000)
	for _, ms := range []float64{-60000, -1000, -1, -0.5, 0, 0.5, 1, 10, 1000, 300000} {
		v := symlog(ms)
		require.Greater(t, v, prev, "%v", ms)
		prev = v
	}
	require.Zero(t, symlog(0))
	require.InDelta(t, -symlog(250), symlog(-250), 1e-12)
}

func TestBuildTimeline(t *testing.T) {
	t.Parallel()
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	at := func(seq int, step, class string, off time.Duration) booking.Attempt {
		return booking.Attempt{Seq: seq, Step: step, Class: class, SentAt: opens.Add(off), Status: 200}
	}
	run := []booking.Attempt{
		at(1, "login", "success", -60*time.Second),
		at(2, "trace", "success", -59*time.Second),
		at(3, "submit", "not_open", 2*time.Millisecond),
		at(4, "submit", "success", 502*time.Millisecond),
		at(5, "verify", "already_mine", 900*time.Millisecond),
		at(6, "egress", "blocked", time.Second),
	}
	tests := []struct {
		name    string
		b       booking.Booking
		rows    []booking.Attempt
		outcome string
		ok      bool
		atDot   int // the dot the outcome is marked at; -1: the window end, -2: T
	}{
		{"booked", booking.Booking{State: booking.Succeeded, ReservationNo: "R-9"}, run, "booked: R-9", true, 3},
		{"sold out", booking.Booking{State: booking.Failed, Reason: booking.ReasonSoldOut}, run[:3], "failed: sold_out", false, 2},
		{"window closed", booking.Booking{State: booking.Failed, Reason: booking.ReasonWindow}, run[:3], "failed: window_closed", false, -1},
		{"missed, no attempt", booking.Booking{State: booking.Failed, Reason: booking.ReasonMissed}, nil, "failed: missed", false, -2},
		{"queued", booking.Booking{State: booking.Queued}, nil, "queued", false, -2},
		{"running, in progress at its last attempt", booking.Booking{State: booking.Running}, run[:3], "running, window open", false, 2},
	}
	for _, tt := range tests {
		b := tt.b
		b.OpensAt, b.WindowSeconds = opens, 300
		tl := buildTimeline(&b, tt.rows, seoul, opens)
		require.Len(t, tl.Dots, len(tt.rows), tt.name)
		require.Equal(t, tt.outcome, tl.Outcome, tt.name)
		require.Equal(t, tt.ok, tl.OutcomeOK, tt.name)
		switch tt.atDot {
		case -1:
			require.Equal(t, tl.WindowX, tl.OutcomeX, tt.name)
		case -2:
			require.Equal(t, tl.ZeroX, tl.OutcomeX, tt.name)
		default:
			require.Equal(t, tl.Dots[tt.atDot].X, tl.OutcomeX, tt.name)
		}
		for i := 1; i < len(tl.Dots); i++ {
			require.Greater(t, tl.Dots[i].X, tl.Dots[i-1].X, "%s: later attempts are further right", tt.name)
		}
		for _, d := range tl.Dots {
			require.True(t, d.X >= tl.Left && d.X <= tl.Right, "%s: inside the plot", tt.name)
		}
		require.True(t, tl.ZeroX > tl.Left && tl.ZeroX < tl.WindowX && tl.WindowX <= tl.Right, tt.name)
	}

	b := booking.Booking{State: booking.Succeeded, OpensAt: opens, WindowSeconds: 300}
	tl := buildTimeline(&b, run, seoul, opens)
	var lanes []string
	for _, l := range tl.Lanes {
		lanes = append(lanes, l.Name)
	}
	require.Equal(t, []string{"login", "trace", "submit", "verify", "egress"}, lanes, "known steps in flow order, others after")
	require.Equal(t, tl.Lanes[2].Y, tl.Dots[2].Y, "a submit is on the submit lane")
	require.Equal(t, "#cf222e", classColor("sold_out"))
	require.Equal(t, otherColor, classColor("something_new"))
	var legend []string
	for _, l := range tl.Legend {
		legend = append(legend, l.Class)
	}
	require.Equal(t, []string{"success", "not_open", "already_mine", "blocked"}, legend)
	var labels []string
	for _, tk := range tl.Ticks {
		labels = append(labels, tk.Label)
	}
	require.Equal(t, []string{"−1m", "−10s", "−1s", "−100ms", "−10ms", "T", "+10ms", "+100ms", "+1s", "+10s", "+1m"}, labels)
	require.Equal(t, "10:00:00.000 +09:00", tl.TClock, "T on the site's clock, in its zone")
	require.Equal(t, "2026-11-25T01:00:00.000Z", tl.TUTC)
}

// TestTimelineSpan: the axis reaches a labelled tick beyond the first and
// the last attempt (a login at −9.96 s gets its −10s tick), and the planned
// fire is marked at the first submit's send time less its wait.
func TestTimelineSpan(t *testing.T) {
	t.Parallel()
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	rows := []booking.Attempt{
		{Seq: 1, Step: "login", Class: "success", SentAt: opens.Add(-9960 * time.Millisecond), Status: 302},
		{Seq: 2, Step: "submit", Class: "not_open", SentAt: opens.Add(23 * time.Millisecond), Status: 200,
			WaitedFor: booking.WaitHostCeiling, WaitedUS: 20000},
		{Seq: 3, Step: "submit", Class: "sold_out", SentAt: opens.Add(44 * time.Millisecond), Status: 200,
			WaitedFor: booking.WaitBookingRate, WaitedUS: 21000},
	}
	b := booking.Booking{State: booking.Failed, Reason: booking.ReasonSoldOut, OpensAt: opens, WindowSeconds: 300}
	tl := buildTimeline(&b, rows, seoul, opens.Add(time.Hour))
	labels := map[string]float64{}
	for _, tk := range tl.Ticks {
		labels[tk.Label] = tk.X
	}
	require.Contains(t, labels, "−10s", "the login at −9.96 s has a −10s tick left of it")
	require.Less(t, labels["−10s"], tl.Dots[0].X)
	require.True(t, tl.HasFire)
	require.Contains(t, tl.FireText, "T+3.0 ms", "the first submit was sent at +23 ms after waiting 20 ms: planned at +3 ms")
	require.Contains(t, tl.FireText, "waited 20.0 ms for the host ceiling")
	require.Less(t, tl.FireX, tl.Dots[1].X)
	require.Greater(t, tl.FireX, tl.ZeroX)
	require.Contains(t, tl.Dots[1].Title, "waited 20.0 ms for the host ceiling")
	require.Contains(t, tl.Dots[2].Title, "waited 21.0 ms for the booking's rate")
	require.Contains(t, tl.Dots[2].Title, "T+44.0 ms")
	require.Equal(t, "failure", tl.OutcomeClass())

	// With the daemon's aim recorded, the mark is the aim itself.
	fire := opens.Add(2500 * time.Microsecond)
	b.FireAt = &fire
	tl = buildTimeline(&b, rows, seoul, opens.Add(time.Hour))
	require.True(t, tl.HasFire)
	require.Contains(t, tl.FireText, "Planned fire T+2.5 ms on the site's clock (the daemon's aim)")
	require.Contains(t, tl.FireText, "sent at T+23.0 ms")
	require.LessOrEqual(t, tl.Right, tl.Width)
	for _, l := range tl.Legend {
		require.LessOrEqual(t, l.X, tl.Right, "the legend wraps inside the drawing")
	}

	running := booking.Booking{State: booking.Running, OpensAt: opens, WindowSeconds: 300}
	tl = buildTimeline(&running, rows[:2], seoul, opens.Add(time.Second))
	require.Equal(t, "pending", tl.OutcomeClass(), "a running booking is in progress, not failed")
	require.Equal(t, "#bf8700", tl.OutcomeColor())
	require.Equal(t, "running, window open", tl.Outcome)
	tl = buildTimeline(&running, rows[:1], seoul, opens.Add(-time.Minute))
	require.Equal(t, "running, before T", tl.Outcome, "the pre-warm")
	tl = buildTimeline(&running, rows[:2], seoul, opens.Add(10*time.Minute))
	require.Equal(t, "running, past its window", tl.Outcome, "a booking no instance finished")
}

// TestTimelineOnTheSiteClock: the site's clock is 0.3 s ahead of ours, so
// submits sent from 290 ms before the opening on our clock were sent after
// it on the site's, which is the clock opens_at is on.
func TestTimelineOnTheSiteClock(t *testing.T) {
	t.Parallel()
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	const ahead = 300 * time.Millisecond
	var rows []booking.Attempt
	for i := range 200 {
		sent := opens.Add(-290*time.Millisecond + time.Duration(i)*7*time.Millisecond)
		date := sent.Add(time.Millisecond).Add(ahead).Truncate(time.Second)
		rows = append(rows, booking.Attempt{Seq: i + 1, Step: "submit", Class: "not_open", SentAt: sent, SiteDate: &date, LatencyUS: 2000, Status: 200})
	}
	b := booking.Booking{State: booking.Failed, Reason: booking.ReasonWindow, OpensAt: opens, WindowSeconds: 300}
	tl := buildTimeline(&b, rows, time.UTC, opens)
	require.Greater(t, tl.Dots[0].X, tl.ZeroX, "the first submit is after T on the site's clock")
	require.Contains(t, tl.Dots[0].Title, "#1 submit → not_open, HTTP 200, T+")
	require.Regexp(t, `^200 attempts; failed: window_closed; site clock ≈ local \+0\.(29|30)\d s ±0\.00\d s \(from 200 Date headers\)$`, tl.Description())
}

// A booking with choices: the submit where the run moved on to a later
// choice is labelled, in full when there is room, by its number when it
// is close to the previous label, not at all closer still; the tooltips
// always say the choice, and a booking of one slot gets no labels.
func TestTimelineChoiceMarks(t *testing.T) {
	t.Parallel()
	opens := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	list := `[{"court":"3","date":"2026-12-10","start":"10:00","end":"11:00"},{"court":"4","date":"2026-12-10","start":"10:00","end":"11:00"},` +
		`{"court":"5","date":"2026-12-10","start":"10:00","end":"11:00"},{"court":"6","date":"2026-12-10","start":"10:00","end":"11:00"}]`
	submit := func(seq, choice int, class string, off time.Duration) booking.Attempt {
		return booking.Attempt{Seq: seq, Step: "submit", Class: class, SentAt: opens.Add(off), Status: 200, Choice: choice}
	}
	rows := []booking.Attempt{
		{Seq: 1, Step: "login", Class: "success", SentAt: opens.Add(-time.Minute), Status: 302},
		submit(2, 1, "sold_out", 3*time.Millisecond),
		submit(3, 2, "sold_out", 500*time.Millisecond),
		submit(4, 3, "sold_out", time.Second),
		submit(5, 4, "success", 1100*time.Millisecond),
	}
	b := booking.Booking{State: booking.Succeeded, OpensAt: opens, WindowSeconds: 300, ChoiceList: &list}
	tl := buildTimeline(&b, rows, time.UTC, opens)
	var labels []string
	for _, m := range tl.Marks {
		labels = append(labels, m.Label)
	}
	require.Equal(t, []string{"choice 2", "3"}, labels, "choice 3 close to choice 2's label: its number; choice 4 closer still: its tooltip says it")
	require.Equal(t, "start", tl.Marks[0].Anchor)
	require.Greater(t, tl.Marks[0].X, tl.Dots[2].X, "beside its circle, clear of the outcome's line")
	require.Contains(t, tl.Dots[4].Title, "#5 submit (choice 4) → success")
	require.NotContains(t, tl.Dots[0].Title, "choice", "a login is for no choice")

	one := booking.Booking{State: booking.Succeeded, OpensAt: opens, WindowSeconds: 300}
	tl = buildTimeline(&one, rows[:2], time.UTC, opens)
	require.Empty(t, tl.Marks)
	require.NotContains(t, tl.Dots[1].Title, "choice", "one slot: nothing to tell apart")
}
