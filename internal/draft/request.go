package draft

// Turning one recorded request into templates: its values as booking
// values, extractions of earlier answers, or literals.

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"reserver/internal/profile"
)

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
