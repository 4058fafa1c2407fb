-- +goose Up
-- Instants are DATETIME(6) in UTC: the application writes every time in UTC
-- with microsecond precision and never relies on the server's time zone.

CREATE TABLE tenants (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(100) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    UNIQUE KEY uq_tenants_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Tokens are stored as the SHA-256 of the token; the token itself is shown
-- once, when it is created.
CREATE TABLE api_tokens (
    id          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id   BIGINT      NOT NULL,
    role        VARCHAR(16) NOT NULL,
    token_hash  CHAR(64)    NOT NULL,
    prefix      VARCHAR(16) NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    revoked_at  DATETIME(6) NULL,
    UNIQUE KEY uq_api_tokens_hash (token_hash),
    KEY ix_api_tokens_tenant (tenant_id),
    CONSTRAINT fk_api_tokens_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The site password is sealed with AES-256-GCM (nonce || ciphertext).
CREATE TABLE site_accounts (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id     BIGINT       NOT NULL,
    site          VARCHAR(64)  NOT NULL,
    username      VARCHAR(128) NOT NULL,
    password_enc  VARBINARY(512) NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    updated_at    DATETIME(6)  NOT NULL,
    UNIQUE KEY uq_site_accounts (tenant_id, site, username),
    CONSTRAINT fk_site_accounts_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE bookings (
    id               BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id        BIGINT       NOT NULL,
    account_id       BIGINT       NOT NULL,
    site             VARCHAR(64)  NOT NULL,
    court            VARCHAR(32)  NOT NULL,
    play_date        CHAR(10)     NOT NULL,
    start_time       CHAR(5)      NOT NULL,
    end_time         CHAR(5)      NOT NULL,
    opens_at         DATETIME(6)  NOT NULL,
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
    lease_until      DATETIME(6)  NULL,
    version          BIGINT       NOT NULL DEFAULT 1,
    created_at       DATETIME(6)  NOT NULL,
    updated_at       DATETIME(6)  NOT NULL,
    finished_at      DATETIME(6)  NULL,
    UNIQUE KEY uq_bookings_active (active_key),
    UNIQUE KEY uq_bookings_idempotency (tenant_id, idempotency_key),
    KEY ix_bookings_tenant_state (tenant_id, state, id),
    KEY ix_bookings_state_opens (state, opens_at),
    KEY ix_bookings_lease (state, lease_until),
    CONSTRAINT fk_bookings_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    CONSTRAINT fk_bookings_account FOREIGN KEY (account_id) REFERENCES site_accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per HTTP request the daemon makes. (booking_id, instance, seq) is
-- unique so that a batch written twice after a database hiccup is not doubled.
CREATE TABLE attempts (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    booking_id  BIGINT       NOT NULL,
    instance    VARCHAR(64)  NOT NULL,
    seq         INT          NOT NULL,
    step        VARCHAR(16)  NOT NULL,
    sent_at     DATETIME(6)  NOT NULL,
    site_date   DATETIME(6)  NULL,
    latency_us  BIGINT       NOT NULL DEFAULT 0,
    status      INT          NOT NULL DEFAULT 0,
    class       VARCHAR(24)  NOT NULL,
    egress      VARCHAR(64)  NOT NULL DEFAULT '',
    excerpt     VARCHAR(512) NOT NULL DEFAULT '',
    error       VARCHAR(512) NOT NULL DEFAULT '',
    UNIQUE KEY uq_attempts (booking_id, instance, seq),
    KEY ix_attempts_booking (booking_id, sent_at),
    CONSTRAINT fk_attempts_booking FOREIGN KEY (booking_id) REFERENCES bookings (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Notifications waiting to be sent; one row per (booking, kind) at most.
CREATE TABLE outbox (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    booking_id   BIGINT       NOT NULL,
    kind         VARCHAR(24)  NOT NULL,
    phone        VARCHAR(20)  NOT NULL,
    payload      TEXT         NOT NULL,
    state        VARCHAR(16)  NOT NULL,
    tries        INT          NOT NULL DEFAULT 0,
    next_at      DATETIME(6)  NOT NULL,
    claimed_by   VARCHAR(64)  NOT NULL DEFAULT '',
    lease_until  DATETIME(6)  NULL,
    provider_id  VARCHAR(128) NOT NULL DEFAULT '',
    last_error   VARCHAR(512) NOT NULL DEFAULT '',
    created_at   DATETIME(6)  NOT NULL,
    updated_at   DATETIME(6)  NOT NULL,
    sent_at      DATETIME(6)  NULL,
    UNIQUE KEY uq_outbox_booking_kind (booking_id, kind),
    KEY ix_outbox_due (state, next_at),
    CONSTRAINT fk_outbox_booking FOREIGN KEY (booking_id) REFERENCES bookings (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE outbox;
DROP TABLE attempts;
DROP TABLE bookings;
DROP TABLE site_accounts;
DROP TABLE api_tokens;
DROP TABLE tenants;
