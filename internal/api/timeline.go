package api

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"reserver/internal/booking"
	"reserver/internal/sitetime"
)

// The timeline of a booking is drawn as inline SVG: one lane per step,
// one circle per attempt placed by its offset from the opening instant T on
// the site's clock (booking.SiteClockOf estimates it from the attempts'
// Date headers; opens_at is on that clock, sent_at on ours).
// Attempts gather around T within milliseconds while the pre-warm is a
// minute earlier and the window minutes long, so the x axis is a symmetric
// log scale of milliseconds: ±10 ms, ±1 s and ±1 min each get room.

// The drawing is sized in viewBox units and scales to the width it is
// given (CSS: width 100%), so T and the outcome stay on screen at any
// width. It is drawn twice, in a wide layout and a compact one that a
// phone shows instead (a media query), so that its text stays legible
// when scaled to 360 px: the compact one is narrower in units and labels
// only the ticks from a second outwards.
const (
	tlTop       = 40.0 // room for the outcome label
	tlLaneH     = 30.0
	tlAxisRoom  = 52.0 // tick labels, then T's clock time and the window end
	tlLegendH   = 18.0
	tlMinSpanMS = 1000.0 // the axis always shows at least ±1 s around T
	// A choice label is written in full this far (viewBox units) from the
	// previous one, as its number nearer, not at all nearer still.
	tlMarkGap, tlMarkMinGap = 52.0, 12.0
)

// tlLayout is the horizontal layout of a drawing.
type tlLayout struct {
	Width, Left, Right float64 // viewBox width, the plot's edges
	// Compact labels only the ticks a second or more from T (and T).
	Compact bool
}

var (
	tlWide    = tlLayout{Width: 720, Left: 62, Right: 704}
	tlCompact = tlLayout{Width: 400, Left: 54, Right: 392, Compact: true}
)

// stepOrder is the lane order; other steps follow by name.
var stepOrder = []string{"login", "trace", "probe", "submit", "verify"}

// classOrder lists the response classes in the order pages show them; a
// class not listed comes after, by name.
var classOrder = []string{"success", "not_open", "sold_out", "already_mine", "session_expired", "blocked", "retry", "fatal", "unknown"}

// classColors are the fills of attempts by class; the legend shows them.
var classColors = map[string]string{
	"success":         "#1a7f37",
	"not_open":        "#8c959f",
	"sold_out":        "#cf222e",
	"already_mine":    "#2da44e",
	"session_expired": "#bf8700",
	"blocked":         "#8250df",
	"retry":           "#0969da",
	"fatal":           "#82071e",
	"unknown":         "#d4a72c",
}

const otherColor = "#57606a"

func classColor(c string) string {
	if v, ok := classColors[c]; ok {
		return v
	}
	return otherColor
}

// ordered returns the keys of seen in the order of first, then the rest by name.
func ordered(first []string, seen map[string]bool) []string {
	var out, rest []string
	for _, k := range first {
		if seen[k] {
			out = append(out, k)
		}
	}
	for k := range seen {
		if !slices.Contains(first, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

func sortedClasses(m map[string]int) []string {
	seen := map[string]bool{}
	for k := range m {
		seen[k] = true
	}
	return ordered(classOrder, seen)
}

type tlLane struct {
	Name string
	Y    float64
}

type tlTick struct {
	X     float64
	Label string
}

type tlDot struct {
	X, Y   float64
	Class  string
	Color  string
	Title  string
	Failed bool // an attempt that got no answer (status 0)
}

// tlMark labels the first submit of a later choice ("choice 2") above
// its circle.
type tlMark struct {
	X, Y   float64
	Label  string
	Anchor string // beside the circle: start (to its right), end near the right edge
}

type tlLegend struct {
	Class string
	Color string
	Count int
	X, Y  float64
}

// timeline is everything the template needs to draw one booking.
type timeline struct {
	Width, Height       float64
	Compact             bool
	TickFont            float64 // the tick labels' font size
	Left, Right         float64
	AxisY, Top          float64
	Lanes               []tlLane
	Ticks               []tlTick
	ZeroX               float64
	WindowX             float64
	HasWindow           bool
	Dots                []tlDot
	Marks               []tlMark // where a booking with choices moved on to a later one
	Legend              []tlLegend
	LegendY             float64
	Outcome             string // the label: "booked: R-123" or "failed: sold_out"
	OutcomeX, OutcomeY  float64
	OutcomeOK, Finished bool
	OutcomeAnchor       string
	// SiteClock says how local send times were put on the site's clock.
	SiteClock string
	// TClock is T on the site's clock in the site's zone ("09:00:00.000
	// +09:00"), TUTC the raw instant.
	TClock, TUTC string
	// Fire marks the planned instant of the first submit (HasFire): its
	// send time less the wait it recorded, since the daemon's aim itself
	// is not stored. FireText says so in words.
	HasFire      bool
	FireX, FireY float64
	FireText     string
	LegendRows   int
}

// symlog maps milliseconds to the axis' unit.
func symlog(ms float64) float64 {
	return math.Copysign(math.Log10(1+math.Abs(ms)), ms)
}

// offsetLabel writes a tick: "T", "+10ms", "−1s", "+5m".
func offsetLabel(ms float64) string {
	if ms == 0 {
		return "T"
	}
	sign := "+"
	if ms < 0 {
		sign = "−"
	}
	a := math.Abs(ms)
	switch {
	case a < 1000:
		return fmt.Sprintf("%s%gms", sign, a)
	case a < 60000:
		return fmt.Sprintf("%s%gs", sign, a/1000)
	default:
		return fmt.Sprintf("%s%gm", sign, a/60000)
	}
}

// tickValues are the candidate ticks in ms; those inside the axis are drawn.
var tickValues = []float64{-3600000, -600000, -60000, -10000, -1000, -100, -10, 0, 10, 100, 1000, 10000, 60000, 600000, 3600000}

// buildTimeline lays out b's attempts; loc is the site's zone, now the
// page's clock.
func buildTimeline(b *booking.Booking, attempts []booking.Attempt, loc *time.Location, now time.Time) timeline {
	return buildTimelineIn(tlWide, b, attempts, loc, now)
}

// buildTimelineIn lays out b's attempts in the layout l.
func buildTimelineIn(l tlLayout, b *booking.Booking, attempts []booking.Attempt, loc *time.Location, now time.Time) timeline {
	tlLeft, tlRight := l.Left, l.Right
	clk := booking.SiteClockFor(b, attempts)
	offset := func(t time.Time) float64 { return clk.SinceOpening(t, b.OpensAt) }
	windowMS := float64(b.WindowSeconds) * 1000

	lo, hi := -tlMinSpanMS, tlMinSpanMS
	if windowMS > hi {
		hi = windowMS
	}
	steps := map[string]bool{"submit": true}
	classes := map[string]int{}
	for _, a := range attempts {
		o := offset(a.SentAt)
		lo, hi = min(lo, o), max(hi, o)
		steps[a.Step] = true
		classes[a.Class]++
	}
	// The axis ends on a tick (or the window's end), so that the first
	// and the last attempt are read against a labelled instant: a login at
	// −9.96 s sits beside a −10s tick.
	candidates := tickValues
	if windowMS > 0 {
		candidates = append(slices.Clone(tickValues), windowMS)
	}
	lo, hi = outTo(lo, candidates, -1), outTo(hi, candidates, 1)
	ulo, uhi := symlog(lo), symlog(hi)
	// A little room on both ends so that dots at the extremes are whole.
	pad := (uhi - ulo) * 0.02
	ulo, uhi = ulo-pad, uhi+pad
	x := func(ms float64) float64 {
		return tlLeft + (symlog(ms)-ulo)/(uhi-ulo)*(tlRight-tlLeft)
	}

	tl := timeline{Width: l.Width, Compact: l.Compact, TickFont: 13, Left: tlLeft, Right: tlRight, Top: tlTop, OutcomeAnchor: "middle", SiteClock: clk.String(),
		TClock: sitetime.Clock(b.OpensAt, loc), TUTC: sitetime.UTC(b.OpensAt)}
	if l.Compact {
		tl.TickFont = 11
	}
	laneY := map[string]float64{}
	for i, s := range ordered(stepOrder, steps) {
		y := tlTop + tlLaneH/2 + float64(i)*tlLaneH
		laneY[s] = y
		tl.Lanes = append(tl.Lanes, tlLane{Name: s, Y: y})
	}
	tl.AxisY = tlTop + float64(len(tl.Lanes))*tlLaneH
	tl.LegendY = tl.AxisY + tlAxisRoom
	for _, v := range tickValues {
		if v >= lo && v <= hi {
			label := offsetLabel(v)
			if l.Compact && v != 0 && math.Abs(v) < 1000 {
				label = ""
			}
			tl.Ticks = append(tl.Ticks, tlTick{X: round1(x(v)), Label: label})
		}
	}
	if l.Compact {
		spaceLabels(tl.Ticks, 30)
	}
	tl.ZeroX = round1(x(0))
	if b.WindowSeconds > 0 {
		tl.WindowX, tl.HasWindow = round1(x(windowMS)), true
	}
	var last, success *tlDot
	fired := false
	// A booking with choices labels the submit where it moved on to a
	// later choice; labels too close to the previous one are shortened to
	// the number, or left to the tooltip.
	multi := len(b.Choices()) > 1
	choiceNow, markX := 0, math.Inf(-1)
	for _, a := range attempts {
		o := offset(a.SentAt)
		title := fmt.Sprintf("#%d %s → %s, HTTP %d, %s on the site's clock, %.1f ms", a.Seq, a.Step, a.Class, a.Status, sinceOpening(o), float64(a.LatencyUS)/1000)
		if multi && a.Choice > 0 {
			title = fmt.Sprintf("#%d %s (choice %d) → %s, HTTP %d, %s on the site's clock, %.1f ms", a.Seq, a.Step, a.Choice, a.Class, a.Status, sinceOpening(o), float64(a.LatencyUS)/1000)
		}
		if w := waitText(a); w != "" {
			title += ", " + w
		}
		if a.Egress != "" {
			title += ", via " + a.Egress
		}
		if a.Error != "" {
			title += ", " + a.Error
		}
		title += "; sent " + sitetime.UTC(a.SentAt) + " on " + nonEmpty(a.Instance, "the instance") + "'s clock"
		tl.Dots = append(tl.Dots, tlDot{X: round1(x(o)), Y: laneY[a.Step], Class: a.Class, Color: classColor(a.Class), Title: title, Failed: a.Status == 0})
		d := &tl.Dots[len(tl.Dots)-1]
		last = d
		if multi && a.Step == "submit" && a.Choice > 0 && a.Choice != choiceNow {
			choiceNow = a.Choice
			if a.Choice > 1 {
				label := fmt.Sprintf("choice %d", a.Choice)
				switch gap := d.X - markX; {
				case gap < tlMarkMinGap:
					label = ""
				case gap < tlMarkGap:
					label = fmt.Sprint(a.Choice)
				}
				if label != "" {
					// Beside the circle, clear of the outcome's line
					// through a winning one.
					m := tlMark{X: d.X + 8, Y: d.Y - 8, Label: label, Anchor: "start"}
					if d.X+8+float64(len(label))*6.5 > tlRight {
						m.X, m.Anchor = d.X-8, "end"
					}
					tl.Marks = append(tl.Marks, m)
					markX = d.X
				}
			}
		}
		// A login or trace "succeeds" too; the booking is won by a submit
		// (or found by a verify).
		if a.Class == "success" && (a.Step == "submit" || a.Step == "verify") && success == nil {
			success = d
		}
		if a.Step == "submit" && !fired {
			fired = true
			if b.FireAt != nil {
				po := offset(*b.FireAt)
				tl.HasFire, tl.FireX, tl.FireY = true, round1(x(po)), laneY["submit"]
				tl.FireText = fmt.Sprintf("Planned fire %s on the site's clock (the daemon's aim); the first submit was sent at %s", sinceOpening(po), sinceOpening(o))
				if w := waitText(a); w != "" {
					tl.FireText += " (" + w + ")"
				}
			} else {
				// Not recorded (a run still going, or one from before the
				// aim was stored): its send time less its wait.
				planned := a.SentAt.Add(-time.Duration(max(a.WaitedUS, 0)) * time.Microsecond)
				po := offset(planned)
				tl.HasFire, tl.FireX, tl.FireY = true, round1(x(po)), laneY["submit"]
				tl.FireText = fmt.Sprintf("Planned fire %s on the site's clock: the first submit's send time (%s)", sinceOpening(po), sinceOpening(o))
				if w := waitText(a); w != "" {
					tl.FireText += " less its wait (" + w + ")"
				}
				tl.FireText += "; the daemon's aim is not recorded yet."
			}
		}
	}
	legendX, row := tlLeft, 0
	for _, c := range sortedClasses(classes) {
		w := float64(len(c)+6)*7.5 + 24
		if legendX+w > tlRight && legendX > tlLeft {
			legendX, row = tlLeft, row+1
		}
		tl.Legend = append(tl.Legend, tlLegend{Class: c, Color: classColor(c), Count: classes[c], X: legendX, Y: tl.LegendY + float64(row)*tlLegendH})
		legendX += w
	}
	tl.LegendRows = row + 1
	tl.Height = tl.LegendY + float64(tl.LegendRows)*tlLegendH

	// The outcome is marked where it happened: at the success, at the last
	// attempt of a failure, or at the window's end when it closed empty.
	tl.Finished = b.State.Terminal()
	switch {
	case b.State == booking.Succeeded:
		tl.OutcomeOK = true
		tl.Outcome = "booked"
		if b.ReservationNo != "" {
			tl.Outcome += ": " + b.ReservationNo
		}
		if success == nil {
			success = last
		}
		if success != nil {
			tl.OutcomeX = success.X
		} else {
			tl.OutcomeX = tl.ZeroX
		}
	case b.State.Terminal():
		tl.Outcome = string(b.State)
		if b.Reason != "" {
			tl.Outcome += ": " + string(b.Reason)
		}
		switch {
		case b.Reason == booking.ReasonWindow && tl.HasWindow:
			tl.OutcomeX = tl.WindowX
		case last != nil:
			tl.OutcomeX = last.X
		default:
			tl.OutcomeX = tl.ZeroX
		}
	default:
		// Not a failure: in progress, drawn amber, where it stands now.
		tl.Outcome = stateLabel(b.State)
		if b.State == booking.Running {
			switch {
			case now.Before(b.OpensAt):
				tl.Outcome += ", before T"
			case now.Before(b.WindowEnd()):
				tl.Outcome += ", window open"
			default:
				tl.Outcome += ", past its window"
			}
		}
		tl.OutcomeX = tl.ZeroX
		if last != nil {
			tl.OutcomeX = last.X
		}
	}
	tl.OutcomeY = tlTop - 16
	if tl.OutcomeX < tlLeft+120 {
		tl.OutcomeAnchor = "start"
	} else if tl.OutcomeX > tlRight-120 {
		tl.OutcomeAnchor = "end"
	}
	return tl
}

// spaceLabels blanks the tick labels that would crowd their neighbours
// (closer than gap units), walking from each end of the axis towards T so
// that the outermost labels, which say how far the drawing reaches, stay.
func spaceLabels(ticks []tlTick, gap float64) {
	zero := slices.IndexFunc(ticks, func(t tlTick) bool { return t.Label == "T" })
	if zero < 0 {
		return
	}
	walk := func(from, to, step int) {
		last := math.NaN()
		for i := from; i != to; i += step {
			if ticks[i].Label == "" {
				continue
			}
			if !math.IsNaN(last) && math.Abs(ticks[i].X-last) < gap {
				ticks[i].Label = ""
				continue
			}
			last = ticks[i].X
		}
	}
	walk(0, zero, 1)
	walk(len(ticks)-1, zero, -1)
}

// outTo moves v outwards (dir −1: down, +1: up) to the nearest of
// candidates at or beyond it; v itself when none is.
func outTo(v float64, candidates []float64, dir float64) float64 {
	best, found := v, false
	for _, c := range candidates {
		if (c-v)*dir < 0 {
			continue
		}
		if !found || math.Abs(c-v) < math.Abs(best-v) {
			best, found = c, true
		}
	}
	return best
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// OutcomeClass is the outcome marker's class: success, failure or, for a
// booking not finished, pending.
func (t timeline) OutcomeClass() string {
	switch {
	case t.OutcomeOK:
		return "success"
	case t.Finished:
		return "failure"
	}
	return "pending"
}

// OutcomeColor is the outcome's colour: green, red, or amber in progress.
func (t timeline) OutcomeColor() string {
	switch t.OutcomeClass() {
	case "success":
		return "#1a7f37"
	case "failure":
		return "#cf222e"
	}
	return "#bf8700"
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// OutcomePath is the marker of the outcome: a diamond for a success, a
// cross for a failure, a hollow square for a booking in progress. It is a
// path, not a circle, so circles stay one per attempt.
func (t timeline) OutcomePath() string {
	x, y := t.OutcomeX, t.AxisY-4
	top := t.Top - 4
	switch t.OutcomeClass() {
	case "success":
		return fmt.Sprintf("M%.1f %.1f l7 7 l-7 7 l-7 -7 z M%.1f %.1f V%.1f", x, top-14, x, top, y)
	case "failure":
		return fmt.Sprintf("M%.1f %.1f l12 12 m0 -12 l-12 12 M%.1f %.1f V%.1f", x-6, top-13, x, top, y)
	}
	return fmt.Sprintf("M%.1f %.1f h12 v12 h-12 z M%.1f %.1f V%.1f", x-6, top-13, x, top-1, y)
}

// FirePath is the planned fire's marker: a triangle pointing down at the
// submit lane.
func (t timeline) FirePath() string {
	return fmt.Sprintf("M%.1f %.1f l-6 -10 h12 z", t.FireX, t.FireY-7)
}

// Description is the SVG's accessible label.
func (t timeline) Description() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d attempts", len(t.Dots))
	if t.Outcome != "" {
		b.WriteString("; " + t.Outcome)
	}
	if len(t.Dots) > 0 && t.SiteClock != "" {
		b.WriteString("; " + t.SiteClock)
	}
	return b.String()
}
