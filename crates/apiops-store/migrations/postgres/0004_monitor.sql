-- apiops serve's monitoring: the result of every scheduled check, the claims that make each
-- scheduled job run once per interval across instances, and alert states.
CREATE TABLE IF NOT EXISTS checks (
    id         BIGSERIAL PRIMARY KEY,
    job        TEXT    NOT NULL,
    service    TEXT,
    ran_at     BIGINT  NOT NULL,
    status     TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    instance   TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS checks_by_job_time ON checks (job, ran_at);
CREATE INDEX IF NOT EXISTS checks_by_time ON checks (ran_at);

CREATE TABLE IF NOT EXISTS job_slots (
    job        TEXT    NOT NULL,
    slot       BIGINT  NOT NULL,
    holder     TEXT    NOT NULL,
    claimed_at BIGINT  NOT NULL,
    PRIMARY KEY (job, slot)
);

CREATE TABLE IF NOT EXISTS alerts (
    alert_key   TEXT PRIMARY KEY,
    rule        TEXT    NOT NULL,
    service     TEXT,
    severity    TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    firing      BOOLEAN NOT NULL,
    fired_at    BIGINT  NOT NULL,
    resolved_at BIGINT,
    updated_at  BIGINT  NOT NULL
);
