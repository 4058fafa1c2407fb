-- +goose Up
-- Alternatives (issue 18): choices is the booking's ordered list of slots
-- as a JSON array of {"court","date","start","end"}, the first of them
-- the one court/play_date/start_time/end_time hold; NULL when the booking
-- has one slot only. won_choice is the 1-based choice that was booked
-- (NULL until a success, and for single-slot bookings booked before it).
-- priority orders the bookings of one account that open at the same
-- instant when the site takes one submit at a time (lower goes first).
ALTER TABLE bookings ADD COLUMN choices TEXT NULL;
ALTER TABLE bookings ADD COLUMN won_choice INT NULL;
ALTER TABLE bookings ADD COLUMN priority INT NOT NULL DEFAULT 0;
-- An account's bookings (the site's per-account limits count them, and one
-- instance runs all of a site account's bookings) are found by the index
-- InnoDB keeps for fk_bookings_account; SQLite gets one of its own.
-- Which choice (1-based) a request was for; 0 for requests of no one
-- choice (login, probes) and rows older than choices.
ALTER TABLE attempts ADD COLUMN choice INT NOT NULL DEFAULT 0;
-- A series carries the same choices (without dates: each occurrence's
-- date) and the same notification settings as a booking.
ALTER TABLE series ADD COLUMN choices TEXT NULL;
ALTER TABLE series ADD COLUMN notify_on VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE series ADD COLUMN notify_language VARCHAR(8) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE series DROP COLUMN notify_language;
ALTER TABLE series DROP COLUMN notify_on;
ALTER TABLE series DROP COLUMN choices;
ALTER TABLE attempts DROP COLUMN choice;
ALTER TABLE bookings DROP COLUMN priority;
ALTER TABLE bookings DROP COLUMN won_choice;
ALTER TABLE bookings DROP COLUMN choices;
