package app

import (
	"context"

	"go.uber.org/zap"

	"reserver/internal/notify"
	"reserver/internal/profile"
	"reserver/internal/schedule"
)

// DaemonConfig turns the configuration into the daemon's.
func (e *Env) DaemonConfig(profiles map[string]*profile.Profile) schedule.Config {
	d := e.Config.Daemon
	return schedule.Config{
		Store: e.Bookings, Profiles: profiles, Logger: e.Log.Named("daemon"),
		Instance: d.Instance, Lead: d.Lead, Margin: d.Margin, LeaseTTL: d.LeaseTTL,
		Heartbeat: d.Heartbeat, ScanEvery: d.ScanEvery, Grace: d.Grace,
		HostCeiling: d.HostCeiling, NotifyFailed: d.NotifyFailed,
	}
}

// RunDaemon runs the daemon and the outbox relay until ctx ends, then stops
// the daemon in two phases (see schedule.Daemon.Stop) and the relay after it,
// so that the last messages go out.
func RunDaemon(ctx context.Context, e *Env, cfg schedule.Config) error {
	d, relay, err := e.StartDaemon(ctx, cfg, nil)
	if err != nil {
		return err
	}
	<-ctx.Done()
	d.Stop()
	relay.Stop()
	return nil
}

// StartDaemon starts the daemon and its outbox relay; notifyLog (default
// the environment's logger) is where the log provider writes messages.
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
	relay, err := notify.NewRelay(nc)
	if err != nil {
		return nil, nil, err
	}
	if err := d.Start(ctx); err != nil {
		return nil, nil, err
	}
	if err := relay.Start(ctx); err != nil {
		d.Stop()
		return nil, nil, err
	}
	return d, relay, nil
}
