package notify

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/profile"
	"reserver/internal/schedule"
	"reserver/internal/sitesim"
)

// sim is the real daemon against the simulated site, with the outbox relay
// on the same database, all in one synctest bubble (the pattern of
// internal/schedule's daemon tests).
type sim struct {
	f    *fixture
	site *sitesim.Site
	prof *profile.Profile
}

func newSim(t *testing.T) *sim {
	t.Helper()
	site, err := sitesim.New(sitesim.Options{Accounts: 10})
	require.NoError(t, err)
	p, err := profile.Load("../../configs/sites/courtsim.yaml")
	require.NoError(t, err)
	p, err = p.WithBaseURL("http://courtsim.test")
	require.NoError(t, err)
	return &sim{f: sqliteFixture(t), site: site, prof: p}
}

// daemon builds a daemon on its own connection, as the reserver process
// would have.
func (s *sim) daemon(t *testing.T, instance string) *schedule.Daemon {
	t.Helper()
	db, err := database.Open(s.f.dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	d, err := schedule.New(schedule.Config{
		Store: booking.NewStore(db, s.f.box), Profiles: map[string]*profile.Profile{"courtsim": s.prof},
		Transport: &sitesim.InProcess{Handler: s.site.Handler(), RemoteAddr: "127.0.0.1:40000"},
		Logger:    zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), Instance: instance, HostCeiling: 1000,
	})
	require.NoError(t, err)
	return d
}

// book queues a booking of court 3 at 10:00 a week after opensAt.
func (s *sim) book(t *testing.T, opensAt time.Time, password string) *booking.Booking {
	t.Helper()
	bk, _, err := s.f.store.Create(context.Background(), booking.NewBooking{
		TenantID: s.f.tenant, Site: "courtsim", Username: "user001", Password: password, Court: "3",
		PlayDate: opensAt.In(s.prof.Location).AddDate(0, 0, 7).Format("2006-01-02"), StartTime: "10:00", EndTime: "11:00",
		OpensAt: opensAt, WindowSeconds: 60, RatePerSecond: 2, Phone: testPhone, BookerName: "홍길동",
		Fields: map[string]string{"people": "2"},
	})
	require.NoError(t, err)
	return bk
}

// outboxRow waits until the booking has an outbox row of kind that is done.
func (s *sim) outboxRow(t *testing.T, bookingID int64, kind string, limit time.Duration) booking.Outbox {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var rows []booking.Outbox
		require.NoError(t, s.f.db.Where("booking_id = ? AND kind = ?", bookingID, kind).Find(&rows).Error)
		if len(rows) == 1 && (rows[0].State == StateSent || rows[0].State == StateFailed) {
			return rows[0]
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no finished %s outbox row for booking %d after %v", kind, bookingID, limit)
	return booking.Outbox{}
}

func solapiRelayConfig(fake *fakeSolapi) Config {
	return Config{
		Provider: ProviderSolapi, HTTPClient: inProcessClient(fake),
		Solapi: SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: "http://127.0.0.1:1"},
	}
}

// A booking that succeeds produces exactly one "booked" SMS carrying the
// reservation number the site recorded.
func TestEndToEndBookedSendsOneConfirmation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		opensAt := s.site.Now().Add(90 * time.Second).Truncate(time.Second)
		s.site.SetOpenAt(opensAt)
		bk := s.book(t, opensAt, "pass1234")

		fake := newFakeSolapi(testSolapiKey, testSolapiSecret)
		d := s.daemon(t, "i1")
		relay := s.f.relay(t, "i1", solapiRelayConfig(fake))
		require.NoError(t, d.Start(t.Context()))
		require.NoError(t, relay.Start(t.Context()))
		row := s.outboxRow(t, bk.ID, KindBooked, 5*time.Minute)
		// Let both run a while longer: nothing more may be sent.
		time.Sleep(2 * time.Minute)
		d.Stop()
		relay.Stop()

		led := s.site.Ledger()
		require.Len(t, led.Reservations, 1)
		number := led.Reservations[0].Number
		require.NotEmpty(t, number)
		require.Equal(t, StateSent, row.State, row.LastError)
		msgs := fake.messages()
		require.Len(t, msgs, 1, "exactly one message")
		require.Equal(t, row.ProviderID, msgs[0].ID)
		m := msgs[0].Msg
		require.Contains(t, m.Text, "예약번호 "+number)
		require.Contains(t, m.Text, "3번 코트 예약 완료")
		require.Equal(t, "01012345678", m.To)
		require.Equal(t, "SMS", m.Type)
		require.Equal(t, Key(bk.ID, KindBooked), m.CustomFields[SolapiKeyField])
		require.True(t, msgs[0].Created.After(opensAt), "sent after the booking succeeded")
	})
}

// A booking whose password is wrong produces a login_failed SMS at
// pre-warm, before the opening instant, while there is time to act.
func TestEndToEndLoginFailedWarnsBeforeOpening(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t)
		opensAt := s.site.Now().Add(100 * time.Second).Truncate(time.Second)
		s.site.SetOpenAt(opensAt)
		bk := s.book(t, opensAt, "wrong-password")

		fake := newFakeSolapi(testSolapiKey, testSolapiSecret)
		d := s.daemon(t, "i1")
		relay := s.f.relay(t, "i1", solapiRelayConfig(fake))
		require.NoError(t, d.Start(t.Context()))
		require.NoError(t, relay.Start(t.Context()))
		row := s.outboxRow(t, bk.ID, KindLoginFailed, 5*time.Minute)
		time.Sleep(time.Until(opensAt.Add(time.Minute)))
		d.Stop()
		relay.Stop()

		require.Equal(t, StateSent, row.State, row.LastError)
		msgs := fake.messages()
		require.Len(t, msgs, 1)
		require.True(t, msgs[0].Created.Before(opensAt.Add(-30*time.Second)),
			"warned %v before the opening", opensAt.Sub(msgs[0].Created))
		require.Contains(t, msgs[0].Msg.Text, "로그인 실패")
		require.Equal(t, Key(bk.ID, KindLoginFailed), msgs[0].Msg.CustomFields[SolapiKeyField])
		require.Greater(t, smsBytes(msgs[0].Msg.Text), SolapiSMSBytes, "this default text is long")
		require.Equal(t, "LMS", msgs[0].Msg.Type)
		require.Empty(t, s.site.Ledger().Reservations)
		require.False(t, strings.Contains(msgs[0].Msg.Text, "wrong-password"))
	})
}
