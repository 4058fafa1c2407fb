package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"gopkg.in/yaml.v3"
)

// These tests talk HTTP over real loopback sockets to the fake providers.

func testMessage(text string) Message {
	return Message{
		ID: 7, BookingID: 42, Kind: KindBooked, To: testPhone, Text: text,
		Key: Key(42, KindBooked), CreatedAt: time.Now().UTC().Add(-time.Second),
	}
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSolapiSendsSignedSMS(t *testing.T) {
	t.Parallel()
	fake := newFakeSolapi(testSolapiKey, testSolapiSecret)
	p, err := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "02-1234-5678", BaseURL: serve(t, fake)}, nil)
	require.NoError(t, err)

	id, err := p.Send(t.Context(), testMessage("[reserver] 예약 완료. 예약번호 R-1"))
	require.NoError(t, err)
	msgs := fake.messages()
	require.Len(t, msgs, 1)
	require.Equal(t, msgs[0].ID, id)
	require.Equal(t, SolapiMessage{
		To: "01012345678", From: "0212345678", Text: "[reserver] 예약 완료. 예약번호 R-1", Type: "SMS",
		CustomFields: map[string]string{SolapiKeyField: "reserver-42-booked"},
	}, msgs[0].Msg)

	// A second request signs with a fresh salt (Solapi refuses a
	// signature seen in the last 15 minutes).
	_, err = p.Send(t.Context(), testMessage("두 번째"))
	require.NoError(t, err)
	require.Len(t, fake.messages(), 2)
}

// Korean text over 90 EUC-KR bytes goes as LMS with a subject; text over
// 2000 bytes is cut to fit.
func TestSolapiLongKoreanTextGoesAsLMS(t *testing.T) {
	t.Parallel()
	fake := newFakeSolapi(testSolapiKey, testSolapiSecret)
	p, err := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: serve(t, fake)}, nil)
	require.NoError(t, err)
	cases := []struct {
		text     string
		typ      string
		maxBytes int
	}{
		{strings.Repeat("가", 45), "SMS", 90},       // exactly 90 bytes
		{strings.Repeat("가", 45) + "a", "LMS", 91}, // one byte over
		{strings.Repeat("예약", 600), "LMS", 2000},   // 2400 bytes, cut
		{strings.Repeat("x", 90), "SMS", 90},
	}
	for i, c := range cases {
		_, err := p.Send(t.Context(), testMessage(c.text))
		require.NoError(t, err, "case %d", i)
		got := fake.messages()[i].Msg
		require.Equal(t, c.typ, got.Type, "case %d", i)
		require.LessOrEqual(t, smsBytes(got.Text), c.maxBytes)
		if c.typ == "LMS" {
			require.Equal(t, SolapiSubjectDefault, got.Subject)
		} else {
			require.Empty(t, got.Subject)
		}
	}
	require.True(t, strings.HasSuffix(fake.messages()[2].Msg.Text, "…"), "cut text is marked")
}

func TestSolapiLookupFindsByKey(t *testing.T) {
	t.Parallel()
	fake := newFakeSolapi(testSolapiKey, testSolapiSecret)
	p, err := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: serve(t, fake)}, nil)
	require.NoError(t, err)
	m := testMessage("예약 완료")
	_, found, err := p.Lookup(t.Context(), m)
	require.NoError(t, err)
	require.False(t, found)

	id, err := p.Send(t.Context(), m)
	require.NoError(t, err)
	got, found, err := p.Lookup(t.Context(), m)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, id, got)

	other := m
	other.Key = Key(43, KindBooked)
	_, found, err = p.Lookup(t.Context(), other)
	require.NoError(t, err)
	require.False(t, found, "another row's key is not this one")
}

func TestTwilioSendsFormWithBasicAuth(t *testing.T) {
	t.Parallel()
	fake := newFakeTwilio(testTwilioSID, testTwilioToken)
	base := serve(t, fake)
	p, err := newTwilio(TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006", BaseURL: base}, nil)
	require.NoError(t, err)
	m := testMessage("[reserver] 예약 완료. 예약번호 R-1")
	_, found, err := p.Lookup(t.Context(), m)
	require.NoError(t, err)
	require.False(t, found)

	sid, err := p.Send(t.Context(), m)
	require.NoError(t, err)
	msgs := fake.messages()
	require.Len(t, msgs, 1)
	require.Equal(t, twilioStored{SID: sid, To: testPhone, From: "+15005550006", Body: m.Text, Created: msgs[0].Created}, msgs[0])
	got, found, err := p.Lookup(t.Context(), m)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, sid, got)

	// A messaging service instead of a number.
	svc, err := newTwilio(TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, MessagingServiceSID: "MG0123", BaseURL: base}, nil)
	require.NoError(t, err)
	_, err = svc.Send(t.Context(), testMessage("다른 메시지"))
	require.NoError(t, err)
	require.Equal(t, "MG0123", fake.messages()[1].Service)
	require.Empty(t, fake.messages()[1].From)

	// Long text stays within Twilio's 1600 characters.
	_, err = p.Send(t.Context(), testMessage(strings.Repeat("예", 2000)))
	require.NoError(t, err)
	require.Equal(t, 1600, utf8.RuneCountInString(fake.messages()[2].Body))
}

func TestWebhookSignsAndSendsKey(t *testing.T) {
	t.Parallel()
	fake := newFakeWebhook(testWebhookKey)
	p, err := newWebhook(WebhookConfig{URL: serve(t, fake) + "/hook", Secret: testWebhookKey}, nil)
	require.NoError(t, err)
	m := testMessage("예약 완료")
	id, err := p.Send(t.Context(), m)
	require.NoError(t, err)
	require.Equal(t, "wh-reserver-42-booked", id)
	require.Equal(t, []WebhookPayload{{ID: 7, Kind: KindBooked, To: testPhone, Text: "예약 완료", BookingID: 42, Key: "reserver-42-booked"}}, fake.all())

	wrong, err := newWebhook(WebhookConfig{URL: serve(t, fake) + "/hook", Secret: "another-secret"}, nil)
	require.NoError(t, err)
	_, err = wrong.Send(t.Context(), m)
	require.ErrorIs(t, err, ErrPermanent, "a receiver rejecting the signature is not retried")
}

func TestSignWebhookIsHMACOfTimestampAndBody(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 0)
	got := signWebhook([]byte("k"), at, []byte(`{"a":1}`))
	// echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac k
	require.Equal(t, "t=1700000000,v1=1b6ad1bc9bf48c52ce01939866d5877c6cc4e87ddad27e16673cb8c4964394a3", got)
	require.NoError(t, verifyWebhook("k", got, []byte(`{"a":1}`), at))
	require.Error(t, verifyWebhook("k", got, []byte(`{"a":2}`), at))
}

// Each failure is classified: permanent (not retried), maybe sent (looked
// up before any resend), or plainly retried.
func TestProviderErrorsAreClassified(t *testing.T) {
	t.Parallel()
	refused := func() string { // a loopback port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	type want int
	const (
		retry want = iota
		perm
		maybe
	)
	cases := []struct {
		name string
		send func(t *testing.T) error
		want want
	}{
		{"solapi wrong secret", func(t *testing.T) error {
			p, _ := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: "wrong-secret", From: "0212345678", BaseURL: serve(t, newFakeSolapi(testSolapiKey, testSolapiSecret))}, nil)
			_, err := p.Send(t.Context(), testMessage("x"))
			return err
		}, perm},
		{"solapi clock skew", func(t *testing.T) error {
			p, _ := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: serve(t, newFakeSolapi(testSolapiKey, testSolapiSecret))}, nil)
			p.now = func() time.Time { return time.Now().Add(-20 * time.Minute) }
			_, err := p.Send(t.Context(), testMessage("x"))
			return err
		}, retry},
		{"solapi foreign number", func(t *testing.T) error {
			p, _ := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: serve(t, newFakeSolapi(testSolapiKey, testSolapiSecret))}, nil)
			m := testMessage("x")
			m.To = "+15551234567"
			_, err := p.Send(t.Context(), m)
			return err
		}, perm},
		{"solapi 503 after applying", func(t *testing.T) error {
			f := newFakeSolapi(testSolapiKey, testSolapiSecret)
			f.faults.script = []fault{faultApply503}
			p, _ := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: serve(t, f)}, nil)
			_, err := p.Send(t.Context(), testMessage("x"))
			return err
		}, maybe},
		{"solapi reset after applying", func(t *testing.T) error {
			f := newFakeSolapi(testSolapiKey, testSolapiSecret)
			f.faults.script = []fault{faultApplyReset}
			p, _ := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: serve(t, f)}, nil)
			_, err := p.Send(t.Context(), testMessage("x"))
			return err
		}, maybe},
		{"solapi timeout after applying", func(t *testing.T) error {
			f := newFakeSolapi(testSolapiKey, testSolapiSecret)
			f.faults.script = []fault{faultApplyHang}
			p, _ := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: serve(t, f)}, nil)
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			_, err := p.Send(ctx, testMessage("x"))
			return err
		}, maybe},
		{"solapi 429", func(t *testing.T) error {
			f := newFakeSolapi(testSolapiKey, testSolapiSecret)
			f.faults.script = []fault{faultReject429}
			p, _ := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: serve(t, f)}, nil)
			_, err := p.Send(t.Context(), testMessage("x"))
			return err
		}, retry},
		{"connection refused", func(t *testing.T) error {
			p, _ := newSolapi(SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: refused}, nil)
			_, err := p.Send(t.Context(), testMessage("x"))
			return err
		}, retry},
		{"twilio invalid number", func(t *testing.T) error {
			p, _ := newTwilio(TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006", BaseURL: serve(t, newFakeTwilio(testTwilioSID, testTwilioToken))}, nil)
			m := testMessage("x")
			m.To = "12"
			_, err := p.Send(t.Context(), m)
			require.ErrorContains(t, err, "21211")
			return err
		}, perm},
		{"twilio bad token", func(t *testing.T) error {
			p, _ := newTwilio(TwilioConfig{AccountSID: testTwilioSID, AuthToken: "nope", From: "+15005550006", BaseURL: serve(t, newFakeTwilio(testTwilioSID, testTwilioToken))}, nil)
			_, err := p.Send(t.Context(), testMessage("x"))
			return err
		}, perm},
		{"twilio 503 before applying", func(t *testing.T) error {
			f := newFakeTwilio(testTwilioSID, testTwilioToken)
			f.faults.script = []fault{faultReject503}
			p, _ := newTwilio(TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006", BaseURL: serve(t, f)}, nil)
			_, err := p.Send(t.Context(), testMessage("x"))
			return err
		}, maybe}, // the client cannot tell a 5xx before from one after
		{"webhook 500", func(t *testing.T) error {
			f := newFakeWebhook(testWebhookKey)
			f.faults.script = []fault{faultApply503}
			p, _ := newWebhook(WebhookConfig{URL: serve(t, f), Secret: testWebhookKey}, nil)
			_, err := p.Send(t.Context(), testMessage("x"))
			return err
		}, maybe},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.send(t)
			require.Error(t, err)
			switch c.want {
			case perm:
				require.ErrorIs(t, err, ErrPermanent)
				require.NotErrorIs(t, err, ErrMaybeSent)
			case maybe:
				require.ErrorIs(t, err, ErrMaybeSent)
				require.NotErrorIs(t, err, ErrPermanent)
			case retry:
				require.NotErrorIs(t, err, ErrPermanent)
				require.NotErrorIs(t, err, ErrMaybeSent)
			}
		})
	}
}

// Credentials appear in no error, no log line and no printed or marshalled
// configuration, even when a provider echoes the request back.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A hostile or buggy provider echoing everything it got, plus our
		// secrets in clear, in the error message.
		b, _ := json.Marshal(map[string]any{
			"errorCode": "Echo", "errorMessage": fmt.Sprintf("%v %s %s %s", r.Header, testSolapiSecret, testTwilioToken, testWebhookKey),
			"code": 20003, "message": fmt.Sprintf("%v %s %s", r.Header, testTwilioToken, testSolapiSecret),
		})
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(b)
	})
	base := serve(t, echo)
	secrets := []string{
		testSolapiSecret, testTwilioToken, testWebhookKey,
		base64.StdEncoding.EncodeToString([]byte(testTwilioSID + ":" + testTwilioToken)),
	}
	core, logs := observer.New(zapcore.DebugLevel)
	f := sqliteFixture(t)
	for _, cfg := range []Config{
		{Provider: ProviderSolapi, Solapi: SolapiConfig{APIKey: testSolapiKey, APISecret: testSolapiSecret, From: "0212345678", BaseURL: base}},
		{Provider: ProviderTwilio, Twilio: TwilioConfig{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15005550006", BaseURL: base}},
		{Provider: ProviderWebhook, Webhook: WebhookConfig{URL: base + "/h?token=URLTOKEN123", Secret: testWebhookKey}},
	} {
		cfg.Logger = zap.New(core)
		// Every secret configured at once, whichever provider runs.
		cfg.Solapi.APISecret, cfg.Twilio.AuthToken, cfg.Webhook.Secret = testSolapiSecret, testTwilioToken, testWebhookKey
		row := f.row(t, KindBooked, testPhone, "")
		r := f.relay(t, "leak-"+cfg.Provider, cfg)
		_, err := r.send.Send(t.Context(), testMessage("x"))
		require.Error(t, err)
		r.drain(t.Context())
		got := f.get(t, row.ID)
		require.Equal(t, StateFailed, got.State, "400 is permanent")
		require.NotContains(t, err.Error()+got.LastError, "URLTOKEN123", "errors name no query string")
		for _, s := range secrets {
			require.NotContains(t, err.Error(), s, cfg.Provider)
			require.NotContains(t, got.LastError, s, cfg.Provider)
			require.NotContains(t, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), s)
			y, err := yaml.Marshal(cfg)
			require.NoError(t, err)
			require.NotContains(t, string(y), s)
			j, err := json.Marshal(cfg.Solapi)
			require.NoError(t, err)
			require.NotContains(t, string(j), s)
		}
	}
	require.NotZero(t, logs.Len())
	for _, e := range logs.All() {
		line := e.Message + fmt.Sprint(e.ContextMap())
		for _, s := range append(secrets, "URLTOKEN123") {
			require.NotContains(t, line, s)
		}
		require.NotContains(t, line, testPhone, "phone numbers are masked in logs")
	}
}

func TestLogProviderMasksThePhone(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	p, err := NewProvider(Config{Logger: zap.New(core)})
	require.NoError(t, err)
	id, err := p.Send(t.Context(), testMessage("예약 완료"))
	require.NoError(t, err)
	require.Equal(t, "log-reserver-42-booked", id)
	require.Equal(t, 1, logs.Len())
	fields := logs.All()[0].ContextMap()
	require.Equal(t, "+82******5678", fields["to"])
	require.Equal(t, "예약 완료", fields["text"])
}

func TestNewProviderValidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown", Config{Provider: "pigeon"}, "expected log, webhook, solapi or twilio"},
		{"webhook without secret", Config{Provider: ProviderWebhook, Webhook: WebhookConfig{URL: "https://hooks.example/sms"}}, "webhook.secret"},
		{"webhook plain http off loopback", Config{Provider: ProviderWebhook, Webhook: WebhookConfig{URL: "http://hooks.example/sms", Secret: "s"}}, "https"},
		{"webhook with credentials in URL", Config{Provider: ProviderWebhook, Webhook: WebhookConfig{URL: "https://u:p@hooks.example/sms", Secret: "s"}}, "credentials"},
		{"solapi without secret", Config{Provider: ProviderSolapi, Solapi: SolapiConfig{APIKey: "k", From: "0212345678"}}, "api_secret"},
		{"solapi without sender", Config{Provider: ProviderSolapi, Solapi: SolapiConfig{APIKey: "k", APISecret: "s"}}, "solapi.from"},
		{"twilio without token", Config{Provider: ProviderTwilio, Twilio: TwilioConfig{AccountSID: "AC1", From: "+1"}}, "auth_token"},
		{"twilio with two senders", Config{Provider: ProviderTwilio, Twilio: TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+1", MessagingServiceSID: "MG1"}}, "exactly one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewProvider(c.cfg)
			require.ErrorIs(t, err, ErrConfig)
			require.ErrorContains(t, err, c.want)
		})
	}
	for _, cfg := range []Config{
		{},
		{Provider: ProviderWebhook, Webhook: WebhookConfig{URL: "http://127.0.0.1:9/sms", Secret: "s"}},
		{Provider: ProviderSolapi, Solapi: SolapiConfig{APIKey: "k", APISecret: "s", From: "0212345678"}},
		{Provider: ProviderTwilio, Twilio: TwilioConfig{AccountSID: "AC1", AuthToken: "t", MessagingServiceSID: "MG1"}},
	} {
		_, err := NewProvider(cfg)
		require.NoError(t, err, cfg.Provider)
	}
}

func TestDomesticKR(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"+821012345678", "01012345678"},
		{"+82 10-1234-5678", "01012345678"},
		{"+82010-1234-5678", "01012345678"},
		{"+8221234567", "021234567"},
		{"010-1234-5678", "01012345678"},
	}
	for _, c := range cases {
		got, err := domesticKR(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	for _, bad := range []string{"+15551234567", "", "12345"} {
		_, err := domesticKR(bad)
		require.ErrorIs(t, err, ErrPermanent, bad)
	}
}

func TestTransportErrorsHideTheQuery(t *testing.T) {
	t.Parallel()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://127.0.0.1:1/x?token=SEKRIT", nil)
	require.NoError(t, err)
	_, _, err = exchange(&http.Client{}, req)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "SEKRIT")
	require.Contains(t, err.Error(), "GET http://127.0.0.1:1/x")
	require.False(t, errors.Is(err, ErrMaybeSent), "nothing was written to a refused connection")
}

// The lead embeds Config under `notify:`; it decodes strictly from YAML.
func TestConfigDecodesFromYAML(t *testing.T) {
	t.Parallel()
	src := `
provider: solapi
retry_for: 30m
backoff_base: 2s
backoff_cap: 1m
lease_ttl: 45s
poll_every: 1s
send_timeout: 10s
batch: 5
templates:
  booked: "{{.Court}}번 코트 예약 완료 {{.ReservationNo}}"
solapi:
  api_key: NCSKEY
  api_secret: shh-secret
  from: "0212345678"
  subject: 예약 알림
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c))
	require.Equal(t, ProviderSolapi, c.Provider)
	require.Equal(t, 30*time.Minute, c.RetryFor)
	require.Equal(t, 45*time.Second, c.LeaseTTL)
	require.Equal(t, 5, c.Batch)
	require.Equal(t, Secret("shh-secret"), c.Solapi.APISecret)
	require.Equal(t, "예약 알림", c.Solapi.Subject)
	require.NoError(t, c.withDefaults().validate())
	_, err := NewProvider(c)
	require.NoError(t, err)

	var bad Config
	dec = yaml.NewDecoder(strings.NewReader("provider: log\nretries: 3\n"))
	dec.KnownFields(true)
	require.Error(t, dec.Decode(&bad), "unknown keys are refused")
}
