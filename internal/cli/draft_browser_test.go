package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/sitesim"
)

// `reserver profile draft` on what a real Chromium recorded while a person
// booked by hand (internal/draft/testdata), then `reserver check --submit`
// with the draft, unchanged, on a fresh simulator: another court, day and
// time.
func TestProfileDraftFromChromiumRecordings(t *testing.T) {
	t.Parallel()
	day := time.Now().In(time.FixedZone("KST", 9*3600)).AddDate(0, 0, 1).Format(time.DateOnly)
	for _, tc := range []struct {
		flavor, har, sample, another string
		slot                         int
	}{
		{sitesim.FlavorEgov, "chromium-egov.har",
			`{"court": "3", "date": "2026-12-03", "start": "10:00", "end": "11:00", "name": "홍길동", "phone": "010-1234-5678", "account": {"username": "user001"}, "fields": {"people": "2"}}`,
			`{"court": "6", "date": "DAY", "start": "13:00", "end": "14:00", "name": "이순신", "phone": "010-2222-3333", "fields": {"people": "2"}}`, 8},
		{sitesim.FlavorCart, "chromium-cart.har",
			`{"court": 3, "date": "2026-12-03", "start": "10:00", "end": "11:00", "name": "홍길동", "phone": "010-1234-5678", "account": {"username": "user001"}}`,
			`{"court": "4", "date": "DAY", "start": "14:00", "end": "15:00", "name": "이순신", "phone": "010-2222-3333"}`, 9},
	} {
		t.Run(tc.flavor, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			sites := filepath.Join(dir, "sites")
			require.NoError(t, os.Mkdir(sites, 0o755))
			sample := writeFile(t, dir, "sample.json", tc.sample)
			env := map[string]string{"RESERVER_SITES_DIR": sites, "RESERVER_LOG_LEVEL": "error", "SITE_PW": "pass1234"}
			out, errOut, code := runReserver(env, "profile", "draft", "--har", "../draft/testdata/"+tc.har, "--booking", sample,
				"--password-env", "SITE_PW", "--name", "mysite", "-o", filepath.Join(sites, "mysite.yaml"))
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			t.Logf("$ reserver profile draft --har %s --booking sample.json --password-env SITE_PW --name mysite -o sites/mysite.yaml\n%s", tc.har, errOut)

			fresh, err := sitesim.Start(sitesim.Options{Flavor: tc.flavor, Accounts: 5})
			require.NoError(t, err)
			defer fresh.Close()
			env["RESERVER_SITE_MYSITE_BASE_URL"] = fresh.URL()
			bf := writeFile(t, dir, "another.json", strings.Replace(tc.another, "DAY", day, 1))
			out, errOut, code = runReserver(env, "check", "--site", "mysite", "--booking", bf, "--account", "user003",
				"--password-env", "SITE_PW", "--submit")
			raw, _ := os.ReadFile(filepath.Join(sites, "mysite.yaml"))
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s\nprofile:\n%s", out, errOut, raw)
			t.Logf("$ reserver check --site mysite --booking another.json --account user003 --password-env SITE_PW --submit\n%s", out)
			require.Contains(t, out, "(this slot is booked by this account)")
			led := fresh.Ledger()
			require.Len(t, led.Reservations, 1)
			require.Equal(t, tc.slot, led.Reservations[0].Slot)
			require.Equal(t, "이순신", led.Reservations[0].UserName)
		})
	}
}
