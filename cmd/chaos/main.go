// Command chaos runs the reliability scenarios of `make chaos` — crashes,
// site faults under bookings of three choices, database outages at the opening and at the pre-warm, an SMS
// provider outage, restarts under the same instance names, cancels racing
// the opening, SIGTERM during a window, a cut database connection — against
// real processes on loopback and the local MariaDB. See docs/reliability.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"reserver/internal/chaos"
)

func main() { os.Exit(run()) }

func run() int {
	var (
		o         chaos.Options
		scenarios string
		timeout   time.Duration
	)
	flag.StringVar(&o.BinDir, "bin", "", "directory with courtsim, api and reserver binaries (default: build them into -logs/bin)")
	flag.StringVar(&o.SitesDir, "sites", "configs/sites", "site profiles directory")
	flag.StringVar(&o.LogDir, "logs", "var/chaos", "directory of process logs, one subdirectory per scenario")
	flag.StringVar(&o.MySQL, "mysql", "root@tcp(127.0.0.1:3306)", "MariaDB DSN without a database name (loopback only)")
	flag.StringVar(&scenarios, "scenarios", strings.Join(chaos.Scenarios, ","), "comma-separated scenarios to run")
	flag.IntVar(&o.CrashBookings, "crash-bookings", chaos.CrashBookingsDefault, "bookings of the crashes scenario")
	flag.IntVar(&o.Bookings, "bookings", chaos.BookingsDefault, "bookings of the other scenarios")
	flag.BoolVar(&o.KeepDB, "keep-db", false, "keep every scenario's database (failed ones are always kept)")
	flag.DurationVar(&timeout, "timeout", 20*time.Minute, "give up after this long")
	flag.Parse()
	o.Scenarios = strings.Split(scenarios, ",")
	o.Out, o.Progress = os.Stdout, os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var err error
	if o.SitesDir, err = filepath.Abs(o.SitesDir); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 2
	}
	if o.LogDir, err = filepath.Abs(o.LogDir); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 2
	}
	if o.BinDir == "" {
		o.BinDir = filepath.Join(o.LogDir, "bin")
		build := exec.CommandContext(ctx, "go", "build", "-o", o.BinDir+"/", "./cmd/courtsim", "./cmd/api", "./cmd/reserver")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: build:", err)
			return 2
		}
	}
	err = chaos.Run(ctx, o)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, chaos.ErrBroken):
		fmt.Fprintln(os.Stderr, err)
		return 1
	default:
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 2
	}
}
