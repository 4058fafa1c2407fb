package sitesim

import (
	"fmt"
	"sync"
	"time"
)

// cartNumber is the cart flavour's order code, e.g. RS-000123.
func cartNumber(_ slotKey, seq int64) string { return fmt.Sprintf("RS-%06d", seq) }

// cartBook is the cart flavour's state beside the shared book of confirmed
// reservations: holds, checkouts and the confirm log. A slot is taken while
// it has an unexpired hold or a reservation. mu guards everything here and
// is taken before the book's own locks, never after, so a hold and its
// reservation change together.
type cartBook struct {
	book    *book
	holdFor time.Duration

	mu        sync.Mutex
	holds     []holdRec       // ledger order
	byID      map[string]int  // hold id → index into holds
	active    map[slotKey]int // slot → index of its hold while held
	checkouts map[string]*checkout
	byHold    map[int]*checkout // hold index → its checkout
	confirms  []Confirm
	// Sequences are never reset, so ids stay unique across Reset.
	holdSeq, checkoutSeq int
}

type holdRec struct {
	Hold
	key   slotKey
	name  string // from the checkout, for the reservation
	phone string
}

// checkout is one started checkout of a hold; there is at most one per
// hold, so a repeated POST /api/checkout returns the same one.
type checkout struct {
	id        string
	hold      int // index into holds
	account   string
	confirmed bool
}

func newCartBook(b *book, holdFor time.Duration) *cartBook {
	c := &cartBook{book: b, holdFor: holdFor}
	c.clear()
	return c
}

func (c *cartBook) clear() {
	c.holds = nil
	c.byID = make(map[string]int)
	c.active = make(map[slotKey]int)
	c.checkouts = make(map[string]*checkout)
	c.byHold = make(map[int]*checkout)
	c.confirms = nil
}

// expire marks hold i expired and frees its slot once its time is up.
// Expiry is lazy: every read of a hold passes through here first.
func (c *cartBook) expire(i int, now time.Time) {
	h := &c.holds[i]
	if h.State != HoldHeld || now.Before(h.ExpiresAt) {
		return
	}
	h.State = HoldExpired
	if j, ok := c.active[h.key]; ok && j == i {
		delete(c.active, h.key)
	}
}

// occupantLocked returns the account holding or having booked k.
func (c *cartBook) occupantLocked(k slotKey, now time.Time) (string, bool) {
	if i, ok := c.active[k]; ok {
		c.expire(i, now)
		if c.holds[i].State == HoldHeld {
			return c.holds[i].Account, true
		}
	}
	return c.book.holder(k)
}

// occupant returns the account holding or having booked k at now.
func (c *cartBook) occupant(k slotKey, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.occupantLocked(k, now)
}

// hold puts k in account's cart unless the slot is taken or the account's
// limits forbid one more. It returns the new hold and ResultHeld, or
// ResultTaken / ResultAlreadyMine, or ResultLimit with the period and
// limit passed. The limits count the account's reservations and its
// unexpired holds: this is where the cart site checks them, so a hold is
// never refused later at the confirm.
func (c *cartBook) hold(k slotKey, account string, lim accountLimits, now time.Time) (Hold, Result, string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if who, ok := c.occupantLocked(k, now); ok {
		if who == account {
			return Hold{}, ResultAlreadyMine, "", 0
		}
		return Hold{}, ResultTaken, "", 0
	}
	if lim.any() {
		var dates []int
		for _, i := range c.active {
			if c.expire(i, now); c.holds[i].State == HoldHeld && c.holds[i].Account == account {
				dates = append(dates, c.holds[i].key.date)
			}
		}
		for _, r := range c.book.byAccount(account) {
			dates = append(dates, isoDateNum(r.Date))
		}
		if period, limit := lim.exceeded(k.date, dates); period != "" {
			return Hold{}, ResultLimit, period, limit
		}
	}
	c.holdSeq++
	h := holdRec{key: k, Hold: Hold{
		ID:        fmt.Sprintf("H%06d", c.holdSeq),
		Account:   account,
		Facility:  k.facility,
		Date:      k.isoDate(),
		Slot:      k.slot,
		CreatedAt: now,
		// Whole seconds, so the expires_at the client reads is exact.
		ExpiresAt: now.Truncate(time.Second).Add(c.holdFor),
		State:     HoldHeld,
	}}
	c.byID[h.ID] = len(c.holds)
	c.active[k] = len(c.holds)
	c.holds = append(c.holds, h)
	return h.Hold, ResultHeld, "", 0
}

// checkoutAnswer is what a POST /api/checkout got.
type checkoutAnswer int

const (
	checkoutUnknown checkoutAnswer = iota // no such hold of this account, or already confirmed
	checkoutExpired                       // the hold expired; its slot is free
	checkoutStarted                       // the checkout is ready to confirm
)

// checkout starts (or returns the existing) checkout of account's hold.
func (c *cartBook) checkout(holdID, account, name, phone string, now time.Time) (string, checkoutAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.byID[holdID]
	if !ok || c.holds[i].Account != account {
		return "", checkoutUnknown
	}
	c.expire(i, now)
	switch c.holds[i].State {
	case HoldExpired:
		return "", checkoutExpired
	case HoldConfirmed:
		return "", checkoutUnknown
	}
	h := &c.holds[i]
	h.name, h.phone = name, phone
	if co := c.byHold[i]; co != nil {
		return co.id, checkoutStarted
	}
	c.checkoutSeq++
	co := &checkout{id: fmt.Sprintf("C%06d", c.checkoutSeq), hold: i, account: account}
	c.checkouts[co.id] = co
	c.byHold[i] = co
	return co.id, checkoutStarted
}

// confirmAnswer is what a POST /checkout/{id}/confirm got; each answer has
// one ledger result and one page.
type confirmAnswer int

const (
	confirmUnknown   confirmAnswer = iota // no such checkout of this account
	confirmRepeat                         // already confirmed
	confirmNoTerms                        // accept_terms missing
	confirmExpired                        // the hold expired; its slot is free
	confirmConfirmed                      // the reservation is made
)

func (a confirmAnswer) result() Result {
	switch a {
	case confirmRepeat:
		return ResultAlreadyMine
	case confirmExpired:
		return ResultExpired
	case confirmConfirmed:
		return ResultSuccess
	default:
		return ResultBadRequest
	}
}

// confirmed reports whether account's checkout id is already confirmed.
func (c *cartBook) confirmed(id, account string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	co := c.checkouts[id]
	return co != nil && co.account == account && co.confirmed
}

// confirm turns the checkout's hold into a reservation.
func (c *cartBook) confirm(id, account string, accepted bool, now time.Time) (holdRec, Reservation, confirmAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	co := c.checkouts[id]
	if co == nil || co.account != account {
		return holdRec{}, Reservation{}, confirmUnknown
	}
	h := &c.holds[co.hold]
	switch {
	case co.confirmed:
		return *h, Reservation{}, confirmRepeat
	case !accepted:
		return *h, Reservation{}, confirmNoTerms
	}
	if c.expire(co.hold, now); h.State == HoldExpired {
		return *h, Reservation{}, confirmExpired
	}
	// The hold kept every other claim off the slot, so this cannot fail.
	// The limits were checked when the slot was put in the cart.
	r, res := c.book.claim(h.key, Reservation{Account: account, UserName: h.name, UserTel: h.phone, At: now}, false)
	if res != ResultSuccess {
		return *h, Reservation{}, confirmUnknown
	}
	h.State, h.Reservation = HoldConfirmed, r.Number
	delete(c.active, h.key)
	co.confirmed = true
	return *h, r, confirmConfirmed
}

// reserve books k directly (Site.Reserve) unless it is held or booked.
func (c *cartBook) reserve(k slotKey, account string, now time.Time) (Reservation, Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if who, ok := c.occupantLocked(k, now); ok {
		if who == account {
			return Reservation{}, ResultAlreadyMine
		}
		return Reservation{}, ResultTaken
	}
	return c.book.claim(k, Reservation{Account: account, At: now}, false)
}

// heldBy returns account's unexpired holds.
func (c *cartBook) heldBy(account string, now time.Time) []holdRec {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []holdRec
	for _, i := range c.active {
		c.expire(i, now)
		if h := c.holds[i]; h.State == HoldHeld && h.Account == account {
			out = append(out, h)
		}
	}
	return out
}

func (c *cartBook) recordConfirm(cf Confirm) {
	c.mu.Lock()
	c.confirms = append(c.confirms, cf)
	c.mu.Unlock()
}

// snapshot copies the reservations, submits, holds and confirms at one
// moment, expiring the holds that are due so the ledger shows them
// expired.
func (c *cartBook) snapshot(now time.Time) ([]Reservation, []Submit, []Hold, []Confirm) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs, ss := c.book.snapshot()
	hs := make([]Hold, 0, len(c.holds))
	for i := range c.holds {
		c.expire(i, now)
		hs = append(hs, c.holds[i].Hold)
	}
	return rs, ss, hs, append([]Confirm(nil), c.confirms...)
}

// reset empties holds, checkouts, confirms and the reservations together.
func (c *cartBook) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	c.book.reset()
}
