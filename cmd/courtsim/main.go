// Command courtsim serves the simulated court-booking site (internal/sitesim)
// on a loopback address, for rehearsals, demos and benchmarks; with
// -net-up, -net-down or -net-jitter it serves it behind a TCP delay line
// (internal/netsim), so that the loopback path looks like a network one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"reserver/internal/netsim"
	"reserver/internal/sitesim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "courtsim:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, opts, stdout); err != nil {
		fmt.Fprintln(stderr, "courtsim:", err)
		return 1
	}
	return 0
}

// options are courtsim's flags: the site's, and the delay line's in front
// of it (net's Up, Down, Jitter and Seed; Listen and Target are set by start).
type options struct {
	sitesim.Options
	net netsim.Config
}

// delayed reports whether a delay line was asked for.
func (o options) delayed() bool { return o.net.Up != 0 || o.net.Down != 0 || o.net.Jitter != 0 }

// serve starts the site, prints the banner and serves until ctx ends.
func serve(ctx context.Context, o options, stdout io.Writer) error {
	srv, line, err := start(o)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, startLine(srv, line))
	<-ctx.Done()
	var lineErr error
	if line != nil {
		lineErr = line.Close()
	}
	if err := errors.Join(lineErr, srv.Close()); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// start starts the site on o.Addr or, when a delay line was asked for, the
// site on a free loopback port and the delay line on o.Addr in front of it;
// line is nil without one.
func start(o options) (srv *sitesim.Server, line *netsim.DelayLine, err error) {
	if !o.delayed() {
		srv, err = sitesim.Start(o.Options)
		return srv, nil, err
	}
	site := o.Options
	site.Addr = netsim.ListenDefault
	if srv, err = sitesim.Start(site); err != nil {
		return nil, nil, err
	}
	cfg := o.net
	cfg.Listen, cfg.Target = o.Addr, srv.Addr().String()
	if line, err = netsim.Start(cfg); err != nil {
		_ = srv.Close()
		return nil, nil, err
	}
	return srv, line, nil
}

// startLine says what is being served: the URL clients use (the delay
// line's, when there is one), the flavour and its opening rule, and the
// delay line's delays.
func startLine(srv *sitesim.Server, line *netsim.DelayLine) string {
	o := srv.Options()
	url, network := srv.URL(), ""
	if line != nil {
		url = line.URL()
		c := line.Config()
		network = fmt.Sprintf(" net_up=%s net_down=%s net_jitter=%s", c.Up, c.Down, c.Jitter)
	}
	accounts := srv.AccountName(1) + ".." + srv.AccountName(o.Accounts)
	if o.Flavor == sitesim.FlavorCart {
		return fmt.Sprintf("courtsim: serving %s flavor=%s notice=%s (each slot opens notice before its end, sim clock) hold_for=%s list_days=%d skew=%s accounts=%s%s",
			url, o.Flavor, o.Notice, o.HoldFor, o.ListDays, srv.Skew(), accounts, network)
	}
	open := "always open"
	if at := srv.OpenAt(); !at.IsZero() {
		open = at.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("courtsim: serving %s flavor=%s open_at=%s (sim clock) skew=%s accounts=%s charset=%s strict=%t%s",
		url, o.Flavor, open, srv.Skew(), accounts, o.Charset, o.Strict, network)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("courtsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: courtsim [flags]

Serves a simulated court-booking site on a loopback address: the legacy
Korean eGov site (-flavor egov, the default) or a JSON-API site with a cart
and a checkout (-flavor cart; see docs/simulator.md).
Accounts user001..userNNN (zero-padded to at least 3 digits) all share the
password given by -password (default %q). With -flavor cart, odd-numbered
accounts answer in Korean and even-numbered ones in English.
Ground truth: GET /_sim/ledger (JSON), POST /_sim/reset.
With -net-up, -net-down or -net-jitter, -addr is a TCP delay line in front
of the site and everything, the ledger included, goes through it.

Flags:
`, sitesim.PasswordDefault)
		fs.PrintDefaults()
	}
	var (
		opts   options
		o      = &opts.Options
		openAt string
		openIn time.Duration
		resetA float64
	)
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:9090", "listen `address` (loopback only)")
	fs.StringVar(&o.Flavor, "flavor", sitesim.FlavorDefault, "site to simulate: egov (legacy form site) or cart (JSON API with cart and checkout)")
	fs.DurationVar(&o.Notice, "notice", sitesim.NoticeDefault, "cart: a slot can be put in the cart this long before its end")
	fs.DurationVar(&o.HoldFor, "hold-for", sitesim.HoldForDefault, "cart: how long a slot stays in the cart before it expires")
	fs.IntVar(&o.ListDays, "list-days", sitesim.ListDaysDefault, "cart: how many days ahead GET /api/reservations lists")
	fs.IntVar(&o.Facilities, "facilities", sitesim.FacilitiesDefault, "number of facilities (facilityNo 1..N)")
	fs.IntVar(&o.Slots, "slots", sitesim.SlotsDefault, "time slots per day (timeNo 1..M)")
	fs.IntVar(&o.Accounts, "accounts", sitesim.AccountsDefault, "number of generated accounts user001..userNNN")
	fs.StringVar(&o.Password, "password", sitesim.PasswordDefault, "password shared by every account")
	fs.StringVar(&openAt, "open-at", "", "egov: opening instant on the sim clock, RFC 3339 (empty and no -open-in = always open)")
	fs.DurationVar(&openIn, "open-in", 0, "egov: open this long after start (machine now + skew + duration); 0 = not used")
	fs.DurationVar(&o.Skew, "skew", 0, "sim clock minus machine clock (may be negative), e.g. 2.3s; default 0")
	fs.StringVar(&o.Charset, "charset", sitesim.CharsetDefault, "page and form charset: utf-8 or euc-kr (egov only)")
	fs.DurationVar(&o.SessionIdle, "session-idle", sitesim.SessionIdleDefault, "session idle expiry")
	fs.BoolVar(&o.TokenReuse, "token-reuse", false, "egov: let a rentToken be submitted more than once (default: consumed by every submit)")
	fs.IntVar(&o.BlockRPS, "block-rps", 0, "block an IP sending more than this many requests in a sliding 1s window; 0 = off")
	fs.DurationVar(&o.BlockFor, "block-for", sitesim.BlockForDefault, "how long a blocked IP stays blocked")
	fs.DurationVar(&o.Latency, "latency", 0, "fixed extra latency per response; 0 = none")
	fs.DurationVar(&o.Jitter, "jitter", 0, "uniform extra latency in [0, jitter) per response; 0 = none")
	fs.Float64Var(&o.FailRate, "fail-rate", 0, "fraction of submits answered by 500/503 (not applied); 0 = none")
	fs.BoolVar(&o.FailPages, "fail-pages", false, "apply -fail-rate to every public page, not only submits")
	fs.Float64Var(&o.ResetRate, "reset-rate", 0, "fraction of submits answered by a connection reset; 0 = none")
	fs.Float64Var(&resetA, "reset-applied", sitesim.ResetAppliedDefault, "fraction of resets whose submit was applied first")
	fs.BoolVar(&o.Strict, "strict", false, "egov: answer a repeated submit for a slot the account already holds exactly like a slot taken by another account (the ledger still counts it in repeat_submits); cart always does")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the fault generator and of the delay line's jitter (default 0; same seed, same fault sequence)")
	fs.DurationVar(&opts.net.Up, "net-up", 0, "serve behind a TCP delay line with this one-way delay client → site (a fresh connection also pays one round trip for its handshake); 0 with -net-down and -net-jitter 0 = no delay line")
	fs.DurationVar(&opts.net.Down, "net-down", 0, "delay line: one-way delay site → client")
	fs.DurationVar(&opts.net.Jitter, "net-jitter", 0, "delay line: each chunk's delay is drawn from [delay−jitter, delay+jitter], in order; at most -net-up and -net-down")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	opts.net.Seed = uint64(o.Seed)
	switch {
	case openAt != "" && openIn != 0:
		return opts, errors.New("use either -open-at or -open-in, not both")
	case openAt != "":
		t, err := time.Parse(time.RFC3339Nano, openAt)
		if err != nil {
			return opts, fmt.Errorf("-open-at: %w", err)
		}
		o.OpenAt = t
	case openIn != 0:
		o.OpenAt = time.Now().Add(o.Skew).Add(openIn)
	}
	o.ResetApplied = resetA
	if resetA == 0 {
		o.ResetApplied = sitesim.ResetAppliedNever
	}
	return opts, nil
}
