-- The operations journal: one row per plan (keyed by a hash of what it does), one per step.
-- A re-run of the same plan reads it back and skips the steps already done.
CREATE TABLE IF NOT EXISTS journal_plans (
    plan_key    TEXT PRIMARY KEY,
    plan_json   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);

CREATE TABLE IF NOT EXISTS journal_steps (
    plan_key    TEXT NOT NULL REFERENCES journal_plans (plan_key),
    step        INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('started', 'done', 'failed')),
    detail      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (plan_key, step)
);
