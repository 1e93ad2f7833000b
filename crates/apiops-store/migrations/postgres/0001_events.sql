-- The normalized event log (DESIGN.md §2): every failure seen and every action taken.
-- Same tables, columns and stored forms as the SQLite backend: times are Unix seconds
-- (BIGINT) plus the RFC 3339 text of the event's own time.
CREATE TABLE IF NOT EXISTS events (
    id            BIGSERIAL PRIMARY KEY,
    -- Identity of the event, so re-fetching an overlapping window stores nothing twice.
    dedup_key     TEXT   NOT NULL UNIQUE,
    ts_unix       BIGINT NOT NULL,
    timestamp     TEXT   NOT NULL,
    service       TEXT   NOT NULL,
    error_code    TEXT   NOT NULL,
    category      TEXT   NOT NULL,
    severity      TEXT   NOT NULL,
    resource_type TEXT   NOT NULL,
    resource_id   TEXT   NOT NULL,
    context       TEXT   NOT NULL,
    action_taken  TEXT   NOT NULL,
    result        TEXT   NOT NULL,
    recorded_at   BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (ts_unix);
CREATE INDEX IF NOT EXISTS events_by_service_time ON events (service, ts_unix);
