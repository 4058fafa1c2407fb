// Package tenant owns the callers of the REST API: tenants, their bearer
// tokens (stored as SHA-256 hashes, shown once at creation) and roles. It
// does not own what a tenant may see; the API asks it who is calling and
// scopes every query by the answer.
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

var (
	// ErrUnauthenticated is returned for a missing, unknown or revoked token.
	ErrUnauthenticated = errors.New("unknown or revoked token")
	// ErrBadName is returned for a tenant name that is empty or unusual.
	ErrBadName = errors.New("tenant name must be 1-100 letters, digits, '.', '_' or '-'")
	// ErrBadRole is returned for a role other than user or operator.
	ErrBadRole = errors.New("role must be user or operator")

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
	ID        int64
	TenantID  int64
	Role      Role
	TokenHash string
	Prefix    string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// TableName keeps gorm on the migration's table name.
func (Token) TableName() string { return "api_tokens" }

// Principal is who is calling.
type Principal struct {
	TenantID   int64
	TenantName string
	Role       Role
}

// IsOperator reports whether the caller may see every tenant.
func (p Principal) IsOperator() bool { return p.Role == RoleOperator }

// Store reads and writes tenants and tokens.
type Store struct {
	db *database.DB
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleUser, RoleOperator:
		return Role(s), nil
	}
	return "", fmt.Errorf("%w (got %q)", ErrBadRole, s)
}

// CreateToken creates the tenant if it does not exist yet and a new token
// for it, returning the token in clear: the only time it is ever shown.
func (s *Store) CreateToken(ctx context.Context, tenantName string, role Role) (string, error) {
	if !nameRE.MatchString(tenantName) {
		return "", fmt.Errorf("%w (got %q)", ErrBadName, tenantName)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := Tenant{Name: tenantName}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&t).Error; err != nil {
			return err
		}
		if err := tx.Where("name = ?", tenantName).Take(&t).Error; err != nil {
			return err
		}
		return tx.Create(&Token{
			TenantID:  t.ID,
			Role:      role,
			TokenHash: hashToken(token),
			Prefix:    token[:len(tokenPrefix)+6],
		}).Error
	})
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return token, nil
}

// Authenticate returns who holds token.
func (s *Store) Authenticate(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return Principal{}, ErrUnauthenticated
	}
	var row struct {
		TenantID int64
		Name     string
		Role     Role
	}
	err := s.db.WithContext(ctx).Table("api_tokens").
		Select("api_tokens.tenant_id, tenants.name, api_tokens.role").
		Joins("JOIN tenants ON tenants.id = api_tokens.tenant_id").
		Where("api_tokens.token_hash = ? AND api_tokens.revoked_at IS NULL", hashToken(token)).
		Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return Principal{TenantID: row.TenantID, TenantName: row.Name, Role: row.Role}, nil
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
