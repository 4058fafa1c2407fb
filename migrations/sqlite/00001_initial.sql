-- +goose Up
-- Instants are text in UTC: the application writes every time in UTC
-- with microsecond precision and never relies on the server's time zone.

CREATE TABLE tenants (
    id         INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    name       VARCHAR(100) NOT NULL,
    created_at DATETIME  NOT NULL
);
CREATE UNIQUE INDEX uq_tenants_name ON tenants (name);

-- Tokens are stored as the SHA-256 of the token; the token itself is shown
-- once, when it is created.
CREATE TABLE api_tokens (
    id          INTEGER     NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id   BIGINT      NOT NULL,
    role        VARCHAR(16) NOT NULL,
    token_hash  CHAR(64)    NOT NULL,
    prefix      VARCHAR(16) NOT NULL,
    created_at  DATETIME NOT NULL,
    revoked_at  DATETIME NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);
CREATE UNIQUE INDEX uq_api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX ix_api_tokens_tenant ON api_tokens (tenant_id);

-- The site password is sealed with AES-256-GCM (nonce || ciphertext).
CREATE TABLE site_accounts (
    id            INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id     BIGINT       NOT NULL,
    site          VARCHAR(64)  NOT NULL,
    username      VARCHAR(128) NOT NULL,
    password_enc  BLOB NOT NULL,
    created_at    DATETIME  NOT NULL,
    updated_at    DATETIME  NOT NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);
CREATE UNIQUE INDEX uq_site_accounts ON site_accounts (tenant_id, site, username);

CREATE TABLE bookings (
    id               INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id        BIGINT       NOT NULL,
    account_id       BIGINT       NOT NULL,
    site             VARCHAR(64)  NOT NULL,
    court            VARCHAR(32)  NOT NULL,
    play_date        CHAR(10)     NOT NULL,
    start_time       CHAR(5)      NOT NULL,
    end_time         CHAR(5)      NOT NULL,
    opens_at         DATETIME  NOT NULL,
    window_seconds   INT          NOT NULL,
    rate_per_second  DOUBLE       NOT NULL,
    phone            VARCHAR(20)  NOT NULL DEFAULT '',
    booker_name      VARCHAR(100) NOT NULL DEFAULT '',
    fields           TEXT         NOT NULL,
    state            VARCHAR(16)  NOT NULL,
    reason           VARCHAR(32)  NOT NULL DEFAULT '',
    reservation_no   VARCHAR(128) NOT NULL DEFAULT '',
    -- active_key is the hash of tenant/site/account/court/date/slot while the
    -- booking is not terminal, NULL afterwards: a unique index then forbids a
    -- second active booking of the same slot and frees it once this one ends.
    active_key       CHAR(64)     NULL,
    idempotency_key  VARCHAR(255) NULL,
    request_hash     CHAR(64)     NOT NULL DEFAULT '',
    claimed_by       VARCHAR(64)  NOT NULL DEFAULT '',
    lease_until      DATETIME  NULL,
    version          BIGINT       NOT NULL DEFAULT 1,
    created_at       DATETIME  NOT NULL,
    updated_at       DATETIME  NOT NULL,
    finished_at      DATETIME  NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    FOREIGN KEY (account_id) REFERENCES site_accounts (id)
);
CREATE UNIQUE INDEX uq_bookings_active ON bookings (active_key);
CREATE UNIQUE INDEX uq_bookings_idempotency ON bookings (tenant_id, idempotency_key);
CREATE INDEX ix_bookings_tenant_state ON bookings (tenant_id, state, id);
CREATE INDEX ix_bookings_state_opens ON bookings (state, opens_at);
CREATE INDEX ix_bookings_lease ON bookings (state, lease_until);

-- One row per HTTP request the daemon makes. (booking_id, instance, seq) is
-- unique so that a batch written twice after a database hiccup is not doubled.
CREATE TABLE attempts (
    id          INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    booking_id  BIGINT       NOT NULL,
    instance    VARCHAR(64)  NOT NULL,
    seq         INT          NOT NULL,
    step        VARCHAR(16)  NOT NULL,
    sent_at     DATETIME  NOT NULL,
    site_date   DATETIME  NULL,
    latency_us  BIGINT       NOT NULL DEFAULT 0,
    status      INT          NOT NULL DEFAULT 0,
    class       VARCHAR(24)  NOT NULL,
    egress      VARCHAR(64)  NOT NULL DEFAULT '',
    excerpt     VARCHAR(512) NOT NULL DEFAULT '',
    error       VARCHAR(512) NOT NULL DEFAULT '',
    FOREIGN KEY (booking_id) REFERENCES bookings (id)
);
CREATE UNIQUE INDEX uq_attempts ON attempts (booking_id, instance, seq);
CREATE INDEX ix_attempts_booking ON attempts (booking_id, sent_at);

-- Notifications waiting to be sent; one row per (booking, kind) at most.
CREATE TABLE outbox (
    id           INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    booking_id   BIGINT       NOT NULL,
    kind         VARCHAR(24)  NOT NULL,
    phone        VARCHAR(20)  NOT NULL,
    payload      TEXT         NOT NULL,
    state        VARCHAR(16)  NOT NULL,
    tries        INT          NOT NULL DEFAULT 0,
    next_at      DATETIME  NOT NULL,
    claimed_by   VARCHAR(64)  NOT NULL DEFAULT '',
    lease_until  DATETIME  NULL,
    provider_id  VARCHAR(128) NOT NULL DEFAULT '',
    last_error   VARCHAR(512) NOT NULL DEFAULT '',
    created_at   DATETIME  NOT NULL,
    updated_at   DATETIME  NOT NULL,
    sent_at      DATETIME  NULL,
    FOREIGN KEY (booking_id) REFERENCES bookings (id)
);
CREATE UNIQUE INDEX uq_outbox_booking_kind ON outbox (booking_id, kind);
CREATE INDEX ix_outbox_due ON outbox (state, next_at);

-- +goose Down
DROP TABLE outbox;
DROP TABLE attempts;
DROP TABLE bookings;
DROP TABLE site_accounts;
DROP TABLE api_tokens;
DROP TABLE tenants;
