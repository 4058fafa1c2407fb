package ippool

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"reserver/internal/profile"
)

// Errors of the Pool.
var (
	// ErrAllCooling is matched (errors.Is) by every *AllCoolingError.
	ErrAllCooling = errors.New("ippool: every egress is cooling down")
	// ErrNotAssigned: Move for an account that Assign never placed (or
	// that was released).
	ErrNotAssigned = errors.New("ippool: account has no egress")
	// ErrUnknownEgress: a name that is not in the configuration.
	ErrUnknownEgress = errors.New("ippool: unknown egress")
	// ErrNoAccount: an empty account or host.
	ErrNoAccount = errors.New("ippool: account and host are required")
)

// AllCoolingError is returned by Assign and Move when no egress may be used
// for Host now. Until is the earliest instant one may be (a booking can
// wait for it within its window); Wait is Until minus the decision's now.
type AllCoolingError struct {
	Host  string
	Until time.Time
	Wait  time.Duration
}

func (e *AllCoolingError) Error() string {
	return fmt.Sprintf("ippool: every egress to %s is cooling down; the first is usable in %v", e.Host, e.Wait.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrAllCooling) true.
func (e *AllCoolingError) Is(target error) bool { return target == ErrAllCooling }

// Outcome is what the daemon learnt from one answer, for Report.
type Outcome struct {
	// Class is the profile's classification of the answer. Only
	// profile.ClassBlocked changes anything: transport failures are seen by
	// the egress's RoundTripper itself, and ordinary site answers (not open,
	// sold out, errors in a 200 page) say nothing about the egress.
	Class profile.Class
	// RetryAfter is the wait the block page asked for, if the daemon parsed
	// one (e.g. ParseWaitText on the page's "N분 후"). Zero: a Retry-After
	// header the egress saw in the last seconds, else Config.OpenTimeout.
	RetryAfter time.Duration
}

// Egress is one configured route to the sites. The zero Egress has no name
// and a nil Transport.
type Egress struct{ e *egress }

// Name is the configured name, recorded on every attempt row.
func (e Egress) Name() string {
	if e.e == nil {
		return ""
	}
	return e.e.name
}

// Kind is the egress's kind.
func (e Egress) Kind() Kind {
	if e.e == nil {
		return ""
	}
	return e.e.kind
}

// Transport is the egress's RoundTripper for a session: each request goes
// through the breaker of (this egress, the request's host) and fails fast
// with an *EgressOpenError, without sending, while that breaker is open.
func (e Egress) Transport() http.RoundTripper {
	if e.e == nil {
		return nil
	}
	return e.e.rt
}

// SessionTransport is a transport on the same route, through the same
// breaker, with a connection pool of its own: a site session keeps the
// keep-alive connection its pre-warm opened, instead of sharing the
// egress's idle connections with every other session (which leaves too few
// warm connections when a thousand bookings fire at once). For an egress
// whose transport is not an *http.Transport it is the shared Transport.
func (e Egress) SessionTransport() http.RoundTripper {
	if e.e == nil {
		return nil
	}
	base, ok := e.e.base.(*http.Transport)
	if !ok {
		return e.e.rt
	}
	own := base.Clone()
	own.MaxIdleConnsPerHost = 2
	return &transport{p: e.e.rt.p, e: e.e, own: own}
}

// String is the name, kind and proxy address, without credentials.
func (e Egress) String() string {
	if e.e == nil {
		return "<none>"
	}
	return e.e.display
}

type egress struct {
	name    string
	kind    Kind
	index   int
	display string
	base    http.RoundTripper
	rt      *transport
	secrets []string
}

type pairKey struct{ egress, host string }

type acctKey struct{ account, host string }

// placement is where an account's session lives for one host, and the sum
// of the rates its bookings declared.
type placement struct {
	e      *egress
	rps    float64
	claims int
}

type load struct {
	rps      float64
	accounts int
	// over: the declared rate was above the ceiling at the last Assign
	// (warned once per crossing, not once per booking).
	over bool
}

// Pool is the set of egresses, their breakers and the placement of
// accounts on them. It starts no goroutines; Close releases idle
// connections. All methods are safe for concurrent use.
type Pool struct {
	cfg      Config
	log      *zap.Logger
	egresses []*egress
	byName   map[string]*egress

	// mu guards the maps below. Every booking's request reads them (its
	// placement, its egress's limiter and breaker), a thousand at one
	// instant at an opening: reads take it shared (an exclusive lock made
	// them queue behind each other, ~100 ms for 1,000 first submits).
	mu       sync.RWMutex
	breakers map[pairKey]*breaker
	limiters map[pairKey]*rate.Limiter
	loads    map[pairKey]*load
	placed   map[acctKey]*placement
}

// New validates cfg and builds the egresses' transports.
func New(cfg Config) (*Pool, error) {
	return newPool(cfg, nil)
}

// NewWithTransports is New with the egresses' own transports replaced by
// base(egress): for in-process tests and embedders that route requests
// themselves. Breakers, placement and limiters work as with New.
func NewWithTransports(cfg Config, base func(EgressConfig) http.RoundTripper) (*Pool, error) {
	return newPool(cfg, base)
}

// newPool is New with an optional replacement of the egresses' own
// transports, for tests that need no sockets.
func newPool(cfg Config, base func(EgressConfig) http.RoundTripper) (*Pool, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Pool{
		cfg:      cfg,
		log:      cfg.Logger.Named("ippool"),
		byName:   map[string]*egress{},
		breakers: map[pairKey]*breaker{},
		limiters: map[pairKey]*rate.Limiter{},
		loads:    map[pairKey]*load{},
		placed:   map[acctKey]*placement{},
	}
	for i, ec := range cfg.Egresses {
		e := &egress{name: ec.Name, kind: ec.Kind, index: i, display: describe(ec)}
		if base != nil {
			e.base = base(ec)
		} else {
			t, secrets, err := newTransport(cfg, ec)
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("%w: egress %q: %w", ErrInvalidConfig, ec.Name, err)
			}
			e.base, e.secrets = t, secrets
		}
		e.rt = &transport{p: p, e: e}
		p.egresses = append(p.egresses, e)
		p.byName[e.name] = e
	}
	return p, nil
}

func describe(ec EgressConfig) string {
	switch ec.Kind {
	case KindSource:
		return fmt.Sprintf("%s (source %s)", ec.Name, ec.Source)
	case KindHTTP, KindSOCKS5:
		u, _ := url.Parse(ec.URL) // validated
		return fmt.Sprintf("%s (%s %s)", ec.Name, ec.Kind, redactURL(u))
	default:
		return fmt.Sprintf("%s (%s)", ec.Name, ec.Kind)
	}
}

// Close closes the idle connections of every egress. The Pool stays
// usable; later requests dial again.
func (p *Pool) Close() {
	for _, e := range p.egresses {
		if c, ok := e.base.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

// Egresses lists the egresses in configuration order.
func (p *Pool) Egresses() []Egress {
	out := make([]Egress, len(p.egresses))
	for i, e := range p.egresses {
		out[i] = Egress{e}
	}
	return out
}

// Egress returns the egress called name.
func (p *Pool) Egress(name string) (Egress, bool) {
	e, ok := p.byName[name]
	return Egress{e}, ok
}

// canonicalHost is the key of a site host: lower case, default ports
// dropped. A URL is accepted too, so callers may pass a profile's base URL.
func canonicalHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.Contains(h, "://") {
		if u, err := url.Parse(h); err == nil {
			h = u.Host
		}
	}
	h = strings.TrimSuffix(h, ":80")
	return strings.TrimSuffix(h, ":443")
}

// breaker returns the breaker of (e, host), creating it on first use.
func (p *Pool) breaker(e *egress, host string) *breaker {
	k := pairKey{e.name, host}
	p.mu.RLock()
	b := p.breakers[k]
	p.mu.RUnlock()
	if b != nil {
		return b
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.breakerLocked(e, k)
}

func (p *Pool) breakerLocked(e *egress, k pairKey) *breaker {
	b := p.breakers[k]
	if b == nil {
		b = p.newBreaker(e.name, k.host)
		p.breakers[k] = b
	}
	return b
}

// health is one egress's state for a host at one instant.
type health struct {
	state string
	until time.Time
}

func (h health) usable() bool { return h.state != StateOpen }

// health reads the state of every egress for host. It takes the pool's
// lock only to find the breakers: reading a state may call back
// OnStateChange, which must run with no Pool lock held.
func (p *Pool) health(host string, now time.Time) []health {
	bs := make([]*breaker, len(p.egresses))
	p.mu.Lock()
	for i, e := range p.egresses {
		bs[i] = p.breakerLocked(e, pairKey{e.name, host})
	}
	p.mu.Unlock()
	hs := make([]health, len(bs))
	for i, b := range bs {
		hs[i].state, hs[i].until = b.state(now)
	}
	return hs
}

func (p *Pool) loadLocked(e *egress, host string) *load {
	k := pairKey{e.name, host}
	l := p.loads[k]
	if l == nil {
		l = &load{}
		p.loads[k] = l
	}
	return l
}

// Assign places account's session for host on an egress and returns it.
// rps is the request rate the caller's booking declares; the bookings of
// one account share its session, so repeated Assigns for the same account
// add their rates and return its current egress (Release takes one back).
//
// A new account goes to an egress whose declared load for host stays
// within HostCeilingPerEgress (prevention first), preferring closed
// breakers, then the least load; when none has room it still goes to the
// least loaded usable one (Limiter keeps the real rate at the ceiling). An
// account whose egress is cooling down is moved as by Move. When no egress
// is usable the error is an *AllCoolingError.
func (p *Pool) Assign(account, host string, rps float64) (Egress, error) {
	host = canonicalHost(host)
	if account == "" || host == "" {
		return Egress{}, ErrNoAccount
	}
	if !(rps > 0) || math.IsInf(rps, 0) {
		rps = 0
	}
	now := time.Now()
	hs := p.health(host, now)

	p.mu.Lock()
	defer p.mu.Unlock()
	k := acctKey{account, host}
	pl := p.placed[k]
	if pl != nil && hs[pl.e.index].usable() {
		pl.claims++
		pl.rps += rps
		p.loadLocked(pl.e, host).rps += rps
		return Egress{pl.e}, nil
	}
	var exclude *egress
	need := rps
	if pl != nil {
		exclude, need = pl.e, pl.rps+rps
	}
	target := p.pickLocked(host, hs, need, exclude)
	if target == nil {
		return Egress{}, p.allCooling(host, hs, now)
	}
	if pl == nil {
		pl = &placement{e: target}
		p.placed[k] = pl
		p.loadLocked(target, host).accounts++
	} else {
		p.relocateLocked(account, host, pl, target)
	}
	pl.claims++
	pl.rps += rps
	l := p.loadLocked(target, host)
	l.rps += rps
	over := l.rps > p.cfg.HostCeilingPerEgress+ceilingSlack
	if over && !l.over {
		p.log.Warn("every usable egress is at its per-host ceiling; the limiter paces what is placed on this one from now on",
			zap.String("egress", target.name), zap.String("host", host),
			zap.Float64("declared_rps", l.rps), zap.Float64("ceiling_rps", p.cfg.HostCeilingPerEgress))
	}
	l.over = over
	return Egress{target}, nil
}

// Move moves account's session for host to another egress, after a block
// (Report) or route failures opened the breaker of its current one. The
// choice is Assign's: room under the ceiling, then closed before
// half-open, then the least load. The caller
// then sets the session's transport to the returned egress, resets its
// cookies and logs in again.
//
// When the current egress is usable (not cooling) Move returns it
// unchanged: another booking of the same account moved it already, so the
// account moves once per block. When every egress is cooling down the error
// is an *AllCoolingError and the account stays where it is.
func (p *Pool) Move(account, host string) (Egress, error) {
	host = canonicalHost(host)
	if account == "" || host == "" {
		return Egress{}, ErrNoAccount
	}
	now := time.Now()
	hs := p.health(host, now)

	p.mu.Lock()
	defer p.mu.Unlock()
	pl := p.placed[acctKey{account, host}]
	if pl == nil {
		return Egress{}, fmt.Errorf("%w: %q on %s", ErrNotAssigned, account, host)
	}
	if hs[pl.e.index].usable() {
		return Egress{pl.e}, nil
	}
	target := p.pickLocked(host, hs, pl.rps, pl.e)
	if target == nil {
		return Egress{}, p.allCooling(host, hs, now)
	}
	p.relocateLocked(account, host, pl, target)
	return Egress{target}, nil
}

// Release takes back one Assign of rps for account; after the last one the
// account is forgotten and its rate no longer counts.
func (p *Pool) Release(account, host string, rps float64) {
	host = canonicalHost(host)
	if !(rps > 0) || math.IsInf(rps, 0) {
		rps = 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := acctKey{account, host}
	pl := p.placed[k]
	if pl == nil {
		return
	}
	l := p.loadLocked(pl.e, host)
	pl.claims--
	if pl.claims <= 0 {
		l.rps = max(l.rps-pl.rps, 0)
		l.accounts--
		delete(p.placed, k)
		return
	}
	rps = min(rps, pl.rps)
	pl.rps -= rps
	l.rps = max(l.rps-rps, 0)
}

// Current is the egress account's session for host is on.
func (p *Pool) Current(account, host string) (Egress, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	pl := p.placed[acctKey{account, canonicalHost(host)}]
	if pl == nil {
		return Egress{}, false
	}
	return Egress{pl.e}, true
}

func (p *Pool) relocateLocked(account, host string, pl *placement, to *egress) {
	from := p.loadLocked(pl.e, host)
	from.rps = max(from.rps-pl.rps, 0)
	from.accounts--
	dst := p.loadLocked(to, host)
	dst.rps += pl.rps
	dst.accounts++
	p.log.Info("account moved to another egress", zap.String("account", account), zap.String("host", host),
		zap.String("from", pl.e.name), zap.String("to", to.name))
	pl.e = to
}

// ceilingSlack absorbs float rounding in sums of rates.
const ceilingSlack = 1e-9

// pickLocked chooses among the usable egresses other than exclude: room
// under the ceiling for rps first (prevention first: a healthy egress
// pushed over what the site tolerates is the next one blocked), then health
// (closed before half-open), then the least declared load, the fewest
// accounts, configuration order. nil: none is usable.
func (p *Pool) pickLocked(host string, hs []health, rps float64, exclude *egress) *egress {
	type cand struct {
		e        *egress
		fits     bool
		closed   bool
		load     float64
		accounts int
	}
	var cs []cand
	for i, e := range p.egresses {
		if e == exclude || !hs[i].usable() {
			continue
		}
		l := p.loadLocked(e, host)
		cs = append(cs, cand{e: e, fits: l.rps+rps <= p.cfg.HostCeilingPerEgress+ceilingSlack,
			closed: hs[i].state == StateClosed, load: l.rps, accounts: l.accounts})
	}
	if len(cs) == 0 {
		return nil
	}
	boolOrder := func(a, b bool) int { // true first
		switch {
		case a == b:
			return 0
		case a:
			return -1
		default:
			return 1
		}
	}
	best := slices.MinFunc(cs, func(a, b cand) int {
		return cmp.Or(boolOrder(a.fits, b.fits), boolOrder(a.closed, b.closed), cmp.Compare(a.load, b.load),
			cmp.Compare(a.accounts, b.accounts), cmp.Compare(a.e.index, b.e.index))
	})
	return best.e
}

// allCooling is the error for a host none of whose egresses is usable.
func (p *Pool) allCooling(host string, hs []health, now time.Time) error {
	var until time.Time
	for _, h := range hs {
		if until.IsZero() || h.until.Before(until) {
			until = h.until
		}
	}
	return &AllCoolingError{Host: host, Until: until, Wait: max(until.Sub(now), 0)}
}

// Report tells the pool what the answer to a request sent through egress
// to host was. A block (profile.ClassBlocked) opens the breaker of (egress,
// host) for the cool-down the site asked for — a Retry-After header the
// egress just saw (machine-readable, to the second), else
// Outcome.RetryAfter (parsed from the page's text, often rounded up to
// minutes), else OpenTimeout; capped at MaxCoolDown. Other classes change
// nothing.
func (p *Pool) Report(egressName, host string, o Outcome) error {
	e, ok := p.byName[egressName]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownEgress, egressName)
	}
	host = canonicalHost(host)
	if host == "" {
		return ErrNoAccount
	}
	if o.Class != profile.ClassBlocked {
		return nil
	}
	b := p.breaker(e, host)
	now := time.Now()
	d := b.retryAfterHint(now, RetryAfterMemoryDefault)
	if d <= 0 {
		d = o.RetryAfter
	}
	d = min(d, p.cfg.MaxCoolDown)
	p.log.Info("egress blocked by the site", zap.String("egress", e.name), zap.String("host", host),
		zap.Duration("asked_wait", d))
	b.block(now, d)
	return nil
}

// Limiter is the pacer of (egress, host) at HostCeilingPerEgress (paced
// at PaceFraction of it) with a burst of one: the daemon waits on it before each request it sends
// through egress to host, so the site never sees a burst from one address.
func (p *Pool) Limiter(egressName, host string) *rate.Limiter {
	k := pairKey{egressName, canonicalHost(host)}
	p.mu.RLock()
	l := p.limiters[k]
	p.mu.RUnlock()
	if l != nil {
		return l
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l = p.limiters[k]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(p.cfg.HostCeilingPerEgress*PaceFraction), 1)
		p.limiters[k] = l
	}
	return l
}

// OpeningBurst is how many first submits of one opening an egress may
// send to a host ahead of its limiter's pace (Config.OpeningBurst).
func (p *Pool) OpeningBurst() float64 { return p.cfg.OpeningBurst }

// Status is one (egress, host) pair as seen by States.
type Status struct {
	Egress string
	Host   string
	State  string    // closed, open or half-open
	Until  time.Time // end of the cool-down when open
	// Accounts placed on the egress for host and the sum of their declared
	// rates (req/s).
	Accounts int
	Load     float64
}

// States is a snapshot of every (egress, host) pair the pool has seen,
// sorted by host then egress order, for operators.
func (p *Pool) States() []Status {
	type row struct {
		e *egress
		s Status
		b *breaker
	}
	p.mu.Lock()
	var rows []row
	for k, b := range p.breakers {
		e := p.byName[k.egress]
		r := row{e: e, b: b, s: Status{Egress: k.egress, Host: k.host}}
		if l := p.loads[k]; l != nil {
			r.s.Accounts, r.s.Load = l.accounts, l.rps
		}
		rows = append(rows, r)
	}
	p.mu.Unlock()
	now := time.Now()
	out := make([]Status, len(rows))
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(strings.Compare(a.s.Host, b.s.Host), cmp.Compare(a.e.index, b.e.index))
	})
	for i, r := range rows {
		r.s.State, r.s.Until = r.b.state(now)
		out[i] = r.s
	}
	return out
}
