// Command courtsim serves the simulated court-booking site (internal/sitesim)
// on one or more loopback addresses, for rehearsals, demos and benchmarks;
// with -net-up, -net-down or -net-jitter it serves it behind a TCP delay
// line per address (internal/netsim), so that the loopback path looks like
// a network one. This file holds the flags; serve.go the wiring.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"reserver/internal/loopback"
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

// options are courtsim's flags: the site's, the addresses it is served on
// and the delay lines' in front of it (net's Up, Down, Jitter and Seed;
// Listen, Target and each line's seed are set by start).
type options struct {
	sitesim.Options
	// addrs are -addr's addresses in order; Options.Addr is the first.
	addrs []string
	net   netsim.Config
}

// delayed reports whether a delay line was asked for.
func (o options) delayed() bool { return o.net.Up != 0 || o.net.Down != 0 || o.net.Jitter != 0 }

func parseFlags(args []string, stderr io.Writer) (opts options, err error) {
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
Ground truth: GET /_sim/ledger (JSON, double_bookings included), POST
/_sim/reset, POST /_sim/reserve (pre-take a slot: account, facility, date,
slot).
-addr may list several loopback addresses, comma-separated: the same site
(accounts, sessions, ledger, clock) is served on each, and each is a host of
its own to a client. With -net-up, -net-down or -net-jitter, each address is
a TCP delay line of its own in front of the site and everything, the ledger
included, goes through them.

Flags:
`, sitesim.PasswordDefault)
		fs.PrintDefaults()
	}
	var (
		o      = &opts.Options
		openAt string
		openIn time.Duration
		resetA float64
		addrs  string
	)
	fs.StringVar(&addrs, "addr", "127.0.0.1:9090", "listen `address`es, comma-separated, loopback only; the banner's URL is the first's")
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
	fs.DurationVar(&o.OpenLag, "open-lag", 0, "egov: the booking check's clock runs this far behind the Date header's (negative: ahead), so submits are not_open until open_at + lag on the Date clock; within ±1m")
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
	fs.IntVar(&o.AccountLimitPerDay, "limit-per-day", 0, "at most this many reservations per account on one play date; a submit past it is answered \"limit reached\" (ledger result limit); 0 = no limit")
	fs.IntVar(&o.AccountLimitPerWeek, "limit-per-week", 0, "at most this many reservations per account in one week, Monday to Sunday of the play date; 0 = no limit")
	fs.BoolVar(&o.RecordRequests, "record-requests", false, "list every public request's arrival (at, ip, method, path) in the ledger's requests; the list grows with every request")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the fault generator and of the delay lines' jitter (the line on the i-th address, from 0, gets seed+i; same seed, same fault sequence)")
	fs.DurationVar(&opts.net.Up, "net-up", 0, "serve behind a TCP delay line with this one-way delay client → site (a fresh connection also pays one round trip for its handshake); 0 with -net-down and -net-jitter 0 = no delay line")
	fs.DurationVar(&opts.net.Down, "net-down", 0, "delay line: one-way delay site → client")
	fs.DurationVar(&opts.net.Jitter, "net-jitter", 0, "delay line: each chunk's delay is drawn from [delay−jitter, delay+jitter], in order; at most -net-up and -net-down")
	if err = fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	opts.net.Seed = uint64(o.Seed)
	if opts.addrs, err = parseAddrs(addrs); err != nil {
		return opts, err
	}
	o.Addr = opts.addrs[0]
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

// parseAddrs splits -addr's comma-separated list. It refuses an empty
// element, one that is not host:port, a host that is not a loopback IP (the
// simulator must never be reachable from another machine) and a fixed port
// listed twice, each problem naming its address.
func parseAddrs(list string) ([]string, error) {
	var (
		addrs []string
		errs  []error
		seen  = map[string]bool{}
	)
	for i, addr := range strings.Split(list, ",") {
		addr = strings.TrimSpace(addr)
		host, port, err := net.SplitHostPort(addr)
		switch {
		case addr == "":
			errs = append(errs, fmt.Errorf("-addr %q: address %d is empty", list, i+1))
		case err != nil:
			errs = append(errs, fmt.Errorf("-addr %q: %w", addr, err))
		case !loopback.Host(host):
			errs = append(errs, fmt.Errorf("-addr %q: %w", addr, loopback.ErrNotLoopback))
		case port != "0" && seen[addr]:
			errs = append(errs, fmt.Errorf("-addr %q: listed twice", addr))
		}
		seen[addr] = true
		addrs = append(addrs, addr)
	}
	return addrs, errors.Join(errs...)
}
