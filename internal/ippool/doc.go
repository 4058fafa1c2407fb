// Package ippool owns the egresses the daemon reaches booking sites
// through: the direct route, direct bound to a local source address, HTTP
// proxies and SOCKS5 proxies. It spreads site accounts over them so that no
// egress sends a site more than a configured rate (prevention first), keeps
// one circuit breaker per (egress, site host) that opens on transport
// failures and on block pages the daemon reports, and moves an account to
// another egress after a block so a booking window is not lost.
//
// It does not classify answers (the site profile does), log in again or
// swap a session's transport (the daemon does, with what Move returns), and
// it never sleeps: it reports when an egress may be used again and the
// caller decides whether to wait.
//
// See docs/egress.md for configuration and semantics.
package ippool
