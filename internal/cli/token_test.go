package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/tenant"
)

// createToken runs token create and returns the token (the last line) and
// its ID.
func (e reviewEnv) createToken(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := e.run(t, append([]string{"token", "create"}, args...)...)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	m := regexp.MustCompile(`^created \w+ token (\d+) \((rsv_\w{6})\) for tenant "[^"]+"; .*; it is shown only now:$`).FindStringSubmatch(lines[0])
	require.NotNil(t, m, lines[0])
	require.True(t, strings.HasPrefix(lines[1], m[2]))
	return lines[1], m[1]
}

func TestTokenCommands(t *testing.T) {
	t.Parallel()
	for _, dialect := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(dialect), func(t *testing.T) {
			e := newReviewEnv(t, dialect) // tenant acme has a user token already
			ops, opsID := e.createToken(t, "--tenant", "ops", "--role", "operator", "--expires", "720h")
			bob, _ := e.createToken(t, "--tenant", "bob")
			db, err := database.Open(e.dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			_, err = tenant.NewStore(db).Authenticate(context.Background(), ops)
			require.NoError(t, err, "the printed token works")

			out, errOut, code := e.run(t, "token", "list")
			require.Equal(t, 0, code, errOut)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			require.Len(t, lines, 4, out)
			require.Regexp(t, `^ID\s+TENANT\s+ROLE\s+PREFIX\s+STATE\s+CREATED\s+LAST USED\s+EXPIRES\s+REVOKED$`, lines[0])
			stamp := `\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`
			require.Regexp(t, `^1\s+acme\s+user\s+rsv_\w{6}\s+active\s+`+stamp+`\s+`+stamp+`\s+never\s+-$`, lines[1], "acme's token was used by the harness")
			require.Regexp(t, `^`+opsID+`\s+ops\s+operator\s+`+ops[:10]+`\s+active\s+`+stamp+`\s+`+stamp+`\s+`+stamp+`\s+-$`, lines[2])
			f := strings.Fields(lines[2])
			expires, err := time.Parse("2006-01-02 15:04:05Z", f[9]+" "+f[10])
			require.NoError(t, err)
			require.WithinDuration(t, time.Now().Add(720*time.Hour), expires, time.Minute, "--expires 720h")
			require.Regexp(t, `^\d+\s+bob\s+user\s+`+bob[:10]+`\s+active\s+`+stamp+`\s+never\s+never\s+-$`, lines[3])
			noSecret(t, out, ops, bob)

			out, errOut, code = e.run(t, "token", "revoke", ops[:10])
			require.Equal(t, 0, code, errOut)
			require.Equal(t, fmt.Sprintf("revoked operator token %s (%s) of tenant ops\n", opsID, ops[:10]), out)
			_, err = tenant.NewStore(db).Authenticate(context.Background(), ops)
			require.ErrorIs(t, err, tenant.ErrRevoked)
			out, _, code = e.run(t, "token", "revoke", opsID)
			require.Equal(t, 0, code)
			require.Regexp(t, `^token `+opsID+` \(`+ops[:10]+`, tenant ops\) was already revoked at `+stamp+"\n$", out)
			_, errOut, code = e.run(t, "token", "revoke", "rsv_nosuch")
			require.Equal(t, 1, code)
			require.Equal(t, "error: revoke \"rsv_nosuch\": no token with this ID or prefix\n", errOut)

			out, errOut, code = e.run(t, "token", "list", "--tenant", "ops", "--json")
			require.Equal(t, 0, code, errOut)
			var items []map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &items))
			require.Len(t, items, 1)
			require.Equal(t, "revoked", items[0]["state"])
			require.Equal(t, ops[:10], items[0]["prefix"])
			require.NotNil(t, items[0]["revoked_at"])
			require.NotNil(t, items[0]["expires_at"])
			noSecret(t, out, ops, bob)

			_, errOut, code = e.run(t, "token", "create", "--tenant", "x", "--expires", "-1h")
			require.Equal(t, 1, code)
			require.Contains(t, errOut, "must be positive")
		})
	}
}

// noSecret checks that out holds neither a token (past its prefix) nor its
// stored hash.
func noSecret(t *testing.T, out string, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		sum := sha256.Sum256([]byte(tok))
		require.NotContains(t, out, tok[10:], "never the token")
		require.NotContains(t, out, hex.EncodeToString(sum[:]), "never its hash")
	}
}
