package database_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/database"
)

// Processes that start together on a new SQLite file (the API and the
// daemon) migrate one after the other instead of failing.
func TestConcurrentMigrationsOnSQLite(t *testing.T) {
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "r.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := database.Open(dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			_, errs[i] = db.Migrate(context.Background())
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

func TestParseDSN(t *testing.T) {
	t.Parallel()
	d, rest, err := database.ParseDSN("mysql:u:secret@tcp(127.0.0.1:3306)/x")
	require.NoError(t, err)
	require.Equal(t, database.MySQL, d)
	require.Equal(t, "u:secret@tcp(127.0.0.1:3306)/x", rest)
	_, _, err = database.ParseDSN("postgres:u:secret@host/x")
	require.ErrorIs(t, err, database.ErrBadDSN)
	require.NotContains(t, err.Error(), "secret", "a password in a DSN is not echoed")
}
