package series

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/sitetime"
)

// Site is what the materialiser needs of a booking site: its zone and its
// opening rule. The site profiles implement it.
type Site interface {
	Location() *time.Location
	// OpensAt is the opening instant of the slot start–end on playDate
	// (midnight in Location), false when the site has no opening rule.
	OpensAt(playDate time.Time, start, end string) (time.Time, bool)
}

// LimitedSite is implemented by a Site whose profile caps what one
// account may hold (account_limits): each occurrence's booking is created
// under those caps, and one they refuse is recorded with a note.
type LimitedSite interface {
	AccountLimits() profile.AccountLimits
}

// Sites finds a site by name.
type Sites interface {
	Site(name string) (Site, bool)
}

const (
	// HorizonDefault is how far ahead of its opening an occurrence's
	// booking is created.
	HorizonDefault = 14 * 24 * time.Hour
	// EveryDefault is how often the materialiser looks (a cron spec); it
	// also looks once when it starts.
	EveryDefault = "@every 1m"
)

// Config configures a Materialiser.
type Config struct {
	Series   *Store
	Bookings *booking.Store
	Sites    Sites
	// Horizon: an occurrence whose opening is at most this far ahead is
	// created (default HorizonDefault).
	Horizon time.Duration
	// Every is the cron spec of the passes (default EveryDefault).
	Every  string
	Logger *zap.Logger
	// Now is the clock of each pass (default time.Now).
	Now func() time.Time
}

// Materialiser creates the bookings of every active series' occurrences
// whose opening is within the horizon, once each, however many
// materialisers run on one database.
type Materialiser struct {
	cfg Config

	mu      sync.Mutex // guards cron, cancel, started
	cron    *cron.Cron
	cancel  context.CancelFunc
	started bool
	wg      sync.WaitGroup
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*Materialiser, error) {
	if cfg.Series == nil || cfg.Bookings == nil || cfg.Sites == nil {
		return nil, errors.New("series: Series, Bookings and Sites are required")
	}
	cfg.Horizon = cmp.Or(cfg.Horizon, HorizonDefault)
	cfg.Every = cmp.Or(cfg.Every, EveryDefault)
	if cfg.Horizon < 0 {
		return nil, fmt.Errorf("series: horizon %s is negative", cfg.Horizon)
	}
	if _, err := cron.ParseStandard(cfg.Every); err != nil {
		return nil, fmt.Errorf("series: every %q: %w", cfg.Every, err)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Materialiser{cfg: cfg}, nil
}

// Start makes one pass at once and then one at every cron tick, until
// Stop or ctx ends. Starting twice is an error.
func (m *Materialiser) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return errors.New("series: materialiser already started")
	}
	ctx, m.cancel = context.WithCancel(ctx)
	m.cron = cron.New(cron.WithChain(cron.Recover(cronLogger{m.cfg.Logger}), cron.SkipIfStillRunning(cronLogger{m.cfg.Logger})))
	pass := func() { m.pass(ctx) }
	if _, err := m.cron.AddFunc(m.cfg.Every, pass); err != nil {
		m.cancel()
		return err
	}
	m.started = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				m.cfg.Logger.Error("series pass panicked", zap.Any("panic", r))
			}
		}()
		m.pass(ctx)
	}()
	m.cron.Start()
	return nil
}

// Stop ends the passes and waits for a running one. It is safe before
// Start and twice.
func (m *Materialiser) Stop() {
	m.mu.Lock()
	c, cancel := m.cron, m.cancel
	m.cron, m.cancel = nil, nil
	m.mu.Unlock()
	if c == nil {
		return
	}
	cancel()
	<-c.Stop().Done()
	m.wg.Wait()
}

func (m *Materialiser) pass(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	res, err := m.RunOnce(ctx, m.cfg.Now())
	if err != nil && ctx.Err() == nil {
		m.cfg.Logger.Warn("series pass failed; the next one retries", zap.Error(err))
	}
	if res.Created > 0 {
		m.cfg.Logger.Info("series occurrences created", zap.Int("created", res.Created))
	}
}

// Result counts what one pass did.
type Result struct {
	// Created counts bookings this pass created; Recorded the occurrences
	// it recorded (a booking another pass created but did not record yet
	// is recorded, not created, here); Refused the occurrences recorded
	// without a booking (Occurrence.Note says why).
	Created, Recorded, Refused int
}

// RunOnce makes one pass at now: for each active series, each slot not
// skipped nor recorded whose opening is after now and at most the
// horizon ahead gets its booking. An error of one series is logged and
// the others go on; the error returned is the first.
func (m *Materialiser) RunOnce(ctx context.Context, now time.Time) (Result, error) {
	var res Result
	all, err := m.cfg.Series.Active(ctx)
	if err != nil {
		return res, err
	}
	ids := make([]int64, len(all))
	for i := range all {
		ids[i] = all[i].ID
	}
	done, err := m.cfg.Series.Occurrences(ctx, ids...)
	if err != nil {
		return res, err
	}
	var first error
	for i := range all {
		sr := &all[i]
		if err := m.series(ctx, sr, done[sr.ID], now, &res); err != nil {
			m.cfg.Logger.Warn("series occurrences not created", zap.Int64("series", sr.ID), zap.Error(err))
			first = cmp.Or(first, err)
		}
	}
	return res, first
}

func (m *Materialiser) series(ctx context.Context, sr *Series, done []Occurrence, now time.Time, res *Result) error {
	site, ok := m.cfg.Sites.Site(sr.Site)
	if !ok {
		return fmt.Errorf("site %q has no profile", sr.Site)
	}
	due, err := Due(sr, site, done, now, m.cfg.Horizon)
	if err != nil {
		return err
	}
	var lim profile.AccountLimits
	if ls, ok := site.(LimitedSite); ok {
		lim = ls.AccountLimits()
	}
	for _, p := range due {
		if err := m.occurrence(ctx, sr, p, lim, res); err != nil {
			return err
		}
	}
	return nil
}

// Planned is a slot of a series with its opening instant. With choices,
// the slot's Start and End are the first choice's, and Choices are the
// occurrence's (its date filled in). Note, when set, says why the
// occurrence cannot be booked (a choice that opens at another instant):
// it is recorded with that note and no booking.
type Planned struct {
	Slot
	OpensAt time.Time
	Choices []booking.Choice
	Note    string
}

// Due is the slots of sr not skipped nor in done whose opening is after
// now and at most horizon ahead (horizon < 0: any time ahead), in date
// order. A slot whose opening has passed is not due: it was missed (the
// series was created, resumed or down too late for it). With choices, the
// occurrence opens when its first choice does, and every other choice
// must open at that instant too, as for a booking.
func Due(sr *Series, site Site, done []Occurrence, now time.Time, horizon time.Duration) ([]Planned, error) {
	loc := site.Location()
	slots, err := sr.Slots(loc)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(done))
	for _, o := range done {
		seen[o.PlayDate] = true
	}
	var out []Planned
	for _, sl := range slots {
		if sl.Skipped || seen[sl.Date] {
			continue
		}
		day, _ := time.ParseInLocation(dateLayout, sl.Date, loc)
		cs := sr.OccurrenceChoices(sl)
		if len(cs) > 0 {
			sl.Start, sl.End = cs[0].Start, cs[0].End
		}
		opens, ok := site.OpensAt(day, sl.Start, sl.End)
		if !ok {
			return nil, fmt.Errorf("site %q has no opening rule: a series needs one", sr.Site)
		}
		if !opens.After(now) || (horizon >= 0 && opens.Sub(now) > horizon) {
			continue
		}
		p := Planned{Slot: sl, OpensAt: opens, Choices: cs}
		for i, c := range cs[min(1, len(cs)):] {
			if at, ok := site.OpensAt(day, c.Start, c.End); ok && !at.Equal(opens) {
				p.Note = fmt.Sprintf("not booked: choice %d (%s) opens at %s, not at the occurrence's opening %s (choice 1): "+
					"a booking's choices open at one instant; make it a separate series",
					i+2, c, sitetime.Format(at, loc), sitetime.Format(opens, loc))
				break
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// occurrenceKey is the Idempotency-Key of an occurrence's booking: the
// booking store's unique (tenant, key) makes a second materialiser's
// create a replay of the first's, and a lost record (a crash between the
// booking and its occurrence row) finds the booking again.
func occurrenceKey(seriesID int64, date string) (key, hash string) {
	key = fmt.Sprintf("series:%d:%s", seriesID, date)
	sum := sha256.Sum256([]byte(key))
	return key, hex.EncodeToString(sum[:])
}

func (m *Materialiser) occurrence(ctx context.Context, sr *Series, p Planned, lim profile.AccountLimits, res *Result) error {
	o := Occurrence{SeriesID: sr.ID, PlayDate: p.Date, StartTime: p.Start, EndTime: p.End, OpensAt: p.OpensAt}
	var b *booking.Booking
	var created bool
	var err error
	if p.Note == "" {
		b, created, err = m.create(ctx, sr, p, lim)
	}
	var limit *booking.LimitError
	switch {
	case p.Note != "":
		o.Note = p.Note
	case errors.As(err, &limit):
		o.Note = "not booked: " + limit.Error()
	case errors.Is(err, booking.ErrDuplicate):
		o.Note = "not booked: the tenant already has an active booking of this court and slot"
	case errors.Is(err, booking.ErrAccountOwned):
		o.Note = "not booked: the site account is registered by another tenant"
	case errors.Is(err, booking.ErrIdempotencyMismatch):
		key, _ := occurrenceKey(sr.ID, p.Date)
		o.Note = "not booked: another request used the Idempotency-Key " + key
	case err != nil:
		return fmt.Errorf("%s: %w", p.Date, err)
	default:
		o.BookingID = &b.ID
	}
	inserted, err := m.cfg.Series.record(ctx, o)
	if err != nil {
		return fmt.Errorf("%s: record the occurrence: %w", p.Date, err)
	}
	if created {
		res.Created++
		m.cfg.Logger.Info("series occurrence booked", zap.Int64("series", sr.ID), zap.String("date", p.Date), zap.Int64("booking", b.ID))
	}
	if inserted {
		res.Recorded++
		if o.BookingID == nil {
			res.Refused++
			m.cfg.Logger.Warn("series occurrence refused", zap.Int64("series", sr.ID), zap.String("date", p.Date), zap.String("note", o.Note))
		}
	}
	return nil
}

// create creates the occurrence's booking. A refusal for the account's
// limits may be a racing materialiser's booking of this very occurrence
// (created after this one looked up its key, and counted against it): the
// key finds that booking, which is then this occurrence's.
func (m *Materialiser) create(ctx context.Context, sr *Series, p Planned, lim profile.AccountLimits) (*booking.Booking, bool, error) {
	password, err := m.cfg.Series.Password(sr)
	if err != nil {
		return nil, false, err
	}
	key, hash := occurrenceKey(sr.ID, p.Date)
	b, created, err := m.cfg.Bookings.Create(ctx, booking.NewBooking{
		TenantID: sr.TenantID, Site: sr.Site, Username: sr.Username, Password: password,
		Court: sr.Court, PlayDate: p.Date, StartTime: p.Start, EndTime: p.End, OpensAt: p.OpensAt,
		Choices: p.Choices, Limits: lim,
		WindowSeconds: sr.WindowSeconds, RatePerSecond: sr.RatePerSecond,
		Phone: sr.Phone, BookerName: sr.BookerName, Fields: sr.FieldMap(),
		NotifyOn: sr.NotifyOn, NotifyLanguage: sr.NotifyLanguage,
		IdempotencyKey: key, RequestHash: hash,
	})
	var limit *booking.LimitError
	if errors.As(err, &limit) {
		if prev, rerr := m.cfg.Bookings.Replay(ctx, sr.TenantID, key, hash); rerr != nil || prev != nil {
			return prev, false, rerr
		}
	}
	return b, created, err
}

// cronLogger hands robfig/cron's messages (a recovered panic) to zap.
type cronLogger struct{ log *zap.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug(msg, zap.Any("details", kv)) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error(msg, zap.Error(err), zap.Any("details", kv))
}
