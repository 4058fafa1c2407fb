package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/migrations"
)

// hashKey is the request-hash key of the tests, derived as app derives it.
func hashKey(t *testing.T) []byte {
	t.Helper()
	k, err := RequestHashKey(bytes.Repeat([]byte{9}, 32))
	require.NoError(t, err)
	return k
}

func withHashKey(k []byte) func(*Options) {
	return func(o *Options) { o.RequestHashKey = k }
}

func storedHash(t *testing.T, db *database.DB, id any) string {
	t.Helper()
	var h string
	require.NoError(t, db.Table("bookings").Where("id = ?", id).Pluck("request_hash", &h).Error)
	return h
}

func unkeyed(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// compact re-encodes a JSON body without whitespace, as a client library
// would.
func compact(t *testing.T, body string) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, []byte(body)))
	return buf.String()
}

// The stored request_hash offers nothing to guess the password against: it
// is none of the unkeyed SHA-256 digests a database thief would try, of
// the body with the password or without it. It is the keyed hash of the
// request without the password, the same on every instance with the key.
func TestRequestHashHidesThePassword(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		key := hashKey(t)
		b := setup(t, db, withHashKey(key))
		r := b.do(t, "POST", "/v1/bookings", b.alice, validBody, "Idempotency-Key", "h-1")
		require.Equal(t, 201, r.status, r.raw)
		got := storedHash(t, db, r.body["id"])
		require.Len(t, got, 64)

		noPassword := strings.Replace(validBody, `, "password": "S3cr3t-Pa55!"`, "", 1)
		require.NotEqual(t, validBody, noPassword)
		canon, err := canonicalRequest([]byte(validBody))
		require.NoError(t, err)
		require.NotContains(t, string(canon), "S3cr3t")
		variants := map[string]string{
			"body":                     validBody,
			"compact body":             compact(t, validBody),
			"body with CRLF":           strings.ReplaceAll(validBody, "\n", "\r\n"),
			"body with a newline":      validBody + "\n",
			"password alone":           "S3cr3t-Pa55!",
			"body without password":    noPassword,
			"compact without password": compact(t, noPassword),
			"canonical form":           string(canon),
		}
		for name, v := range variants {
			require.NotEqual(t, unkeyed(v), got, "request_hash is the SHA-256 of the %s", name)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write(canon)
		require.Equal(t, hex.EncodeToString(mac.Sum(nil)), got, "HMAC of the canonical request under the derived key")

		// Another API instance with the same secret key recognises the replay.
		other := setup(t, db, withHashKey(key))
		again := other.do(t, "POST", "/v1/bookings", b.alice, compact(t, validBody), "Idempotency-Key", "h-1")
		require.Equal(t, 201, again.status, again.raw)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.Equal(t, r.body["id"], again.body["id"])
	})
}

// What a reused Idempotency-Key is answered with. The password is not part
// of the request's identity: a replay that changes only the password is a
// replay, and stores nothing.
func TestIdempotentIdentity(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, withHashKey(hashKey(t)))
		first := b.do(t, "POST", "/v1/bookings", b.alice, validBody, "Idempotency-Key", "i-1")
		require.Equal(t, 201, first.status, first.raw)
		before := b.counts(t)

		tests := []struct {
			name   string
			body   string
			status int
		}{
			{"the same body", validBody, 201},
			{"reformatted", compact(t, validBody), 201},
			{"keys reordered", strings.Replace(validBody, `"start": "10:00",
  "end": "11:00",`, `"end": "11:00",
  "start": "10:00",`, 1), 201},
			{"another password", strings.Replace(validBody, "S3cr3t-Pa55!", "another-one", 1), 201},
			{"another court", strings.Replace(validBody, `"court": 3`, `"court": 4`, 1), 422},
			{"another username", strings.Replace(validBody, `"user001"`, `"user009"`, 1), 422},
			{"court as a string", strings.Replace(validBody, `"court": 3`, `"court": "3"`, 1), 422},
		}
		for i, tt := range tests {
			require.True(t, i == 0 || tt.body != validBody, "%s: the body is changed", tt.name)
			r := b.do(t, "POST", "/v1/bookings", b.alice, tt.body, "Idempotency-Key", "i-1")
			require.Equal(t, tt.status, r.status, "%s: %s", tt.name, r.raw)
			if tt.status == 201 {
				require.Equal(t, "true", r.header.Get("Idempotent-Replayed"), tt.name)
				require.Equal(t, first.body["id"], r.body["id"], tt.name)
				require.Equal(t, map[string]any{"username": "user001"}, r.body["account"], tt.name)
			} else {
				require.Equal(t, "application/problem+json", r.header.Get("Content-Type"), tt.name)
			}
		}
		require.Equal(t, before, b.counts(t), "no replay stored anything")
	})
}

// A booking stored before migration 00004 has an empty request_hash (its
// body is gone, so its hash cannot be recomputed): a reuse of its key is
// answered as a replay, not 422.
func TestLegacyHashReplays(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, withHashKey(hashKey(t)))
		first := b.do(t, "POST", "/v1/bookings", b.alice, validBody, "Idempotency-Key", "old-1")
		require.Equal(t, 201, first.status, first.raw)
		require.NoError(t, db.Exec("UPDATE bookings SET request_hash = ?", unkeyed(validBody)).Error)

		// Migration 00004 clears the old hashes.
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
		ctx := context.Background()
		_, err = p.ApplyVersion(ctx, 4, false)
		require.NoError(t, err)
		_, err = p.ApplyVersion(ctx, 4, true)
		require.NoError(t, err)
		require.Empty(t, storedHash(t, db, first.body["id"]), "00004 cleared the unkeyed hash")

		other := strings.Replace(validBody, `"court": 3`, `"court": 4`, 1)
		r := b.do(t, "POST", "/v1/bookings", b.alice, other, "Idempotency-Key", "old-1")
		require.Equal(t, 201, r.status, r.raw)
		require.Equal(t, "true", r.header.Get("Idempotent-Replayed"))
		require.Equal(t, first.body["id"], r.body["id"])
		require.Equal(t, "3", r.body["court"], "the stored booking, not the new body")
		require.Equal(t, map[string]any{"username": "user001"}, r.body["account"])

		// A new key gets the keyed hash and its mismatches are refused.
		fresh := b.do(t, "POST", "/v1/bookings", b.alice, other, "Idempotency-Key", "new-1")
		require.Equal(t, 201, fresh.status, fresh.raw)
		require.Equal(t, 422, b.do(t, "POST", "/v1/bookings", b.alice, validBody, "Idempotency-Key", "new-1").status)
	})
}
