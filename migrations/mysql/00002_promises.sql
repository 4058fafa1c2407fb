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
ALTER TABLE attempts
    ADD COLUMN boot VARCHAR(32) NOT NULL DEFAULT '' AFTER instance,
    DROP INDEX uq_attempts,
    ADD UNIQUE KEY uq_attempts (booking_id, instance, boot, seq);

-- A cancel of a booking that a live instance is running is a request the
-- instance honours (cancel_requested_at and cancel_reason); it is a flag,
-- not a state. review and review_note mark a booking for an operator: a
-- reservation recorded late, a second one, or one made for a booking that
-- had already failed or been cancelled.
--
-- Each instance asks every 100 ms which of its bookings have a cancel
-- request: claimed_by = ? AND cancel_requested_at IS NOT NULL, a range on
-- ix_bookings_cancel that skips the rows without a request (NULL sorts
-- first). The failures list adds the bookings flagged for review.
ALTER TABLE bookings
    ADD COLUMN cancel_requested_at DATETIME(6) NULL,
    ADD COLUMN cancel_reason VARCHAR(32) NOT NULL DEFAULT '',
    ADD COLUMN review VARCHAR(32) NOT NULL DEFAULT '',
    ADD COLUMN review_note VARCHAR(512) NOT NULL DEFAULT '',
    ADD KEY ix_bookings_cancel (claimed_by, cancel_requested_at),
    ADD KEY ix_bookings_review (review, id);

-- +goose Down
ALTER TABLE bookings
    DROP KEY ix_bookings_review,
    DROP KEY ix_bookings_cancel,
    DROP COLUMN review_note,
    DROP COLUMN review,
    DROP COLUMN cancel_reason,
    DROP COLUMN cancel_requested_at;
-- The old key has no boot: fold it into the instance name so that the
-- rows of different processes stay distinct instead of being deleted.
ALTER TABLE attempts DROP INDEX uq_attempts;
UPDATE attempts SET instance = LEFT(CONCAT(instance, '@', boot), 64) WHERE boot <> '';
ALTER TABLE attempts
    DROP COLUMN boot,
    ADD UNIQUE KEY uq_attempts (booking_id, instance, seq);
