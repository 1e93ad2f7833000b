-- The event log's dedup key starts with the event's time (`ts|service|resource_type|who|
-- error_code|action`, was `service|resource_type|who|error_code|ts|action`), so the new events
-- of a running system land at the end of its unique index instead of on random leaves all over
-- it: the index's pages written per event stop growing with the log (BENCHMARKS.md, "SQLite
-- ingest as the file grows"). Every stored key is rewritten to the new form here, so an event
-- stored before is still a duplicate when a poll brings it again. `who` is the resource id, or
-- the context when there is none (`apiops_store::dedup_key`).
UPDATE events SET dedup_key =
    CAST(ts_unix AS TEXT) || '|' || service || '|' || resource_type || '|'
    || (CASE WHEN resource_id = '' THEN context ELSE resource_id END) || '|'
    || error_code || '|' || action_taken;
