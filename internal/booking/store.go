package booking

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"reserver/internal/database"
	"reserver/internal/profile"
	"reserver/internal/secret"
)

var (
	// ErrNotFound is returned for a booking that does not exist or that the
	// caller may not see.
	ErrNotFound = errors.New("booking not found")
	// ErrDuplicate is returned when the tenant already has an active booking
	// of the same slot for the same account.
	ErrDuplicate = errors.New("an active booking for this account, court, date and time already exists")
	// ErrIdempotencyMismatch is returned when an Idempotency-Key is reused
	// with a different request.
	ErrIdempotencyMismatch = errors.New("this Idempotency-Key was used with a different request")
	// ErrTerminal is returned when a finished booking is asked to change.
	ErrTerminal = errors.New("booking is already finished")
	// ErrConflict is returned when a conditional update found the booking
	// in another state (or held by another instance) than expected.
	ErrConflict = errors.New("booking changed concurrently")
	// ErrAccountOwned is returned when a tenant queues a booking for a site
	// account that another tenant registered first: a site account belongs
	// to one tenant (docs/security.md).
	ErrAccountOwned = errors.New("this site account is registered by another tenant")
)

// Store keeps bookings, site accounts, attempts and outbox rows.
type Store struct {
	db  *database.DB
	box *secret.Box
}

// NewStore returns a Store; box seals and opens site passwords.
func NewStore(db *database.DB, box *secret.Box) *Store {
	return &Store{db: db, box: box}
}

// DB exposes the database for packages that share a transaction with the
// store (the outbox relay).
func (s *Store) DB() *database.DB { return s.db }

// NewBooking is what the API stores.
type NewBooking struct {
	TenantID       int64
	Site           string
	Username       string
	Password       string
	Court          string
	PlayDate       string
	StartTime      string
	EndTime        string
	OpensAt        time.Time
	WindowSeconds  int
	RatePerSecond  float64
	Phone          string
	BookerName     string
	Fields         map[string]string
	NotifyOn       string // one of the Notify* values
	NotifyLanguage string // ko, en or empty (the site's choice)
	// Choices are the booking's slots in order of preference; when set,
	// the first is its Court, PlayDate, StartTime and EndTime (which are
	// then ignored). Priority: see Booking.Priority.
	Choices  []Choice
	Priority int
	// Limits are the site's caps per account: a booking that would exceed
	// them is refused with a *LimitError.
	Limits         profile.AccountLimits
	IdempotencyKey string
	RequestHash    string // hash of the request body, compared on key reuse
}

// Create stores a queued booking, creating or updating the site account.
// With an idempotency key it returns the booking stored earlier under that
// key (created=false) when the request matches, ErrIdempotencyMismatch when
// it does not. Nothing is written when it fails.
func (s *Store) Create(ctx context.Context, nb NewBooking) (b *Booking, created bool, err error) {
	if nb.IdempotencyKey != "" {
		prev, err := s.Replay(ctx, nb.TenantID, nb.IdempotencyKey, nb.RequestHash)
		if err != nil {
			return nil, false, err
		}
		if prev != nil {
			return prev, false, nil
		}
	}
	fields, err := json.Marshal(nb.Fields)
	if err != nil {
		return nil, false, err
	}
	if nb.Fields == nil {
		fields = []byte("{}")
	}
	if len(nb.Choices) > 0 {
		first := nb.Choices[0]
		nb.Court, nb.PlayDate, nb.StartTime, nb.EndTime = first.Court, first.Date, first.Start, first.End
	}
	choices, err := encodeChoices(nb.Choices)
	if err != nil {
		return nil, false, err
	}
	err = database.Retry(ctx, func() error {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			acct, err := s.account(tx, nb.TenantID, nb.Site, nb.Username, nb.Password)
			if err != nil {
				return err
			}
			probe := Booking{Court: nb.Court, PlayDate: nb.PlayDate, StartTime: nb.StartTime, EndTime: nb.EndTime, ChoiceList: choices}
			if err := s.checkLimits(tx, acct, 0, probe.mayHold(), nb.Limits); err != nil {
				return err
			}
			// The booking keeps its own password: it logs in with it
			// (unless a later login proved a new one for the account), so
			// a mistyped password fails this booking only.
			own, err := s.box.Seal([]byte(nb.Password), acct.sealContext())
			if err != nil {
				return err
			}
			key := activeKey(nb.TenantID, acct.ID, nb.Site, nb.Court, nb.PlayDate, nb.StartTime, nb.EndTime)
			b = &Booking{
				TenantID:       nb.TenantID,
				AccountID:      acct.ID,
				Site:           nb.Site,
				Court:          nb.Court,
				PlayDate:       nb.PlayDate,
				StartTime:      nb.StartTime,
				EndTime:        nb.EndTime,
				OpensAt:        utc(nb.OpensAt),
				WindowSeconds:  nb.WindowSeconds,
				RatePerSecond:  nb.RatePerSecond,
				Phone:          nb.Phone,
				BookerName:     nb.BookerName,
				Fields:         string(fields),
				NotifyOn:       nb.NotifyOn,
				NotifyLanguage: nb.NotifyLanguage,
				ChoiceList:     choices,
				Priority:       nb.Priority,
				State:          Queued,
				ActiveKey:      &key,
				RequestHash:    nb.RequestHash,
				PasswordEnc:    own,
				Version:        1,
			}
			if nb.IdempotencyKey != "" {
				k := nb.IdempotencyKey
				b.IdempotencyKey = &k
			}
			return tx.Omit("Account").Create(b).Error
		})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// Either the slot is already active, or a concurrent request with
		// the same idempotency key won the race.
		if nb.IdempotencyKey != "" {
			if prev, err := s.Replay(ctx, nb.TenantID, nb.IdempotencyKey, nb.RequestHash); err != nil || prev != nil {
				return prev, false, err
			}
		}
		return nil, false, ErrDuplicate
	}
	if err != nil {
		return nil, false, fmt.Errorf("store booking: %w", err)
	}
	return b, true, nil
}

// Replay returns the booking the tenant stored earlier under the
// Idempotency-Key key when requestHash says it is the same request, nil
// when the key is new, and ErrIdempotencyMismatch when another request
// used it. A stored hash that is empty was written before request hashes
// were keyed (migration 00004 cleared them): it cannot be compared, and is
// taken as a replay.
func (s *Store) Replay(ctx context.Context, tenantID int64, key, requestHash string) (*Booking, error) {
	prev, err := s.byIdempotencyKey(ctx, tenantID, key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if prev.RequestHash != "" && subtle.ConstantTimeCompare([]byte(prev.RequestHash), []byte(requestHash)) != 1 {
		return nil, ErrIdempotencyMismatch
	}
	return prev, nil
}

// account finds the tenant's site account or creates it with password.
// An existing account keeps its password: a new one given with a booking is
// that booking's own until a login proves it (ProvePassword). A site
// account that another tenant registered first is ErrAccountOwned.
func (s *Store) account(tx *gorm.DB, tenantID int64, site, username, password string) (*Account, error) {
	acct := &Account{TenantID: tenantID, Site: site, Username: username}
	err := tx.Where("tenant_id = ? AND site = ? AND username = ?", tenantID, site, username).Take(acct).Error
	if err == nil {
		return acct, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, err
	}
	var others int64
	if err := tx.Model(&Account{}).Where("site = ? AND username = ? AND tenant_id <> ?", site, username, tenantID).Count(&others).Error; err != nil {
		return nil, err
	}
	if others > 0 {
		return nil, ErrAccountOwned
	}
	sealed, err := s.box.Seal([]byte(password), acct.sealContext())
	if err != nil {
		return nil, err
	}
	acct.PasswordEnc = sealed
	return acct, tx.Create(acct).Error
}

// LoginPassword is the site password booking b logs in with: the
// account's when a login proved it after b was created or its password
// last patched (the user changed the password since), else b's own (or the account's, for bookings older
// than per-booking passwords). b.Account must be loaded.
func (s *Store) LoginPassword(b *Booking) (string, error) {
	a := b.Account
	if a == nil {
		return "", fmt.Errorf("booking %d: account not loaded", b.ID)
	}
	ownSince := b.CreatedAt
	if b.PasswordSetAt != nil {
		ownSince = *b.PasswordSetAt // a PATCH gave it a new one since
	}
	if len(b.PasswordEnc) == 0 || a.PasswordProvenAt != nil && a.PasswordProvenAt.After(ownSince) {
		return s.Password(a)
	}
	p, err := s.box.Open(b.PasswordEnc, a.sealContext())
	if err != nil {
		return "", fmt.Errorf("booking %d: %w", b.ID, err)
	}
	return string(p), nil
}

// ProvePassword records that a login succeeded with password for account
// id: it becomes the account's password (for the next login of bookings
// made before now) unless it already is.
func (s *Store) ProvePassword(ctx context.Context, id int64, password string, now time.Time) error {
	return database.Retry(ctx, func() error {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var a Account
			if err := tx.Where("id = ?", id).Take(&a).Error; err != nil {
				return err
			}
			if cur, err := s.box.Open(a.PasswordEnc, a.sealContext()); err == nil && string(cur) == password {
				return nil
			}
			sealed, err := s.box.Seal([]byte(password), a.sealContext())
			if err != nil {
				return err
			}
			return tx.Model(&a).Updates(map[string]any{"password_enc": sealed, "password_proven_at": utc(now), "updated_at": utc(now)}).Error
		})
	})
}

// Password opens the sealed password of an account.
func (s *Store) Password(a *Account) (string, error) {
	p, err := s.box.Open(a.PasswordEnc, a.sealContext())
	if err != nil {
		return "", fmt.Errorf("account %d: %w", a.ID, err)
	}
	return string(p), nil
}

func (s *Store) byIdempotencyKey(ctx context.Context, tenantID int64, key string) (*Booking, error) {
	var b Booking
	err := s.db.WithContext(ctx).Where("tenant_id = ? AND idempotency_key = ?", tenantID, key).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// Scope limits what a caller sees: one tenant, or all (operators).
type Scope struct {
	TenantID int64
	All      bool
}

func (sc Scope) apply(q *gorm.DB) *gorm.DB {
	if sc.All {
		return q
	}
	return q.Where("tenant_id = ?", sc.TenantID)
}

// Get returns one booking visible in scope, with its account.
func (s *Store) Get(ctx context.Context, sc Scope, id int64) (*Booking, error) {
	var b Booking
	err := sc.apply(s.db.WithContext(ctx).Preload("Account")).Where("id = ?", id).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// ListFilter selects bookings for List.
type ListFilter struct {
	Scope
	State State // empty: any
	After int64 // cursor: ids greater than this
	Limit int
}

// List returns bookings in id order, at most Limit (1..500, default 50),
// each with its account (as Get), so that a list shows who books.
func (s *Store) List(ctx context.Context, f ListFilter) ([]Booking, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	q := f.apply(s.db.WithContext(ctx).Preload("Account")).Where("id > ?", f.After)
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	var out []Booking
	err := q.Order("id").Limit(limit).Find(&out).Error
	return out, err
}

// Change is what a transition writes besides the state.
type Change struct {
	Reason        Reason
	ReservationNo string
	// WonChoice is the 1-based choice a success booked (0: not recorded).
	WonChoice int
	// Instance, when set, requires the booking to be held by this instance
	// (self-fencing: a daemon that lost its lease cannot finish a booking).
	Instance string
	// Now is the caller's clock; zero means database.Now().
	Now time.Time
}

// Transition moves booking id from → to, writing c, as one conditional
// update. ErrConflict means the booking was not in from (or not held by
// c.Instance); ErrNotFound that it does not exist.
func (s *Store) Transition(ctx context.Context, id int64, from, to State, c Change) error {
	return database.Retry(ctx, func() error {
		return s.transition(s.db.WithContext(ctx), id, from, to, c)
	})
}

func (s *Store) transition(tx *gorm.DB, id int64, from, to State, c Change) error {
	return s.move(tx, id, from, to, c, nil, nil)
}

// move is transition with more columns to write (set, which wins over the
// ones transition writes) and more conditions (where, nil for none), for
// the moves that need them: a cancel that must not overtake a live lease,
// a late success that flags the booking for review.
func (s *Store) move(tx *gorm.DB, id int64, from, to State, c Change, set map[string]any, where func(*gorm.DB) *gorm.DB) error {
	if !CanMove(from, to) {
		return fmt.Errorf("booking %d: %s → %s is not a transition of the state machine", id, from, to)
	}
	now := c.Now
	if now.IsZero() {
		now = database.Now()
	}
	now = utc(now)
	updates := map[string]any{
		"state":      to,
		"version":    gorm.Expr("version + 1"),
		"updated_at": now,
	}
	if c.Reason != "" {
		updates["reason"] = c.Reason
	}
	if c.ReservationNo != "" {
		updates["reservation_no"] = c.ReservationNo
	}
	if c.WonChoice > 0 {
		updates["won_choice"] = c.WonChoice
	}
	if to.Terminal() {
		updates["finished_at"] = now
		updates["active_key"] = nil
		updates["claimed_by"] = ""
		updates["lease_until"] = nil
	}
	if to == Queued {
		updates["claimed_by"] = ""
		updates["lease_until"] = nil
	}
	for k, v := range set {
		updates[k] = v
	}
	q := tx.Model(&Booking{}).Where("id = ? AND state = ?", id, from)
	if c.Instance != "" {
		q = q.Where("claimed_by = ?", c.Instance)
	}
	if where != nil {
		q = where(q)
	}
	res := q.Updates(updates)
	if res.Error != nil {
		return fmt.Errorf("booking %d %s → %s: %w", id, from, to, res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	var n int64
	if err := tx.Model(&Booking{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return ErrConflict
}

// Claim takes the lease of booking id for instance until leaseUntil, when
// the booking is queued, or armed/running with an expired lease (takeover).
// A queued booking becomes armed; a taken-over one keeps its state. A
// booking whose holder died with a cancel request pending is cancelled
// instead of taken over, and Claim returns ErrConflict: nobody may run it
// again. When the booking cannot be read back after the claim, the lease is
// given up at once, so that the booking is not left claimed and unrun for
// a whole lease.
func (s *Store) Claim(ctx context.Context, id int64, instance string, now, leaseUntil time.Time) (*Booking, error) {
	var takeover bool
	err := database.Retry(ctx, func() (err error) {
		takeover, err = s.claim(ctx, id, instance, utc(now), utc(leaseUntil))
		return err
	})
	if err != nil {
		return nil, err
	}
	b, err := s.Get(ctx, Scope{All: true}, id)
	if err != nil {
		// The context may be why Get failed; the release must not share it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		var rerr error
		if takeover {
			rerr = s.Release(rctx, id, instance)
		} else {
			rerr = s.Transition(rctx, id, Armed, Queued, Change{Instance: instance, Now: now})
		}
		if rerr != nil {
			return nil, fmt.Errorf("booking %d: read after claim: %w (and giving the lease back failed: %v)", id, err, rerr)
		}
		return nil, fmt.Errorf("booking %d: read after claim (lease given back): %w", id, err)
	}
	b.TakenOver = takeover
	return b, nil
}

// releaseTimeout bounds giving a lease back after a failed claim.
const releaseTimeout = 5 * time.Second

func (s *Store) claim(ctx context.Context, id int64, instance string, now, leaseUntil time.Time) (takeover bool, _ error) {
	res := s.db.WithContext(ctx).Model(&Booking{}).
		Where("id = ? AND state = ?", id, Queued).
		Updates(map[string]any{
			"state": Armed, "claimed_by": instance, "lease_until": leaseUntil,
			"version": gorm.Expr("version + 1"), "updated_at": now,
		})
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 1 {
		return false, nil
	}
	expired := func(q *gorm.DB) *gorm.DB {
		return q.Where("id = ? AND state IN ? AND (lease_until IS NULL OR lease_until < ?)", id, []State{Armed, Running}, now)
	}
	// A requested cancel of a gone holder is carried out here, unless the
	// holder may have sent a submit: then the claimer runs the booking,
	// verifies first and finishes the cancel itself.
	res = noSubmitYet(expired(s.db.WithContext(ctx).Model(&Booking{})), now).
		Where("cancel_requested_at IS NOT NULL").
		Updates(finishCancelUpdates(now))
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 1 {
		return false, ErrConflict
	}
	res = expired(s.db.WithContext(ctx).Model(&Booking{})).
		Updates(map[string]any{
			"claimed_by": instance, "lease_until": leaseUntil,
			"version": gorm.Expr("version + 1"), "updated_at": now,
		})
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected == 0 {
		return false, ErrConflict
	}
	return true, nil
}

// Renew extends the leases of the given bookings held by instance and
// returns the ids it still holds; a booking missing from the result was
// taken over, finished or cancelled, and the instance must stop it.
func (s *Store) Renew(ctx context.Context, instance string, ids []int64, now, leaseUntil time.Time) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	now, leaseUntil = utc(now), utc(leaseUntil)
	q := s.db.WithContext(ctx).Model(&Booking{}).
		Where("id IN ? AND claimed_by = ? AND state IN ? AND lease_until >= ?", ids, instance, []State{Armed, Running}, now)
	err := database.Retry(ctx, func() error {
		return q.Updates(map[string]any{"lease_until": leaseUntil}).Error
	})
	if err != nil {
		return nil, err
	}
	var held []int64
	err = s.db.WithContext(ctx).Model(&Booking{}).
		Where("id IN ? AND claimed_by = ? AND state IN ? AND lease_until = ?", ids, instance, []State{Armed, Running}, leaseUntil).
		Pluck("id", &held).Error
	return held, err
}

// Release gives up instance's lease on booking id so that another instance
// can take it over at once; the state is kept.
func (s *Store) Release(ctx context.Context, id int64, instance string) error {
	return database.Retry(ctx, func() error {
		return s.db.WithContext(ctx).Model(&Booking{}).
			Where("id = ? AND claimed_by = ?", id, instance).
			Updates(map[string]any{"claimed_by": "", "lease_until": nil}).Error
	})
}

// Claimable returns ids of bookings an instance may claim now: queued ones
// whose opening is before horizon, and armed/running ones whose lease has
// expired.
func (s *Store) Claimable(ctx context.Context, now, horizon time.Time, limit int) ([]int64, error) {
	now, horizon = utc(now), utc(horizon)
	var ids []int64
	err := s.db.WithContext(ctx).Model(&Booking{}).
		Where("(state = ? AND opens_at <= ?) OR (state IN ? AND (lease_until IS NULL OR lease_until < ?))",
			Queued, horizon, []State{Armed, Running}, now).
		Order("opens_at").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// Succeed records the success, the reservation number and the outbox rows
// in one transaction, only while instance holds the booking.
func (s *Store) Succeed(ctx context.Context, id int64, from State, instance string, rsv Reserved, notes []Outbox, now time.Time) error {
	return database.Retry(ctx, func() error {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			err := s.transition(tx, id, from, Succeeded, Change{ReservationNo: rsv.No, WonChoice: rsv.Choice, Instance: instance, Now: now})
			if err != nil {
				return err
			}
			return insertOutbox(tx, notes, now)
		})
	})
}

// Reserved is what the site booked: its reservation number (may be empty
// when the site shows none) and the 1-based choice it was for (0: not
// known, as for a booking of one slot).
type Reserved struct {
	No     string
	Choice int
}

// Fail records a terminal failure and its outbox rows in one transaction.
func (s *Store) Fail(ctx context.Context, id int64, from State, instance string, reason Reason, notes []Outbox, now time.Time) error {
	return database.Retry(ctx, func() error {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			err := s.transition(tx, id, from, Failed, Change{Reason: reason, Instance: instance, Now: now})
			if err != nil {
				return err
			}
			return insertOutbox(tx, notes, now)
		})
	})
}

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
