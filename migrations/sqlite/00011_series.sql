-- +goose Up
-- A series is a rule for which slots to book (weekdays with the series'
-- start/end, or a cron expression in the site's zone whose matches are the
-- slot starts, each slot_minutes long), a season from..until (site-local
-- dates), skipped dates and the booking's own fields. The materialiser
-- (internal/series) turns each occurrence into an ordinary booking ahead of
-- its opening. The password is sealed like a booking's; state is active,
-- paused or ended.
CREATE TABLE series (
    id               INTEGER      NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id        BIGINT       NOT NULL,
    site             VARCHAR(64)  NOT NULL,
    username         VARCHAR(128) NOT NULL,
    password_enc     BLOB         NULL,
    court            VARCHAR(32)  NOT NULL,
    weekdays         VARCHAR(32)  NOT NULL DEFAULT '',
    cron             VARCHAR(128) NOT NULL DEFAULT '',
    start_time       CHAR(5)      NOT NULL DEFAULT '',
    end_time         CHAR(5)      NOT NULL DEFAULT '',
    slot_minutes     INT          NOT NULL DEFAULT 0,
    season_from      CHAR(10)     NOT NULL,
    season_until     CHAR(10)     NOT NULL,
    skip             TEXT         NOT NULL,
    window_seconds   INT          NOT NULL,
    rate_per_second  DOUBLE       NOT NULL,
    phone            VARCHAR(20)  NOT NULL DEFAULT '',
    booker_name      VARCHAR(100) NOT NULL DEFAULT '',
    fields           TEXT         NOT NULL,
    state            VARCHAR(16)  NOT NULL,
    idempotency_key  VARCHAR(255) NULL,
    request_hash     CHAR(64)     NOT NULL DEFAULT '',
    created_at       DATETIME     NOT NULL,
    updated_at       DATETIME     NOT NULL,
    ended_at         DATETIME     NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);
CREATE UNIQUE INDEX uq_series_idempotency ON series (tenant_id, idempotency_key);
CREATE INDEX ix_series_state ON series (state, id);

-- One row per occurrence the materialiser handled: the primary key
-- (series_id, play_date) is what makes "created once" the database's
-- decision when several daemons run. booking_id is the booking made for it
-- (NULL when none could be: note says why, e.g. the tenant already had an
-- active booking of that slot).
CREATE TABLE series_occurrences (
    series_id   BIGINT       NOT NULL,
    play_date   CHAR(10)     NOT NULL,
    start_time  CHAR(5)      NOT NULL,
    end_time    CHAR(5)      NOT NULL,
    opens_at    DATETIME     NOT NULL,
    booking_id  BIGINT       NULL,
    note        VARCHAR(255) NOT NULL DEFAULT '',
    created_at  DATETIME     NOT NULL,
    PRIMARY KEY (series_id, play_date),
    FOREIGN KEY (series_id) REFERENCES series (id)
);
CREATE INDEX ix_series_occurrences_booking ON series_occurrences (booking_id);

-- +goose Down
DROP INDEX ix_series_occurrences_booking;
DROP TABLE series_occurrences;
DROP INDEX ix_series_state;
DROP INDEX uq_series_idempotency;
DROP TABLE series;
