package schedule

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/metrics"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// classProfileError is the attempt class of a step that could not be
// rendered (nothing was sent).
const classProfileError = "profile_error"

// attempt is the one constructor of attempt rows.
func (r *run) attempt(step string, sentAt time.Time, class, errText string) booking.Attempt {
	a := booking.Attempt{
		BookingID: r.b.ID, Instance: r.d.cfg.Instance, Boot: r.d.boot, Seq: r.d.nextSeq(), Step: step,
		SentAt: sentAt, Class: class, Egress: r.eg.Name(), Error: errText,
	}
	if r.choiceStep(step) {
		a.Choice = r.choice + 1
	}
	return a
}

func (r *run) record(res *session.Result) {
	a := r.attempt(res.Step, res.SentAt, string(res.Class), "")
	a.LatencyUS, a.Status, a.Excerpt = res.Latency.Microseconds(), res.Status, truncate(res.Excerpt, 500)
	a.WaitedFor, a.WaitedUS = r.take()
	if !res.SiteDate.IsZero() {
		d := res.SiteDate
		a.SiteDate = &d
	}
	if res.Err != nil {
		a.Error = truncate(res.Err.Error(), 500)
		if res.Ambiguous {
			a.Error = "ambiguous: " + a.Error
		}
	}
	r.d.attempts.Add(a)
	metrics.Attempt(a.Class, a.Step)
	if a.Step == profile.StepSubmit && res.Status != 0 {
		metrics.SubmitLatency(res.Latency.Seconds())
	}
	if r.d.cfg.Events != nil {
		what := fmt.Sprintf("%-6s → %-15s HTTP %d in %v", a.Step, a.Class, a.Status, res.Latency.Round(10*time.Microsecond))
		if a.WaitedFor != "" {
			what += fmt.Sprintf(" after waiting %v for the %s", (time.Duration(a.WaitedUS) * time.Microsecond).Round(time.Millisecond), waitNames[a.WaitedFor])
		}
		if a.Error != "" {
			what += " (" + a.Error + ")"
		}
		r.d.event(r.b.ID, what)
	}
	r.log.Debug("attempt", zap.Int("seq", a.Seq), zap.String("step", a.Step), zap.Int("status", a.Status),
		zap.String("class", a.Class), zap.Duration("latency", res.Latency), zap.String("egress", a.Egress))
}

// recordRenderError records a step that could not be built, with the
// render error (which names the template and the missing value, never a
// secret's value).
func (r *run) recordRenderError(step string, at time.Time, err error) {
	a := r.attempt(step, at, classProfileError, truncate(err.Error(), 500))
	a.WaitedFor, a.WaitedUS = r.take()
	r.d.attempts.Add(a)
	metrics.Attempt(a.Class, step)
	r.log.Warn("step could not be rendered", zap.String("step", step), zap.Error(err))
	r.d.event(r.b.ID, fmt.Sprintf("%-6s → %s (%s)", step, classProfileError, a.Error))
}
