package session

import (
	"crypto/sha256"
	"net/http"
	"sync"

	"reserver/internal/profile"
)

// PoolConfig is what every session of a Pool gets.
type PoolConfig struct {
	Transport http.RoundTripper // required
	MaxBody   int64
	Clock     Clock
}

// Pool hands out one Session per (owner, site, username, password):
// bookings of the same account share its cookies, its extractions and its
// single-flight login, because legacy sites allow one session per account —
// but only bookings of the same owner (the caller's key for a tenant's site
// account) that log in with the same password do. A booking whose password
// differs gets a session of its own, which its own login must prove; it
// never rides on a session another password logged in. A session lives as
// long as someone holds it (Acquire), so the pool does not grow for the
// daemon's lifetime.
type Pool struct {
	cfg PoolConfig

	mu       sync.Mutex
	sessions map[poolKey]*poolEntry
}

type poolKey struct {
	owner, site, user string
	// password is a digest of the password, held in memory only: two
	// bookings share a session only if they log in with the same one.
	password [sha256.Size]byte
}

// poolEntry is one session and how many holders it has (guarded by
// Pool.mu).
type poolEntry struct {
	s    *Session
	refs int
}

// NewPool returns an empty pool.
func NewPool(cfg PoolConfig) *Pool {
	return &Pool{cfg: cfg, sessions: map[poolKey]*poolEntry{}}
}

// Acquire returns the session of acct on site prof for owner, creating it
// on first use, and a release func. Every holder with the same owner,
// account and password shares one session; when the last holder releases
// it, the pool forgets it, and the next Acquire starts afresh (new cookies,
// new login). Calling release more than once is harmless. A different
// password is a different session: its login has to prove it.
func (p *Pool) Acquire(owner string, prof *profile.Profile, acct profile.AccountData) (*Session, func(), error) {
	k, e, err := p.hold(owner, prof, acct)
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			e.refs--
			// After Remove the key may hold a newer session: leave it.
			if e.refs == 0 && p.sessions[k] == e {
				delete(p.sessions, k)
			}
		})
	}
	return e.s, release, nil
}

// hold finds or creates the entry of (prof, acct) and counts one holder.
func (p *Pool) hold(owner string, prof *profile.Profile, acct profile.AccountData) (poolKey, *poolEntry, error) {
	if prof == nil {
		return poolKey{}, nil, ErrNoProfile
	}
	k := poolKey{owner: owner, site: prof.Name, user: acct.Username, password: sha256.Sum256([]byte(acct.Password))}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.sessions[k]; ok {
		e.refs++
		return k, e, nil
	}
	s, err := New(Config{Profile: prof, Account: acct, Transport: p.cfg.Transport, MaxBody: p.cfg.MaxBody, Clock: p.cfg.Clock})
	if err != nil {
		return poolKey{}, nil, err
	}
	e := &poolEntry{s: s, refs: 1}
	p.sessions[k] = e
	return k, e, nil
}

// Remove forgets the session of (site, username) whoever holds it; later
// Acquires start afresh, and the holders' releases do not touch
// the new session.
func (p *Pool) Remove(site, username string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.sessions {
		if k.site == site && k.user == username {
			delete(p.sessions, k)
		}
	}
}

// Len is the number of sessions held.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}
