-- +goose Up
-- Why a request waited before it went on the wire, and for how long: the
-- longest of its waits (booking_rate, host_ceiling, egress_ceiling,
-- egress_cooling, clock_remeasure; empty when it did not wait), so that an
-- operator sees that a late submit queued behind our own ceiling.
ALTER TABLE attempts ADD COLUMN waited_for VARCHAR(32) NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN waited_us BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE attempts DROP COLUMN waited_us;
ALTER TABLE attempts DROP COLUMN waited_for;
