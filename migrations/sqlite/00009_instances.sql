-- +goose Up
-- One row per daemon instance name, written at every heartbeat whether or
-- not the instance holds a booking, so that `reserver status` counts idle
-- daemons too. boot is the process's random id (the attempts' boot):
-- started_at is when that process first beat; seen_at its latest beat;
-- heartbeat_ms its heartbeat period, by which "alive" is judged (seen
-- within booking.InstanceAliveBeats heartbeats).
CREATE TABLE instances (
    name          VARCHAR(64)  NOT NULL PRIMARY KEY,
    boot          VARCHAR(32)  NOT NULL,
    host          VARCHAR(255) NOT NULL DEFAULT '',
    heartbeat_ms  BIGINT       NOT NULL DEFAULT 0,
    started_at    DATETIME     NOT NULL,
    seen_at       DATETIME     NOT NULL
);
CREATE INDEX ix_instances_seen ON instances (seen_at);

-- +goose Down
DROP INDEX ix_instances_seen;
DROP TABLE instances;
