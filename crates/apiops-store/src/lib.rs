//! The store: the normalized event log, the webhook inbox, pollers' cursors and the operations
//! journal behind one [`Store`] trait, with a SQLite and a PostgreSQL backend that behave the
//! same (one conformance suite, `tests/conformance.rs`, runs on both).
//!
//! Layout:
//! - [`Store`], [`EventFilter`], [`StoreError`]: what callers use; the operations journal
//!   ([`JournalPlan`], [`JournalStep`], [`StepStatus`]) is part of the same trait.
//! - [`sqlite`]: the embedded default, one file in WAL mode with `synchronous=FULL` so a
//!   committed event survives a crash.
//! - [`postgres`]: for several instances sharing the work; the same tables and semantics,
//!   one statement per batch, commits durable (`synchronous_commit` on).
//! - The groups of tables whose statements are the same in both databases are written once in
//!   `shared` (`journal.rs`, `confirmations.rs`, `scans.rs` for the partial error scan that
//!   `apiops errors --resume` completes, `monitor.rs` for checks and job slots, `inbox.rs` for
//!   reading unprocessed webhooks, pruning payloads and the cursors), against the
//!   `Backend` and `Conn` traits each backend implements. The rest (`events.rs`, `inbox.rs`,
//!   the alerts in `monitor.rs`) are in each backend's folder beside `mod.rs` (opening the
//!   database) and `tests.rs`; `backend` forwards each [`Store`] method to them, for both.
//! - `test_support` (feature `test-support`): a throwaway PostgreSQL schema per test.
//! - [`open`]: picks the backend from a database URL (`sqlite://PATH`, `postgres://...`);
//!   [`shown_url`] is how any database URL is displayed (passwords masked, an unparseable URL
//!   not at all).
//!
//! Events are deduplicated on a key derived from their identity (service, resource, code,
//! time, action), so fetching an overlapping window twice stores each failure once.

mod backend;
pub mod postgres;
mod shared;
pub mod sqlite;
#[cfg(feature = "test-support")]
pub mod test_support;

use std::str::FromStr;

use apiops_core::{ErrorEvent, Service};
use jiff::Timestamp;

pub use postgres::{PostgresStore, UNPARSEABLE_URL, shown_url, url_passwords};
pub use sqlite::SqliteStore;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one we can open.
    #[error("database URL: {0}")]
    Url(String),
    /// The database could not be opened, migrated or queried.
    #[error("database: {0}")]
    Database(String),
    /// A stored row no longer parses (written by a newer version, or edited by hand).
    #[error("stored event {id} is unreadable: {reason}")]
    Corrupt {
        /// Row id.
        id: i64,
        /// What did not parse.
        reason: String,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events at or after this time.
    pub since: Option<Timestamp>,
    /// Only these services (all when empty).
    pub services: Vec<Service>,
    /// At most this many, newest first (all when `None`).
    pub limit: Option<u32>,
}

/// Where a journaled step got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepStatus {
    /// Begun, outcome unknown: the process may have died while it ran.
    Started,
    /// Finished successfully.
    Done,
    /// Finished with an error.
    Failed,
}

impl StepStatus {
    /// Its stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Started => "started",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<StepStatus> {
        match s {
            "started" => Some(StepStatus::Started),
            "done" => Some(StepStatus::Done),
            "failed" => Some(StepStatus::Failed),
            _ => None,
        }
    }
}

/// A journaled plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalPlan {
    /// The plan's key.
    pub key: String,
    /// The plan as first journaled (JSON, opaque to the store).
    pub plan_json: String,
    /// When it was first journaled.
    pub created_at: Timestamp,
    /// When its last step finished, if every step did.
    pub finished_at: Option<Timestamp>,
}

/// A journaled step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalStep {
    /// Its index in the plan.
    pub step: u32,
    /// Where it got to.
    pub status: StepStatus,
    /// What it produced or why it failed (JSON, opaque to the store).
    pub detail: String,
    /// When the status was written.
    pub updated_at: Timestamp,
}

/// How an inbox event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Pushed to the receiver and verified.
    Webhook,
    /// Fetched by the reconciler.
    Poll,
}

impl Source {
    /// Its stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Poll => "poll",
        }
    }

    fn parse(s: &str) -> Option<Source> {
        match s {
            "webhook" => Some(Source::Webhook),
            "poll" => Some(Source::Poll),
            _ => None,
        }
    }
}

/// A webhook or polled event, as stored in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEvent {
    /// Whose event.
    pub service: Service,
    /// Its identity for deduplication (the provider's event id, Twilio's idempotency token,
    /// or a digest of the payload when the provider gives none).
    pub dedup_key: String,
    /// `charge.failed`, `message.undelivered`, `batch.failed`...
    pub event_type: String,
    /// How it arrived.
    pub source: Source,
    /// When it was received (or polled).
    pub received_at: Timestamp,
    /// The payload as received (JSON, or a form body for Twilio callbacks).
    pub payload: String,
}

/// An inbox event with its row id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInboxEvent {
    /// Row id (ascending in arrival order).
    pub id: i64,
    /// The event.
    pub event: InboxEvent,
}

/// The result of one scheduled check (`apiops serve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecord {
    /// Which job: `health`, `errors`, `audit`.
    pub job: String,
    /// The service checked, when the job is per service.
    pub service: Option<Service>,
    /// When it ran.
    pub ran_at: Timestamp,
    /// Its verdict: `operational`/`degraded`/`down` for health, `ok`/`failed` otherwise.
    pub status: String,
    /// What it found (JSON, opaque to the store; secrets already masked).
    pub summary: String,
    /// The instance that ran it.
    pub instance: String,
}

/// An alert's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    /// Its identity: the rule and its subject (`service_down:twilio`).
    pub key: String,
    /// The rule's name.
    pub rule: String,
    /// The service concerned, if any.
    pub service: Option<Service>,
    /// How bad.
    pub severity: apiops_core::Severity,
    /// One line for people.
    pub message: String,
    /// Whether the condition holds now.
    pub firing: bool,
    /// When it last started firing.
    pub fired_at: Timestamp,
    /// When it last resolved.
    pub resolved_at: Option<Timestamp>,
    /// When it was last evaluated.
    pub updated_at: Timestamp,
}

/// Who runs a plan, and until when (see [`Store::journal_lease`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The runner: opaque to the store (`host/pid/nonce` for apiops' runners).
    pub holder: String,
    /// When the lease lapses unless renewed.
    pub expires_at: Timestamp,
}

/// Where a confirmation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfirmationState {
    /// Waiting for a person.
    Pending,
    /// A person said yes.
    Confirmed,
    /// A person said no.
    Refused,
}

impl ConfirmationState {
    /// Its stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmationState::Pending => "pending",
            ConfirmationState::Confirmed => "confirmed",
            ConfirmationState::Refused => "refused",
        }
    }

    fn parse(s: &str) -> Option<ConfirmationState> {
        match s {
            "pending" => Some(ConfirmationState::Pending),
            "confirmed" => Some(ConfirmationState::Confirmed),
            "refused" => Some(ConfirmationState::Refused),
            _ => None,
        }
    }
}

/// A plan an agent asked for that waits for a person (`apiops confirm`, the dashboard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The plan's id (`plan_...`, from a CSPRNG).
    pub id: String,
    /// The session that made the plan (an MCP session id, `stdio`...).
    pub session: String,
    /// The plan (JSON, opaque to the store).
    pub plan_json: String,
    /// One line for people: the operation and its steps.
    pub summary: String,
    /// When it was asked for.
    pub created_at: Timestamp,
    /// After this nobody can confirm it.
    pub expires_at: Timestamp,
    /// Where it stands.
    pub state: ConfirmationState,
    /// Who decided (`terminal`, `dashboard`), once decided.
    pub decided_by: Option<String>,
    /// When, once decided.
    pub decided_at: Option<Timestamp>,
}

/// What [`Store::alert_observe`] did to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertChange {
    /// It was not firing and now is: notify.
    Fired,
    /// It was firing and no longer is: notify the resolution.
    Resolved,
    /// No change of state (still firing, or still quiet): nothing to send.
    Unchanged,
}

/// A time window an error scan could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadWindowRecord {
    /// Whose.
    pub service: Service,
    /// Which of its sources (`messages`, `events`...).
    pub source: String,
    /// The first instant of the window (stored to the millisecond).
    pub from: Timestamp,
    /// The first instant after it.
    pub to: Timestamp,
    /// Why it could not be read (secrets already scrubbed).
    pub reason: String,
}

/// An error scan that could not read every window (`apiops errors` exits 6), kept so
/// `apiops errors --resume` reads only those and merges the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialScan {
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// What was read so far and what the providers need to merge (JSON, opaque to the store).
    pub state: String,
    /// The windows still unread, in order.
    pub windows: Vec<UnreadWindowRecord>,
}

/// What every backend offers.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Appends events in one transaction; returns how many were new (duplicates are skipped).
    async fn append_events(&self, events: &[ErrorEvent]) -> Result<u64, StoreError>;

    /// Reads events, oldest first within the filter.
    async fn events(&self, filter: &EventFilter) -> Result<Vec<ErrorEvent>, StoreError>;

    /// How many events are stored.
    async fn event_count(&self) -> Result<u64, StoreError>;

    /// Journals a plan under `key` unless one is there already; returns the journaled one
    /// (the first writer wins, so a re-run resumes the plan it started, not a new one).
    async fn journal_plan(
        &self,
        key: &str,
        plan_json: &str,
        now: Timestamp,
    ) -> Result<JournalPlan, StoreError>;

    /// The journaled plan under `key`, if any.
    async fn journaled_plan(&self, key: &str) -> Result<Option<JournalPlan>, StoreError>;

    /// The steps journaled for `key`, in step order.
    async fn journal_steps(&self, key: &str) -> Result<Vec<JournalStep>, StoreError>;

    /// Records a step's status and the events of its outcome in ONE transaction (durably,
    /// before returning): a step is never done without its event, nor its event stored
    /// without the step being done. Returns how many events were new.
    async fn journal_step(
        &self,
        key: &str,
        step: u32,
        status: StepStatus,
        detail: &str,
        events: &[ErrorEvent],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// The most recent plan journaled for `base` (the key itself, or a later run of the same
    /// request keyed `base~SUFFIX`, suffixes ordered by byte value), if any.
    async fn journal_latest(&self, base: &str) -> Result<Option<JournalPlan>, StoreError>;

    /// Takes or renews the lease on plan `key` for `holder` until `until`. Succeeds when
    /// nobody holds it, when `holder` does, or when the current lease lapsed before `now`;
    /// otherwise returns the current lease and changes nothing. Atomic across processes.
    async fn journal_lease(
        &self,
        key: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Result<(), Lease>, StoreError>;

    /// Hands the lease on `key` from `from` (a runner known to be dead) to `to`; `false` when
    /// `from` no longer holds it. Compare-and-swap.
    async fn journal_lease_steal(
        &self,
        key: &str,
        from: &str,
        to: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Gives the lease on `key` up if `holder` holds it.
    async fn journal_release(&self, key: &str, holder: &str) -> Result<(), StoreError>;

    /// Records a confirmation request; an existing id is left as it is (`false`).
    async fn confirmation_put(&self, c: &Confirmation) -> Result<bool, StoreError>;

    /// The confirmation `id`, if any.
    async fn confirmation(&self, id: &str) -> Result<Option<Confirmation>, StoreError>;

    /// Confirmations still pending at `now`, newest first.
    async fn confirmations_pending(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Confirmation>, StoreError>;

    /// Decides a pending, unexpired confirmation; `false` when it was not pending any more (or
    /// expired, or unknown). Atomic: two people deciding at once, one wins.
    async fn confirmation_decide(
        &self,
        id: &str,
        state: ConfirmationState,
        by: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Marks the plan finished.
    async fn journal_finish(&self, key: &str, now: Timestamp) -> Result<(), StoreError>;

    /// Forgets the plan and its steps (a deliberate fresh run).
    async fn journal_forget(&self, key: &str) -> Result<(), StoreError>;

    /// Stores inbox events in ONE transaction, durable when it returns (group commit: the
    /// receiver batches concurrent requests into one call). Per event, in order: `true` when
    /// it was new, `false` for a duplicate (same service and dedup key), which is not stored.
    async fn inbox_append(&self, events: &[InboxEvent]) -> Result<Vec<bool>, StoreError>;

    /// How many inbox events are stored (of one service, or all).
    async fn inbox_count(&self, service: Option<Service>) -> Result<u64, StoreError>;

    /// Whether an event with this identity is stored.
    async fn inbox_has(&self, service: Service, dedup_key: &str) -> Result<bool, StoreError>;

    /// Up to `limit` events not yet processed, oldest first.
    async fn inbox_unprocessed(&self, limit: u32) -> Result<Vec<StoredInboxEvent>, StoreError>;

    /// In one transaction: appends `events` (the failures the inbox rows `ids` became) to the
    /// event log and marks those rows processed — so a crash never processes a row twice or
    /// loses its failure.
    async fn inbox_processed(
        &self,
        ids: &[i64],
        events: &[ErrorEvent],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Retention: empties the raw payload of at most `limit` inbox rows that are processed and
    /// were received before `before` (oldest first); returns how many. The rows stay, with
    /// their ids and dedup keys, so a re-delivery of a pruned event is still a duplicate;
    /// unprocessed rows are never touched. One short statement per call: a caller prunes a
    /// backlog in a loop until a call returns less than `limit`, and other writers get their
    /// turn in between.
    async fn inbox_prune_payloads(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;

    /// Retention: deletes at most `limit` event-log rows whose event time is before `before`
    /// (oldest first); returns how many. Batched like [`Store::inbox_prune_payloads`].
    async fn events_prune(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;

    /// A poller's cursor.
    async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Sets a poller's cursor (durably).
    async fn set_cursor(&self, name: &str, value: &str, now: Timestamp) -> Result<(), StoreError>;

    /// Records a scheduled check's result.
    async fn record_check(&self, check: &CheckRecord) -> Result<(), StoreError>;

    /// Checks since `since` (of one job, or all), newest first, at most `limit`.
    async fn checks(
        &self,
        job: Option<&str>,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<CheckRecord>, StoreError>;

    /// Claims interval `slot` of `job` for `holder`: `true` for exactly one caller across every
    /// instance sharing the database (the one that runs the job this interval).
    async fn claim_slot(
        &self,
        job: &str,
        slot: i64,
        holder: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Who claimed each slot of `job` from `since_slot` on, ascending.
    async fn slot_holders(
        &self,
        job: &str,
        since_slot: i64,
    ) -> Result<Vec<(i64, String)>, StoreError>;

    /// Records an evaluation of an alert rule atomically (one transaction, so that across
    /// instances an alert fires and resolves once): returns whether it changed state. A
    /// firing observation keeps `fired_at` while the alert stays firing.
    async fn alert_observe(&self, alert: &AlertRecord) -> Result<AlertChange, StoreError>;

    /// Alerts, most recently updated first (only firing ones when `firing_only`).
    async fn alerts(&self, firing_only: bool, limit: u32) -> Result<Vec<AlertRecord>, StoreError>;

    /// Keeps `scan` as THE partial error scan, replacing any kept before, in one transaction;
    /// a scan without windows clears it (nothing is left to resume).
    async fn partial_scan_put(&self, scan: &PartialScan) -> Result<(), StoreError>;

    /// The partial error scan kept, if any, with its windows in the order given.
    async fn partial_scan(&self) -> Result<Option<PartialScan>, StoreError>;
}

/// Opens the store a database URL names: `sqlite://PATH` (created with its folder if missing,
/// `?mode=rwc` accepted), `sqlite::memory:`, or `postgres://USER:PASSWORD@HOST:PORT/DB`
/// (`postgresql://` too; see [`PostgresStore::open`]). Errors never show a password.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        return Ok(Box::new(SqliteStore::open(url).await?));
    }
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Ok(Box::new(PostgresStore::open(url).await?));
    }
    // Only the scheme is shown: the rest may hold a password.
    let scheme = url.split_once(':').map_or("", |(s, _)| s);
    let scheme = if scheme.len() <= 20
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        scheme.to_owned()
    } else {
        apiops_core::mask(scheme)
    };
    Err(StoreError::Url(format!(
        "unsupported scheme {scheme:?}: expected sqlite://PATH, postgres:// or postgresql://"
    )))
}

/// A stored time in seconds, checked.
/// What an alert observation does, given the stored state (`Some(firing)`, or `None` when
/// the alert was never stored): the change, and whether to write the observation.
pub(crate) fn alert_decision(stored: Option<bool>, firing: bool) -> (AlertChange, bool) {
    match (stored, firing) {
        (None, true) | (Some(false), true) => (AlertChange::Fired, true),
        (Some(true), false) => (AlertChange::Resolved, true),
        (Some(true), true) => (AlertChange::Unchanged, true),
        (None, false) => (AlertChange::Unchanged, false),
        (Some(false), false) => (AlertChange::Unchanged, true),
    }
}

pub(crate) fn ms(id: i64, millis: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(millis).map_err(|_| StoreError::Corrupt {
        id,
        reason: format!("time {millis} ms"),
    })
}

pub(crate) fn timestamp(id: i64, secs: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_second(secs).map_err(|_| StoreError::Corrupt {
        id,
        reason: format!("time {secs}"),
    })
}

/// A stored text column parsed into its type.
pub(crate) fn parse_field<T: FromStr>(id: i64, field: &str, value: &str) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt {
        id,
        reason: format!("{field} {value:?}"),
    })
}

/// A stored `service` column: a built-in service or a configured API's name.
pub(crate) fn parse_service(id: i64, value: &str) -> Result<Service, StoreError> {
    Service::from_stored(value).map_err(|_| StoreError::Corrupt {
        id,
        reason: format!("service {value:?}"),
    })
}

/// The identity of an event, for deduplication: its time first, so a running system's new
/// events append to the unique index rather than landing all over it (migration 0007 rewrote
/// the keys stored before in the same form).
///
/// The time is the whole second for the three services, whose sources report one event at
/// different precisions (a poll and a webhook agree on the second only). A configured API's
/// failure (`Service::Api`) is seen by apiops alone, once per failed call, stamped when it
/// happened: its key keeps the nanoseconds too, so two failures of one operation with one code
/// in the same second are two events, while the same event appended again (a retried write, a
/// re-delivery) is still one.
pub fn dedup_key(e: &ErrorEvent) -> String {
    let who = if e.resource_id.is_empty() {
        e.context.as_str()
    } else {
        e.resource_id.as_str()
    };
    let time = match e.service {
        Service::Api(_) => format!(
            "{}.{:09}",
            e.timestamp.as_second(),
            e.timestamp.subsec_nanosecond().unsigned_abs()
        ),
        _ => e.timestamp.as_second().to_string(),
    };
    format!(
        "{}|{}|{}|{}|{}|{}",
        time, e.service, e.resource_type, who, e.error_code, e.action_taken
    )
}

/// The key range of later runs of `base`: `base~...` (`~` is 0x7E; 0x7F bounds it).
pub(crate) fn later_runs(base: &str) -> (String, String) {
    (format!("{base}~"), format!("{base}\u{7f}"))
}
