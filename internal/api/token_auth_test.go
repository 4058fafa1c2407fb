package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/tenant"
)

// A revoked or expired token is refused at its next request, with a
// problem document that says which; a token that expires later works.
func TestRevokedAndExpiredTokens(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		for _, tok := range []string{b.alice, b.bob, b.op} {
			require.Equal(t, 200, b.do(t, "GET", "/v1/bookings", tok, "").status)
		}
		var used int64
		require.NoError(t, db.Table("api_tokens").Where("last_used_at IS NOT NULL").Count(&used).Error)
		require.EqualValues(t, 3, used, "each token notes its use")

		now := time.Now().UTC()
		require.NoError(t, db.Exec("UPDATE api_tokens SET revoked_at = ? WHERE prefix = ?", now, b.alice[:tenant.PrefixLen]).Error)
		require.NoError(t, db.Exec("UPDATE api_tokens SET expires_at = ? WHERE prefix = ?", now.Add(-time.Second), b.bob[:tenant.PrefixLen]).Error)
		require.NoError(t, db.Exec("UPDATE api_tokens SET expires_at = ? WHERE prefix = ?", now.Add(time.Hour), b.op[:tenant.PrefixLen]).Error)

		tests := []struct {
			name, token string
			status      int
			detail      string
		}{
			{"revoked", b.alice, 401, "the token was revoked"},
			{"expired", b.bob, 401, "the token has expired; create a new one with: reserver token create"},
			{"expires later", b.op, 200, ""},
			{"unknown", "rsv_" + "nottherealone", 401, "the token is unknown"},
		}
		for _, tt := range tests {
			r := b.do(t, "GET", "/v1/bookings", tt.token, "")
			require.Equal(t, tt.status, r.status, tt.name)
			if tt.status != 401 {
				continue
			}
			require.Equal(t, "application/problem+json", r.header.Get("Content-Type"), tt.name)
			require.Equal(t, tt.detail, r.body["detail"], tt.name)
			require.Contains(t, r.header.Get("WWW-Authenticate"), `error="invalid_token"`, tt.name)
			require.Equal(t, 401, b.do(t, "POST", "/v1/bookings", tt.token, validBody).status, tt.name)
		}
	})
}
