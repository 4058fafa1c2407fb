// Package session runs one logged-in site session: a resty client over a
// transport supplied by the caller, a cookie jar, and the replay of a site
// profile's steps (render, send, bounded read, charset decoding,
// extraction, classification). A step that follows redirects follows them
// only on the profile's host or the hosts it lists, never from https to
// http (Profile.RedirectAllowed); any other redirect is the step's answer.
//
// Sessions of one site account are shared through a Pool, and logging in is
// single-flight so that two logins of one account never race (legacy sites
// allow one session per account). The package never dials by itself and
// never decides what to do with a class: scheduling, rates and retries
// belong to the daemon.
package session
