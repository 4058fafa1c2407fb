package profile_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/korean"

	"reserver/internal/profile"
)

const minimal = `name: mini
base_url: http://127.0.0.1:9000/app/
steps:
  login:
    method: POST
    path: /login
    form:
      id: "{{ .Account.Username }}"
      pw: "{{ .Account.Password }}"
    extract:
      csrf: {regex: 'csrf = "([^"]+)"'}
  trace:
    path: /page?d={{ yyyymmdd .Booking.Date }}
    extract:
      token: {css: 'input[name=tok]', attr: value}
      title: {css: 'h1'}
  submit:
    method: POST
    path: /go
    headers:
      Referer: /page
      X-Csrf: "{{ .X.csrf }}"
    form:
      name: "{{ .Booking.Name }}"
      token: "{{ .X.token }}"
      n: "{{ add .Booking.People 1 }}"
    classify:
      - {status: 200, body_contains: OK, class: success, reservation: {regex: 'no=(\d+)'}}
      - {status: [301, 302], location: /login, class: session_expired}
      - {header: {X-Block: yes}, class: blocked}
      - {body_regex: '^wait', class: retry}
`

func mustParse(t *testing.T, src string) *profile.Profile {
	t.Helper()
	p, err := profile.Parse("test.yaml", []byte(src))
	require.NoError(t, err)
	return p
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	p := mustParse(t, minimal)
	require.Equal(t, "mini", p.Name)
	require.Equal(t, "http://127.0.0.1:9000/app", p.BaseURL)
	require.Equal(t, "utf-8", p.Charset)
	require.Equal(t, "Asia/Seoul", p.Location.String())
	require.Equal(t, profile.DefaultTimeout, p.Timeout)
	require.InDelta(t, 2.0, p.RatePerSecond, 0)
	require.Contains(t, p.UserAgent, "Chrome/")
	require.NotNil(t, p.Probe)
	require.Nil(t, p.Verify)
	require.Nil(t, p.Opening)
	require.Equal(t, http.MethodGet, p.Pages[0].Method)
	_, ok := p.OpensAt(time.Now(), "10:00", "11:00")
	require.False(t, ok)
}

func TestClassify(t *testing.T) {
	t.Parallel()
	p := mustParse(t, minimal)
	hdr := func(k, v string) http.Header { h := http.Header{}; h.Set(k, v); return h }
	tests := []struct {
		name string
		resp profile.Response
		want profile.Class
		rsv  string
	}{
		{"success with number", profile.Response{Status: 200, Body: "OK no=123"}, profile.ClassSuccess, "123"},
		{"success without number", profile.Response{Status: 200, Body: "OK"}, profile.ClassSuccess, ""},
		{"status must match too", profile.Response{Status: 500, Body: "OK"}, profile.ClassUnknown, ""},
		{"redirect to login", profile.Response{Status: 302, Location: "http://x/login?r=1"}, profile.ClassSessionExpired, ""},
		{"status list", profile.Response{Status: 301, Location: "/login"}, profile.ClassSessionExpired, ""},
		{"redirect elsewhere", profile.Response{Status: 302, Location: "/main"}, profile.ClassUnknown, ""},
		{"header", profile.Response{Status: 403, Header: hdr("X-Block", "yes please")}, profile.ClassBlocked, ""},
		{"header absent", profile.Response{Status: 403, Header: http.Header{}}, profile.ClassUnknown, ""},
		{"regex", profile.Response{Status: 200, Body: "wait a bit"}, profile.ClassRetry, ""},
		{"first rule wins", profile.Response{Status: 200, Body: "OK", Header: hdr("X-Block", "yes")}, profile.ClassSuccess, ""},
		{"nothing", profile.Response{Status: 200, Body: "hello"}, profile.ClassUnknown, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, profile.Classify(p.Submit, &tc.resp))
			out := profile.Evaluate(p.Submit, &tc.resp)
			require.Equal(t, tc.want, out.Class)
			require.Equal(t, tc.rsv, out.Reservation)
		})
	}
	// A step without rules: 2xx/3xx succeed.
	require.Equal(t, profile.ClassSuccess, profile.Classify(p.Login, &profile.Response{Status: 302}))
	require.Equal(t, profile.ClassUnknown, profile.Classify(p.Login, &profile.Response{Status: 404}))
}

func TestExtract(t *testing.T) {
	t.Parallel()
	p := mustParse(t, minimal)
	x := map[string]string{}
	n := p.Pages[0].ExtractInto(&profile.Response{Status: 200, Body: `<h1> Court 3 </h1><form><input name="tok" value="t-1"></form>`}, x)
	require.Equal(t, 2, n)
	require.Equal(t, map[string]string{"token": "t-1", "title": "Court 3"}, x)
	x = map[string]string{}
	require.Equal(t, 1, p.Login.ExtractInto(&profile.Response{Body: `<script>var csrf = "abc";</script>`}, x))
	require.Equal(t, "abc", x["csrf"])
	require.Zero(t, p.Login.ExtractInto(&profile.Response{Body: `nothing here`}, map[string]string{}))
}

func TestRender(t *testing.T) {
	t.Parallel()
	p := mustParse(t, minimal)
	d := &profile.Data{
		Booking: profile.BookingData{Name: "홍 길동&", People: 2, Date: time.Date(2026, 12, 1, 0, 0, 0, 0, p.Location)},
		Account: profile.AccountData{Username: "u1", Password: "p@ss word"},
		X:       map[string]string{"csrf": "C1", "token": "T1"},
	}
	r, err := p.Render(p.Submit, d)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:9000/app/go", r.URL)
	require.Equal(t, "/go", r.Path)
	require.Equal(t, "http://127.0.0.1:9000/app/page", r.Header.Get("Referer"))
	require.Equal(t, "C1", r.Header.Get("X-Csrf"))
	require.Equal(t, profile.FormContentType, r.ContentType)
	require.Equal(t, "name=%ED%99%8D+%EA%B8%B8%EB%8F%99%26&token=T1&n=3", string(r.Body))
	require.Contains(t, r.Secrets, "p@ss word")
	require.Contains(t, r.Secrets, "T1", "a field named like a token is secret")

	r, err = p.Render(p.Login, d)
	require.NoError(t, err)
	require.Equal(t, "id=u1&pw=p%40ss+word", string(r.Body))

	r, err = p.Render(p.Pages[0], d)
	require.NoError(t, err)
	require.Equal(t, "/page?d=20261201", r.Path)
	require.Nil(t, r.Body)

	// Missing extraction: an error, never "<no value>".
	d.X = nil
	_, err = p.Render(p.Submit, d)
	require.ErrorIs(t, err, profile.ErrRender)
	require.NotContains(t, err.Error(), "p@ss")
}

func TestRenderEUCKR(t *testing.T) {
	t.Parallel()
	src := strings.Replace(minimal, "name: mini\n", "name: mini\ncharset: EUC-KR\n", 1)
	p := mustParse(t, src)
	require.Equal(t, "euc-kr", p.Charset)
	d := &profile.Data{Booking: profile.BookingData{Name: "홍길동"}, X: map[string]string{"csrf": "c", "token": "t"}}
	r, err := p.Render(p.Submit, d)
	require.NoError(t, err)
	want, err := korean.EUCKR.NewEncoder().String("홍길동")
	require.NoError(t, err)
	require.Equal(t, "name="+url.QueryEscape(want)+"&token=t&n=1", string(r.Body))
	require.Equal(t, "name=%C8%AB%B1%E6%B5%BF&token=t&n=1", string(r.Body))

	// A character EUC-KR cannot hold goes as a numeric reference, like a browser.
	d.Booking.Name = "😀"
	r, err = p.Render(p.Submit, d)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(r.Body), "name="+url.QueryEscape("&#128512;")+"&"), string(r.Body))
}

func TestTemplateFunctions(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Seoul")
	require.NoError(t, err)
	d := &profile.Data{
		Booking: profile.BookingData{
			Date: time.Date(2026, 12, 1, 0, 0, 0, 0, loc), Start: "09:30", Name: `a"b`,
			Phone: "+821012345678", Fields: map[string]string{"team": " x "},
		},
		Now: time.Date(2026, 11, 30, 23, 59, 58, 0, time.UTC), // 08:59:58 next day in Seoul
	}
	tests := []struct{ tmpl, want string }{
		{`{{ date "2006-01-02" .Booking.Date }}`, "2026-12-01"},
		{`{{ date "15:04:05" .Now }}`, "08:59:58"},
		{`{{ datefmt "yyyy.MM.dd HH:mm" .Now }}`, "2026.12.01 08:59"},
		{`{{ datefmt "yyyyMMdd" .Booking.Date }}`, "20261201"},
		{`{{ yyyymmdd .Booking.Date }}`, "20261201"},
		{`{{ hour .Booking.Start }}:{{ minute .Booking.Start }}`, "9:30"},
		{`{{ sub (hour .Booking.Start) 5 }}`, "4"},
		{`{{ add "3" 4 }}`, "7"},
		{`{{ atoi "12" }}`, "12"},
		{`{{ json .Booking.Name }}`, `a\"b`},
		{`{{ json .Booking.Fields }}`, `{"team":" x "}`},
		{`{{ default "none" (index .Booking.Fields "missing") }}`, "none"},
		{`{{ trim (index .Booking.Fields "team") | upper }}`, "X"},
		{`{{ lower "AbC" }}`, "abc"},
		{`{{ urlquery "a b&c" }}`, "a+b%26c"},
		{`{{ localphone .Booking.Phone }}`, "01012345678"},
		{`{{ dashphone .Booking.Phone }}`, "010-1234-5678"},
		{`{{ quotemeta "a.b" }}`, `a\.b`},
	}
	for _, tc := range tests {
		t.Run(tc.tmpl, func(t *testing.T) {
			t.Parallel()
			src := strings.Replace(minimal, "path: /go\n", "path: /go\n    body: '"+strings.ReplaceAll(tc.tmpl, "'", "''")+"'\n    content_type: text/plain\n", 1)
			src = strings.Replace(src, `    form:
      name: "{{ .Booking.Name }}"
      token: "{{ .X.token }}"
      n: "{{ add .Booking.People 1 }}"
`, "", 1)
			src = strings.Replace(src, "steps:", "fields:\n  - {name: team}\nsteps:", 1)
			p := mustParse(t, src)
			d := *d
			d.X = map[string]string{"csrf": "c"}
			r, err := p.Render(p.Submit, &d)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(r.Body))
		})
	}
}

func TestOpensAt(t *testing.T) {
	t.Parallel()
	base := strings.Replace(minimal, "steps:", "OPENING\nsteps:", 1)
	loc, err := time.LoadLocation("Asia/Seoul")
	require.NoError(t, err)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	tests := []struct {
		name, opening string
		play, want    time.Time
	}{
		{"7 days before", "opening: {days_before: 7, at: \"09:00\"}", day(2026, 12, 1), time.Date(2026, 11, 24, 9, 0, 0, 0, loc)},
		{"across a year", "opening: {days_before: 7, at: \"09:00\"}", day(2027, 1, 3), time.Date(2026, 12, 27, 9, 0, 0, 0, loc)},
		{"same day", "opening: {days_before: 0, at: \"06:30\"}", day(2026, 3, 1), time.Date(2026, 3, 1, 6, 30, 0, 0, loc)},
		{"monthly 25th", "opening: {monthly: {day: 25, at: \"10:00\"}}", day(2026, 12, 31), time.Date(2026, 11, 25, 10, 0, 0, 0, loc)},
		{"monthly in January", "opening: {monthly: {day: 25, at: \"10:00\"}}", day(2027, 1, 1), time.Date(2026, 12, 25, 10, 0, 0, 0, loc)},
		{"monthly last", "opening: {monthly: {day: last, at: \"14:00\"}}", day(2026, 3, 10), time.Date(2026, 2, 28, 14, 0, 0, 0, loc)},
		{"monthly 31 in a short month", "opening: {monthly: {day: 31, at: \"14:00\"}}", day(2028, 3, 10), time.Date(2028, 2, 29, 14, 0, 0, 0, loc)},
		{"play date in UTC is read in the site zone", "opening: {days_before: 1, at: \"09:00\"}",
			time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 9, 0, 0, 0, loc)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, strings.Replace(base, "OPENING", tc.opening, 1))
			got, ok := p.OpensAt(tc.play, "10:00", "11:00")
			require.True(t, ok)
			require.True(t, tc.want.Equal(got), "got %s want %s", got, tc.want)
		})
	}
}

func TestValidateFields(t *testing.T) {
	t.Parallel()
	p := mustParse(t, strings.Replace(minimal, "steps:", `fields:
  - {name: team, type: string, required: true, pattern: '[A-Z]+'}
  - {name: size, type: int, values: ["2", "4"]}
  - {name: tel, type: phone}
  - {name: day, type: date}
  - {name: at, type: time}
  - {name: pin, secret: true, values: ["1234"]}
steps:`, 1))
	require.Empty(t, p.ValidateFields(map[string]string{"team": "AB", "size": "4", "tel": "+821012345678", "day": "2026-12-01", "at": "09:00"}))
	require.Empty(t, p.ValidateFields(map[string]string{"team": "AB", "tel": "010-1234-5678"}))
	errs := p.ValidateFields(map[string]string{
		"size": "3", "tel": "hello", "day": "2026-13-01", "at": "9:0", "pin": "9999", "extra": "x",
	})
	got := map[string]string{}
	for _, e := range errs {
		got[e.Field] = e.Problem
	}
	require.Len(t, errs, 7)
	require.Equal(t, "is required", got["team"])
	require.Contains(t, got["size"], "2, 4")
	require.Contains(t, got["tel"], "phone")
	require.Contains(t, got["day"], "date")
	require.Contains(t, got["at"], "time")
	require.Equal(t, "must be one of the allowed values", got["pin"], "secret values are not listed")
	require.Contains(t, got["extra"], "not a field")
	require.Equal(t, "at", errs[0].Field, "sorted by field")
	require.Contains(t, p.ValidateFields(map[string]string{"team": "ab"})[0].Problem, "pattern")
}

func TestWithBaseURLAndEnv(t *testing.T) {
	t.Parallel()
	p := mustParse(t, minimal)
	q, err := p.WithBaseURL("http://127.0.0.1:1234/")
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:1234", q.BaseURL)
	require.Equal(t, "http://127.0.0.1:9000/app", p.BaseURL, "the original is untouched")
	_, err = p.WithBaseURL("ftp://x")
	require.ErrorIs(t, err, profile.ErrBadBaseURL)

	require.Equal(t, "RESERVER_SITE_COURTSIM_EUCKR_BASE_URL", profile.EnvBaseURL("courtsim-euckr"))
	env := map[string]string{"RESERVER_SITE_MINI_BASE_URL": "http://127.0.0.2:80"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	q, err = profile.ApplyEnv(p, lookup)
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.2:80", q.BaseURL)
	env["RESERVER_SITE_MINI_BASE_URL"] = "::bad"
	_, err = profile.ApplyEnv(p, lookup)
	require.ErrorIs(t, err, profile.ErrBadBaseURL)
	q, err = profile.ApplyEnv(p, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	require.Same(t, p, q)
}

func TestLoadShippedProfiles(t *testing.T) {
	t.Parallel()
	ps, err := profile.LoadDir("../../configs/sites")
	require.NoError(t, err)
	require.Contains(t, ps, "courtsim")
	require.Contains(t, ps, "courtsim-euckr")
	require.Equal(t, "euc-kr", ps["courtsim-euckr"].Charset)
	c := ps["courtsim"]
	require.True(t, c.Pages[0].EverySubmit)
	require.NotNil(t, c.Verify)
	at, ok := c.OpensAt(time.Date(2026, 12, 1, 0, 0, 0, 0, c.Location), "10:00", "11:00")
	require.True(t, ok)
	require.Equal(t, "2026-11-24T09:00:00+09:00", at.Format(time.RFC3339))

	// The commented template must stay a valid profile too.
	_, err = profile.Load("../../configs/sites/_template.yaml.example")
	require.NoError(t, err)
}

func TestLoadErrorIs(t *testing.T) {
	t.Parallel()
	_, err := profile.Parse("x.yaml", []byte("name: [\n"))
	require.ErrorIs(t, err, profile.ErrInvalid)
	var le *profile.LoadError
	require.True(t, errors.As(err, &le))
	require.Len(t, le.Problems, 1)
	require.Equal(t, "x.yaml", le.Problems[0].File)
}
