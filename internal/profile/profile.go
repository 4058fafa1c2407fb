package profile

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/andybalholm/cascadia"
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

// Step names. Login, trace and submit are required; verify and probe are
// optional (probe defaults to a GET of "/").
const (
	StepLogin  = "login"
	StepTrace  = "trace"
	StepSubmit = "submit"
	StepVerify = "verify"
	StepProbe  = "probe"
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
	ClassUnknown        Class = "unknown"         // no rule matched
)

// Classes lists every class, in documentation order.
var Classes = []Class{
	ClassSuccess, ClassNotOpen, ClassSoldOut, ClassAlreadyMine,
	ClassSessionExpired, ClassBlocked, ClassRetry, ClassFatal, ClassUnknown,
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
type Data struct {
	Booking BookingData
	Account AccountData
	X       map[string]string // extractions of earlier steps, by name
	Now     time.Time         // in the site's zone
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

	Login, Trace, Submit *Step
	Verify               *Step // nil when the site has no verify step
	Probe                *Step // never nil after loading: defaults to GET /

	// Warnings are what loading found that does not stop the profile from
	// working but costs the daemon something (no verify step), each as
	// "file:line: message" like the load errors. The app logs them and
	// `reserver check` prints them.
	Warnings []string
}

// Step returns the named step, or nil if the profile does not define it.
func (p *Profile) Step(name string) *Step {
	switch name {
	case StepLogin:
		return p.Login
	case StepTrace:
		return p.Trace
	case StepSubmit:
		return p.Submit
	case StepVerify:
		return p.Verify
	case StepProbe:
		return p.Probe
	}
	return nil
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

// Header is one templated request header.
type Header struct {
	Name  string
	Value *template.Template
}

// FormField is one templated form field; order is preserved.
type FormField struct {
	Name  string
	Value *template.Template
	// Sensitive is true when the name looks like a password or token
	// (pass, pw, token, secret): the value is masked in excerpts.
	Sensitive bool
}

// Step is one HTTP exchange of the site flow.
type Step struct {
	Name            string
	Method          string
	Path            *template.Template
	Headers         []Header
	Form            []FormField
	Body            *template.Template // raw body (exclusive with Form)
	ContentType     string
	FollowRedirects bool
	Extract         []Extraction
	Rules           []Rule
	EverySubmit     bool // trace only: the token is single-use
}

// Extraction source kinds.
const (
	FromBody     = "body"
	FromHeader   = "header"
	FromLocation = "location"
)

// Extraction pulls one value out of a response, by regex (first capture
// group) or by CSS selector.
type Extraction struct {
	Name   string
	Regex  *regexp.Regexp
	From   string // FromBody, FromHeader or FromLocation (regex only)
	Header string // header name when From == FromHeader
	CSS    string // goquery selector; first match
	Attr   string // "text" for the element text, otherwise an attribute name

	sel cascadia.Selector
}

// Rule is one classification rule. Every condition given must hold.
type Rule struct {
	Line          int   // line in the profile, for diagnostics
	Status        []int // any of
	Location      string
	LocationRegex *regexp.Regexp
	Header        []HeaderMatch
	BodyContains  string
	BodyRegex     *regexp.Regexp
	// BodyContainsT and BodyRegexT are set instead when the text holds a
	// template ("{{"): the condition depends on the booking (a verify step
	// looking for this court and slot in a list). They are rendered by
	// Render and bound to the response with Request.Response.
	BodyContainsT *template.Template
	BodyRegexT    *template.Template
	Class         Class
	Reservation   *Extraction // success only: where the reservation number is
}

// HeaderMatch requires a response header to contain a substring.
type HeaderMatch struct {
	Name     string
	Contains string
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
