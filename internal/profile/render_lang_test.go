package profile_test

import (
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/korean"

	"reserver/internal/profile"
)

// renderWith is a profile whose submit is a POST to /api with the given
// step keys (indented for the step), after a page extracting next and tok;
// top is put before steps (time_zone, charset, headers).
func renderWith(t *testing.T, top, step string) *profile.Profile {
	t.Helper()
	return mustParse(t, renderSrc(top, step))
}

func renderSrc(top, step string) string {
	return `name: rnd
base_url: http://127.0.0.1:9000/app
` + top + `steps:
  pages:
    - name: list
      path: /list
      extract:
        next: {json: next}
        tok: {regex: 'tok=(\w+)'}
  submit:
    method: POST
    path: /api
` + step + `    classify:
      - {status: 200, class: success}
`
}

// renderData is the booking the render tests fill templates with; the play
// date is midnight in loc.
func renderData(loc *time.Location) *profile.Data {
	return &profile.Data{
		Booking: profile.BookingData{Court: "3", Name: "홍길동", People: 2, Start: "10:00", End: "11:00",
			Phone: "+821012345678", Date: time.Date(2026, 12, 1, 0, 0, 0, 0, loc)},
		Account: profile.AccountData{Username: "u1", Password: "pw-1"},
		X:       map[string]string{"next": "/pay/7?x=1", "tok": "T-1"},
		Now:     time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC),
	}
}

func render(t *testing.T, p *profile.Profile, d *profile.Data) *profile.Request {
	t.Helper()
	r, err := p.Render(p.Submit, d)
	require.NoError(t, err)
	return r
}

func TestRenderJSON(t *testing.T) {
	t.Parallel()
	p := renderWith(t, "", `    json:
      z: "{{ .Booking.Name }}"
      a: 1
      m:
        y: [1, two, !number "{{ .Booking.People }}", {k: v}, [true]]
        x: null
      b: true
      f: -1.5
      e: []
      o: {}
      s: "012"
      n: !number "{{ .Booking.Court }}"
      ok: !bool "{{ eq .Booking.Court \"3\" }}"
`)
	r := render(t, p, renderData(p.Location))
	require.Equal(t, profile.JSONContentType, r.ContentType)
	require.Equal(t, `{"z":"홍길동","a":1,"m":{"y":[1,"two",2,{"k":"v"},[true]],"x":null},"b":true,"f":-1.5,"e":[],"o":{},"s":"012","n":3,"ok":true}`,
		string(r.Body), "keys in the profile's order; literals as written; templates as rendered")
	require.True(t, json.Valid(r.Body))
}

// TestRenderJSONEscaping: a rendered string is a JSON string whatever it
// holds, HTML characters and Korean as they are.
func TestRenderJSONEscaping(t *testing.T) {
	t.Parallel()
	p := renderWith(t, "", "    json:\n      name: \"{{ .Booking.Name }}\"\n      list: [\"{{ .Booking.Name }}\"]\n")
	for _, name := range []string{`<b>&"q"\ 홍길동`, "a\nb\tc\x01", "</script>", `{"x":1}`, ""} {
		d := renderData(p.Location)
		d.Booking.Name = name
		r := render(t, p, d)
		var got struct {
			Name string   `json:"name"`
			List []string `json:"list"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &got), "%s", r.Body)
		require.Equal(t, name, got.Name)
		require.Equal(t, []string{name}, got.List)
	}
	d := renderData(p.Location)
	d.Booking.Name = `<b>&"q"\ 홍길동`
	require.Equal(t, `{"name":"<b>&\"q\"\\ 홍길동","list":["<b>&\"q\"\\ 홍길동"]}`, string(render(t, p, d).Body),
		"no \\u003c for < > &, Korean unescaped")
}

func TestRenderJSONNumberAndBool(t *testing.T) {
	t.Parallel()
	p := renderWith(t, "", "    json:\n      n: !number \"{{ .Booking.Court }}\"\n      b: !bool \"{{ .Booking.Name }}\"\n")
	tests := []struct {
		court, name string
		want        string // the body, or the error
	}{
		{"3", "true", `{"n":3,"b":true}`},
		{"-1.5e3", "false", `{"n":-1.5e3,"b":false}`},
		{"0", "true", `{"n":0,"b":true}`},
		{"3a", "true", "submit.json: submit.json.n did not render a number"},
		{"", "true", "submit.json: submit.json.n did not render a number"},
		{"01", "true", "submit.json: submit.json.n did not render a number"},
		{"0x1F", "true", "submit.json: submit.json.n did not render a number"},
		{"3", "yes", "submit.json: submit.json.b did not render true or false"},
		{"3", "True", "submit.json: submit.json.b did not render true or false"},
		{"3", " true", "submit.json: submit.json.b did not render true or false"},
		{"3", "", "submit.json: submit.json.b did not render true or false"},
	}
	for _, tc := range tests {
		d := renderData(p.Location)
		d.Booking.Court, d.Booking.Name = tc.court, tc.name
		r, err := p.Render(p.Submit, d)
		if strings.HasPrefix(tc.want, "{") {
			require.NoError(t, err, "%q %q", tc.court, tc.name)
			require.Equal(t, tc.want, string(r.Body))
			continue
		}
		require.ErrorIs(t, err, profile.ErrRender, "%q %q", tc.court, tc.name)
		require.Contains(t, err.Error(), tc.want)
		if tc.court != "" {
			require.NotContains(t, err.Error(), tc.court, "render errors never contain rendered values")
		}
	}
}

// TestRenderJSONSecrets: a string leaf under a key named like a password or
// token is masked wherever the exchange is shown, in arrays and nested
// objects too; other values are not.
func TestRenderJSONSecrets(t *testing.T) {
	t.Parallel()
	p := renderWith(t, "", `    json:
      user: "{{ .Account.Username }}"
      user_password: "{{ .Booking.Name }}"
      auth:
        api_token: "{{ .X.tok }}"
        Csrf: "{{ .X.next }}"
      tokens: ["{{ .Booking.Phone }}", "{{ .Booking.Court }}"]
      name: "{{ .Booking.Court }}-x"
      secret: ""
`)
	d := renderData(p.Location)
	r := render(t, p, d)
	require.ElementsMatch(t, []string{"pw-1", "홍길동", "T-1", "/pay/7?x=1", "+821012345678", "3"}, r.Secrets,
		"the account password, then each sensitive leaf; an empty one is not a secret")
	require.NotContains(t, r.Secrets, "u1")
	require.NotContains(t, r.Secrets, "3-x")

	// A form field or a multipart field named so is masked too.
	p = renderWith(t, "", "    multipart:\n      login_pw: \"{{ .X.tok }}\"\n      who: \"{{ .Booking.Name }}\"\n")
	require.Equal(t, []string{"pw-1", "T-1"}, render(t, p, d).Secrets)
}

// parseMultipart reads a multipart/form-data request body back into its
// fields, in order.
func parseMultipart(t *testing.T, r *profile.Request) [][2]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.ContentType)
	require.NoError(t, err)
	require.Equal(t, "multipart/form-data", mt)
	mr := multipart.NewReader(strings.NewReader(string(r.Body)), params["boundary"])
	var out [][2]string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		b, err := io.ReadAll(part)
		require.NoError(t, err)
		out = append(out, [2]string{part.FormName(), string(b)})
	}
}

func TestRenderMultipart(t *testing.T) {
	t.Parallel()
	const fields = "    multipart:\n      name: \"{{ .Booking.Name }}\"\n      court: \"{{ .Booking.Court }}\"\n      note: 'a \"b\" & c'\n"
	p := renderWith(t, "", fields)
	r := render(t, p, renderData(p.Location))
	require.Equal(t, [][2]string{{"name", "홍길동"}, {"court", "3"}, {"note", `a "b" & c`}}, parseMultipart(t, r))

	// A step with its own charset sends its values in it, as a browser on
	// that page would.
	p = renderWith(t, "", "    charset: euc-kr\n"+fields)
	r = render(t, p, renderData(p.Location))
	euckr, err := korean.EUCKR.NewEncoder().String("홍길동")
	require.NoError(t, err)
	require.Equal(t, [][2]string{{"name", euckr}, {"court", "3"}, {"note", `a "b" & c`}}, parseMultipart(t, r))

	// A character EUC-KR lacks goes as a numeric reference.
	d := renderData(p.Location)
	d.Booking.Name = "😀"
	require.Equal(t, "&#128512;", parseMultipart(t, render(t, p, d))[0][1])
}

// TestRenderStepCharset: a step's own charset decides how its form and
// urlquery encode, whatever the site's is; the other steps keep the site's.
func TestRenderStepCharset(t *testing.T) {
	t.Parallel()
	const step = "    form:\n      name: \"{{ .Booking.Name }}\"\n      q: \"{{ urlquery .Booking.Name }}\"\n"
	const utf8Name = "%ED%99%8D%EA%B8%B8%EB%8F%99"
	const euckrName = "%C8%AB%B1%E6%B5%BF"
	tests := []struct {
		name, top, step, want string
	}{
		{"a UTF-8 site", "", step, "name=" + utf8Name + "&q=" + strings.ReplaceAll(utf8Name, "%", "%25")},
		{"an EUC-KR step on a UTF-8 site", "", "    charset: EUC-KR\n" + step, "name=" + euckrName + "&q=" + strings.ReplaceAll(euckrName, "%", "%25")},
		{"a UTF-8 step on an EUC-KR site", "charset: euc-kr\n", "    charset: utf-8\n" + step, "name=" + utf8Name + "&q=" + strings.ReplaceAll(utf8Name, "%", "%25")},
		{"an EUC-KR site", "charset: euc-kr\n", step, "name=" + euckrName + "&q=" + strings.ReplaceAll(euckrName, "%", "%25")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := renderWith(t, tc.top, tc.step)
			r := render(t, p, renderData(p.Location))
			require.Equal(t, tc.want, string(r.Body))
			require.Equal(t, profile.FormContentType, r.ContentType)
		})
	}

	// The page keeps the site's charset: its urlquery is UTF-8.
	p := mustParse(t, langWith(t,
		"      path: /list\n", "      path: '/list?n={{ urlquery .Account.Username }}'\n",
		"      path: /api/checkout\n", "      path: '/api/checkout?n={{ urlquery .Booking.Name }}'\n      charset: euc-kr\n",
		"      path: /form?list=", "      path: '/form?n={{ urlquery .Booking.Name }}&list=",
		"{{ .Booking.Court }}\n      every_submit", "{{ .Booking.Court }}'\n      every_submit",
	))
	d := renderData(p.Location)
	d.X = map[string]string{"list_id": "1", "hold_id": "h"}
	r, err := p.Render(p.Pages[1], d)
	require.NoError(t, err)
	require.Equal(t, "/form?n="+utf8Name+"&list=1&court=3", r.Path)
	r, err = p.Render(p.Checkout[0], d)
	require.NoError(t, err)
	require.Equal(t, "/api/checkout?n="+euckrName, r.Path)
}

// TestRenderCookies: .Cookies in a template reads the jar (the session
// fills Data.Cookies for a step with UsesCookies); index names a cookie
// without failing when it is missing.
func TestRenderCookies(t *testing.T) {
	t.Parallel()
	p := renderWith(t, "", `    headers:
      X-XSRF-TOKEN: '{{ index .Cookies "XSRF-TOKEN" }}'
      X-Sid: '{{ index .Cookies "sid" }}{{ index .Cookies "XSRF-TOKEN" }}'
`)
	require.True(t, p.Submit.UsesCookies)
	require.Equal(t, []string{"XSRF-TOKEN", "sid"}, p.Submit.Cookies)
	require.False(t, p.Pages[0].UsesCookies)
	d := renderData(p.Location)
	d.Cookies = map[string]string{"XSRF-TOKEN": "x%3D1", "sid": "S"}
	r := render(t, p, d)
	require.Equal(t, "x%3D1", r.Header.Get("X-Xsrf-Token"), "the cookie value as the jar holds it")
	require.Equal(t, "Sx%3D1", r.Header.Get("X-Sid"))
	d.Cookies = nil
	r = render(t, p, d)
	require.Empty(t, r.Header.Get("X-Xsrf-Token"))

	// A field reference needs the cookie.
	p = renderWith(t, "", "    form:\n      sid: '{{ .Cookies.sid }}'\n")
	require.True(t, p.Submit.UsesCookies)
	d.Cookies = map[string]string{"sid": "S2"}
	require.Equal(t, "sid=S2", string(render(t, p, d).Body))
	d.Cookies = map[string]string{}
	_, err := p.Render(p.Submit, d)
	require.ErrorIs(t, err, profile.ErrRender)

	// Profile-wide headers go with every step: then every step uses them.
	p = renderWith(t, "headers:\n  X-Csrf: '{{ index .Cookies \"csrf\" }}'\n", "")
	for _, s := range p.Steps() {
		require.True(t, s.UsesCookies, s.Name)
	}
	d.Cookies = map[string]string{"csrf": "C"}
	r, err = p.Render(p.Pages[0], d)
	require.NoError(t, err)
	require.Equal(t, "C", r.Header.Get("X-Csrf"))
}

// TestRenderDateHelpers: iso, adddays, at, weekday and weekdayko in the
// site zone, and .Booking.StartAt / EndAt.
func TestRenderDateHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, tmpl string
		date             [3]int // the play date, in the zone
		end              string
		want             string
	}{
		{"iso of the start", "Asia/Seoul", "{{ iso .Booking.StartAt }}", [3]int{2026, 12, 1}, "", "2026-12-01T10:00:00+09:00"},
		{"iso of the end", "Asia/Seoul", "{{ iso .Booking.EndAt }}", [3]int{2026, 12, 1}, "", "2026-12-01T11:00:00+09:00"},
		{"an end at 24:00 is the next midnight", "Asia/Seoul", "{{ iso .Booking.EndAt }}", [3]int{2026, 12, 31}, "24:00", "2027-01-01T00:00:00+09:00"},
		{"iso of now, in the site zone", "Asia/Seoul", "{{ iso .Now }}", [3]int{2026, 12, 1}, "", "2026-12-01T08:00:00+09:00"},
		{"iso of the date", "Asia/Seoul", "{{ iso .Booking.Date }}", [3]int{2026, 12, 1}, "", "2026-12-01T00:00:00+09:00"},
		{"at", "Asia/Seoul", `{{ iso (at "09:30" .Booking.Date) }}`, [3]int{2026, 12, 1}, "", "2026-12-01T09:30:00+09:00"},
		{"at the end of a day", "Asia/Seoul", `{{ iso (at "24:00" .Booking.Date) }}`, [3]int{2026, 12, 1}, "", "2026-12-02T00:00:00+09:00"},
		{"at takes the day of an instant in the site zone", "Asia/Seoul", `{{ iso (at "07:00" .Now) }}`, [3]int{2026, 12, 1}, "", "2026-12-01T07:00:00+09:00"},
		{"adddays", "Asia/Seoul", `{{ iso (adddays 3 .Booking.StartAt) }}`, [3]int{2026, 12, 30}, "", "2027-01-02T10:00:00+09:00"},
		{"adddays back, by a text", "Asia/Seoul", `{{ yyyymmdd (adddays "-7" .Booking.Date) }}`, [3]int{2026, 12, 1}, "", "20261124"},
		{"weekday", "Asia/Seoul", "{{ weekday .Booking.Date }}", [3]int{2026, 12, 1}, "", "Tue"},
		{"weekdayko", "Asia/Seoul", "{{ weekdayko .Booking.Date }} {{ weekdayko (adddays 5 .Booking.Date) }}", [3]int{2026, 12, 1}, "", "화 일"},
		{"weekday of now in the site zone", "Asia/Seoul", "{{ weekday .Now }}", [3]int{2026, 12, 1}, "", "Tue"}, // Monday 23:00 UTC
		// New York springs forward on 2026-03-08 and falls back on 2026-11-01:
		// adddays keeps the wall clock, the day is 23 or 25 hours.
		{"adddays across spring forward", "America/New_York", `{{ iso (adddays 1 .Booking.StartAt) }}`, [3]int{2026, 3, 7}, "", "2026-03-08T10:00:00-04:00"},
		{"adddays back across spring forward", "America/New_York", `{{ iso (adddays -1 .Booking.StartAt) }}`, [3]int{2026, 3, 9}, "", "2026-03-08T10:00:00-04:00"},
		{"adddays across fall back", "America/New_York", `{{ iso (adddays 1 .Booking.StartAt) }}`, [3]int{2026, 10, 31}, "", "2026-11-01T10:00:00-05:00"},
		{"a week across spring forward", "America/New_York", `{{ iso (adddays 7 (at "00:00" .Booking.Date)) }}`, [3]int{2026, 3, 2}, "", "2026-03-09T00:00:00-04:00"},
		{"iso on the day of the change", "America/New_York", "{{ iso .Booking.StartAt }} {{ weekday .Booking.Date }}", [3]int{2026, 3, 8}, "", "2026-03-08T10:00:00-04:00 Sun"},
		{"an end at 24:00 on the day of the change", "America/New_York", "{{ iso .Booking.EndAt }}", [3]int{2026, 11, 1}, "24:00", "2026-11-02T00:00:00-05:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := renderWith(t, "time_zone: "+tc.zone+"\n", "    body: '"+tc.tmpl+"'\n    content_type: text/plain\n")
			d := renderData(p.Location)
			d.Booking.Date = time.Date(tc.date[0], time.Month(tc.date[1]), tc.date[2], 0, 0, 0, 0, p.Location)
			if tc.end != "" {
				d.Booking.End = tc.end
			}
			require.Equal(t, tc.want, string(render(t, p, d).Body))
		})
	}
}

// TestRenderDateHelperErrors: a helper given something it cannot use is a
// render error, never a wrong date.
func TestRenderDateHelperErrors(t *testing.T) {
	t.Parallel()
	for _, tmpl := range []string{
		`{{ at "9:3" .Booking.Date }}`,
		`{{ at "24:30" .Booking.Date }}`,
		`{{ at .Booking.Start .Booking.Court }}`,
		`{{ iso .Booking.Court }}`,
		`{{ adddays "x" .Booking.Date }}`,
		`{{ adddays 1 .Booking.Start }}`,
		`{{ weekday .Booking.Name }}`,
		`{{ weekdayko 3 }}`,
	} {
		p := renderWith(t, "", "    body: '"+tmpl+"'\n    content_type: text/plain\n")
		_, err := p.Render(p.Submit, renderData(p.Location))
		require.ErrorIs(t, err, profile.ErrRender, tmpl)
	}
}

// TestRenderPathAllTemplate: a path that is all template (a URL the site
// handed out) is checked when rendered: it must start with "/".
func TestRenderPathAllTemplate(t *testing.T) {
	t.Parallel()
	p := mustParse(t, strings.Replace(renderSrc("", ""), "    path: /api\n", "    path: '{{ .X.next }}'\n", 1))
	d := renderData(p.Location)
	r := render(t, p, d)
	require.Equal(t, "/pay/7?x=1", r.Path)
	require.Equal(t, "http://127.0.0.1:9000/app/pay/7?x=1", r.URL)

	for _, next := range []string{"pay/7", "https://elsewhere.example/pay", ""} {
		d.X["next"] = next
		_, err := p.Render(p.Submit, d)
		require.ErrorIs(t, err, profile.ErrRender, next)
		require.ErrorContains(t, err, "submit.path does not start with /")
	}
}
