package session

import (
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

// Pool hands out one Session per (site, username): bookings of the same
// account share its cookies, its extractions and its single-flight login,
// because legacy sites allow one session per account.
type Pool struct {
	cfg PoolConfig

	mu       sync.Mutex
	sessions map[poolKey]*Session
}

type poolKey struct{ site, user string }

// NewPool returns an empty pool.
func NewPool(cfg PoolConfig) *Pool {
	return &Pool{cfg: cfg, sessions: map[poolKey]*Session{}}
}

// Get returns the session of acct on site p, creating it on first use. A
// changed password is taken over by the existing session.
func (p *Pool) Get(prof *profile.Profile, acct profile.AccountData) (*Session, error) {
	if prof == nil {
		return nil, ErrNoProfile
	}
	k := poolKey{prof.Name, acct.Username}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sessions[k]; ok {
		if s.account().Password != acct.Password {
			s.SetAccount(acct)
		}
		return s, nil
	}
	s, err := New(Config{Profile: prof, Account: acct, Transport: p.cfg.Transport, MaxBody: p.cfg.MaxBody, Clock: p.cfg.Clock})
	if err != nil {
		return nil, err
	}
	p.sessions[k] = s
	return s, nil
}

// Remove forgets the session of (site, username); later Gets start afresh.
func (p *Pool) Remove(site, username string) {
	p.mu.Lock()
	delete(p.sessions, poolKey{site, username})
	p.mu.Unlock()
}

// Len is the number of sessions held.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}
