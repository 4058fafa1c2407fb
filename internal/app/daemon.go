package app

import (
	"cmp"
	"context"
	"fmt"
	"net"

	"go.uber.org/zap"

	"reserver/internal/ippool"
	"reserver/internal/metrics"
	"reserver/internal/notify"
	"reserver/internal/profile"
	"reserver/internal/schedule"
)

// EgressPool builds the egress pool of the configuration. With no egress
// configured it is one direct egress whose per-host ceiling is the
// daemon's.
func (e *Env) EgressPool() (*ippool.Pool, error) {
	pc := e.Config.Egress
	if len(pc.Egresses) == 0 && pc.HostCeilingPerEgress == 0 {
		pc.HostCeilingPerEgress = e.Config.Daemon.HostCeiling
	}
	pc.Logger = e.Log.Named("egress")
	pc.OnStateChange = func(egress, host, _, to string) { metrics.BreakerState(egress, host, to) }
	return ippool.New(pc)
}

// DaemonConfig turns the configuration into the daemon's.
func (e *Env) DaemonConfig(profiles map[string]*profile.Profile) (schedule.Config, error) {
	d := e.Config.Daemon
	pool, err := e.EgressPool()
	if err != nil {
		return schedule.Config{}, err
	}
	return schedule.Config{
		Store: e.Bookings, Profiles: profiles, Logger: e.Log.Named("daemon"), Egress: pool,
		Instance: d.Instance, Lead: d.Lead, Margin: d.Margin, Aim: schedule.Aim(d.Aim), LeaseTTL: d.LeaseTTL,
		Heartbeat: d.Heartbeat, ScanEvery: d.ScanEvery, Grace: d.Grace,
		HostCeiling: d.HostCeiling, NotifyFailed: d.NotifyFailed, JournalDir: d.JournalDir,
	}, nil
}

// RunDaemon runs the daemon and the outbox relay until ctx ends, then stops
// the daemon in two phases (see schedule.Daemon.Stop) and the relay after it,
// so that the last messages go out.
func RunDaemon(ctx context.Context, e *Env, cfg schedule.Config) error {
	d, relay, err := e.StartDaemon(ctx, cfg, nil)
	if err != nil {
		return err
	}
	recurring, err := e.StartSeries(ctx, cfg.Profiles)
	if err != nil {
		d.Stop()
		relay.Stop()
		return err
	}
	if e.Config.Notify.SendsNothing() {
		e.Log.Warn(notify.LogProviderWarning, zap.String("provider", notify.ProviderLog))
	}
	mctx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
	merr := make(chan error, 1)
	go func() {
		merr <- metrics.ServeRegistry(mctx, e.Config.Daemon.MetricsAddr, metrics.Registry(e.Bookings), func(a net.Addr) {
			e.Log.Info("daemon metrics listening", zap.String("addr", a.String()))
		})
	}()
	select {
	case <-ctx.Done():
	case err := <-merr:
		e.Log.Error("metrics server failed; the daemon goes on without it", zap.Error(err))
	}
	<-ctx.Done()
	recurring.Stop()
	d.Stop()
	relay.Stop()
	stopMetrics()
	return nil
}

// StartDaemon starts the daemon and its outbox relay; notifyLog (default
// the environment's logger) is where the log provider writes messages. It
// exposes the provider in metrics but does not warn that the log provider
// sends nothing: RunDaemon does, while the demo, which uses the log
// provider to show its message, stays quiet.
func (e *Env) StartDaemon(ctx context.Context, cfg schedule.Config, notifyLog *zap.Logger) (*schedule.Daemon, *notify.Relay, error) {
	d, err := schedule.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	nc := e.Config.Notify
	if notifyLog == nil {
		notifyLog = e.Log
	}
	nc.DB, nc.Logger, nc.Instance = e.DB, notifyLog.Named("notify"), d.Instance()
	if nc.SiteTexts, err = siteTexts(cfg.Profiles); err != nil {
		return nil, nil, err
	}
	relay, err := notify.NewRelay(nc)
	if err != nil {
		return nil, nil, err
	}
	metrics.NotifyProvider(cmp.Or(nc.Provider, notify.ProviderDefault), nc.SendsNothing())
	if err := d.Start(ctx); err != nil {
		return nil, nil, err
	}
	if err := relay.Start(ctx); err != nil {
		d.Stop()
		return nil, nil, err
	}
	return d, relay, nil
}

// siteTexts hands the relay each site's own SMS templates (the sms:
// section of its profile), so that the relay renders a site's messages in
// their language without reading profiles itself.
func siteTexts(profiles map[string]*profile.Profile) (map[string]*notify.SiteTexts, error) {
	out := map[string]*notify.SiteTexts{}
	for name, p := range profiles {
		if p.SMS == nil || len(p.SMS.Templates) == 0 {
			continue
		}
		t, err := notify.NewSiteTexts(p.SMS.Templates)
		if err != nil {
			return nil, fmt.Errorf("site %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}
