package profile_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// lang is a small valid profile written in the whole step language: a
// prelogin, a login, two pages (the second visited before every submit), a
// JSON submit that holds the slot, a checkout step and a verify step. The
// rows of TestLoadLangErrors break it one construct at a time; their line
// numbers are the lines of this text (TestLangBase pins a few).
//
//	 1 name            17 pages          33 extract        49 verify
//	 3 headers         18 - name: list   35 classify       51 classify[0]
//	 6 prelogin        22 - name: form   36 held rule      52 classify[1]
//	10 login           27 submit         39 checkout
//	13 form            30 json           40 - name: confirm
const lang = `name: lang
base_url: http://127.0.0.1:9000
headers:
  Accept-Language: ko-KR
steps:
  prelogin:
    path: /login
    extract:
      login_token: {regex: 'name="_token" value="([^"]+)"'}
  login:
    method: POST
    path: /login
    form:
      _token: "{{ .X.login_token }}"
      id: "{{ .Account.Username }}"
      pw: "{{ .Account.Password }}"
  pages:
    - name: list
      path: /list
      extract:
        list_id: {json: list.id}
    - name: form
      path: /form?list={{ .X.list_id }}&court={{ .Booking.Court }}
      every_submit: true
      extract:
        token: {css: 'input[name=tok]', attr: value}
  submit:
    method: POST
    path: /api/cart
    json:
      token: "{{ .X.token }}"
      court: !number "{{ .Booking.Court }}"
    extract:
      hold_id: {json: hold.id}
    classify:
      - {status: 201, json: {ok: "true"}, class: held}
      - {status: 409, class: conflict}
      - {status: 422, body_contains: [notice, 예약 기간], class: not_open}
  checkout:
    - name: confirm
      method: POST
      path: /api/checkout
      form:
        hold: "{{ .X.hold_id }}"
      classify:
        - {status: 200, class: success, reservation: {json: order.code}}
        - {status: 410, class: retry}
  verify:
    path: /api/mine
    classify:
      - {status: 200, body_contains: "{{ .Booking.Court }}", class: success}
      - {status: 200, class: retry}
`

// langWith applies edits to lang: pairs of a text that must occur exactly
// once and its replacement.
func langWith(t testing.TB, edits ...string) string {
	t.Helper()
	require.Zero(t, len(edits)%2, "edits come in pairs")
	src := lang
	for i := 0; i < len(edits); i += 2 {
		require.Equal(t, 1, strings.Count(src, edits[i]), "edit %d: %q must occur once", i/2, edits[i])
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	return src
}

// Blocks of lang that rows remove whole.
const (
	langLogin = `  login:
    method: POST
    path: /login
    form:
      _token: "{{ .X.login_token }}"
      id: "{{ .Account.Username }}"
      pw: "{{ .Account.Password }}"
`
	langPages = `  pages:
    - name: list
      path: /list
      extract:
        list_id: {json: list.id}
    - name: form
      path: /form?list={{ .X.list_id }}&court={{ .Booking.Court }}
      every_submit: true
      extract:
        token: {css: 'input[name=tok]', attr: value}
`
	langCheckout = `  checkout:
    - name: confirm
      method: POST
      path: /api/checkout
      form:
        hold: "{{ .X.hold_id }}"
      classify:
        - {status: 200, class: success, reservation: {json: order.code}}
        - {status: 410, class: retry}
`
	langVerify = `  verify:
    path: /api/mine
    classify:
      - {status: 200, body_contains: "{{ .Booking.Court }}", class: success}
      - {status: 200, class: retry}
`
	langRuleHeld     = `      - {status: 201, json: {ok: "true"}, class: held}`
	langRuleConflict = `      - {status: 409, class: conflict}`
	langRuleNotOpen  = `      - {status: 422, body_contains: [notice, 예약 기간], class: not_open}`
	langConfirmOK    = `        - {status: 200, class: success, reservation: {json: order.code}}`
	langVerifyOK     = `      - {status: 200, body_contains: "{{ .Booking.Court }}", class: success}`
	langHoldID       = `      hold_id: {json: hold.id}`
)

// The lists of classes each role may give, as the load errors name them.
const (
	baseClasses   = "success, not_open, sold_out, already_mine, session_expired, blocked, retry, fatal"
	pageClasses   = baseClasses + ", invalid"
	verifyClasses = baseClasses + ", held"
	submitClasses = baseClasses + ", conflict, held, invalid, limit_reached"
)

func TestLangBase(t *testing.T) {
	t.Parallel()
	p, err := profile.Parse("l.yaml", []byte(lang))
	require.NoError(t, err)
	require.Empty(t, p.Warnings)
	require.Equal(t, profile.RolePrelogin, p.Prelogin.Role)
	require.Equal(t, profile.RoleLogin, p.Login.Role)
	require.Len(t, p.Pages, 2)
	require.Equal(t, "list", p.Pages[0].Name)
	require.Equal(t, "form", p.Pages[1].Name)
	require.False(t, p.Pages[0].EverySubmit)
	require.True(t, p.Pages[1].EverySubmit)
	require.True(t, p.EverySubmitPages())
	require.Len(t, p.Checkout, 1)
	require.Equal(t, profile.RoleCheckout, p.Checkout[0].Role)
	require.Same(t, p.Checkout[0], p.Step("confirm"))
	require.Same(t, p.Pages[1], p.Step("form"))
	// The line numbers the rows below are written against.
	require.Equal(t, 36, p.Submit.Rules[0].Line)
	require.Equal(t, 46, p.Checkout[0].Rules[0].Line)
	require.Equal(t, 52, p.Verify.Rules[1].Line)
	var names []string
	for _, s := range p.Steps() {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"prelogin", "login", "list", "form", "submit", "confirm", "verify", "probe"}, names)
}

// TestLoadLangErrors: every check of the step language, each problem with
// its line. want lists "LINE: the start of the message", one per problem
// the row must produce, and no others.
func TestLoadLangErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edits []string
		want  []string
	}{
		// The steps mapping.
		{"unknown step", []string{"  submit:\n", "  dance: {path: /}\n  submit:\n"},
			[]string{`27: steps: unknown key "dance" (allowed: probe, prelogin, login, trace, pages, submit, checkout, verify)`}},
		{"trace and pages", []string{"  pages:\n", "  trace: {path: /t}\n  pages:\n", "/form?list={{ .X.list_id }}&court=", "/form?court=", "token: \"{{ .X.token }}\"", "token: t"},
			[]string{"17: steps: give trace (one page) or pages (a list), not both"}},
		{"no submit", []string{"  submit:\n    method: POST\n    path: /api/cart\n", "  cart:\n    method: POST\n    path: /api/cart\n", langCheckout, ""},
			[]string{`6: steps: submit is required`, `27: steps: unknown key "cart"`}},
		{"prelogin without login", []string{langLogin, ""},
			[]string{"6: steps: prelogin without login: a guest site's first visit is its first page"}},

		// The lists of pages and checkout steps.
		{"pages empty", []string{langPages, "  pages: []\n", `token: "{{ .X.token }}"`, "token: t"},
			[]string{"17: steps.pages must be a non-empty list of steps, each with a name"}},
		{"pages a mapping", []string{langPages, "  pages: {list: {path: /list}}\n", `token: "{{ .X.token }}"`, "token: t"},
			[]string{"17: steps.pages must be a non-empty list of steps, each with a name"}},
		{"pages item without a name", []string{"    - name: list\n      path: /list\n", "    - path: /list\n"},
			[]string{"18: steps.pages[0]: name is required"}},
		{"page name not an identifier", []string{"name: list", "name: my-list"},
			[]string{`18: steps.pages[0]: name "my-list" must be an identifier (letters, digits, _)`}},
		{"page named like a step", []string{"name: form", "name: submit"},
			[]string{`22: steps.pages[1]: name "submit" is the name of another kind of step`}},
		{"checkout step named like a list", []string{"name: confirm", "name: pages"},
			[]string{`40: steps.checkout[0]: name "pages" is the name of another kind of step`}},
		{"page name twice", []string{"name: form", "name: list"},
			[]string{`22: steps.pages[1]: name "list" is already used at line 18`}},
		{"a checkout step named like a page", []string{"name: confirm", "name: list"},
			[]string{`40: steps.checkout[0]: name "list" is already used at line 18`}},
		{"checkout not a list", []string{langCheckout, "  checkout: {confirm: {path: /c}}\n"},
			[]string{"39: steps.checkout must be a non-empty list of steps, each with a name",
				"36: submit: class held needs checkout steps"}}, // so there are none

		// Keys of one step.
		{"unknown step key", []string{"    path: /api/cart\n", "    path: /api/cart\n    colour: red\n"},
			[]string{`30: steps.submit: unknown key "colour" (allowed: name, description, method, path,`}},
		{"unknown key of a page", []string{"      path: /list\n", "      path: /list\n      colour: red\n"},
			[]string{`20: steps.list: unknown key "colour"`}},
		{"name on submit", []string{"    path: /api/cart\n", "    path: /api/cart\n    name: cart\n"},
			[]string{"30: submit: name belongs to the steps of pages and checkout"}},
		{"name on login", []string{"    path: /login\n    form:", "    path: /login\n    name: signin\n    form:"},
			[]string{"13: login: name belongs to the steps of pages and checkout"}},
		{"name on verify", []string{"    path: /api/mine\n", "    path: /api/mine\n    name: mine\n"},
			[]string{"50: verify: name belongs to the steps of pages and checkout"}},
		{"path missing on a page", []string{"      path: /list\n", ""},
			[]string{"18: list: path is required"}},
		{"path not absolute", []string{"      path: /list\n", "      path: list\n"},
			[]string{`19: list: path must start with "/" (it is appended to base_url)`}},
		{"unknown step charset", []string{"      path: /list\n", "      path: /list\n      charset: klingon\n"},
			[]string{`20: list: unknown charset "klingon"`}},
		{"bad method", []string{"      method: POST\n      path: /api/checkout", "      method: SEND\n      path: /api/checkout"},
			[]string{`41: confirm: unsupported method "SEND"`}}, // and not also "form needs a method with a body"
		{"every_submit on a checkout step", []string{"      path: /api/checkout\n", "      path: /api/checkout\n      every_submit: true\n"},
			[]string{"43: confirm: every_submit only applies to a page visited before the submit (trace or pages)"}},
		{"every_submit on the login", []string{"    path: /login\n    form:", "    path: /login\n    every_submit: true\n    form:"},
			[]string{"13: login: every_submit only applies to a page visited before the submit"}},
		{"every_submit on verify", []string{"    path: /api/mine\n", "    path: /api/mine\n    every_submit: false\n"},
			[]string{"50: verify: every_submit only applies to a page visited before the submit"}},
		{"every_submit not a bool", []string{"every_submit: true", "every_submit: often"},
			[]string{"24: form.every_submit must be true or false"}},
		{"follow_redirects not a bool", []string{"      path: /list\n", "      path: /list\n      follow_redirects: [yes]\n"},
			[]string{"20: list.follow_redirects must be true or false"}},
		{"extraction name not an identifier", []string{langHoldID, "      hold-id: {json: hold.id}", "{{ .X.hold_id }}", "h"},
			[]string{`34: submit: extraction name "hold-id" must be an identifier (letters, digits, _)`}},
		{"submit without classify", []string{"    classify:\n      - {status: 201", "    rules:\n      - {status: 201"},
			[]string{`35: steps.submit: unknown key "rules"`, "28: submit: classify rules are required",
				"39: steps: checkout runs after a held submit, but no submit rule gives class held"}},

		// Bodies.
		{"two bodies", []string{"    json:\n      token:", "    form: {a: b}\n    json:\n      token:"},
			[]string{"31: submit: give one body (form or json), not form and json"}},
		{"three bodies", []string{"    json:\n      token:", "    form: {a: b}\n    json:\n      token:", "    extract:\n      hold_id", "    body: x\n    content_type: text/plain\n    extract:\n      hold_id"},
			[]string{"31: submit: give one body (form or json or body), not form and json and body"}},
		{"multipart and form", []string{"        hold: \"{{ .X.hold_id }}\"\n", "        hold: \"{{ .X.hold_id }}\"\n      multipart: {a: b}\n"},
			[]string{"45: confirm: give one body (form or multipart), not form and multipart"}},
		{"form on a GET page", []string{"      path: /list\n", "      path: /list\n      form: {a: b}\n"},
			[]string{"20: list: form needs a method with a body (POST, PUT, PATCH)"}},
		{"json on GET verify", []string{"    path: /api/mine\n", "    path: /api/mine\n    json: {a: b}\n"},
			[]string{"50: verify: json needs a method with a body (POST, PUT, PATCH)"}},
		{"multipart on HEAD", []string{"      path: /list\n", "      path: /list\n      method: HEAD\n      multipart:\n        a: b\n"},
			[]string{"22: list: multipart needs a method with a body"}},
		{"raw body on GET", []string{"      path: /list\n", "      path: /list\n      body: x\n      content_type: text/plain\n"},
			[]string{"20: list: body needs a method with a body"}},
		{"body without content_type", []string{"      form:\n        hold: \"{{ .X.hold_id }}\"\n", "      body: '{{ .X.hold_id }}'\n"},
			[]string{"43: confirm: body needs content_type"}},
		{"multipart with content_type", []string{"      form:\n        hold:", "      content_type: multipart/form-data\n      multipart:\n        hold:"},
			[]string{"43: confirm: multipart sets its own content_type (with the boundary)"}},
		{"a template in a form field name", []string{"        hold: \"{{ .X.hold_id }}\"\n", "        hold: \"{{ .X.hold_id }}\"\n        \"f_{{ .X.hold_id }}\": x\n"},
			[]string{`45: confirm.form: field names are sent as written; "f_{{ .X.hold_id }}" is not rendered (put the template in the value)`}},
		{"a template in a multipart field name", []string{"      form:\n        hold: \"{{ .X.hold_id }}\"\n", "      multipart:\n        \"{{ .X.hold_id }}\": x\n"},
			[]string{`44: confirm.multipart: field names are sent as written; "{{ .X.hold_id }}" is not rendered`}},
		{"unknown tag in json", []string{`court: !number`, `court: !int`},
			[]string{"32: submit.json.court: unknown tag !int (use !number or !bool for a templated number or bool)"}},
		{"a template in a json key", []string{"      court: !number", "      \"{{ .X.token }}\": x\n      court: !number"},
			[]string{`32: submit.json: object keys are sent as written; "{{ .X.token }}" is not rendered`}},
		{"a template in a nested json key", []string{"      court: !number", "      who:\n        \"n{{ .X.token }}\": x\n      court: !number"},
			[]string{`33: submit.json.who: object keys are sent as written; "n{{ .X.token }}" is not rendered`}},
		{"a bad template in json", []string{`court: !number "{{ .Booking.Court }}"`, `court: !number "{{ .Booking.Court "`},
			[]string{"32: submit.json.court: bad template:"}},
		{"a bad template in a json array", []string{`court: !number "{{ .Booking.Court }}"`, "court: [a, \"{{ end }}\"]"},
			[]string{"32: submit.json.court[1]: bad template:"}},
		{"a json literal YAML cannot decode", []string{`court: !number "{{ .Booking.Court }}"`, `court: !!int abc`},
			[]string{"32: submit.json.court: yaml: cannot decode"}},
		{"a json literal JSON cannot hold", []string{`court: !number "{{ .Booking.Court }}"`, `court: .inf`},
			[]string{"32: submit.json.court: cannot be sent as JSON: json: unsupported value: +Inf"}},

		// Headers.
		{"a template in a step header name", []string{"    path: /api/cart\n", "    path: /api/cart\n    headers:\n      \"X-{{ .X.token }}\": x\n"},
			[]string{`31: submit.headers: header names are sent as written; "X-{{ .X.token }}" is not rendered (put the template in the value)`}},
		{"a template in a profile header name", []string{"  Accept-Language: ko-KR\n", "  Accept-Language: ko-KR\n  \"{{ .Account.Username }}\": x\n"},
			[]string{`5: headers: header names are sent as written; "{{ .Account.Username }}" is not rendered`}},
		{"a bad step header name", []string{"    path: /api/cart\n", "    path: /api/cart\n    headers:\n      \"X Csrf\": x\n"},
			[]string{`31: submit.headers: "X Csrf" is not a valid header name`}},

		// Extractions.
		{"a templated extraction regex that names the booking in a login step", []string{`login_token: {regex: 'name="_token" value="([^"]+)"'}`, `login_token: {regex: 'name="_token" value="([^"]+)"'}` + "\n      extra: {regex: 'value=\"{{ .Booking.Court }}([^\"]+)\"'}"},
			[]string{`10: prelogin.extract.extra.regex: the prelogin step runs for the account, not for one booking: it sees .Account, .X, .Cookies and .Now, not .Booking.Court`}},
		{"a template in an extraction css", []string{"token: {css: 'input[name=tok]', attr: value}", "token: {css: 'input[name=tok]', attr: value}\n        extra: {css: 'input[name={{ .X.list_id }}]', attr: value}"},
			[]string{`27: form.extract.extra.css is not a template position: "{{" would be matched literally`}},
		{"a bad css selector", []string{"token: {css: 'input[name=tok]', attr: value}", "token: {css: 'input[name=tok]', attr: value}\n        extra: {css: 'input[', attr: value}"},
			[]string{"27: form.extract.extra: bad CSS selector:"}},
		{"an extraction with regex and json", []string{langHoldID, langHoldID + "\n      extra: {json: hold.id, regex: '(x)'}"},
			[]string{"35: submit.extract.extra: give one of regex, css or json, not regex and json"}},
		{"an extraction with css and json", []string{langHoldID, langHoldID + "\n      extra: {json: hold.id, css: b}"},
			[]string{"35: submit.extract.extra: give one of regex, css or json, not css and json"}},
		{"an extraction with nothing to read by", []string{langHoldID, langHoldID + "\n      extra: {attr: value}"},
			[]string{"35: submit.extract.extra: give regex, css or json"}},
		{"an unknown extraction key", []string{langHoldID, "      hold_id: {json: hold.id, path: x}"},
			[]string{`34: submit.extract.hold_id: unknown key "path" (allowed: regex, from, css, attr, json)`}},
		{"attr with a regex", []string{`value="([^"]+)"'}`, `value="([^"]+)"', attr: value}`},
			[]string{"9: prelogin.extract.login_token: attr goes with css"}},
		{"from with css", []string{"{css: 'input[name=tok]', attr: value}", "{css: 'input[name=tok]', from: body}"},
			[]string{"26: form.extract.token: css extractions read the body; from goes with regex"}},
		{"from with json", []string{langHoldID, "      hold_id: {json: hold.id, from: body}"},
			[]string{"34: submit.extract.hold_id: json extractions read the body; from goes with regex or css"}},
		{"attr with json", []string{langHoldID, "      hold_id: {json: hold.id, attr: value}"},
			[]string{"34: submit.extract.hold_id: json extractions read the body; attr goes with regex or css"}},
		{"an empty json path", []string{langHoldID, "      hold_id: {json: ''}"},
			[]string{"34: submit.extract.hold_id.json must not be empty"}},
		{"a bad template in a json path", []string{langHoldID, "      hold_id: {json: 'hold.{{ .X.token '}"},
			[]string{"34: submit.extract.hold_id.json: bad template:"}},
		{"a json path using a later extraction", []string{"list_id: {json: list.id}", "list_id: {json: 'list.{{ .X.token }}'}"},
			[]string{`21: list.extract.list_id.json: extraction "token" is not made by an earlier step`}},
		{"a regex from a bad header name", []string{`value="([^"]+)"'}`, `value="([^"]+)"', from: "header:X Y"}`},
			[]string{`9: prelogin.extract.login_token: from must be body, location or header:NAME, got "header:X Y"`}},

		// Rules.
		{"classify not a list", []string{langVerify, "  verify:\n    path: /api/mine\n    classify: {status: 200}\n"},
			[]string{"50: verify.classify must be a list of rules"}},
		{"unknown rule key", []string{langRuleConflict, "      - {status: 409, colour: red, class: conflict}"},
			[]string{`37: submit.classify[1]: unknown key "colour" (allowed: status, location, location_regex, header, cookie, body_contains, body_regex, json, json_has, not, class, reservation)`}},
		{"class missing", []string{langRuleConflict, "      - {status: 409}"},
			[]string{"37: submit.classify[1]: class is required"}},
		{"unknown class", []string{langRuleConflict, "      - {status: 409, class: victory}"},
			[]string{`37: submit.classify[1]: unknown class "victory" (` + submitClasses + ")"}},
		{"class unknown is not given by a rule", []string{langRuleConflict, "      - {status: 409, class: unknown}"},
			[]string{`37: submit.classify[1]: unknown class "unknown" (` + submitClasses + ")"}},
		{"held in a page", []string{"list_id: {json: list.id}\n", "list_id: {json: list.id}\n      classify:\n        - {status: 200, class: held}\n"},
			[]string{`23: list.classify[0]: class "held" does not belong to a page step (` + pageClasses + ")"}},
		{"conflict in a page", []string{"list_id: {json: list.id}\n", "list_id: {json: list.id}\n      classify:\n        - {status: 200, class: conflict}\n"},
			[]string{`23: list.classify[0]: class "conflict" does not belong to a page step (` + pageClasses + ")"}},
		{"held in the login", []string{"      pw: \"{{ .Account.Password }}\"\n", "      pw: \"{{ .Account.Password }}\"\n    classify: [{status: 200, class: held}]\n"},
			[]string{`17: login.classify[0]: class "held" does not belong to a login step (` + baseClasses + ")"}},
		{"held in the prelogin", []string{"    extract:\n      login_token:", "    classify: [{class: held}]\n    extract:\n      login_token:"},
			[]string{`8: prelogin.classify[0]: class "held" does not belong to a prelogin step`}},
		{"held in a checkout step", []string{"        - {status: 410, class: retry}", "        - {status: 410, class: held}"},
			[]string{`47: confirm.classify[1]: class "held" does not belong to a checkout step (` + baseClasses + ", limit_reached)"}},
		{"conflict in verify", []string{"      - {status: 200, class: retry}", "      - {status: 200, class: conflict}"},
			[]string{`52: verify.classify[1]: class "conflict" does not belong to a verify step (` + verifyClasses + ")"}},
		{"reservation on a retry rule", []string{"        - {status: 410, class: retry}", "        - {status: 410, class: retry, reservation: {json: a}}"},
			[]string{"47: confirm.classify[1]: reservation only belongs to a success rule"}},
		{"a bad reservation", []string{"reservation: {json: order.code}", "reservation: {regex: 'no'}"},
			[]string{"46: confirm.classify[0].reservation: regex needs a capture group (the value)"}},
		{"a rule after a catch-all", []string{langRuleConflict, "      - {class: retry}\n" + langRuleConflict},
			[]string{"38: submit.classify[2] is unreachable: rule 1 matches everything", "39: submit.classify[3] is unreachable: rule 1 matches everything"}},
		{"a rule with only a bad regex is not a catch-all", []string{langRuleConflict, "      - {body_regex: '(', class: retry}\n" + langRuleConflict},
			[]string{"37: submit.classify[1].body_regex: bad regex: error parsing regexp: missing closing ): `(`"}},
		{"a rule with only a bad status is not a catch-all", []string{langRuleConflict, "      - {status: [], class: retry}\n" + langRuleConflict},
			[]string{"37: submit.classify[1].status: give a status code or a list of them"}},
		{"a rule whose only condition is a bad not is not a catch-all", []string{langRuleConflict, "      - {not: {body_regex: '('}, class: retry}\n" + langRuleConflict},
			[]string{"37: submit.classify[1].not.body_regex: bad regex", "37: submit.classify[1].not needs at least one condition"}},
		{"an unknown key under not", []string{langRuleConflict, "      - {status: 409, not: {colour: red}, class: conflict}"},
			[]string{`37: submit.classify[1].not: unknown key "colour" (allowed: status, location, location_regex, header, cookie, body_contains, body_regex, json, json_has)`}},
		{"not is a mapping", []string{langRuleConflict, "      - {status: 409, not: [a], class: conflict}"},
			[]string{"37: submit.classify[1].not must be a mapping"}},

		// Conditions.
		{"status not a number", []string{langRuleConflict, "      - {status: conflict, class: conflict}"},
			[]string{`37: submit.classify[1].status must be an integer, got "conflict"`, "37: submit.classify[1].status: give a status code"}},
		{"status out of range", []string{langRuleConflict, "      - {status: [409, 99], class: conflict}"},
			[]string{"37: submit.classify[1].status: status 99 is not an HTTP status"}},
		{"an empty list of alternatives", []string{"body_contains: [notice, 예약 기간]", "body_contains: []"},
			[]string{"38: submit.classify[2].body_contains: an empty list never matches"}},
		{"an empty alternative", []string{"body_contains: [notice, 예약 기간]", "body_contains: [notice, '']"},
			[]string{"38: submit.classify[2].body_contains[1] must not be empty"}},
		{"an empty text", []string{"body_contains: [notice, 예약 기간]", "body_contains: ''"},
			[]string{"38: submit.classify[2].body_contains must not be empty"}},
		{"an empty json_has", []string{langRuleConflict, "      - {status: 409, json_has: [], class: conflict}"},
			[]string{"37: submit.classify[1].json_has: an empty list never matches"}},
		{"an alternative not a scalar", []string{"body_contains: [notice, 예약 기간]", "body_contains: [notice, [a]]"},
			[]string{"38: submit.classify[2].body_contains[1] must be a scalar"}},
		{"a bad location_regex", []string{langRuleConflict, "      - {status: 302, location_regex: [ok, '*'], class: conflict}"},
			[]string{"37: submit.classify[1].location_regex[1]: bad regex"}},
		{"a template in location", []string{langRuleConflict, "      - {status: 302, location: '/court/{{ .Booking.Court }}', class: conflict}"},
			[]string{`37: submit.classify[1].location is not a template position: "{{" would be compared literally (templates work in body_contains, body_regex, json and json_has)`}},
		{"a template in location_regex", []string{langRuleConflict, "      - {status: 302, location_regex: [a, '/{{ .Booking.Court }}'], class: conflict}"},
			[]string{`37: submit.classify[1].location_regex[1] is not a template position`}},
		{"a template in a header text", []string{langRuleConflict, "      - {status: 409, header: {X-Court: '{{ .Booking.Court }}', X-Ok: y}, class: conflict}"},
			[]string{`37: submit.classify[1].header.X-Court is not a template position: "{{" would be compared literally`}},
		{"a template in a cookie text", []string{langRuleConflict, "      - {status: 409, cookie: {hold: ['{{ .Booking.Court }}'], ok: ''}, class: conflict}"},
			[]string{`37: submit.classify[1].cookie.hold[0] is not a template position`}},
		{"a bad header name", []string{langRuleConflict, "      - {status: 409, header: {'X Court': a}, class: conflict}"},
			[]string{`37: submit.classify[1].header: "X Court" is not a valid header name`, "37: submit.classify[1].header needs at least one name"}},
		{"a header condition without a text", []string{langRuleConflict, "      - {status: 409, header: {X-Court: ''}, class: conflict}"},
			[]string{"37: submit.classify[1].header.X-Court: give the text the header must contain", "37: submit.classify[1].header needs at least one name"}},
		{"a header condition without names", []string{langRuleConflict, "      - {status: 409, header: {}, class: conflict}"},
			[]string{"37: submit.classify[1].header needs at least one name"}},
		{"a bad cookie name", []string{langRuleConflict, "      - {status: 409, cookie: {'hold;id': ''}, class: conflict}"},
			[]string{`37: submit.classify[1].cookie: "hold;id" is not a valid cookie name`, "37: submit.classify[1].cookie needs at least one name"}},
		{"a cookie name with a space", []string{langRuleConflict, "      - {status: 409, cookie: {'hold id': x, ok: ''}, class: conflict}"},
			[]string{`37: submit.classify[1].cookie: "hold id" is not a valid cookie name`}},
		{"a json condition without paths", []string{`json: {ok: "true"}`, `json: {}`},
			[]string{"36: submit.classify[0].json needs at least one path"}},
		{"a json condition without a value", []string{`json: {ok: "true"}`, `json: {ok: ''}`},
			[]string{"36: submit.classify[0].json.ok must not be empty", "36: submit.classify[0].json needs at least one path"}},
		{"a bad template in a json path", []string{`json: {ok: "true"}`, `json: {'{{ .Booking.Court ': "true"}`},
			[]string{"36: submit.classify[0].json path: bad template:", "36: submit.classify[0].json needs at least one path"}},
		{"a bad template in body_contains", []string{langVerifyOK, `      - {status: 200, body_contains: "{{ .Booking.Court", class: success}`},
			[]string{"51: verify.classify[0].body_contains: bad template:"}},
		{"an unknown field in a templated condition", []string{langVerifyOK, `      - {status: 200, body_regex: "{{ .Booking.Curt }}", class: success}`},
			[]string{"51: verify.classify[0].body_regex: unknown field .Booking.Curt"}},

		// What a template may see.
		{".Booking in the login", []string{`id: "{{ .Account.Username }}"`, `id: "{{ .Booking.Name }}"`},
			[]string{"15: login.form.id: the login step runs for the account, not for one booking: it sees .Account, .X, .Cookies and .Now, not .Booking.Name"}},
		{".Booking method in the login", []string{"    path: /login\n    form:", "    path: /login?at={{ iso .Booking.StartAt }}\n    form:"},
			[]string{"12: login.path: the login step runs for the account, not for one booking: it sees .Account, .X, .Cookies and .Now, not .Booking.StartAt"}},
		{".Booking in the prelogin", []string{"  prelogin:\n    path: /login\n", "  prelogin:\n    path: /login?court={{ .Booking.Court }}\n"},
			[]string{"7: prelogin.path: the prelogin step runs for the account, not for one booking: it sees .Account, .X, .Cookies and .Now, not .Booking.Court"}},
		{".Booking in the profile headers", []string{"  Accept-Language: ko-KR\n", "  Accept-Language: ko-KR\n  X-Court: '{{ .Booking.Court }}'\n"},
			[]string{"5: headers.X-Court: the profile-wide headers, which the login sends too, runs for the account, not for one booking: it sees .Account, .X, .Cookies and .Now, not .Booking.Court"}},
		{".Booking in the probe", []string{"steps:\n", "steps:\n  probe: {path: '/?d={{ .Booking.Date }}'}\n"},
			[]string{"6: probe.path: the probe step runs for the account, not for one booking"}},
		{".Booking in a prelogin rule", []string{"    extract:\n      login_token:", "    classify: [{body_contains: '{{ .Booking.Name }}', class: success}]\n    extract:\n      login_token:"},
			[]string{"8: prelogin.classify[0].body_contains: the prelogin step runs for the account"}},
		{"a page using a later page's extraction", []string{"      path: /list\n", "      path: /list?t={{ .X.token }}\n"},
			[]string{`19: list.path: extraction "token" is not made by an earlier step`}},
		{"a page using its own extraction", []string{"      path: /list\n", "      path: /list?t={{ index .X \"list_id\" }}\n"},
			[]string{`19: list.path: extraction "list_id" is not made by an earlier step`}},
		{"the login using a page's extraction", []string{`id: "{{ .Account.Username }}"`, `id: "{{ .X.list_id }}"`},
			[]string{`15: login.form.id: extraction "list_id" is not made by an earlier step`}},
		{"the prelogin using the login's extraction", []string{"      pw: \"{{ .Account.Password }}\"\n", "      pw: \"{{ .Account.Password }}\"\n    extract:\n      sid: {regex: 'sid=(\\w+)'}\n", "  prelogin:\n    path: /login\n", "  prelogin:\n    path: /login?s={{ .X.sid }}\n"},
			[]string{`7: prelogin.path: extraction "sid" is not made by an earlier step`}},
		{"the submit using its own extraction", []string{`token: "{{ .X.token }}"`, `token: "{{ .X.hold_id }}"`},
			[]string{`31: submit.json.token: extraction "hold_id" is not made by an earlier step`}},
		{"the submit using a verify extraction", []string{"    path: /api/mine\n", "    path: /api/mine\n    extract:\n      mine: {json: mine.id}\n", `token: "{{ .X.token }}"`, `token: "{{ .X.mine }}"`},
			[]string{`31: submit.json.token: extraction "mine" is not made by an earlier step`}},
		{"verify using a checkout extraction", []string{"        hold: \"{{ .X.hold_id }}\"\n", "        hold: \"{{ .X.hold_id }}\"\n      extract:\n        order: {json: order.code}\n", langVerifyOK, `      - {status: 200, body_contains: "{{ .X.order }}", class: success}`},
			[]string{`53: verify.classify[0].body_contains: extraction "order" is not made by an earlier step`}},
		{"a checkout step using a later one's extraction", []string{langCheckout, langCheckout + "    - name: done\n      path: /done\n      extract:\n        done: {regex: '(x)'}\n      classify:\n        - {status: 200, class: success, reservation: {json: order.code}}\n",
			"        hold: \"{{ .X.hold_id }}\"\n", "        hold: \"{{ .X.done }}\"\n"},
			[]string{`44: confirm.form.hold: extraction "done" is not made by an earlier step`}},

		// What one step needs of another.
		{"held without checkout", []string{langCheckout, ""},
			[]string{"36: submit: class held needs checkout steps that turn the hold into a booking"}},
		{"two held rules without checkout", []string{langCheckout, "", langRuleNotOpen, "      - {status: 202, class: held}"},
			[]string{"36: submit: class held needs checkout", "38: submit: class held needs checkout"}},
		{"checkout without a held submit", []string{langRuleHeld, `      - {status: 201, json: {ok: "true"}, class: success}`},
			[]string{"39: steps: checkout runs after a held submit, but no submit rule gives class held"}},
		{"held in verify without checkout", []string{langCheckout, "", langRuleHeld, `      - {status: 201, class: success}`, "      - {status: 200, class: retry}", "      - {status: 202, class: held}\n      - {status: 200, class: retry}"},
			[]string{"43: verify: class held needs checkout steps"}},
		{"conflict without verify", []string{langVerify, ""},
			[]string{"37: submit: class conflict needs a verify step: only verify can tell whether the slot was taken by this account"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireProblems(t, langWith(t, tc.edits...), tc.want)
		})
	}
}

// requireProblems parses src as l.yaml and requires exactly the problems
// of want, each "LINE: the start of its message".
func requireProblems(t *testing.T, src string, want []string) {
	t.Helper()
	_, err := profile.Parse("l.yaml", []byte(src))
	require.ErrorIs(t, err, profile.ErrInvalid)
	var le *profile.LoadError
	require.True(t, errors.As(err, &le))
	for _, w := range want {
		require.Contains(t, err.Error(), "  l.yaml:"+w, "want the problem %q", w)
	}
	require.Len(t, le.Problems, len(want), "%v", err)
}

// TestLoadLangAllowed: what the checks above must not refuse.
func TestLoadLangAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edits []string
		check func(t *testing.T, p *profile.Profile)
	}{
		{"checkout using a verify extraction", []string{
			"    path: /api/mine\n", "    path: /api/mine\n    extract:\n      mine_hold: {json: 'holds.#(court=={{ .Booking.Court }}).id'}\n",
			`hold: "{{ .X.hold_id }}"`, `hold: "{{ .X.mine_hold }}"`,
		}, func(t *testing.T, p *profile.Profile) {
			require.True(t, p.Verify.Extract[0].JSON.Templated())
		}},
		{"checkout using an earlier checkout step's extraction", []string{
			langCheckout, `  checkout:
    - name: contact
      method: POST
      path: /api/contact
      extract:
        confirm_url: {json: checkout.confirm_url}
      classify: [{status: 200, class: success}]
    - name: confirm
      method: POST
      path: "{{ .X.confirm_url }}"
      form:
        hold: "{{ .X.hold_id }}"
        login: "{{ .X.login_token }}"
      classify:
        - {status: 200, class: success, reservation: {json: order.code}}
`,
		}, func(t *testing.T, p *profile.Profile) {
			require.Len(t, p.Checkout, 2)
			require.Equal(t, []string{"contact", "confirm"}, []string{p.Checkout[0].Name, p.Checkout[1].Name})
		}},
		{"the login using the prelogin's extraction and the submit a login's", []string{
			"      pw: \"{{ .Account.Password }}\"\n", "      pw: \"{{ .Account.Password }}\"\n    extract:\n      sid: {regex: 'sid=(\\w+)', from: 'header:X-Sid'}\n",
			`token: "{{ .X.token }}"`, `token: "{{ .X.token }}{{ .X.sid }}{{ .X.login_token }}"`,
		}, func(t *testing.T, p *profile.Profile) {
			require.Equal(t, profile.FromHeader, p.Login.Extract[0].From)
			require.Equal(t, "X-Sid", p.Login.Extract[0].Header)
		}},
		{"a path that is all template", []string{"      path: /api/checkout\n", "      path: '{{ .X.hold_id }}'\n"}, nil},
		{"content_type with a form", []string{"      form:\n        hold:", "      content_type: application/x-www-form-urlencoded; charset=UTF-8\n      form:\n        hold:"}, nil},
		{"a form on DELETE", []string{"      method: POST\n      path: /api/checkout", "      method: delete\n      path: /api/checkout"}, func(t *testing.T, p *profile.Profile) {
			require.Equal(t, "DELETE", p.Checkout[0].Method)
		}},
		{"templates in every templated condition", []string{langVerifyOK, `      - status: 200
        body_contains: ['{{ .Booking.Court }}', plain]
        body_regex: 'c{{ quotemeta .Booking.Court }}'
        json: {'list.#(court=={{ .Booking.Court }}).state': ['{{ .Booking.Start }}', ok]}
        json_has: 'list.#(court=={{ .Booking.Court }})'
        class: success`}, func(t *testing.T, p *profile.Profile) {
			conds := p.Verify.Rules[0].Conds
			require.Len(t, conds, 5)
			for _, c := range conds[1:] {
				require.True(t, c.Any[0].Templated(), c.Key)
			}
			require.False(t, conds[1].Any[1].Templated())
			require.True(t, conds[3].Path.Templated())
		}},
		{"cookie and header conditions", []string{langRuleConflict, "      - {status: 409, cookie: {hold: '', state: [a, b]}, header: {x-state: busy}, not: {cookie: {ok: ''}}, class: conflict}"}, func(t *testing.T, p *profile.Profile) {
			conds := p.Submit.Rules[1].Conds
			require.Len(t, conds, 4)
			require.Equal(t, "hold", conds[1].Name)
			require.Empty(t, conds[1].Any, "an empty text: the cookie only needs to be set")
			require.Len(t, conds[2].Any, 2)
			require.Equal(t, "X-State", conds[3].Name, "header names are canonical")
			require.Len(t, p.Submit.Rules[1].Not, 1)
		}},
		{"a step with its own charset", []string{"      path: /api/checkout\n", "      path: /api/checkout\n      charset: EUC-KR\n"}, func(t *testing.T, p *profile.Profile) {
			require.Equal(t, "euc-kr", p.Checkout[0].Charset)
			require.NotNil(t, p.StepEncoding(p.Checkout[0]))
			require.Nil(t, p.StepEncoding(p.Submit), "the site's UTF-8")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := profile.Parse("l.yaml", []byte(langWith(t, tc.edits...)))
			require.NoError(t, err)
			require.Empty(t, p.Warnings)
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}

// TestLoadLangGuest: a site without a login (the first page visit sets the
// cookies) needs nothing but its pages and the submit.
func TestLoadLangGuest(t *testing.T) {
	t.Parallel()
	const guest = `name: guest
base_url: http://127.0.0.1:9000
steps:
  pages:
    - name: calendar
      path: /calendar
      extract:
        slot: {regex: 'data-slot="(\d+)"'}
  submit:
    method: POST
    path: /book
    form:
      slot: "{{ .X.slot }}"
      name: "{{ .Booking.Name }}"
    classify:
      - {status: 200, body_contains: booked, class: success}
`
	p, err := profile.Parse("g.yaml", []byte(guest))
	require.NoError(t, err)
	require.Nil(t, p.Prelogin)
	require.Nil(t, p.Login)
	require.Len(t, p.Pages, 1)
	require.Equal(t, "calendar", p.Pages[0].Name)
	require.Empty(t, p.Checkout)
	require.Len(t, p.Warnings, 1)
	require.True(t, strings.HasPrefix(p.Warnings[0], "g.yaml:3: steps: no verify step"), p.Warnings[0])

	// With trace instead of pages: one page called trace.
	p, err = profile.Parse("g.yaml", []byte(strings.Replace(strings.Replace(guest, "  pages:\n    - name: calendar\n", "  trace:\n", 1),
		"\n      ", "\n    ", 3)))
	require.NoError(t, err)
	require.Len(t, p.Pages, 1)
	require.Equal(t, profile.StepTrace, p.Pages[0].Name)
	require.Equal(t, profile.RolePage, p.Pages[0].Role)

	// The submit alone.
	p, err = profile.Parse("g.yaml", []byte("name: g\nbase_url: http://127.0.0.1\nsteps:\n  submit:\n    method: POST\n    path: /b\n    form: {n: '{{ .Booking.Name }}'}\n    classify: [{status: 200, class: success}]\n"))
	require.NoError(t, err)
	require.Empty(t, p.Pages)
	require.NotNil(t, p.Probe)
}

// TestLoadLangEveryProblemAtOnce: mistakes in many constructs of one
// profile are all reported together, each at its line, in line order.
func TestLoadLangEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	src := langWith(t,
		"  Accept-Language: ko-KR\n", "  Accept-Language: '{{ .Booking.Name }}'\n", // 4
		`id: "{{ .Account.Username }}"`, `id: "{{ .X.token }}"`, // 15
		"name: form", "name: list", // 22
		"every_submit: true", "every_submit: sometimes", // 24
		"      court: !number", "      \"{{ .X.token }}\": 1\n      court: !number", // 32, and the lines below move by one
		langHoldID, langHoldID+"\n      extra: {json: a, css: b}", // 36, and the lines below move by two
		langRuleConflict, "      - {status: 409, location: '{{ .X.token }}', class: conflict}", // 39
		"body_contains: [notice, 예약 기간]", "body_contains: []", // 40
		"        - {status: 410, class: retry}", "        - {status: 410, class: held}", // 49
		"      - {status: 200, class: retry}", "      - {status: 200, cookie: {'a b': x}, class: retry}", // 54
	)
	_, err := profile.Parse("l.yaml", []byte(src))
	var le *profile.LoadError
	require.True(t, errors.As(err, &le), "%v", err)
	want := []string{
		"4: headers.Accept-Language: the profile-wide headers, which the login sends too, runs for the account",
		`15: login.form.id: extraction "token" is not made by an earlier step`,
		`22: steps.pages[1]: name "list" is already used at line 18`,
		"24: list.every_submit must be true or false",
		`32: submit.json: object keys are sent as written`,
		"36: submit.extract.extra: give one of regex, css or json, not css and json",
		"39: submit.classify[1].location is not a template position",
		"40: submit.classify[2].body_contains: an empty list never matches",
		`49: confirm.classify[1]: class "held" does not belong to a checkout step`,
		`54: verify.classify[1].cookie: "a b" is not a valid cookie name`,
		"54: verify.classify[1].cookie needs at least one name",
	}
	var got []string
	for _, p := range le.Problems {
		require.Equal(t, "l.yaml", p.File)
		got = append(got, fmt.Sprintf("%d: %s", p.Line, p.Msg))
	}
	require.Len(t, got, len(want), "%v", err)
	for i, w := range want {
		require.True(t, strings.HasPrefix(got[i], w), "problem %d: want %q, got %q", i, w, got[i])
	}
}

// TestLoadLangCheckoutWarning: bookings the last checkout step makes are
// recorded without a number unless one of its success rules says where the
// number is.
func TestLoadLangCheckoutWarning(t *testing.T) {
	t.Parallel()
	const warn = "l.yaml:40: checkout: the last step confirm has no success rule with a reservation: bookings made by it are recorded without a number"
	tests := []struct {
		name  string
		edits []string
		want  []string
	}{
		{"no reservation", []string{langConfirmOK, "        - {status: 200, class: success}"}, []string{warn}},
		{"a reservation on a rule that is not success", []string{langConfirmOK, "        - {status: 200, class: success}\n        - {status: 201, class: fatal, body_regex: 'no=(\\d+)'}"}, []string{warn}},
		{"a body_regex without a group", []string{langConfirmOK, "        - {status: 200, class: success, body_regex: 'no=\\d+'}"}, []string{warn}},
		{"a body_regex with a group", []string{langConfirmOK, "        - {status: 200, class: success, body_regex: 'no=(\\d+)'}"}, nil},
		{"a templated body_regex", []string{langConfirmOK, "        - {status: 200, class: success, body_regex: '{{ .Booking.Court }}-(\\d+)'}"}, nil},
		{"a css reservation", []string{"reservation: {json: order.code}", "reservation: {css: strong.order}"}, nil},
		{"only the last step counts", []string{langCheckout, `  checkout:
    - name: contact
      method: POST
      path: /api/contact
      classify: [{status: 200, class: success, reservation: {json: a}}]
    - name: confirm
      method: POST
      path: /api/confirm
      classify: [{status: 200, class: success}]
`}, []string{"l.yaml:44: checkout: the last step confirm has no success rule with a reservation"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := profile.Parse("l.yaml", []byte(langWith(t, tc.edits...)))
			require.NoError(t, err)
			require.Len(t, p.Warnings, len(tc.want), "%q", p.Warnings)
			for i, w := range tc.want {
				require.True(t, strings.HasPrefix(p.Warnings[i], w), "want %q, got %q", w, p.Warnings[i])
			}
		})
	}
}
