-- +goose Up
-- Issue 13: a booking logs in with its own credentials, proven by a login.
--
-- bookings.password_enc is the site password the booking was created with,
-- sealed like site_accounts.password_enc (NULL for rows older than this
-- migration: they use the account's). site_accounts.password_enc is the
-- account's current password: the first one, or the last one a login
-- proved (password_proven_at); a booking made before that proof uses it,
-- one made after it uses its own — so a changed password applies to the
-- next login, and a mistyped one fails only its own booking.
ALTER TABLE bookings ADD COLUMN password_enc BLOB NULL;
-- The first tenant to register a site account owns it (docs/security.md);
-- this index finds an account of the same site and username in any tenant.
ALTER TABLE site_accounts
    ADD COLUMN password_proven_at DATETIME(6) NULL,
    ADD KEY ix_site_accounts_owner (site, username);

-- +goose Down
ALTER TABLE site_accounts
    DROP KEY ix_site_accounts_owner,
    DROP COLUMN password_proven_at;
ALTER TABLE bookings DROP COLUMN password_enc;
