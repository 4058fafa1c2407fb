package sitesim

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what the site did with one submit (eGov /rent/apply.do, cart
// POST /api/cart/items) or one cart confirm, as recorded in the ledger.
type Result string

// Submit results.
const (
	ResultSuccess         Result = "success"           // reservation made
	ResultNotOpen         Result = "not_open"          // before the opening instant
	ResultTaken           Result = "taken"             // slot held by another account
	ResultAlreadyMine     Result = "already_mine"      // slot already held by this account
	ResultBadPath         Result = "bad_path"          // no page trace, or a missing/used/foreign token
	ResultNoSession       Result = "no_session"        // no, expired or kicked-out session
	ResultBlocked         Result = "blocked"           // client IP is blocked
	ResultError5xx        Result = "error_5xx"         // injected 500/503, not applied
	ResultResetApplied    Result = "reset_applied"     // processed, then the connection was reset
	ResultResetNotApplied Result = "reset_not_applied" // connection reset without processing
	ResultBadRequest      Result = "bad_request"       // unparseable or incomplete form
	ResultHeld            Result = "held"              // cart: slot put in the cart (a hold)
	ResultExpired         Result = "expired"           // cart confirm: the hold had expired
	ResultLimit           Result = "limit"             // the account's per-day or per-week limit, not applied
)

// Ledger is the simulator's ground truth: every reservation and every submit,
// with times on the simulator's clock.
type Ledger struct {
	Flavor       string        `json:"flavor"`  // FlavorEgov or FlavorCart
	OpenAt       time.Time     `json:"open_at"` // zero when always open, and with the cart flavour
	Now          time.Time     `json:"now"`
	Reservations []Reservation `json:"reservations"`
	Submits      []Submit      `json:"submits"`
	// Holds are the cart flavour's holds, in creation order; empty with
	// eGov.
	Holds []Hold `json:"holds"`
	// Confirms are the cart flavour's checkout confirms; empty with eGov.
	Confirms []Confirm `json:"confirms,omitempty"`
	// RepeatSubmits counts the submits and confirms marked Repeat: an
	// account submitting for a slot it already holds, or confirming a
	// checkout already confirmed. A client that verifies an unknown
	// outcome before submitting again never sends one.
	RepeatSubmits int `json:"repeat_submits"`
	// DoubleBookings counts the reservations that overlap an earlier one
	// of the same account: the same play date at the same time on another
	// court (every slot is one hour on one grid, so overlapping times are
	// the same slot). That is the shape of one booking's alternatives
	// booked twice — an ambiguous answer for one choice followed by a
	// success on the next — so a client that books one slot per booking
	// never makes one. Two reservations at one hour count 1, three count
	// 2; each of them is marked Double. Counted in every mode and both
	// flavours, Site.Reserve's reservations included.
	DoubleBookings int `json:"double_bookings"`
	// Requests is every public request in arrival order, when
	// Options.RecordRequests is on.
	Requests []Arrival `json:"requests,omitempty"`
}

// Reservation is one booked (facility, date, slot).
type Reservation struct {
	Number   string    `json:"number"`
	Account  string    `json:"account"`
	Facility int       `json:"facility"`
	Date     string    `json:"date"` // YYYY-MM-DD
	Slot     int       `json:"slot"`
	UserName string    `json:"user_name"`
	UserTel  string    `json:"user_tel"`
	People   int       `json:"people"`
	At       time.Time `json:"at"` // sim clock
	// Double marks a reservation that overlaps another of the same
	// account (see Ledger.DoubleBookings).
	Double bool `json:"double,omitempty"`
}

// markDoubles marks the reservations that share an account, a date and a
// slot with another and returns how many overlap an earlier one.
func markDoubles(rs []Reservation) int {
	type when struct {
		account, date string
		slot          int
	}
	first := make(map[when]int, len(rs)) // index of the first reservation at that time
	n := 0
	for i := range rs {
		w := when{rs[i].Account, rs[i].Date, rs[i].Slot}
		j, ok := first[w]
		if !ok {
			first[w] = i
			continue
		}
		rs[j].Double, rs[i].Double = true, true
		n++
	}
	return n
}

// Submit is one request to /rent/apply.do.
type Submit struct {
	Account  string    `json:"account"`  // empty when there was no valid session
	Facility int       `json:"facility"` // 0 when unparseable
	Date     string    `json:"date"`     // YYYY-MM-DD, or the raw useDate when invalid
	Slot     int       `json:"slot"`     // 0 when unparseable
	At       time.Time `json:"at"`       // arrival on the sim clock, once the form was parsed
	OffsetMS float64   `json:"offset_ms"`
	Result   Result    `json:"result"`
	// Outcome is what processing decided for a reset_applied submit
	// (success, taken, ...); empty otherwise.
	Outcome     Result `json:"outcome,omitempty"`
	IP          string `json:"ip"` // the connection's source address, never a header
	Reservation string `json:"reservation,omitempty"`
	// Hold is the cart hold a held (or reset_applied and held) submit
	// made.
	Hold string `json:"hold,omitempty"`
	// Repeat marks a submit by an account for a slot that account already
	// held when the submit arrived (or that it won in a concurrent submit
	// decided first), whatever the answer.
	Repeat bool `json:"repeat,omitempty"`
}

// HoldState is where a cart hold stands:
//
//	held ──confirm──▶ confirmed
//	  └───HoldFor───▶ expired (the slot is free again)
type HoldState string

// Hold states.
const (
	HoldHeld      HoldState = "held"
	HoldConfirmed HoldState = "confirmed"
	HoldExpired   HoldState = "expired"
)

// Hold is one slot in one account's cart (cart flavour).
type Hold struct {
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	Facility  int       `json:"facility"`
	Date      string    `json:"date"` // YYYY-MM-DD
	Slot      int       `json:"slot"`
	CreatedAt time.Time `json:"created_at"` // sim clock
	ExpiresAt time.Time `json:"expires_at"` // sim clock, whole seconds
	State     HoldState `json:"state"`
	// Reservation is the order code once confirmed.
	Reservation string `json:"reservation,omitempty"`
}

// Confirm is one POST /checkout/{id}/confirm (cart flavour).
type Confirm struct {
	Account  string    `json:"account"` // empty when there was no valid session
	Checkout string    `json:"checkout"`
	Hold     string    `json:"hold,omitempty"`
	At       time.Time `json:"at"` // arrival on the sim clock
	Result   Result    `json:"result"`
	// Outcome is what processing decided for a reset_applied confirm.
	Outcome     Result `json:"outcome,omitempty"`
	IP          string `json:"ip"`
	Reservation string `json:"reservation,omitempty"`
	// Repeat marks a confirm of a checkout that was already confirmed.
	Repeat bool `json:"repeat,omitempty"`
}

// slotKey names one bookable (facility, date, slot); date is yyyymmdd.
type slotKey struct {
	facility int
	date     int
	slot     int
}

func (k slotKey) isoDate() string {
	return fmt.Sprintf("%04d-%02d-%02d", k.date/10000, k.date/100%100, k.date%100)
}

// book holds reservations and the submit log. Two short mutexes keep the hot
// path cheap: a submit takes slotsMu only to check and claim its slot, and
// submitsMu only to append one entry.
type book struct {
	seq    atomic.Int64 // reservation numbers stay unique across Reset
	number func(k slotKey, seq int64) string
	// limits are the site's per-account caps, applied by claim when asked.
	limits accountLimits

	slotsMu      sync.Mutex
	slots        map[slotKey]int // index into reservations
	reservations []Reservation

	submitsMu sync.Mutex
	submits   []Submit
}

func newBook(lim accountLimits) *book {
	return &book{slots: make(map[slotKey]int), number: egovNumber, limits: lim}
}

// egovNumber is the eGov reservation number, e.g. R20261125-000001.
func egovNumber(k slotKey, seq int64) string { return fmt.Sprintf("R%08d-%06d", k.date, seq) }

// claim books k for account unless it is taken or, when limited, the
// account's limits forbid one more. It returns the reservation and
// ResultSuccess, or the holder's result (taken or already_mine), or
// ResultLimit. The slot is checked before the limits, and both under the
// one lock, so concurrent submits cannot pass a limit together.
func (b *book) claim(k slotKey, r Reservation, limited bool) (Reservation, Result) {
	b.slotsMu.Lock()
	defer b.slotsMu.Unlock()
	if i, ok := b.slots[k]; ok {
		if b.reservations[i].Account == r.Account {
			return b.reservations[i], ResultAlreadyMine
		}
		return b.reservations[i], ResultTaken
	}
	if limited && b.limits.any() {
		if period, _ := b.limits.exceeded(k.date, b.datesLocked(r.Account)); period != "" {
			return Reservation{}, ResultLimit
		}
	}
	r.Number = b.number(k, b.seq.Add(1))
	r.Facility, r.Date, r.Slot = k.facility, k.isoDate(), k.slot
	b.slots[k] = len(b.reservations)
	b.reservations = append(b.reservations, r)
	return r, ResultSuccess
}

// datesLocked returns the play dates (yyyymmdd) of account's
// reservations, one per reservation; slotsMu is held.
func (b *book) datesLocked(account string) []int {
	var out []int
	for _, r := range b.reservations {
		if r.Account == account {
			out = append(out, isoDateNum(r.Date))
		}
	}
	return out
}

func (b *book) holder(k slotKey) (string, bool) {
	b.slotsMu.Lock()
	defer b.slotsMu.Unlock()
	i, ok := b.slots[k]
	if !ok {
		return "", false
	}
	return b.reservations[i].Account, true
}

func (b *book) byAccount(account string) []Reservation {
	b.slotsMu.Lock()
	defer b.slotsMu.Unlock()
	var out []Reservation
	for _, r := range b.reservations {
		if r.Account == account {
			out = append(out, r)
		}
	}
	return out
}

func (b *book) record(s Submit) {
	b.submitsMu.Lock()
	b.submits = append(b.submits, s)
	b.submitsMu.Unlock()
}

// snapshot copies both lists; the elements hold no pointers, so the copy is
// deep.
func (b *book) snapshot() (rs []Reservation, ss []Submit) {
	b.slotsMu.Lock()
	rs = append([]Reservation{}, b.reservations...)
	b.slotsMu.Unlock()
	b.submitsMu.Lock()
	ss = append([]Submit{}, b.submits...)
	b.submitsMu.Unlock()
	return rs, ss
}

func (b *book) reset() {
	b.slotsMu.Lock()
	b.slots = make(map[slotKey]int)
	b.reservations = nil
	b.slotsMu.Unlock()
	b.submitsMu.Lock()
	b.submits = nil
	b.submitsMu.Unlock()
}
