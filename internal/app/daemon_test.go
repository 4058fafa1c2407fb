package app

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"reserver/internal/config"
	"reserver/internal/notify"
)

// signalCore passes entries to an observer and sends each on a channel,
// so that a test waits for a log line instead of polling for it.
type signalCore struct {
	zapcore.Core
	entries chan observer.LoggedEntry
}

func (c signalCore) With(f []zapcore.Field) zapcore.Core {
	return signalCore{Core: c.Core.With(f), entries: c.entries}
}

func (c signalCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c signalCore) Write(e zapcore.Entry, f []zapcore.Field) error {
	select {
	case c.entries <- observer.LoggedEntry{Entry: e, Context: f}:
	default: // nobody waits for this many lines
	}
	return c.Core.Write(e, f)
}

type daemonBundle struct {
	env     *Env
	logs    *observer.ObservedLogs
	entries chan observer.LoggedEntry
}

// setupDaemon opens an environment on a new SQLite file with the default
// notify provider (log), logging into an observer.
func setupDaemon(t *testing.T, getenv map[string]string) daemonBundle {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{
		"RESERVER_DB_DSN":          "sqlite:" + filepath.Join(dir, "r.db"),
		"RESERVER_SECRET_KEY_FILE": filepath.Join(dir, "secret.key"),
		"RESERVER_JOURNAL_DIR":     filepath.Join(dir, "journal"),
		"RESERVER_METRICS_ADDR":    "127.0.0.1:0",
		"RESERVER_SITES_DIR":       "../../configs/sites",
	}
	for k, v := range getenv {
		vars[k] = v
	}
	c, err := config.Load("", func(k string) string { return vars[k] })
	require.NoError(t, err)
	core, logs := observer.New(zap.InfoLevel)
	entries := make(chan observer.LoggedEntry, 1000)
	env, err := Open(context.Background(), c, zap.New(signalCore{Core: core, entries: entries}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Close() })
	return daemonBundle{env: env, logs: logs, entries: entries}
}

func warnings(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.FilterLevelExact(zap.WarnLevel).All() {
		out = append(out, e.Message)
	}
	return out
}

// `reserver run` with the log provider says once, at WARN, that messages
// are not sent and how to send them, and /metrics says so too.
func TestRunDaemonWarnsThatTheLogProviderSendsNothing(t *testing.T) {
	b := setupDaemon(t, nil)
	profiles, err := LoadProfiles(b.env.Config.SitesDir, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg, err := b.env.DaemonConfig(profiles)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunDaemon(ctx, b.env, cfg) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	var addr string
	for addr == "" {
		select {
		case e := <-b.entries:
			if e.Message == "daemon metrics listening" {
				addr = e.ContextMap()["addr"].(string)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the daemon's metrics server did not start")
		}
	}
	var warned []string
	for _, w := range warnings(b.logs) {
		if strings.Contains(w, "NOT sent to phones") {
			warned = append(warned, w)
		}
	}
	require.Len(t, warned, 1, "one WARN line about the provider: %q", warnings(b.logs))
	require.Contains(t, warned[0], "notify.provider")

	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), `reserver_notify_provider_sends_nothing{provider="log"} 1`)
}

// StartDaemon, which the demo calls, does not warn: the demo shows its
// messages itself. A provider that sends is no warning either.
func TestStartDaemonStaysQuiet(t *testing.T) {
	b := setupDaemon(t, nil)
	require.True(t, b.env.Config.Notify.SendsNothing())
	profiles, err := LoadProfiles(b.env.Config.SitesDir, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg, err := b.env.DaemonConfig(profiles)
	require.NoError(t, err)
	d, relay, err := b.env.StartDaemon(context.Background(), cfg, zap.NewNop())
	require.NoError(t, err)
	d.Stop()
	relay.Stop()
	for _, w := range warnings(b.logs) {
		require.NotContains(t, w, "NOT sent", "StartDaemon warned")
	}

	require.False(t, notify.Config{Provider: notify.ProviderWebhook}.SendsNothing())
	require.False(t, notify.Config{Provider: notify.ProviderLog, Sender: fakeSender{}}.SendsNothing(), "a Sender replaces the provider")
	require.True(t, notify.Config{Provider: notify.ProviderLog}.SendsNothing())
}

type fakeSender struct{}

func (fakeSender) Send(context.Context, notify.Message) (string, error) { return "", nil }
