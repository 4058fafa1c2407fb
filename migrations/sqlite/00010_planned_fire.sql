-- +goose Up
-- The local instant the daemon planned the booking's first submit for
-- (its aim: the opening plus margin, precision and spread, on the sending
-- instance's clock), so that the operator page marks where it aimed, not
-- only where the submit went.
ALTER TABLE bookings ADD COLUMN fire_at DATETIME NULL;

-- +goose Down
ALTER TABLE bookings DROP COLUMN fire_at;
