-- Retention (`[retention]` in apiops serve): the raw payloads of processed inbox rows are
-- emptied after a while, and old event-log rows deleted, a small batch at a time.
--
-- An emptied payload is stored as '' (the column stays NOT NULL: SQLite cannot relax it without
-- rebuilding the table); the row, its id and its dedup key stay, so a late re-delivery is still
-- a duplicate. This index holds exactly the rows still to prune (processed, payload kept), in
-- the order they are pruned: a batch reads its first entries, and pruning a row removes it
-- from the index, so the index stays as small as the retention window.
CREATE INDEX IF NOT EXISTS inbox_prunable ON inbox (received_at)
    WHERE processed_at IS NOT NULL AND payload <> '';
-- The event log is pruned through `events_by_time` (ts_unix), which exists since 0001.
