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
// served as JSON under /_sim/ledger and returned by [Site.Ledger]. POST
// /_sim/reserve ([PathReserve]) pre-takes a slot as [Site.Reserve] does, for
// a process that cannot call it; like every /_sim/ route it is never
// blocked, delayed or faulted.
//
// With the default eGov flavour, a submit to /rent/apply.do is checked in this order: IP block, injected
// fault (a 5xx or an unapplied reset touches nothing), session, a valid
// facility/date/slot (else bad_request), opening gate, page trace and token,
// the required fields userName, userTel and people (else bad_request), and
// finally the slot and then, with Options.AccountLimitPerDay or PerWeek,
// the account's limits (MsgLimitReached, ledger result limit). The token named by the submit's slot is consumed as soon
// as the session and slot are valid, whatever the answer, so every attempt
// needs a fresh page visit. Only the latest token issued for a slot within a
// session is valid.
//
// A submit by an account for a slot it already holds answers "already
// yours" (MsgAlreadyMine); with Options.Strict it gets exactly the answer of
// a slot taken by another account, as many real sites give, so a client
// cannot lean on the site to forgive a blind resubmit. Either way the ledger
// marks such a submit Repeat and counts it in repeat_submits. The ledger's
// IP is the connection's source address, never a header.
//
// In both flavours the ledger counts double bookings (double_bookings):
// reservations of one account that overlap another of its reservations on
// the same play date and hour, the shape of one booking's alternatives
// booked twice.
//
// Injected latency is split evenly: half before the request is handled and
// half after, so a client's RTT/2 is a fair one-way estimate and the Date
// header and arrival time sit in the middle of the round trip.
//
// Options.Flavor "cart" selects a second site, deliberately unlike the
// first: a JSON API with a cart and a checkout. Login needs a pre-login
// visit for a _token bound to the SID cookie (else 419) and hands out a new
// SID and an XSRF-TOKEN cookie that every unsafe /api call must echo in
// X-XSRF-TOKEN (else 403). Each slot opens on its own, Notice before its
// end (a rolling notice, no single opening instant); POST /api/cart/items
// holds a slot for HoldFor and is the flavour's submit in the ledger (and
// where the account limits are checked, holds counting: 409
// limit_reached); the
// reservation is only made by POST /checkout/{id}/confirm, a form with a
// _csrf field. Answers use real HTTP statuses (201, 401, 403, 409, 410,
// 419, 422, 429) with JSON codes, except that anything unexpected gets a
// generic HTTP 200 English error page; messages are in the account's
// language (odd accounts Korean, even English). A repeated add by the
// holder gets the conflict answer byte for byte. Faults apply to the add and
// confirm routes as to apply.do. docs/simulator.md is the contract.
//
// The package owns the simulated site only. It knows nothing about bookings,
// profiles or the daemon; cmd/courtsim is a thin wrapper that serves it.
package sitesim
