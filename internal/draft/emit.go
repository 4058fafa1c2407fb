package draft

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/tidwall/gjson"

	"reserver/internal/profile"
)

// jsonYAML writes a JSON request body as the YAML of a json: key, its
// values turned into templates by val; indent is added by the caller.
func (d *drafter) jsonYAML(doc string, val func(name, v string) string) string {
	var b strings.Builder
	var walk func(r gjson.Result, key string, depth int)
	pad := func(depth int) string { return strings.Repeat("  ", depth) }
	walk = func(r gjson.Result, key string, depth int) {
		switch {
		case r.IsObject():
			r.ForEach(func(k, v gjson.Result) bool {
				if v.IsObject() || v.IsArray() {
					fmt.Fprintf(&b, "%s%s:\n", pad(depth), yq(k.String()))
					walk(v, k.String(), depth+1)
				} else {
					fmt.Fprintf(&b, "%s%s: %s\n", pad(depth), yq(k.String()), leaf(v, k.String(), val))
				}
				return true
			})
		case r.IsArray():
			r.ForEach(func(_, v gjson.Result) bool {
				if v.IsObject() || v.IsArray() {
					fmt.Fprintf(&b, "%s-\n", pad(depth))
					walk(v, key, depth+1)
				} else {
					fmt.Fprintf(&b, "%s- %s\n", pad(depth), leaf(v, key, val))
				}
				return true
			})
		}
	}
	walk(gjson.Parse(doc), "", 0)
	return b.String()
}

// leaf is one JSON scalar as YAML: a templated number is !number.
func leaf(v gjson.Result, key string, val func(name, v string) string) string {
	switch v.Type {
	case gjson.Number:
		t := val(key, v.Raw)
		if strings.Contains(t, "{{") {
			return "!number " + dq(t)
		}
		return v.Raw
	case gjson.True, gjson.False, gjson.Null:
		return v.Raw
	}
	return dq(val(key, v.String()))
}

// dq quotes s as a YAML double-quoted scalar.
func dq(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// emit writes the draft in the house style.
func (d *drafter) emit(login, submit *exchange) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	name := d.o.Name
	if name == "" {
		host := login.u.Hostname()
		name = strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(host), "-"), "-")
		d.o.Name = name
	}
	w("# Site profile drafted by `reserver profile draft` from a browser recording of one\n")
	w("# booking made by hand. Every inferred choice has a comment; check the TODOs, then\n")
	w("# rehearse it: reserver check --site %s --booking FILE --submit\n", name)
	w("# The language is described in docs/profiles.md.\n")
	w("name: %s\n", name)
	w("description: Drafted from a recording of %s.\n", login.u.Host)
	w("# The host of the login request; override per run with %s.\n", profile.EnvBaseURL(name))
	w("base_url: %s\n", d.base)
	w("# From the pages' Content-Type.\n")
	w("charset: %s\n", d.charset)
	w("# %s.\n", strings.ToUpper(d.zoneWhy[:1])+d.zoneWhy[1:])
	w("time_zone: %s\n", d.zone)
	w("timeout: 10s\n")
	w("rate_per_second: 2\n\n")
	w("# TODO: when does a slot open? Give the site's rule (days_before/at, monthly, or\n")
	w("# rolling: {before, of}), see docs/profiles.md \"opening\"; without one every\n")
	w("# booking must say its opens_at.\n")
	w("# opening: {days_before: 7, at: \"09:00\"}\n\n")
	if f := d.o.Sample.Fields; len(f) > 0 {
		w("# The recording's booking carried these site-specific fields.\n")
		w("fields:\n")
		for _, k := range sortedKeys(f) {
			w("  - {name: %s, required: true}\n", k)
		}
		w("\n")
	}
	w("steps:\n")
	for _, x := range d.ordered() {
		s := d.steps[x]
		if s.role == profile.RolePage || s.role == profile.RoleCheckout {
			continue
		}
		if s.role == profile.RoleSubmit {
			d.emitList(&b, profile.RolePage, "pages")
		}
		w("\n  # %s %s: %s.\n", x.method, x.u.Path, s.why)
		w("  %s:\n", s.role)
		d.emitStep(&b, s, "    ")
		if s.role == profile.RoleSubmit {
			d.emitList(&b, profile.RoleCheckout, "checkout")
		}
	}
	return b.Bytes()
}

func (d *drafter) emitList(b *bytes.Buffer, role profile.Role, key string) {
	var xs []*exchange
	for _, x := range d.ordered() {
		if d.steps[x].role == role {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n  %s:\n", key)
	for _, x := range xs {
		s := d.steps[x]
		fmt.Fprintf(b, "    # %s %s: %s.\n", x.method, x.u.Path, s.why)
		fmt.Fprintf(b, "    - name: %s\n", s.name)
		d.emitStep(b, s, "      ")
	}
}

func (d *drafter) emitStep(b *bytes.Buffer, s *step, in string) {
	w := func(format string, args ...any) { b.WriteString(in); fmt.Fprintf(b, format, args...) }
	w("method: %s\n", s.x.method)
	w("path: %s\n", dq(s.path))
	if len(s.headers) > 0 {
		w("headers:\n")
		for _, h := range s.headers {
			w("  %s: %s\n", h.name, dq(h.value))
		}
	}
	if len(s.form) > 0 {
		key := "form"
		if s.multi {
			key = "multipart"
		}
		w("%s:\n", key)
		for _, f := range s.form {
			w("  %s: %s\n", yq(f.name), dq(f.value))
		}
	}
	if s.json != "" {
		w("json:\n")
		for _, line := range strings.Split(strings.TrimRight(s.json, "\n"), "\n") {
			w("  %s\n", line)
		}
	}
	if s.every {
		w("# A token the submit sends: assumed single-use, so the page is visited before every submit.\n")
		w("every_submit: true\n")
	}
	if len(s.extract) > 0 {
		w("extract:\n")
		for _, e := range s.extract {
			if why := s.extractWhy[e.name]; why != "" {
				w("  # %s\n", why)
			}
			w("  %s: %s\n", e.name, e.value)
		}
	}
	w("classify:\n")
	for _, r := range s.rules {
		w("  - %s\n", r)
	}
	for _, c := range d.placeholders(s) {
		w("  # %s\n", c)
	}
	for _, c := range s.comments {
		w("# %s\n", c)
	}
}

// defaultRules are the rules of a step whose recorded answer is all the
// draft knows: its status (and location), and what made it needed.
func (d *drafter) defaultRules(s *step) []string {
	x := s.x
	cond := fmt.Sprintf("status: %d", x.status)
	if x.status >= 300 && x.status < 400 && x.location != "" {
		if u, err := url.Parse(x.location); err == nil {
			cond += ", location: " + yq(u.Path)
		}
	}
	var out []string
	if s.role == profile.RoleLogin {
		for _, y := range d.flow {
			if y.idx < x.idx && y.method == x.method && y.u.Path == x.u.Path && y.status == 200 {
				if t := d.failureText(y, x); t != "" {
					d.say("login: a failed login in the recording says %q → fatal", t)
					out = append(out, fmt.Sprintf("{status: %d, body_contains: %s, class: fatal}", y.status, yq(t)))
				}
			}
		}
	}
	switch {
	case len(s.extract) > 0 && x.isJSON():
		// The answer holds what later steps need.
		spec := s.extract[0].value
		if m := regexp.MustCompile(`json: '([^']+)'`).FindStringSubmatch(spec); m != nil {
			cond += ", json_has: " + yq(m[1])
		}
	case len(s.extract) > 0:
		if m := regexp.MustCompile(`regex: '([^(]{3,40})`).FindStringSubmatch(s.extract[0].value); m != nil {
			lit := strings.ReplaceAll(regexp.MustCompile(`\\(.)`).ReplaceAllString(m[1], "$1"), "''", "'")
			cond += ", body_contains: " + yq(lit)
		}
	}
	out = append([]string{"{" + cond + ", class: success}"}, out...)
	return out
}

// placeholders are the rules a recording of one good booking cannot show.
func (d *drafter) placeholders(s *step) []string {
	expired := "- {status: 302, location: login, class: session_expired}   # TODO: record the answer once the session has expired"
	blocked := "- {status: 403, class: blocked}                           # TODO: what the site answers an address it blocks"
	switch s.role {
	case profile.RoleLogin:
		out := []string{blocked}
		if !d.hasFatal(s) {
			out = append([]string{"- {status: 200, body_contains: TODO, class: fatal}   # TODO: record a login with a wrong password"}, out...)
		}
		return out
	case profile.RoleSubmit:
		return []string{
			"- {status: 200, body_contains: TODO, class: not_open}   # TODO: record a submit before the opening",
			"- {status: 200, body_contains: TODO, class: sold_out}   # TODO: record a submit for a slot someone else holds (or class: conflict if the site says the same when it is yours)",
			expired, blocked,
			"- {status: [500, 502, 503, 504], class: retry}",
		}
	case profile.RolePage, profile.RoleCheckout, profile.RoleVerify, profile.RolePrelogin:
		return []string{expired, blocked}
	}
	return nil
}

func (d *drafter) hasFatal(s *step) bool {
	for _, r := range s.rules {
		if strings.Contains(r, "class: fatal") {
			return true
		}
	}
	return false
}
