-- The error scan that could not read every time window (`apiops errors` exited 6), kept until
-- `apiops errors --resume` reads the rest: at most one (id = 1), with what it read so far and
-- what the providers need to merge (`state`, JSON, opaque to the store), and its unread
-- windows in order (`seq`). A new scan replaces it. Times are Unix milliseconds.
CREATE TABLE IF NOT EXISTS partial_scans (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    recorded_at BIGINT NOT NULL,
    state       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS unread_windows (
    seq     INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    source  TEXT NOT NULL,
    from_at BIGINT NOT NULL,
    to_at   BIGINT NOT NULL,
    reason  TEXT NOT NULL
);
