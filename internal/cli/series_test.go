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
	"reserver/internal/booking"
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

// `reserver series create` takes the document's choices and notify, the
// commands print them, and each occurrence's booking carries both.
func TestSeriesCommandsChoicesAndNotify(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t, database.SQLite)
	doc, sats := seriesDoc(t)
	doc = strings.Replace(doc, `"court": 3,`, `"choices": [{"court": 3}, {"court": "4"}, {"courts": "any", "start": "12:00", "end": "13:00"}],
  "notify": {"on": "always", "language": "en"},`, 1)
	file := filepath.Join(t.TempDir(), "series.json")
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o600))
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := e.runEnv(t, map[string]string{"SITE_PW": "S3cr3t-pw"}, args...)
		require.Equal(t, 0, code, errOut)
		return out
	}
	out := run("series", "create", "--tenant", "acme", "--file", file, "--password-env", "SITE_PW")
	id := regexp.MustCompile(`created series (\d+) for tenant acme: courtsim court 3, every sat 10:00-11:00`).FindStringSubmatch(out)
	require.NotNil(t, id, out)
	const choices, notify = "choices: court 3, court 4, any court 12:00-13:00\n", "notify: always, en\n"
	require.Contains(t, out, choices)
	require.Contains(t, out, notify)
	out = run("series", "show", id[1])
	require.Contains(t, out, choices)
	require.Contains(t, out, notify)
	require.Regexp(t, `; choices: court 3, court 4, any court 12:00-13:00; notify: always, en\n`, run("series", "list"))

	bad := strings.Replace(doc, `{"court": "4"}`, `{"court": "4", "date": "`+sats[0]+`"}`, 1)
	require.NoError(t, os.WriteFile(file, []byte(bad), 0o600))
	_, errOut, code := e.runEnv(t, map[string]string{"SITE_PW": "S3cr3t-pw"}, "series", "create", "--tenant", "acme", "--file", file, "--password-env", "SITE_PW")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "choices[1].date: a series' choice has no date: each occurrence's date is used")

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
	list, err := e.store.List(context.Background(), booking.ListFilter{Scope: booking.Scope{All: true}})
	require.NoError(t, err)
	for _, bk := range list {
		cs := bk.Choices()
		require.Len(t, cs, 12, "court 3, court 4 and the site's ten courts at noon")
		require.Equal(t, booking.Choice{Court: "10", Date: bk.PlayDate, Start: "12:00", End: "13:00"}, cs[11])
		require.Equal(t, "always", bk.NotifyOn)
		require.Equal(t, "en", bk.NotifyLanguage)
	}
}
