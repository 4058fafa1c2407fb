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
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
		cs := cmpOr(har.Charset(mt), har.Charset(ct))
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

// extractName is a fresh extraction name for a value sent as field.
func (d *drafter) extractName(field string) string {
	n := strings.Trim(identClean.ReplaceAllString(field, "_"), "_")
	if n == "" || strings.ContainsAny(n[:1], "0123456789") {
		n = "v_" + n
	}
	n = strings.ToLower(n)
	for base, i := n, 2; d.names[n]; i++ {
		n = fmt.Sprintf("%s%d", base, i)
	}
	d.names[n] = true
	return n
}

// value turns one request value into its template: a booking value, a
// value from an earlier answer (the source gains an extraction, and
// becomes a step), or the literal. It reports whether a new step appeared.
func (d *drafter) value(s *step, name, v string, login *exchange) (string, bool) {
	if t, used, guess := parametrize(v, name, d.params); len(used) > 0 {
		for _, p := range used {
			if guess {
				d.say("%s: %s=%q read as %s (a guess: the name says nothing)", s.name, name, v, p.what)
			}
		}
		return t, false
	}
	src, ok := d.findSource(v, name, s.x.idx)
	if !ok && len(v) < 6 {
		// A short value chosen from a select: by the option's label.
		for _, x := range d.flow {
			if x.idx >= s.x.idx {
				break
			}
			if spec, how, found := d.optionSource(x.text, name, v); found {
				src, ok = source{x: x, spec: spec, how: how + " of " + x.method + " " + x.u.Path}, true
			}
		}
	}
	if ok && src.x.idx < login.idx && src.x.method == login.method && src.x.u.Path == login.u.Path {
		// The answer of a failed login (the form again, with a new token):
		// the profile visits the form page instead, which hands out the
		// same control.
		if page := d.formPage(login, name); page != nil {
			src = source{x: page, spec: "{regex: " + yq(`name="`+regexp.QuoteMeta(name)+`" value="([^"]*)"`) + "}",
				how: "the hidden input " + name + " of " + page.method + " " + page.u.Path + " (the login form)"}
		}
	}
	if !ok {
		if len(v) >= 8 && looksToken(v) {
			d.say("%s: %s=%q looks like a token but no earlier answer holds it: sent as recorded (record the page that hands it out)", s.name, name, v)
		} else if v != "" && len(v) < 8 {
			d.say("%s: %s=%q is sent as recorded", s.name, name, v)
		}
		return escapeTemplate(v), false
	}
	if src.cookie != "" {
		d.say("%s: %s is %s: read from the jar", s.name, name, src.how)
		return `{{ index .Cookies "` + src.cookie + `" }}`, false
	}
	added := false
	from := d.steps[src.x]
	if from == nil {
		switch {
		case src.x.idx < login.idx:
			if d.hasRole(profile.RolePrelogin) {
				d.say("%s: %s comes from %s, a second visit before the login: a profile has one prelogin; add it by hand", s.name, name, src.how)
				return escapeTemplate(v), false
			}
			from = d.addStep(src.x, profile.RolePrelogin, profile.StepPrelogin, "its answer holds what the login sends")
		default:
			from = d.addStep(src.x, profile.RolePage, d.stepName(src.x, "page"), "its answer holds what a later step sends")
		}
		added = true
	}
	for _, e := range from.extract {
		if e.value == src.spec {
			return "{{ .X." + e.name + " }}", added
		}
	}
	xn := d.extractName(name)
	from.extract = append(from.extract, kv{xn, src.spec})
	if from.extractWhy == nil {
		from.extractWhy = map[string]string{}
	}
	how := src.how
	if i := strings.LastIndex(how, " of "); i > 0 {
		how = how[:i]
	}
	from.extractWhy[xn] = fmt.Sprintf("%s sends it as %s; here: %s", s.name, name, how)
	if from.role != profile.RoleSubmit && from.role != profile.RoleCheckout {
		d.extracted[v] = xn
	}
	if from.role == profile.RolePage && s.role == profile.RoleSubmit {
		from.every = true // a token the submit sends: assume it is single-use
	}
	d.say("%s: %s=%s comes from %s → extraction %s", s.name, name, shorten(v), src.how, xn)
	return "{{ .X." + xn + " }}", added
}

// formPage is the last GET before the login whose page has a form control
// called name: where a person got the login form.
func (d *drafter) formPage(login *exchange, name string) *exchange {
	var page *exchange
	re := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="`)
	for _, x := range d.flow {
		if x.idx >= login.idx {
			break
		}
		if x.method == http.MethodGet && re.MatchString(x.text) {
			page = x
		}
	}
	return page
}

func (d *drafter) hasRole(r profile.Role) bool {
	for _, s := range d.steps {
		if s.role == r {
			return true
		}
	}
	return false
}

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_\-.=+/]+$`)

func looksToken(v string) bool { return tokenRe.MatchString(v) && strings.ContainsAny(v, "0123456789") }

func shorten(v string) string {
	if len(v) > 12 {
		return fmt.Sprintf("%q…", v[:8])
	}
	return fmt.Sprintf("%q", v)
}

// escapeTemplate keeps a literal "{{" from being read as a template.
func escapeTemplate(v string) string {
	if !strings.Contains(v, "{{") {
		return v
	}
	return `{{ "` + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `"`, `\"`) + `" }}`
}

// resolve fills a step's request: path, headers, body. It reports whether
// a new step appeared (a page whose answer it needs).
func (d *drafter) resolve(s *step, login *exchange) bool {
	if s.path != "" {
		return false
	}
	added := false
	val := func(name, v string) string {
		t, a := d.value(s, name, v, login)
		added = added || a
		return t
	}
	x := s.x
	p := d.urlTemplate(x, x.u, val)
	s.path = p
	// Headers a site checks: custom ones (a CSRF echo), Accept for APIs, the Referer.
	for _, h := range x.entry.Request.Headers {
		name := http.CanonicalHeaderKey(h.Name)
		switch {
		case strings.HasPrefix(name, "X-") && !strings.HasPrefix(name, "X-Forwarded"):
			s.headers = append(s.headers, kv{name, val(name, h.Value)})
		case name == "Accept" && strings.Contains(h.Value, "json"):
			s.headers = append(s.headers, kv{name, h.Value})
		case name == "Referer":
			if ru, err := url.Parse(h.Value); err == nil && ru.Host == x.u.Host {
				// Only the booking's values: a Referer is not worth a
				// page visit, and a stale id in it does no harm.
				bookingOnly := func(name, v string) string {
					if t, used, _ := parametrize(v, name, d.params); len(used) > 0 {
						return t
					}
					return escapeTemplate(v)
				}
				s.headers = append(s.headers, kv{name, d.urlTemplate(x, ru, bookingOnly)})
			}
		}
	}
	switch x.bodyKind {
	case "form", "multipart":
		s.multi = x.bodyKind == "multipart"
		for _, f := range x.form {
			s.form = append(s.form, kv{f.name, val(f.name, f.value)})
		}
	case "json":
		s.json = d.jsonYAML(x.jsonBody, val)
	}
	return added
}

// volatilePath reports whether a path has a segment that looks like an id.
func volatilePath(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if looksVolatile(seg) {
			return true
		}
	}
	return false
}

// urlTemplate writes u's path and query (of a request, or a Referer of
// it) as a template: a path the site handed out whole, or segment by
// segment; query values as templates, escaped.
func (d *drafter) urlTemplate(x *exchange, u *url.URL, val func(name, v string) string) string {
	p := u.EscapedPath()
	// A path is the site's to hand out only when it holds something
	// volatile (an id): a fixed path found in a link is left as written.
	if volatilePath(u.Path) {
		if src, ok := d.findSource(u.Path, "url", x.idx); ok && src.cookie == "" {
			p = val("url", u.Path)
		} else {
			segs := strings.Split(p, "/")
			for i, seg := range segs {
				if dec, err := url.PathUnescape(seg); err == nil && seg != "" && (looksVolatile(dec) || d.isParam(dec)) {
					segs[i] = val("path", dec)
				}
			}
			p = strings.Join(segs, "/")
		}
	}
	q := (&exchange{u: u}).queryParams()
	if len(q) == 0 {
		return p
	}
	parts := make([]string, 0, len(q))
	for _, kv := range q {
		t := val(kv.name, kv.value)
		switch {
		case !strings.Contains(t, "{{"):
			t = url.QueryEscape(t)
		case strings.HasPrefix(t, "{{ ") && strings.HasSuffix(t, " }}") && strings.Count(t, "{{") == 1:
			t = "{{ urlquery (" + strings.TrimSuffix(strings.TrimPrefix(t, "{{ "), " }}") + ") }}"
		}
		parts = append(parts, url.QueryEscape(kv.name)+"="+t)
	}
	return p + "?" + strings.Join(parts, "&")
}

// isParam reports whether a path segment is one of the booking's values.
func (d *drafter) isParam(seg string) bool {
	_, used, _ := parametrize(seg, "path", d.params)
	return len(used) > 0
}
