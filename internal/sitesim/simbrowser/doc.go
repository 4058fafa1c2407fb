// Package simbrowser drives a real headless Chromium (through chromedp)
// through one booking on the simulated site, as a person makes it by hand
// — typing into the login form, picking the court, the date and the slot,
// clicking through to the confirmation and opening "my reservations" — and
// records the tab's network as the HAR 1.2 file a browser's developer
// tools would save. These recordings are what `reserver profile draft`
// reads; tests use them to draft profiles from traffic a real browser
// made, with its real headers, cookies, redirects and charsets.
//
// A [Recorder] records any chromedp tab; [BookEgov] and [BookCart] are the
// two flavours' flows (see internal/sitesim and docs/simulator.md for the
// pages they click).
//
// The package owns the browser side only: it starts no browser (the caller
// passes a chromedp context), serves no site and knows nothing of
// profiles. Chromium's network events do not give every header exactly as
// sent: request headers are listed sorted by name (the event carries a map,
// not the wire order), and a header the network stack adds after the
// extra-info event (such as Content-Length of a fetch) may be missing.
package simbrowser
