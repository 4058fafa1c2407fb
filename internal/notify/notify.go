// Package notify delivers the SMS confirmations that the daemon leaves in
// the transactional outbox: a Relay claims due outbox rows with a lease,
// renders each into text in the row's language (the site's own templates,
// the configured ones, or the built-in ones of internal/notify/smstext),
// hands it to a Provider (the zap log, a signed webhook, Solapi or Twilio)
// and records the provider's message id, retrying with capped exponential
// backoff for a bounded period.
//
// A send whose outcome is unknown (a timeout after the request was written,
// a reset connection, a 5xx, or a relay that died between sending and
// recording) is never blindly repeated when the provider can say whether
// the message went out: the row stays in state "sending", and the next try
// looks the message up by its stable key first (see docs/notify.md for what
// each provider guarantees).
//
// It does not write outbox rows (internal/schedule does, in the same
// transaction as the booking's outcome, with the message's language), it
// does not read site profiles (internal/app hands it each site's own
// templates), and it does not decide which events deserve a message.
package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"reserver/internal/notify/smstext"
)

// Outbox kinds, as written by internal/schedule.
const (
	KindBooked      = smstext.KindBooked
	KindLoginFailed = smstext.KindLoginFailed
	KindFailed      = smstext.KindFailed
)

// Outbox row states.
const (
	// StatePending: not sent, and no earlier try can have reached the
	// provider.
	StatePending = "pending"
	// StateSending: held by a relay (lease_until in the future), or an
	// earlier try may have reached the provider (lease_until is when to
	// look again). A relay that claims a row in this state looks the
	// message up before it sends again.
	StateSending = "sending"
	// StateSent: the provider accepted it; provider_id says under which id.
	StateSent = "sent"
	// StateFailed: given up; last_error says why.
	StateFailed = "failed"
)

var (
	// ErrPermanent marks a send the provider refused for good (a bad
	// number, a rejected sender, bad credentials): it is not retried.
	ErrPermanent = errors.New("permanent failure")
	// ErrMaybeSent marks a send that may have reached the provider (the
	// request was written but no clear answer came back).
	ErrMaybeSent = errors.New("the message may have been sent")
	// ErrConfig is returned for an unusable configuration.
	ErrConfig = errors.New("notify: bad configuration")
	// ErrStarted is returned by Start on a relay already started or stopped.
	ErrStarted = errors.New("notify: relay already started or stopped")
)

// Message is one rendered notification.
type Message struct {
	ID        int64  // outbox row id
	BookingID int64  // booking the message is about
	Kind      string // KindBooked, KindLoginFailed or KindFailed
	To        string // E.164, e.g. +821012345678
	Text      string
	// Key is stable for the outbox row across tries and relays; providers
	// use it as an idempotency key or to find an earlier try.
	Key string
	// CreatedAt is when the outbox row was written; an earlier try cannot
	// be older, so lookups search from here.
	CreatedAt time.Time
}

// Key is the idempotency key of a booking's message of a kind.
func Key(bookingID int64, kind string) string {
	return fmt.Sprintf("reserver-%d-%s", bookingID, kind)
}

// Provider sends one message and returns the provider's id for it. An error
// wrapping ErrPermanent is not retried; one wrapping ErrMaybeSent makes the
// next try look the message up first (if the provider is also a Checker).
type Provider interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
}

// Checker is a Provider that can tell whether a message went out under
// m.Key, so that a try with an unknown outcome is not repeated.
type Checker interface {
	Lookup(ctx context.Context, m Message) (providerID string, found bool, err error)
}

// permanent wraps err as not worth retrying.
func permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// maybeSent wraps err as a send with an unknown outcome.
func maybeSent(err error) error { return fmt.Errorf("%w: %w", ErrMaybeSent, err) }
