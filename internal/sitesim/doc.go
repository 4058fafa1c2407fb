// Package sitesim is a simulated court-booking site that behaves like the
// legacy Korean municipal sites reserver is built for: form login with a
// JSESSIONID cookie and one session per account, a booking page that must be
// visited before a submit and hands out a one-time token, a single opening
// instant on the site's own (skewable) clock, HTTP 200 pages that carry the
// real answer in Korean text, optional EUC-KR, a per-IP rate block, and
// injectable faults (latency, 5xx, connection resets that may or may not have
// been applied).
//
// It also records the ground truth that tests and benchmarks assert on: every
// reservation and every submit's arrival time on the simulator's clock,
// served as JSON under /_sim/ledger and returned by [Site.Ledger].
//
// The package owns the simulated site only. It knows nothing about bookings,
// profiles or the daemon; cmd/courtsim is a thin wrapper that serves it.
package sitesim
