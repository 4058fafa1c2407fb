package sitesim

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by [Site.Reserve].
var (
	ErrUnknownAccount = errors.New("sitesim: unknown account")
	ErrBadSlot        = errors.New("sitesim: no such facility, date or slot")
	ErrSlotTaken      = errors.New("sitesim: slot already reserved")
)

// Site is the simulated booking site: its state, its clock and its HTTP
// handler. It is safe for concurrent use.
type Site struct {
	opts  Options
	names accountNames

	skew   atomic.Int64
	openAt atomic.Pointer[time.Time]

	sessions *sessionStore
	blocker  *ipBlocker
	faults   *faultInjector
	book     *book
	requests *arrivals // nil unless Options.RecordRequests
	langs    *languages

	// Set only with the cart flavour.
	cart    *cartBook    // holds, checkouts, confirms
	logins  *loginTokens // login-form tokens bound to a SID
	xsrfKey []byte       // derives each session's XSRF token

	// stopMu guards stopped; a handler only enters while the site is not
	// stopped, so stop can wait for the handlers already inside.
	stopMu   sync.Mutex
	stopped  bool
	stopCh   chan struct{}
	inflight sync.WaitGroup
	active   atomic.Int64 // handlers running now
}

// New validates opts, applies defaults and returns a site ready to serve
// through [Site.Handler].
func New(opts Options) (*Site, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Site{
		opts:     opts,
		names:    newAccountNames(opts.Accounts),
		sessions: newSessionStore(opts.SessionIdle),
		blocker:  newIPBlocker(opts.BlockRPS, opts.BlockFor),
		faults:   newFaultInjector(opts.Seed, opts.faults()),
		book:     newBook(opts.limits()),
		langs:    newLanguages(),
		stopCh:   make(chan struct{}),
	}
	if opts.Flavor == FlavorCart {
		s.book.number = cartNumber
		s.cart = newCartBook(s.book, opts.HoldFor)
		s.logins = newLoginTokens(opts.SessionIdle)
		s.xsrfKey = []byte(randomHex(32))
	}
	if opts.RecordRequests {
		s.requests = &arrivals{}
	}
	s.skew.Store(int64(opts.Skew))
	s.SetOpenAt(opts.OpenAt)
	return s, nil
}

// Options returns the site's options after defaults were applied.
func (s *Site) Options() Options { return s.opts }

// Now is the simulator's clock: the machine's clock plus the skew.
func (s *Site) Now() time.Time {
	return time.Now().Add(time.Duration(s.skew.Load()))
}

// Skew returns how far the simulator's clock runs ahead of the machine's.
func (s *Site) Skew() time.Duration { return time.Duration(s.skew.Load()) }

// SetSkew changes the simulator's clock offset at run time.
func (s *Site) SetSkew(d time.Duration) { s.skew.Store(int64(d)) }

// OpenAt returns the opening instant on the simulator's clock; zero means
// always open. The cart flavour ignores it: each slot opens Notice before
// its end.
func (s *Site) OpenAt() time.Time { return *s.openAt.Load() }

// SetOpenAt moves the opening instant (sim clock); zero means always open.
func (s *Site) SetOpenAt(t time.Time) {
	t = t.Round(0) // an instant on the sim clock, not a machine monotonic reading
	s.openAt.Store(&t)
}

// AccountName returns the i-th generated account name, i from 1: "user001".
func (s *Site) AccountName(i int) string { return s.names.name(i) }

// Password returns the password every account shares.
func (s *Site) Password() string { return s.opts.Password }

// Ledger returns a deep copy of the ground truth.
func (s *Site) Ledger() Ledger {
	now := s.Now()
	l := Ledger{Flavor: s.opts.Flavor, Now: now}
	if s.cart == nil {
		l.OpenAt = s.OpenAt()
		l.Reservations, l.Submits = s.book.snapshot()
		l.Holds = []Hold{}
	} else {
		l.Reservations, l.Submits, l.Holds, l.Confirms = s.cart.snapshot(now)
	}
	for _, sub := range l.Submits {
		if sub.Repeat {
			l.RepeatSubmits++
		}
	}
	l.DoubleBookings = markDoubles(l.Reservations)
	for _, c := range l.Confirms {
		if c.Repeat {
			l.RepeatSubmits++
		}
	}
	if s.requests != nil {
		l.Requests = s.requests.snapshot()
	}
	return l
}

// Reset empties reservations, the submit log, the request log and, with the cart flavour,
// holds, checkouts and confirms. Accounts, sessions and languages stay;
// reservation numbers and ids keep counting.
func (s *Site) Reset() {
	if s.requests != nil {
		s.requests.reset()
	}
	if s.cart != nil {
		s.cart.reset()
		return
	}
	s.book.reset()
}

// Reserve books a slot directly, as if account had booked it earlier (for
// sold-out tests). date is "YYYY-MM-DD". It returns the reservation number.
// With the cart flavour it is a confirmed reservation, refused while the
// slot is in someone's cart. The account limits do not refuse it, but the
// reservation counts toward them and toward Ledger.DoubleBookings.
func (s *Site) Reserve(account string, facility int, date string, slot int) (string, error) {
	if !s.names.valid(account) {
		return "", fmt.Errorf("%w: %q", ErrUnknownAccount, account)
	}
	d, err := time.Parse(time.DateOnly, date)
	if err != nil || d.Format(time.DateOnly) != date {
		return "", fmt.Errorf("%w: date %q", ErrBadSlot, date)
	}
	k, ok := s.slotKey(facility, d, slot)
	if !ok {
		return "", fmt.Errorf("%w: facility %d slot %d", ErrBadSlot, facility, slot)
	}
	var (
		r   Reservation
		res Result
	)
	if s.cart != nil {
		r, res = s.cart.reserve(k, account, s.Now())
	} else {
		r, res = s.book.claim(k, Reservation{Account: account, At: s.Now()}, false)
	}
	if res != ResultSuccess {
		return "", fmt.Errorf("%w: facility %d %s slot %d", ErrSlotTaken, facility, date, slot)
	}
	return r.Number, nil
}

// KickSessions invalidates the account's session, as another login would.
func (s *Site) KickSessions(account string) { s.sessions.kick(account) }

// SetFaults changes latency, jitter, 5xx and reset injection at run time.
// Out-of-range values are clamped.
func (s *Site) SetFaults(f Faults) { s.faults.set(f) }

// Faults returns the current fault settings, defaults resolved.
func (s *Site) Faults() Faults { return s.faults.get() }

// Handler returns the site's HTTP handler: the public pages and the /_sim/
// ground-truth routes.
func (s *Site) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Site) slotKey(facility int, d time.Time, slot int) (slotKey, bool) {
	if facility < 1 || facility > s.opts.Facilities || slot < 1 || slot > s.opts.Slots {
		return slotKey{}, false
	}
	if d.Year() < 1000 || d.Year() > 9999 {
		return slotKey{}, false
	}
	return slotKey{
		facility: facility,
		date:     d.Year()*10000 + int(d.Month())*100 + d.Day(),
		slot:     slot,
	}, true
}

// enter admits one handler unless the site is stopping.
func (s *Site) enter() bool {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if s.stopped {
		return false
	}
	s.inflight.Add(1)
	s.active.Add(1)
	return true
}

func (s *Site) leave() {
	s.active.Add(-1)
	s.inflight.Done()
}

// stop aborts latency sleeps and waits for running handlers to return.
func (s *Site) stop() {
	s.stopMu.Lock()
	already := s.stopped
	s.stopped = true
	s.stopMu.Unlock()
	if !already {
		close(s.stopCh)
	}
	s.inflight.Wait()
}
