// Package chaos is the harness behind `make chaos`: it runs the real
// binaries (courtsim in strict mode, the API and three `reserver run`
// daemons, each sending from its own 127.0.0.x) against one MariaDB
// database per scenario, breaks things on purpose — SIGKILLed and
// restarted daemons, SIGTERM during a window, a faulty site under bookings
// of three choices whose first ones competitors took, database outages, a
// cut database connection, cancels racing the opening, an SMS provider
// outage — and checks the promises against the simulator's ledger and the
// database. Each scenario prints one line
// "CHAOS <name> result=pass|FAIL key=value ...".
//
// It owns no production code and is not part of `make test`: it takes
// minutes and stops the shared MariaDB server for the outage scenario.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reserver/internal/stats"
	"slices"
	"sort"
	"strings"
	"time"
)

// Options configure a run.
type Options struct {
	BinDir        string   // courtsim, api and reserver binaries
	SitesDir      string   // site profiles (configs/sites)
	LogDir        string   // one directory of process logs per scenario
	MySQL         string   // DSN prefix without database, e.g. root@tcp(127.0.0.1:3306)
	Scenarios     []string // names to run, in order; empty: all
	CrashBookings int      // bookings of the crashes scenario (default CrashBookingsDefault)
	Bookings      int      // bookings of the other scenarios (default BookingsDefault)
	KeepDB        bool     // keep every scenario's database (failed ones are always kept)
	Out           io.Writer
	Progress      io.Writer
}

// Booking counts of a default run: all scenarios fit in 15 minutes on two
// cores.
const (
	CrashBookingsDefault = 150
	BookingsDefault      = 40
)

// ErrBroken means at least one scenario found a broken promise.
var ErrBroken = errors.New("chaos: a promise is broken")

// Scenarios are the names Run knows, in their default order.
var Scenarios = []string{"crashes", "faults", "dbdown", "dbdown_prewarm", "smsdown", "restart", "cancel", "grace", "partition"}

type scenarioFunc func(ctx context.Context, o Options, r *result) error

var scenarioFuncs = map[string]scenarioFunc{
	"crashes":        runCrashes,
	"faults":         runFaults,
	"dbdown":         runDBDown,
	"dbdown_prewarm": runDBDownPrewarm,
	"smsdown":        runSMSDown,
	"restart":        runRestart,
	"cancel":         runCancel,
	"grace":          runGrace,
	"partition":      runPartition,
}

// result collects one scenario's figures and broken promises.
type result struct {
	name   string
	kv     []string
	broken []string
	db     string
}

func (r *result) set(k string, v any) { r.kv = append(r.kv, fmt.Sprintf("%s=%v", k, v)) }

func (r *result) breaks(what ...string) { r.broken = append(r.broken, what...) }

func (r *result) line() string {
	status := "pass"
	if len(r.broken) > 0 {
		status = "FAIL"
	}
	parts := append([]string{"CHAOS", r.name, "result=" + status}, r.kv...)
	if len(r.broken) > 0 {
		parts = append(parts, "broken="+strings.Join(r.broken, ","))
	}
	return strings.Join(parts, " ")
}

// Run runs the scenarios one after another and prints a CHAOS line for
// each. It returns ErrBroken when a promise is broken and another error
// when the harness itself could not run a scenario.
func Run(ctx context.Context, o Options) error {
	if o.CrashBookings <= 0 {
		o.CrashBookings = CrashBookingsDefault
	}
	if o.Bookings <= 0 {
		o.Bookings = BookingsDefault
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	names := o.Scenarios
	if len(names) == 0 {
		names = Scenarios
	}
	var failed []error
	for _, name := range names {
		f, ok := scenarioFuncs[name]
		if !ok {
			return fmt.Errorf("chaos: unknown scenario %q (known: %s)", name, strings.Join(Scenarios, ", "))
		}
		r := &result{name: name}
		start := time.Now()
		err := f(ctx, o, r)
		r.set("duration_s", int(time.Since(start).Seconds()))
		if err != nil {
			r.breaks("harness_error")
			fmt.Fprintf(o.Progress, "chaos %s: harness error: %v\n", name, err)
		}
		if r.db != "" && len(r.broken) > 0 {
			fmt.Fprintf(o.Progress, "chaos %s: database %s kept for inspection; logs in %s/%s\n", name, r.db, o.LogDir, name)
		}
		fmt.Fprintln(o.Out, r.line())
		if len(r.broken) > 0 {
			failed = append(failed, fmt.Errorf("%w: %s", ErrBroken, r.line()))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return errors.Join(failed...)
}

func (o Options) logf(format string, args ...any) {
	fmt.Fprintf(o.Progress, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// setup starts a cluster and creates its bookings; the caller closes it
// with finish.
func setup(ctx context.Context, o Options, r *result, spec clusterSpec) (*cluster, error) {
	o.logf("%s: starting courtsim, api and %d daemons", spec.name, spec.daemons)
	c, err := newCluster(ctx, o, spec)
	if c != nil {
		r.db = c.dbName
	}
	if err != nil {
		return nil, err
	}
	if err := c.createBookings(ctx); err != nil {
		c.close(true)
		return nil, err
	}
	o.logf("%s: %d bookings created; opening at %s", spec.name, len(c.bookings), c.opensAt.Format("15:04:05"))
	return c, nil
}

func finish(c *cluster, o Options, r *result) {
	c.close(o.KeepDB || len(r.broken) > 0)
}

// settle waits for every booking to end and audits the ledger. Every
// CHAOS line carries the counters it sets.
func settle(ctx context.Context, c *cluster, r *result) (Audit, *Ledger, *DBState, error) {
	open, err := c.waitTerminal(ctx, c.opensAt.Add(time.Duration(c.spec.window)*time.Second+60*time.Second))
	if err != nil {
		return Audit{}, nil, nil, err
	}
	// The daemon writes attempt rows in batches, after the state change:
	// give the last batch time to land before counting.
	if err := sleep(ctx, 3*time.Second); err != nil {
		return Audit{}, nil, nil, err
	}
	l, err := c.ledger(ctx)
	if err != nil {
		return Audit{}, nil, nil, err
	}
	s, err := c.snapshot(ctx)
	if err != nil {
		return Audit{}, nil, nil, err
	}
	a := audit(c.bookings, c.pretakes, l, s, c.daemonRuns())
	r.set("bookings", len(c.bookings))
	r.set("succeeded", a.Succeeded)
	r.set("failed", a.Failed)
	r.set("cancelled", a.Cancelled)
	r.set("open", open)
	r.set("reservations", a.Reservations)
	r.set("duplicates", a.Duplicates)
	r.set("unknown", a.Unknown)
	r.set("repeat_submits", a.RepeatSubmits)
	r.set("double_bookings", a.DoubleBookings)
	r.set("overlapping_submits", a.OverlappingSubmits)
	r.set("cancelled_booked", a.CancelledBooked)
	r.set("lost_reservations", a.LostReservations)
	r.set("wrong_choice", a.WrongChoice)
	r.set("skipped_choice", a.SkippedChoice)
	r.set("lost_submits", a.LostSubmits)
	r.set("lost_at_sigkill", a.LostAtKill)
	r.breaks(a.broken()...)
	for _, p := range a.Problems {
		c.o.logf("%s: %s", c.spec.name, p)
	}
	return a, l, s, nil
}

// runCrashes: SIGKILL one daemon every 10 s and restart it, cancel a few
// bookings before the opening; every booking ends, at most one reservation
// each, none for a cancelled one, takeover within the lease TTL.
func runCrashes(ctx context.Context, o Options, r *result) error {
	c, err := setup(ctx, o, r, clusterSpec{name: "crashes", bookings: o.CrashBookings, openIn: 50 * time.Second, window: 60, daemons: 3})
	if err != nil {
		return err
	}
	defer finish(c, o, r)

	type kill struct {
		inst string
		at   time.Time
		held []int64
	}
	var kills []kill
	killCtx, stopKills := context.WithCancel(ctx)
	killed := make(chan error, 1)
	go func() {
		var err error
		defer func() { killed <- err }()
		for i := 0; ; i = (i + 1) % len(c.daemons) {
			if sleep(killCtx, 10*time.Second) != nil {
				return
			}
			d := c.daemon(i)
			held, herr := c.held(ctx, d.instance)
			if herr != nil {
				err = herr
				return
			}
			at := c.kill(d)
			// A booking the instance finished between the read above and
			// the kill has nothing left to take over: keep only those it
			// still held when it died (the dead process writes no more).
			after, herr := c.held(ctx, d.instance)
			if herr != nil {
				err = herr
				return
			}
			held = slices.DeleteFunc(held, func(id int64) bool { return !slices.Contains(after, id) })
			kills = append(kills, kill{d.instance, at, held})
			o.logf("crashes: SIGKILL %s holding %d bookings", d.instance, len(held))
			if _, err = c.startDaemon(ctx, i); err != nil {
				return
			}
		}
	}()

	// Cancel a few: some while queued, some once armed.
	cancelled := map[int64]bool{}
	cancelSome := func(at time.Time, idx ...int) error {
		if err := sleepUntil(ctx, at); err != nil {
			return err
		}
		for _, i := range idx {
			if i >= len(c.bookings) {
				continue
			}
			id := c.bookings[i].ID
			if err := c.cancel(ctx, id); err != nil {
				return err
			}
			cancelled[id] = true
		}
		return nil
	}
	if err := cancelSome(c.opensAt.Add(-35*time.Second), 7, 77, 137); err != nil {
		stopKills()
		<-killed
		return err
	}
	if err := cancelSome(c.opensAt.Add(-10*time.Second), 17, 117, 147); err != nil {
		stopKills()
		<-killed
		return err
	}
	open, err := c.waitTerminal(ctx, c.opensAt.Add(120*time.Second))
	stopKills()
	if kerr := <-killed; kerr != nil {
		return kerr
	}
	if err != nil {
		return err
	}
	o.logf("crashes: %d kills; %d bookings open", len(kills), open)
	a, _, s, err := settle(ctx, c, r)
	if err != nil {
		return err
	}
	r.set("kills", len(kills))
	r.set("cancelled_requested", len(cancelled))
	for id := range cancelled {
		if st := s.Bookings[id].State; st != "cancelled" {
			r.breaks(fmt.Sprintf("cancel_%d_is_%s", id, st))
		}
	}
	r.set("lost_submit_rows", a.LostSubmits+a.LostAtKill)
	r.set("sigkill_bound_ms", KillLossBound.Milliseconds())

	// Takeover: the first attempt by another instance after the kill. A
	// booking cannot act before its lead, so the clock starts at the later
	// of the kill and opens_at − lead.
	var gaps []time.Duration
	notTaken := 0
	chained := 0
	rekilled := func(later []kill, id int64, before time.Time) bool {
		for _, k2 := range later {
			if k2.at.Before(before) && slices.Contains(k2.held, id) {
				return true
			}
		}
		return false
	}
	for ki, k := range kills {
		for _, id := range k.held {
			if s.Bookings[id].State == "cancelled" {
				continue
			}
			from := k.at
			if lead := c.opensAt.Add(-daemonLead); lead.After(from) {
				from = lead
			}
			first, ok, err := c.firstAttemptAfter(ctx, id, k.inst, k.at)
			if err != nil {
				return err
			}
			if !ok {
				notTaken++
				o.logf("crashes: booking %d held by killed %s was never attempted again (state %s)", id, k.inst, s.Bookings[id].State)
				continue
			}
			// A later kill of the instance that had just claimed it (before
			// its first attempt) restarts the clock: that kill measures it.
			if rekilled(kills[ki+1:], id, first) {
				chained++
				continue
			}
			gaps = append(gaps, max(first.Sub(from), 0))
		}
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	bound := leaseTTL + scanEvery + 3*time.Second
	worst, p50 := stats.Percentile(gaps, 100), stats.Percentile(gaps, 50)
	r.set("takeovers", len(gaps))
	r.set("takeover_p50_ms", p50.Milliseconds())
	r.set("takeover_worst_ms", worst.Milliseconds())
	r.set("takeover_bound_ms", bound.Milliseconds())
	r.set("not_taken_over", notTaken)
	r.set("chained_kills", chained)
	if worst > bound {
		r.breaks("takeover_slower_than_lease")
	}
	if notTaken > 0 {
		r.breaks("not_taken_over")
	}
	if len(kills) == 0 {
		r.breaks("no_kill_happened")
	}
	return nil
}

// runFaults: latency jitter up to 300 ms, 20 % 5xx and 10 % resets, half
// of them after the submit was applied. Every booking has three choices
// (its own court, then two others at the same time); before the opening
// competitors take choice 1 of half the bookings and choice 2 of a
// quarter, so that sold_out answers make the daemons fall through while
// faults leave outcomes unknown: a reset after a reservation that the
// daemon took for "not booked" and answered with the next choice would
// book twice.
func runFaults(ctx context.Context, o Options, r *result) error {
	c, err := setup(ctx, o, r, clusterSpec{name: "faults", bookings: o.Bookings, openIn: 30 * time.Second, window: 60, daemons: 3, choices: 3,
		simFlags: []string{"-jitter", "300ms", "-fail-rate", "0.2", "-reset-rate", "0.1", "-reset-applied", "0.5", "-seed", "9"}})
	if err != nil {
		return err
	}
	defer finish(c, o, r)
	if err := c.pretakeChoices(ctx); err != nil {
		return err
	}
	o.logf("faults: competitors took %d choices before the opening", len(c.pretakes))
	a, l, s, err := settle(ctx, c, r)
	if err != nil {
		return err
	}
	r.set("pretaken", len(c.pretakes))
	for k := 1; k <= 3; k++ {
		r.set(fmt.Sprintf("won_choice_%d", k), a.Won[k])
	}
	if a.Pretaken != len(c.pretakes) {
		// The site lost or replaced a competitor's reservation: the
		// fall-through was not exercised as planned.
		r.breaks(fmt.Sprintf("pretaken_at_site_%d_of_%d", a.Pretaken, len(c.pretakes)))
	}
	// A run in which no booking fell through proves nothing about the
	// choices.
	if a.Won[2]+a.Won[3] == 0 {
		r.breaks("no_fall_through")
	}
	// Nobody pre-takes the last choice and the site stays open through
	// the window: every booking can be booked, so a failed one stopped
	// short of a free choice.
	failed := 0
	for _, ref := range c.bookings {
		if b := s.Bookings[ref.ID]; b.State == "failed" {
			failed++
			o.logf("faults: booking %d failed (%s) with its choice %d free", ref.ID, b.Reason, len(ref.Choices))
		}
	}
	r.set("failed_with_free_choice", failed)
	if failed > 0 {
		r.breaks("failed_with_free_choice")
	}
	// What the API shows must be what the site booked.
	wrong, err := c.apiWinners(ctx, a.AtSite)
	if err != nil {
		return err
	}
	r.set("api_booked_mismatch", wrong)
	if wrong > 0 {
		r.breaks("api_booked_mismatch")
	}
	results := map[string]int{}
	for _, sub := range l.Submits {
		results[string(sub.Result)]++
	}
	r.set("submits", len(l.Submits))
	r.set("error_5xx", results["error_5xx"])
	r.set("reset_applied", results["reset_applied"])
	r.set("reset_not_applied", results["reset_not_applied"])
	r.set("verify_attempts", s.VerifyRows)
	r.set("verify_found", s.VerifySuccess)
	if results["error_5xx"]+results["reset_applied"]+results["reset_not_applied"] == 0 {
		r.breaks("no_fault_injected")
	}
	return nil
}

// runSMSDown: the SMS webhook answers 503 for 30 s from just before the
// opening, then 200; every success gets exactly one message.
func runSMSDown(ctx context.Context, o Options, r *result) error {
	c, err := setup(ctx, o, r, clusterSpec{name: "smsdown", bookings: o.Bookings, openIn: 30 * time.Second, window: 60, daemons: 3})
	if err != nil {
		return err
	}
	defer finish(c, o, r)
	if err := sleepUntil(ctx, c.opensAt.Add(-2*time.Second)); err != nil {
		return err
	}
	recovery := time.Now().Add(30 * time.Second)
	c.sms.refuseUntil(recovery)
	_, _, s, err := settle(ctx, c, r)
	if err != nil {
		return err
	}
	// Wait for the relay to deliver everything after the recovery.
	deadline := recovery.Add(60 * time.Second)
	var pending int
	for {
		if err := c.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox WHERE state <> 'sent'").Scan(&pending); err != nil {
			return err
		}
		if (pending == 0 && time.Now().After(recovery)) || time.Now().After(deadline) {
			break
		}
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
	var succeeded []int64
	for _, b := range c.bookings {
		if st, ok := s.Bookings[b.ID]; ok && st.State == "succeeded" {
			succeeded = append(succeeded, b.ID)
		}
	}
	sc := c.sms.counts(succeeded)
	r.set("messages", sc.Messages)
	r.set("refused_503", sc.Refused)
	r.set("redelivered", sc.Redelivered)
	r.set("outbox_unsent", pending)
	r.set("wrong_message_count", len(sc.WrongCount))
	if pending > 0 {
		r.breaks("outbox_unsent")
	}
	if len(sc.WrongCount) > 0 {
		r.breaks("not_exactly_one_message")
		o.logf("smsdown: bookings without exactly one message: %v", sc.WrongCount)
	}
	if sc.BadSig > 0 {
		r.breaks("bad_signature")
	}
	if sc.Refused == 0 {
		r.breaks("outage_not_exercised")
	}
	return nil
}
