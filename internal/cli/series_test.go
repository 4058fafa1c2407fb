package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/app"
	"reserver/internal/database"
	"reserver/internal/secret"
	"reserver/internal/series"
)

// seriesDoc is a Saturday series on courtsim from three to nine weeks
// ahead, its second Saturday skipped.
func seriesDoc(t *testing.T) (doc string, sats []string) {
	t.Helper()
	seoul, err := time.LoadLocation("Asia/Seoul")
	require.NoError(t, err)
	now := time.Now().In(seoul)
	from := time.Date(now.Year(), now.Month(), now.Day()+21, 0, 0, 0, 0, seoul)
	until := from.AddDate(0, 0, 42)
	for d := from; !d.After(until); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday {
			sats = append(sats, d.Format("2006-01-02"))
		}
	}
	doc = fmt.Sprintf(`{"site": "courtsim", "account": {"username": "user001"}, "court": 3,
  "rule": {"weekdays": ["sat"]}, "start": "10:00", "end": "11:00",
  "from": %q, "until": %q, "skip": [%q], "fields": {"people": 2}}`,
		from.Format("2006-01-02"), until.Format("2006-01-02"), sats[1])
	return doc, sats
}

func TestSeriesCommands(t *testing.T) {
	t.Parallel()
	for _, dialect := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(dialect), func(t *testing.T) {
			e := newReviewEnv(t, dialect)
			doc, sats := seriesDoc(t)
			file := filepath.Join(t.TempDir(), "series.json")
			require.NoError(t, os.WriteFile(file, []byte(doc), 0o600))

			_, errOut, code := e.run(t, "series", "create", "--tenant", "acme", "--file", file)
			require.Equal(t, 1, code)
			require.Contains(t, errOut, "account.password: required: the password on the booking site", "no password, no series")

			run := func(args ...string) string {
				t.Helper()
				out, errOut, code := e.runEnv(t, map[string]string{"SITE_PW": "S3cr3t-pw"}, args...)
				require.Equal(t, 0, code, errOut)
				require.NotContains(t, out+errOut, "S3cr3t-pw")
				return out
			}
			out := run("series", "create", "--tenant", "acme", "--file", file, "--password-env", "SITE_PW")
			id := regexp.MustCompile(`created series (\d+) for tenant acme: courtsim court 3, every sat 10:00-11:00`).FindStringSubmatch(out)
			require.NotNil(t, id, out)
			require.Contains(t, out, "skipping "+sats[1])
			require.Contains(t, out, sats[0]+" 10:00-11:00")
			require.NotContains(t, out, sats[1]+" 10:00-11:00", "the skipped date")
			require.Contains(t, out, "to be created")
			out = run("status")
			require.Regexp(t, `next series occurrences: \d+\n`, out)
			require.Regexp(t, id[1]+` +courtsim +3 +`+sats[0]+` 10:00-11:00 .* to be created\n`, out, "status shows the series' next occurrence")

			out = run("series", "list")
			require.Regexp(t, id[1]+` +acme +active +user001 +courtsim court 3`, out)

			// The daemon's pass: the first Saturday opens in about two
			// weeks (seven days before it), inside a 20-day horizon.
			db, err := database.Open(e.dsn)
			require.NoError(t, err)
			defer db.Close()
			box, err := secret.NewBox(testKey)
			require.NoError(t, err)
			profiles, err := app.LoadProfiles("../../configs/sites", func(string) (string, bool) { return "", false })
			require.NoError(t, err)
			m, err := series.New(series.Config{Series: series.NewStore(db, box), Bookings: e.store, Sites: app.SeriesSites(profiles), Horizon: 20 * 24 * time.Hour})
			require.NoError(t, err)
			res, err := m.RunOnce(context.Background(), time.Now())
			require.NoError(t, err)
			require.Positive(t, res.Created)

			out = run("series", "show", id[1])
			require.Contains(t, out, "series "+id[1]+" (active)")
			require.Regexp(t, sats[0]+` +10:00-11:00 +\d+ +queued`, out)
			out = run("series", "list", "--upcoming")
			require.Regexp(t, id[1]+` +courtsim +3 +`+sats[0]+` 10:00-11:00 .* \d+\n`, out, "a created occurrence shows its booking")
			require.Contains(t, out, "to be created")

			require.Contains(t, run("series", "pause", id[1]), "series "+id[1]+" is paused")
			require.Contains(t, run("series", "list", "--upcoming"), "paused")
			require.Contains(t, run("series", "resume", id[1]), "is active")
			require.Contains(t, run("series", "end", id[1]), "is ended")
			_, errOut, code = e.run(t, "series", "resume", id[1])
			require.Equal(t, 1, code)
			require.Contains(t, errOut, "has ended and cannot be resumed: create a new series")
			require.Contains(t, run("series", "list", "--state", "ended"), id[1])
			_, errOut, code = e.run(t, "series", "show", "999")
			require.Equal(t, 1, code)
			require.Contains(t, errOut, "series 999: series not found")
		})
	}
}

// runEnv is run with more environment variables.
func (e reviewEnv) runEnv(t *testing.T, more map[string]string, args ...string) (string, string, int) {
	t.Helper()
	env := map[string]string{
		"RESERVER_DB_DSN":     e.dsn,
		"RESERVER_SECRET_KEY": base64.StdEncoding.EncodeToString(testKey),
		"RESERVER_LOG_LEVEL":  "error",
		"RESERVER_SITES_DIR":  "../../configs/sites",
	}
	for k, v := range more {
		env[k] = v
	}
	var out, errOut bytes.Buffer
	code := Reserver(context.Background(), args, IO{Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] }})
	return out.String(), strings.TrimSpace(errOut.String()), code
}
