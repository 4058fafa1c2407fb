package tenant

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

// clock is a settable now for a Store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type bundle struct {
	db    *database.DB
	store *Store
	clock *clock
}

func setup(t *testing.T, db *database.DB) bundle {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	return bundle{db: db, store: NewStore(db, WithClock(c.now)), clock: c}
}

var cli = Actor{Name: "root", Role: "cli", Remote: "local"}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		is, err := b.store.Issue(ctx, NewToken{Tenant: "acme", Role: RoleUser, Expires: time.Hour, By: cli})
		require.NoError(t, err)
		require.Equal(t, b.clock.now().Add(time.Hour), is.Info.ExpiresAt.UTC())
		forever, err := b.store.CreateToken(ctx, "acme", RoleUser)
		require.NoError(t, err)

		_, err = b.store.Authenticate(ctx, is.Token)
		require.NoError(t, err)
		b.clock.add(time.Hour - time.Microsecond)
		_, err = b.store.Authenticate(ctx, is.Token)
		require.NoError(t, err, "valid until the last microsecond")
		b.clock.add(time.Microsecond)
		_, err = b.store.Authenticate(ctx, is.Token)
		require.ErrorIs(t, err, ErrExpired)
		require.ErrorIs(t, err, ErrUnauthenticated, "callers that only know ErrUnauthenticated refuse it too")
		b.clock.add(1000 * time.Hour)
		_, err = b.store.Authenticate(ctx, forever)
		require.NoError(t, err, "no expiry, no end")

		_, err = b.store.Issue(ctx, NewToken{Tenant: "acme", Role: RoleUser, Expires: -time.Second})
		require.ErrorIs(t, err, ErrBadExpiry)
	})
}

// Authenticating writes last_used_at once a minute at most: the API
// reads on every request.
func TestLastUsedOncePerMinute(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		tok, err := b.store.CreateToken(ctx, "acme", RoleUser)
		require.NoError(t, err)
		lastUsed := func() *time.Time {
			items, err := b.store.ListTokens(ctx, "acme")
			require.NoError(t, err)
			require.Len(t, items, 1)
			return items[0].LastUsedAt
		}
		require.Nil(t, lastUsed(), "never used")
		var writes atomic.Int64
		require.NoError(t, db.Callback().Raw().After("gorm:raw").Register("count_last_used", func(tx *gorm.DB) {
			if strings.HasPrefix(tx.Statement.SQL.String(), "UPDATE api_tokens SET last_used_at") {
				writes.Add(1)
			}
		}))

		first := b.clock.now()
		for range 5 {
			_, err := b.store.Authenticate(ctx, tok)
			require.NoError(t, err)
			b.clock.add(10 * time.Second)
		}
		require.Equal(t, first, lastUsed().UTC(), "five uses within 50 s: the first is noted")
		require.EqualValues(t, 1, writes.Load(), "five uses within 50 s: one write")

		b.clock.add(20 * time.Second) // 70 s after the first use
		_, err = b.store.Authenticate(ctx, tok)
		require.NoError(t, err)
		require.Equal(t, b.clock.now(), lastUsed().UTC(), "a minute later: written again")
		require.EqualValues(t, 2, writes.Load())

		// An instance whose clock is behind does not move it back.
		behind := NewStore(db, WithClock(func() time.Time { return first.Add(30 * time.Second) }))
		_, err = behind.Authenticate(ctx, tok)
		require.NoError(t, err)
		require.Equal(t, b.clock.now(), lastUsed().UTC())
	})
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		a, err := b.store.Issue(ctx, NewToken{Tenant: "acme", Role: RoleOperator, By: cli})
		require.NoError(t, err)
		c, err := b.store.Issue(ctx, NewToken{Tenant: "acme", Role: RoleUser, By: cli})
		require.NoError(t, err)
		p, err := b.store.Authenticate(ctx, a.Token)
		require.NoError(t, err)
		sess, err := b.store.OpenSession(ctx, p, "127.0.0.1", time.Hour)
		require.NoError(t, err)

		got, err := b.store.Revoke(ctx, a.Info.Prefix, cli)
		require.NoError(t, err)
		require.Equal(t, a.Info.ID, got.ID)
		require.Equal(t, b.clock.now(), got.RevokedAt.UTC())
		_, err = b.store.Authenticate(ctx, a.Token)
		require.ErrorIs(t, err, ErrRevoked)
		_, err = b.store.Session(ctx, sess)
		require.ErrorIs(t, err, ErrNoSession, "revoking ends the token's page sessions")
		_, err = b.store.Authenticate(ctx, c.Token)
		require.NoError(t, err, "the tenant's other token stands")

		_, err = b.store.Revoke(ctx, a.Info.Prefix, cli)
		require.ErrorIs(t, err, ErrAlreadyRevoked)
		got, err = b.store.Revoke(ctx, strconv.FormatInt(c.Info.ID, 10), cli)
		require.NoError(t, err, "by ID")
		require.Equal(t, c.Info.Prefix, got.Prefix)

		for _, ref := range []string{"999999", "rsv_zzzzzz", "rsv_", "nonsense", ""} {
			_, err = b.store.Revoke(ctx, ref, cli)
			require.ErrorIs(t, err, ErrNoToken, ref)
		}
		// Two tokens may share a prefix (30 bits); the prefix is then not
		// enough.
		d, err := b.store.Issue(ctx, NewToken{Tenant: "acme", Role: RoleUser})
		require.NoError(t, err)
		e, err := b.store.Issue(ctx, NewToken{Tenant: "acme", Role: RoleUser})
		require.NoError(t, err)
		require.NoError(t, db.Exec("UPDATE api_tokens SET prefix = ? WHERE id = ?", d.Info.Prefix, e.Info.ID).Error)
		_, err = b.store.Revoke(ctx, d.Info.Prefix, cli)
		require.ErrorIs(t, err, ErrAmbiguous)

		log, err := b.store.AuditLog(ctx, time.Time{}, 100)
		require.NoError(t, err)
		var actions []string
		for _, en := range log {
			actions = append(actions, string(en.Action)+" "+en.TokenPrefix+" by "+en.Actor.Name)
		}
		require.Equal(t, []string{
			"token_create " + a.Info.Prefix + " by root",
			"token_create " + c.Info.Prefix + " by root",
			"token_revoke " + a.Info.Prefix + " by root",
			"token_revoke " + c.Info.Prefix + " by root",
			"token_create " + d.Info.Prefix + " by ",
			"token_create " + e.Info.Prefix + " by ",
		}, actions)
		raw, err := json.Marshal(log)
		require.NoError(t, err)
		for _, tok := range []string{a.Token, c.Token} {
			require.NotContains(t, string(raw), tok[PrefixLen:], "the audit trail has prefixes only")
		}
	})
}

func TestListTokensShowsNoSecret(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		tok, err := b.store.CreateToken(ctx, "acme", RoleUser)
		require.NoError(t, err)
		_, err = b.store.CreateToken(ctx, "zeta", RoleOperator)
		require.NoError(t, err)
		all, err := b.store.ListTokens(ctx, "")
		require.NoError(t, err)
		require.Len(t, all, 2)
		require.Equal(t, "acme", all[0].Tenant)
		require.Equal(t, tok[:PrefixLen], all[0].Prefix)
		require.Equal(t, "active", all[0].State(b.clock.now()))
		raw, err := json.Marshal(all)
		require.NoError(t, err)
		require.NotContains(t, string(raw), tok[PrefixLen:])
		require.NotContains(t, string(raw), hashToken(tok))
		one, err := b.store.ListTokens(ctx, "zeta")
		require.NoError(t, err)
		require.Len(t, one, 1)
		require.Equal(t, RoleOperator, one[0].Role)
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		is, err := b.store.Issue(ctx, NewToken{Tenant: "ops", Role: RoleOperator, Expires: 3 * time.Hour})
		require.NoError(t, err)
		p, err := b.store.Authenticate(ctx, is.Token)
		require.NoError(t, err)
		id, err := b.store.OpenSession(ctx, p, "127.0.0.1", time.Hour)
		require.NoError(t, err)

		got, err := b.store.Session(ctx, id)
		require.NoError(t, err)
		require.Equal(t, p, got)
		var n int64
		require.NoError(t, db.Table("ui_sessions").Where("id_hash = ?", id).Count(&n).Error)
		require.Zero(t, n, "the table keeps the id's hash, not the id")

		b.clock.add(time.Hour)
		_, err = b.store.Session(ctx, id)
		require.ErrorIs(t, err, ErrNoSession, "the session lasted an hour")

		id2, err := b.store.OpenSession(ctx, p, "127.0.0.1", 12*time.Hour)
		require.NoError(t, err)
		require.NoError(t, db.Table("ui_sessions").Count(&n).Error)
		require.EqualValues(t, 1, n, "opening a session deletes the expired ones")
		b.clock.add(2 * time.Hour)
		_, err = b.store.Session(ctx, id2)
		require.ErrorIs(t, err, ErrExpired, "the token expired before the session")

		b.clock.add(-2 * time.Hour)
		_, err = b.store.Session(ctx, id2)
		require.NoError(t, err)
		require.NoError(t, b.store.CloseSession(ctx, id2))
		_, err = b.store.Session(ctx, id2)
		require.ErrorIs(t, err, ErrNoSession, "closed")
		require.NoError(t, b.store.CloseSession(ctx, id2), "closing twice is no error")
		_, err = b.store.Session(ctx, "")
		require.ErrorIs(t, err, ErrNoSession)
	})
}
