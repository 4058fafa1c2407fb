package session

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"reserver/internal/clocksync"
	"reserver/internal/profile"
	"reserver/internal/sitetime"
)

// RehearseOptions configure Rehearse.
type RehearseOptions struct {
	// Submit also sends the submit step: a real booking attempt. Off by
	// default so that a rehearsal never books by accident.
	Submit    bool
	Transport http.RoundTripper // required
	Clock     Clock             // default the machine clock
	// Probes bounds the clock probes of one round of clocksync.Measure
	// (default clocksync.MaxProbesDefault; negative: no clock measurement).
	Probes int
	// ProbeSpacing is the least time between two requests of the
	// rehearsal, clock probes included, so that it stays within the site's
	// rate; default 1/rate + 50 ms between steps and 1/rate between probes
	// (clocksync.Measure places those at the phases it needs).
	ProbeSpacing time.Duration
}

// Rehearse replays the profile against the site as `reserver check` does:
// login, trace and, only with Submit, submit, then verify when the profile
// has one, printing the profile's load warnings and each step as it goes;
// then it measures the site's clock as the daemon does (clocksync.Measure
// through Session.Prober) and prints the figures the daemon logs. healthy is
// true when login and trace succeeded, the submit (if sent) succeeded, and
// verify (if any) gave an answer the daemon can act on: success (booked)
// or retry (not booked), and success after a successful submit. The last
// line written is "healthy" or "unhealthy: " and the reason; a submit that
// did not succeed is the reason (naming its class) even when verify, run
// after it to say whether the slot is booked, found a problem too. err is
// only for a rehearsal that could not run at all.
func Rehearse(ctx context.Context, p *profile.Profile, acct profile.AccountData, data *profile.Data,
	opts RehearseOptions, out io.Writer) (healthy bool, err error) {
	s, err := New(Config{Profile: p, Account: acct, Transport: opts.Transport, Clock: opts.Clock})
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "site %s  %s  charset %s  zone %s  timeout %s  rate %g/s\n",
		p.Name, p.BaseURL, p.Charset, p.Location, p.Timeout, p.RatePerSecond)
	if data != nil && p.Opening != nil && !data.Booking.Date.IsZero() {
		if at, ok := p.OpensAt(data.Booking.Date, data.Booking.Start, data.Booking.End); ok {
			fmt.Fprintf(out, "opens   %s (%s) for play date %s\n", sitetime.Format(at, p.Location),
				sitetime.Until(cmp.Or[Clock](opts.Clock, realClock{}).Now(), at), data.Booking.Date.In(p.Location).Format(time.DateOnly))
		}
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(out, "warning %s\n", w)
	}
	healthy = true
	spacing := cmp.Or(opts.ProbeSpacing, time.Duration(float64(time.Second)/p.RatePerSecond)+50*time.Millisecond)
	pause := func() error {
		t := time.NewTimer(spacing)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	_, res, err := s.Login(ctx, 0)
	if res != nil {
		for _, r := range res.Before {
			printResult(out, r, nil)
		}
		printResult(out, res, err)
	} else if err != nil {
		printResult(out, nil, err)
	}
	if err != nil {
		fmt.Fprintln(out, "unhealthy: login failed")
		return false, ctx.Err()
	}
	steps := make([]*profile.Step, 0, len(p.Pages)+1+len(p.Checkout))
	steps = append(steps, p.Pages...)
	if opts.Submit {
		steps = append(steps, p.Submit)
	}
	var submitted *Result
	// submitProblem is set when the submit answered but did not book; the
	// rehearsal goes on to verify, and the problem is its last line.
	var submitProblem string
	for i := 0; i < len(steps); i++ {
		st := steps[i]
		if err := pause(); err != nil {
			return false, err
		}
		res, err := s.Do(ctx, st.Name, data)
		printResult(out, res, err)
		if st.Role == profile.RoleSubmit || st.Role == profile.RoleCheckout {
			submitted = res
		}
		switch {
		case err != nil || res == nil:
			healthy = false
		case st.Role == profile.RolePage && res.Class != profile.ClassSuccess:
			healthy = false
		case st.Role == profile.RoleSubmit && res.Class == profile.ClassHeld:
			// A cart: the checkout steps make the booking.
			steps = append(steps, p.Checkout...)
		case st.Role == profile.RoleSubmit && (res.Class == profile.ClassUnknown || res.Class == profile.ClassFatal || res.Class == profile.ClassInvalid):
			fmt.Fprintf(out, "unhealthy: submit answered %s\n", res.Class)
			return false, ctx.Err()
		case st.Role == profile.RoleSubmit && res.Class != profile.ClassSuccess:
			submitProblem = fmt.Sprintf("submit answered %s", res.Class)
		case st.Role == profile.RoleCheckout && res.Class != profile.ClassSuccess:
			submitProblem = fmt.Sprintf("checkout step %s answered %s", st.Name, res.Class)
			i = len(steps) // the chain stops here; verify says what is left
		}
		if !healthy {
			fmt.Fprintf(out, "unhealthy: %s did not pass\n", st.Name)
			return false, ctx.Err()
		}
	}

	if p.Verify == nil {
		fmt.Fprintln(out, "verify  none: the profile has no verify step, so an unknown or ambiguous submit ends the booking for operator review")
	} else {
		if err := pause(); err != nil {
			return false, err
		}
		res, err := s.Do(ctx, profile.StepVerify, data)
		printResult(out, res, err)
		if problem := verifyProblem(res, err, submitted); problem != "" {
			fmt.Fprintf(out, "unhealthy: verify %s\n", problem)
			if submitProblem != "" {
				fmt.Fprintf(out, "unhealthy: %s\n", submitProblem)
			}
			return false, ctx.Err()
		}
	}

	if opts.Probes >= 0 {
		if err := pause(); err != nil {
			return false, err
		}
		est, err := clocksync.Measure(ctx, s.Prober(nil), clocksync.Config{
			MaxProbes: opts.Probes, MinSpacing: cmp.Or(opts.ProbeSpacing, time.Duration(float64(time.Second)/p.RatePerSecond)),
			Clock: opts.Clock,
		})
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if err != nil {
			fmt.Fprintf(out, "clock   offset unknown (%d probes): %v\n", est.Probes, err)
		} else {
			fmt.Fprintln(out, clockLine(est))
		}
	}
	if submitProblem != "" {
		fmt.Fprintf(out, "unhealthy: %s\n", submitProblem)
		return false, nil
	}
	fmt.Fprintln(out, "healthy")
	return true, nil
}

// verifyProblem says why a verify answer is one the daemon could not act
// on, or "" when it can: success (booked) or retry (not booked), and
// success when the submit before it booked.
func verifyProblem(res *Result, err error, submitted *Result) string {
	switch {
	case err != nil || res == nil:
		return "failed"
	case res.Class != profile.ClassSuccess && res.Class != profile.ClassRetry && res.Class != profile.ClassHeld:
		return fmt.Sprintf("answered %s: the daemon can act only on success (booked), held (in the cart) or retry (not booked)", res.Class)
	case submitted != nil && submitted.Class == profile.ClassSuccess && res.Class != profile.ClassSuccess:
		return "does not find the reservation the submit just made"
	}
	return ""
}

// verifyNote says in words what a verify answer found.
func verifyNote(r *Result) string {
	switch {
	case r.Class == profile.ClassSuccess && r.Reservation != "":
		return "(this slot is booked by this account)"
	case r.Class == profile.ClassSuccess:
		return "(this slot is booked by this account; no reservation number found)"
	case r.Class == profile.ClassRetry:
		return "(no reservation for this slot)"
	case r.Class == profile.ClassHeld:
		return "(this slot is held for this account; checkout would book it)"
	}
	return "(cannot tell whether this slot is booked)"
}

// printResult writes one line per step; sensitive extractions are masked.
func printResult(out io.Writer, r *Result, err error) {
	if r == nil {
		fmt.Fprintf(out, "error   %v\n", err)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %-4s %s  %d  %s  %s", r.Step, r.Method, r.Path, r.Status,
		r.Latency.Round(time.Millisecond), r.Class)
	if r.Reservation != "" {
		fmt.Fprintf(&b, "  reservation=%s", r.Reservation)
	}
	keys := make([]string, 0, len(r.Extracted))
	for k := range r.Extracted {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := r.Extracted[k]
		if profile.Sensitive(k) {
			v = fmt.Sprintf("%s(%d chars)", mask, len(v))
		}
		fmt.Fprintf(&b, "  %s=%s", k, v)
	}
	if r.Truncated {
		b.WriteString("  (body truncated)")
	}
	if r.Err != nil {
		fmt.Fprintf(&b, "  error: %v", r.Err)
	}
	if r.Ambiguous {
		b.WriteString("  AMBIGUOUS")
	}
	if r.Step == profile.StepVerify {
		b.WriteString("  " + verifyNote(r))
	}
	if r.Class != profile.ClassSuccess && r.Excerpt != "" {
		fmt.Fprintf(&b, "\n        %s", r.Excerpt)
	}
	fmt.Fprintln(out, b.String())
}

// clockLine is how a rehearsal reports a clock estimate: the figures the
// daemon logs as "site clock measured".
func clockLine(est clocksync.Estimate) string {
	return fmt.Sprintf("clock   site − local = %+.3fs ± %.3fs (precision %v, rtt %v, spread %v, %d probes)",
		est.Offset.Seconds(), est.Uncertainty.Seconds(),
		est.Precision.Round(100*time.Microsecond), est.RTT.Round(100*time.Microsecond), est.Spread.Round(100*time.Microsecond), est.Probes)
}
