-- +goose Up
-- Issue 14: the site clock the daemon measured for a booking's opening
-- (site − local, ± within, microseconds), so that the review tools show
-- the attempts on the site's clock as precisely as the daemon aimed.
ALTER TABLE bookings ADD COLUMN clock_offset_us BIGINT NULL;
ALTER TABLE bookings ADD COLUMN clock_within_us BIGINT NULL;

-- +goose Down
ALTER TABLE bookings DROP COLUMN clock_within_us;
ALTER TABLE bookings DROP COLUMN clock_offset_us;
