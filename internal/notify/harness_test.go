package notify

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/secret"
	"reserver/internal/sitesim"
	"reserver/internal/tenant"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func inProcessClient(h http.Handler) *http.Client {
	return &http.Client{Transport: &sitesim.InProcess{Handler: h, RemoteAddr: "127.0.0.1:50000"}}
}

// fixture is a migrated database with one tenant, in which tests create
// bookings and their outbox rows.
type fixture struct {
	db     *database.DB
	dsn    string
	store  *booking.Store
	tenant int64
	box    *secret.Box
	n      int
}

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	db, err := database.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, secret.KeySize))
	require.NoError(t, err)
	ts := tenant.NewStore(db)
	tok, err := ts.CreateToken(context.Background(), "notify", tenant.RoleUser)
	require.NoError(t, err)
	p, err := ts.Authenticate(context.Background(), tok)
	require.NoError(t, err)
	return &fixture{db: db, dsn: dsn, store: booking.NewStore(db, box), tenant: p.TenantID, box: box}
}

// sqliteFixture is a fixture on a fresh SQLite file.
func sqliteFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixture(t, dbtest.DSN(t, database.SQLite))
}

// eachDSN runs fn on a fresh SQLite database and, when a MySQL server is
// configured, on a throw-away MySQL database.
func eachDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, d := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(d), func(t *testing.T) { fn(t, dbtest.DSN(t, d)) })
	}
}

// row creates a booking and its outbox row of kind; payload overrides the
// default payload fields.
func (f *fixture) row(t *testing.T, kind, phone string, payload string) booking.Outbox {
	t.Helper()
	f.n++
	ctx := context.Background()
	bk, _, err := f.store.Create(ctx, booking.NewBooking{
		TenantID: f.tenant, Site: "courtsim", Username: "user001", Password: "pass1234",
		Court: fmt.Sprint(f.n), PlayDate: "2030-05-01", StartTime: "10:00", EndTime: "11:00",
		OpensAt: time.Now().Add(time.Hour), WindowSeconds: 60, RatePerSecond: 2, Phone: phone, BookerName: "홍길동",
	})
	require.NoError(t, err)
	if payload == "" {
		payload = fmt.Sprintf(`{"site":"courtsim","court":"%d","date":"2030-05-01","start":"10:00","end":"11:00","reservation_no":"R-%d","name":"홍길동"}`, f.n, 1000+f.n)
	}
	require.NoError(t, f.store.AddOutbox(ctx, []booking.Outbox{{BookingID: bk.ID, Kind: kind, Phone: phone, Payload: payload}}, time.Now()))
	var got booking.Outbox
	require.NoError(t, f.db.Where("booking_id = ? AND kind = ?", bk.ID, kind).First(&got).Error)
	return got
}

// get reads an outbox row again.
func (f *fixture) get(t *testing.T, id int64) booking.Outbox {
	t.Helper()
	var got booking.Outbox
	require.NoError(t, f.db.First(&got, id).Error)
	return got
}

// relay builds a relay on its own connection to the fixture's database, as
// another daemon instance would have.
func (f *fixture) relay(t *testing.T, instance string, cfg Config) *Relay {
	t.Helper()
	db, err := database.Open(f.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	cfg.DB, cfg.Instance = db, instance
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	r, err := NewRelay(cfg)
	require.NoError(t, err)
	return r
}

// waitDone polls (in fake time inside a bubble) until the row reaches one
// of the terminal states.
func (f *fixture) waitDone(t *testing.T, id int64, limit time.Duration) booking.Outbox {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := f.get(t, id)
		if got.State == StateSent || got.State == StateFailed {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox row %d still %s after %v (tries %d, last error %q)", id, got.State, limit, got.Tries, got.LastError)
		}
		time.Sleep(max(100*time.Millisecond, limit/1000))
	}
}

// Test credentials: distinctive, so that a leak is easy to find.
const (
	testSolapiKey    = "NCSTESTAPIKEY001"
	testSolapiSecret = "SOLAPI-SECRET-7c1f0e93ab"
	testTwilioSID    = "AC0123456789abcdef0123456789abcdef"
	testTwilioToken  = "TWILIO-TOKEN-5d2a9e77c4"
	testWebhookKey   = "WEBHOOK-SECRET-91be04d3f2"
	testPhone        = "+821012345678"
)

// providerCase is one provider with its fake, for table tests.
type providerCase struct {
	name string
	cfg  func(base string) Config
	// handler is the fake; faults scripts it.
	handler http.Handler
	faults  *faults
	// sent counts what the fake applied per key (duplicates included).
	sent func() map[string]int
	// checks: the provider can look up an earlier try.
	checks bool
}

func providerCases() []providerCase {
	sol := newFakeSolapi(testSolapiKey, testSolapiSecret)
	tw := newFakeTwilio(testTwilioSID, testTwilioToken)
	wh := newFakeWebhook(testWebhookKey)
	return []providerCase{
		{
			name: ProviderSolapi, handler: sol, faults: sol.faults, sent: sol.byKey, checks: true,
			cfg: func(base string) Config {
				return Config{Provider: ProviderSolapi, Solapi: SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "02-1234-5678", BaseURL: base}}
			},
		},
		{
			name: ProviderTwilio, handler: tw, faults: tw.faults, checks: true,
			sent: func() map[string]int {
				// Twilio has no key: count by body, which names the booking.
				out := map[string]int{}
				for _, m := range tw.messages() {
					out[m.Body]++
				}
				return out
			},
			cfg: func(base string) Config {
				return Config{Provider: ProviderTwilio, Twilio: TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006", BaseURL: base}}
			},
		},
		{
			name: ProviderWebhook, handler: wh, faults: wh.faults,
			sent: func() map[string]int {
				out := map[string]int{}
				for _, p := range wh.all() {
					out[p.Key]++
				}
				return out
			},
			cfg: func(base string) Config {
				return Config{Provider: ProviderWebhook, Webhook: WebhookConfig{URL: base + "/hooks/sms", Secret: testWebhookKey}}
			},
		},
	}
}
