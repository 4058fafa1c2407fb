package profile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"golang.org/x/text/encoding"

	"github.com/andybalholm/cascadia"
	"golang.org/x/text/encoding/htmlindex"
	"gopkg.in/yaml.v3"
)

// The keys of steps: single steps by name, and the two lists.
const (
	keyPages    = "pages"
	keyCheckout = "checkout"
)

var stepsKeys = []string{StepProbe, StepPrelogin, StepLogin, StepTrace, keyPages, StepSubmit, keyCheckout, StepVerify}

// stepBuild is what loading one step collects besides the Step itself.
type stepBuild struct {
	s          *Step
	node       *yaml.Node
	classNodes map[Class][]*yaml.Node // where each class is given, for cross-step checks
}

// steps reads the steps mapping n, whose key is at key.
func (l *loader) steps(key, n *yaml.Node, p *Profile) {
	es := l.mapping(n, "steps", stepsKeys)
	if es == nil {
		return
	}
	m := byKey(es)
	builds := map[*Step]*stepBuild{}
	one := func(e entry, role Role) *Step {
		sb := l.step(e.v, e.key, role)
		builds[sb.s] = sb
		return sb.s
	}
	names := map[string]*yaml.Node{}
	for _, e := range es {
		switch e.key {
		case StepProbe:
			p.Probe = one(e, RoleProbe)
		case StepPrelogin:
			p.Prelogin = one(e, RolePrelogin)
		case StepLogin:
			p.Login = one(e, RoleLogin)
		case StepTrace:
			p.Pages = []*Step{one(e, RolePage)}
			if m[keyPages] != nil {
				l.add(e.k, "steps: give trace (one page) or pages (a list), not both")
			}
		case StepSubmit:
			p.Submit = one(e, RoleSubmit)
		case StepVerify:
			p.Verify = one(e, RoleVerify)
		case keyPages, keyCheckout:
			role := RolePage
			if e.key == keyCheckout {
				role = RoleCheckout
			}
			list := l.stepList(e.v, e.key, role, names, builds)
			if e.key == keyPages {
				if m[StepTrace] == nil {
					p.Pages = list
				}
			} else {
				p.Checkout = list
			}
		}
	}
	if m[StepSubmit] == nil {
		l.add(n, "steps: submit is required")
	}
	if p.Prelogin != nil && p.Login == nil {
		l.add(keyNode(es, StepPrelogin), "steps: prelogin without login: a guest site's first visit is its first page")
	}
	l.checkFlow(key, es, p, builds)
	if p.Probe == nil {
		p.Probe = &Step{Name: StepProbe, Role: RoleProbe, Method: http.MethodGet,
			Path: template.Must(template.New("probe.path").Parse("/"))}
	}
}

// stepList reads pages: or checkout:, a list of steps each with a name.
func (l *loader) stepList(n *yaml.Node, key string, role Role, names map[string]*yaml.Node, builds map[*Step]*stepBuild) []*Step {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		l.add(n, "steps.%s must be a non-empty list of steps, each with a name", key)
		return nil
	}
	var out []*Step
	for i, item := range n.Content {
		var name string
		var nameNode *yaml.Node
		if item.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(item.Content); j += 2 {
				if item.Content[j].Value == "name" {
					nameNode = item.Content[j+1]
				}
			}
		}
		switch {
		case nameNode == nil:
			l.add(item, "steps.%s[%d]: name is required", key, i)
			name = fmt.Sprintf("%s%d", key, i+1)
		default:
			name, _ = l.str(nameNode, "name")
			switch {
			case !identRe.MatchString(name):
				l.add(nameNode, "steps.%s[%d]: name %q must be an identifier (letters, digits, _)", key, i, name)
			case slices.Contains(stepsKeys, name):
				l.add(nameNode, "steps.%s[%d]: name %q is the name of another kind of step", key, i, name)
			case names[name] != nil:
				l.add(nameNode, "steps.%s[%d]: name %q is already used at line %d", key, i, name, names[name].Line)
			}
			names[name] = nameNode
		}
		sb := l.step(item, name, role)
		builds[sb.s] = sb
		out = append(out, sb.s)
	}
	return out
}

// checkFlow checks what one step cannot see alone: the classes that need
// another step (held needs checkout, conflict needs verify), and what a
// missing verify step costs.
func (l *loader) checkFlow(key *yaml.Node, es []entry, p *Profile, builds map[*Step]*stepBuild) {
	var submit, verify *stepBuild
	if p.Submit != nil {
		submit = builds[p.Submit]
	}
	if p.Verify != nil {
		verify = builds[p.Verify]
	}
	if submit != nil {
		for _, v := range submit.classNodes[ClassHeld] {
			if len(p.Checkout) == 0 {
				l.add(v, "submit: class held needs checkout steps that turn the hold into a booking")
			}
		}
		for _, v := range submit.classNodes[ClassConflict] {
			if p.Verify == nil {
				l.add(v, "submit: class conflict needs a verify step: only verify can tell whether the slot was taken by this account")
			}
		}
		if len(p.Checkout) > 0 && len(submit.classNodes[ClassHeld]) == 0 {
			l.add(keyNode(es, keyCheckout), "steps: checkout runs after a held submit, but no submit rule gives class held")
		}
	}
	if verify != nil && len(p.Checkout) == 0 {
		for _, v := range verify.classNodes[ClassHeld] {
			l.add(v, "verify: class held needs checkout steps")
		}
	}
	if n := len(p.Checkout); n > 0 {
		last := p.Checkout[n-1]
		if !slices.ContainsFunc(last.Rules, func(r Rule) bool { return r.Class == ClassSuccess && r.Reservation != nil }) &&
			!slices.ContainsFunc(last.Rules, func(r Rule) bool { return r.Class == ClassSuccess && r.firstGroupRegex() }) {
			l.warn(builds[last].node, "checkout: the last step %s has no success rule with a reservation: bookings made by it are recorded without a number", last.Name)
		}
	}
	verifyKey := keyNode(es, StepVerify)
	switch {
	case p.Verify == nil:
		l.warn(key, "steps: no verify step: a submit whose answer is unknown or ambiguous (a timeout, a 5xx, "+
			"an unrecognised page, already_mine) cannot be checked, so the booking ends for operator review "+
			"instead of being verified and, if not booked, submitted again")
	case len(p.Verify.Rules) == 0:
		l.warn(verifyKey, "verify: no classify rules: every 2xx or 3xx answer counts as booked; "+
			"add a success rule that finds this booking's slot and a retry rule for the list without it")
	default:
		if !hasClass(p.Verify.Rules, ClassSuccess) {
			l.warn(verifyKey, "verify: no success rule: verify can never confirm a booking, "+
				"so an unknown or ambiguous submit always ends for operator review")
		}
		if !hasClass(p.Verify.Rules, ClassRetry) {
			l.warn(verifyKey, "verify: no retry rule: verify can never say the booking is not there, "+
				"so after an unknown or ambiguous submit no new submit is sent")
		}
	}
}

// firstGroupRegex reports whether a success rule takes its number from a
// body_regex capture group.
func (r *Rule) firstGroupRegex() bool {
	for _, c := range r.Conds {
		if c.Key == "body_regex" {
			for _, t := range c.Any {
				if t.Tmpl != nil || (t.Re != nil && t.Re.NumSubexp() > 0) {
					return true
				}
			}
		}
	}
	return false
}

func hasClass(rules []Rule, c Class) bool {
	return slices.ContainsFunc(rules, func(r Rule) bool { return r.Class == c })
}

var stepKeys = []string{"name", "description", "method", "path", "headers", "form", "multipart", "json", "body",
	"content_type", "charset", "follow_redirects", "extract", "message", "classify", "every_submit"}

var sensitiveRe = regexp.MustCompile(`(?i)pass|pw|token|secret|csrf`)

// Sensitive reports whether a form field or extraction called name holds a
// credential or token by its name (pass, pw, token, secret, csrf), so that
// its value is masked wherever it is shown.
func Sensitive(name string) bool { return sensitiveRe.MatchString(name) }

func (l *loader) step(n *yaml.Node, name string, role Role) *stepBuild {
	s := &Step{Name: name, Role: role, Method: http.MethodGet}
	sb := &stepBuild{s: s, node: n, classNodes: map[Class][]*yaml.Node{}}
	es := l.mapping(n, "steps."+name, stepKeys)
	if es == nil {
		return sb // not a mapping: said once, no follow-on problems
	}
	m := byKey(es)
	if v := m["name"]; v != nil && role != RolePage && role != RoleCheckout {
		l.add(keyNode(es, "name"), "%s: name belongs to the steps of pages and checkout", name)
	}
	// The charset first: it decides how templates escape.
	if v := m["charset"]; v != nil {
		if cs, ok := l.str(v, name+".charset"); ok {
			enc, err := htmlindex.Get(cs)
			if err != nil {
				l.add(v, "%s: unknown charset %q", name, cs)
			} else {
				s.Encoding = enc
				s.Charset, _ = htmlindex.Name(enc)
				if l.stepFM == nil {
					l.stepFM = map[*Step]template.FuncMap{}
				}
				l.stepFM[s] = funcMap(l.loc, encodingOrNil(s.Charset, enc))
			}
		}
	}
	if v := m["method"]; v != nil {
		if x, ok := l.str(v, name+".method"); ok {
			x = strings.ToUpper(x)
			switch x {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead:
				s.Method = x
			default:
				l.add(v, "%s: unsupported method %q", name, x)
				s.Method = "" // do not also complain about a form on GET
			}
		}
	}
	if v := m["path"]; v == nil {
		l.add(n, "%s: path is required", name)
	} else {
		// A path that is all template (a URL the site handed out) is
		// checked when it is rendered.
		if src, _ := l.str(v, name+".path"); !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "{{") {
			l.add(v, "%s: path must start with \"/\" (it is appended to base_url)", name)
		}
		s.Path = l.template(v, name+".path", s)
	}
	if v := m["headers"]; v != nil {
		s.Headers = l.headers(v, name+".headers", s)
	}
	l.body(m, es, sb)
	if v := m["follow_redirects"]; v != nil {
		s.FollowRedirects = l.boolean(v, name+".follow_redirects")
	}
	if v := m["every_submit"]; v != nil {
		s.EverySubmit = l.boolean(v, name+".every_submit")
		if role != RolePage {
			l.add(v, "%s: every_submit only applies to a page visited before the submit (trace or pages)", name)
		}
	}
	if v := m["extract"]; v != nil {
		for _, e := range l.mapping(v, name+".extract", nil) {
			if !identRe.MatchString(e.key) {
				l.add(e.k, "%s: extraction name %q must be an identifier (letters, digits, _)", name, e.key)
				continue
			}
			if x := l.extraction(e.v, name+".extract."+e.key, sb); x != nil {
				x.Name = e.key
				s.Extract = append(s.Extract, *x)
			}
		}
	}
	if v := m["message"]; v != nil {
		s.MessageAt = l.message(v, name+".message", sb)
	}
	if v := m["classify"]; v != nil {
		s.Rules = l.rules(v, sb)
	} else if role == RoleSubmit {
		l.add(n, "submit: classify rules are required")
	}
	return sb
}

// body reads the one body a step may carry: form, multipart, json or a
// raw body with content_type.
func (l *loader) body(m map[string]*yaml.Node, es []entry, sb *stepBuild) {
	s, name := sb.s, sb.s.Name
	var given []string // in the order written, so a second body is the one flagged
	for _, e := range es {
		if slices.Contains([]string{"form", "multipart", "json", "body"}, e.key) {
			given = append(given, e.key)
		}
	}
	if len(given) > 1 {
		l.add(keyNode(es, given[1]), "%s: give one body (%s), not %s", name, strings.Join(given, " or "), strings.Join(given, " and "))
	}
	if len(given) > 0 && (s.Method == http.MethodGet || s.Method == http.MethodHead) {
		// A GET cannot carry a body; put the values in the path.
		l.add(m[given[0]], "%s: %s needs a method with a body (POST, PUT, PATCH)", name, given[0])
	}
	for _, k := range []string{"form", "multipart"} {
		v := m[k]
		if v == nil {
			continue
		}
		s.Multipart = k == "multipart"
		for _, e := range l.mapping(v, name+"."+k, nil) {
			if strings.Contains(e.key, "{{") {
				l.add(e.k, "%s.%s: field names are sent as written; %q is not rendered (put the template in the value)", name, k, e.key)
				continue
			}
			if t := l.template(e.v, name+"."+k+"."+e.key, s); t != nil {
				s.Form = append(s.Form, FormField{Name: e.key, Value: t, Sensitive: sensitiveRe.MatchString(e.key)})
			}
		}
	}
	if v := m["json"]; v != nil {
		s.JSON = l.jsonValue(v, name+".json", "", s)
	}
	if v := m["body"]; v != nil {
		s.Body = l.template(v, name+".body", s)
		if m["content_type"] == nil {
			l.add(v, "%s: body needs content_type", name)
		}
	}
	if v := m["content_type"]; v != nil {
		s.ContentType, _ = l.str(v, name+".content_type")
		if strings.Contains(s.ContentType, "{{") {
			l.add(v, "%s.content_type is not a template position: %q would be sent as written", name, "{{")
		}
		if m["multipart"] != nil {
			l.add(v, "%s: multipart sets its own content_type (with the boundary)", name)
		}
	}
}

// jsonValue reads a json: body. Mappings are objects (keys in order),
// sequences arrays; a string leaf is a template; !number and !bool leaves
// are templates that must render a number or a bool; other YAML scalars
// (numbers, true/false, null) are sent as written.
func (l *loader) jsonValue(n *yaml.Node, what, key string, s *Step) *JSONValue {
	switch n.Kind {
	case yaml.MappingNode:
		v := &JSONValue{Kind: JSONObject}
		for _, e := range l.mapping(n, what, nil) {
			if strings.Contains(e.key, "{{") {
				l.add(e.k, "%s: object keys are sent as written; %q is not rendered", what, e.key)
				continue
			}
			if item := l.jsonValue(e.v, what+"."+e.key, e.key, s); item != nil {
				v.Keys = append(v.Keys, e.key)
				v.Items = append(v.Items, item)
			}
		}
		return v
	case yaml.SequenceNode:
		v := &JSONValue{Kind: JSONArray}
		for i, x := range n.Content {
			if item := l.jsonValue(resolve(x), fmt.Sprintf("%s[%d]", what, i), key, s); item != nil {
				v.Items = append(v.Items, item)
			}
		}
		return v
	case yaml.ScalarNode:
		switch n.Tag {
		case "!number", "!bool":
			kind := JSONNumber
			if n.Tag == "!bool" {
				kind = JSONBool
			}
			return &JSONValue{Kind: kind, Value: l.template(n, what, s)}
		case "!!int", "!!float", "!!bool", "!!null":
			var x any
			if err := n.Decode(&x); err != nil {
				l.add(n, "%s: %v", what, err)
				return nil
			}
			raw, err := jsonLiteral(x)
			if err != nil {
				l.add(n, "%s: %v", what, err)
				return nil
			}
			return &JSONValue{Kind: JSONRaw, Raw: raw}
		case "!!str", "!", "!!timestamp": // a YAML date is the text written
			return &JSONValue{Kind: JSONString, Value: l.template(n, what, s), Sensitive: key != "" && sensitiveRe.MatchString(key)}
		default:
			l.add(n, "%s: unknown tag %s (use !number or !bool for a templated number or bool)", what, n.Tag)
			return nil
		}
	}
	l.add(n, "%s: not a JSON value", what)
	return nil
}

func (l *loader) extraction(n *yaml.Node, what string, sb *stepBuild) *Extraction {
	m := byKey(l.mapping(n, what, []string{"regex", "from", "css", "attr", "json"}))
	if m == nil {
		return nil
	}
	x := &Extraction{From: FromBody}
	var given []string
	for _, k := range []string{"regex", "css", "json"} {
		if m[k] != nil {
			given = append(given, k)
		}
	}
	if len(given) > 1 {
		l.add(n, "%s: give one of regex, css or json, not %s", what, strings.Join(given, " and "))
		return nil
	}
	switch {
	case m["regex"] != nil:
		if src, _ := l.str(m["regex"], what+".regex"); strings.Contains(src, "{{") {
			// A templated regex, rendered per request: the option whose
			// label is this booking's time, the row of this booking's slot.
			x.RegexT = l.text(m["regex"], what+".regex", sb, condSpec{templates: true, regex: true}, true)
			if x.RegexT == nil {
				return nil
			}
		} else if x.Regex = l.regex(m["regex"], what+".regex"); x.Regex != nil && x.Regex.NumSubexp() < 1 {
			l.add(m["regex"], "%s: regex needs a capture group (the value)", what)
		}
		if v := m["from"]; v != nil {
			s, _ := l.str(v, what+".from")
			switch {
			case s == FromBody, s == FromLocation:
				x.From = s
			case strings.HasPrefix(s, "header:") && validHeaderName(strings.TrimPrefix(s, "header:")):
				x.From, x.Header = FromHeader, strings.TrimPrefix(s, "header:")
			default:
				l.add(v, "%s: from must be body, location or header:NAME, got %q", what, s)
			}
		}
		if m["attr"] != nil {
			l.add(m["attr"], "%s: attr goes with css", what)
		}
	case m["css"] != nil:
		s, _ := l.str(m["css"], what+".css")
		if strings.Contains(s, "{{") {
			l.add(m["css"], "%s.css is not a template position: %q would be matched literally", what, "{{")
			return nil
		}
		sel, err := cascadia.Compile(s)
		if err != nil {
			l.add(m["css"], "%s: bad CSS selector: %v", what, err)
		}
		x.CSS, x.sel = s, sel
		x.Attr = "text"
		if v := m["attr"]; v != nil {
			if a, _ := l.str(v, what+".attr"); a != "" {
				x.Attr = a
			}
		}
		if m["from"] != nil {
			l.add(m["from"], "%s: css extractions read the body; from goes with regex", what)
		}
	case m["json"] != nil:
		x.JSON = l.text(m["json"], what+".json", sb, condSpec{templates: true}, true)
		for _, k := range []string{"from", "attr"} {
			if m[k] != nil {
				l.add(m[k], "%s: json extractions read the body; %s goes with regex or css", what, k)
			}
		}
	default:
		l.add(n, "%s: give regex, css or json", what)
		return nil
	}
	return x
}

func encodingOrNil(charset string, enc encoding.Encoding) encoding.Encoding {
	if charset == DefaultCharset {
		return nil
	}
	return enc
}

// jsonLiteral is the JSON text of a YAML number, bool or null.
func jsonLiteral(x any) (string, error) {
	b, err := json.Marshal(x)
	if err != nil {
		return "", fmt.Errorf("cannot be sent as JSON: %w", err)
	}
	return string(b), nil
}
