// Package database opens reserver's database — an embedded SQLite file by
// default, MySQL/MariaDB in production — and applies the embedded schema
// migrations. It owns connection settings and the dialect split; the tables'
// meaning belongs to the packages that use them (booking, tenant, notify).
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"reserver/internal/filelock"
	"reserver/migrations"
)

// Dialect names the kind of database behind a DSN.
type Dialect string

const (
	SQLite Dialect = "sqlite"
	MySQL  Dialect = "mysql"
)

// ErrBadDSN is returned for a DSN that names no supported database.
var ErrBadDSN = errors.New("database DSN must start with sqlite: or mysql:")

// DB is an open database and the dialect it speaks.
type DB struct {
	*gorm.DB
	Dialect Dialect
	file    string // the SQLite file, if any
}

// ParseDSN splits "sqlite:PATH" or "mysql:USER:PASS@tcp(HOST)/DB?..." into
// the dialect and the driver's own DSN.
func ParseDSN(dsn string) (Dialect, string, error) {
	kind, rest, ok := strings.Cut(dsn, ":")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("%w (got %q)", ErrBadDSN, redactDSN(dsn))
	}
	switch Dialect(kind) {
	case SQLite:
		return SQLite, rest, nil
	case MySQL:
		return MySQL, rest, nil
	}
	return "", "", fmt.Errorf("%w (got %q)", ErrBadDSN, redactDSN(dsn))
}

// redactDSN hides a password in a MySQL DSN (user:pass@tcp...).
func redactDSN(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		return dsn
	}
	head := dsn[:at]
	if i := strings.LastIndex(head, ":"); i >= 0 && strings.Count(head, ":") >= 1 {
		user := head[:i]
		return user + ":***" + dsn[at:]
	}
	return dsn
}

// Now is the clock gorm uses for created_at/updated_at: UTC, truncated to the
// microsecond so that both dialects store and return the same instant.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Open connects to the database named by dsn. It does not migrate.
func Open(dsn string) (*DB, error) {
	dialect, driverDSN, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg := &gorm.Config{
		Logger:                                   logger.Discard,
		NowFunc:                                  Now,
		DisableForeignKeyConstraintWhenMigrating: true,
		TranslateError:                           true,
	}
	var gdb *gorm.DB
	switch dialect {
	case SQLite:
		if err := ensureDir(driverDSN); err != nil {
			return nil, err
		}
		// Opening sets journal_mode=WAL, which needs the file to itself for
		// a moment: processes opening a new file together would get
		// SQLITE_BUSY (the busy timeout does not cover it), so they take
		// turns on the migration lock file.
		unlock, lerr := filelock.Lock(sqliteFile(driverDSN) + ".migrate-lock")
		if lerr != nil {
			return nil, fmt.Errorf("open %s database: %w", dialect, lerr)
		}
		gdb, err = gorm.Open(sqlite.Open(sqliteDSN(driverDSN)), cfg)
		if err == nil {
			// The pragmas run on the first connection; make it now, in turn.
			if sqlDB, derr := gdb.DB(); derr == nil {
				err = sqlDB.Ping()
			}
		}
		unlock()
	case MySQL:
		gdb, err = gorm.Open(mysql.Open(mysqlDSN(driverDSN)), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	if dialect == SQLite {
		// SQLite has one writer; a single connection avoids "database is
		// locked" between our own goroutines, and WAL keeps readers of other
		// processes (the API and the daemon) from blocking it.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(8)
		sqlDB.SetConnMaxLifetime(5 * time.Minute)
	}
	out := &DB{DB: gdb, Dialect: dialect}
	if dialect == SQLite {
		out.file = sqliteFile(driverDSN)
	}
	return out, nil
}

// sqliteDSN adds the pragmas reserver relies on to a file path.
func sqliteDSN(path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// mysqlDSN makes sure times come back as time.Time in UTC.
func mysqlDSN(dsn string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	for _, p := range []string{"parseTime=true", "loc=UTC", "time_zone=%27%2B00%3A00%27"} {
		key, _, _ := strings.Cut(p, "=")
		if !strings.Contains(dsn, key+"=") {
			dsn += sep + p
			sep = "&"
		}
	}
	return dsn
}

// sqliteFile is the file of a SQLite DSN, or "" for an in-memory one.
func sqliteFile(dsn string) string {
	file, _, _ := strings.Cut(dsn, "?")
	file = strings.TrimPrefix(file, "file:")
	if file == "" || strings.HasPrefix(file, ":") {
		return ""
	}
	return file
}

func ensureDir(path string) error {
	file := sqliteFile(path)
	if file == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("create directory for the SQLite file: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the connection pool.
func (db *DB) Close() error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Migrate applies every pending migration of the database's dialect and
// returns the versions it applied. On MySQL it holds a named lock while it
// works, so several instances starting together migrate once.
func (db *DB) Migrate(ctx context.Context) ([]int64, error) {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return nil, err
	}
	fsys, err := migrations.FS(string(db.Dialect))
	if err != nil {
		return nil, err
	}
	gooseDialect := goose.DialectSQLite3
	if db.Dialect == SQLite && db.file != "" {
		// Processes sharing one SQLite file (the API and the daemon
		// starting together) migrate one after the other.
		unlock, err := filelock.Lock(db.file + ".migrate-lock")
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if db.Dialect == MySQL {
		gooseDialect = goose.DialectMySQL
		unlock, err := mysqlLock(ctx, sqlDB, "reserver_migrate")
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	provider, err := goose.NewProvider(gooseDialect, sqlDB, fsys)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

func mysqlLock(ctx context.Context, sqlDB *sql.DB, name string) (func(), error) {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", name).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		conn.Close()
		return nil, errors.New("take migration lock: another instance held it for 60s")
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", name)
		conn.Close()
	}, nil
}
