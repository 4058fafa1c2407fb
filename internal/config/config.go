// Package config loads reserver's configuration: one YAML file (see
// configs/reserver.example.yaml) with environment overrides for secrets and
// deployment. With no file and no environment, the defaults run everything
// locally on an embedded SQLite file. It does not open anything; the app
// package turns a Config into running parts.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"reserver/internal/ippool"
	"reserver/internal/metrics"
	"reserver/internal/notify"
)

// Defaults, used when neither the file nor the environment says otherwise.
const (
	DSNDefault           = "sqlite:var/reserver.db"
	APIAddrDefault       = "127.0.0.1:8080"
	SecretKeyFileDefault = "var/secret.key"
	SitesDirDefault      = "configs/sites"
	MaxBodyBytesDefault  = 64 << 10
	RateDefault          = 2.0
	MaxRateDefault       = 2.0
	WindowDefault        = 300
	MinWindowDefault     = 10
	MaxWindowDefault     = 3600
	// MaxActiveDefault is how many queued, armed or running bookings one
	// tenant may hold: far more than a person books, few enough that one
	// tenant cannot fill the daemon's schedule.
	MaxActiveDefault = 200
	// APIRateDefault and APIBurstDefault bound the requests of one API
	// token: a script polling its bookings fits, a loop does not.
	APIRateDefault  = 10.0
	APIBurstDefault = 20
)

// Config is the whole configuration.
type Config struct {
	// DB is the database: "sqlite:PATH" or "mysql:<go-sql-driver DSN>".
	DB struct {
		DSN string `yaml:"dsn"`
	} `yaml:"db"`
	API struct {
		Addr         string `yaml:"addr"`
		MaxBodyBytes int64  `yaml:"max_body_bytes"`
	} `yaml:"api"`
	// SecretKey is base64 of 32 bytes; prefer RESERVER_SECRET_KEY.
	SecretKey     string `yaml:"secret_key"`
	SecretKeyFile string `yaml:"secret_key_file"`
	SitesDir      string `yaml:"sites_dir"`
	Limits        struct {
		DefaultRate   float64 `yaml:"default_rate_per_second"`
		MaxRate       float64 `yaml:"max_rate_per_second"`
		DefaultWindow int     `yaml:"default_window_seconds"`
		MinWindow     int     `yaml:"min_window_seconds"`
		MaxWindow     int     `yaml:"max_window_seconds"`
		// MaxActivePerTenant bounds a tenant's queued, armed and running
		// bookings; a create beyond it is answered 429.
		MaxActivePerTenant int `yaml:"max_active_bookings_per_tenant"`
		// APIRate and APIBurst bound the requests per second of one API
		// token (a token bucket); beyond them the API answers 429.
		APIRate  float64 `yaml:"api_requests_per_second"`
		APIBurst int     `yaml:"api_requests_burst"`
	} `yaml:"limits"`
	Log struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"` // json or console
	} `yaml:"log"`
	Daemon Daemon        `yaml:"daemon"`
	Notify notify.Config `yaml:"notify"`
	Egress ippool.Config `yaml:"egress"`
}

// JournalDirDefault is where the daemon keeps its outcome journal.
const JournalDirDefault = "var/journal"

// SeriesHorizonDefault is how far ahead of its opening a series'
// occurrence gets its booking (series.HorizonDefault); the bounds keep a
// typo from creating nothing (too short to pass before the opening) or a
// season's worth of bookings at once.
const (
	SeriesHorizonDefault = 14 * 24 * time.Hour
	SeriesHorizonMin     = time.Hour
	SeriesHorizonMax     = 60 * 24 * time.Hour
)

// Daemon configures `reserver run`.
type Daemon struct {
	Instance string        `yaml:"instance"`
	Lead     time.Duration `yaml:"lead"`
	Margin   time.Duration `yaml:"margin"`
	// Aim is "opening" (default) or "learned" (docs/opening.md).
	Aim          string        `yaml:"aim"`
	LeaseTTL     time.Duration `yaml:"lease_ttl"`
	Heartbeat    time.Duration `yaml:"heartbeat"`
	ScanEvery    time.Duration `yaml:"scan_every"`
	Grace        time.Duration `yaml:"grace"`
	HostCeiling  float64       `yaml:"host_ceiling_per_second"`
	NotifyFailed bool          `yaml:"notify_failed"`
	MetricsAddr  string        `yaml:"metrics_addr"`
	// JournalDir keeps outcomes the database could not take yet, for the
	// next start to write (schedule.Config.JournalDir).
	JournalDir string `yaml:"journal_dir"`
	// SeriesHorizon: a series' occurrence gets its booking once its
	// opening is at most this far ahead (series.Config.Horizon).
	SeriesHorizon time.Duration `yaml:"series_horizon"`
}

// Load reads path (empty: $RESERVER_CONFIG, or no file at all), applies the
// environment from getenv, fills defaults and validates.
func Load(path string, getenv func(string) string) (Config, error) {
	var c Config
	if path == "" {
		path = getenv("RESERVER_CONFIG")
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		// An empty file decodes as io.EOF: it simply sets nothing.
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return c, err
	}
	c.fillDefaults()
	return c, c.validate()
}

func (c *Config) applyEnv(getenv func(string) string) error {
	str := map[string]*string{
		"RESERVER_DB_DSN":          &c.DB.DSN,
		"RESERVER_API_ADDR":        &c.API.Addr,
		"RESERVER_SECRET_KEY":      &c.SecretKey,
		"RESERVER_SECRET_KEY_FILE": &c.SecretKeyFile,
		"RESERVER_SITES_DIR":       &c.SitesDir,
		"RESERVER_LOG_LEVEL":       &c.Log.Level,
		"RESERVER_LOG_FORMAT":      &c.Log.Format,
		"RESERVER_INSTANCE":        &c.Daemon.Instance,
		"RESERVER_METRICS_ADDR":    &c.Daemon.MetricsAddr,
		"RESERVER_JOURNAL_DIR":     &c.Daemon.JournalDir,
	}
	for name, dst := range str {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	// Provider secrets belong in the environment, not in the file.
	if v := getenv("RESERVER_SOLAPI_API_KEY"); v != "" {
		c.Notify.Solapi.APIKey = v
	}
	if v := getenv("RESERVER_SOLAPI_API_SECRET"); v != "" {
		c.Notify.Solapi.APISecret = notify.Secret(v)
	}
	if v := getenv("RESERVER_TWILIO_AUTH_TOKEN"); v != "" {
		c.Notify.Twilio.AuthToken = notify.Secret(v)
	}
	if v := getenv("RESERVER_WEBHOOK_SECRET"); v != "" {
		c.Notify.Webhook.Secret = notify.Secret(v)
	}
	if v := getenv("RESERVER_NOTIFY_PROVIDER"); v != "" {
		c.Notify.Provider = v
	}
	// Numbers: the rate ceiling, and the API's quotas for a deployment (or
	// a load test) that serves a few busy clients.
	for name, dst := range map[string]*float64{
		"RESERVER_MAX_RATE":                &c.Limits.MaxRate,
		"RESERVER_API_REQUESTS_PER_SECOND": &c.Limits.APIRate,
	} {
		if v := getenv(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s=%q: expected a number of requests per second such as 2", name, v)
			}
			*dst = f
		}
	}
	for name, dst := range map[string]*int{
		"RESERVER_API_REQUESTS_BURST":             &c.Limits.APIBurst,
		"RESERVER_MAX_ACTIVE_BOOKINGS_PER_TENANT": &c.Limits.MaxActivePerTenant,
	} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s=%q: expected a whole number such as 200", name, v)
			}
			*dst = n
		}
	}
	return nil
}

func (c *Config) fillDefaults() {
	set := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	set(&c.DB.DSN, DSNDefault)
	set(&c.API.Addr, APIAddrDefault)
	set(&c.SecretKeyFile, SecretKeyFileDefault)
	set(&c.SitesDir, SitesDirDefault)
	set(&c.Log.Level, "info")
	set(&c.Log.Format, "json")
	if c.API.MaxBodyBytes == 0 {
		c.API.MaxBodyBytes = MaxBodyBytesDefault
	}
	if c.Limits.DefaultRate == 0 {
		c.Limits.DefaultRate = RateDefault
	}
	if c.Limits.MaxRate == 0 {
		c.Limits.MaxRate = MaxRateDefault
	}
	if c.Limits.DefaultWindow == 0 {
		c.Limits.DefaultWindow = WindowDefault
	}
	if c.Limits.MinWindow == 0 {
		c.Limits.MinWindow = MinWindowDefault
	}
	if c.Limits.MaxWindow == 0 {
		c.Limits.MaxWindow = MaxWindowDefault
	}
	c.Limits.MaxActivePerTenant = cmp.Or(c.Limits.MaxActivePerTenant, MaxActiveDefault)
	c.Limits.APIRate = cmp.Or(c.Limits.APIRate, APIRateDefault)
	c.Limits.APIBurst = cmp.Or(c.Limits.APIBurst, APIBurstDefault)
	d := &c.Daemon
	durations := []struct {
		p *time.Duration
		v time.Duration
	}{
		{&d.Lead, 60 * time.Second}, {&d.Margin, time.Millisecond}, {&d.LeaseTTL, 10 * time.Second},
		{&d.Heartbeat, 2500 * time.Millisecond}, {&d.ScanEvery, 2 * time.Second}, {&d.Grace, 30 * time.Second},
		{&d.SeriesHorizon, SeriesHorizonDefault},
	}
	for _, x := range durations {
		if *x.p == 0 {
			*x.p = x.v
		}
	}
	if d.HostCeiling == 0 {
		d.HostCeiling = 50
	}
	if d.Aim == "" {
		d.Aim = "opening"
	}
	if d.MetricsAddr == "" {
		d.MetricsAddr = metrics.AddrDefault
	}
	if d.JournalDir == "" {
		d.JournalDir = JournalDirDefault
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Limits.MaxRate <= 0 || c.Limits.MaxRate > 10 {
		errs = append(errs, fmt.Errorf("limits.max_rate_per_second = %v: expected a number in (0, 10]", c.Limits.MaxRate))
	}
	if c.Limits.DefaultRate <= 0 || c.Limits.DefaultRate > c.Limits.MaxRate {
		errs = append(errs, fmt.Errorf("limits.default_rate_per_second = %v: expected a number in (0, max_rate_per_second=%v]", c.Limits.DefaultRate, c.Limits.MaxRate))
	}
	if c.Limits.MinWindow < 1 || c.Limits.MaxWindow < c.Limits.MinWindow ||
		c.Limits.DefaultWindow < c.Limits.MinWindow || c.Limits.DefaultWindow > c.Limits.MaxWindow {
		errs = append(errs, fmt.Errorf("limits: expected 1 <= min_window_seconds (%d) <= default_window_seconds (%d) <= max_window_seconds (%d)",
			c.Limits.MinWindow, c.Limits.DefaultWindow, c.Limits.MaxWindow))
	}
	if c.Limits.MaxActivePerTenant < 1 {
		errs = append(errs, fmt.Errorf("limits.max_active_bookings_per_tenant = %d: expected at least 1", c.Limits.MaxActivePerTenant))
	}
	if !(c.Limits.APIRate > 0) {
		errs = append(errs, fmt.Errorf("limits.api_requests_per_second = %v: expected a number above 0", c.Limits.APIRate))
	}
	if c.Limits.APIBurst < 1 {
		errs = append(errs, fmt.Errorf("limits.api_requests_burst = %d: expected at least 1", c.Limits.APIBurst))
	}
	if c.API.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("api.max_body_bytes = %d: expected at least 1024", c.API.MaxBodyBytes))
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		errs = append(errs, fmt.Errorf("log.format = %q: expected json or console", c.Log.Format))
	}
	if c.Daemon.Aim != "opening" && c.Daemon.Aim != "learned" {
		errs = append(errs, fmt.Errorf("daemon.aim = %q: expected opening or learned", c.Daemon.Aim))
	}
	if c.Daemon.Heartbeat >= c.Daemon.LeaseTTL {
		errs = append(errs, fmt.Errorf("daemon.heartbeat (%v) must be shorter than daemon.lease_ttl (%v)", c.Daemon.Heartbeat, c.Daemon.LeaseTTL))
	}
	if h := c.Daemon.SeriesHorizon; h < SeriesHorizonMin || h > SeriesHorizonMax {
		errs = append(errs, fmt.Errorf("daemon.series_horizon = %v: expected from 1h to 1440h (60 days), such as 336h for two weeks: "+
			"how far ahead of its opening a series' occurrence gets its booking", h))
	}
	return errors.Join(errs...)
}
