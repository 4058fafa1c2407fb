package tenant

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := NewStore(db)

		tok, err := s.CreateToken(ctx, "acme", RoleUser)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(tok, "rsv_"))

		p, err := s.Authenticate(ctx, tok)
		require.NoError(t, err)
		require.Equal(t, "acme", p.TenantName)
		require.Equal(t, RoleUser, p.Role)
		require.False(t, p.IsOperator())

		op, err := s.CreateToken(ctx, "acme", RoleOperator)
		require.NoError(t, err)
		p2, err := s.Authenticate(ctx, op)
		require.NoError(t, err)
		require.Equal(t, p.TenantID, p2.TenantID, "a second token joins the same tenant")
		require.True(t, p2.IsOperator())

		_, err = s.Authenticate(ctx, tok+"x")
		require.ErrorIs(t, err, ErrUnauthenticated)
		_, err = s.Authenticate(ctx, "")
		require.ErrorIs(t, err, ErrUnauthenticated)

		var n int64
		require.NoError(t, db.Table("api_tokens").Where("token_hash = ?", tok).Count(&n).Error)
		require.Zero(t, n, "the clear token is never stored")

		_, err = s.CreateToken(ctx, "bad name", RoleUser)
		require.ErrorIs(t, err, ErrBadName)
		_, err = s.CreateToken(ctx, "acme", Role("root"))
		require.ErrorIs(t, err, ErrBadRole)
	})
}
