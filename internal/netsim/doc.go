// Package netsim is a TCP delay line on loopback: a real proxy that makes a
// loopback path look like a network one, for tests and benchmarks that talk
// to the simulated booking site (cmd/courtsim, internal/sitesim). The daemon
// never uses it in production.
//
// Each direction has its own one-way delay (Config.Up, client → target;
// Config.Down, target → client), so a path can be asymmetric. Every chunk
// read from one side is written to the other at its read time plus a delay
// drawn uniformly from [delay−Jitter, delay+Jitter], but never before the
// chunk ahead of it in the same direction: a direction is FIFO, as one TCP
// stream is, and jitter delays chunks without reordering them. A half-close
// (FIN) and a reset travel the same queue, so they arrive after the data
// sent before them and as late as that data would.
//
// On loopback a client's connect returns at once; on a real path the
// handshake costs one round trip before the client can send, and the first
// byte then needs one more one-way trip. So the first chunk a client sends on
// a connection reaches the target no earlier than accept + Up + Down + Up,
// while chunks on a reused (keep-alive) connection pay only Up. The
// benchmarks rely on this to measure what an already-open connection buys.
//
// The target sees the client's own source IP: each upstream connection is
// dialled from the client's address (127.0.0.x), so a simulator that blocks
// per IP still tells the clients apart. Only when binding that address fails
// does the delay line dial unbound.
//
// It does not model bandwidth, loss, retransmission, congestion windows or
// Nagle; it does not parse what it carries (TLS or HTTP alike); and it
// listens on loopback addresses only.
package netsim
