package schedule

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/database/dbtest"
	"reserver/internal/profile"
	"reserver/internal/secret"
	"reserver/internal/sitesim"
	"reserver/internal/tenant"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type bundle struct {
	db     *database.DB
	store  *booking.Store
	site   *sitesim.Site
	prof   *profile.Profile
	tenant int64
	tr     *sitesim.InProcess
	dsn    string
	box    *secret.Box
	log    *zap.Logger
}

type setupOpts struct {
	skew    time.Duration
	charset string
	// lenient answers a repeated submit "already yours"; by default the
	// site is strict (it answers it like a slot taken by someone else, as
	// many real sites do) and every test fails on a repeated submit.
	lenient bool
	// openLag: the site decides on a clock this far behind its Date
	// header's (sitesim.Options.OpenLag).
	openLag time.Duration
	// limitPerDay: the site's cap on one account's reservations a day
	// (sitesim.Options.AccountLimitPerDay).
	limitPerDay int
}

func loadProfile(t testing.TB, file, baseURL string) *profile.Profile {
	t.Helper()
	p, err := profile.Load("../../configs/sites/" + file)
	require.NoError(t, err)
	p, err = p.WithBaseURL(baseURL)
	require.NoError(t, err)
	return p
}

// newBundle is a bundle with its database, store and tenant, and no site
// yet: setup and the other flavours' set-ups add theirs.
func newBundle(t *testing.T) *bundle {
	t.Helper()
	dsn := dbtest.DSN(t, database.SQLite)
	db, err := database.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	box, err := secret.NewBox(bytes.Repeat([]byte{3}, secret.KeySize))
	require.NoError(t, err)
	ts := tenant.NewStore(db)
	tok, err := ts.CreateToken(context.Background(), "t1", tenant.RoleUser)
	require.NoError(t, err)
	p, err := ts.Authenticate(context.Background(), tok)
	require.NoError(t, err)
	return &bundle{db: db, store: booking.NewStore(db, box), tenant: p.TenantID, dsn: dsn, box: box,
		log: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))}
}

func setup(t *testing.T, o setupOpts) *bundle {
	t.Helper()
	site, err := sitesim.New(sitesim.Options{Skew: o.skew, Charset: o.charset, Accounts: 50, Strict: !o.lenient, OpenLag: o.openLag,
		AccountLimitPerDay: o.limitPerDay})
	require.NoError(t, err)
	t.Cleanup(func() {
		if n := site.Ledger().RepeatSubmits; n != 0 {
			t.Errorf("repeat_submits=%d: a submit was repeated for a slot its account already held", n)
		}
	})
	file := "courtsim.yaml"
	if o.charset == "euc-kr" {
		file = "courtsim-euckr.yaml"
	}
	b := newBundle(t)
	b.site, b.prof = site, loadProfile(t, file, "http://courtsim.test")
	b.tr = &sitesim.InProcess{Handler: site.Handler(), RemoteAddr: "127.0.0.1:40000"}
	return b
}

// daemon builds a daemon on b's database (through its own connection, as
// another process would have).
func (b *bundle) daemon(t *testing.T, name string, mod func(*Config)) *Daemon {
	t.Helper()
	d, _ := b.daemonDB(t, name, mod)
	return d
}

// daemonDB is b.daemon that also returns the daemon's own database
// connection (e.g. to take it away with an outage).
func (b *bundle) daemonDB(t *testing.T, name string, mod func(*Config)) (*Daemon, *database.DB) {
	t.Helper()
	db, err := database.Open(b.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	cfg := Config{
		Store: booking.NewStore(db, b.box), Profiles: map[string]*profile.Profile{"courtsim": b.prof},
		Transport: b.tr, Logger: b.log, Instance: name, HostCeiling: 1000,
	}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	require.NoError(t, err)
	return d, db
}

type bookingOpts struct {
	account  string
	password string
	court    string
	start    string
	window   int
	phone    string
	// notifyOn and language: the booking's notify settings (empty: the
	// defaults).
	notifyOn string
	language string
}

// book queues a booking opening at opensAt (site clock).
func (b *bundle) book(t *testing.T, opensAt time.Time, o bookingOpts) *booking.Booking {
	t.Helper()
	nb := booking.NewBooking{
		TenantID: b.tenant, Site: "courtsim", Username: cmpOr(o.account, "user001"), Password: cmpOr(o.password, "pass1234"),
		Court: cmpOr(o.court, "3"), PlayDate: opensAt.In(b.prof.Location).AddDate(0, 0, 7).Format("2006-01-02"),
		StartTime: cmpOr(o.start, "10:00"), EndTime: "11:00", OpensAt: opensAt,
		WindowSeconds: max(o.window, 60), RatePerSecond: 2, Phone: cmpOr(o.phone, "+821012345678"),
		BookerName: "홍길동", Fields: map[string]string{"people": "2"},
		NotifyOn: o.notifyOn, NotifyLanguage: o.language,
	}
	if nb.StartTime != "10:00" {
		nb.EndTime = nb.StartTime[:3] + "59"
	}
	bk, _, err := b.store.Create(context.Background(), nb)
	require.NoError(t, err)
	return bk
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// waitTerminal polls (in fake time inside a bubble) until the booking ends.
func (b *bundle) waitTerminal(t *testing.T, id int64, limit time.Duration) *booking.Booking {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		got, err := b.store.Get(context.Background(), booking.Scope{All: true}, id)
		require.NoError(t, err)
		if got.State.Terminal() {
			return got
		}
		time.Sleep(500 * time.Millisecond)
	}
	got, _ := b.store.Get(context.Background(), booking.Scope{All: true}, id)
	t.Fatalf("booking %d not finished after %v: state %s", id, limit, got.State)
	return nil
}

func (b *bundle) attempts(t *testing.T, id int64) []booking.Attempt {
	t.Helper()
	rows, err := b.store.Attempts(context.Background(), id, 0, 1000)
	require.NoError(t, err)
	return rows
}

// events collects the daemon's events.
type events struct {
	mu   sync.Mutex
	list []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
}

func zapWarn(t *testing.T) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }
