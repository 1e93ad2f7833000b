-- apiops serve's monitoring: the result of every scheduled check, the claims that make each
-- scheduled job run once per interval across instances, and alert states.
CREATE TABLE IF NOT EXISTS checks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job        TEXT    NOT NULL,
    service    TEXT,
    ran_at     INTEGER NOT NULL,
    status     TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    instance   TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS checks_by_job_time ON checks (job, ran_at);
CREATE INDEX IF NOT EXISTS checks_by_time ON checks (ran_at);

CREATE TABLE IF NOT EXISTS job_slots (
    job        TEXT    NOT NULL,
    slot       INTEGER NOT NULL,
    holder     TEXT    NOT NULL,
    claimed_at INTEGER NOT NULL,
    PRIMARY KEY (job, slot)
);

CREATE TABLE IF NOT EXISTS alerts (
    alert_key   TEXT PRIMARY KEY,
    rule        TEXT    NOT NULL,
    service     TEXT,
    severity    TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    firing      INTEGER NOT NULL,
    fired_at    INTEGER NOT NULL,
    resolved_at INTEGER,
    updated_at  INTEGER NOT NULL
);
