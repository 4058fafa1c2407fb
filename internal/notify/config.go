package notify

import (
	"cmp"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"reserver/internal/database"
)

// Provider names.
const (
	ProviderLog     = "log"
	ProviderWebhook = "webhook"
	ProviderSolapi  = "solapi"
	ProviderTwilio  = "twilio"
)

// Defaults of Config.
const (
	ProviderDefault    = ProviderLog
	RetryForDefault    = time.Hour
	BackoffBaseDefault = 5 * time.Second
	BackoffCapDefault  = 5 * time.Minute
	LeaseTTLDefault    = time.Minute
	PollEveryDefault   = 2 * time.Second
	SendTimeoutDefault = 15 * time.Second
	BatchDefault       = 20
)

// Secret is a credential from the configuration. It prints, logs and
// marshals as "***", so that dumping a configuration does not leak it.
type Secret string

func (Secret) String() string                 { return "***" }
func (Secret) GoString() string               { return `"***"` }
func (Secret) MarshalText() ([]byte, error)   { return []byte("***"), nil }
func (s Secret) MarshalYAML() (any, error)    { return s.String(), nil }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"***"`), nil }

// Config configures notifications; the lead embeds it under `notify:` in
// the main configuration. Secrets are best set from the environment
// (RESERVER_SOLAPI_API_KEY, RESERVER_SOLAPI_API_SECRET,
// RESERVER_TWILIO_AUTH_TOKEN, RESERVER_WEBHOOK_SECRET).
type Config struct {
	// Provider is log (default), webhook, solapi or twilio.
	Provider string `yaml:"provider"`
	// Templates are Go text/templates over Data, by outbox kind (booked,
	// login_failed, failed), for Korean messages; a kind left out keeps its
	// built-in text. A site's own templates (SiteTexts) come first.
	Templates map[string]string `yaml:"templates"`
	// RetryFor: a message not sent this long after its row was written is
	// given up (state failed).
	RetryFor time.Duration `yaml:"retry_for"`
	// BackoffBase and BackoffCap shape the wait between tries: base·2^n,
	// at most cap, with jitter.
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffCap  time.Duration `yaml:"backoff_cap"`
	// LeaseTTL is how long a relay holds a row it is sending; another
	// relay takes a row over (looking it up first) once it expires.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// PollEvery is how often a relay looks for due rows.
	PollEvery time.Duration `yaml:"poll_every"`
	// SendTimeout bounds one send or lookup.
	SendTimeout time.Duration `yaml:"send_timeout"`
	// Batch is how many due rows a relay reads at once.
	Batch int `yaml:"batch"`

	Webhook WebhookConfig `yaml:"webhook"`
	Solapi  SolapiConfig  `yaml:"solapi"`
	Twilio  TwilioConfig  `yaml:"twilio"`

	// Wiring, not configuration.

	// DB holds the outbox table (required).
	DB *database.DB `yaml:"-"`
	// Logger; default no logging.
	Logger *zap.Logger `yaml:"-"`
	// Instance names this relay in claimed_by; the daemon's instance name.
	Instance string `yaml:"-"`
	// Sender, when set, replaces the provider named by Provider (tests, or
	// a provider built elsewhere). It is also used for lookups if it is a
	// Checker.
	Sender Provider `yaml:"-"`
	// HTTPClient carries provider requests; default a plain client with
	// no proxy. Every request is bounded by SendTimeout.
	HTTPClient *http.Client `yaml:"-"`
	// SiteTexts are the sites' own templates by site name (the sms:
	// section of each site profile; internal/app fills it from the loaded
	// profiles). A site left out uses Templates and the built-in texts.
	SiteTexts map[string]*SiteTexts `yaml:"-"`
}

// WebhookConfig configures the webhook provider.
type WebhookConfig struct {
	URL string `yaml:"url"`
	// Secret keys the HMAC-SHA256 signature (RESERVER_WEBHOOK_SECRET).
	Secret Secret `yaml:"secret"`
}

// SolapiConfig configures the Solapi provider.
type SolapiConfig struct {
	APIKey    string `yaml:"api_key"`    // RESERVER_SOLAPI_API_KEY
	APISecret Secret `yaml:"api_secret"` // RESERVER_SOLAPI_API_SECRET
	// From is the sender number registered with Solapi (e.g. 0212345678).
	From string `yaml:"from"`
	// Subject of long messages (LMS); default "[reserver] 알림".
	Subject string `yaml:"subject"`
	// BaseURL; default https://api.solapi.com.
	BaseURL string `yaml:"base_url"`
}

// TwilioConfig configures the Twilio provider.
type TwilioConfig struct {
	AccountSID string `yaml:"account_sid"`
	AuthToken  Secret `yaml:"auth_token"` // RESERVER_TWILIO_AUTH_TOKEN
	// From is a Twilio number in E.164; or use MessagingServiceSID.
	From                string `yaml:"from"`
	MessagingServiceSID string `yaml:"messaging_service_sid"`
	// BaseURL; default https://api.twilio.com.
	BaseURL string `yaml:"base_url"`
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	c.Provider = cmp.Or(c.Provider, ProviderDefault)
	c.RetryFor = cmp.Or(c.RetryFor, RetryForDefault)
	c.BackoffBase = cmp.Or(c.BackoffBase, BackoffBaseDefault)
	c.BackoffCap = cmp.Or(c.BackoffCap, BackoffCapDefault)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, LeaseTTLDefault)
	c.PollEvery = cmp.Or(c.PollEvery, PollEveryDefault)
	c.SendTimeout = cmp.Or(c.SendTimeout, SendTimeoutDefault)
	c.Batch = cmp.Or(c.Batch, BatchDefault)
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

// validate checks the timing settings.
func (c Config) validate() error {
	switch {
	case c.RetryFor < 0 || c.BackoffBase < 0 || c.BackoffCap < 0 || c.LeaseTTL < 0 || c.PollEvery < 0 || c.SendTimeout < 0 || c.Batch < 0:
		return fmt.Errorf("%w: durations and batch must not be negative", ErrConfig)
	case c.BackoffCap < c.BackoffBase:
		return fmt.Errorf("%w: backoff_cap (%v) is shorter than backoff_base (%v)", ErrConfig, c.BackoffCap, c.BackoffBase)
	case c.LeaseTTL < 2*c.SendTimeout+time.Second:
		// A try is a lookup and a send, each bounded by SendTimeout, then a
		// write: it must end well inside the lease, or another relay could
		// take the row over while this one is still sending.
		return fmt.Errorf("%w: lease_ttl (%v) must exceed twice send_timeout (%v) plus a second", ErrConfig, c.LeaseTTL, c.SendTimeout)
	}
	return nil
}

// NewProvider builds the provider c names. Logger is used by the log
// provider; HTTPClient by the others.
func NewProvider(c Config) (Provider, error) {
	c = c.withDefaults()
	switch c.Provider {
	case ProviderLog:
		return logProvider{log: c.Logger.Named("sms")}, nil
	case ProviderWebhook:
		return newWebhook(c.Webhook, c.HTTPClient)
	case ProviderSolapi:
		return newSolapi(c.Solapi, c.HTTPClient)
	case ProviderTwilio:
		return newTwilio(c.Twilio, c.HTTPClient)
	}
	return nil, fmt.Errorf("%w: provider %q: expected log, webhook, solapi or twilio", ErrConfig, c.Provider)
}

// secrets lists the configured credentials, to scrub them from any text
// that could reach a log or the database.
func (c Config) secrets() []string {
	var out []string
	forms := []string{string(c.Webhook.Secret), string(c.Solapi.APISecret), string(c.Twilio.AuthToken)}
	if c.Twilio.AuthToken != "" {
		forms = append(forms, basicAuth(c.Twilio.AccountSID, string(c.Twilio.AuthToken)))
	}
	for _, s := range forms {
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	return out
}

// checkURL accepts https URLs, and plain http only to a loopback host (a
// local gateway or a test double): credentials never cross a network in
// clear text.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%w: %s must be an http(s) URL", ErrConfig, field)
	}
	if u.User != nil {
		return fmt.Errorf("%w: %s must not carry credentials", ErrConfig, field)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return fmt.Errorf("%w: %s must use https (plain http only to a loopback address)", ErrConfig, field)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
