// Package tenant owns the callers of the REST API and of the operator
// page: tenants, their bearer tokens (stored as SHA-256 hashes, shown once
// at creation; they may expire and be revoked), the page's server-side
// sessions, and the audit trail of what operators did. It does not own
// what a tenant may see; the API asks it who is calling and scopes every
// query by the answer.
package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"reserver/internal/database"
)

// Role says what a token may do.
type Role string

const (
	// RoleUser queues and sees its own tenant's bookings.
	RoleUser Role = "user"
	// RoleOperator sees every tenant's bookings and reviews failures.
	RoleOperator Role = "operator"
)

// tokenPrefix marks reserver tokens so that secret scanners and humans can
// recognise one.
const tokenPrefix = "rsv_"

// PrefixLen is how many leading characters of a token are kept in clear
// (tokenPrefix and six more): enough to tell tokens apart in a list or the
// audit trail, far too few to guess the rest from.
const PrefixLen = len(tokenPrefix) + 6

// lastUsedEvery bounds how often authenticating a token writes its
// last_used_at: at most once a minute, so that the API reads on every
// request and writes once a minute per token.
const lastUsedEvery = time.Minute

var (
	// ErrUnauthenticated is returned for a missing, unknown, revoked or
	// expired token; ErrRevoked and ErrExpired wrap it.
	ErrUnauthenticated = errors.New("unknown, revoked or expired token")
	// ErrRevoked is returned for a token that has been revoked.
	ErrRevoked = fmt.Errorf("%w: the token was revoked", ErrUnauthenticated)
	// ErrExpired is returned for a token past its expiry.
	ErrExpired = fmt.Errorf("%w: the token has expired", ErrUnauthenticated)
	// ErrBadName is returned for a tenant name that is empty or unusual.
	ErrBadName = errors.New("tenant name must be 1-100 letters, digits, '.', '_' or '-'")
	// ErrBadRole is returned for a role other than user or operator.
	ErrBadRole = errors.New("role must be user or operator")
	// ErrBadExpiry is returned for a token lifetime that is not positive.
	ErrBadExpiry = errors.New("a token's lifetime must be positive")

	nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// Tenant is one customer of the API.
type Tenant struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// Token is a stored API token. The token itself is not kept.
type Token struct {
	ID         int64
	TenantID   int64
	Role       Role
	TokenHash  string
	Prefix     string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
}

// TableName keeps gorm on the migration's table name.
func (Token) TableName() string { return "api_tokens" }

// Principal is who is calling.
type Principal struct {
	TenantID   int64
	TenantName string
	Role       Role
	// TokenID and TokenPrefix name the token the caller presented.
	TokenID     int64
	TokenPrefix string
}

// IsOperator reports whether the caller may see every tenant.
func (p Principal) IsOperator() bool { return p.Role == RoleOperator }

// Actor is the principal as the audit trail names it, calling from remote.
func (p Principal) Actor(remote string) Actor {
	return Actor{Name: p.TenantName, Role: string(p.Role), Prefix: p.TokenPrefix, Remote: remote}
}

// Store reads and writes tenants, tokens, operator sessions and the audit
// trail.
type Store struct {
	db  *database.DB
	now func() time.Time
}

// Option adjusts a Store.
type Option func(*Store)

// WithClock makes the store judge expiry and stamp rows by now instead of
// database.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// NewStore returns a Store on db.
func NewStore(db *database.DB, opts ...Option) *Store {
	s := &Store{db: db, now: database.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleUser, RoleOperator:
		return Role(s), nil
	}
	return "", fmt.Errorf("%w (got %q)", ErrBadRole, s)
}

// NewToken says what token Issue creates.
type NewToken struct {
	Tenant string
	Role   Role
	// Expires is the token's lifetime; zero means it does not expire.
	Expires time.Duration
	// By is who creates it, for the audit trail.
	By Actor
}

// Issued is a token just created: the token in clear (the only time it
// is ever shown) and what is stored about it.
type Issued struct {
	Token string
	Info  TokenInfo
}

// CreateToken creates the tenant if it does not exist yet and a new token
// for it that does not expire, returning the token in clear.
func (s *Store) CreateToken(ctx context.Context, tenantName string, role Role) (string, error) {
	is, err := s.Issue(ctx, NewToken{Tenant: tenantName, Role: role})
	return is.Token, err
}

// Issue creates the tenant if it does not exist yet and a new token for
// it, and records the creation in the audit trail, in one transaction.
func (s *Store) Issue(ctx context.Context, n NewToken) (Issued, error) {
	if !nameRE.MatchString(n.Tenant) {
		return Issued{}, fmt.Errorf("%w (got %q)", ErrBadName, n.Tenant)
	}
	if _, err := ParseRole(string(n.Role)); err != nil {
		return Issued{}, err
	}
	if n.Expires < 0 {
		return Issued{}, fmt.Errorf("%w (got %s)", ErrBadExpiry, n.Expires)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Issued{}, err
	}
	token := tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	now := s.now()
	row := Token{Role: n.Role, TokenHash: hashToken(token), Prefix: token[:PrefixLen], CreatedAt: now}
	if n.Expires > 0 {
		at := now.Add(n.Expires)
		row.ExpiresAt = &at
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := Tenant{Name: n.Tenant, CreatedAt: now}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&t).Error; err != nil {
			return err
		}
		if err := tx.Where("name = ?", n.Tenant).Take(&t).Error; err != nil {
			return err
		}
		row.TenantID = t.ID
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		detail := "role " + string(n.Role) + ", tenant " + n.Tenant
		if row.ExpiresAt != nil {
			detail += ", expires " + row.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return addAudit(tx, AuditEntry{At: now, Actor: n.By, Action: ActionTokenCreate, TokenPrefix: row.Prefix, Detail: detail})
	})
	if err != nil {
		return Issued{}, fmt.Errorf("create token: %w", err)
	}
	return Issued{Token: token, Info: row.info(n.Tenant)}, nil
}

// Authenticate returns who holds token, if the token is known, not revoked
// and not expired, and notes that it was used.
func (s *Store) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return Principal{}, ErrUnauthenticated
	}
	var row tokenState
	err := s.db.WithContext(ctx).Table("api_tokens").
		Select("api_tokens.id, api_tokens.tenant_id, tenants.name, api_tokens.role, api_tokens.prefix, "+
			"api_tokens.revoked_at, api_tokens.expires_at, api_tokens.last_used_at").
		Joins("JOIN tenants ON tenants.id = api_tokens.tenant_id").
		Where("api_tokens.token_hash = ?", hashToken(token)).
		Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return s.admit(ctx, row, s.now())
}

// tokenState is what judging a token needs.
type tokenState struct {
	ID         int64
	TenantID   int64
	Name       string
	Role       Role
	Prefix     string
	RevokedAt  *time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	// SessionExpires is when the operator page session ends (Session only).
	SessionExpires *time.Time
}

// admit judges a token's state at now and, when its last use is older
// than lastUsedEvery, records now as its last use. The update is
// conditional, so several API instances write it once between them.
func (s *Store) admit(ctx context.Context, row tokenState, now time.Time) (Principal, error) {
	switch {
	case row.RevokedAt != nil:
		return Principal{}, ErrRevoked
	case row.ExpiresAt != nil && !now.Before(*row.ExpiresAt):
		return Principal{}, ErrExpired
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= lastUsedEvery {
		err := s.db.WithContext(ctx).Exec(
			"UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
			now, row.ID, now.Add(-lastUsedEvery)).Error
		if err != nil {
			return Principal{}, fmt.Errorf("authenticate: note the last use: %w", err)
		}
	}
	return Principal{TenantID: row.TenantID, TenantName: row.Name, Role: row.Role, TokenID: row.ID, TokenPrefix: row.Prefix}, nil
}

// Get returns a tenant by name.
func (s *Store) Get(ctx context.Context, name string) (Tenant, error) {
	var t Tenant
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&t).Error
	return t, err
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
