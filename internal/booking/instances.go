package booking

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"reserver/internal/database"
)

// This file holds the daemon instances' own heartbeat rows (migration
// 00009): each instance writes one at every heartbeat, whether or not it
// holds a booking, so that an idle daemon is seen alive too. A lease says
// which instance runs a booking; this row says which instances run at all.

// InstanceAliveBeats is how many of its own heartbeat periods an instance
// may go without a beat and still count as alive: a heartbeat late by a
// slow database or a pause is not a death, three missed in a row are.
// With the default heartbeat (2 s) an instance stopped or killed drops out
// of Status within 6 s.
const InstanceAliveBeats = 3

// instanceBeatDefault is the heartbeat period assumed for a row that does
// not say its own (schedule.HeartbeatDefault).
const instanceBeatDefault = 2 * time.Second

// instanceGoneFor is how long an instance that stopped beating is still
// listed, as gone, by Status.
const instanceGoneFor = 24 * time.Hour

// Beat is one heartbeat of a daemon instance.
type Beat struct {
	// Name is the instance's name (the name it claims bookings under).
	Name string
	// Boot is the process's random id (Attempt.Boot): a new boot under the
	// same name is a restart, and its started_at is the restart's.
	Boot string
	// Host is the machine's host name, for the operator to find it.
	Host string
	// Every is the instance's heartbeat period, by which Status judges
	// whether it is alive.
	Every time.Duration
	// Now is the instance's clock at the beat.
	Now time.Time
}

// instanceRow is a row of the instances table.
type instanceRow struct {
	Name        string
	Boot        string
	Host        string
	HeartbeatMS int64
	StartedAt   time.Time
	SeenAt      time.Time
}

func (instanceRow) TableName() string { return "instances" }

// Beat records that the instance is alive at b.Now: one row per instance
// name, written over (upserted), keeping started_at while the boot is the
// same process's.
func (s *Store) Beat(ctx context.Context, b Beat) error {
	if b.Name == "" || b.Boot == "" {
		return errors.New("instance beat: name and boot are required")
	}
	now := utc(b.Now)
	q := `INSERT INTO instances (name, boot, host, heartbeat_ms, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
  started_at = CASE WHEN boot = excluded.boot THEN started_at ELSE excluded.started_at END,
  boot = excluded.boot, host = excluded.host, heartbeat_ms = excluded.heartbeat_ms, seen_at = excluded.seen_at`
	if s.db.Dialect == database.MySQL {
		// MySQL assigns left to right: started_at reads the old boot
		// before boot is written.
		q = `INSERT INTO instances (name, boot, host, heartbeat_ms, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE
  started_at = IF(boot = VALUES(boot), started_at, VALUES(started_at)),
  boot = VALUES(boot), host = VALUES(host), heartbeat_ms = VALUES(heartbeat_ms), seen_at = VALUES(seen_at)`
	}
	return database.Retry(ctx, func() error {
		return s.db.WithContext(ctx).Exec(q, b.Name, b.Boot, truncate(b.Host, 255), b.Every.Milliseconds(), now, now).Error
	})
}

// truncate shortens s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Instance is a daemon instance as Status shows it: alive (it beat within
// InstanceAliveBeats heartbeats, or it holds an unexpired lease) or gone.
type Instance struct {
	Name string
	// Bookings is how many armed or running bookings it holds a lease on
	// (0 for an idle instance).
	Bookings int
	// LeaseUntil is the latest lease the instance holds; zero when it
	// holds none.
	LeaseUntil time.Time
	// Boot, Host and StartedAt are from its heartbeat row (empty for an
	// instance seen only by its leases: a daemon older than migration
	// 00009, or one whose beats fail).
	Boot      string
	Host      string
	StartedAt time.Time
	// SeenAt is its latest heartbeat; Heartbeat its period.
	SeenAt    time.Time
	Heartbeat time.Duration
}

// aliveUntil is the instant after which an instance whose latest beat was
// at seen with period every no longer counts as alive.
func aliveUntil(seen time.Time, every time.Duration) time.Time {
	return seen.Add(InstanceAliveBeats * cmp.Or(every, instanceBeatDefault))
}

// instances lists the instances as of now: alive (sorted by name) and
// gone (stopped beating within instanceGoneFor, latest first). leases is
// what each instance holds, by name (Status reads it from the bookings).
func (s *Store) instances(ctx context.Context, now time.Time, leases map[string]Instance) (alive, gone []Instance, _ error) {
	var rows []instanceRow
	err := s.db.WithContext(ctx).Where("seen_at >= ?", utc(now.Add(-instanceGoneFor))).Find(&rows).Error
	if err != nil {
		return nil, nil, err
	}
	alive, gone = []Instance{}, []Instance{}
	seen := map[string]bool{}
	for _, r := range rows {
		in := leases[r.Name]
		in.Name, in.Boot, in.Host = r.Name, r.Boot, r.Host
		in.StartedAt, in.SeenAt = r.StartedAt, r.SeenAt
		in.Heartbeat = time.Duration(r.HeartbeatMS) * time.Millisecond
		seen[r.Name] = true
		if in.Bookings > 0 || !aliveUntil(r.SeenAt, in.Heartbeat).Before(now) {
			alive = append(alive, in)
		} else {
			gone = append(gone, in)
		}
	}
	for name, in := range leases {
		if !seen[name] {
			alive = append(alive, in)
		}
	}
	slices.SortFunc(alive, func(a, b Instance) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(gone, func(a, b Instance) int { return b.SeenAt.Compare(a.SeenAt) })
	return alive, gone, nil
}
