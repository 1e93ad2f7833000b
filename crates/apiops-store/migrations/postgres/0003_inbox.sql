-- The webhook inbox: every verified webhook and every polled event, stored once per provider
-- identity (Stripe event id, Twilio idempotency token or payload digest, webhook-id), before
-- the sender is answered 2xx. `processed_at` is set when its failure (if any) is in `events`.
-- `received_at` and `processed_at` are Unix milliseconds, as in the SQLite backend.
CREATE TABLE IF NOT EXISTS inbox (
    id           BIGSERIAL PRIMARY KEY,
    service      TEXT   NOT NULL,
    dedup_key    TEXT   NOT NULL,
    event_type   TEXT   NOT NULL,
    source       TEXT   NOT NULL CHECK (source IN ('webhook', 'poll')),
    received_at  BIGINT NOT NULL,
    payload      TEXT   NOT NULL,
    processed_at BIGINT,
    UNIQUE (service, dedup_key)
);
CREATE INDEX IF NOT EXISTS inbox_unprocessed ON inbox (id) WHERE processed_at IS NULL;

-- Where each poller got to (Stripe's last event id, Monitor's last alert time...).
-- `updated_at` is Unix seconds.
CREATE TABLE IF NOT EXISTS cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
