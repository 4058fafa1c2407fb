package profile_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// classifyWith is a profile whose submit has the given rules (YAML list
// items, indented for the classify list), after a page that extracts slot.
func classifyWith(t *testing.T, rules string) *profile.Profile {
	t.Helper()
	return mustParse(t, `name: cls
base_url: http://127.0.0.1:9000
steps:
  pages:
    - name: list
      path: /list
      extract:
        slot: {regex: 'slot=(\d+)'}
  submit:
    method: POST
    path: /go
    form: {court: "{{ .Booking.Court }}"}
    classify:
`+rules)
}

// classifyData is the booking every classify test renders its rules with.
func classifyData() *profile.Data {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	return &profile.Data{
		Booking: profile.BookingData{Court: "3", Name: "홍길동", Start: "10:00", End: "11:00",
			Date: time.Date(2026, 12, 1, 0, 0, 0, 0, seoul)},
		X: map[string]string{"slot": "7"},
	}
}

// answer is one site answer to classify.
type answer struct {
	status   int
	location string
	header   http.Header
	body     string
}

// hdr builds a header from name, value pairs; a name may repeat.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestEvaluateConditions: each condition kind on its own, as a one-rule
// submit whose class is success; an answer that matches is success, one
// that does not is unknown. Templated texts are rendered through
// Profile.Render and carried by Request.Response.
func TestEvaluateConditions(t *testing.T) {
	t.Parallel()
	type tcase struct {
		a     answer
		match bool
	}
	tests := []struct {
		name  string
		rule  string
		data  func(*profile.Data) // changes to classifyData
		cases []tcase
	}{
		{"status, a list", "{status: [200, 201], class: success}", nil, []tcase{
			{answer{status: 200}, true}, {answer{status: 201}, true}, {answer{status: 202}, false},
		}},
		{"location, alternatives, a substring of the raw Location", "{location: [/done, /ok], class: success}", nil, []tcase{
			{answer{status: 302, location: "http://x/app/done?no=1"}, true},
			{answer{status: 302, location: "/ok"}, true},
			{answer{status: 302, location: "/fail"}, false},
			{answer{status: 302, header: hdr("Location", "/done")}, false}, // the Location field, not the header
		}},
		{"location_regex", `{location_regex: '^/r/\d+$', class: success}`, nil, []tcase{
			{answer{location: "/r/12"}, true}, {answer{location: "/r/x"}, false}, {answer{location: "/r/12/x"}, false},
		}},
		{"header, alternatives, any of its values", "{header: {x-state: [busy, full]}, class: success}", nil, []tcase{
			{answer{header: hdr("X-State", "very busy")}, true},
			{answer{header: hdr("X-State", "calm", "X-State", "full")}, true},
			{answer{header: hdr("X-State", "calm")}, false},
			{answer{header: hdr("X-Other", "busy")}, false},
			{answer{}, false},
		}},
		{"two headers: both", "{header: {X-A: a, X-B: b}, class: success}", nil, []tcase{
			{answer{header: hdr("X-A", "a", "X-B", "b")}, true},
			{answer{header: hdr("X-A", "a")}, false},
		}},
		{"cookie present", "{cookie: {hold: ''}, class: success}", nil, []tcase{
			{answer{header: hdr("Set-Cookie", "hold=1; Path=/; HttpOnly")}, true},
			{answer{header: hdr("Set-Cookie", "a=b", "Set-Cookie", "hold=; Path=/")}, true},
			{answer{header: hdr("Set-Cookie", "holds=1")}, false},
			{answer{header: hdr("Cookie", "hold=1")}, false}, // the answer's Set-Cookie only
			{answer{}, false},
		}},
		{"cookie value, alternatives", "{cookie: {state: [held, kept]}, class: success}", nil, []tcase{
			{answer{header: hdr("Set-Cookie", "state=held-1; Path=/")}, true},
			{answer{header: hdr("Set-Cookie", "state=gone", "Set-Cookie", "state=kept")}, true},
			{answer{header: hdr("Set-Cookie", "state=gone")}, false},
			{answer{header: hdr("Set-Cookie", "other=held")}, false},
		}},
		{"body_contains, alternatives", "{body_contains: [예약이 완료되었습니다, Booking confirmed], class: success}", nil, []tcase{
			{answer{body: "<p>예약이 완료되었습니다</p>"}, true},
			{answer{body: "Booking confirmed."}, true},
			{answer{body: "booking confirmed"}, false},
		}},
		{"body_regex, alternatives", `{body_regex: ['^ok\b', 'code=\d{4}'], class: success}`, nil, []tcase{
			{answer{body: "ok then"}, true}, {answer{body: "x code=1234"}, true}, {answer{body: "okay code=12"}, false},
		}},
		{"json equals a string", "{json: {state: held}, class: success}", nil, []tcase{
			{answer{body: `{"state":"held"}`}, true},
			{answer{body: `{"state":"held2"}`}, false},
			{answer{body: `{"other":"held"}`}, false},
			{answer{body: `state: held`}, false},
		}},
		{"json equals a number", "{json: {hold.count: 3}, class: success}", nil, []tcase{
			{answer{body: `{"hold":{"count":3}}`}, true},
			{answer{body: `{"hold":{"count":3.0}}`}, true}, // compared as the number
			{answer{body: `{"hold":{"count":"3"}}`}, true}, // gjson's text of the value
			{answer{body: `{"hold":{"count":30}}`}, false},
		}},
		{"json equals a bool", "{json: {ok: true}, class: success}", nil, []tcase{
			{answer{body: `{"ok":true}`}, true},
			{answer{body: `{"ok":false}`}, false},
			{answer{body: `{"ok":"true"}`}, true},
		}},
		{"json, alternatives", "{json: {'items.0.state': [held, confirmed]}, class: success}", nil, []tcase{
			{answer{body: `{"items":[{"state":"confirmed"}]}`}, true},
			{answer{body: `{"items":[{"state":"held"},{"state":"x"}]}`}, true},
			{answer{body: `{"items":[{"state":"x"},{"state":"held"}]}`}, false},
		}},
		{"two json paths: both", "{json: {ok: 'true', code: done}, class: success}", nil, []tcase{
			{answer{body: `{"ok":true,"code":"done"}`}, true},
			{answer{body: `{"ok":true,"code":"no"}`}, false},
		}},
		{"json_has, alternatives", "{json_has: [hold.id, cart.id], class: success}", nil, []tcase{
			{answer{body: `{"hold":{"id":"h1"}}`}, true},
			{answer{body: `{"cart":{"id":0}}`}, true},
			{answer{body: `{"hold":{}}`}, false},
			{answer{body: `not json`}, false},
		}},
		{"all conditions of a rule", "{status: 200, header: {X-A: a}, body_contains: b, class: success}", nil, []tcase{
			{answer{status: 200, header: hdr("X-A", "a"), body: "b"}, true},
			{answer{status: 201, header: hdr("X-A", "a"), body: "b"}, false},
			{answer{status: 200, body: "b"}, false},
			{answer{status: 200, header: hdr("X-A", "a"), body: "c"}, false},
		}},
		{"not: the conditions under it must not all hold", "{status: 200, not: {body_contains: error, json: {ok: 'false'}}, class: success}", nil, []tcase{
			{answer{status: 200, body: `{"ok":true}`}, true},
			{answer{status: 200, body: `{"ok":true,"m":"error"}`}, true},
			{answer{status: 200, body: `{"ok":false}`}, true},
			{answer{status: 200, body: `{"ok":false,"m":"error"}`}, false},
			{answer{status: 500, body: `{"ok":true}`}, false},
		}},
		{"not with alternatives", "{not: {status: [500, 503]}, class: success}", nil, []tcase{
			{answer{status: 200}, true}, {answer{status: 500}, false}, {answer{status: 503}, false},
		}},
		{"not of a cookie", "{status: 200, not: {cookie: {error: ''}}, class: success}", nil, []tcase{
			{answer{status: 200, header: hdr("Set-Cookie", "ok=1")}, true},
			{answer{status: 200, header: hdr("Set-Cookie", "error=1")}, false},
		}},
		{"a templated body_contains", "{body_contains: 'court-{{ .Booking.Court }} slot-{{ .X.slot }}', class: success}", nil, []tcase{
			{answer{body: "court-3 slot-7"}, true}, {answer{body: "court-4 slot-7"}, false},
		}},
		{"a templated body_contains among literal ones", "{body_contains: [nothing, '{{ .Booking.Name }}님'], class: success}", nil, []tcase{
			{answer{body: "홍길동님 안녕하세요"}, true}, {answer{body: "nothing"}, true}, {answer{body: "김철수님"}, false},
		}},
		{"a templated json path", `{json: {'list.#(court=={{ .Booking.Court }}).state': confirmed}, class: success}`, nil, []tcase{
			{answer{body: `{"list":[{"court":4,"state":"confirmed"},{"court":3,"state":"confirmed"}]}`}, true},
			{answer{body: `{"list":[{"court":4,"state":"confirmed"},{"court":3,"state":"held"}]}`}, false},
		}},
		{"a templated json value", `{json: {'list.0.start': '{{ iso .Booking.StartAt }}'}, class: success}`, nil, []tcase{
			{answer{body: `{"list":[{"start":"2026-12-01T10:00:00+09:00"}]}`}, true},
			{answer{body: `{"list":[{"start":"2026-12-01T10:00:00Z"}]}`}, false},
		}},
		{"a templated json_has", `{json_has: 'list.#(slot=={{ .X.slot }})', class: success}`, nil, []tcase{
			{answer{body: `{"list":[{"slot":7}]}`}, true}, {answer{body: `{"list":[{"slot":8}]}`}, false},
		}},
		{"a templated body_regex", `{body_regex: '>{{ quotemeta .Booking.Name }}\s*\({{ .Booking.Court }}\)<', class: success}`,
			func(d *profile.Data) { d.Booking.Name = "a.b" }, []tcase{
				{answer{body: "<td>a.b (3)</td>"}, true}, {answer{body: "<td>axb (3)</td>"}, false},
			}},
		// A templated text that did not render never holds, not even against
		// a body that would contain the empty text.
		{"a body_contains that did not render", "{body_contains: '{{ .X.slot }}', class: success}",
			func(d *profile.Data) { d.X = map[string]string{} }, []tcase{
				{answer{body: "7"}, false}, {answer{body: ""}, false},
			}},
		{"a json path that did not render", `{json: {'list.#(slot=={{ .X.slot }}).ok': 'true'}, class: success}`,
			func(d *profile.Data) { d.X = nil }, []tcase{
				{answer{body: `{"list":[{"slot":7,"ok":true}]}`}, false},
			}},
		{"a templated regex that does not compile", "{body_regex: '{{ .Booking.Name }}', class: success}",
			func(d *profile.Data) { d.Booking.Name = "(" }, []tcase{
				{answer{body: "("}, false},
			}},
		{"an alternative that did not render leaves the others", "{body_contains: ['{{ .X.slot }}', plain], class: success}",
			func(d *profile.Data) { d.X = nil }, []tcase{
				{answer{body: "plain"}, true}, {answer{body: "7"}, false},
			}},
		{"a not that did not render does not hold", "{status: 200, not: {body_contains: '{{ .X.slot }}'}, class: success}",
			func(d *profile.Data) { d.X = nil }, []tcase{
				{answer{status: 200, body: "7"}, true},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := classifyWith(t, "      - "+tc.rule+"\n")
			d := classifyData()
			if tc.data != nil {
				tc.data(d)
			}
			req, err := p.Render(p.Submit, d)
			require.NoError(t, err)
			for i, c := range tc.cases {
				o := profile.Evaluate(p.Submit, req.Response(c.a.status, c.a.location, c.a.header, c.a.body))
				want := profile.Outcome{Class: profile.ClassUnknown, Rule: -1}
				if c.match {
					want = profile.Outcome{Class: profile.ClassSuccess, Rule: 0}
				}
				require.Equal(t, want, o, "case %d: %+v", i, c.a)
			}
		})
	}
}

// TestEvaluateTemplatedWithoutRequest: a Response not built from the
// rendered Request has no rendered texts, so templated conditions never
// hold, while literal ones still do.
func TestEvaluateTemplatedWithoutRequest(t *testing.T) {
	t.Parallel()
	p := classifyWith(t, `      - {body_contains: '{{ .Booking.Court }}', class: success}
      - {body_contains: '3', class: retry}
`)
	resp := &profile.Response{Status: 200, Body: "3"}
	require.Equal(t, profile.Outcome{Class: profile.ClassRetry, Rule: 1}, profile.Evaluate(p.Submit, resp))

	req, err := p.Render(p.Submit, classifyData())
	require.NoError(t, err)
	require.Equal(t, profile.Outcome{Class: profile.ClassSuccess, Rule: 0},
		profile.Evaluate(p.Submit, req.Response(200, "", nil, "3")))
}

// TestEvaluateFirstRuleWins: rules are tried in order; Rule is the index of
// the one that matched.
func TestEvaluateFirstRuleWins(t *testing.T) {
	t.Parallel()
	p := classifyWith(t, `      - {status: 409, json: {code: conflict}, class: sold_out}
      - {status: 409, class: retry}
      - {json_has: error, class: fatal}
      - {class: not_open}
`)
	req, err := p.Render(p.Submit, classifyData())
	require.NoError(t, err)
	tests := []struct {
		a    answer
		want profile.Outcome
	}{
		{answer{status: 409, body: `{"code":"conflict","error":1}`}, profile.Outcome{Class: profile.ClassSoldOut, Rule: 0}},
		{answer{status: 409, body: `{"code":"other","error":1}`}, profile.Outcome{Class: profile.ClassRetry, Rule: 1}},
		{answer{status: 400, body: `{"error":1}`}, profile.Outcome{Class: profile.ClassFatal, Rule: 2}},
		{answer{status: 200}, profile.Outcome{Class: profile.ClassNotOpen, Rule: 3}},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, profile.Evaluate(p.Submit, req.Response(tc.a.status, "", nil, tc.a.body)), "%+v", tc.a)
	}
}

// TestEvaluateReservation: where a success rule finds the reservation
// number: a json path, a CSS selector, a regex, or else the first capture
// group of the rule's body_regex.
func TestEvaluateReservation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rule string
		a    answer
		want string
	}{
		{"json path", "{status: 200, class: success, reservation: {json: order.code}}",
			answer{status: 200, body: `{"order":{"code":"A-17"}}`}, "A-17"},
		{"json path to a number", "{status: 200, class: success, reservation: {json: order.no}}",
			answer{status: 200, body: `{"order":{"no":1234}}`}, "1234"},
		{"json path to an object is no number", "{status: 200, class: success, reservation: {json: order}}",
			answer{status: 200, body: `{"order":{"no":1234}}`}, ""},
		{"json path missing", "{status: 200, class: success, reservation: {json: order.code}}",
			answer{status: 200, body: `{"ok":true}`}, ""},
		{"templated json path", `{status: 200, class: success, reservation: {json: 'list.#(court=={{ .Booking.Court }}).code'}}`,
			answer{status: 200, body: `{"list":[{"court":2,"code":"B"},{"court":3,"code":"C"}]}`}, "C"},
		{"css text, trimmed", "{status: 200, class: success, reservation: {css: strong.order-code}}",
			answer{status: 200, body: `<p>Booking confirmed <strong class="order-code"> ORD-9 </strong><strong class="order-code">ORD-10</strong></p>`}, "ORD-9"},
		{"css attribute", "{status: 200, class: success, reservation: {css: 'a.order', attr: data-code}}",
			answer{status: 200, body: `<a class="order" data-code="Z1" href="/o/1">see</a>`}, "Z1"},
		{"regex from the location", `{status: 302, class: success, reservation: {regex: 'no=(\d+)', from: location}}`,
			answer{status: 302, location: "/done?no=55", body: "no=66"}, "55"},
		{"first body_regex group", `{status: 200, body_regex: '예약번호:\s*([A-Z0-9-]+)', class: success}`,
			answer{status: 200, body: "예약번호: R-1 예약번호: R-2"}, "R-1"},
		{"the group of the alternative that matched", `{status: 200, body_regex: ['no=(\d+)', 'code: ([A-Z]+)'], class: success}`,
			answer{status: 200, body: "code: XY"}, "XY"},
		{"a body_regex without a group", `{status: 200, body_regex: 'no=\d+', class: success}`,
			answer{status: 200, body: "no=12"}, ""},
		{"a templated body_regex group", `{status: 200, body_regex: 'court {{ .Booking.Court }}: (\w+)', class: success}`,
			answer{status: 200, body: "court 2: B court 3: C"}, "C"},
		{"a reservation beats the body_regex group", `{status: 200, body_regex: 'no=(\d+)', class: success, reservation: {json: code}}`,
			answer{status: 200, body: `{"code":"J","no=1":1}`}, "J"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := classifyWith(t, "      - "+tc.rule+"\n")
			req, err := p.Render(p.Submit, classifyData())
			require.NoError(t, err)
			o := profile.Evaluate(p.Submit, req.Response(tc.a.status, tc.a.location, tc.a.header, tc.a.body))
			require.Equal(t, profile.Outcome{Class: profile.ClassSuccess, Rule: 0, Reservation: tc.want}, o)
		})
	}

	// Only a success takes a number, even from a body_regex group.
	p := classifyWith(t, `      - {status: 409, body_regex: 'no=(\d+)', class: sold_out}
`)
	o := profile.Evaluate(p.Submit, &profile.Response{Status: 409, Body: "no=1"})
	require.Equal(t, profile.Outcome{Class: profile.ClassSoldOut, Rule: 0}, o)
}

// TestExtractLang: json extractions, templated json paths and regexes from
// a header, as a later step's .X sees them.
func TestExtractLang(t *testing.T) {
	t.Parallel()
	p := mustParse(t, langWith(t,
		"    path: /api/mine\n", `    path: /api/mine
    extract:
      mine: {json: 'holds.#(court=={{ .Booking.Court }}).id'}
      count: {json: 'holds.#'}
      whole: {json: holds}
      sid: {regex: 'sid=(\w+)', from: 'header:X-Session'}
      flag: {json: flag}
`))
	req, err := p.Render(p.Verify, classifyData())
	require.NoError(t, err)
	x := map[string]string{}
	n := p.Verify.ExtractInto(req.Response(200, "", hdr("X-Session", "a", "X-Session", "sid=S9"),
		`{"holds":[{"court":2,"id":"h2"},{"court":3,"id":"h3"}],"flag":false}`), x)
	require.Equal(t, map[string]string{"mine": "h3", "count": "2", "sid": "S9", "flag": "false"}, x, "an object or array is not a value")
	require.Equal(t, 4, n)

	// Rendered for another booking, the same path finds another hold.
	d := classifyData()
	d.Booking.Court = "2"
	req, err = p.Render(p.Verify, d)
	require.NoError(t, err)
	x = map[string]string{}
	p.Verify.ExtractInto(req.Response(200, "", nil, `{"holds":[{"court":2,"id":"h2"}]}`), x)
	require.Equal(t, "h2", x["mine"])

	// Without the rendered request the templated path finds nothing.
	x = map[string]string{}
	p.Verify.ExtractInto(&profile.Response{Body: `{"holds":[{"court":3,"id":"h3"}]}`}, x)
	require.NotContains(t, x, "mine")
	require.Equal(t, "1", x["count"])
}

// TestShippedCartProfileClassifies: the cartsim profile's rules on the
// answers the cart flavour gives.
func TestShippedCartProfileClassifies(t *testing.T) {
	t.Parallel()
	p, err := profile.Load("../../configs/sites/cartsim.yaml")
	require.NoError(t, err)
	d := classifyData()
	d.Cookies = map[string]string{"XSRF-TOKEN": "x1"}
	d.X = map[string]string{"login_token": "t", "hold_id": "H1", "confirm_url": "/checkout/H1/confirm"}
	eval := func(s *profile.Step, a answer) profile.Outcome {
		req, err := p.Render(s, d)
		require.NoError(t, err)
		return profile.Evaluate(s, req.Response(a.status, a.location, a.header, a.body))
	}
	require.Equal(t, profile.ClassSuccess, eval(p.Login, answer{status: 302, location: "/dashboard", header: hdr("Set-Cookie", "XSRF-TOKEN=abc; Path=/")}).Class)
	require.Equal(t, profile.ClassUnknown, eval(p.Login, answer{status: 302, location: "/dashboard"}).Class, "no CSRF cookie, no login")
	require.Equal(t, profile.ClassFatal, eval(p.Login, answer{status: 200, body: "<p>아이디 또는 비밀번호가 올바르지 않습니다.</p>"}).Class)
	require.Equal(t, profile.ClassHeld, eval(p.Submit, answer{status: 201, body: `{"ok":true,"hold":{"id":"H1"}}`}).Class)
	require.Equal(t, profile.ClassConflict, eval(p.Submit, answer{status: 409, body: `{"ok":false,"code":"conflict"}`}).Class)
	require.Equal(t, profile.ClassNotOpen, eval(p.Submit, answer{status: 422, body: `{"ok":false,"code":"notice"}`}).Class)
	confirm := p.Checkout[len(p.Checkout)-1]
	require.Equal(t, profile.Outcome{Class: profile.ClassSuccess, Rule: 0, Reservation: "C-42"},
		eval(confirm, answer{status: 200, body: `<h1>Booking confirmed</h1><strong class="order-code">C-42</strong>`}))
	list := `{"reservations":[{"start":"2026-12-01T10:00:00+09:00","resource_id":3,"status":"STATUS","code":"C-7","hold_id":"H7"}]}`
	require.Equal(t, profile.Outcome{Class: profile.ClassSuccess, Rule: 0, Reservation: "C-7"},
		eval(p.Verify, answer{status: 200, body: strings.Replace(list, "STATUS", "confirmed", 1)}))
	require.Equal(t, profile.ClassHeld, eval(p.Verify, answer{status: 200, body: strings.Replace(list, "STATUS", "held", 1)}).Class)
	require.Equal(t, profile.ClassRetry, eval(p.Verify, answer{status: 200, body: strings.Replace(strings.Replace(list, "STATUS", "confirmed", 1), `"resource_id":3`, `"resource_id":4`, 1)}).Class)
}
