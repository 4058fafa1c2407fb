package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"reserver/internal/api"
	"reserver/internal/app"
	"reserver/internal/booking"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
	"reserver/internal/schedule"
	"reserver/internal/secret"
	"reserver/internal/sitesim"
	"reserver/internal/tenant"
)

// The secrets these tests plant; none may appear in a log line, an
// attempt excerpt or an attempt error.
const (
	sitePassword  = "Kn0wn-S1te-Passw0rd"
	wrongPassword = "Wr0ng-Guess-Passw0rd"
)

// logBuffer collects every log line at debug level, as JSON.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *logBuffer) Sync() error { return nil }
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *zap.Logger {
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), l, zap.DebugLevel))
}

// requireNoSecret fails when any secret, or its URL- or form-encoded form,
// appears in text.
func requireNoSecret(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, form := range []string{s, strings.ReplaceAll(s, "-", "%2D")} {
			require.NotContains(t, text, form, "%s leaks a secret", what)
		}
	}
}

// A booking with a known site password runs through the daemon (pre-warm,
// login, trace, submit) at debug level, next to one whose password the
// site rejects; neither password appears in the logs or the attempt log.
func TestDaemonRunRedactsSecrets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db := dbtest.SQLite(t)
		box, err := secret.NewBox(bytes.Repeat([]byte{5}, secret.KeySize))
		require.NoError(t, err)
		store := booking.NewStore(db, box)
		ts := tenant.NewStore(db)
		tok, err := ts.CreateToken(ctx, "acme", tenant.RoleUser)
		require.NoError(t, err)
		p, err := ts.Authenticate(ctx, tok)
		require.NoError(t, err)

		site, err := sitesim.New(sitesim.Options{Password: sitePassword, Accounts: 10})
		require.NoError(t, err)
		prof, err := profile.Load("../../configs/sites/courtsim.yaml")
		require.NoError(t, err)
		prof, err = prof.WithBaseURL("http://courtsim.test")
		require.NoError(t, err)
		opensAt := site.Now().Add(75 * time.Second).Truncate(time.Second)
		site.SetOpenAt(opensAt)
		play := opensAt.In(prof.Location).AddDate(0, 0, 7).Format("2006-01-02")
		queue := func(user, password, court string) int64 {
			b, _, err := store.Create(ctx, booking.NewBooking{
				TenantID: p.TenantID, Site: "courtsim", Username: user, Password: password,
				Court: court, PlayDate: play, StartTime: "10:00", EndTime: "11:00", OpensAt: opensAt,
				WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678", BookerName: "홍길동",
				Fields: map[string]string{"people": "2"},
			})
			require.NoError(t, err)
			return b.ID
		}
		good := queue("user001", sitePassword, "3")
		bad := queue("user002", wrongPassword, "4")

		var logs logBuffer
		d, err := schedule.New(schedule.Config{
			Store: store, Profiles: map[string]*profile.Profile{"courtsim": prof},
			Transport: &sitesim.InProcess{Handler: site.Handler()}, Logger: logs.logger(), Instance: "redact-1", HostCeiling: 1000,
		})
		require.NoError(t, err)
		require.NoError(t, d.Start(t.Context()))
		deadline := time.Now().Add(4 * time.Minute)
		for time.Now().Before(deadline) {
			var open int64
			require.NoError(t, db.Model(&booking.Booking{}).Where("id IN ? AND state NOT IN ?", []int64{good, bad},
				[]booking.State{booking.Succeeded, booking.Failed, booking.Cancelled}).Count(&open).Error)
			if open == 0 {
				break
			}
			time.Sleep(time.Second)
		}
		d.Stop()

		won, err := store.Get(ctx, booking.Scope{All: true}, good)
		require.NoError(t, err)
		require.Equal(t, booking.Succeeded, won.State, "the known password logged in and booked (reason %s)", won.Reason)
		lost, err := store.Get(ctx, booking.Scope{All: true}, bad)
		require.NoError(t, err)
		require.Equal(t, booking.Failed, lost.State)
		require.Equal(t, booking.ReasonLogin, lost.Reason)

		text := logs.String()
		require.Contains(t, text, `"level":"debug"`, "debug lines were captured")
		require.Contains(t, text, `"step":"login"`, "the logins were logged, so the check covers them")
		require.Contains(t, text, "login rejected at pre-warm", "the rejected login was logged")
		requireNoSecret(t, "the daemon's log", text, sitePassword, wrongPassword)

		for _, id := range []int64{good, bad} {
			rows, err := store.Attempts(ctx, id, 0, 1000)
			require.NoError(t, err)
			require.NotEmpty(t, rows)
			steps := map[string]bool{}
			for _, a := range rows {
				steps[a.Step] = true
				requireNoSecret(t, "an attempt excerpt", a.Excerpt, sitePassword, wrongPassword)
				requireNoSecret(t, "an attempt error", a.Error, sitePassword, wrongPassword)
			}
			require.True(t, steps["login"], "the login, which carries the password, is in the attempt log")
		}
	})
}

// An API request that carries a site password and a bearer token, logged at
// debug level, shows neither; a refused token is not echoed either.
func TestAPIRequestRedactsSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.SQLite(t)
	box, err := secret.NewBox(bytes.Repeat([]byte{5}, secret.KeySize))
	require.NoError(t, err)
	ts := tenant.NewStore(db)
	tok, err := ts.CreateToken(ctx, "acme", tenant.RoleUser)
	require.NoError(t, err)
	prof, err := profile.Load("../../configs/sites/courtsim.yaml")
	require.NoError(t, err)

	var logs logBuffer
	srv, err := api.New(api.Options{
		DB: db, Bookings: booking.NewStore(db, box), Tenants: ts,
		Sites:  app.Catalog(map[string]*profile.Profile{"courtsim": prof}),
		Limits: api.Limits{DefaultRate: 2, MaxRate: 2, DefaultWindow: 300, MinWindow: 10, MaxWindow: 3600},
		Logger: logs.logger(),
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	opens := time.Now().Add(48 * time.Hour).In(prof.Location)
	body := `{"site":"courtsim","account":{"username":"user001","password":"` + sitePassword + `"},` +
		`"court":3,"date":"` + opens.AddDate(0, 0, 7).Format("2006-01-02") + `","start":"10:00","end":"11:00",` +
		`"opens_at":"` + opens.Format(time.RFC3339) + `","fields":{"people":"2"}}`
	post := func(token, body string) (int, string) {
		req, err := http.NewRequest("POST", hs.URL+"/v1/bookings?password="+sitePassword, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(raw)
	}
	status, reply := post(tok, body)
	require.Equal(t, 201, status, reply)
	requireNoSecret(t, "the API's answer", reply, sitePassword)
	forged := "rsv_" + strings.Repeat("x", 52)
	status, reply = post(forged, body)
	require.Equal(t, 401, status)
	requireNoSecret(t, "the API's refusal", reply, forged)
	status, _ = post(tok, strings.Replace(body, `"court":3`, `"court":"3 4"`, 1))
	require.Equal(t, 400, status)

	text := logs.String()
	require.Contains(t, text, `"path":"/v1/bookings"`, "the requests were logged")
	requireNoSecret(t, "the API's log", text, sitePassword, tok, strings.TrimPrefix(tok, "rsv_"), forged)

	var sealed []byte
	require.NoError(t, db.Table("site_accounts").Select("password_enc").Row().Scan(&sealed))
	require.NotContains(t, string(sealed), sitePassword, "stored sealed")
}
