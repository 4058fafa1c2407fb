package sitesim

import (
	"crypto/rand"
	"encoding/hex"
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"time"
)

const shardCount = 64

// session is one logged-in browser session (JSESSIONID).
type session struct {
	id      string
	account string

	mu       sync.Mutex
	lastSeen time.Time
	traces   map[slotKey]struct{} // booking pages visited
	tokens   map[slotKey]string   // the latest unused rentToken per slot
}

// visit records a booking-page visit and issues a fresh token for k. Only the
// latest token of a slot is valid, like a token kept in a session attribute.
func (s *session) visit(k slotKey) string {
	tok := randomHex(16)
	s.mu.Lock()
	s.traces[k] = struct{}{}
	s.tokens[k] = tok
	s.mu.Unlock()
	return tok
}

// useToken reports whether k was visited in this session and token is its
// current token. Unless reuse is set, the slot's token is consumed whatever
// the answer, so every attempt needs a fresh page visit.
func (s *session) useToken(k slotKey, token string, reuse bool) (traced, tokenOK bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, traced = s.traces[k]
	want, ok := s.tokens[k]
	if !reuse {
		delete(s.tokens, k)
	}
	return traced, ok && token != "" && token == want
}

type sessionShard struct {
	mu sync.Mutex
	m  map[string]*session
}

// account holds the one-session-per-account rule.
type account struct {
	mu        sync.Mutex
	sessionID string
}

// sessionStore maps JSESSIONID to sessions in O(1) through sharded maps, and
// accounts to their single current session.
type sessionStore struct {
	idle   time.Duration
	seed   maphash.Seed
	shards [shardCount]sessionShard

	accountsMu sync.Mutex
	accounts   map[string]*account
}

func newSessionStore(idle time.Duration) *sessionStore {
	st := &sessionStore{idle: idle, seed: maphash.MakeSeed(), accounts: make(map[string]*account)}
	for i := range st.shards {
		st.shards[i].m = make(map[string]*session)
	}
	return st
}

func (st *sessionStore) shard(id string) *sessionShard {
	return &st.shards[maphash.String(st.seed, id)%shardCount]
}

func (st *sessionStore) account(name string) *account {
	st.accountsMu.Lock()
	defer st.accountsMu.Unlock()
	a, ok := st.accounts[name]
	if !ok {
		a = &account{}
		st.accounts[name] = a
	}
	return a
}

// login creates a session for name and invalidates the account's older one.
func (st *sessionStore) login(name string, now time.Time) *session {
	sess := &session{
		id:       strings.ToUpper(randomHex(16)),
		account:  name,
		lastSeen: now,
		traces:   make(map[slotKey]struct{}),
		tokens:   make(map[slotKey]string),
	}
	a := st.account(name)
	a.mu.Lock()
	old := a.sessionID
	a.sessionID = sess.id
	sh := st.shard(sess.id)
	sh.mu.Lock()
	sh.m[sess.id] = sess
	sh.mu.Unlock()
	a.mu.Unlock()
	if old != "" {
		st.drop(old)
	}
	return sess
}

// kick invalidates the account's current session, as a newer login would.
func (st *sessionStore) kick(name string) {
	a := st.account(name)
	a.mu.Lock()
	old := a.sessionID
	a.sessionID = ""
	a.mu.Unlock()
	if old != "" {
		st.drop(old)
	}
}

// logout ends one session.
func (st *sessionStore) logout(sess *session) {
	a := st.account(sess.account)
	a.mu.Lock()
	if a.sessionID == sess.id {
		a.sessionID = ""
	}
	a.mu.Unlock()
	st.drop(sess.id)
}

func (st *sessionStore) drop(id string) {
	sh := st.shard(id)
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
}

// get returns the live session for id and marks it used at now, or nil when
// the id is unknown, kicked out or idle for longer than the idle expiry.
func (st *sessionStore) get(id string, now time.Time) *session {
	if id == "" {
		return nil
	}
	sh := st.shard(id)
	sh.mu.Lock()
	sess := sh.m[id]
	sh.mu.Unlock()
	if sess == nil {
		return nil
	}
	sess.mu.Lock()
	expired := st.idle > 0 && now.Sub(sess.lastSeen) > st.idle
	if !expired && now.After(sess.lastSeen) {
		sess.lastSeen = now
	}
	sess.mu.Unlock()
	if expired {
		st.drop(id)
		return nil
	}
	return sess
}

// accountNames generates and parses the account names user001..userNNN.
type accountNames struct {
	count int
	width int
}

func newAccountNames(count int) accountNames {
	return accountNames{count: count, width: max(3, len(strconv.Itoa(count)))}
}

func (a accountNames) name(i int) string {
	s := strconv.Itoa(i)
	if pad := a.width - len(s); pad > 0 {
		s = strings.Repeat("0", pad) + s
	}
	return "user" + s
}

// valid reports whether name is exactly one of the generated names.
func (a accountNames) valid(name string) bool {
	digits, ok := strings.CutPrefix(name, "user")
	if !ok || len(digits) != a.width {
		return false
	}
	i, err := strconv.Atoi(digits)
	return err == nil && digits[0] != '+' && digits[0] != '-' && i >= 1 && i <= a.count
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
