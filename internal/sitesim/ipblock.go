package sitesim

import (
	"hash/maphash"
	"sync"
	"time"
)

// blockWindow is the sliding window the request rate is measured over.
const blockWindow = time.Second

// ipState remembers the times of the last rps accepted requests of one IP in
// a ring, so "more than rps in the last second" is one comparison.
type ipState struct {
	ring         []time.Time
	next         int
	blockedUntil time.Time
}

type ipShard struct {
	mu sync.Mutex
	m  map[string]*ipState
}

// ipBlocker blocks an IP that sends more than rps requests within any
// sliding one-second window, for a fixed duration. Requests made while
// blocked are refused and neither counted nor extend the block.
type ipBlocker struct {
	rps    int
	dur    time.Duration
	seed   maphash.Seed
	shards [shardCount]ipShard
}

func newIPBlocker(rps int, dur time.Duration) *ipBlocker {
	b := &ipBlocker{rps: rps, dur: dur, seed: maphash.MakeSeed()}
	for i := range b.shards {
		b.shards[i].m = make(map[string]*ipState)
	}
	return b
}

// admit counts one request from ip at now. It returns how long the IP stays
// blocked, or 0 when the request is admitted.
func (b *ipBlocker) admit(ip string, now time.Time) time.Duration {
	if b.rps <= 0 {
		return 0
	}
	sh := &b.shards[maphash.String(b.seed, ip)%shardCount]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[ip]
	if st == nil {
		st = &ipState{ring: make([]time.Time, 0, b.rps)}
		sh.m[ip] = st
	}
	if now.Before(st.blockedUntil) {
		return st.blockedUntil.Sub(now)
	}
	if len(st.ring) < b.rps {
		st.ring = append(st.ring, now)
		return 0
	}
	// The ring is full: its oldest entry is the rps-th most recent request.
	// If that one is still inside the window, this request is one too many.
	if oldest := st.ring[st.next]; now.Sub(oldest) < blockWindow {
		st.blockedUntil = now.Add(b.dur)
		st.ring = st.ring[:0]
		st.next = 0
		return b.dur
	}
	st.ring[st.next] = now
	st.next = (st.next + 1) % b.rps
	return 0
}
