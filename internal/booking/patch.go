package booking

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reserver/internal/database"
	"reserver/internal/profile"
)

// Patch is a change of a booking (PATCH /v1/bookings/{id}); a nil field
// stays as it is. The API has validated every value.
type Patch struct {
	Phone          *string
	Name           *string
	NotifyOn       *string
	NotifyLanguage *string
	// Password replaces the booking's own site password (sealed as at
	// create); the next login proves it.
	Password *string
	Rate     *float64
	// Choices replace the booking's choices (at least one; the first
	// becomes its court, date and times); Limits are the site's caps per
	// account, checked again for the new choices.
	Choices *[]Choice
	Limits  profile.AccountLimits
	// Priority replaces Booking.Priority.
	Priority *int
}

// ChoicesCutoff is how long before opens_at a running booking's choices
// stop changing: the daemon reads them again about 2 s before it fires,
// and a change later than this might miss that read.
const ChoicesCutoff = 10 * time.Second

// Patchable field names, as the API calls them.
const (
	FieldPhone          = "phone"
	FieldName           = "name"
	FieldNotifyOn       = "notify.on"
	FieldNotifyLanguage = "notify.language"
	FieldPassword       = "account.password"
	FieldRate           = "rate_per_second"
	FieldChoices        = "choices"
	FieldPriority       = "priority"
)

// Fields names the fields p changes, in documentation order.
func (p Patch) Fields() []string {
	var f []string
	add := func(set bool, name string) {
		if set {
			f = append(f, name)
		}
	}
	add(p.Phone != nil, FieldPhone)
	add(p.Name != nil, FieldName)
	add(p.NotifyOn != nil, FieldNotifyOn)
	add(p.NotifyLanguage != nil, FieldNotifyLanguage)
	add(p.Password != nil, FieldPassword)
	add(p.Rate != nil, FieldRate)
	add(p.Choices != nil, FieldChoices)
	add(p.Priority != nil, FieldPriority)
	return f
}

// StateForbidsError is a patch the booking's state does not allow: State
// is the state it is in, Fields those of the patch it refuses.
type StateForbidsError struct {
	State  State
	Fields []string
}

func (e *StateForbidsError) Error() string {
	if e.State.Terminal() {
		return fmt.Sprintf("the booking is %s: nothing of it changes any more", e.State)
	}
	return fmt.Sprintf("the booking is %s: %s no longer change%s (the rate changes while the booking is queued, the password and the priority until its run starts at the pre-warm, the choices until %s before it opens); phone, name and notify still change until it finishes",
		e.State, strings.Join(e.Fields, " and "), map[bool]string{true: "s", false: ""}[len(e.Fields) == 1], ChoicesCutoff)
}

// notWhile are the fields a booking in a state no longer takes: the rate
// is read when an instance arms the booking, the password when its run
// starts (armed → running, at the pre-warm).
// The priority orders the submits of a run, so it is read when the run
// starts too. The choices of a running booking change until ChoicesCutoff
// before it opens (choicesClosed).
var notWhile = map[State][]string{
	Armed:   {FieldRate},
	Running: {FieldPassword, FieldRate, FieldPriority},
}

// forbidden is the part of fields that booking b refuses at now.
func forbidden(b *Booking, fields []string, now time.Time) []string {
	if b.State.Terminal() {
		return fields
	}
	var out []string
	for _, f := range fields {
		if slices.Contains(notWhile[b.State], f) || (f == FieldChoices && choicesClosed(b, now)) {
			out = append(out, f)
		}
	}
	return out
}

// choicesClosed reports whether b's choices no longer change at now: it
// is running and opens within ChoicesCutoff (or opened).
func choicesClosed(b *Booking, now time.Time) bool {
	return b.State == Running && !b.OpensAt.After(now.Add(ChoicesCutoff))
}

// Apply changes booking id (visible in sc) as p says, if its state allows
// every field of p, and returns it as it is then; a *StateForbidsError
// says which fields its state refuses (nothing is changed then), and
// ErrNotFound a booking not in scope. The update is conditional on the
// version read, so a booking that moves meanwhile is read and judged
// again. Phone, name and notify settings change while the booking is
// queued, armed or running (the daemon reads them when it writes the
// outcome); the password and the priority while it is queued or armed
// (the run reads them again when it starts), the rate only while it is
// queued; the choices while it is queued or armed, and while it runs
// until ChoicesCutoff before opens_at (now is that clock). New choices
// move the booking to their first slot: ErrDuplicate when the account has
// another active booking of it, a *LimitError when the account's other
// bookings leave no room for them (checked in the same transaction).
func (s *Store) Apply(ctx context.Context, sc Scope, id int64, p Patch, now time.Time) (*Booking, error) {
	fields := p.Fields()
	var choices *string
	if p.Choices != nil {
		if len(*p.Choices) == 0 {
			return nil, fmt.Errorf("%w: no choice", errChoices)
		}
		if err := checkChoices(*p.Choices); err != nil {
			return nil, err
		}
		var err error
		if choices, err = encodeChoices(*p.Choices); err != nil {
			return nil, err
		}
	}
	for range 5 {
		b, err := s.Get(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		if bad := forbidden(b, fields, now); len(bad) > 0 {
			return b, &StateForbidsError{State: b.State, Fields: bad}
		}
		if len(fields) == 0 {
			return b, nil
		}
		set := map[string]any{"updated_at": utc(now), "version": gorm.Expr("version + 1")}
		if p.Phone != nil {
			set["phone"] = *p.Phone
		}
		if p.Name != nil {
			set["booker_name"] = *p.Name
		}
		if p.NotifyOn != nil {
			set["notify_on"] = *p.NotifyOn
		}
		if p.NotifyLanguage != nil {
			set["notify_language"] = *p.NotifyLanguage
		}
		if p.Rate != nil {
			set["rate_per_second"] = *p.Rate
		}
		if p.Password != nil {
			if b.Account == nil {
				return nil, fmt.Errorf("booking %d: account not loaded", b.ID)
			}
			sealed, err := s.box.Seal([]byte(*p.Password), b.Account.sealContext())
			if err != nil {
				return nil, err
			}
			set["password_enc"] = sealed
			set["password_set_at"] = utc(now)
		}
		if p.Priority != nil {
			set["priority"] = *p.Priority
		}
		var dates []string
		if p.Choices != nil {
			first := (*p.Choices)[0]
			set["court"], set["play_date"], set["start_time"], set["end_time"] = first.Court, first.Date, first.Start, first.End
			set["choices"] = choices
			set["active_key"] = activeKey(b.TenantID, b.AccountID, b.Site, first.Court, first.Date, first.Start, first.End)
			probe := Booking{Court: first.Court, PlayDate: first.Date, StartTime: first.Start, EndTime: first.End, ChoiceList: choices}
			dates = probe.mayHold()
		}
		var n int64
		err = database.Retry(ctx, func() error {
			return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				if p.Choices != nil {
					if b.Account == nil {
						return fmt.Errorf("booking %d: account not loaded", b.ID)
					}
					if err := s.checkLimits(tx, b.Account, b.ID, dates, p.Limits); err != nil {
						return err
					}
				}
				q := tx.Model(&Booking{}).Where("id = ? AND version = ? AND state = ?", id, b.Version, b.State)
				if p.Choices != nil && b.State == Running {
					// The cutoff is part of the update's condition, as the state is.
					q = q.Where("opens_at > ?", utc(now.Add(ChoicesCutoff)))
				}
				res := q.Updates(set)
				n = res.RowsAffected
				return res.Error
			})
		})
		var le *LimitError
		switch {
		case errors.As(err, &le):
			return b, err
		case errors.Is(err, gorm.ErrDuplicatedKey):
			return b, ErrDuplicate
		case err != nil:
			return nil, fmt.Errorf("patch booking: %w", err)
		}
		if n == 1 {
			return s.Get(ctx, sc, id)
		}
		// It moved meanwhile (armed, finished): judge it again.
	}
	return nil, ErrConflict
}

// IdempotentRequest is the stored answer of a PATCH or DELETE sent with an
// Idempotency-Key.
type IdempotentRequest struct {
	ID          int64
	TenantID    int64
	IdemKey     string
	Method      string
	BookingID   int64
	RequestHash string
	Status      int
	Response    string
	CreatedAt   time.Time
}

// TableName keeps gorm on the migration's table name.
func (IdempotentRequest) TableName() string { return "idempotent_requests" }

// same reports whether r is the request (method, booking, body hash) of o.
func (r *IdempotentRequest) same(o IdempotentRequest) bool {
	return r.Method == o.Method && r.BookingID == o.BookingID &&
		subtle.ConstantTimeCompare([]byte(r.RequestHash), []byte(o.RequestHash)) == 1
}

// ReplayRequest returns the answer stored for q's tenant and key when q is
// the same request, nil when the key is new, and ErrIdempotencyMismatch
// when another request (another method, booking or body) used it.
func (s *Store) ReplayRequest(ctx context.Context, q IdempotentRequest) (*IdempotentRequest, error) {
	var prev IdempotentRequest
	err := s.db.WithContext(ctx).Where("tenant_id = ? AND idem_key = ?", q.TenantID, q.IdemKey).Take(&prev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !prev.same(q) {
		return nil, ErrIdempotencyMismatch
	}
	return &prev, nil
}

// RecordRequest stores the answer of q. When a concurrent request under
// the same key stored one first, that one is returned (or
// ErrIdempotencyMismatch when it was another request); nil means q's was
// stored.
func (s *Store) RecordRequest(ctx context.Context, q IdempotentRequest, now time.Time) (*IdempotentRequest, error) {
	q.ID, q.CreatedAt = 0, utc(now)
	var n int64
	err := database.Retry(ctx, func() error {
		res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&q)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return nil, err
	}
	if n == 1 {
		return nil, nil
	}
	return s.ReplayRequest(ctx, q)
}

// Notice is what the outcome's messages of a booking go by, as stored now
// (a PATCH may have changed it while the booking ran).
type Notice struct {
	Phone, BookerName, NotifyOn, NotifyLanguage string
}

// Notice is b's Notice as b was read.
func (b *Booking) Notice() Notice {
	return Notice{Phone: b.Phone, BookerName: b.BookerName, NotifyOn: b.NotifyOn, NotifyLanguage: b.NotifyLanguage}
}

// NoticeOf reads booking id's Notice.
func (s *Store) NoticeOf(ctx context.Context, id int64) (Notice, error) {
	var n Notice
	err := s.db.WithContext(ctx).Model(&Booking{}).Select("phone", "booker_name", "notify_on", "notify_language").
		Where("id = ?", id).Take(&n).Error
	return n, err
}
