package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
)

// recorder is a Go fake provider that can look messages up. Every
// maybeEvery-th send is applied but reported as ErrMaybeSent.
type recorder struct {
	mu         sync.Mutex
	applied    map[string][]Message
	calls      int
	maybeEvery int
	delay      time.Duration
	lookups    int
}

func newRecorder() *recorder { return &recorder{applied: map[string][]Message{}} }

func (r *recorder) Send(ctx context.Context, m Message) (string, error) {
	if r.delay > 0 {
		select {
		case <-time.After(r.delay):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.applied[m.Key] = append(r.applied[m.Key], m)
	if r.maybeEvery > 0 && r.calls%r.maybeEvery == 0 {
		return "", maybeSent(errors.New("answer lost (simulated)"))
	}
	return "rec-" + m.Key, nil
}

func (r *recorder) Lookup(_ context.Context, m Message) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups++
	if len(r.applied[m.Key]) > 0 {
		return "rec-" + m.Key, true, nil
	}
	return "", false, nil
}

func (r *recorder) texts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ms := range r.applied {
		for _, m := range ms {
			out = append(out, m.Text)
		}
	}
	return out
}

// A provider that fails, hangs or answers 5xx for a while: the message is
// delivered exactly once after it recovers (per key for Solapi and Twilio,
// which can be asked; the webhook receiver gets the same Idempotency-Key
// on every delivery and keeps one).
func TestRelayDeliversOnceAfterProviderRecovers(t *testing.T) {
	scripts := []struct {
		name    string
		faults  []fault
		applied bool // a faulty try reached the provider
	}{
		{"503 before applying, three times", []fault{faultReject503, faultReject503, faultReject503}, false},
		{"429 twice", []fault{faultReject429, faultReject429}, false},
		{"applied, then 503", []fault{faultApply503}, true},
		{"applied, then no answer", []fault{faultApplyHang}, true},
		{"applied, then connection reset", []fault{faultApplyReset}, true},
		{"applied and lost twice", []fault{faultApplyReset, faultApplyHang}, true},
	}
	for _, pc := range []string{ProviderSolapi, ProviderTwilio, ProviderWebhook} {
		for _, sc := range scripts {
			t.Run(pc+"/"+sc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var c providerCase
					for _, x := range providerCases() {
						if x.name == pc {
							c = x
						}
					}
					c.faults.script = append([]fault(nil), sc.faults...)
					f := sqliteFixture(t)
					row := f.row(t, KindBooked, testPhone, "")
					cfg := c.cfg("http://127.0.0.1:1")
					cfg.HTTPClient = inProcessClient(c.handler)
					r := f.relay(t, "r1", cfg)
					require.NoError(t, r.Start(t.Context()))
					got := f.waitDone(t, row.ID, 30*time.Minute)
					r.Stop()

					require.Equal(t, StateSent, got.State, "last error %q", got.LastError)
					require.NotEmpty(t, got.ProviderID)
					require.NotNil(t, got.SentAt)
					require.Equal(t, expectTries(sc.faults, c.checks), got.Tries)
					require.Empty(t, got.ClaimedBy)
					sent := c.sent()
					require.Len(t, sent, 1, "one message, one key")
					for _, n := range sent {
						if c.checks || !sc.applied {
							require.Equal(t, 1, n, "delivered exactly once")
						} else {
							// No lookup: resent under the same key for
							// the receiver to drop.
							require.Equal(t, 1+countApplied(sc.faults), n)
						}
					}
				})
			})
		}
	}
}

// expectTries is how many tries a script takes: with a lookup, the try
// after an applied send finds it and stops.
func expectTries(fs []fault, checks bool) int {
	for i, f := range fs {
		if checks && (f == faultApply503 || f == faultApplyHang || f == faultApplyReset) {
			return i + 2
		}
	}
	return len(fs) + 1
}

func countApplied(fs []fault) int {
	n := 0
	for _, f := range fs {
		if f == faultApply503 || f == faultApplyHang || f == faultApplyReset {
			n++
		}
	}
	return n
}

// A relay dies between the provider's acceptance and recording it: a
// second relay takes the row over once the lease expires and, for
// providers that can be asked, records the earlier send instead of
// sending again.
func TestRelayCrashBetweenSendAndRecord(t *testing.T) {
	for _, pc := range []string{ProviderSolapi, ProviderTwilio, ProviderWebhook} {
		t.Run(pc, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var c providerCase
				for _, x := range providerCases() {
					if x.name == pc {
						c = x
					}
				}
				f := sqliteFixture(t)
				row := f.row(t, KindBooked, testPhone, "")
				cfg := c.cfg("http://127.0.0.1:1")
				cfg.HTTPClient = inProcessClient(c.handler)

				ctx, crash := context.WithCancel(t.Context())
				r1 := f.relay(t, "r1", cfg)
				r1.afterSend = func(Message) { crash() }
				require.NoError(t, r1.Start(ctx))
				for f.get(t, row.ID).Tries == 0 {
					time.Sleep(100 * time.Millisecond)
				}
				r1.Stop()
				crashedAt := time.Now()
				mid := f.get(t, row.ID)
				require.Equal(t, StateSending, mid.State, "the send was never recorded")
				require.Equal(t, "r1", mid.ClaimedBy)
				for _, n := range c.sent() {
					require.Equal(t, 1, n, "the provider has it")
				}

				r2 := f.relay(t, "r2", cfg)
				require.NoError(t, r2.Start(t.Context()))
				got := f.waitDone(t, row.ID, 10*time.Minute)
				r2.Stop()
				require.Equal(t, StateSent, got.State)
				require.GreaterOrEqual(t, got.SentAt.Sub(crashedAt), LeaseTTLDefault-time.Second, "taken over only after the lease expired")
				require.Equal(t, 2, got.Tries)
				sent := c.sent()
				require.Len(t, sent, 1)
				for _, n := range sent {
					if c.checks {
						require.Equal(t, 1, n, "found by lookup, not sent again")
					} else {
						require.Equal(t, 2, n, "the webhook is delivered again under the same key")
					}
				}
			})
		})
	}
}

// A send refused for good fails at once; one that keeps failing is given
// up after the retry period, with the cause kept for operators.
func TestRelayGivesUp(t *testing.T) {
	t.Run("permanent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fake := newFakeSolapi(testSolapiKey, testSolapiSecret)
			f := sqliteFixture(t)
			row := f.row(t, KindBooked, "+15551234567", "")
			r := f.relay(t, "r1", Config{
				Provider: ProviderSolapi, HTTPClient: inProcessClient(fake),
				Solapi: SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: "http://127.0.0.1:1"},
			})
			require.NoError(t, r.Start(t.Context()))
			got := f.waitDone(t, row.ID, time.Minute)
			r.Stop()
			require.Equal(t, StateFailed, got.State)
			require.Equal(t, 1, got.Tries)
			require.Contains(t, got.LastError, "not a Korean (+82) number")
			require.Empty(t, fake.messages())
		})
	})
	t.Run("retry period", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fake := newFakeTwilio(testTwilioSID, testTwilioToken)
			for range 1000 {
				fake.faults.script = append(fake.faults.script, faultReject503)
			}
			f := sqliteFixture(t)
			row := f.row(t, KindBooked, testPhone, "")
			r := f.relay(t, "r1", Config{
				Provider: ProviderTwilio, HTTPClient: inProcessClient(fake), PollEvery: 30 * time.Second,
				Twilio: TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006", BaseURL: "http://127.0.0.1:1"},
			})
			require.NoError(t, r.Start(t.Context()))
			got := f.waitDone(t, row.ID, 2*time.Hour)
			r.Stop()
			require.Equal(t, StateFailed, got.State)
			require.Contains(t, got.LastError, "not sent within 1h0m0s")
			require.Contains(t, got.LastError, "HTTP 503")
			// Given up at the first poll after the period ended.
			require.False(t, got.UpdatedAt.Before(row.CreatedAt.Add(RetryForDefault)))
			require.WithinDuration(t, row.CreatedAt.Add(RetryForDefault), got.UpdatedAt, 30*time.Second+time.Millisecond)
			// 5 s doubling to the 5 min cap, with jitter: about 15–25 tries.
			require.GreaterOrEqual(t, got.Tries, 12)
			require.LessOrEqual(t, got.Tries, 30)
			require.Empty(t, fake.messages())
		})
	})
	t.Run("unknown kind", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec := newRecorder()
			f := sqliteFixture(t)
			row := f.row(t, "reminder", testPhone, "")
			r := f.relay(t, "r1", Config{Sender: rec})
			require.NoError(t, r.Start(t.Context()))
			got := f.waitDone(t, row.ID, time.Minute)
			r.Stop()
			require.Equal(t, StateFailed, got.State)
			require.Contains(t, got.LastError, `no template for outbox kind "reminder"`)
			require.Empty(t, rec.texts())
		})
	})
}

// The texts come from the templates: defaults in Korean, overridable per
// kind; a failure names the booking's reason.
func TestRelayRendersTemplates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := sqliteFixture(t)
		booked := f.row(t, KindBooked, testPhone, "")
		login := f.row(t, KindLoginFailed, testPhone, "")
		failed := f.row(t, KindFailed, testPhone, "")
		require.NoError(t, f.db.Model(&booking.Booking{}).Where("id = ?", failed.BookingID).Update("reason", "sold_out").Error)

		rec := newRecorder()
		r := f.relay(t, "r1", Config{Sender: rec, Templates: map[string]string{
			KindLoginFailed: "{{.Site}} 로그인 실패 ({{.Kind}} #{{.BookingID}})",
		}})
		require.NoError(t, r.Start(t.Context()))
		for _, row := range []booking.Outbox{booked, login, failed} {
			require.Equal(t, StateSent, f.waitDone(t, row.ID, time.Minute).State)
		}
		r.Stop()
		texts := map[string]string{}
		for _, ms := range rec.applied {
			for _, m := range ms {
				texts[m.Kind] = m.Text
			}
		}
		require.Equal(t, fmt.Sprintf("[reserver] 2030-05-01 10:00-11:00 %d번 코트 예약 완료. 예약번호 R-%d", 1, 1001), texts[KindBooked])
		require.Equal(t, fmt.Sprintf("courtsim 로그인 실패 (login_failed #%d)", login.BookingID), texts[KindLoginFailed])
		require.Equal(t, "[reserver] 2030-05-01 10:00-11:00 3번 코트 예약 실패: 이미 다른 사람이 예약했습니다", texts[KindFailed])
	})
}

func TestNewRelayValidates(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no database", func(c *Config) { c.DB = nil }, "DB is required"},
		{"no instance", func(c *Config) { c.Instance = "" }, "Instance is required"},
		{"lease shorter than a try", func(c *Config) { c.LeaseTTL = 20 * time.Second }, "lease_ttl"},
		{"backoff cap under base", func(c *Config) { c.BackoffBase, c.BackoffCap = time.Minute, time.Second }, "backoff_cap"},
		{"negative", func(c *Config) { c.RetryFor = -time.Second }, "negative"},
		{"template syntax", func(c *Config) { c.Templates = map[string]string{KindBooked: "{{.Date"} }, "templates.booked"},
		{"template field", func(c *Config) { c.Templates = map[string]string{KindFailed: "{{.Nope}}"} }, "templates.failed"},
		{"provider", func(c *Config) { c.Provider = "fax" }, "provider"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{DB: f.db, Instance: "i1"}
			c.mod(&cfg)
			_, err := NewRelay(cfg)
			require.ErrorIs(t, err, ErrConfig)
			require.ErrorContains(t, err, c.want)
		})
	}
	_, err := NewRelay(Config{DB: f.db, Instance: "i1"})
	require.NoError(t, err, "the defaults are valid")
}

func TestRelayStopIsSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := sqliteFixture(t)
		r := f.relay(t, "r1", Config{})
		r.Stop()
		r.Stop()
		require.ErrorIs(t, r.Start(t.Context()), ErrStarted, "no start after stop")

		r2 := f.relay(t, "r2", Config{})
		require.NoError(t, r2.Start(t.Context()))
		require.ErrorIs(t, r2.Start(t.Context()), ErrStarted)
		r2.Stop()
		r2.Stop()
	})
}

// Several relays on one database (each on its own connection, as separate
// daemon instances) never send one row twice, even while answers get lost
// and rows go through the lookup path.
func TestRelaysNeverSendTwice(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		const rows = 30
		ids := make([]int64, 0, rows)
		for i := range rows {
			kind := []string{KindBooked, KindLoginFailed, KindFailed}[i%3]
			ids = append(ids, f.row(t, kind, testPhone, "").ID)
		}
		rec := newRecorder()
		rec.maybeEvery = 4
		rec.delay = 2 * time.Millisecond
		cfg := Config{
			Sender: rec, PollEvery: 10 * time.Millisecond, BackoffBase: 10 * time.Millisecond,
			BackoffCap: 40 * time.Millisecond, LeaseTTL: 3 * time.Second, SendTimeout: time.Second, Batch: 5,
		}
		var relays []*Relay
		for i := range 3 {
			r := f.relay(t, fmt.Sprintf("r%d", i+1), cfg)
			require.NoError(t, r.Start(t.Context()))
			relays = append(relays, r)
		}
		require.Eventually(t, func() bool {
			var n int64
			require.NoError(t, f.db.Model(&booking.Outbox{}).Where("state = ?", StateSent).Count(&n).Error)
			return n == rows
		}, 30*time.Second, 20*time.Millisecond)
		for _, r := range relays {
			r.Stop()
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Len(t, rec.applied, rows)
		for key, ms := range rec.applied {
			require.Len(t, ms, 1, "%s sent %d times", key, len(ms))
		}
		require.Positive(t, rec.lookups, "lost answers were looked up")
		for _, id := range ids {
			got := f.get(t, id)
			require.Equal(t, "rec-"+Key(got.BookingID, got.Kind), got.ProviderID)
			require.True(t, strings.HasPrefix(got.ProviderID, "rec-reserver-"))
		}
	})
}
