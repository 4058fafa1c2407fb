package profile_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

func TestAlertText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, want string }{
		{`<div>menu</div><script>alert("예약 신청 기간이 아닙니다");</script>`, "예약 신청 기간이 아닙니다"},
		{`<script>window.alert('It\'s not open yet');</script>`, "It's not open yet"},
		{`<script>alert( "line one\nline two" )</script>`, "line one\nline two"},
		// html/template writes a Go string in a script as a JSON-like literal.
		{`<script>alert("\u003cb\u003e \uc608\uc57d \ud83c\udfbe \x41");</script>`, "<b> 예약 🎾 A"},
		{`<script>alert(msg); alert("the second")</script>`, "the second"},
		{`<script>alert("\q\u{1F3BE}")</script>`, "q🎾"},
		{`<script>alert("bad \uZZZZ escape")</script>`, `bad \uZZZZ escape`},
		{`<p>no alert here</p>`, ""},
		{`<script>alert(</script>`, ""},
	} {
		require.Equal(t, tc.want, profile.AlertText(tc.body), tc.body)
	}
}

// A step's message is its declared place (alternatives in order, the
// profile's own for a step without one), else the page's alert.
func TestStepMessage(t *testing.T) {
	t.Parallel()
	page := `<div id="header">시립 테니스장</div><div class="msg"><p class="msg-text">이미 예약된 시간입니다</p></div>` +
		`<script>alert("from the alert")</script><div id="footer">Copyright</div>`
	resp := func() *profile.Response { return &profile.Response{Status: 200, Body: page} }

	p := mustParse(t, minimal)
	require.Equal(t, "from the alert", p.Submit.Message(resp()), "undeclared: the alert")

	p = mustParse(t, withTop("message: {css: p.msg-text}\n"))
	for _, s := range p.Steps() {
		require.Equal(t, "이미 예약된 시간입니다", s.Message(resp()), "every step has the profile's message: %s", s.Name)
	}

	p = mustParse(t, minimalWith("    path: /go\n", "    path: /go\n    message: [{css: '#nowhere'}, {regex: 'id=\"footer\">([^<]+)<'}]\n"))
	require.Equal(t, "Copyright", p.Submit.Message(resp()), "the first alternative that finds text")
	require.Equal(t, "from the alert", p.Pages[0].Message(resp()), "the other steps keep the default")

	p = mustParse(t, withTop("message: {css: '#nowhere'}\n"))
	require.Equal(t, "from the alert", p.Submit.Message(resp()), "nothing found where declared: the alert")
}

func TestLoadMessageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, src, want string }{
		{"not an extraction", withTop("message: p.msg\n"), "message must be a mapping"},
		{"an empty list", withTop("message: []\n"), "message must name at least one place"},
		{"a template", withTop("message: {regex: '{{ .Booking.Court }}(.*)'}\n"), "message is not a template position"},
		{"a bad selector", withTop("message: {css: 'p[['}\n"), "message: bad CSS selector"},
		{"no capture group", minimalWith("    path: /go\n", "    path: /go\n    message: {regex: 'alert'}\n"), "submit.message: regex needs a capture group"},
		{"a list item", withTop("message: [{css: p}, {xpath: //p}]\n"), `message[1]: unknown key "xpath"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := profile.Parse("site.yaml", []byte(tc.src))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// invalid belongs to the page visits and the submit: the site refusing the
// request itself. Elsewhere it is refused with the classes that fit.
func TestClassInvalidRoles(t *testing.T) {
	t.Parallel()
	p := mustParse(t, minimalWith("      - {body_regex: '^wait', class: retry}\n",
		"      - {body_regex: '^wait', class: retry}\n      - {body_contains: 잘못된 요청입니다, class: invalid}\n"))
	require.Equal(t, profile.ClassInvalid, profile.Classify(p.Submit, &profile.Response{Status: 200, Body: "<p>잘못된 요청입니다</p>"}))
	require.True(t, profile.ClassInvalid.Valid())

	src := strings.Replace(minimal, "    extract:\n      token:", "    classify: [{body_contains: 잘못된, class: invalid}, {status: 200, class: success}]\n    extract:\n      token:", 1)
	p = mustParse(t, src)
	require.Equal(t, profile.ClassInvalid, profile.Classify(p.Pages[0], &profile.Response{Status: 200, Body: "잘못된 요청입니다"}))

	login := strings.Replace(minimal, "    extract:\n      csrf:", "    classify: [{body_contains: x, class: invalid}]\n    extract:\n      csrf:", 1)
	_, err := profile.Parse("site.yaml", []byte(login))
	require.ErrorContains(t, err, `class "invalid" does not belong to a login step`)
}
