package series

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/secret"
)

var (
	// ErrNotFound is returned for a series that does not exist or that the
	// caller may not see.
	ErrNotFound = errors.New("series not found")
	// ErrEnded is returned when an ended series is asked to pause or
	// resume: ended is final.
	ErrEnded = errors.New("the series has ended; create a new one")
)

// Store keeps series and their occurrences.
type Store struct {
	db  *database.DB
	box *secret.Box
}

// NewStore returns a Store; box seals and opens the series' site passwords.
func NewStore(db *database.DB, box *secret.Box) *Store {
	return &Store{db: db, box: box}
}

// NewSeries is what the API stores; its values were validated.
type NewSeries struct {
	TenantID           int64
	Site               string
	Username, Password string
	Court              string
	Rule               Rule
	From, Until        string
	Skip               []string
	WindowSeconds      int
	RatePerSecond      float64
	Phone, BookerName  string
	Fields             map[string]string
	// Choices are the occurrences' courts and times in order of
	// preference, without dates (each occurrence's date); Start and End
	// may be empty (the occurrence's slot). When set, Court is the first
	// choice's court.
	Choices []booking.Choice
	// NotifyOn and NotifyLanguage go to every occurrence's booking.
	NotifyOn, NotifyLanguage string
	IdempotencyKey           string
	RequestHash              string
}

// encodeChoices is the choices column of cs (nil when empty), refusing a
// list no occurrence could book: the API validated each value first; this
// guards the data.
func encodeChoices(cs []booking.Choice) (*string, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	if len(cs) > booking.MaxChoices {
		return nil, fmt.Errorf("series choices: %d, at most %d", len(cs), booking.MaxChoices)
	}
	for i, c := range cs {
		switch {
		case c.Court == "":
			return nil, fmt.Errorf("series choice %d has no court", i+1)
		case c.Date != "":
			return nil, fmt.Errorf("series choice %d has a date (%s): each occurrence's date is used", i+1, c.Date)
		}
	}
	raw, err := json.Marshal(cs)
	if err != nil {
		return nil, err
	}
	s := string(raw)
	return &s, nil
}

func sealContext(tenantID int64, site, username string) []byte {
	return fmt.Appendf(nil, "series:%d:%s:%s", tenantID, site, username)
}

// Create stores an active series. With an idempotency key it returns the
// series stored earlier under that key (created=false) when the request
// matches, booking.ErrIdempotencyMismatch when it does not. A site account
// another tenant registered is booking.ErrAccountOwned, as for a booking.
func (s *Store) Create(ctx context.Context, ns NewSeries) (sr *Series, created bool, err error) {
	if ns.IdempotencyKey != "" {
		if prev, err := s.replay(ctx, ns.TenantID, ns.IdempotencyKey, ns.RequestHash); err != nil || prev != nil {
			return prev, false, err
		}
	}
	var others int64
	if err := s.db.WithContext(ctx).Model(&booking.Account{}).
		Where("site = ? AND username = ? AND tenant_id <> ?", ns.Site, ns.Username, ns.TenantID).Count(&others).Error; err != nil {
		return nil, false, err
	}
	if others > 0 {
		return nil, false, booking.ErrAccountOwned
	}
	if ns.Fields == nil {
		ns.Fields = map[string]string{}
	}
	fields, err := json.Marshal(ns.Fields)
	if err != nil {
		return nil, false, err
	}
	skip := ns.Skip
	if skip == nil {
		skip = []string{}
	}
	skipJSON, err := json.Marshal(skip)
	if err != nil {
		return nil, false, err
	}
	choices, err := encodeChoices(ns.Choices)
	if err != nil {
		return nil, false, err
	}
	if len(ns.Choices) > 0 {
		ns.Court = ns.Choices[0].Court
	}
	sealed, err := s.box.Seal([]byte(ns.Password), sealContext(ns.TenantID, ns.Site, ns.Username))
	if err != nil {
		return nil, false, err
	}
	now := database.Now()
	sr = &Series{
		TenantID: ns.TenantID, Site: ns.Site, Username: ns.Username, PasswordEnc: sealed, Court: ns.Court,
		Weekdays: WeekdayNames(ns.Rule.Weekdays), Cron: ns.Rule.Cron, SlotMinutes: ns.Rule.SlotMinutes,
		SeasonFrom: ns.From, SeasonUntil: ns.Until, Skip: string(skipJSON),
		WindowSeconds: ns.WindowSeconds, RatePerSecond: ns.RatePerSecond,
		Phone: ns.Phone, BookerName: ns.BookerName, Fields: string(fields),
		ChoiceList: choices, NotifyOn: ns.NotifyOn, NotifyLanguage: ns.NotifyLanguage,
		State: Active, RequestHash: ns.RequestHash, CreatedAt: now, UpdatedAt: now,
	}
	if len(ns.Rule.Weekdays) > 0 {
		sr.StartTime, sr.EndTime = ns.Rule.Start, ns.Rule.End
	}
	if ns.IdempotencyKey != "" {
		k := ns.IdempotencyKey
		sr.IdempotencyKey = &k
	}
	err = database.Retry(ctx, func() error { return s.db.WithContext(ctx).Create(sr).Error })
	if errors.Is(err, gorm.ErrDuplicatedKey) && ns.IdempotencyKey != "" {
		// A concurrent request with the same key won the race.
		prev, err := s.replay(ctx, ns.TenantID, ns.IdempotencyKey, ns.RequestHash)
		return prev, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("store series: %w", err)
	}
	return sr, true, nil
}

func (s *Store) replay(ctx context.Context, tenantID int64, key, hash string) (*Series, error) {
	var prev Series
	err := s.db.WithContext(ctx).Where("tenant_id = ? AND idempotency_key = ?", tenantID, key).Take(&prev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(prev.RequestHash), []byte(hash)) != 1 {
		return nil, booking.ErrIdempotencyMismatch
	}
	return &prev, nil
}

func scoped(q *gorm.DB, sc booking.Scope) *gorm.DB {
	if sc.All {
		return q
	}
	return q.Where("tenant_id = ?", sc.TenantID)
}

// Get returns the series id if sc may see it.
func (s *Store) Get(ctx context.Context, sc booking.Scope, id int64) (*Series, error) {
	var sr Series
	err := scoped(s.db.WithContext(ctx), sc).Where("id = ?", id).Take(&sr).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &sr, err
}

// ListFilter selects series: those sc may see, in states (all when
// empty), with ids below Before (none when 0), newest first, Limit of
// them (all when 0).
type ListFilter struct {
	Scope  booking.Scope
	States []State
	Before int64
	Limit  int
}

// List returns the series f selects.
func (s *Store) List(ctx context.Context, f ListFilter) ([]Series, error) {
	q := scoped(s.db.WithContext(ctx), f.Scope)
	if len(f.States) > 0 {
		q = q.Where("state IN ?", f.States)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var out []Series
	return out, q.Order("id DESC").Find(&out).Error
}

// SetState moves the series id to: pause (active → paused), resume
// (paused → active) or end (active or paused → ended). Asking for the
// state it is in already changes nothing and is no error; pausing or
// resuming an ended series is ErrEnded. The update is conditional on the
// state it read, so a concurrent change is not overwritten.
func (s *Store) SetState(ctx context.Context, sc booking.Scope, id int64, to State) (*Series, error) {
	for range 3 {
		sr, err := s.Get(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		if sr.State == to {
			return sr, nil
		}
		if sr.State == Ended {
			return sr, ErrEnded
		}
		now := database.Now()
		set := map[string]any{"state": to, "updated_at": now}
		if to == Ended {
			set["ended_at"] = now
		}
		res := s.db.WithContext(ctx).Model(&Series{}).Where("id = ? AND state = ?", id, sr.State).Updates(set)
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected == 1 {
			return s.Get(ctx, sc, id)
		}
	}
	return nil, errors.New("the series changed concurrently three times; try again")
}

// Active returns every active series, of every tenant: the
// materialiser's work.
func (s *Store) Active(ctx context.Context) ([]Series, error) {
	var out []Series
	return out, s.db.WithContext(ctx).Where("state = ?", Active).Order("id").Find(&out).Error
}

// Occurrences returns the occurrences recorded for the series ids, by
// series and then by date.
func (s *Store) Occurrences(ctx context.Context, ids ...int64) (map[int64][]Occurrence, error) {
	out := map[int64][]Occurrence{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Occurrence
	if err := s.db.WithContext(ctx).Where("series_id IN ?", ids).Order("series_id, play_date").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, o := range rows {
		out[o.SeriesID] = append(out[o.SeriesID], o)
	}
	return out, nil
}

// record writes o unless an occurrence of that series and date is
// recorded already (another materialiser's); inserted says which.
func (s *Store) record(ctx context.Context, o Occurrence) (inserted bool, err error) {
	o.OpensAt = o.OpensAt.UTC().Truncate(time.Microsecond)
	o.CreatedAt = database.Now()
	err = database.Retry(ctx, func() error {
		res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&o)
		inserted = res.RowsAffected == 1
		return res.Error
	})
	return inserted, err
}

// Password opens the series' site password.
func (s *Store) Password(sr *Series) (string, error) {
	if len(sr.PasswordEnc) == 0 {
		return "", nil // a guest site: no password
	}
	p, err := s.box.Open(sr.PasswordEnc, sealContext(sr.TenantID, sr.Site, sr.Username))
	if err != nil {
		return "", fmt.Errorf("series %d: open the site password: %w", sr.ID, err)
	}
	return string(p), nil
}
