package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/sitesim"
)

// checkSite is the simulator and a sites directory holding courtsim.yaml
// with one edit, for `reserver check` to rehearse against.
type checkSite struct {
	sim     *sitesim.Server
	dir     string
	booking string // a booking file
}

func setupCheck(t *testing.T, old, new string) checkSite {
	t.Helper()
	sim, err := sitesim.Start(sitesim.Options{Accounts: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	raw, err := os.ReadFile("../../configs/sites/courtsim.yaml")
	require.NoError(t, err)
	// A high rate keeps the clock probes' spacing, and so the test, short.
	src := strings.Replace(string(raw), "rate_per_second: 2\n", "rate_per_second: 50\n", 1)
	if old != "" {
		i := strings.Index(src, old)
		require.GreaterOrEqual(t, i, 0, "courtsim.yaml has no %q", old)
		if new == "" {
			src = src[:i]
		} else {
			src = strings.Replace(src, old, new, 1)
		}
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "courtsim.yaml"), []byte(src), 0o600))
	bf := filepath.Join(dir, "booking.json")
	require.NoError(t, os.WriteFile(bf, []byte(`{"court": 3, "date": "2026-12-01", "start": "09:00", "end": "10:00",
		"name": "홍길동", "phone": "010-1234-5678", "fields": {"people": 2}}`), 0o600))
	return checkSite{sim: sim, dir: dir, booking: bf}
}

func (s checkSite) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return s.exec(t, append([]string{"--site", "courtsim", "--booking", s.booking, "--account", "user001", "--password-env", "SITE_PW"}, args...)...)
}

// exec runs `reserver check` with only the given arguments.
func (s checkSite) exec(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	env := map[string]string{
		"RESERVER_SITES_DIR":              s.dir,
		"RESERVER_SITE_COURTSIM_BASE_URL": s.sim.URL(),
		"RESERVER_LOG_LEVEL":              "error",
		"SITE_PW":                         "pass1234",
	}
	args = append([]string{"check"}, args...)
	var out, errOut bytes.Buffer
	code := Reserver(context.Background(), args, IO{Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] }})
	return out.String(), errOut.String(), code
}

func TestCheckRunsVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		old, new string // edit of courtsim.yaml
		args     []string
		code     int
		want     []string
	}{
		{name: "the slot is free", code: 0, want: []string{
			"verify  GET  /mypage/rentList.do  200  ", "retry  (no reservation for this slot)", "\nhealthy\n"}},
		{name: "with --submit the reservation is found", args: []string{"--submit"}, code: 0, want: []string{
			"submit  POST /rent/apply.do  200", "verify  GET  /mypage/rentList.do  200  ",
			"(this slot is booked by this account)", "\nhealthy\n"}},
		{name: "a profile without verify warns", old: "  verify:\n", code: 0, want: []string{
			"warning ", "courtsim.yaml:", "steps: no verify step", "operator review", "verify  none: ", "\nhealthy\n"}},
		{name: "a verify that fails is unhealthy", old: "path: /mypage/rentList.do", new: "path: /mypage/gone.do", code: 2, want: []string{
			"verify  GET  /mypage/gone.do  404  ", "unhealthy: verify answered unknown"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := setupCheck(t, tc.old, tc.new)
			out, errOut, code := s.run(t, tc.args...)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			require.NotContains(t, out+errOut, "pass1234")
			if tc.code == 2 {
				require.Contains(t, errOut, "unhealthy")
			}
			if len(tc.args) > 0 {
				require.Len(t, s.sim.Ledger().Reservations, 1)
			} else {
				require.Empty(t, s.sim.Ledger().Reservations, "check books only with --submit")
			}
		})
	}
}

func TestCheckReadsTheAPIDocument(t *testing.T) {
	t.Parallel()
	const slot = `"court": "3", "date": "2026-12-01", "start": "09:00", "end": "10:00", "name": "홍길동", "phone": "010-1234-5678"`
	tests := []struct {
		name string
		doc  string // the booking file
		args []string
		code int
		want string // in stdout for code 0, in stderr otherwise
	}{
		{name: "the body of a POST, site and account with it",
			doc: `{"site": "courtsim", "account": {"username": "user001", "password": "pass1234"}, ` + slot +
				`, "opens_at": "2026-11-24T09:00:00+09:00", "window_seconds": 300, "fields": {"people": "2"}}`,
			code: 0, want: "\nhealthy\n"},
		{name: "--password-env wins over the file's password",
			doc:  `{"site": "courtsim", "account": {"username": "user001", "password": "not-this"}, ` + slot + `}`,
			args: []string{"--password-env", "SITE_PW"}, code: 0, want: "\nhealthy\n"},
		{name: "flags fill what the file leaves out",
			doc:  `{"account": {"username": "user001"}, ` + slot + `}`,
			args: []string{"--site", "courtsim", "--password-env", "SITE_PW"}, code: 0, want: "\nhealthy\n"},
		{name: "a --site that differs is named",
			doc:  `{"site": "courtsim", "account": {"username": "user001"}, ` + slot + `}`,
			args: []string{"--site", "courtsim-other", "--password-env", "SITE_PW"}, code: 1,
			want: `is for site "courtsim", but --site says "courtsim-other"`},
		{name: "an --account that differs is named",
			doc:  `{"site": "courtsim", "account": {"username": "user001"}, ` + slot + `}`,
			args: []string{"--account", "user002", "--password-env", "SITE_PW"}, code: 1,
			want: `is for account "user001", but --account says "user002"`},
		{name: "no account anywhere",
			doc:  `{"site": "courtsim", ` + slot + `}`,
			code: 1, want: "account: required: an object"},
		{name: "the API's problems are reported",
			doc:  `{"site": "courtsim", "account": {"username": "user001"}, "court": "3", "date": "2026-12-01", "start": "09:00", "end": "08:00", "people": 2}`,
			args: []string{"--password-env", "SITE_PW"}, code: 1,
			want: `people: unknown field; site-specific values go inside "fields"`},
		{name: "an unknown field does not hide the other problems",
			doc:  `{"site": "courtsim", "account": {"username": "user001"}, "court": "3", "date": "2026-12-01", "start": "09:00", "end": "08:00", "people": 2}`,
			args: []string{"--password-env", "SITE_PW"}, code: 1,
			want: `end: must be after start`},
		{name: "a court the site's profile does not declare is refused (SlotChecker)",
			doc:  `{"site": "courtsim", "account": {"username": "user001"}, "court": "99", "date": "2026-12-01", "start": "09:00", "end": "10:00", "fields": {"people": "2"}}`,
			args: []string{"--password-env", "SITE_PW"}, code: 1,
			want: `court: the site has no court "99" (its courts: 1-10)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := setupCheck(t, "", "")
			require.NoError(t, os.WriteFile(s.booking, []byte(tc.doc), 0o600))
			out, errOut, code := s.exec(t, append([]string{"--booking", s.booking}, tc.args...)...)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			if tc.code == 0 {
				require.Contains(t, out, tc.want)
			} else {
				require.Contains(t, errOut, tc.want)
			}
			require.NotContains(t, out+errOut, "pass1234")
			require.NotContains(t, out+errOut, "not-this")
		})
	}
}

func TestCheckSubmitThatDoesNotBookFails(t *testing.T) {
	t.Parallel()
	s := setupCheck(t, "", "")
	// Court 3, 09:00 is slot 4 (timeNo = hour - 5); another account has it.
	_, err := s.sim.Reserve("user002", 3, "2026-12-01", 4)
	require.NoError(t, err)
	out, errOut, code := s.run(t, "--submit")
	require.Equal(t, 2, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, "unhealthy: submit answered sold_out", lines[len(lines)-1], out)
	require.Contains(t, errOut, "unhealthy")
}

// A booking with choices rehearses its first choice, or the one --choice
// names; a choice it does not have is refused saying how many it has.
func TestCheckRehearsesAChoice(t *testing.T) {
	t.Parallel()
	doc := `{"site": "courtsim", "account": {"username": "user001"}, "date": "2026-12-01", "start": "09:00", "end": "10:00",
		"choices": [{"court": 3}, {"court": 4, "start": "11:00", "end": "12:00"}], "name": "홍길동", "phone": "010-1234-5678", "fields": {"people": "2"}}`
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 0, "rehearsing choice 1 of 2: court 3, 2026-12-01 09:00-10:00"},
		{[]string{"--choice", "2"}, 0, "rehearsing choice 2 of 2: court 4, 2026-12-01 11:00-12:00"},
		{[]string{"--choice", "3"}, 1, "--choice 3: the booking has 2 choice(s); give 1 to 2"},
	} {
		s := setupCheck(t, "", "")
		require.NoError(t, os.WriteFile(s.booking, []byte(doc), 0o600))
		out, errOut, code := s.exec(t, append([]string{"--booking", s.booking, "--password-env", "SITE_PW"}, tc.args...)...)
		require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		if tc.code != 0 {
			require.Contains(t, errOut, tc.want)
			continue
		}
		require.Contains(t, out, tc.want)
		require.Contains(t, out, "\nhealthy\n")
		// The page visited is the rehearsed choice's (courtsim's timeNo is hour − 5).
		court, timeNo := "3", "4"
		if len(tc.args) > 0 {
			court, timeNo = "4", "6"
		}
		require.Contains(t, out, "facilityNo="+court+"&useDate=20261201&timeNo="+timeNo)
	}
}
