package draft

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// source is where a request value first appeared in an earlier answer.
type source struct {
	x      *exchange
	cookie string // the value is this cookie's (set by x): read from the jar
	// extraction spec (YAML flow mapping) on x's step, when not a cookie
	spec string
	how  string // for the report
}

// boundary reports whether c may precede a robust regex prefix: the start
// of an attribute, a tag, a quoted string, a JS or JSON token.
func boundary(c byte) bool {
	return strings.IndexByte(" \t\r\n<>\"'(){}[],;=:", c) >= 0
}

// valueClasses are the character classes tried for an extracted value,
// narrowest last so the first one that stops exactly at the value's end
// wins.
var valueClasses = []string{`[^"'<>\s&]+`, `[^"'<>\s]+`, `[^"]+`, `[^']+`, `[^<]+`, `[A-Za-z0-9_-]+`, `[0-9]+`}

// regexFor finds the shortest regex with a robust literal prefix whose
// first match's group is exactly v, the first time v occurs in text.
func regexFor(text, v string) (string, bool) {
	i := strings.Index(text, v)
	if i < 0 {
		return "", false
	}
	for k := 3; k <= 80 && k <= i; k++ {
		start := i - k
		if !utf8.RuneStart(text[start]) {
			continue
		}
		if start > 0 && !boundary(text[start-1]) {
			continue
		}
		prefix := text[start:i]
		if strings.ContainsAny(prefix, "\r\n") {
			break // keep to one line
		}
		if !namesSomething(prefix) {
			continue // value=" alone would match any input first
		}
		for _, class := range valueClasses {
			src := regexp.QuoteMeta(prefix) + "(" + class + ")"
			re, err := regexp.Compile(src)
			if err != nil {
				continue
			}
			if m := re.FindStringSubmatch(text); m != nil && m[1] == v {
				return src, true
			}
		}
	}
	return "", false
}

var wordRe = regexp.MustCompile(`\p{L}[\p{L}\p{N}_-]+`)

// generic are words that say nothing about which value follows them.
var generic = map[string]bool{"value": true, "href": true, "src": true, "id": true, "class": true, "name": true,
	"type": true, "data": true, "input": true, "hidden": true, "action": true, "content": true, "var": true}

// namesSomething reports whether a regex prefix holds a word that names the
// value (rentToken, order-code, 예약번호), not only markup.
func namesSomething(prefix string) bool {
	for _, w := range wordRe.FindAllString(prefix, -1) {
		if !generic[strings.ToLower(w)] {
			return true
		}
	}
	return false
}

// jsonPathFor is the gjson path of the first scalar leaf equal to v.
func jsonPathFor(doc, v string) (string, bool) {
	for _, l := range jsonLeaves(doc) {
		if l.value == v {
			return l.name, true
		}
	}
	return "", false
}

// findSource looks for v in the answers before position before, earliest
// first: a cookie the site set, a JSON field, the page text, a Location.
// name is what the value is sent under (a same-name form control makes a
// short value findable).
func (d *drafter) findSource(v, name string, before int) (source, bool) {
	if v == "" {
		return source{}, false
	}
	short := len(v) < 6
	for _, x := range d.flow {
		if x.idx >= before {
			break
		}
		for _, c := range x.setCookie {
			if c.Value == v && !short {
				return source{x: x, cookie: c.Name, how: fmt.Sprintf("the cookie %s set by %s %s", c.Name, x.method, x.u.Path)}, true
			}
		}
		if short {
			// A short value is only taken from a form control of its own
			// name: a hidden input, or an option of a select.
			if spec, how, ok := controlSource(x.text, name, v); ok {
				return source{x: x, spec: spec, how: how + " of " + x.method + " " + x.u.Path}, true
			}
			continue
		}
		if x.mime == "application/json" || strings.HasSuffix(x.mime, "+json") {
			if p, ok := jsonPathFor(x.text, v); ok {
				return source{x: x, spec: "{json: " + yq(p) + "}", how: fmt.Sprintf("the JSON field %s of %s %s", p, x.method, x.u.Path)}, true
			}
		}
		if strings.Contains(x.text, v) {
			if spec, how, ok := controlSource(x.text, name, v); ok {
				return source{x: x, spec: spec, how: how + " of " + x.method + " " + x.u.Path}, true
			}
			if re, ok := regexFor(x.text, v); ok {
				return source{x: x, spec: "{regex: " + yq(re) + "}", how: fmt.Sprintf("the page of %s %s (regex %s)", x.method, x.u.Path, re)}, true
			}
		}
		if strings.Contains(x.location, v) {
			if re, ok := regexFor(x.location, v); ok {
				return source{x: x, spec: "{regex: " + yq(re) + ", from: location}", how: fmt.Sprintf("the Location of %s %s", x.method, x.u.Path)}, true
			}
		}
	}
	return source{}, false
}

var (
	inputRe  = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRe   = regexp.MustCompile(`(?is)\b(name|value|type)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))`)
	selectRe = regexp.MustCompile(`(?is)<select\b[^>]*\bname\s*=\s*["']?([^"'\s>]+)[^>]*>(.*?)</select>`)
	optionRe = regexp.MustCompile(`(?is)<option\b[^>]*\bvalue\s*=\s*["']?([^"'\s>]*)["']?[^>]*>([^<]*)`)
)

// controlSource finds a form control called name whose value is v: a
// hidden input gives a regex on its own markup; an option gives nothing
// here (the option is chosen by its label, see optionSource).
func controlSource(text, name, v string) (spec, how string, ok bool) {
	for _, in := range inputRe.FindAllString(text, -1) {
		attrs := map[string]string{}
		for _, m := range attrRe.FindAllStringSubmatch(in, -1) {
			attrs[strings.ToLower(m[1])] = m[3] + m[4] + m[5]
		}
		if attrs["name"] != name || attrs["value"] != v {
			continue
		}
		src := `name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`
		if m := regexp.MustCompile(src).FindStringSubmatch(text); m != nil && m[1] == v {
			return "{regex: " + yq(src) + "}", "the hidden input " + name, true
		}
	}
	return "", "", false
}

// optionSource finds a select called name with an option of value v whose
// label holds a booking value: the value is then chosen by that label (a
// templated regex), so another slot picks its own option.
func (d *drafter) optionSource(text, name, v string) (spec, how string, ok bool) {
	for _, sel := range selectRe.FindAllStringSubmatch(text, -1) {
		if sel[1] != name {
			continue
		}
		for _, opt := range optionRe.FindAllStringSubmatch(sel[2], -1) {
			if opt[1] != v {
				continue
			}
			label := strings.TrimSpace(opt[2])
			for _, p := range d.params {
				if p.short || !strings.HasPrefix(label, p.lit) {
					continue
				}
				// <option value="4">09:00-10:00</option>: the option whose label starts with the slot's start.
				src := `<option value="([^"]*)"[^>]*>\s*{{ quotemeta (` + p.tmpl + `) }}`
				return "{regex: " + yq(src) + "}", fmt.Sprintf("the option of select %s labelled with %s", name, p.what), true
			}
		}
	}
	return "", "", false
}

// yq quotes s as a YAML single-quoted scalar (backslashes stay literal).
func yq(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
