// Package dbtest gives tests a freshly migrated database of each dialect: a
// SQLite file in the test's temp dir, and — when RESERVER_TEST_MYSQL_DSN is
// set — a throw-away database on that MySQL/MariaDB server, dropped when the
// test ends. With RESERVER_REQUIRE_MYSQL=1 (CI) a missing DSN fails the test
// instead of skipping the MySQL half, and every MySQL-backed test appends
// its name to the file named by RESERVER_TEST_MYSQL_LOG, so CI can show
// that they ran.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"reserver/internal/database"
)

// EnvMySQLDSN names the variable holding a go-sql-driver DSN of a server on
// which the tests may create and drop databases.
const EnvMySQLDSN = "RESERVER_TEST_MYSQL_DSN"

// Each runs fn as a subtest once per available dialect.
func Each(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, SQLite(t))
	})
	t.Run("mysql", func(t *testing.T) {
		db := MySQL(t)
		fn(t, db)
	})
}

// SQLite returns a migrated database in a new file under t.TempDir().
func SQLite(t testing.TB) *database.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "reserver.db")
	return open(t, "sqlite:"+path)
}

// DSN returns the "sqlite:..." or "mysql:..." DSN of a fresh, migrated
// database of the given dialect, for tests that open it themselves (several
// processes or instances on one database).
func DSN(t testing.TB, dialect database.Dialect) string {
	t.Helper()
	if dialect == database.SQLite {
		path := filepath.Join(t.TempDir(), "reserver.db")
		db := open(t, "sqlite:"+path)
		_ = db.Close()
		return "sqlite:" + path
	}
	dsn := mysqlDatabase(t)
	db := open(t, dsn)
	_ = db.Close()
	return dsn
}

// MySQL returns a migrated throw-away MySQL database, or skips the test
// when no server is configured (fails instead when one is required).
func MySQL(t testing.TB) *database.DB {
	t.Helper()
	return open(t, mysqlDatabase(t))
}

func mysqlDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvMySQLDSN)
	if base == "" {
		if os.Getenv("RESERVER_REQUIRE_MYSQL") == "1" {
			t.Fatalf("%s is not set but RESERVER_REQUIRE_MYSQL=1: the MySQL-backed tests must run", EnvMySQLDSN)
		}
		t.Skipf("%s not set; MySQL-backed test skipped", EnvMySQLDSN)
	}
	cfg, err := gomysql.ParseDSN(strings.TrimPrefix(base, "mysql:"))
	if err != nil {
		t.Fatalf("parse %s: %v", EnvMySQLDSN, err)
	}
	name := "rsvtest_" + randomHex(6)
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("connect to MySQL: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name)
	})
	cfg.DBName = name
	recordMySQLTest(t)
	return "mysql:" + cfg.FormatDSN()
}

func open(t testing.TB, dsn string) *database.DB {
	t.Helper()
	db, err := database.Open(dsn)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

var logMu sync.Mutex

func recordMySQLTest(t testing.TB) {
	path := os.Getenv("RESERVER_TEST_MYSQL_LOG")
	if path == "" {
		return
	}
	logMu.Lock()
	defer logMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	fmt.Fprintln(f, t.Name())
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
