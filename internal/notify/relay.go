package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"reserver/internal/backoff"
	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/notify/smstext"
)

// Relay moves outbox rows to the SMS provider. Several relays (one per
// daemon instance) may run against one database: a row is claimed with a
// conditional update and a lease, so one relay at a time works on it.
type Relay struct {
	cfg   Config
	log   *zap.Logger
	send  Provider
	check Checker // nil when the provider cannot look messages up
	texts texts
	now   func() time.Time
	// afterSend, in tests, runs between a successful send and its record
	// (to simulate a crash there).
	afterSend func(Message)

	mu      sync.Mutex
	started bool
	stopped bool
	stop    chan struct{}
	done    chan struct{}
}

// NewRelay validates cfg, builds its provider and returns a Relay; Start
// starts it.
func NewRelay(cfg Config) (*Relay, error) {
	cfg = cfg.withDefaults()
	if cfg.DB == nil {
		return nil, fmt.Errorf("%w: DB is required", ErrConfig)
	}
	if cfg.Instance == "" {
		return nil, fmt.Errorf("%w: Instance is required (the daemon's instance name)", ErrConfig)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tx, err := parseTexts(cfg.Templates, cfg.SiteTexts)
	if err != nil {
		return nil, err
	}
	send := cfg.Sender
	if send == nil {
		if send, err = NewProvider(cfg); err != nil {
			return nil, err
		}
	}
	check, _ := send.(Checker)
	return &Relay{
		cfg: cfg, log: cfg.Logger.Named("notify").With(zap.String("instance", cfg.Instance), zap.String("provider", cfg.Provider)),
		send: send, check: check, texts: tx,
		now:  func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		stop: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// Start runs the relay in one goroutine until Stop, or until ctx ends (a
// hard stop: a send in flight is abandoned, and the next relay looks it
// up). It returns at once.
func (r *Relay) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return ErrStarted
	}
	r.started = true
	go r.loop(ctx)
	r.log.Info("outbox relay started", zap.Duration("poll_every", r.cfg.PollEvery), zap.Duration("lease_ttl", r.cfg.LeaseTTL))
	return nil
}

// Stop stops claiming rows, lets a message in flight finish (bounded by
// the send timeout) and returns when the relay's goroutine has ended. Safe
// to call twice or before Start.
func (r *Relay) Stop() {
	r.mu.Lock()
	if !r.started || r.stopped {
		r.stopped = true
		r.mu.Unlock()
		return
	}
	r.stopped = true
	close(r.stop)
	r.mu.Unlock()
	<-r.done
	r.log.Info("outbox relay stopped")
}

func (r *Relay) loop(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(r.cfg.PollEvery)
	defer tick.Stop()
	for {
		r.drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case <-tick.C:
		}
	}
}

func (r *Relay) stopping(ctx context.Context) bool {
	select {
	case <-r.stop:
		return true
	default:
		return ctx.Err() != nil
	}
}

// drain sends due rows one at a time until none is left: each row is
// claimed just before it is sent, so its lease covers its own send only.
func (r *Relay) drain(ctx context.Context) {
	for !r.stopping(ctx) {
		row, earlier, err := r.claim(ctx, r.now())
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("outbox claim failed", zap.Error(err))
			}
			return
		}
		if row == nil {
			return
		}
		r.deliver(ctx, row, earlier)
	}
}

// dueClause selects rows a relay may claim at now: pending ones whose time
// has come, and sending ones whose lease expired (a relay died mid-send, or
// an earlier try's outcome is unknown).
const dueClause = "(state = ? AND next_at <= ?) OR (state = ? AND lease_until < ?)"

// claim takes one due row with a lease. earlier reports that an earlier
// try may have reached the provider (the row was in state sending).
func (r *Relay) claim(ctx context.Context, now time.Time) (row *booking.Outbox, earlier bool, err error) {
	var due []booking.Outbox
	err = r.cfg.DB.WithContext(ctx).Where(dueClause, StatePending, now, StateSending, now).
		Order("next_at").Order("id").Limit(r.cfg.Batch).Find(&due).Error
	if err != nil {
		return nil, false, err
	}
	until := now.Add(r.cfg.LeaseTTL)
	for i := range due {
		c := &due[i]
		var n int64
		err := database.Retry(ctx, func() error {
			// tries and state as read: every claim increments tries, so a
			// row claimed, sent and expired again since we read it (and
			// now needing a lookup) does not match.
			res := r.cfg.DB.WithContext(ctx).Model(&booking.Outbox{}).
				Where("id = ? AND state = ? AND tries = ?", c.ID, c.State, c.Tries).
				Where(dueClause, StatePending, now, StateSending, now).
				Updates(map[string]any{
					"state": StateSending, "claimed_by": r.cfg.Instance, "lease_until": until,
					"tries": gorm.Expr("tries + 1"), "updated_at": now,
				})
			n = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return nil, false, err
		}
		if n == 1 {
			earlier = c.State == StateSending
			c.State, c.ClaimedBy, c.LeaseUntil, c.Tries = StateSending, r.cfg.Instance, &until, c.Tries+1
			return c, earlier, nil
		}
	}
	return nil, false, nil
}

// deliver sends one claimed row and records the outcome.
func (r *Relay) deliver(ctx context.Context, row *booking.Outbox, earlier bool) {
	log := r.log.With(zap.Int64("outbox", row.ID), zap.Int64("booking", row.BookingID),
		zap.String("kind", row.Kind), zap.Int("try", row.Tries))
	defer func() {
		// The row keeps its lease and is looked up by whoever takes it next.
		if p := recover(); p != nil {
			log.Error("panic while delivering a message", zap.Any("panic", p), zap.Stack("stack"))
		}
	}()
	msg, err := r.message(ctx, row)
	if errors.Is(err, errBookingRead) {
		r.retry(ctx, log, row, err, earlier)
		return
	}
	if err != nil {
		r.finishFailed(ctx, log, row, err)
		return
	}
	if earlier && r.check != nil {
		lctx, cancel := context.WithTimeout(ctx, r.cfg.SendTimeout)
		id, found, err := r.check.Lookup(lctx, msg)
		cancel()
		if err != nil {
			r.retry(ctx, log, row, fmt.Errorf("look up the earlier try: %w", err), true)
			return
		}
		if found {
			log.Info("an earlier try had gone out; recording it", zap.String("provider_id", id))
			r.finishSent(ctx, log, row, id, msg)
			return
		}
	}
	if deadline := row.CreatedAt.Add(r.cfg.RetryFor); !r.now().Before(deadline) {
		r.finishFailed(ctx, log, row, fmt.Errorf("not sent within %v; last error: %s", r.cfg.RetryFor, cmpOr(row.LastError, "none")))
		return
	}
	sctx, cancel := context.WithTimeout(ctx, r.cfg.SendTimeout)
	id, err := r.send.Send(sctx, msg)
	cancel()
	if err != nil {
		if errors.Is(err, ErrPermanent) {
			r.finishFailed(ctx, log, row, err)
			return
		}
		r.retry(ctx, log, row, err, errors.Is(err, ErrMaybeSent))
		return
	}
	if r.afterSend != nil {
		r.afterSend(msg)
	}
	r.finishSent(ctx, log, row, id, msg)
}

// message renders a row.
func (r *Relay) message(ctx context.Context, row *booking.Outbox) (Message, error) {
	if row.Phone == "" {
		return Message{}, errors.New("the outbox row has no phone number")
	}
	d, err := payloadData(row.Payload)
	if err != nil {
		return Message{}, err
	}
	d.BookingID, d.Kind = row.BookingID, row.Kind
	b, err := r.booking(ctx, row.BookingID)
	if err != nil {
		return Message{}, err
	}
	if b != nil {
		withBooking(&d, row.Kind, b)
	}
	choiceWords(&d, row.Kind)
	text, err := r.texts.render(row.Kind, d)
	if err != nil {
		return Message{}, err
	}
	return Message{
		ID: row.ID, BookingID: row.BookingID, Kind: row.Kind, To: row.Phone, Text: text,
		Key: Key(row.BookingID, row.Kind), CreatedAt: row.CreatedAt.UTC(),
	}, nil
}

// errBookingRead marks a message that could not be rendered because its
// booking could not be read: a database hiccup, worth another try.
var errBookingRead = errors.New("read the booking")

// booking reads what the texts need of the row's booking: its slots, the
// one it won and its reason (nil when it no longer exists; the payload
// then says all there is).
func (r *Relay) booking(ctx context.Context, id int64) (*booking.Booking, error) {
	var bs []booking.Booking
	err := r.cfg.DB.WithContext(ctx).Select("id", "state", "reason", "court", "play_date", "start_time", "end_time", "choices", "won_choice").
		Where("id = ?", id).Limit(1).Find(&bs).Error
	if err != nil {
		return nil, fmt.Errorf("%w %d: %w", errBookingRead, id, err)
	}
	if len(bs) == 0 {
		return nil, nil
	}
	return &bs[0], nil
}

// withBooking completes d from its booking b, which says more surely
// than the payload what was booked: a confirmation names the choice the
// site booked (daemons before choices wrote the first choice's slot),
// and a failure without a reason in its payload takes the booking's.
func withBooking(d *Data, kind string, b *booking.Booking) {
	cs := b.Choices()
	d.Choices = len(cs)
	if kind == KindBooked {
		// A succeeded booking won its won_choice (choice 1 when it has
		// none); a reservation recorded late may carry one on a booking
		// that had ended otherwise.
		won := 0
		if _, ok := b.Won(); ok {
			won = 1
		}
		if b.WonChoice != nil && *b.WonChoice >= 1 && *b.WonChoice <= len(cs) {
			won = *b.WonChoice
		}
		if won > 0 {
			c := cs[won-1]
			d.Court, d.Date, d.Start, d.End = c.Court, c.Date, c.Start, c.End
			d.Choice = won
		}
	}
	if d.Reason == "" && kind == KindFailed {
		d.Reason = string(b.Reason)
	}
}

// choiceWords fills in what d's texts say about choices: which one a
// confirmation booked, how many others a failure had and why none of
// them could be booked.
func choiceWords(d *Data, kind string) {
	if kind != KindBooked {
		d.Choice = 0 // the payload's choice is the first, not one booked
	}
	d.ChoiceText = smstext.ChoiceText(d.Language, d.Choice, d.Choices)
	if kind != KindBooked && d.Choices > 1 {
		d.OtherChoices = d.Choices - 1
	}
	d.ReasonText = smstext.ChoicesReasonText(d.Language, d.Reason, d.Choices)
}

// retry schedules the next try after a failed one. uncertain: the failed
// try may have reached the provider, so the row stays "sending" with its
// lease moved to the retry time, and the next try looks it up first.
func (r *Relay) retry(ctx context.Context, log *zap.Logger, row *booking.Outbox, cause error, uncertain bool) {
	now := r.now()
	next := now.Add(backoff.Policy{Base: r.cfg.BackoffBase, Cap: r.cfg.BackoffCap}.Delay(row.Tries, rand.Float64()))
	deadline := row.CreatedAt.Add(r.cfg.RetryFor)
	if !next.Before(deadline) {
		if !uncertain || r.check == nil || !now.Before(deadline) {
			if uncertain {
				cause = fmt.Errorf("%w (the last try may have been delivered)", cause)
			}
			r.finishFailed(ctx, log, row, fmt.Errorf("not sent within %v: %w", r.cfg.RetryFor, cause))
			return
		}
		next = deadline // one last lookup, no more sends
	}
	text := r.scrub(cause.Error())
	set := map[string]any{"state": StatePending, "claimed_by": "", "lease_until": nil, "next_at": next, "last_error": truncate(text, 512), "updated_at": now}
	if uncertain {
		set["state"], set["lease_until"] = StateSending, next
	}
	log.Warn("sms not sent; will try again", zap.String("error", text), zap.Bool("maybe_sent", uncertain), zap.Time("next_at", next))
	r.record(ctx, log, row, set)
}

func (r *Relay) finishSent(ctx context.Context, log *zap.Logger, row *booking.Outbox, providerID string, m Message) {
	now := r.now()
	log.Info("sms sent", zap.String("to", maskPhone(m.To)), zap.String("provider_id", providerID))
	r.record(ctx, log, row, map[string]any{
		"state": StateSent, "provider_id": truncate(providerID, 128), "sent_at": now, "claimed_by": "",
		"lease_until": nil, "last_error": "", "updated_at": now,
	})
}

func (r *Relay) finishFailed(ctx context.Context, log *zap.Logger, row *booking.Outbox, cause error) {
	text := r.scrub(cause.Error())
	log.Error("sms given up", zap.String("error", text))
	r.record(ctx, log, row, map[string]any{
		"state": StateFailed, "claimed_by": "", "lease_until": nil, "last_error": truncate(text, 512), "updated_at": r.now(),
	})
}

// record writes a try's outcome while this relay still holds the row.
func (r *Relay) record(ctx context.Context, log *zap.Logger, row *booking.Outbox, set map[string]any) {
	var n int64
	err := database.Retry(ctx, func() error {
		res := r.cfg.DB.WithContext(ctx).Model(&booking.Outbox{}).
			Where("id = ? AND state = ? AND claimed_by = ?", row.ID, StateSending, r.cfg.Instance).
			Updates(set)
		n = res.RowsAffected
		return res.Error
	})
	switch {
	case err != nil:
		// The row keeps its lease; when it expires, the next relay looks
		// the message up before sending again.
		log.Warn("could not record the outcome of a try", zap.Error(err))
	case n == 0:
		log.Warn("lost the row's lease before recording; another relay will look the message up")
	}
}

// scrub removes configured credentials from text bound for a log or the
// database (a provider could echo one back).
func (r *Relay) scrub(text string) string {
	for _, s := range r.cfg.secrets() {
		text = strings.ReplaceAll(text, s, "***")
	}
	return text
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
