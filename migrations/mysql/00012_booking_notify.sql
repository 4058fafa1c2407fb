-- +goose Up
-- What the booking asks to be told by SMS (notify_on: success, always or
-- never; empty: the daemon's default, success only unless
-- daemon.notify_failed) and in which language (ko or en; empty: the
-- site's choice, as before).
ALTER TABLE bookings ADD COLUMN notify_on VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE bookings ADD COLUMN notify_language VARCHAR(8) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE bookings DROP COLUMN notify_language;
ALTER TABLE bookings DROP COLUMN notify_on;
