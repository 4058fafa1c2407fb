package tenant

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
)

func TestNames(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := NewStore(db)
		var ids []int64
		for _, name := range []string{"zeta", "acme"} {
			tok, err := s.CreateToken(ctx, name, RoleUser)
			require.NoError(t, err)
			p, err := s.Authenticate(ctx, tok)
			require.NoError(t, err)
			ids = append(ids, p.TenantID)
		}
		got, err := s.Names(ctx, []int64{ids[0], ids[1], ids[0], 999999})
		require.NoError(t, err)
		require.Equal(t, map[int64]string{ids[0]: "zeta", ids[1]: "acme"}, got, "each id once; an unknown id is absent")
		got, err = s.Names(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, got)

		all, err := s.All(ctx)
		require.NoError(t, err)
		require.Len(t, all, 2)
		require.Equal(t, "acme", all[0].Name, "by name")
		require.Equal(t, "zeta", all[1].Name)
	})
}
