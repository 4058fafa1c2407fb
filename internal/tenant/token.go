package tenant

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

var (
	// ErrNoToken is returned when no token has the ID or prefix asked for.
	ErrNoToken = errors.New("no token with this ID or prefix")
	// ErrAmbiguous is returned when a prefix names more than one token.
	ErrAmbiguous = errors.New("the prefix names more than one token; give its ID")
	// ErrAlreadyRevoked is returned by Revoke for a token revoked before.
	ErrAlreadyRevoked = errors.New("the token was already revoked")
)

// TokenInfo is what may be shown about a token: never the token, never
// its hash.
type TokenInfo struct {
	ID         int64      `json:"id"`
	Tenant     string     `json:"tenant"`
	Role       Role       `json:"role"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// State says whether the token is usable at now: "active", "expired" or
// "revoked".
func (t TokenInfo) State(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return "expired"
	}
	return "active"
}

func (t Token) info(tenant string) TokenInfo {
	return TokenInfo{ID: t.ID, Tenant: tenant, Role: t.Role, Prefix: t.Prefix, CreatedAt: t.CreatedAt,
		LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt}
}

// infoColumns selects a TokenInfo; the hash is not among them.
const infoColumns = "api_tokens.id, tenants.name AS tenant, api_tokens.role, api_tokens.prefix, api_tokens.created_at, " +
	"api_tokens.last_used_at, api_tokens.expires_at, api_tokens.revoked_at"

// ListTokens returns every token, oldest first; tenantName, if not empty,
// keeps one tenant's.
func (s *Store) ListTokens(ctx context.Context, tenantName string) ([]TokenInfo, error) {
	q := s.db.WithContext(ctx).Table("api_tokens").Select(infoColumns).
		Joins("JOIN tenants ON tenants.id = api_tokens.tenant_id").Order("api_tokens.id")
	if tenantName != "" {
		q = q.Where("tenants.name = ?", tenantName)
	}
	var out []TokenInfo
	if err := q.Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// Revoke revokes the token named by ref — its ID, or its prefix (rsv_ and
// six characters) — ends its operator page sessions and records the
// revocation in the audit trail, in one transaction. A token revoked
// before is returned with ErrAlreadyRevoked and nothing changes.
func (s *Store) Revoke(ctx context.Context, ref string, by Actor) (TokenInfo, error) {
	now := s.now()
	var got TokenInfo
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Table("api_tokens").Select(infoColumns).Joins("JOIN tenants ON tenants.id = api_tokens.tenant_id")
		if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
			q = q.Where("api_tokens.id = ?", id)
		} else if strings.HasPrefix(ref, tokenPrefix) && len(ref) == PrefixLen {
			q = q.Where("api_tokens.prefix = ?", ref)
		} else {
			return fmt.Errorf("%w (expected a token ID or a prefix like rsv_abc123)", ErrNoToken)
		}
		var rows []TokenInfo
		if err := q.Limit(2).Scan(&rows).Error; err != nil {
			return err
		}
		switch len(rows) {
		case 0:
			return ErrNoToken
		case 2:
			return ErrAmbiguous
		}
		got = rows[0]
		if got.RevokedAt != nil {
			return ErrAlreadyRevoked
		}
		res := tx.Exec("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, got.ID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrAlreadyRevoked // revoked meanwhile by another caller
		}
		got.RevokedAt = &now
		if err := tx.Exec("DELETE FROM ui_sessions WHERE token_id = ?", got.ID).Error; err != nil {
			return err
		}
		return addAudit(tx, AuditEntry{At: now, Actor: by, Action: ActionTokenRevoke, TokenPrefix: got.Prefix,
			Detail: fmt.Sprintf("token %d, role %s, tenant %s", got.ID, got.Role, got.Tenant)})
	})
	switch {
	case errors.Is(err, ErrAlreadyRevoked):
		return got, err
	case errors.Is(err, ErrNoToken), errors.Is(err, ErrAmbiguous):
		return TokenInfo{}, err
	case err != nil:
		return TokenInfo{}, fmt.Errorf("revoke token: %w", err)
	}
	return got, nil
}
