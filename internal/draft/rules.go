package draft

import (
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/tidwall/gjson"

	"reserver/internal/profile"
)

var (
	numberRe = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9_-]{3,40}`)
	alertRe  = regexp.MustCompile(`alert\(\s*["']([^"']{2,200})["']\s*\)`)
	h1Re     = regexp.MustCompile(`(?is)<h[12][^>]*>\s*([^<]{2,120}?)\s*</h[12]>`)
	textRe   = regexp.MustCompile(`>([^<>]{4,160})<`)
	labelRe  = regexp.MustCompile(`(?i)(번호|no\.|number|order|code|예약)`)
)

// isJSON reports whether an answer is a JSON document.
func (x *exchange) isJSON() bool {
	return (x.mime == "application/json" || strings.HasSuffix(x.mime, "+json")) && gjson.Valid(x.text)
}

// reservation finds the booking's number in the answer of the last step:
// a token that appears there for the first time (and, when the recording
// has one, in the "my reservations" page after it), and sets the last
// step's success rule.
func (d *drafter) reservation(last *exchange) {
	s := d.steps[last]
	earlier := func(v string) bool {
		for _, x := range d.flow {
			if x.idx >= last.idx {
				return false
			}
			if strings.Contains(x.text, v) || strings.Contains(x.entry.Request.URL, v) || strings.Contains(x.rawBody, v) {
				return true
			}
		}
		return false
	}
	later := func(v string) bool {
		for _, x := range d.flow {
			if x.idx > last.idx && strings.Contains(x.text, v) {
				return true
			}
		}
		return false
	}
	var cands []string
	if last.isJSON() {
		for _, l := range jsonLeaves(last.text) {
			if numberRe.MatchString(l.value) && len(numberRe.FindString(l.value)) == len(l.value) {
				cands = append(cands, l.value)
			}
		}
	} else {
		for _, m := range numberRe.FindAllString(visibleText(last.text), -1) {
			cands = append(cands, m)
		}
	}
	var number string
	for pass := 0; pass < 2 && number == ""; pass++ {
		for _, c := range cands {
			if !strings.ContainsAny(c, "0123456789") || earlier(c) || d.isParam(c) {
				continue
			}
			if pass == 0 && !later(c) {
				continue // first pass: only a number the listing shows too
			}
			if pass == 1 && !labelled(last.text, c) {
				continue
			}
			number = c
			break
		}
	}
	class := profile.ClassSuccess
	if s.role == profile.RoleSubmit && d.hasRole(profile.RoleCheckout) {
		class = profile.ClassHeld
	}
	cond := d.distinctive(last)
	rule := fmt.Sprintf("{status: %d%s, class: %s", last.status, cond, class)
	if class == profile.ClassSuccess && number != "" {
		var spec string
		if last.isJSON() {
			if p, ok := jsonPathFor(last.text, number); ok {
				spec = "{json: " + yq(p) + "}"
			}
		} else if re, ok := regexFor(last.text, number); ok {
			spec = "{regex: " + yq(re) + "}"
		}
		if spec != "" {
			rule += ", reservation: " + spec
			d.say("%s: the reservation number is %q (%s)", s.name, number, spec)
		}
		d.number = number
	} else if class == profile.ClassSuccess {
		d.say("%s: no reservation number found in its answer: bookings are recorded without one (add reservation: to the success rule)", s.name)
	}
	s.rules = append(s.rules, rule+"}")
	if class == profile.ClassHeld {
		s.comments = append(s.comments, "held: the answer is a hold in the cart; the checkout steps below make the booking")
		// The last checkout step carries the number.
		d.reservationOnLast()
	}
}

// reservationOnLast is reservation() for a chain: the number is in the
// last checkout step's answer.
func (d *drafter) reservationOnLast() {
	var last *exchange
	for _, x := range d.ordered() {
		if d.steps[x].role == profile.RoleCheckout {
			last = x
		}
	}
	if last != nil {
		d.reservation(last)
	}
}

func labelled(text, v string) bool {
	i := strings.Index(text, v)
	if i < 0 {
		return false
	}
	return labelRe.MatchString(text[max(0, i-40):i])
}

// visibleText drops tags' attributes and scripts so numbers are found in
// what a person reads.
func visibleText(s string) string {
	return tagRe.ReplaceAllString(scriptRe.ReplaceAllString(s, " "), " ")
}

var (
	scriptRe = regexp.MustCompile(`(?is)<script.*?</script>|<style.*?</style>`)
	tagRe    = regexp.MustCompile(`<[^>]*>`)
)

// distinctive is a condition that tells this answer apart from the
// site's other answers: an alert's message, a heading, a JSON flag.
func (d *drafter) distinctive(x *exchange) string {
	if x.isJSON() {
		for _, k := range []string{"ok", "success", "result", "status"} {
			if v := gjson.Get(x.text, k); v.Exists() && !v.IsObject() && !v.IsArray() {
				return fmt.Sprintf(", json: {%s: %s}", k, yq(v.String()))
			}
		}
		if leaves := jsonLeaves(x.text); len(leaves) > 0 {
			return ", json_has: " + yq(leaves[0].name)
		}
		return ""
	}
	var cands []string
	for _, re := range []*regexp.Regexp{alertRe, h1Re} {
		for _, m := range re.FindAllStringSubmatch(x.text, -1) {
			cands = append(cands, html.UnescapeString(strings.TrimSpace(m[1])))
		}
	}
	for _, c := range cands {
		if c != "" && !d.inOtherAnswers(x, c) && !strings.ContainsAny(c, "{}") {
			return ", body_contains: " + yq(c)
		}
	}
	return ""
}

func (d *drafter) inOtherAnswers(x *exchange, text string) bool {
	for _, y := range d.flow {
		if y != x && y.u.Path != x.u.Path && strings.Contains(y.text, text) {
			return true
		}
	}
	return false
}

// failureText is what a failed answer says that the good one does not.
func (d *drafter) failureText(bad, good *exchange) string {
	var cands []string
	for _, m := range alertRe.FindAllStringSubmatch(bad.text, -1) {
		cands = append(cands, m[1])
	}
	for _, m := range textRe.FindAllStringSubmatch(bad.text, -1) {
		cands = append(cands, strings.TrimSpace(m[1]))
	}
	for _, c := range cands {
		c = html.UnescapeString(c)
		if len(c) < 4 || strings.ContainsAny(c, "{}") || strings.Contains(good.text, c) {
			continue
		}
		other := false
		for _, y := range d.flow {
			if y != bad && y.idx != good.idx && strings.Contains(y.text, c) {
				other = true
			}
		}
		if !other {
			return c
		}
	}
	return ""
}

// findVerify looks for a page after the booking that lists it (the
// reservation number appears in it) and makes it the verify step.
func (d *drafter) findVerify(last *exchange) {
	if d.number == "" {
		d.say("verify: none (no reservation number to look for): record a visit to the site's \"my reservations\" page after booking")
		return
	}
	for _, x := range d.flow {
		if x.idx <= last.idx || x.method != "GET" || !strings.Contains(x.text, d.number) {
			continue
		}
		d.addStep(x, profile.RoleVerify, profile.StepVerify, "it lists the reservation just made")
		d.say("verify: %s %s lists the reservation", x.method, x.u.Path)
		return
	}
	d.say("verify: none (no page after the booking shows %q): record a visit to the site's \"my reservations\" page", d.number)
}

// finishVerify writes verify's rules once every extraction is known (the
// list shows values the pages handed out, such as a slot's number).
func (d *drafter) finishVerify() {
	for _, x := range d.ordered() {
		s := d.steps[x]
		if s.role != profile.RoleVerify {
			continue
		}
		success, retry := d.verifyRules(x)
		if success == "" {
			d.say("verify: %s %s lists the number, but no rule for this booking's slot could be built: write its success rule", x.method, x.u.Path)
			s.comments = append(s.comments, "TODO: a success rule that finds this booking's slot in the list")
		} else {
			s.rules = append(s.rules, success)
		}
		if retry != "" {
			s.rules = append(s.rules, retry)
		}
	}
}

// verifyRules builds verify's success rule (this booking's entry, the
// number extracted) and its retry rule (the list without it).
func (d *drafter) verifyRules(x *exchange) (success, retry string) {
	if x.isJSON() {
		// The object holding the number: its other fields that are the
		// booking's values (templated) or short literals (a status) pick it.
		var numPath string
		for _, l := range jsonLeaves(x.text) {
			if l.value == d.number {
				numPath = l.name
				break
			}
		}
		i := strings.LastIndex(numPath, ".")
		if i < 0 {
			return "", ""
		}
		objPath, numKey := numPath[:i], numPath[i+1:]
		j := strings.LastIndex(objPath, ".")
		if j < 0 {
			return "", ""
		}
		listPath := objPath[:j]
		var conds []string
		gjson.Get(x.text, objPath).ForEach(func(k, v gjson.Result) bool {
			key := escapePath(k.String())
			if key == numKey || v.IsObject() || v.IsArray() {
				return true
			}
			t, used, _ := parametrize(v.String(), key, d.params)
			lit := v.Raw
			switch {
			case len(used) > 0 && v.Type == gjson.Number:
				conds = append(conds, fmt.Sprintf("#(%s==%s)", key, t))
			case len(used) > 0:
				conds = append(conds, fmt.Sprintf(`#(%s==%s)`, key, `"`+t+`"`))
			case v.Type == gjson.String && len(v.String()) <= 16 && !looksVolatile(v.String()) && !strings.ContainsAny(v.String(), "0123456789"):
				conds = append(conds, fmt.Sprintf("#(%s==%s)", key, lit))
			}
			return true
		})
		if len(conds) == 0 {
			return "", ""
		}
		q := listPath + "." + strings.Join(conds, "#|") + "." + numKey
		if len(conds) > 1 {
			q = listPath + "." + strings.Join(conds[:len(conds)-1], "#|") + "#|" + conds[len(conds)-1] + "." + numKey
		}
		success = fmt.Sprintf("{status: %d, json_has: %s, class: success, reservation: {json: %s}}", x.status, yq(q), yq(q))
		retry = fmt.Sprintf("{status: %d, json_has: %s, class: retry}", x.status, yq(listPath))
		return success, retry
	}
	// HTML: the row (or line) holding the number, the booking's values in
	// it templated, the number captured.
	i := strings.Index(x.text, d.number)
	start := strings.LastIndex(x.text[:i], "<tr")
	end := strings.Index(x.text[i:], "</tr>")
	if start < 0 || end < 0 {
		start, end = max(0, strings.LastIndex(x.text[:i], "\n")+1), strings.IndexByte(x.text[i:], '\n')
		if end < 0 {
			end = len(x.text) - i
		}
	}
	row := x.text[i : i+end] // from the number to the row's end
	rest := row[len(d.number):]
	// Keep up to the last booking value in the row.
	src := regexp.QuoteMeta(rest)
	lastUse := -1
	for _, p := range d.params {
		if p.short && p.field != "court" {
			continue
		}
		q := regexp.QuoteMeta(p.lit)
		re := regexp.MustCompile(`(^|[^0-9A-Za-z])` + regexp.QuoteMeta(q) + `($|[^0-9A-Za-z])`)
		for _, loc := range re.FindAllStringIndex(src, -1) {
			lastUse = max(lastUse, loc[1])
		}
		src = re.ReplaceAllString(src, "${1}{{ quotemeta ("+p.tmpl+") }}${2}")
	}
	for _, v := range sortedKeys(d.extracted) {
		re := regexp.MustCompile(`(^|[^0-9A-Za-z])` + regexp.QuoteMeta(regexp.QuoteMeta(v)) + `($|[^0-9A-Za-z])`)
		for _, loc := range re.FindAllStringIndex(src, -1) {
			lastUse = max(lastUse, loc[1])
		}
		src = re.ReplaceAllString(src, "${1}{{ quotemeta .X."+d.extracted[v]+" }}${2}")
	}
	if lastUse < 0 || !strings.Contains(src, "{{") {
		return "", ""
	}
	// Cut after the last template.
	k := strings.LastIndex(src, "}}")
	src = src[:k+2]
	numClass := `[A-Za-z0-9_-]+`
	success = fmt.Sprintf("{status: %d, body_regex: %s, class: success}", x.status, yq("("+numClass+")"+src))
	head := d.distinctive(x)
	if head == "" {
		head = fmt.Sprintf(", body_contains: %s", yq(firstText(x.text)))
	}
	retry = fmt.Sprintf("{status: %d%s, class: retry}", x.status, head)
	_ = start
	return success, retry
}

func firstText(s string) string {
	if m := h1Re.FindStringSubmatch(s); m != nil {
		return strings.TrimSpace(m[1])
	}
	if m := textRe.FindStringSubmatch(s); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}
