// Package app wires reserver's parts from a Config: the logger, the
// database (migrated), the secret box and the stores, and the long-running
// servers of both binaries. Everything a test needs starts here in-process;
// the mains only parse flags and call it.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
	_ "time/tzdata" // site zones must resolve in minimal containers too

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"reserver/internal/api"
	"reserver/internal/booking"
	"reserver/internal/config"
	"reserver/internal/database"
	"reserver/internal/secret"
	"reserver/internal/tenant"
)

// Env is the opened state both binaries share.
type Env struct {
	Config   config.Config
	Log      *zap.Logger
	DB       *database.DB
	Box      *secret.Box
	Key      []byte // the secret key, from which other keys are derived
	Bookings *booking.Store
	Tenants  *tenant.Store
}

// NewLogger builds the zap logger the configuration asks for.
func NewLogger(c config.Config) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.Log.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level %q: expected debug, info, warn or error", c.Log.Level)
	}
	zc := zap.NewProductionConfig()
	if c.Log.Format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		zc.DisableStacktrace = true
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.EncoderConfig.TimeKey = "ts"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	return zc.Build()
}

// Open connects to the database, applies migrations and loads the secret
// key. A MySQL deployment without RESERVER_SECRET_KEY is refused: a key file
// on one host would leave the other instances unable to read passwords.
func Open(ctx context.Context, c config.Config, log *zap.Logger) (*Env, error) {
	db, err := database.Open(c.DB.DSN)
	if err != nil {
		return nil, err
	}
	key, err := secretKey(c, db.Dialect)
	if err != nil {
		db.Close()
		return nil, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		db.Close()
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", zap.Int64s("versions", applied), zap.String("dialect", string(db.Dialect)))
	}
	return &Env{
		Config: c, Log: log, DB: db, Box: box, Key: key,
		Bookings: booking.NewStore(db, box),
		Tenants:  tenant.NewStore(db),
	}, nil
}

// ErrNoSecretKey is returned for a MySQL deployment without a key.
var ErrNoSecretKey = errors.New("RESERVER_SECRET_KEY is required with a MySQL database (every instance needs the same key): generate one with 'head -c32 /dev/urandom | base64' and keep it safe")

func secretKey(c config.Config, dialect database.Dialect) ([]byte, error) {
	var key []byte
	var err error
	switch {
	case c.SecretKey != "":
		key, err = secret.ParseKey(c.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("RESERVER_SECRET_KEY: %w", err)
		}
	case dialect == database.MySQL:
		return nil, ErrNoSecretKey
	default:
		key, err = secret.LoadOrCreateKeyFile(c.SecretKeyFile)
		if err != nil {
			return nil, err
		}
	}
	return key, nil
}

// Close releases the database.
func (e *Env) Close() error { return e.DB.Close() }

// Limits turns the configuration into the API's booking limits.
func (e *Env) Limits() api.Limits {
	l := e.Config.Limits
	return api.Limits{DefaultRate: l.DefaultRate, MaxRate: l.MaxRate, DefaultWindow: l.DefaultWindow, MinWindow: l.MinWindow, MaxWindow: l.MaxWindow}
}

// Quotas turns the configuration into the API's per-tenant and per-token
// bounds.
func (e *Env) Quotas() api.Quotas {
	l := e.Config.Limits
	return api.Quotas{MaxActivePerTenant: l.MaxActivePerTenant, RequestsPerSecond: l.APIRate, Burst: l.APIBurst}
}

// APIServer builds the REST API on env.
func (e *Env) APIServer(sites api.Sites) (*api.Server, error) {
	key, err := api.UISessionKey(e.Key)
	if err != nil {
		return nil, err
	}
	hashKey, err := api.RequestHashKey(e.Key)
	if err != nil {
		return nil, err
	}
	return api.New(api.Options{
		DB: e.DB, Bookings: e.Bookings, Tenants: e.Tenants, Sites: sites, SessionKey: key, RequestHashKey: hashKey,
		Limits: e.Limits(), Quotas: e.Quotas(), MaxBodyBytes: e.Config.API.MaxBodyBytes, Logger: e.Log.Named("api"),
		Series: e.Series(),
	})
}

// ServeAPI serves the API on addr until ctx ends, then shuts down within 10
// s. ready, if not nil, is called with the bound address once listening.
func ServeAPI(ctx context.Context, e *Env, sites api.Sites, addr string, ready func(net.Addr)) error {
	srv, err := e.APIServer(sites)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	e.Log.Info("api listening", zap.String("addr", ln.Addr().String()), zap.String("database", string(e.DB.Dialect)))
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	<-errc
	return nil
}
