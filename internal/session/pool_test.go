package session_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/session"
)

func setupPool(t *testing.T) (*session.Pool, *profile.Profile) {
	t.Helper()
	_, p := plainSite(t, func(http.ResponseWriter, *http.Request) {}, "5s")
	return session.NewPool(session.PoolConfig{Transport: newTransport(t)}), p
}

func TestPoolAcquireRelease(t *testing.T) {
	t.Parallel()
	pool, p := setupPool(t)
	u1 := profile.AccountData{Username: "u1", Password: "pw"}

	s1, release1, err := pool.Acquire("t1", p, u1)
	require.NoError(t, err)
	s2, release2, err := pool.Acquire("t1", p, u1)
	require.NoError(t, err)
	require.Same(t, s1, s2, "holders of one account share its session")
	require.Equal(t, 1, pool.Len())

	release1()
	release1() // a second release of the same hold changes nothing
	s3, release3, err := pool.Acquire("t1", p, u1)
	require.NoError(t, err)
	require.Same(t, s1, s3, "still held by the second holder")
	release3()
	require.Equal(t, 1, pool.Len())
	release2()
	require.Equal(t, 0, pool.Len(), "the last release evicts the session")

	s4, release4, err := pool.Acquire("t1", p, u1)
	require.NoError(t, err)
	require.NotSame(t, s1, s4, "after eviction the account starts afresh")
	release4()
	require.Equal(t, 0, pool.Len())

	_, _, err = pool.Acquire("t1", nil, u1)
	require.ErrorIs(t, err, session.ErrNoProfile)
	require.Equal(t, 0, pool.Len())
}

func TestPoolRemoveWhileHeld(t *testing.T) {
	t.Parallel()
	pool, p := setupPool(t)
	u2 := profile.AccountData{Username: "u2", Password: "pw"}
	old, releaseOld, err := pool.Acquire("t1", p, u2)
	require.NoError(t, err)
	pool.Remove(p.Name, "u2")
	fresh, releaseFresh, err := pool.Acquire("t1", p, u2)
	require.NoError(t, err)
	require.NotSame(t, old, fresh)
	releaseOld() // the removed session's holder must not evict the new one
	again, releaseAgain, err := pool.Acquire("t1", p, u2)
	require.NoError(t, err)
	require.Same(t, fresh, again)
	releaseAgain()
	releaseFresh()
	require.Equal(t, 0, pool.Len())
}

// Many bookings of few accounts acquire and release at once: while one
// holder keeps an account, everyone gets its session; when all are done,
// nothing is left. Run with -race.
func TestPoolAcquireConcurrent(t *testing.T) {
	t.Parallel()
	pool, p := setupPool(t)
	const accounts, workers, rounds = 4, 8, 200
	acct := func(i int) profile.AccountData {
		return profile.AccountData{Username: fmt.Sprintf("user%d", i), Password: "pw"}
	}
	// Accounts 0 and 1 are held throughout; 2 and 3 come and go.
	held := make([]*session.Session, accounts)
	var releases []func()
	for i := range 2 {
		s, release, err := pool.Acquire("t1", p, acct(i))
		require.NoError(t, err)
		held[i] = s
		releases = append(releases, release)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				i := (w + r) % accounts
				s, release, err := pool.Acquire("t1", p, acct(i))
				if err != nil {
					t.Error(err)
					return
				}
				if held[i] != nil && s != held[i] {
					t.Errorf("account %d: a second session while the first is held", i)
				}
				release()
				if r%3 == 0 {
					release() // idempotent under contention too
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, 2, pool.Len(), "only the held accounts remain")
	for _, release := range releases {
		release()
	}
	require.Equal(t, 0, pool.Len())
}

// Sessions are never shared across owners (tenants), nor between two
// passwords of one account: a booking with another password must prove it
// with its own login instead of riding on a session another one logged in.
func TestPoolIsolatesOwnersAndPasswords(t *testing.T) {
	t.Parallel()
	pool, p := setupPool(t)
	right := profile.AccountData{Username: "u1", Password: "pw"}
	guess := profile.AccountData{Username: "u1", Password: "guess"}
	a, releaseA, err := pool.Acquire("tenant-a", p, right)
	require.NoError(t, err)
	defer releaseA()
	b, releaseB, err := pool.Acquire("tenant-b", p, right)
	require.NoError(t, err)
	defer releaseB()
	require.NotSame(t, a, b, "another tenant's booking never shares the session")
	c, releaseC, err := pool.Acquire("tenant-a", p, guess)
	require.NoError(t, err)
	defer releaseC()
	require.NotSame(t, a, c, "another password is another session")
	d, releaseD, err := pool.Acquire("tenant-a", p, right)
	require.NoError(t, err)
	defer releaseD()
	require.Same(t, a, d, "same owner, account and password: one session")
	require.Equal(t, 3, pool.Len())
}
