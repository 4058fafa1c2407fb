package tenant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrNoSession is returned for an operator page session that does not
// exist (never opened, logged out, or its token revoked) or has expired.
var ErrNoSession = errors.New("no such operator session")

// The operator page keeps its sessions here, not only in the cookie: a
// cookie's signature proves the server issued it, the row proves that it
// still stands. Logging out deletes the row, so a copy of the cookie is
// refused after it; revoking the token deletes its rows too, and every
// lookup judges the token's current state as well.

// OpenSession starts an operator page session for the token p was
// authenticated with, from remote, lasting ttl. It returns the session id
// for the cookie; the table keeps only its SHA-256. Expired sessions of
// any token are deleted on the way.
func (s *Store) OpenSession(ctx context.Context, p Principal, remote string, ttl time.Duration) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw)
	now := s.now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM ui_sessions WHERE expires_at <= ?", now).Error; err != nil {
			return err
		}
		return tx.Exec("INSERT INTO ui_sessions (id_hash, token_id, remote, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
			hashToken(id), p.TokenID, clip(remote, 64), now, now.Add(ttl)).Error
	})
	if err != nil {
		return "", fmt.Errorf("open session: %w", err)
	}
	return id, nil
}

// Session returns who holds the operator page session id: ErrNoSession if
// the session is gone or expired, ErrRevoked or ErrExpired if its token
// is, judged now.
func (s *Store) Session(ctx context.Context, id string) (Principal, error) {
	if id == "" {
		return Principal{}, ErrNoSession
	}
	var row tokenState
	err := s.db.WithContext(ctx).Table("ui_sessions").
		Select("api_tokens.id, api_tokens.tenant_id, tenants.name, api_tokens.role, api_tokens.prefix, "+
			"api_tokens.revoked_at, api_tokens.expires_at, api_tokens.last_used_at, ui_sessions.expires_at AS session_expires").
		Joins("JOIN api_tokens ON api_tokens.id = ui_sessions.token_id").
		Joins("JOIN tenants ON tenants.id = api_tokens.tenant_id").
		Where("ui_sessions.id_hash = ?", hashToken(id)).
		Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, fmt.Errorf("session: %w", err)
	}
	now := s.now()
	if row.SessionExpires == nil || !now.Before(*row.SessionExpires) {
		return Principal{}, ErrNoSession
	}
	return s.admit(ctx, row, now)
}

// CloseSession ends the session id; ending one that is gone is not an
// error.
func (s *Store) CloseSession(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Exec("DELETE FROM ui_sessions WHERE id_hash = ?", hashToken(id)).Error; err != nil {
		return fmt.Errorf("close session: %w", err)
	}
	return nil
}
