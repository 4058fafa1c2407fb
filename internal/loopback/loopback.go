// Package loopback holds the one check that the simulator and the test
// network pieces in front of it listen only on this machine (127.0.0.0/8,
// ::1, localhost). It owns nothing else.
package loopback

import (
	"errors"
	"net"
)

// ErrNotLoopback: a listen address whose host is not a loopback IP.
var ErrNotLoopback = errors.New("host must be a loopback IP (127.0.0.0/8, ::1)")

// Host reports whether host (without a port) is localhost or a loopback IP.
func Host(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// Check returns nil when addr is host:port on a loopback host, else
// net.SplitHostPort's error or ErrNotLoopback; callers name the address.
func Check(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if !Host(host) {
		return ErrNotLoopback
	}
	return nil
}
