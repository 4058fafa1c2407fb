package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/har"
	"reserver/internal/har/hartest"
	"reserver/internal/sitesim"
)

// `reserver profile draft` turns a recording into a profile file that
// `reserver check --submit` then books with, unchanged, on a fresh site:
// for both flavours, and for Chromium's and Firefox's exports.
func TestProfileDraftThenCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flavor  string
		charset string
		style   har.Style
		bk      string // the booking file of the rehearsal (another slot)
	}{
		{sitesim.FlavorEgov, "", har.StyleChromium, `{"court": "5", "date": "DAY", "start": "11:00", "end": "12:00", "name": "이순신", "phone": "010-2222-3333", "fields": {"people": "2"}}`},
		{sitesim.FlavorEgov, sitesim.CharsetEUCKR, har.StyleChromium, `{"court": "5", "date": "DAY", "start": "11:00", "end": "12:00", "name": "이순신", "phone": "010-2222-3333", "fields": {"people": "2"}}`},
		{sitesim.FlavorCart, "", har.StyleFirefox, `{"court": "4", "date": "DAY", "start": "14:00", "end": "15:00", "name": "Lee", "phone": "010-2222-3333"}`},
	} {
		t.Run(tc.flavor+"-"+tc.charset+"-"+string(tc.style), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			rec, err := sitesim.Start(sitesim.Options{Flavor: tc.flavor, Charset: tc.charset, Accounts: 5})
			require.NoError(t, err)
			defer rec.Close()
			r, err := hartest.Record(context.Background(), hartest.ServerTarget(rec), hartest.Options{
				Style: tc.style, Noise: hartest.AllNoise(), WrongPasswordFirst: true})
			require.NoError(t, err)
			harFile := filepath.Join(dir, "recording.har")
			require.NoError(t, har.WriteFile(harFile, r.HAR))
			b := r.Booking
			sample := `{"court": "3", "date": "` + b.Date + `", "start": "10:00", "end": "11:00", "name": "` + b.Name +
				`", "phone": "` + b.Phone + `", "account": {"username": "` + b.Account + `"}`
			if tc.flavor == sitesim.FlavorEgov {
				sample += `, "fields": {"people": "2"}`
			}
			writeFile(t, dir, "sample.json", sample+"}")
			sites := filepath.Join(dir, "sites")
			require.NoError(t, os.Mkdir(sites, 0o755))
			env := map[string]string{"RESERVER_SITES_DIR": sites, "RESERVER_LOG_LEVEL": "error", "SITE_PW": b.Password}
			out, errOut, code := runReserver(env, "profile", "draft", "--har", harFile, "--booking", filepath.Join(dir, "sample.json"),
				"--password-env", "SITE_PW", "--name", "mysite", "-o", filepath.Join(sites, "mysite.yaml"))
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			require.Contains(t, errOut, "draft report:")
			require.Contains(t, errOut, "wrote ")
			yaml, err := os.ReadFile(filepath.Join(sites, "mysite.yaml"))
			require.NoError(t, err)
			require.NotContains(t, string(yaml), b.Password)
			t.Logf("draft report:\n%s", errOut)

			fresh, err := sitesim.Start(sitesim.Options{Flavor: tc.flavor, Charset: tc.charset, Accounts: 5})
			require.NoError(t, err)
			defer fresh.Close()
			bf := writeFile(t, dir, "another.json", strings.Replace(tc.bk, "DAY", b.Date, 1))
			env["RESERVER_SITE_MYSITE_BASE_URL"] = fresh.URL()
			// user003 speaks Korean like the recorded user001: the draft knows
			// the texts of the recorded language only.
			out, errOut, code = runReserver(env, "check", "--site", "mysite", "--booking", bf, "--account", "user003",
				"--password-env", "SITE_PW", "--submit")
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s\nprofile:\n%s", out, errOut, yaml)
			require.Contains(t, out, "(this slot is booked by this account)")
			require.Contains(t, out, "\nhealthy\n")
			t.Logf("check --submit:\n%s", out)
			require.Len(t, fresh.Ledger().Reservations, 1)
		})
	}
}
