package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/sitesim"
)

// runReserver runs the CLI with env as the whole environment.
func runReserver(env map[string]string, args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := Reserver(context.Background(), args, IO{Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] }})
	return out.String(), errOut.String(), code
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestProfileRender(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	eg := writeFile(t, dir, "egov.json", `{"site": "courtsim", "court": "3", "date": "2026-12-01", "start": "09:00", "end": "10:00",
		"name": "홍길동", "phone": "010-1234-5678", "account": {"username": "user001"}, "fields": {"people": "2"}}`)
	cart := writeFile(t, dir, "cart.json", `{"site": "cartsim", "court": "3", "date": "2026-12-24", "start": "10:00", "end": "11:00",
		"name": "Kim", "phone": "+821012345678", "account": {"username": "user002"}}`)
	env := map[string]string{"RESERVER_SITES_DIR": "../../configs/sites", "RESERVER_LOG_LEVEL": "error", "SITE_PW": "s3cret-pw"}
	tests := []struct {
		name string
		args []string
		code int
		want []string
		not  []string
	}{
		{name: "one step of the eGov site", args: []string{"--booking", eg, "--step", "submit"}, want: []string{
			"== submit (submit)\nPOST http://127.0.0.1:8080/rent/apply.do\n",
			"Content-Type: application/x-www-form-urlencoded\n",
			"Referer: http://127.0.0.1:8080/rent/form.do?facilityNo=3&useDate=20261201&timeNo=4\n",
			"\nfacilityNo=3&useDate=20261201&timeNo=4&rentToken=%3CX.rentToken%3E&userName=%ED%99%8D%EA%B8%B8%EB%8F%99&userTel=010-1234-5678&people=2\n"},
			not: []string{"== login"}},
		{name: "the password is masked", args: []string{"--booking", eg, "--step", "login", "--password-env", "SITE_PW"},
			want: []string{"userId=user001&userPw=***\n"}, not: []string{"s3cret", "s3cret-pw"}},
		{name: "every step of the cart site", args: []string{"--booking", cart}, want: []string{
			"== prelogin (prelogin)\nGET http://127.0.0.1:8081/login\n",
			"== resources (page)\n",
			"X-Xsrf-Token: <cookie XSRF-TOKEN>\n",
			`{"resource_id":3,"start":"2026-12-24T10:00:00+09:00","end":"2026-12-24T11:00:00+09:00"}`,
			`{"hold_id":"<X.hold_id>","name":"Kim","phone":"010-1234-5678"}`,
			"== confirm (checkout)\ncannot render: profile: render: confirm.path does not start with /\n(a path taken",
			"== verify (verify)\nGET http://127.0.0.1:8081/api/reservations\n"}},
		{name: "an extraction given a value", args: []string{"--booking", cart, "--step", "confirm", "--x", "confirm_url=/checkout/C9/confirm"},
			want: []string{"POST http://127.0.0.1:8081/checkout/C9/confirm\n", "\n_csrf=%3Ccookie+XSRF-TOKEN%3E&accept_terms=1\n"}},
		{name: "a token given a value is masked", args: []string{"--booking", eg, "--step", "submit", "--x", "rentToken=T0KEN-VALUE"},
			want: []string{"&rentToken=***&"}, not: []string{"T0KEN-VALUE"}},
		{name: "an unknown step", args: []string{"--booking", cart, "--step", "pay"}, code: 1,
			want: []string{`unknown step: "pay" (the profile has prelogin, login, resources, submit, contact, confirm, verify, probe)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runReserver(env, append([]string{"profile", "render"}, tc.args...)...)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			for _, w := range tc.want {
				require.Contains(t, out+errOut, w)
			}
			for _, n := range tc.not {
				require.NotContains(t, out+errOut, n)
			}
		})
	}
}

// A profile mistake stops render with file:line, like every loader error.
func TestProfileRenderReportsProfileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	raw, err := os.ReadFile("../../configs/sites/cartsim.yaml")
	require.NoError(t, err)
	writeFile(t, dir, "cartsim.yaml", strings.Replace(string(raw), `path: "{{ .X.confirm_url }}"`, `path: "{{ .Booking.Nmae }}"`, 1))
	bf := writeFile(t, dir, "b.json", `{"site": "cartsim", "court": "3", "date": "2026-12-24", "start": "10:00", "end": "11:00",
		"name": "Kim", "phone": "+821012345678", "account": {"username": "u"}}`)
	out, errOut, code := runReserver(map[string]string{"RESERVER_SITES_DIR": dir, "RESERVER_LOG_LEVEL": "error"},
		"profile", "render", "--booking", bf)
	require.Equal(t, 1, code, out)
	require.Regexp(t, `cartsim\.yaml:\d+: confirm\.path: unknown field \.Booking\.Nmae`, errOut)
}

// `reserver check --submit` books the cart site: the hold, the checkout
// chain and verify finding the order.
func TestCheckCartsim(t *testing.T) {
	t.Parallel()
	sim, err := sitesim.Start(sitesim.Options{Flavor: sitesim.FlavorCart, Accounts: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	dir := t.TempDir()
	raw, err := os.ReadFile("../../configs/sites/cartsim.yaml")
	require.NoError(t, err)
	writeFile(t, dir, "cartsim.yaml", strings.Replace(string(raw), "rate_per_second: 2\n", "rate_per_second: 50\n", 1))
	day := time.Now().In(time.FixedZone("KST", 9*3600)).AddDate(0, 0, 2).Format(time.DateOnly)
	bf := writeFile(t, dir, "b.json", `{"site": "cartsim", "court": "3", "date": "`+day+`", "start": "10:00", "end": "11:00",
		"name": "Kim", "phone": "+821012345678", "account": {"username": "user002"}}`)
	env := map[string]string{"RESERVER_SITES_DIR": dir, "RESERVER_SITE_CARTSIM_BASE_URL": sim.URL(),
		"RESERVER_LOG_LEVEL": "error", "SITE_PW": "pass1234"}
	out, errOut, code := runReserver(env, "check", "--booking", bf, "--password-env", "SITE_PW")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "(no reservation for this slot)")
	out, errOut, code = runReserver(env, "check", "--booking", bf, "--password-env", "SITE_PW", "--submit")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, w := range []string{"submit  POST /api/cart/items  201", "held", "contact POST /api/checkout  200",
		"reservation=RS-", "(this slot is booked by this account)", "\nhealthy\n"} {
		require.Contains(t, out, w)
	}
	require.NotContains(t, out+errOut, "pass1234")
	require.Len(t, sim.Ledger().Reservations, 1)
}
