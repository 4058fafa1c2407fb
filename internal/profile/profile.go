package profile

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/encoding"
)

// Defaults applied when a profile leaves a key out.
const (
	DefaultTimeZone      = "Asia/Seoul"
	DefaultTimeout       = 10 * time.Second
	DefaultRatePerSecond = 2.0
	DefaultCharset       = "utf-8"
	// DefaultUserAgent is an ordinary current desktop Chrome on Windows, so
	// that the bot does not stand out in the site's access log.
	DefaultUserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " +
		"(KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36"
)

// Step names. Only submit is required. Prelogin and login make the login
// (a guest site has neither); trace is the name of the single page visit
// written as `trace:` (a list of visits is written as `pages:`, each with its
// own name); checkout steps are named in their list; probe defaults to a GET
// of "/".
const (
	StepPrelogin = "prelogin"
	StepLogin    = "login"
	StepTrace    = "trace"
	StepSubmit   = "submit"
	StepVerify   = "verify"
	StepProbe    = "probe"
)

// Role is what a step is for; it decides where the step runs and which
// data its templates may use.
type Role string

// Step roles.
const (
	RolePrelogin Role = "prelogin" // visited before the login; may yield a login token
	RoleLogin    Role = "login"
	RolePage     Role = "page" // a page visit before the submit, in order
	RoleSubmit   Role = "submit"
	RoleCheckout Role = "checkout" // after a held submit, in order; its end is the booking
	RoleVerify   Role = "verify"
	RoleProbe    Role = "probe"
)

// Sentinel errors.
var (
	// ErrUnknownStep is returned when a step name is not one of the five.
	ErrUnknownStep = errors.New("profile: unknown step")
	// ErrRender is wrapped by every template rendering failure.
	ErrRender = errors.New("profile: render")
	// ErrBadBaseURL is returned by WithBaseURL and ApplyEnv for an invalid URL.
	ErrBadBaseURL = errors.New("profile: bad base URL")
)

// Class is the meaning of a site's answer. It is the only vocabulary the
// daemon branches on, and it appears in logs, metrics and the attempt log.
type Class string

// The response classes. Each has exactly one action in the daemon.
const (
	ClassSuccess        Class = "success"         // booked; the reservation number is extracted
	ClassNotOpen        Class = "not_open"        // the window is not open yet: keep going
	ClassSoldOut        Class = "sold_out"        // someone else has the slot: stop
	ClassAlreadyMine    Class = "already_mine"    // this account already holds it: stop, verify
	ClassSessionExpired Class = "session_expired" // log in again (single-flight)
	ClassBlocked        Class = "blocked"         // the site blocks this egress: rotate
	ClassRetry          Class = "retry"           // transient refusal (stale token, busy): retry
	ClassFatal          Class = "fatal"           // permanent error (bad credentials, bad form)
	// ClassConflict is "taken", said alike when someone else holds the slot
	// and when this account does (after a lost answer): verify decides.
	ClassConflict Class = "conflict"
	// ClassHeld is a submit (or verify) answer of a cart-style site: the slot
	// is held for this account, and the checkout steps make the booking.
	ClassHeld Class = "held"
	// ClassInvalid is the site refusing the request itself: a court, slot
	// or date it does not have, a malformed request. Sending it again
	// cannot succeed, so the booking fails at once (site_rejected).
	ClassInvalid Class = "invalid"
	// ClassLimitReached is the site refusing because the account holds as
	// many reservations as it allows (a day, a week): this booking fails
	// (account_limit) and the account's other bookings in that period stop.
	ClassLimitReached Class = "limit_reached"
	ClassUnknown      Class = "unknown" // no rule matched
)

// Classes lists every class, in documentation order.
var Classes = []Class{
	ClassSuccess, ClassNotOpen, ClassSoldOut, ClassAlreadyMine,
	ClassSessionExpired, ClassBlocked, ClassRetry, ClassFatal, ClassConflict, ClassHeld, ClassInvalid, ClassLimitReached, ClassUnknown,
}

// Valid reports whether c is one of the defined classes.
func (c Class) Valid() bool {
	for _, k := range Classes {
		if c == k {
			return true
		}
	}
	return false
}

// String returns the class name.
func (c Class) String() string { return string(c) }

// Data is what templates see. The daemon fills it for every request.
// Prelogin and login steps (and the profile-wide headers) see only Account,
// X, Cookies and Now: they run for the account, not for one booking.
type Data struct {
	Booking BookingData
	Account AccountData
	X       map[string]string // extractions of earlier steps, by name
	// Cookies are the cookies the jar holds for the base URL, by name; set
	// only for a step whose templates use them (Step.UsesCookies).
	Cookies map[string]string
	Now     time.Time // in the site's zone
}

// BookingData describes the booking being made.
type BookingData struct {
	ID      int64
	Court   string            // e.g. "3"
	Date    time.Time         // the play date, midnight in the site zone
	Start   string            // "HH:MM" site-local
	End     string            // "HH:MM"
	Phone   string            // E.164, e.g. +821012345678
	Name    string            // the booker's display name (may be Korean)
	People  int               // number of players
	Fields  map[string]string // site-specific extra values (see Profile.Fields)
	OpensAt time.Time
}

// StartAt is the slot's start as an instant in the date's zone (the site
// zone): the play date at Start. It is zero when Start is not HH:MM.
func (b BookingData) StartAt() time.Time { return wallTime(b.Date, b.Start) }

// EndAt is the slot's end, like StartAt; an End of "24:00" is the next
// day's midnight.
func (b BookingData) EndAt() time.Time { return wallTime(b.Date, b.End) }

func wallTime(date time.Time, hhmm string) time.Time {
	h, m, err := splitHHMM(hhmm)
	if err != nil || date.IsZero() {
		return time.Time{}
	}
	y, mo, d := date.Date()
	// DST-safe: a wall time a gap skips is the instant the clock jumps
	// to; one a fold repeats is its first occurrence (as opening rules).
	return zonedWallTime(y, mo, d, time.Duration(h)*time.Hour+time.Duration(m)*time.Minute, date.Location())
}

// AccountData holds the site credentials of one account.
type AccountData struct {
	Username string
	Password string
}

// Profile is one loaded and validated site description. It is immutable
// after loading and safe for concurrent use.
type Profile struct {
	Name          string
	File          string // the file it was loaded from, if any
	BaseURL       string // scheme://host[:port][/prefix] without a trailing slash
	Charset       string // canonical charset name
	Encoding      encoding.Encoding
	Location      *time.Location
	Timeout       time.Duration
	RatePerSecond float64
	UserAgent     string
	Headers       []Header // sent on every step, before the step's own headers
	// RedirectHosts are the hosts besides the base URL's origin that a
	// step with follow_redirects may be redirected to (RedirectAllowed).
	RedirectHosts []RedirectHost
	Fields        []Field
	Opening       *Opening // nil when the site has no fixed opening rule
	// Courts and Slots are the courts the site has and its slot grid, when
	// the profile declares them (CheckSlot); nil: not checked.
	Courts *Courts
	Slots  *Slots
	// AccountLimits are the site's caps on the reservations one account
	// may hold (the account_limits key); zero: none declared.
	AccountLimits AccountLimits
	// SerialSubmits says the site takes one submit at a time per account
	// (the serial_submits key): the bookings of one account that open
	// together then submit in turn, in their priority order.
	SerialSubmits bool
	// Message is where the site's message is on its pages (the top-level
	// `message` key); every step without its own has it as its MessageAt.
	Message []Extraction

	// Prelogin and Login are nil for a site without them (a guest site
	// has no login: its first page visit sets the cookies).
	Prelogin, Login *Step
	// Pages are visited in order before the submit (after each login, and
	// those marked EverySubmit again before every submit).
	Pages  []*Step
	Submit *Step
	// Checkout runs in order after a submit (or verify) answered held; the
	// last step's success is the booking.
	Checkout []*Step
	Verify   *Step // nil when the site has no verify step
	Probe    *Step // never nil after loading: defaults to GET /

	// Warnings are what loading found that does not stop the profile from
	// working but costs the daemon something (no verify step), each as
	// "file:line: message" like the load errors. The app logs them and
	// `reserver check` prints them.
	Warnings []string

	SMS *SMS // the sms: key; nil when absent (Korean texts, 코트)
}

// Step returns the named step, or nil if the profile does not define it.
// It allocates nothing: the session looks a step up for every request.
func (p *Profile) Step(name string) *Step {
	for _, s := range [...]*Step{p.Submit, p.Login, p.Prelogin, p.Verify, p.Probe} {
		if s != nil && s.Name == name {
			return s
		}
	}
	for _, list := range [...][]*Step{p.Pages, p.Checkout} {
		for _, s := range list {
			if s.Name == name {
				return s
			}
		}
	}
	return nil
}

// Steps lists every step in the order a booking meets them: prelogin,
// login, the pages, submit, checkout, verify, probe.
func (p *Profile) Steps() []*Step {
	out := make([]*Step, 0, 5+len(p.Pages)+len(p.Checkout))
	for _, s := range [][]*Step{{p.Prelogin, p.Login}, p.Pages, {p.Submit}, p.Checkout, {p.Verify, p.Probe}} {
		for _, x := range s {
			if x != nil {
				out = append(out, x)
			}
		}
	}
	return out
}

// EverySubmitPages reports whether some page must be visited again before
// every submit (its token is single-use).
func (p *Profile) EverySubmitPages() bool {
	for _, s := range p.Pages {
		if s.EverySubmit {
			return true
		}
	}
	return false
}

// WithBaseURL returns a copy of p that talks to u instead (e.g. the
// simulator's random port in a test).
func (p *Profile) WithBaseURL(u string) (*Profile, error) {
	base, err := normalizeBaseURL(u)
	if err != nil {
		return nil, err
	}
	c := *p
	c.BaseURL = base
	return &c, nil
}

// EnvBaseURL is the name of the environment variable that overrides the base
// URL of the profile called name: RESERVER_SITE_<NAME>_BASE_URL, where NAME
// is upper-cased and every character that is not a letter or digit becomes
// an underscore (courtsim-euckr → RESERVER_SITE_COURTSIM_EUCKR_BASE_URL).
func EnvBaseURL(name string) string {
	var b strings.Builder
	b.WriteString("RESERVER_SITE_")
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteString("_BASE_URL")
	return b.String()
}

// ApplyEnv returns p with the overrides found through lookup applied
// (normally os.LookupEnv). Only the base URL is overridable.
func ApplyEnv(p *Profile, lookup func(string) (string, bool)) (*Profile, error) {
	if v, ok := lookup(EnvBaseURL(p.Name)); ok && v != "" {
		q, err := p.WithBaseURL(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvBaseURL(p.Name), err)
		}
		return q, nil
	}
	return p, nil
}

func normalizeBaseURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrBadBaseURL, s)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %q needs http(s)://host", ErrBadBaseURL, s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w: %q must not carry a query, fragment or user info", ErrBadBaseURL, s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// FieldType is the type of a booking field.
type FieldType string

// Field types.
const (
	FieldString FieldType = "string"
	FieldInt    FieldType = "int"
	FieldPhone  FieldType = "phone"
	FieldDate   FieldType = "date" // 2006-01-02
	FieldTime   FieldType = "time" // 15:04
)

// Field is one site-specific booking field (a key of BookingData.Fields).
type Field struct {
	Name        string
	Type        FieldType
	Required    bool
	Values      []string       // allowed values, if any
	Pattern     *regexp.Regexp // full-match pattern, if any
	Secret      bool           // masked in excerpts and logs
	Description string
}

// SecretValues returns the values in d that must never appear in logs or
// excerpts: the account password and every secret booking field.
func (p *Profile) SecretValues(d *Data) []string {
	var out []string
	if d == nil {
		return nil
	}
	if d.Account.Password != "" {
		out = append(out, d.Account.Password)
	}
	for _, f := range p.Fields {
		if v := d.Booking.Fields[f.Name]; f.Secret && v != "" {
			out = append(out, v)
		}
	}
	return out
}
