-- The inbox's dedup keys move out of the inbox into two key tables, so that storing a webhook
-- stops costing more as the inbox grows (BENCHMARKS.md, "SQLite ingest as the file grows").
--
-- Provider ids are random: in one unique index over every key ever stored, each group commit
-- lands on leaf pages all over an index that only grows, and each page it touches is written
-- to the WAL and copied back by a checkpoint. Now a new key goes into `inbox_keys_recent`, a
-- small table (a few thousand keys: its pages repeat from commit to commit), and the writer
-- moves the recent keys into `inbox_keys` a slice of the key space at a time, in key order, so
-- each leaf page of the big table takes many keys per write (`apiops_store::sqlite`, "sweep").
-- A key is in exactly one of the two tables; together they hold one row per inbox row, and a
-- key in either one is a duplicate.
--
-- The inbox itself is rebuilt without its UNIQUE (service, dedup_key) (SQLite cannot drop a
-- table constraint); ids, rows and the sequence are kept.
CREATE TABLE inbox_rebuilt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    service      TEXT    NOT NULL,
    dedup_key    TEXT    NOT NULL,
    event_type   TEXT    NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('webhook', 'poll')),
    received_at  INTEGER NOT NULL,
    payload      TEXT    NOT NULL,
    processed_at INTEGER
);
INSERT INTO inbox_rebuilt (id, service, dedup_key, event_type, source, received_at, payload, processed_at)
    SELECT id, service, dedup_key, event_type, source, received_at, payload, processed_at FROM inbox ORDER BY id;
DROP TABLE inbox;
ALTER TABLE inbox_rebuilt RENAME TO inbox;
CREATE INDEX inbox_unprocessed ON inbox (id) WHERE processed_at IS NULL;
CREATE INDEX inbox_prunable ON inbox (received_at)
    WHERE processed_at IS NOT NULL AND payload <> '';

CREATE TABLE inbox_keys (
    service   TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    PRIMARY KEY (service, dedup_key)
) WITHOUT ROWID;
CREATE TABLE inbox_keys_recent (
    service   TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    PRIMARY KEY (service, dedup_key)
) WITHOUT ROWID;
INSERT INTO inbox_keys (service, dedup_key)
    SELECT service, dedup_key FROM inbox ORDER BY service, dedup_key;
