package tenant

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Action is what an audit entry records.
type Action string

const (
	// ActionLogin is an operator signing in to the page.
	ActionLogin Action = "login"
	// ActionLoginRefused is a sign-in refused (unknown, revoked, expired
	// or not an operator token); only a token's prefix is recorded.
	ActionLoginRefused Action = "login_refused"
	// ActionLogout is an operator signing out.
	ActionLogout Action = "logout"
	// ActionCancel is a booking cancelled (or its cancel requested) from
	// the operator page.
	ActionCancel Action = "cancel"
	// ActionPatch is a booking changed by an operator over the API
	// (PATCH); the detail names the fields, never their values.
	ActionPatch Action = "patch"
	// ActionTokenCreate is a token created.
	ActionTokenCreate Action = "token_create"
	// ActionTokenRevoke is a token revoked.
	ActionTokenRevoke Action = "token_revoke"
)

// Actor is who acted: a tenant's token on the operator page, or a local
// user on the command line (Role "cli"). A token appears only as its
// prefix.
type Actor struct {
	Name   string `gorm:"column:actor" json:"name"`
	Role   string `gorm:"column:actor_role" json:"role"`
	Prefix string `gorm:"column:actor_prefix" json:"token_prefix,omitempty"`
	// Remote is the client's address, or "local" for the command line.
	Remote string `gorm:"column:remote" json:"address"`
}

// AuditEntry is one row of the audit trail.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  Actor     `gorm:"embedded" json:"who"`
	Action Action    `json:"action"`
	// BookingID is the booking acted on, if any.
	BookingID *int64 `json:"booking_id,omitempty"`
	// TokenPrefix is the token acted on (created, revoked), if any.
	TokenPrefix string `json:"token_prefix,omitempty"`
	Detail      string `json:"detail,omitempty"`
}

// TableName keeps gorm on the migration's table name.
func (AuditEntry) TableName() string { return "audit_log" }

// Audit records e, stamped now.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	e.At = s.now()
	if err := addAudit(s.db.WithContext(ctx), e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

func addAudit(tx *gorm.DB, e AuditEntry) error {
	e.ID = 0
	e.Actor.Name = clip(e.Actor.Name, 100)
	e.Actor.Role = clip(e.Actor.Role, 16)
	e.Actor.Prefix = clip(e.Actor.Prefix, 16)
	e.Actor.Remote = clip(e.Actor.Remote, 64)
	e.TokenPrefix = clip(e.TokenPrefix, 16)
	e.Detail = clip(e.Detail, 255)
	return tx.Create(&e).Error
}

// AuditLog returns the entries at or after since, oldest first, at most
// limit of them (the newest limit when there are more).
func (s *Store) AuditLog(ctx context.Context, since time.Time, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.WithContext(ctx).Where("at >= ?", since).Order("at DESC, id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// clip cuts s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
