-- +goose Up
-- Issue 13: bookings.request_hash was an unsalted SHA-256 of the request
-- body, which carried the site password in clear, so a copy of the
-- database allowed guessing the password offline. It is now an HMAC under
-- a key derived from the secret key, over the request without the password
-- (api.requestHash). The old hashes cannot be recomputed — the bodies are
-- gone — so they are cleared; a replay of an Idempotency-Key whose booking
-- has an empty hash is answered as a replay (openapi.yaml).
UPDATE bookings SET request_hash = '';

-- +goose Down
-- The cleared hashes cannot be restored, and need not be: an empty hash
-- is accepted as a replay by the code after this migration, and before it
-- the empty hash only makes a replay of such a key answer 422.
SELECT 1;
