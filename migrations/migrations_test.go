package migrations_test

import (
	"context"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/migrations"
)

// 00002 goes down and up again without losing the attempt rows that only
// its key told apart: the boot is folded into the instance name.
func TestPromisesDownAndUp(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		exec := func(q string, args ...any) {
			t.Helper()
			require.NoError(t, db.Exec(q, args...).Error, q)
		}
		exec("INSERT INTO tenants (name, created_at) VALUES ('t', '2026-12-01 00:00:00')")
		exec("INSERT INTO site_accounts (tenant_id, site, username, password_enc, created_at, updated_at) VALUES (1, 's', 'u', 'x', '2026-12-01 00:00:00', '2026-12-01 00:00:00')")
		exec(`INSERT INTO bookings (tenant_id, account_id, site, court, play_date, start_time, end_time, opens_at,
			window_seconds, rate_per_second, fields, state, created_at, updated_at, cancel_requested_at, review)
			VALUES (1, 1, 's', '1', '2026-12-01', '10:00', '11:00', '2026-12-01 00:00:00', 300, 2, '{}', 'running',
			'2026-12-01 00:00:00', '2026-12-01 00:00:00', '2026-12-01 00:00:00', 'late_success')`)
		for _, boot := range []string{"", "b1", "b2"} {
			exec("INSERT INTO attempts (booking_id, instance, boot, seq, step, sent_at, class) VALUES (1, 'r1', ?, 1, 'submit', '2026-12-01 00:00:00', 'success')", boot)
		}

		sqlDB, err := db.DB.DB()
		require.NoError(t, err)
		fsys, err := migrations.FS(string(db.Dialect))
		require.NoError(t, err)
		dialect := goose.DialectSQLite3
		if db.Dialect == database.MySQL {
			dialect = goose.DialectMySQL
		}
		p, err := goose.NewProvider(dialect, sqlDB, fsys)
		require.NoError(t, err)
		_, err = p.DownTo(ctx, 1)
		require.NoError(t, err)
		var instances []string
		require.NoError(t, db.Table("attempts").Order("instance").Pluck("instance", &instances).Error)
		require.Equal(t, []string{"r1", "r1@b1", "r1@b2"}, instances)

		_, err = p.Up(ctx)
		require.NoError(t, err)
		var n int64
		require.NoError(t, db.Table("attempts").Count(&n).Error)
		require.EqualValues(t, 3, n)
		require.NoError(t, db.Table("bookings").Where("cancel_requested_at IS NULL AND review = ''").Count(&n).Error)
		require.EqualValues(t, 1, n, "the columns are back, empty")
	})
}
