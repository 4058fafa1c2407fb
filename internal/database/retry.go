package database

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// Transient reports whether err is a failure the database asks us to retry:
// an InnoDB deadlock or lock-wait timeout, or a busy SQLite file. Concurrent
// conditional updates of one row can deadlock on InnoDB (index-merge plans
// lock the row through two indexes), and retrying is the documented answer.
func Transient(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	return err != nil && (strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked"))
}

// Retry runs fn until it succeeds, fails with a non-transient error, ctx
// ends, or it has tried five times.
func Retry(ctx context.Context, fn func() error) error {
	var err error
	for try := range 5 {
		if err = fn(); !Transient(err) {
			return err
		}
		wait := time.Duration(1<<try)*time.Millisecond + rand.N(2*time.Millisecond)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
	return err
}
