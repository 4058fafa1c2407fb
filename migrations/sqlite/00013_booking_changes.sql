-- +goose Up
-- When a PATCH last replaced the booking's own password (nil: the one it
-- was created with): a login that proved the account's password before
-- then does not override it (booking.Store.LoginPassword).
ALTER TABLE bookings ADD COLUMN password_set_at DATETIME NULL;

-- The answer of a PATCH or DELETE sent with an Idempotency-Key, per tenant
-- and key: a replay of the same request (method, booking and body hash)
-- gets the stored answer, another request under the key a 422. Answers
-- never hold a password (booking views do not).
CREATE TABLE idempotent_requests (
    id               INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id        BIGINT       NOT NULL REFERENCES tenants (id),
    idem_key         VARCHAR(255) NOT NULL,
    method           VARCHAR(8)   NOT NULL,
    booking_id       BIGINT       NOT NULL,
    request_hash     CHAR(64)     NOT NULL,
    status           INT          NOT NULL,
    response         TEXT         NOT NULL,
    created_at       DATETIME     NOT NULL,
    UNIQUE (tenant_id, idem_key)
);

-- +goose Down
DROP TABLE idempotent_requests;
ALTER TABLE bookings DROP COLUMN password_set_at;
