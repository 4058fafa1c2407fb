package sitesim

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"reserver/internal/loopback"
)

// Defaults applied by [New] to zero-valued [Options] fields.
const (
	AddrDefault         = "127.0.0.1:0"
	FacilitiesDefault   = 10
	SlotsDefault        = 12
	AccountsDefault     = 500
	PasswordDefault     = "pass1234"
	CharsetDefault      = CharsetUTF8
	SessionIdleDefault  = 30 * time.Minute
	BlockForDefault     = 60 * time.Second
	ResetAppliedDefault = 0.5
	FlavorDefault       = FlavorEgov
	NoticeDefault       = 72 * time.Hour
	HoldForDefault      = 10 * time.Minute
	ListDaysDefault     = 14
)

// Site flavours: which booking site the simulator plays.
const (
	// FlavorEgov is the legacy Korean eGov site: form login, a booking page
	// with a one-time token, one opening instant, HTTP 200 alert pages.
	FlavorEgov = "egov"
	// FlavorCart is a JSON-API booking application with a cart and a
	// checkout, a rolling booking notice and per-account languages; see
	// docs/simulator.md.
	FlavorCart = "cart"
)

// flavors lists the valid flavours, for error messages.
var flavors = []string{FlavorEgov, FlavorCart}

// Supported page charsets.
const (
	CharsetUTF8  = "utf-8"
	CharsetEUCKR = "euc-kr"
)

// ResetAppliedNever is the ResetApplied value that means "no reset was
// applied first". Zero cannot mean that, because zero selects the default.
const ResetAppliedNever = -1.0

// Limits that keep a mistyped option from exhausting memory.
const (
	maxFacilities = 10_000
	maxSlots      = 48
	maxAccounts   = 10_000_000
	maxListDays   = 3660
	// maxCartSlots keeps the last cart slot inside its day: slot n runs
	// from (5+n):00, so slot 18 is 23:00-24:00.
	maxCartSlots = 18
)

// ErrInvalidOptions is wrapped by every validation error from [New] and
// [Start].
var ErrInvalidOptions = errors.New("sitesim: invalid options")

// Options configure a simulated site. The zero value is a valid, friendly
// site: the eGov flavour, ten facilities, twelve slots a day, 500 accounts,
// always open, no blocking and no faults.
//
// Flavor selects the site. OpenAt, Charset euc-kr, TokenReuse and Strict
// belong to the eGov flavour: the cart flavour opens each slot on its own
// (Notice before the slot's end), speaks UTF-8 only, has no booking page
// token and always answers a repeated submit like a conflict. Notice,
// HoldFor and ListDays belong to the cart flavour and are ignored by eGov.
type Options struct {
	Flavor     string    // "egov" (default) or "cart"
	Addr       string    // listen address for Start; default "127.0.0.1:0"; must be loopback
	Facilities int       // facilityNo 1..Facilities; default 10
	Slots      int       // timeNo 1..Slots per day; default 12
	Accounts   int       // user001..userNNN; default 500
	Password   string    // shared by every account; default "pass1234"
	OpenAt     time.Time // opening instant on the SIM clock; zero = always open; eGov only
	// OpenLag: the booking check reads a clock that runs OpenLag behind
	// the one stamping the Date header (another server, or a check made
	// that long after arrival; negative: ahead), so submits are answered
	// not_open until OpenAt + OpenLag on the Date clock. The ledger's
	// offsets stay relative to OpenAt. Within ±1 minute; eGov only.
	OpenLag      time.Duration
	Skew         time.Duration // sim clock = time.Now() + Skew
	Charset      string        // "utf-8" (default) or "euc-kr"
	SessionIdle  time.Duration // idle expiry of a session; default 30m
	TokenReuse   bool          // false (default): a token is consumed by each submit
	BlockRPS     int           // more than BlockRPS requests in 1s blocks the IP; 0 = off
	BlockFor     time.Duration // block duration; default 60s when BlockRPS > 0
	Latency      time.Duration // fixed extra latency per response
	Jitter       time.Duration // uniform extra latency in [0, Jitter)
	FailRate     float64       // fraction of apply.do answered by 500/503 (not applied)
	FailPages    bool          // FailRate also applies to every other public page
	ResetRate    float64       // fraction of apply.do answered by a connection reset
	ResetApplied float64       // fraction of resets applied first; 0 = default 0.5, ResetAppliedNever = none
	Seed         int64         // seed of the fault generator
	// Strict answers a submit for a slot the submitting account already
	// holds exactly like a slot taken by another account (same status, page
	// and message), as many real sites do. The ledger still records the
	// truth (already_mine, marked as a repeat). The cart flavour always
	// behaves so.
	Strict bool
	// AccountLimitPerDay and AccountLimitPerWeek cap the reservations one
	// account may hold on one play date and in one week (Monday to Sunday
	// of the play date); 0 = no cap. A submit that would take the account
	// past a cap is answered "limit reached" (eGov: MsgLimitReached; cart:
	// 409 code limit_reached, checked when the slot is put in the cart,
	// where its unexpired holds count as well) and recorded as
	// ResultLimit, not applied. A slot already taken is answered taken
	// first. Site.Reserve (slots taken earlier) is never refused, but what
	// it books counts.
	AccountLimitPerDay  int
	AccountLimitPerWeek int
	// RecordRequests lists every public request's arrival in the ledger
	// (Ledger.Requests), for checks of a client's load on the host. Off by
	// default: the list grows with every request.
	RecordRequests bool

	// Notice is the cart flavour's rolling maximum notice: a slot can be
	// put in the cart once the sim clock, truncated to the second, plus
	// Notice reaches the slot's end; default 72h.
	Notice time.Duration
	// HoldFor is how long a cart hold keeps its slot before it expires;
	// default 10m, at least 1s.
	HoldFor time.Duration
	// ListDays is how many days ahead GET /api/reservations lists;
	// default 14.
	ListDays int
}

// Faults are the run-time adjustable fault settings; see [Site.SetFaults].
// The fields mean the same as in [Options].
type Faults struct {
	Latency      time.Duration
	Jitter       time.Duration
	FailRate     float64
	FailPages    bool
	ResetRate    float64
	ResetApplied float64 // 0 = default 0.5, ResetAppliedNever = none
}

// withDefaults returns a copy of o with zero fields replaced by defaults.
func (o Options) withDefaults() Options {
	o.Flavor = cmp.Or(strings.ToLower(strings.TrimSpace(o.Flavor)), FlavorDefault)
	o.Addr = cmp.Or(o.Addr, AddrDefault)
	o.Facilities = cmp.Or(o.Facilities, FacilitiesDefault)
	o.Slots = cmp.Or(o.Slots, SlotsDefault)
	o.Accounts = cmp.Or(o.Accounts, AccountsDefault)
	o.Password = cmp.Or(o.Password, PasswordDefault)
	o.Charset = cmp.Or(strings.ToLower(strings.TrimSpace(o.Charset)), CharsetDefault)
	switch o.Charset {
	case "utf8":
		o.Charset = CharsetUTF8
	case "euckr", "cp949", "ks_c_5601-1987":
		o.Charset = CharsetEUCKR
	}
	o.SessionIdle = cmp.Or(o.SessionIdle, SessionIdleDefault)
	if o.BlockRPS > 0 {
		o.BlockFor = cmp.Or(o.BlockFor, BlockForDefault)
	}
	o.Notice = cmp.Or(o.Notice, NoticeDefault)
	o.HoldFor = cmp.Or(o.HoldFor, HoldForDefault)
	o.ListDays = cmp.Or(o.ListDays, ListDaysDefault)
	return o
}

// validate reports every problem with already-defaulted options at once.
func (o Options) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if err := checkLoopback(o.Addr); err != nil {
		errs = append(errs, err)
	}
	if o.Facilities < 1 || o.Facilities > maxFacilities {
		bad("facilities must be in 1..%d, got %d", maxFacilities, o.Facilities)
	}
	if o.Slots < 1 || o.Slots > maxSlots {
		bad("slots must be in 1..%d, got %d", maxSlots, o.Slots)
	}
	if o.Accounts < 1 || o.Accounts > maxAccounts {
		bad("accounts must be in 1..%d, got %d", maxAccounts, o.Accounts)
	}
	if o.Charset != CharsetUTF8 && o.Charset != CharsetEUCKR {
		bad("charset must be %q or %q, got %q", CharsetUTF8, CharsetEUCKR, o.Charset)
	}
	if o.SessionIdle < 0 {
		bad("session idle must not be negative, got %v", o.SessionIdle)
	}
	if o.OpenLag < -time.Minute || o.OpenLag > time.Minute {
		bad("open lag must be within ±1m, got %v", o.OpenLag)
	}
	if o.BlockRPS < 0 {
		bad("block rps must not be negative, got %d", o.BlockRPS)
	}
	if o.AccountLimitPerDay < 0 {
		bad("account limit per day must not be negative (0 = no limit), got %d", o.AccountLimitPerDay)
	}
	if o.AccountLimitPerWeek < 0 {
		bad("account limit per week must not be negative (0 = no limit), got %d", o.AccountLimitPerWeek)
	}
	if o.BlockFor < 0 {
		bad("block duration must not be negative, got %v", o.BlockFor)
	}
	if err := o.faults().validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Notice < 0 {
		bad("notice must not be negative, got %v", o.Notice)
	}
	if o.HoldFor < 0 {
		bad("hold for must not be negative, got %v", o.HoldFor)
	}
	if o.ListDays < 1 || o.ListDays > maxListDays {
		bad("list days must be in 1..%d, got %d", maxListDays, o.ListDays)
	}
	switch o.Flavor {
	case FlavorEgov:
	case FlavorCart:
		if err := o.validateCart(); err != nil {
			errs = append(errs, err)
		}
	default:
		bad("flavor must be one of %s, got %q", strings.Join(flavors, ", "), o.Flavor)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
}

// validateCart reports the options that make no sense for the cart
// flavour.
func (o Options) validateCart() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if !o.OpenAt.IsZero() {
		bad("open at does not apply to the cart flavor (each slot opens notice before its end)")
	}
	if o.OpenLag != 0 {
		bad("open lag does not apply to the cart flavor")
	}
	if o.Charset != CharsetUTF8 {
		bad("charset must be %q with the cart flavor, got %q", CharsetUTF8, o.Charset)
	}
	if o.Slots > maxCartSlots {
		bad("slots must be in 1..%d with the cart flavor, got %d", maxCartSlots, o.Slots)
	}
	if o.HoldFor >= 0 && o.HoldFor < time.Second {
		// Expiry instants are whole seconds; a shorter hold could expire
		// before it was answered.
		bad("hold for must be at least 1s with the cart flavor, got %v", o.HoldFor)
	}
	return errors.Join(errs...)
}

func (o Options) limits() accountLimits {
	return accountLimits{perDay: o.AccountLimitPerDay, perWeek: o.AccountLimitPerWeek}
}

func (o Options) faults() Faults {
	return Faults{
		Latency:      o.Latency,
		Jitter:       o.Jitter,
		FailRate:     o.FailRate,
		FailPages:    o.FailPages,
		ResetRate:    o.ResetRate,
		ResetApplied: o.ResetApplied,
	}
}

func (f Faults) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if f.Latency < 0 {
		bad("latency must not be negative, got %v", f.Latency)
	}
	if f.Jitter < 0 {
		bad("jitter must not be negative, got %v", f.Jitter)
	}
	if !isFraction(f.FailRate) {
		bad("fail rate must be in [0,1], got %v", f.FailRate)
	}
	if !isFraction(f.ResetRate) {
		bad("reset rate must be in [0,1], got %v", f.ResetRate)
	}
	if isFraction(f.FailRate) && isFraction(f.ResetRate) && f.FailRate+f.ResetRate > 1 {
		bad("fail rate + reset rate must not exceed 1, got %v", f.FailRate+f.ResetRate)
	}
	if f.ResetApplied != ResetAppliedNever && !isFraction(f.ResetApplied) {
		bad("reset applied must be in [0,1] or ResetAppliedNever, got %v", f.ResetApplied)
	}
	return errors.Join(errs...)
}

// normalize clamps f into a usable range and resolves the ResetApplied
// default, so that SetFaults never has to fail.
func (f Faults) normalize() Faults {
	f.Latency = max(f.Latency, 0)
	f.Jitter = max(f.Jitter, 0)
	f.FailRate = clampFraction(f.FailRate)
	f.ResetRate = min(clampFraction(f.ResetRate), 1-f.FailRate)
	switch {
	case f.ResetApplied == ResetAppliedNever:
		f.ResetApplied = 0
	case f.ResetApplied == 0:
		f.ResetApplied = ResetAppliedDefault
	default:
		f.ResetApplied = clampFraction(f.ResetApplied)
	}
	return f
}

func isFraction(x float64) bool { return x >= 0 && x <= 1 }

func clampFraction(x float64) float64 {
	if !(x > 0) { // also catches NaN
		return 0
	}
	return min(x, 1)
}

// checkLoopback refuses listen addresses outside 127.0.0.0/8 and ::1: the
// simulator must never be reachable from another machine.
func checkLoopback(addr string) error {
	if err := loopback.Check(addr); err != nil {
		return fmt.Errorf("addr %q: %w", addr, err)
	}
	return nil
}
