package chaos

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// runDBDown: MariaDB is stopped for 20 s from just before the opening.
func runDBDown(ctx context.Context, o Options, r *result) error {
	c, err := setup(ctx, o, r, clusterSpec{name: "dbdown", bookings: o.Bookings, openIn: 30 * time.Second, window: 60, daemons: 3,
		simFlags: []string{"-jitter", "300ms", "-fail-rate", "0.3", "-seed", "11"}})
	if err != nil {
		return err
	}
	defer finish(c, o, r)
	if err := sleepUntil(ctx, c.opensAt.Add(-time.Second)); err != nil {
		return err
	}
	stopped, up, err := outage(ctx, o, "dbdown", 20*time.Second)
	if err != nil {
		return err
	}
	r.set("db_down_ms", up.Sub(stopped).Milliseconds())
	_, l, _, err := settle(ctx, c, r)
	if err != nil {
		return err
	}
	during := 0
	for _, res := range l.Reservations {
		if !res.At.Before(stopped) && res.At.Before(up) {
			during++
		}
	}
	r.set("won_while_down", during)
	r.set("submits", len(l.Submits))
	if during == 0 {
		r.breaks("no_success_during_outage")
	}
	return nil
}

// runDBDownPrewarm: MariaDB is stopped just before the pre-warm (opens_at −
// lead) and comes back before the opening: the bookings armed before the
// outage log in and warm up while nothing can be written, and must still
// all win at the opening with every row kept.
func runDBDownPrewarm(ctx context.Context, o Options, r *result) error {
	c, err := setup(ctx, o, r, clusterSpec{name: "dbdown_prewarm", bookings: o.Bookings, openIn: 30 * time.Second, window: 30, daemons: 3})
	if err != nil {
		return err
	}
	defer finish(c, o, r)
	if err := sleepUntil(ctx, c.opensAt.Add(-daemonLead-time.Second)); err != nil {
		return err
	}
	armed, err := c.countState(ctx, "armed")
	if err != nil {
		return err
	}
	stopped, up, err := outage(ctx, o, "dbdown_prewarm", 14*time.Second)
	if err != nil {
		return err
	}
	r.set("armed_before_outage", armed)
	r.set("db_down_ms", up.Sub(stopped).Milliseconds())
	r.set("db_up_before_open_ms", c.opensAt.Sub(up).Milliseconds())
	a, _, s, err := settle(ctx, c, r)
	if err != nil {
		return err
	}
	during := 0
	for _, row := range s.Attempts {
		if !row.SentAt.Before(stopped) && row.SentAt.Before(up) {
			during++
		}
	}
	r.set("rows_sent_while_down", during)
	if armed == 0 {
		r.breaks("nothing_armed_before_outage")
	}
	// The site is friendly and every booking has its own slot: each must
	// win, however the pre-warm went.
	if a.Succeeded != len(c.bookings)-a.Cancelled {
		r.breaks("not_all_succeeded")
	}
	return nil
}

// outage stops MariaDB for d and starts it again; the server is started
// again whatever happens. It returns when the server had stopped and when
// it answered again.
func outage(ctx context.Context, o Options, name string, d time.Duration) (stopped, up time.Time, err error) {
	down := time.Now()
	o.logf("%s: stopping MariaDB", name)
	stopErr := stopMariaDB(ctx)
	defer func() {
		if err != nil {
			_ = startMariaDB(context.WithoutCancel(ctx))
		}
	}()
	if stopErr != nil {
		return time.Time{}, time.Time{}, stopErr
	}
	stopped = time.Now()
	if err := sleepUntil(ctx, down.Add(d)); err != nil {
		return stopped, time.Time{}, err
	}
	o.logf("%s: starting MariaDB", name)
	if err := startMariaDB(ctx); err != nil {
		return stopped, time.Time{}, err
	}
	return stopped, time.Now(), nil
}

// stopMariaDB shuts the server down and waits until it no longer answers.
func stopMariaDB(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, "mysqladmin", "-uroot", "-h127.0.0.1", "--protocol=tcp", "shutdown").CombinedOutput(); err != nil {
		return fmt.Errorf("mysqladmin shutdown: %w: %s", err, out)
	}
	for range 60 {
		if exec.CommandContext(ctx, "mysqladmin", "-uroot", "-h127.0.0.1", "--protocol=tcp", "--connect-timeout=1", "ping").Run() != nil {
			return nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("chaos: MariaDB still answers after shutdown")
}

// startMariaDB starts the server (a no-op when it runs) and waits for ping.
func startMariaDB(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, "start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd").CombinedOutput(); err != nil {
		return fmt.Errorf("start mariadbd: %w: %s", err, out)
	}
	for range 120 {
		if exec.CommandContext(ctx, "mysqladmin", "-uroot", "-h127.0.0.1", "--protocol=tcp", "--connect-timeout=1", "ping").Run() == nil {
			return nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("chaos: MariaDB did not come back within 60 s")
}
