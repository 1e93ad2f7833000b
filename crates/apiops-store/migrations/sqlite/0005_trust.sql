-- Leases: one runner per plan at a time, across processes and instances. A runner takes the
-- lease before its first step and renews it after each; a lapsed lease (or one whose holder is
-- known dead) may be taken over. Times are Unix milliseconds.
CREATE TABLE IF NOT EXISTS journal_leases (
    plan_key   TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Plans an agent asked for that wait for a person: `apiops confirm PLAN_ID` in a terminal or
-- the dashboard's Pending confirmations page decides them. Times are Unix milliseconds.
CREATE TABLE IF NOT EXISTS confirmations (
    id          TEXT PRIMARY KEY,
    session     TEXT NOT NULL,
    plan_json   TEXT NOT NULL,
    summary     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'refused')),
    decided_by  TEXT,
    decided_at  INTEGER
);

CREATE INDEX IF NOT EXISTS confirmations_pending ON confirmations (state, created_at);
