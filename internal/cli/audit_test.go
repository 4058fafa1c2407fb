package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/tenant"
)

func TestAuditCommand(t *testing.T) {
	t.Parallel()
	for _, dialect := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(dialect), func(t *testing.T) {
			e := newReviewEnv(t, dialect)
			db, err := database.Open(e.dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			ctx := context.Background()

			require.NoError(t, db.Exec("DELETE FROM audit_log").Error) // the harness's token
			out, _, code := e.run(t, "audit")
			require.Equal(t, 0, code)
			require.Regexp(t, `^no audit entries since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\n$`, out)

			old := tenant.NewStore(db, tenant.WithClock(func() time.Time { return time.Now().Add(-48 * time.Hour).UTC() }))
			require.NoError(t, old.Audit(ctx, tenant.AuditEntry{Actor: tenant.Actor{Name: "ops", Role: "operator", Prefix: "rsv_oldold", Remote: "10.0.0.9"}, Action: tenant.ActionLogin}))
			ops, _ := e.createToken(t, "--tenant", "ops", "--role", "operator")
			p, err := tenant.NewStore(db).Authenticate(ctx, ops)
			require.NoError(t, err)
			booking := int64(42)
			require.NoError(t, tenant.NewStore(db).Audit(ctx, tenant.AuditEntry{Actor: p.Actor("127.0.0.1"), Action: tenant.ActionCancel, BookingID: &booking, Detail: "cancelled"}))
			_, errOut, code := e.run(t, "token", "revoke", ops[:10])
			require.Equal(t, 0, code, errOut)

			out, errOut, code = e.run(t, "audit")
			require.Equal(t, 0, code, errOut)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			require.Len(t, lines, 4, out)
			stamp := `\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`
			require.Regexp(t, `^WHEN\s+WHO\s+ACTION\s+TARGET\s+FROM\s+DETAIL$`, lines[0])
			require.Regexp(t, `^`+stamp+`\s+unknown \(cli\)\s+token_create\s+token `+ops[:10]+`\s+local\s+role operator, tenant ops$`, lines[1])
			require.Regexp(t, `^`+stamp+`\s+ops \(operator, `+ops[:10]+`\)\s+cancel\s+booking 42\s+127\.0\.0\.1\s+cancelled$`, lines[2])
			require.Regexp(t, `^`+stamp+`\s+unknown \(cli\)\s+token_revoke\s+token `+ops[:10]+`\s+local\s+token \d+, role operator, tenant ops$`, lines[3])
			noSecret(t, out, ops)

			out, _, code = e.run(t, "audit", "--since", "72h")
			require.Equal(t, 0, code)
			lines = strings.Split(strings.TrimSpace(out), "\n")
			require.Len(t, lines, 5, out)
			require.Regexp(t, `ops \(operator, rsv_oldold\)\s+login\s+-\s+10\.0\.0\.9\s*$`, lines[1], "the older entry, first")

			out, _, code = e.run(t, "audit", "--json", "--limit", "2")
			require.Equal(t, 0, code)
			var items []map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &items))
			require.Len(t, items, 2, "the newest two")
			require.Equal(t, "cancel", items[0]["action"])
			require.Equal(t, 42.0, items[0]["booking_id"])
			require.Equal(t, map[string]any{"name": "ops", "role": "operator", "token_prefix": ops[:10], "address": "127.0.0.1"}, items[0]["who"])
			require.Equal(t, "token_revoke", items[1]["action"])
			require.Equal(t, ops[:10], items[1]["token_prefix"])
			noSecret(t, out, ops)

			_, errOut, code = e.run(t, "audit", "--since", "soon")
			require.Equal(t, 1, code)
			require.Contains(t, errOut, `--since "soon"`)
		})
	}
}
