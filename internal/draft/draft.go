// Package draft turns a browser recording (HAR) of one booking made by
// hand into a site profile that books: it finds the login, the pages the
// site needs, the submit, any checkout after it and a "my reservations"
// page; it turns values of the booking into templates and values the site
// handed out into extractions on the step whose answer held them; it
// infers the classification rules the recording shows and leaves the
// others as commented placeholders. The draft is YAML in the house style,
// with a comment on every inferred choice, and it loads.
//
// The package owns the inference only. Reading the HAR is internal/har;
// what the YAML means is internal/profile.
package draft

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"

	"reserver/internal/har"
	"reserver/internal/profile"
)

// Errors of Draft.
var (
	ErrNoLogin  = errors.New("draft: no request in the recording carries the password")
	ErrNoSubmit = errors.New("draft: no request after the login carries the booking's values")
)

// Options configure Draft.
type Options struct {
	Name   string // the profile name; default from the host
	Sample Sample
}

// Result is a draft: the YAML, the profile it loads as, and a report of
// what was found and guessed.
type Result struct {
	YAML    []byte
	Profile *profile.Profile
	Report  []string
}

// step is one step of the draft being built.
type step struct {
	x       *exchange
	role    profile.Role
	name    string
	path    string
	headers []kv
	form    []kv
	json    string // the JSON body as YAML lines (already indented)
	multi   bool
	extract []kv // name → spec
	// extractWhy says, per extraction name, which value it is and where the
	// recording had it (a comment in the draft).
	extractWhy map[string]string
	rules      []string
	comments   []string // placeholders and notes, as YAML comments
	every      bool
	why        string
}

type drafter struct {
	o       Options
	loc     *time.Location
	zone    string
	zoneWhy string
	charset string
	flow    []*exchange // the site's own, non-static exchanges, in order
	params  []param
	steps   map[*exchange]*step
	names   map[string]bool // extraction names in use
	report  []string
	base    string
	number  string // the reservation number the booking got
	// extracted maps a value extracted before the submit (a page's, the
	// login's) to its extraction name: verify may look for it too.
	extracted map[string]string
}

// Draft drafts a profile from h.
func Draft(h *har.HAR, o Options) (*Result, error) {
	if o.Sample.Password == "" {
		return nil, errors.New("draft: the sample has no password: it is how the login is found (give --password-env)")
	}
	d := &drafter{o: o, steps: map[*exchange]*step{}, names: map[string]bool{}, extracted: map[string]string{}}
	if err := d.read(h); err != nil {
		return nil, err
	}
	login := d.findLogin()
	if login == nil {
		return nil, ErrNoLogin
	}
	d.base = login.u.Scheme + "://" + login.u.Host
	d.keepSite(login.u.Host)
	submit := d.findSubmit(login)
	if submit == nil {
		return nil, ErrNoSubmit
	}
	d.build(login, submit)
	y := d.emit(login, submit)
	p, err := profile.Parse(d.o.Name+".yaml", y)
	if err != nil {
		return &Result{YAML: y, Report: d.report}, fmt.Errorf("draft: the draft does not load (a bug in the drafter; the YAML is in the result): %w", err)
	}
	return &Result{YAML: y, Profile: p, Report: d.report}, nil
}

func (d *drafter) say(format string, args ...any) {
	d.report = append(d.report, fmt.Sprintf(format, args...))
}

// read decodes the entries: the charset first (posted forms are in it).
func (d *drafter) read(h *har.HAR) error {
	// The pages' charset: from the Content-Type (Chromium's export drops
	// it from content.mimeType but keeps the header), else the page's meta.
	d.charset = "utf-8"
	for _, e := range h.Log.Entries {
		mt := strings.ToLower(e.Response.Content.MimeType)
		ct := strings.ToLower(har.Header(e.Response.Headers, "Content-Type"))
		if !strings.HasPrefix(mt, "text/html") && !strings.HasPrefix(ct, "text/html") {
			continue
		}
		cs := cmp.Or(har.Charset(mt), har.Charset(ct))
		if cs == "" {
			if b, err := e.Response.Content.Bytes(); err == nil {
				cs = har.MetaCharset(b)
			}
		}
		if cs != "" {
			if enc, err := htmlindex.Get(cs); err == nil {
				d.charset, _ = htmlindex.Name(enc)
			}
			break
		}
	}
	var dec *encoding.Decoder
	if d.charset != "utf-8" {
		enc, _ := htmlindex.Get(d.charset)
		dec = enc.NewDecoder()
	}
	d.zone, d.zoneWhy = "Asia/Seoul", "assumed (no time with an offset in the recording)"
	offRe := regexp.MustCompile(`\d\d:\d\d(:\d\d)?([+-]\d\d:\d\d)\b`)
	for i := range h.Log.Entries {
		x, err := newExchange(i, &h.Log.Entries[i], dec)
		if err != nil {
			return fmt.Errorf("draft: entry %d: %w", i, err)
		}
		if m := offRe.FindStringSubmatch(x.text); m != nil && d.zoneWhy[0] == 'a' {
			if z, ok := zoneOf[m[2]]; ok {
				d.zone, d.zoneWhy = z, "inferred from the offset "+m[2]+" in the site's answers"
			}
		}
		d.flow = append(d.flow, x)
	}
	loc, err := time.LoadLocation(d.zone)
	if err != nil {
		return err
	}
	d.loc = loc
	d.params = d.o.Sample.params(loc)
	return nil
}

// zoneOf maps an offset seen in a recording to the zone a booking site with
// it most likely uses (offsets without DST, where the guess is safe).
var zoneOf = map[string]string{"+09:00": "Asia/Seoul", "+08:00": "Asia/Shanghai", "+00:00": "UTC", "+05:30": "Asia/Kolkata", "+07:00": "Asia/Bangkok"}

// keepSite keeps the site's own exchanges that a flow can use.
func (d *drafter) keepSite(host string) {
	var kept []*exchange
	dropped := map[string]int{}
	for _, x := range d.flow {
		switch {
		case x.u.Host != host:
			dropped["another host ("+x.u.Host+")"]++
		case x.isStatic():
			dropped["static assets, beacons and preflights"]++
		default:
			kept = append(kept, x)
		}
	}
	d.flow = kept
	for _, k := range sortedKeys(dropped) {
		d.say("dropped %d request(s): %s", dropped[k], k)
	}
}

// findLogin is the last request that carries the password.
func (d *drafter) findLogin() *exchange {
	var login *exchange
	for _, x := range d.flow {
		for _, f := range append(x.form, jsonLeaves(x.jsonBody)...) {
			if x.bodyKind == "json" && x.jsonBody == "" {
				continue
			}
			if f.value == d.o.Sample.Password {
				login = x
			}
		}
	}
	return login
}

// findSubmit is the request after the login that carries the most of the
// booking's values (the court, the date, the slot, the name, the phone).
func (d *drafter) findSubmit(login *exchange) *exchange {
	var best *exchange
	bestScore := 0
	for _, x := range d.flow {
		if x.idx <= login.idx || x.method == http.MethodGet {
			continue
		}
		fields := map[string]bool{}
		for _, v := range d.requestValues(x) {
			_, used, _ := parametrize(v.value, v.name, d.params)
			for _, p := range used {
				fields[strings.Split(p.field, ".")[0]] = true
			}
		}
		if n := len(fields); n > bestScore {
			best, bestScore = x, n
		}
	}
	if best != nil {
		d.say("submit: %s %s carries %d of the booking's values", best.method, best.u.Path, bestScore)
	}
	return best
}

// requestValues are the values a request sends: query, form, JSON leaves.
func (d *drafter) requestValues(x *exchange) []kv {
	out := x.queryParams()
	out = append(out, x.form...)
	if x.jsonBody != "" {
		for _, l := range jsonLeaves(x.jsonBody) {
			out = append(out, kv{lastKey(l.name), l.value})
		}
	}
	return out
}

func lastKey(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

// build decides the steps: the login (and the visit before it), the
// pages the submit needs, the submit, the checkout after it, verify.
func (d *drafter) build(login, submit *exchange) {
	d.addStep(login, profile.RoleLogin, profile.StepLogin, "it carries the password")
	d.addStep(submit, profile.RoleSubmit, profile.StepSubmit, "it carries the booking's values")
	// Checkout: requests after the submit that use what the submit's (or
	// a checkout step's) answer handed out.
	chain := []*exchange{submit}
	for _, x := range d.flow {
		if x.idx <= submit.idx {
			continue
		}
		if d.usesAnswerOf(x, chain) {
			chain = append(chain, x)
		}
	}
	for i, x := range chain[1:] {
		d.addStep(x, profile.RoleCheckout, d.stepName(x, fmt.Sprintf("checkout%d", i+1)), "it uses what the submit's answer handed out")
	}
	last := chain[len(chain)-1]
	d.reservation(submit) // and, after a hold, the last checkout step
	d.findVerify(last)
	// Resolve every step's values; sources become pages (or the prelogin).
	for changed := true; changed; {
		changed = false
		for _, x := range d.ordered() {
			if d.resolve(d.steps[x], login) {
				changed = true
			}
		}
	}
	d.finishVerify()
	for _, x := range d.ordered() {
		if s := d.steps[x]; len(s.rules) == 0 {
			s.rules = d.defaultRules(s)
		}
	}
}

// usesAnswerOf reports whether x sends a value first seen in the answer of
// one of the chain's exchanges.
func (d *drafter) usesAnswerOf(x *exchange, chain []*exchange) bool {
	vals := d.requestValues(x)
	if volatilePath(x.u.Path) {
		for _, seg := range strings.Split(x.u.Path, "/") {
			vals = append(vals, kv{"path", seg})
		}
		vals = append(vals, kv{"path", x.u.Path})
	}
	for _, v := range vals {
		if len(v.value) < 4 {
			continue
		}
		if s, ok := d.findSource(v.value, v.name, x.idx); ok && s.cookie == "" && slices.Contains(chain, s.x) {
			return true
		}
	}
	return false
}

func (d *drafter) ordered() []*exchange {
	var out []*exchange
	for _, x := range d.flow {
		if d.steps[x] != nil {
			out = append(out, x)
		}
	}
	return out
}

func (d *drafter) addStep(x *exchange, role profile.Role, name, why string) *step {
	if s := d.steps[x]; s != nil {
		return s
	}
	s := &step{x: x, role: role, name: name, why: why}
	d.steps[x] = s
	return s
}

var identClean = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// stepName names a page or checkout step after its path.
func (d *drafter) stepName(x *exchange, fallback string) string {
	segs := strings.FieldsFunc(x.u.Path, func(r rune) bool { return r == '/' })
	name := fallback
	for i := len(segs) - 1; i >= 0; i-- {
		seg := strings.TrimSuffix(strings.TrimSuffix(segs[i], ".do"), ".php")
		seg = strings.Trim(identClean.ReplaceAllString(seg, "_"), "_")
		if seg != "" && !strings.ContainsAny(seg[:1], "0123456789") && len(seg) < 30 && !looksVolatile(seg) {
			name = strings.ToLower(seg)
			break
		}
	}
	reserved := []string{"probe", "prelogin", "login", "trace", "pages", "submit", "checkout", "verify"}
	for base, n := name, 2; slices.Contains(reserved, name) || d.stepTaken(name); n++ {
		name = fmt.Sprintf("%s%d", base, n)
	}
	return name
}

func (d *drafter) stepTaken(name string) bool {
	for _, s := range d.steps {
		if s.name == name {
			return true
		}
	}
	return false
}

var volatileRe = regexp.MustCompile(`\d{3,}|^[A-Za-z]\d+$`)

func looksVolatile(s string) bool { return volatileRe.MatchString(s) }
