package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"reserver/internal/netsim"
	"reserver/internal/sitesim"
)

// serve starts the site, prints the banner and serves until ctx ends.
func serve(ctx context.Context, o options, stdout io.Writer) error {
	s, err := start(o)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, startLine(s))
	<-ctx.Done()
	if err := s.close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// served is one simulated site and everything that listens for it: with
// delay lines, the site on a free loopback port and one line per address
// in front of it; without, the site on every address (sitesim's Listen).
// Set by start, then read-only.
type served struct {
	srv   *sitesim.Server
	extra []string            // without delay lines: the URLs of addresses 2..n
	lines []*netsim.DelayLine // with delay lines: one per address
}

// start starts the site on o's addresses, each with its own delay line
// when one was asked for. On failure it closes what it had started.
func start(o options) (_ *served, err error) {
	s := &served{}
	defer func() {
		if err != nil {
			_ = s.close()
		}
	}()
	addrs := o.addrs
	if len(addrs) == 0 {
		addrs = []string{o.Addr}
	}
	site := o.Options
	site.Addr = addrs[0]
	if o.delayed() {
		site.Addr = netsim.ListenDefault
	}
	if s.srv, err = sitesim.Start(site); err != nil {
		return nil, err
	}
	if !o.delayed() {
		for _, addr := range addrs[1:] {
			u, err := s.srv.Listen(addr)
			if err != nil {
				return nil, err
			}
			s.extra = append(s.extra, u)
		}
		return s, nil
	}
	for i, addr := range addrs {
		cfg := o.net
		// Each line draws its own jitter; the first keeps -seed's.
		cfg.Listen, cfg.Target, cfg.Seed = addr, s.srv.Addr().String(), o.net.Seed+uint64(i)
		line, err := netsim.Start(cfg)
		if err != nil {
			return nil, err
		}
		s.lines = append(s.lines, line)
	}
	return s, nil
}

// urls are the URLs clients use, in -addr's order.
func (s *served) urls() []string {
	if len(s.lines) > 0 {
		urls := make([]string, len(s.lines))
		for i, l := range s.lines {
			urls[i] = l.URL()
		}
		return urls
	}
	return append([]string{s.srv.URL()}, s.extra...)
}

// close closes every delay line, then the site on all its addresses, which
// waits for the handlers still running whichever address they came in on.
func (s *served) close() error {
	var errs []error
	for _, l := range s.lines {
		errs = append(errs, l.Close())
	}
	if s.srv != nil {
		errs = append(errs, s.srv.Close())
	}
	return errors.Join(errs...)
}

// startLine says what is being served: the URL clients use (the first
// address's; its delay line's, when there is one), the flavour and its
// opening rule, the account limits when there are any, the delay lines'
// delays and, with several addresses, every URL.
func startLine(s *served) string {
	srv := s.srv
	o := srv.Options()
	urls := s.urls()
	var tail string
	if o.AccountLimitPerDay > 0 || o.AccountLimitPerWeek > 0 {
		tail = fmt.Sprintf(" limit_per_day=%d limit_per_week=%d (0 = none)", o.AccountLimitPerDay, o.AccountLimitPerWeek)
	}
	if len(s.lines) > 0 {
		c := s.lines[0].Config()
		tail += fmt.Sprintf(" net_up=%s net_down=%s net_jitter=%s", c.Up, c.Down, c.Jitter)
	}
	if len(urls) > 1 {
		tail += " urls=" + strings.Join(urls, ",")
	}
	accounts := srv.AccountName(1) + ".." + srv.AccountName(o.Accounts)
	if o.Flavor == sitesim.FlavorCart {
		return fmt.Sprintf("courtsim: serving %s flavor=%s notice=%s (each slot opens notice before its end, sim clock) hold_for=%s list_days=%d skew=%s accounts=%s%s",
			urls[0], o.Flavor, o.Notice, o.HoldFor, o.ListDays, srv.Skew(), accounts, tail)
	}
	open := "always open"
	if at := srv.OpenAt(); !at.IsZero() {
		open = at.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("courtsim: serving %s flavor=%s open_at=%s (sim clock) skew=%s accounts=%s charset=%s strict=%t%s",
		urls[0], o.Flavor, open, srv.Skew(), accounts, o.Charset, o.Strict, tail)
}
