-- The operations journal: one row per plan (keyed by a hash of what it does), one per step.
-- A re-run of the same plan reads it back and skips the steps already done.
-- Times are Unix seconds, as in the SQLite backend.
CREATE TABLE IF NOT EXISTS journal_plans (
    plan_key    TEXT PRIMARY KEY,
    plan_json   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE TABLE IF NOT EXISTS journal_steps (
    plan_key    TEXT NOT NULL REFERENCES journal_plans (plan_key),
    step        BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('started', 'done', 'failed')),
    detail      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (plan_key, step)
);
