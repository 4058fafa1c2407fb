-- +goose Up
-- Where the site decides: for each booking of an opening, the latest
-- estimated arrival of a submit the site answered not_open and the earliest
-- one it answered open (success, sold_out, already_mine, ...), both in
-- microseconds from the opening T on the site's clock, ± within_us. One row
-- per booking per opening; the openings' edges are aggregated on read
-- (MAX of closed_max_us, MIN of open_min_us), so that a later daemon can aim
-- its first submit where the site has been seen to open.
CREATE TABLE opening_edges (
    id             INTEGER     NOT NULL PRIMARY KEY AUTOINCREMENT,
    site           VARCHAR(64) NOT NULL,
    opens_at       DATETIME    NOT NULL,
    booking_id     BIGINT      NOT NULL,
    closed_max_us  BIGINT      NULL,
    open_min_us    BIGINT      NULL,
    within_us      BIGINT      NOT NULL,
    created_at     DATETIME    NOT NULL
);
CREATE INDEX ix_opening_edges_site_opens ON opening_edges (site, opens_at);

-- +goose Down
DROP INDEX ix_opening_edges_site_opens;
DROP TABLE opening_edges;
