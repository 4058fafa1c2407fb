-- +goose Up
-- Issue 13: tokens that expire and say when they were last used, operator
-- page sessions the server can end, and an audit trail of operator actions.
--
-- last_used_at is written at most once a minute per token (a conditional
-- update), so that authenticating a request is a read. expires_at NULL
-- means the token does not expire.
ALTER TABLE api_tokens ADD COLUMN last_used_at DATETIME NULL;
ALTER TABLE api_tokens ADD COLUMN expires_at DATETIME NULL;
CREATE INDEX ix_api_tokens_prefix ON api_tokens (prefix);

-- One row per signed-in operator page session. The cookie carries a random
-- session id; the table keeps its SHA-256, so a database copy cannot be
-- turned into a cookie. Logout deletes the row: a copied cookie is refused.
CREATE TABLE ui_sessions (
    id_hash     CHAR(64)    NOT NULL PRIMARY KEY,
    token_id    BIGINT      NOT NULL,
    remote      VARCHAR(64) NOT NULL DEFAULT '',
    created_at  DATETIME    NOT NULL,
    expires_at  DATETIME    NOT NULL,
    FOREIGN KEY (token_id) REFERENCES api_tokens (id)
);
CREATE INDEX ix_ui_sessions_token ON ui_sessions (token_id);
CREATE INDEX ix_ui_sessions_expires ON ui_sessions (expires_at);

-- Who did what, to which booking or token, when and from where. The actor
-- is a tenant name (operator page) or the local user (command line); a
-- token appears only as its prefix.
CREATE TABLE audit_log (
    id            INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    at            DATETIME     NOT NULL,
    actor         VARCHAR(100) NOT NULL DEFAULT '',
    actor_role    VARCHAR(16)  NOT NULL DEFAULT '',
    actor_prefix  VARCHAR(16)  NOT NULL DEFAULT '',
    action        VARCHAR(32)  NOT NULL,
    booking_id    BIGINT       NULL,
    token_prefix  VARCHAR(16)  NOT NULL DEFAULT '',
    detail        VARCHAR(255) NOT NULL DEFAULT '',
    remote        VARCHAR(64)  NOT NULL DEFAULT ''
);
CREATE INDEX ix_audit_log_at ON audit_log (at, id);

-- +goose Down
DROP INDEX ix_audit_log_at;
DROP TABLE audit_log;
DROP INDEX ix_ui_sessions_expires;
DROP INDEX ix_ui_sessions_token;
DROP TABLE ui_sessions;
DROP INDEX ix_api_tokens_prefix;
ALTER TABLE api_tokens DROP COLUMN expires_at;
ALTER TABLE api_tokens DROP COLUMN last_used_at;
