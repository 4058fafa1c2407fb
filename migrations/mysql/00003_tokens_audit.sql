-- +goose Up
-- Issue 13: tokens that expire and say when they were last used, operator
-- page sessions the server can end, and an audit trail of operator actions.
--
-- last_used_at is written at most once a minute per token (a conditional
-- update), so that authenticating a request is a read. expires_at NULL
-- means the token does not expire.
ALTER TABLE api_tokens
    ADD COLUMN last_used_at DATETIME(6) NULL,
    ADD COLUMN expires_at DATETIME(6) NULL,
    ADD KEY ix_api_tokens_prefix (prefix);

-- One row per signed-in operator page session. The cookie carries a random
-- session id; the table keeps its SHA-256, so a database copy cannot be
-- turned into a cookie. Logout deletes the row: a copied cookie is refused.
CREATE TABLE ui_sessions (
    id_hash     CHAR(64)    NOT NULL PRIMARY KEY,
    token_id    BIGINT      NOT NULL,
    remote      VARCHAR(64) NOT NULL DEFAULT '',
    created_at  DATETIME(6) NOT NULL,
    expires_at  DATETIME(6) NOT NULL,
    KEY ix_ui_sessions_token (token_id),
    KEY ix_ui_sessions_expires (expires_at),
    CONSTRAINT fk_ui_sessions_token FOREIGN KEY (token_id) REFERENCES api_tokens (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Who did what, to which booking or token, when and from where. The actor
-- is a tenant name (operator page) or the local user (command line); a
-- token appears only as its prefix.
CREATE TABLE audit_log (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at            DATETIME(6)  NOT NULL,
    actor         VARCHAR(100) NOT NULL DEFAULT '',
    actor_role    VARCHAR(16)  NOT NULL DEFAULT '',
    actor_prefix  VARCHAR(16)  NOT NULL DEFAULT '',
    action        VARCHAR(32)  NOT NULL,
    booking_id    BIGINT       NULL,
    token_prefix  VARCHAR(16)  NOT NULL DEFAULT '',
    detail        VARCHAR(255) NOT NULL DEFAULT '',
    remote        VARCHAR(64)  NOT NULL DEFAULT '',
    KEY ix_audit_log_at (at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE audit_log;
DROP TABLE ui_sessions;
ALTER TABLE api_tokens
    DROP KEY ix_api_tokens_prefix,
    DROP COLUMN expires_at,
    DROP COLUMN last_used_at;
