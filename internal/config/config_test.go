package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load("", env(nil))
	require.NoError(t, err)
	require.Equal(t, "sqlite:var/reserver.db", c.DB.DSN)
	require.Equal(t, "127.0.0.1:8080", c.API.Addr)
	require.Equal(t, 2.0, c.Limits.MaxRate)
	require.Equal(t, 300, c.Limits.DefaultWindow)
	require.Equal(t, 60*time.Second, c.Daemon.Lead)
	require.Equal(t, 14*24*time.Hour, c.Daemon.SeriesHorizon)
}

func TestFileAndEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "r.yaml")
	require.NoError(t, os.WriteFile(path, []byte("db:\n  dsn: sqlite:/tmp/x.db\napi:\n  addr: 127.0.0.1:9999\ndaemon:\n  lead: 90s\n  series_horizon: 72h\n"), 0o600))

	c, err := Load(path, env(map[string]string{"RESERVER_API_ADDR": "127.0.0.2:8080"}))
	require.NoError(t, err)
	require.Equal(t, "sqlite:/tmp/x.db", c.DB.DSN)
	require.Equal(t, "127.0.0.2:8080", c.API.Addr, "the environment wins over the file")
	require.Equal(t, 90*time.Second, c.Daemon.Lead)
	require.Equal(t, 72*time.Hour, c.Daemon.SeriesHorizon)

	c, err = Load("", env(map[string]string{"RESERVER_CONFIG": path}))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9999", c.API.Addr)
	require.Equal(t, 200, c.Limits.MaxActivePerTenant, "default quota")

	c, err = Load(path, env(map[string]string{"RESERVER_API_REQUESTS_PER_SECOND": "500", "RESERVER_API_REQUESTS_BURST": "800", "RESERVER_MAX_ACTIVE_BOOKINGS_PER_TENANT": "5000"}))
	require.NoError(t, err)
	require.Equal(t, 500.0, c.Limits.APIRate)
	require.Equal(t, 800, c.Limits.APIBurst)
	require.Equal(t, 5000, c.Limits.MaxActivePerTenant)
}

func TestRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, yaml, want string
		env              map[string]string
	}{
		{"unknown key", "db:\n  dns: x\n", "field dns not found", nil},
		{"bad rate", "limits:\n  max_rate_per_second: 50\n", "max_rate_per_second", nil},
		{"default above ceiling", "limits:\n  default_rate_per_second: 3\n", "default_rate_per_second", nil},
		{"bad env rate", "", "RESERVER_MAX_RATE", map[string]string{"RESERVER_MAX_RATE": "fast"}},
		{"bad env api rate", "", "RESERVER_API_REQUESTS_PER_SECOND", map[string]string{"RESERVER_API_REQUESTS_PER_SECOND": "lots"}},
		{"bad env burst", "", "RESERVER_API_REQUESTS_BURST", map[string]string{"RESERVER_API_REQUESTS_BURST": "1.5"}},
		{"zero quota", "", "max_active_bookings_per_tenant", map[string]string{"RESERVER_MAX_ACTIVE_BOOKINGS_PER_TENANT": "-1"}},
		{"zero api rate", "limits:\n  api_requests_per_second: -2\n", "api_requests_per_second", nil},
		{"bad format", "log:\n  format: xml\n", "log.format", nil},
		{"short horizon", "daemon:\n  series_horizon: 30m\n", "daemon.series_horizon = 30m0s: expected from 1h to 1440h (60 days)", nil},
		{"long horizon", "daemon:\n  series_horizon: 1441h\n", "daemon.series_horizon = 1441h0m0s: expected from 1h to 1440h (60 days)", nil},
		{"negative horizon", "daemon:\n  series_horizon: -1h\n", "daemon.series_horizon = -1h0m0s", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.yaml), 0o600))
			_, err := Load(path, env(tt.env))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// The documented example must load as it is: every key in it exists.
func TestExampleConfig(t *testing.T) {
	t.Parallel()
	c, err := Load("../../configs/reserver.example.yaml", env(nil))
	require.NoError(t, err)
	require.Equal(t, DSNDefault, c.DB.DSN)
	require.Equal(t, 2500*time.Millisecond, c.Daemon.Heartbeat)
	require.Equal(t, SeriesHorizonDefault, c.Daemon.SeriesHorizon)
}
