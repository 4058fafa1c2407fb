package netsim

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"time"

	"reserver/internal/loopback"
)

// ListenDefault is the address a delay line listens on when Config.Listen
// is empty: a free port on IPv4 loopback.
const ListenDefault = "127.0.0.1:0"

// Config describes one delay line.
type Config struct {
	// Listen is the loopback address clients connect to; default
	// ListenDefault.
	Listen string
	// Target is the host:port every connection is forwarded to.
	Target string
	// Up and Down are the one-way delays client → target and
	// target → client.
	Up, Down time.Duration
	// Jitter spreads each chunk's delay uniformly over
	// [delay−Jitter, delay+Jitter]; it may not exceed Up or Down.
	Jitter time.Duration
	// Seed seeds the jitter draws.
	Seed uint64
}

func (c Config) withDefaults() Config {
	c.Listen = cmp.Or(c.Listen, ListenDefault)
	return c
}

// validate reports every problem at once, each saying what to change.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("netsim: "+format, args...)) }
	if err := checkLoopback(c.Listen); err != nil {
		bad("%w", err)
	}
	if c.Target == "" {
		bad("target is empty: give the host:port to forward to")
	} else if _, _, err := net.SplitHostPort(c.Target); err != nil {
		bad("target %q: %v; give it as host:port", c.Target, err)
	}
	if c.Up < 0 {
		bad("up delay %v is negative: use 0 or more", c.Up)
	}
	if c.Down < 0 {
		bad("down delay %v is negative: use 0 or more", c.Down)
	}
	switch {
	case c.Jitter < 0:
		bad("jitter %v is negative: use 0 or more", c.Jitter)
	case c.Up >= 0 && c.Jitter > c.Up:
		bad("jitter %v exceeds the up delay %v: use a jitter of at most %v or a longer up delay", c.Jitter, c.Up, c.Up)
	case c.Down >= 0 && c.Jitter > c.Down:
		bad("jitter %v exceeds the down delay %v: use a jitter of at most %v or a longer down delay", c.Jitter, c.Down, c.Down)
	}
	return errors.Join(errs...)
}

// checkLoopback refuses listen addresses outside 127.0.0.0/8 and ::1: a
// delay line in front of the simulator must not open it to other machines.
func checkLoopback(addr string) error {
	if err := loopback.Check(addr); err != nil {
		return fmt.Errorf("listen %q: %w", addr, err)
	}
	return nil
}
