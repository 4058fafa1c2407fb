package booking

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/secret"
	"reserver/internal/tenant"
)

type bundle struct {
	store  *Store
	db     *database.DB
	tenant int64
	other  int64
}

func setup(t *testing.T, db *database.DB) bundle {
	t.Helper()
	box, err := secret.NewBox(bytes.Repeat([]byte{1}, secret.KeySize))
	require.NoError(t, err)
	ts := tenant.NewStore(db)
	ctx := context.Background()
	ids := make([]int64, 2)
	for i, name := range []string{"acme", "other"} {
		tok, err := ts.CreateToken(ctx, name, tenant.RoleUser)
		require.NoError(t, err)
		p, err := ts.Authenticate(ctx, tok)
		require.NoError(t, err)
		ids[i] = p.TenantID
	}
	return bundle{store: NewStore(db, box), db: db, tenant: ids[0], other: ids[1]}
}

func newBooking(tenantID int64, court string) NewBooking {
	return NewBooking{
		TenantID: tenantID, Site: "courtsim", Username: "user001", Password: "pass1234",
		Court: court, PlayDate: "2026-12-01", StartTime: "10:00", EndTime: "11:00",
		OpensAt: time.Date(2026, 11, 24, 0, 0, 0, 123456000, time.UTC), WindowSeconds: 300,
		RatePerSecond: 2, Phone: "+821012345678", Fields: map[string]string{"people": "4"},
		RequestHash: "h1",
	}
}

func TestCreateAndGet(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()

		bk, created, err := b.store.Create(ctx, newBooking(b.tenant, "3"))
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, Queued, bk.State)

		got, err := b.store.Get(ctx, Scope{TenantID: b.tenant}, bk.ID)
		require.NoError(t, err)
		require.True(t, got.OpensAt.Equal(time.Date(2026, 11, 24, 0, 0, 0, 123456000, time.UTC)), "sub-second precision survives: %v", got.OpensAt)
		require.Equal(t, "4", got.FieldMap()["people"])
		require.NotNil(t, got.Account)
		require.NotContains(t, string(got.Account.PasswordEnc), "pass1234")
		pw, err := b.store.Password(got.Account)
		require.NoError(t, err)
		require.Equal(t, "pass1234", pw)

		_, err = b.store.Get(ctx, Scope{TenantID: b.other}, bk.ID)
		require.ErrorIs(t, err, ErrNotFound, "another tenant must not see it")
		_, err = b.store.Get(ctx, Scope{All: true}, bk.ID)
		require.NoError(t, err)

		_, _, err = b.store.Create(ctx, newBooking(b.tenant, "3"))
		require.ErrorIs(t, err, ErrDuplicate)

		// Another tenant may queue the same slot for its own account, but
		// not for this tenant's: a site account belongs to the tenant that
		// registered it first.
		_, _, err = b.store.Create(ctx, newBooking(b.other, "3"))
		require.ErrorIs(t, err, ErrAccountOwned)
		var n int64
		require.NoError(t, db.Model(&Account{}).Where("tenant_id = ?", b.other).Count(&n).Error)
		require.Zero(t, n, "nothing written")
		own := newBooking(b.other, "3")
		own.Username = "user002"
		_, created, err = b.store.Create(ctx, own)
		require.NoError(t, err)
		require.True(t, created)
	})
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		nb := newBooking(b.tenant, "4")
		nb.IdempotencyKey = "key-1"

		first, created, err := b.store.Create(ctx, nb)
		require.NoError(t, err)
		require.True(t, created)
		again, created, err := b.store.Create(ctx, nb)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, first.ID, again.ID)

		nb.RequestHash = "h2"
		_, _, err = b.store.Create(ctx, nb)
		require.ErrorIs(t, err, ErrIdempotencyMismatch)

		// Concurrent requests with one key create one booking.
		nb = newBooking(b.tenant, "5")
		nb.IdempotencyKey = "key-2"
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		for i := range ids {
			wg.Go(func() {
				bk, _, err := b.store.Create(ctx, nb)
				if err == nil {
					ids[i] = bk.ID
				}
			})
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id)
		}
		require.NotZero(t, ids[0])
		var n int64
		require.NoError(t, db.Model(&Booking{}).Where("court = ?", "5").Count(&n).Error)
		require.EqualValues(t, 1, n)
	})
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		bk, _, err := b.store.Create(ctx, newBooking(b.tenant, "6"))
		require.NoError(t, err)

		require.ErrorIs(t, b.store.Transition(ctx, bk.ID, Running, Succeeded, Change{}), ErrConflict, "not running yet")
		require.Error(t, b.store.Transition(ctx, bk.ID, Queued, Succeeded, Change{}), "not an edge of the machine")
		require.ErrorIs(t, b.store.Transition(ctx, 999999, Queued, Armed, Change{}), ErrNotFound)

		now := time.Now()
		claimed, err := b.store.Claim(ctx, bk.ID, "i1", now, now.Add(10*time.Second))
		require.NoError(t, err)
		require.Equal(t, Armed, claimed.State)
		require.Equal(t, "i1", claimed.ClaimedBy)

		require.NoError(t, b.store.Transition(ctx, bk.ID, Armed, Running, Change{Instance: "i1"}))
		require.ErrorIs(t, b.store.Transition(ctx, bk.ID, Running, Succeeded, Change{Instance: "i2"}), ErrConflict, "only the lease holder may finish it")
		require.NoError(t, b.store.Succeed(ctx, bk.ID, Running, "i1", Reserved{No: "R-1"}, []Outbox{{BookingID: bk.ID, Kind: "booked", Phone: "+821012345678", Payload: "{}"}}, now))

		got, err := b.store.Get(ctx, Scope{All: true}, bk.ID)
		require.NoError(t, err)
		require.Equal(t, Succeeded, got.State)
		require.Equal(t, "R-1", got.ReservationNo)
		require.Nil(t, got.ActiveKey)
		require.NotNil(t, got.FinishedAt)

		_, err = b.store.Cancel(ctx, Scope{TenantID: b.tenant}, bk.ID, ReasonUser)
		require.ErrorIs(t, err, ErrTerminal)

		var n int64
		require.NoError(t, db.Model(&Outbox{}).Where("booking_id = ?", bk.ID).Count(&n).Error)
		require.EqualValues(t, 1, n)
		require.NoError(t, b.store.AddOutbox(ctx, []Outbox{{BookingID: bk.ID, Kind: "booked", Phone: "+8210", Payload: "{}"}}, now))
		require.NoError(t, db.Model(&Outbox{}).Where("booking_id = ?", bk.ID).Count(&n).Error)
		require.EqualValues(t, 1, n, "one row per booking and kind")

		// The slot is free again once the booking is finished.
		_, created, err := b.store.Create(ctx, newBooking(b.tenant, "6"))
		require.NoError(t, err)
		require.True(t, created)
	})
}

func TestCancel(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		bk, _, err := b.store.Create(ctx, newBooking(b.tenant, "7"))
		require.NoError(t, err)
		_, err = b.store.Cancel(ctx, Scope{TenantID: b.other}, bk.ID, ReasonUser)
		require.ErrorIs(t, err, ErrNotFound)
		got, err := b.store.Cancel(ctx, Scope{TenantID: b.tenant}, bk.ID, ReasonUser)
		require.NoError(t, err)
		require.Equal(t, Cancelled, got.State)
		require.Equal(t, ReasonUser, got.Reason)
	})
}

// Two instances racing to claim one booking: exactly one wins, and a lease
// that has expired is taken over.
func TestClaimRace(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		bk, _, err := b.store.Create(ctx, newBooking(b.tenant, "8"))
		require.NoError(t, err)

		now := time.Now()
		const racers = 8
		var wg sync.WaitGroup
		wins := make(chan string, racers)
		for i := range racers {
			wg.Go(func() {
				inst := string(rune('a' + i))
				if _, err := b.store.Claim(ctx, bk.ID, inst, now, now.Add(10*time.Second)); err == nil {
					wins <- inst
				} else if err != ErrConflict {
					t.Errorf("claim: %v", err)
				}
			})
		}
		wg.Wait()
		close(wins)
		var winners []string
		for w := range wins {
			winners = append(winners, w)
		}
		require.Len(t, winners, 1)

		// While the lease is live nobody else gets it; after it expires,
		// exactly one of the racers takes it over.
		_, err = b.store.Claim(ctx, bk.ID, "late", now.Add(5*time.Second), now.Add(15*time.Second))
		require.ErrorIs(t, err, ErrConflict)

		held, err := b.store.Renew(ctx, winners[0], []int64{bk.ID}, now.Add(time.Second), now.Add(11*time.Second))
		require.NoError(t, err)
		require.Equal(t, []int64{bk.ID}, held)
		held, err = b.store.Renew(ctx, "late", []int64{bk.ID}, now.Add(time.Second), now.Add(11*time.Second))
		require.NoError(t, err)
		require.Empty(t, held)

		later := now.Add(12 * time.Second)
		ids, err := b.store.Claimable(ctx, later, later, 10)
		require.NoError(t, err)
		require.Contains(t, ids, bk.ID)

		wins = make(chan string, racers)
		for i := range racers {
			wg.Go(func() {
				inst := string(rune('A' + i))
				if _, err := b.store.Claim(ctx, bk.ID, inst, later, later.Add(10*time.Second)); err == nil {
					wins <- inst
				}
			})
		}
		wg.Wait()
		close(wins)
		require.Len(t, wins, 1)

		held, err = b.store.Renew(ctx, winners[0], []int64{bk.ID}, later, later.Add(10*time.Second))
		require.NoError(t, err)
		require.Empty(t, held, "the old holder lost the lease")
	})
}

func TestAttemptsIdempotent(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		bk, _, err := b.store.Create(ctx, newBooking(b.tenant, "9"))
		require.NoError(t, err)
		sent := time.Now()
		rows := []Attempt{
			{BookingID: bk.ID, Instance: "i1", Seq: 1, Step: "login", SentAt: sent, Class: "success", Status: 302},
			{BookingID: bk.ID, Instance: "i1", Seq: 2, Step: "submit", SentAt: sent.Add(time.Millisecond), Class: "not_open", Status: 200},
		}
		require.NoError(t, b.store.AddAttempts(ctx, rows))
		require.NoError(t, b.store.AddAttempts(ctx, rows), "a retried batch is not doubled")
		got, err := b.store.Attempts(ctx, bk.ID, 0, 0)
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Equal(t, "login", got[0].Step)
	})
}

func TestStateMachine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to State
		ok       bool
	}{
		{Queued, Armed, true},
		{Queued, Cancelled, true},
		{Queued, Running, false},
		{Armed, Running, true},
		{Running, Succeeded, true},
		{Running, Queued, false},
		{Succeeded, Failed, false},
		{Cancelled, Queued, false},
		{Failed, Running, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.ok, CanMove(tt.from, tt.to), "%s → %s", tt.from, tt.to)
	}
	for _, s := range States {
		require.Equal(t, s.Terminal(), len(transitions[s]) == 0, "%s", s)
	}
	_, err := ParseState("done")
	require.ErrorContains(t, err, "expected one of")
}

// A daemon restarted under the same instance name counts seq from 1 again;
// its rows carry another boot and are all kept, while a batch written
// twice is still written once.
func TestAttemptsAcrossRestarts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		bk, _, err := b.store.Create(ctx, newBooking(b.tenant, "10"))
		require.NoError(t, err)
		sent := time.Now()
		process := func(boot string, steps ...string) []Attempt {
			rows := make([]Attempt, len(steps))
			for i, step := range steps {
				rows[i] = Attempt{BookingID: bk.ID, Instance: "reserver-1", Boot: boot, Seq: i + 1, Step: step,
					SentAt: sent.Add(time.Duration(len(boot)*10+i) * time.Millisecond), Class: "not_open", Status: 200}
			}
			return rows
		}
		first := process("boot-a", "login", "trace", "submit")
		second := process("boot-bb", "login", "trace", "submit", "submit")
		second[3].Class = "success"
		require.NoError(t, b.store.AddAttempts(ctx, first))
		require.NoError(t, b.store.AddAttempts(ctx, second))
		require.NoError(t, b.store.AddAttempts(ctx, second), "a retried batch is not doubled")
		require.NoError(t, b.store.AddAttempts(ctx, first[1:]), "nor a retried part of one")

		got, err := b.store.Attempts(ctx, bk.ID, 0, 0)
		require.NoError(t, err)
		require.Len(t, got, 7, "every row of both processes is kept")
		require.Equal(t, "boot-bb", got[6].Boot)
		require.Equal(t, "success", got[6].Class, "the second process's winning submit is recorded")
	})
}

// When the booking cannot be read back after a successful claim, the lease
// is given back at once instead of holding the booking unrun for a lease.
func TestClaimGivesBackWhenReadFails(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		var failReads atomic.Bool
		injected := errors.New("injected read failure")
		require.NoError(t, db.Callback().Query().Before("gorm:query").Register("test:fail_booking_reads", func(tx *gorm.DB) {
			if failReads.Load() && tx.Statement.Table == "bookings" {
				_ = tx.AddError(injected)
			}
		}))
		fresh, _, err := b.store.Create(ctx, newBooking(b.tenant, "11"))
		require.NoError(t, err)
		taken, _, err := b.store.Create(ctx, newBooking(b.tenant, "12"))
		require.NoError(t, err)
		now := time.Now()
		_, err = b.store.Claim(ctx, taken.ID, "dead", now.Add(-time.Minute), now.Add(-time.Second))
		require.NoError(t, err)

		failReads.Store(true)
		_, err = b.store.Claim(ctx, fresh.ID, "i1", now, now.Add(time.Minute))
		require.ErrorIs(t, err, injected)
		_, err = b.store.Claim(ctx, taken.ID, "i1", now, now.Add(time.Minute))
		require.ErrorIs(t, err, injected)
		failReads.Store(false)

		got, err := b.store.Get(ctx, Scope{All: true}, fresh.ID)
		require.NoError(t, err)
		require.Equal(t, Queued, got.State, "a fresh claim goes back to queued")
		require.Empty(t, got.ClaimedBy)
		require.Nil(t, got.LeaseUntil)
		got, err = b.store.Get(ctx, Scope{All: true}, taken.ID)
		require.NoError(t, err)
		require.Equal(t, Armed, got.State, "a takeover keeps the state")
		require.Empty(t, got.ClaimedBy)
		require.Nil(t, got.LeaseUntil)
		ids, err := b.store.Claimable(ctx, now, now, 10)
		require.NoError(t, err)
		require.Contains(t, ids, taken.ID, "claimable again at once")
	})
}
