-- +goose Up
-- The promises of issue 12.
--
-- attempts.boot is a random id per daemon process. The sequence number of
-- a process starts again at 1, so (booking_id, instance, seq) alone would
-- make the rows of a restart under the same instance name look like
-- retries of the rows already written, and insert-or-ignore would drop
-- them. With boot in the key a retried batch is still not doubled, and a
-- new process's rows are all kept. Rows written before this migration keep
-- boot ''.
ALTER TABLE attempts ADD COLUMN boot VARCHAR(32) NOT NULL DEFAULT '';
DROP INDEX uq_attempts;
CREATE UNIQUE INDEX uq_attempts ON attempts (booking_id, instance, boot, seq);

-- A cancel of a booking that a live instance is running is a request the
-- instance honours (cancel_requested_at and cancel_reason); it is a flag,
-- not a state. review and review_note mark a booking for an operator: a
-- reservation recorded late, a second one, or one made for a booking that
-- had already failed or been cancelled.
ALTER TABLE bookings ADD COLUMN cancel_requested_at DATETIME NULL;
ALTER TABLE bookings ADD COLUMN cancel_reason VARCHAR(32) NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN review VARCHAR(32) NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN review_note VARCHAR(512) NOT NULL DEFAULT '';
-- Each instance asks every 100 ms which of its bookings have a cancel
-- request: claimed_by = ? AND cancel_requested_at IS NOT NULL. Rows without
-- a request sort first (NULL) and are skipped by the range.
CREATE INDEX ix_bookings_cancel ON bookings (claimed_by, cancel_requested_at);
-- The failures list adds the bookings flagged for review.
CREATE INDEX ix_bookings_review ON bookings (review, id);

-- +goose Down
DROP INDEX ix_bookings_review;
DROP INDEX ix_bookings_cancel;
ALTER TABLE bookings DROP COLUMN review_note;
ALTER TABLE bookings DROP COLUMN review;
ALTER TABLE bookings DROP COLUMN cancel_reason;
ALTER TABLE bookings DROP COLUMN cancel_requested_at;
-- The old key has no boot: fold it into the instance name so that the
-- rows of different processes stay distinct instead of being deleted.
DROP INDEX uq_attempts;
UPDATE attempts SET instance = substr(instance || '@' || boot, 1, 64) WHERE boot <> '';
ALTER TABLE attempts DROP COLUMN boot;
CREATE UNIQUE INDEX uq_attempts ON attempts (booking_id, instance, seq);
