//! The SQLite backend: one file, WAL journal, `synchronous=FULL`, embedded migrations.
//!
//! Connections: readers in a pool, one writer every write queues for, and a background
//! checkpointer that copies the WAL into the file beside the writer (see
//! `checkpoint_behind_the_writer`); the writer itself only finishes a checkpoint when the
//! WAL reaches `WRITER_CHECKPOINT_FRAMES`, which keeps the WAL bounded.
//!
//! The inbox's dedup keys are kept in two key tables, a small recent one and an archive the
//! writer sweeps recent keys into in key order (`Sweep`), so that storing a webhook costs about
//! the same however large the inbox has grown.

use std::str::FromStr;
use std::sync::{Arc, Weak};

use apiops_core::{ErrorEvent, Service};
use sqlx::Row;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqlSafeStr, SqlitePool};

use jiff::Timestamp;

use crate::{
    AlertChange, AlertRecord, CONFIRMATION_COLUMNS, CheckRecord, Confirmation, ConfirmationRow,
    ConfirmationState, EventFilter, InboxEvent, JournalPlan, JournalStep, Lease, Source,
    StepStatus, Store, StoreError, StoredInboxEvent, alert_decision, confirmation_from, dedup_key,
    later_runs, ms, parse_field as parse, timestamp,
};

fn migrator() -> Migrator {
    let migration = |version, name: &str, sql: &'static str| {
        Migration::new(
            version,
            name.to_owned().into(),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(
            1,
            "events",
            include_str!("../migrations/sqlite/0001_events.sql"),
        ),
        migration(
            2,
            "journal",
            include_str!("../migrations/sqlite/0002_journal.sql"),
        ),
        migration(
            3,
            "inbox",
            include_str!("../migrations/sqlite/0003_inbox.sql"),
        ),
        migration(
            4,
            "monitor",
            include_str!("../migrations/sqlite/0004_monitor.sql"),
        ),
        migration(
            5,
            "trust",
            include_str!("../migrations/sqlite/0005_trust.sql"),
        ),
        migration(
            6,
            "retention",
            include_str!("../migrations/sqlite/0006_retention.sql"),
        ),
        migration(
            7,
            "event_keys_time_first",
            include_str!("../migrations/sqlite/0007_event_keys_time_first.sql"),
        ),
        migration(
            8,
            "inbox_keys",
            include_str!("../migrations/sqlite/0008_inbox_keys.sql"),
        ),
    ])
}

/// The most inbox rows one `INSERT` carries (6 parameters each; SQLite allows 32766).
const INBOX_MAX_ROWS_PER_STATEMENT: usize = 512;

/// Whether SQLite answered `SQLITE_BUSY` (or one of its extended forms).
fn is_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    e.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

/// Applies the migrations. SQLite migrations take no lock, so two processes opening a new file
/// at once may both apply one: the second then fails on `_sqlx_migrations`' unique version, or
/// finds the file busy without waiting (a read transaction cannot become a write one after
/// another connection wrote), and is simply run again (it then finds the migration applied).
async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        match migrator().run(pool).await {
            Ok(()) => return Ok(()),
            Err(
                sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(e))
                | sqlx::migrate::MigrateError::ExecuteMigration(sqlx::Error::Database(e), _),
            ) if (e.is_unique_violation() || is_busy(&*e)) && attempt < 50 => {
                tokio::time::sleep(std::time::Duration::from_millis(20 * attempt.min(10))).await;
            }
            Err(e) => return Err(StoreError::Database(format!("migrating: {e}"))),
        }
    }
}

fn check_row(row: &sqlx::sqlite::SqliteRow) -> Result<CheckRecord, StoreError> {
    let id: i64 = row.try_get("id")?;
    let service: Option<String> = row.try_get("service")?;
    Ok(CheckRecord {
        job: row.try_get("job")?,
        service: service.map(|s| parse(id, "service", &s)).transpose()?,
        ran_at: ms(id, row.try_get("ran_at")?)?,
        status: row.try_get("status")?,
        summary: row.try_get("summary")?,
        instance: row.try_get("instance")?,
    })
}

fn alert_row(row: &sqlx::sqlite::SqliteRow) -> Result<AlertRecord, StoreError> {
    let service: Option<String> = row.try_get("service")?;
    let severity: String = row.try_get("severity")?;
    let resolved: Option<i64> = row.try_get("resolved_at")?;
    Ok(AlertRecord {
        key: row.try_get("alert_key")?,
        rule: row.try_get("rule")?,
        service: service.map(|s| parse(0, "service", &s)).transpose()?,
        severity: parse(0, "severity", &severity)?,
        message: row.try_get("message")?,
        firing: row.try_get("firing")?,
        fired_at: ms(0, row.try_get("fired_at")?)?,
        resolved_at: resolved.map(|r| ms(0, r)).transpose()?,
        updated_at: ms(0, row.try_get("updated_at")?)?,
    })
}

fn plan_row(row: &sqlx::sqlite::SqliteRow) -> Result<JournalPlan, StoreError> {
    let created: i64 = row.try_get("created_at")?;
    let finished: Option<i64> = row.try_get("finished_at")?;
    Ok(JournalPlan {
        key: row.try_get("plan_key")?,
        plan_json: row.try_get("plan_json")?,
        created_at: timestamp(0, created)?,
        finished_at: finished.map(|f| timestamp(0, f)).transpose()?,
    })
}

/// An event store in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Readers (WAL: they never wait for the writer).
    pool: SqlitePool,
    /// The one connection every write goes through: writers queue here, in the pool, instead
    /// of contending for SQLite's write lock (whose busy handler sleeps for milliseconds).
    writer: SqlitePool,
    /// Held by every clone: the background checkpointer stops once the last one is dropped.
    _alive: Arc<()>,
    /// Where the writer's sweep of recent inbox keys is (see [`Sweep`]).
    sweep: Arc<std::sync::Mutex<Sweep>>,
}

/// The inbox's dedup keys live in two tables (migration 0008): new keys go into the small
/// `inbox_keys_recent`, and the writer moves them into `inbox_keys` a slice of the key space at
/// a time, in key order ([`SWEEP_STEP`] keys per step, once the recent table holds more than
/// [`recent_cap`] keys), inside the commit that crossed the cap.
///
/// Why: provider ids are random. With one unique index over every key, each group commit
/// touched leaf pages all over an index that only grows, and every page touched is written to
/// the WAL and copied back by a checkpoint: storing a webhook cost more run after run as the
/// file grew (BENCHMARKS.md). The recent table stays small, so its pages repeat from commit to
/// commit; a sweep step writes each leaf of its slice of `inbox_keys` once for all the keys it
/// moves there, and a whole cycle through the key space writes each leaf about once per
/// [`recent_cap`] new keys. Keeping the cap a fixed share of the archive keeps that cost per
/// event flat as the archive grows.
#[derive(Debug, Default)]
struct Sweep {
    /// Keys in `inbox_keys_recent`: counted when the store opens, then what this handle added
    /// and swept since (other handles on the same file keep their own count: each sweeps what
    /// it sees over the cap, so the table stays bounded whoever writes).
    recent: u64,
    /// Keys in `inbox_keys`, likewise.
    archived: u64,
    /// The last key the previous step moved: the next one starts after it (empty: from the
    /// start of the key space).
    after: (String, String),
}

/// The fewest keys `inbox_keys_recent` holds before the sweep moves any.
const RECENT_KEYS_MIN: u64 = 32_768;

/// How many keys `inbox_keys_recent` holds before the sweep moves some: at least
/// [`RECENT_KEYS_MIN`], and a sixteenth of the archive, so that each leaf of `inbox_keys` is
/// written about once per that many new keys however large the archive grows.
fn recent_cap(archived: u64) -> u64 {
    RECENT_KEYS_MIN.max(archived / 16)
}

/// Keys one sweep step moves into `inbox_keys` (the step's cost is one commit's spike: the
/// leaves of that slice of the archive).
const SWEEP_STEP: u64 = 1_024;

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` and applies migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5))
            .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_FRAMES.to_string())
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string());
        let file = options.get_filename().to_path_buf();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
            && file.to_string_lossy() != ":memory:"
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Database(format!("creating {}: {e}", dir.display())))?;
        }
        let in_memory = url.contains(":memory:");
        // Switching a new file to WAL needs it alone, and SQLite answers "busy" at once rather
        // than waiting (busy_timeout does not cover it): when two processes create the file
        // together, the loser retries, for about as long as busy_timeout would wait.
        let mut attempt = 0u64;
        let pool = loop {
            attempt += 1;
            match SqlitePoolOptions::new()
                .max_connections(if in_memory { 1 } else { 4 })
                .connect_with(options.clone())
                .await
            {
                Ok(pool) => break pool,
                Err(sqlx::Error::Database(e)) if is_busy(&*e) && attempt < 50 => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt.min(10)))
                        .await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        migrate(&pool).await?;
        let alive = Arc::new(());
        let writer = if in_memory {
            // One in-memory database per connection: the same single connection for both.
            pool.clone()
        } else {
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    options
                        .clone()
                        .pragma("cache_size", (-WRITER_CACHE_KIB).to_string()),
                )
                .await?;
            tokio::spawn(checkpoint_behind_the_writer(
                options,
                Arc::downgrade(&alive),
            ));
            writer
        };
        let (recent, archived): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM inbox_keys_recent), (SELECT COUNT(*) FROM inbox_keys)",
        )
        .fetch_one(&pool)
        .await?;
        Ok(SqliteStore {
            pool,
            writer,
            _alive: alive,
            sweep: Arc::new(std::sync::Mutex::new(Sweep {
                recent: u64::try_from(recent).unwrap_or(0),
                archived: u64::try_from(archived).unwrap_or(0),
                after: Default::default(),
            })),
        })
    }
}

/// The writer's page cache, in KiB (SQLite's default is 2,000). Each group commit looks its
/// keys up in `inbox_keys` (see [`Sweep`]), at random places: with the default cache those
/// lookups read pages from the file more and more often as the archive grows (the writer's CPU
/// per event grew about 20 % over 300,000 events); 16 MiB keeps about a million keys' pages.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// WAL frames (pages) after which the writer checkpoints at the end of its own commit
/// (`wal_autocheckpoint`; SQLite's default is 1,000). The background checkpointer has normally
/// copied nearly all of them by then, so the writer copies only the last few, and its next
/// transaction starts the WAL over: this is what bounds the WAL (about 16 MiB at 4 KiB pages).
const WRITER_CHECKPOINT_FRAMES: u32 = 4_096;

/// A WAL that grew past this (a long read kept it from starting over) is truncated back to it
/// once it does (`journal_size_limit`, bytes; by default SQLite keeps the file at its largest).
const WAL_SIZE_LIMIT: u64 = 64 << 20;

/// How long the background checkpointer waits between passes while the WAL is being written,
/// and while it is not.
const CHECKPOINT_BUSY_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);
const CHECKPOINT_IDLE_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// Copies committed WAL frames into the database file on a connection of its own
/// (`PRAGMA wal_checkpoint(PASSIVE)`: it never blocks the writer or readers), so that the
/// copying is not done inside the writer's commits, where every webhook waits for it.
///
/// Why: the inbox's dedup index is keyed by provider event ids, which are random, so each
/// commit touches leaf pages all over it. While the index is small, the pages a checkpoint
/// copies repeat from commit to commit; as it grows past what one checkpoint interval touches,
/// every checkpoint copies more distinct pages per event. Inside the writer's commits that made
/// ingest slow down run after run as the file grew (BENCHMARKS.md). Here that work grows
/// beside the writer, not in its way.
///
/// It cannot start the WAL over by itself while commits keep coming (the frames appended
/// during a pass are left for the next one): the writer does that, see
/// [`WRITER_CHECKPOINT_FRAMES`]. Ends when the last handle of the store is dropped.
async fn checkpoint_behind_the_writer(options: SqliteConnectOptions, alive: Weak<()>) {
    use sqlx::Connection as _;
    let mut conn: Option<sqlx::SqliteConnection> = None;
    let mut last = (0i64, 0i64);
    let mut pause = CHECKPOINT_IDLE_PAUSE;
    loop {
        tokio::time::sleep(pause).await;
        if alive.strong_count() == 0 {
            break;
        }
        if conn.is_none() {
            conn = sqlx::SqliteConnection::connect_with(&options).await.ok();
        }
        let Some(c) = conn.as_mut() else {
            pause = CHECKPOINT_IDLE_PAUSE;
            continue;
        };
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut *c)
            .await
        {
            // (busy, frames in the WAL, frames checkpointed): unchanged means nothing was
            // committed since the last pass.
            Ok((_, log, done)) => {
                pause = if (log, done) == last {
                    CHECKPOINT_IDLE_PAUSE
                } else {
                    CHECKPOINT_BUSY_PAUSE
                };
                last = (log, done);
            }
            Err(_) => {
                conn = None;
                pause = CHECKPOINT_IDLE_PAUSE;
            }
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
    }
}

/// One step of the [`Sweep`], inside the writer's transaction: moves the next
/// [`SWEEP_STEP`] recent keys after `after` (in key order, wrapping to the start of the key
/// space at its end) into `inbox_keys`.
async fn sweep_step(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    after: (String, String),
) -> Result<Swept, StoreError> {
    // The last key of this step's slice; none when fewer keys are left before the end.
    let last: Option<(String, String)> = sqlx::query_as(
        "SELECT service, dedup_key FROM inbox_keys_recent WHERE (service, dedup_key) > (?, ?) \
         ORDER BY service, dedup_key LIMIT 1 OFFSET ?",
    )
    .bind(&after.0)
    .bind(&after.1)
    .bind(i64::try_from(SWEEP_STEP - 1).unwrap_or(0))
    .fetch_optional(&mut **tx)
    .await?;
    let (upto, next) = match &last {
        Some(last) => ("AND (service, dedup_key) <= (?3, ?4)", last.clone()),
        None => ("", Default::default()),
    };
    let mut moved = [0u64; 2];
    for (i, statement) in [
        format!(
            "INSERT OR IGNORE INTO inbox_keys (service, dedup_key) SELECT service, dedup_key \
             FROM inbox_keys_recent WHERE (service, dedup_key) > (?1, ?2) {upto} \
             ORDER BY service, dedup_key"
        ),
        format!("DELETE FROM inbox_keys_recent WHERE (service, dedup_key) > (?1, ?2) {upto}"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(&after.0)
            .bind(&after.1);
        if let Some(last) = &last {
            q = q.bind(&last.0).bind(&last.1);
        }
        moved[i] = q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(Swept {
        archived: moved[0],
        removed: moved[1],
        after: next,
    })
}

/// What one sweep step did.
struct Swept {
    /// Keys added to `inbox_keys`.
    archived: u64,
    /// Keys removed from `inbox_keys_recent`.
    removed: u64,
    /// Where the next step starts.
    after: (String, String),
}

/// Inserts events inside `tx`, skipping duplicates; returns how many were new.
async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    events: &[ErrorEvent],
) -> Result<u64, StoreError> {
    let now = jiff::Timestamp::now().as_second();
    let mut inserted = 0;
    for e in events {
        let r = sqlx::query(
            "INSERT OR IGNORE INTO events (dedup_key, ts_unix, timestamp, service, error_code, category, severity, resource_type, resource_id, context, action_taken, result, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(dedup_key(e))
        .bind(e.timestamp.as_second())
        .bind(e.timestamp.to_string())
        .bind(e.service.as_str())
        .bind(&e.error_code)
        .bind(e.category.as_str())
        .bind(e.severity.as_str())
        .bind(&e.resource_type)
        .bind(&e.resource_id)
        .bind(&e.context)
        .bind(e.action_taken.as_str())
        .bind(e.result.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        inserted += r.rows_affected();
    }
    Ok(inserted)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn append_events(&self, events: &[ErrorEvent]) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await?;
        let inserted = insert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn events(&self, filter: &EventFilter) -> Result<Vec<ErrorEvent>, StoreError> {
        let mut sql = String::from(
            "SELECT id, timestamp, service, error_code, category, severity, resource_type, resource_id, context, action_taken, result FROM events WHERE ts_unix >= ?",
        );
        if !filter.services.is_empty() {
            let marks = vec!["?"; filter.services.len()].join(", ");
            sql.push_str(&format!(" AND service IN ({marks})"));
        }
        sql.push_str(" ORDER BY ts_unix DESC, id DESC");
        if filter.limit.is_some() {
            sql.push_str(" LIMIT ?");
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.since.map_or(i64::MIN, |t| t.as_second()));
        for s in &filter.services {
            q = q.bind(s.as_str());
        }
        if let Some(limit) = filter.limit {
            q = q.bind(i64::from(limit));
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows.into_iter().rev() {
            let id: i64 = row.try_get("id")?;
            let text =
                |name: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(name)?) };
            out.push(ErrorEvent {
                timestamp: parse(id, "timestamp", &text("timestamp")?)?,
                service: parse::<Service>(id, "service", &text("service")?)?,
                error_code: text("error_code")?,
                category: parse(id, "category", &text("category")?)?,
                severity: parse(id, "severity", &text("severity")?)?,
                resource_type: text("resource_type")?,
                resource_id: text("resource_id")?,
                context: text("context")?,
                action_taken: parse(id, "action_taken", &text("action_taken")?)?,
                result: parse(id, "result", &text("result")?)?,
            });
        }
        Ok(out)
    }

    async fn event_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn journal_plan(
        &self,
        key: &str,
        plan_json: &str,
        now: Timestamp,
    ) -> Result<JournalPlan, StoreError> {
        sqlx::query(
            "INSERT OR IGNORE INTO journal_plans (plan_key, plan_json, created_at) VALUES (?, ?, ?)",
        )
        .bind(key)
        .bind(plan_json)
        .bind(now.as_second())
        .execute(&self.writer)
        .await?;
        self.journaled_plan(key)
            .await?
            .ok_or_else(|| StoreError::Database(format!("journaled plan {key} vanished")))
    }

    async fn journaled_plan(&self, key: &str) -> Result<Option<JournalPlan>, StoreError> {
        let row = sqlx::query(
            "SELECT plan_key, plan_json, created_at, finished_at FROM journal_plans WHERE plan_key = ?",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(plan_row).transpose()
    }

    async fn journal_steps(&self, key: &str) -> Result<Vec<JournalStep>, StoreError> {
        let rows = sqlx::query(
            "SELECT step, status, detail, updated_at FROM journal_steps WHERE plan_key = ? ORDER BY step",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let step: i64 = row.try_get("step")?;
                let status: String = row.try_get("status")?;
                let updated: i64 = row.try_get("updated_at")?;
                Ok(JournalStep {
                    step: u32::try_from(step).map_err(|_| StoreError::Corrupt {
                        id: step,
                        reason: "step index".into(),
                    })?,
                    status: StepStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                        id: step,
                        reason: format!("step status {status:?}"),
                    })?,
                    detail: row.try_get("detail")?,
                    updated_at: timestamp(step, updated)?,
                })
            })
            .collect()
    }

    async fn journal_step(
        &self,
        key: &str,
        step: u32,
        status: StepStatus,
        detail: &str,
        events: &[ErrorEvent],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO journal_steps (plan_key, step, status, detail, updated_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (plan_key, step) DO UPDATE SET status = excluded.status, detail = excluded.detail, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(i64::from(step))
        .bind(status.as_str())
        .bind(detail)
        .bind(now.as_second())
        .execute(&mut *tx)
        .await?;
        let inserted = insert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn journal_latest(&self, base: &str) -> Result<Option<JournalPlan>, StoreError> {
        let (from, to) = later_runs(base);
        let row = sqlx::query(
            "SELECT plan_key, plan_json, created_at, finished_at FROM journal_plans \
             WHERE plan_key = ? OR (plan_key > ? AND plan_key < ?) ORDER BY plan_key DESC LIMIT 1",
        )
        .bind(base)
        .bind(from)
        .bind(to)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(plan_row).transpose()
    }

    async fn journal_lease(
        &self,
        key: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Result<(), Lease>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let taken = sqlx::query(
            "INSERT INTO journal_leases (plan_key, holder, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (plan_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE journal_leases.holder = excluded.holder OR journal_leases.expires_at < ?",
        )
        .bind(key)
        .bind(holder)
        .bind(until.as_millisecond())
        .bind(now.as_millisecond())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let current = if taken == 0 {
            let (holder, expires): (String, i64) =
                sqlx::query_as("SELECT holder, expires_at FROM journal_leases WHERE plan_key = ?")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
            Some(Lease {
                holder,
                expires_at: ms(0, expires)?,
            })
        } else {
            None
        };
        tx.commit().await?;
        Ok(current.map_or(Ok(()), Err))
    }

    async fn journal_lease_steal(
        &self,
        key: &str,
        from: &str,
        to: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE journal_leases SET holder = ?, expires_at = ? WHERE plan_key = ? AND holder = ?",
        )
        .bind(to)
        .bind(until.as_millisecond())
        .bind(key)
        .bind(from)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn journal_release(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM journal_leases WHERE plan_key = ? AND holder = ?")
            .bind(key)
            .bind(holder)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn confirmation_put(&self, c: &Confirmation) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "INSERT OR IGNORE INTO confirmations (id, session, plan_json, summary, created_at, expires_at, state, decided_by, decided_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.id)
        .bind(&c.session)
        .bind(&c.plan_json)
        .bind(&c.summary)
        .bind(c.created_at.as_millisecond())
        .bind(c.expires_at.as_millisecond())
        .bind(c.state.as_str())
        .bind(&c.decided_by)
        .bind(c.decided_at.map(Timestamp::as_millisecond))
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn confirmation(&self, id: &str) -> Result<Option<Confirmation>, StoreError> {
        let row: Option<ConfirmationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(confirmation_from).transpose()
    }

    async fn confirmations_pending(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Confirmation>, StoreError> {
        let rows: Vec<ConfirmationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE state = 'pending' AND expires_at > ? \
             ORDER BY created_at DESC LIMIT ?"
        )))
        .bind(now.as_millisecond())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(confirmation_from).collect()
    }

    async fn confirmation_decide(
        &self,
        id: &str,
        state: ConfirmationState,
        by: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE confirmations SET state = ?, decided_by = ?, decided_at = ? \
             WHERE id = ? AND state = 'pending' AND expires_at > ?",
        )
        .bind(state.as_str())
        .bind(by)
        .bind(now.as_millisecond())
        .bind(id)
        .bind(now.as_millisecond())
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn journal_finish(&self, key: &str, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE journal_plans SET finished_at = ? WHERE plan_key = ?")
            .bind(now.as_second())
            .bind(key)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn inbox_append(&self, events: &[InboxEvent]) -> Result<Vec<bool>, StoreError> {
        // Repeats inside the batch are settled here: the first is sent, later ones are
        // duplicates; whether the key was already stored then decides the first ones.
        let mut first = Vec::with_capacity(events.len());
        let mut seen = std::collections::HashSet::with_capacity(events.len());
        let mut batch = Vec::with_capacity(events.len());
        for e in events {
            let is_first = seen.insert((e.service, e.dedup_key.as_str()));
            first.push(is_first);
            if is_first {
                batch.push(e);
            }
        }
        // IMMEDIATE: the keys are read, then written, in one transaction; taking the write
        // lock first keeps another handle on the same file from writing in between.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Keys already swept into the archive (one statement per service and 500 keys).
        let mut archived = std::collections::HashSet::new();
        for service in Service::ALL {
            let keys: Vec<&str> = batch
                .iter()
                .filter(|e| e.service == *service)
                .map(|e| e.dedup_key.as_str())
                .collect();
            for chunk in keys.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                    "SELECT dedup_key FROM inbox_keys WHERE service = ? AND dedup_key IN ({marks})"
                )))
                .bind(service.as_str());
                for k in chunk {
                    q = q.bind(*k);
                }
                for key in q.fetch_all(&mut *tx).await? {
                    archived.insert((*service, key));
                }
            }
        }
        let candidates: Vec<&InboxEvent> = batch
            .into_iter()
            .filter(|e| !archived.contains(&(e.service, e.dedup_key.clone())))
            .collect();
        // The recent table settles the rest: what it reports as inserted is new.
        let mut fresh = std::collections::HashSet::with_capacity(candidates.len());
        for chunk in candidates.chunks(INBOX_MAX_ROWS_PER_STATEMENT) {
            let rows = vec!["(?, ?)"; chunk.len()].join(", ");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT OR IGNORE INTO inbox_keys_recent (service, dedup_key) VALUES {rows} RETURNING service, dedup_key"
            )));
            for e in chunk {
                q = q.bind(e.service.as_str()).bind(&e.dedup_key);
            }
            for row in q.fetch_all(&mut *tx).await? {
                let service: String = row.try_get("service")?;
                let key: String = row.try_get("dedup_key")?;
                fresh.insert((service, key));
            }
        }
        let new: Vec<&InboxEvent> = candidates
            .into_iter()
            .filter(|e| fresh.contains(&(e.service.as_str().to_owned(), e.dedup_key.clone())))
            .collect();
        // Multi-row inserts (about twice as fast as a row at a time for batches of hundreds),
        // in chunks of a power of two rows (at most 512), so a handful of statement shapes,
        // each prepared once per connection and cached, serve every batch size.
        let mut rest = new.as_slice();
        while !rest.is_empty() {
            let take = INBOX_MAX_ROWS_PER_STATEMENT.min(1 << rest.len().ilog2());
            let (chunk, after) = rest.split_at(take);
            rest = after;
            let rows = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO inbox (service, dedup_key, event_type, source, received_at, payload) VALUES {rows}"
            )));
            for e in chunk {
                q = q
                    .bind(e.service.as_str())
                    .bind(&e.dedup_key)
                    .bind(&e.event_type)
                    .bind(e.source.as_str())
                    .bind(e.received_at.as_millisecond())
                    .bind(&e.payload);
            }
            q.execute(&mut *tx).await?;
        }
        let step = {
            let mut sweep = self.sweep.lock().unwrap_or_else(|p| p.into_inner());
            sweep.recent += new.len() as u64;
            (sweep.recent > recent_cap(sweep.archived)).then(|| sweep.after.clone())
        };
        let swept = match step {
            Some(after) => Some(sweep_step(&mut tx, after).await?),
            None => None,
        };
        tx.commit().await?;
        if let Some(swept) = swept {
            let mut sweep = self.sweep.lock().unwrap_or_else(|p| p.into_inner());
            sweep.recent = sweep.recent.saturating_sub(swept.removed);
            sweep.archived += swept.archived;
            sweep.after = swept.after;
        }
        Ok(events
            .iter()
            .zip(first)
            .map(|(e, is_first)| {
                is_first && fresh.contains(&(e.service.as_str().to_owned(), e.dedup_key.clone()))
            })
            .collect())
    }

    async fn inbox_count(&self, service: Option<Service>) -> Result<u64, StoreError> {
        // The key tables hold one row per inbox row, and are far narrower than the inbox.
        let n: i64 = match service {
            Some(s) => {
                sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM inbox_keys WHERE service = ?1) \
                     + (SELECT COUNT(*) FROM inbox_keys_recent WHERE service = ?1)",
                )
                .bind(s.as_str())
                .fetch_one(&self.pool)
                .await?
            }
            None => {
                sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM inbox_keys) \
                     + (SELECT COUNT(*) FROM inbox_keys_recent)",
                )
                .fetch_one(&self.pool)
                .await?
            }
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn inbox_has(&self, service: Service, dedup_key: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM inbox_keys WHERE service = ?1 AND dedup_key = ?2) \
             OR EXISTS (SELECT 1 FROM inbox_keys_recent WHERE service = ?1 AND dedup_key = ?2)",
        )
        .bind(service.as_str())
        .bind(dedup_key)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    async fn inbox_unprocessed(&self, limit: u32) -> Result<Vec<StoredInboxEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, service, dedup_key, event_type, source, received_at, payload FROM inbox WHERE processed_at IS NULL ORDER BY id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let service: String = row.try_get("service")?;
                let source: String = row.try_get("source")?;
                let received: i64 = row.try_get("received_at")?;
                Ok(StoredInboxEvent {
                    id,
                    event: InboxEvent {
                        service: parse(id, "service", &service)?,
                        dedup_key: row.try_get("dedup_key")?,
                        event_type: row.try_get("event_type")?,
                        source: Source::parse(&source).ok_or_else(|| StoreError::Corrupt {
                            id,
                            reason: format!("source {source:?}"),
                        })?,
                        received_at: Timestamp::from_millisecond(received).map_err(|_| {
                            StoreError::Corrupt {
                                id,
                                reason: format!("received_at {received}"),
                            }
                        })?,
                        payload: row.try_get("payload")?,
                    },
                })
            })
            .collect()
    }

    async fn inbox_processed(
        &self,
        ids: &[i64],
        events: &[ErrorEvent],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        insert_events(&mut tx, events).await?;
        // One statement per 500 ids, not one per row: the processor shares the single SQLite
        // writer with the receiver's group commits.
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE inbox SET processed_at = ? WHERE id IN ({marks})"
            )))
            .bind(now.as_millisecond());
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn inbox_prune_payloads(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        // The subquery repeats the partial index's condition word for word, so SQLite reads
        // `inbox_prunable` (only rows still to prune) instead of scanning the inbox.
        Ok(sqlx::query(
            "UPDATE inbox SET payload = '' WHERE id IN (SELECT id FROM inbox \
             WHERE processed_at IS NOT NULL AND payload <> '' AND received_at < ? \
             ORDER BY received_at LIMIT ?)",
        )
        .bind(before.as_millisecond())
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await?
        .rows_affected())
    }

    async fn events_prune(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts_unix < ? \
             ORDER BY ts_unix LIMIT ?)",
        )
        .bind(before.as_second())
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await?
        .rows_affected())
    }

    async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_cursor(&self, name: &str, value: &str, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(now.as_second())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn record_check(&self, c: &CheckRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO checks (job, service, ran_at, status, summary, instance) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.job)
        .bind(c.service.map(|s| s.as_str()))
        .bind(c.ran_at.as_millisecond())
        .bind(&c.status)
        .bind(&c.summary)
        .bind(&c.instance)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn checks(
        &self,
        job: Option<&str>,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<CheckRecord>, StoreError> {
        let rows = match job {
            Some(j) => {
                sqlx::query(
                    "SELECT id, job, service, ran_at, status, summary, instance FROM checks WHERE job = ? AND ran_at >= ? ORDER BY ran_at DESC, id DESC LIMIT ?",
                )
                .bind(j)
                .bind(since.as_millisecond())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT id, job, service, ran_at, status, summary, instance FROM checks WHERE ran_at >= ? ORDER BY ran_at DESC, id DESC LIMIT ?",
                )
                .bind(since.as_millisecond())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(check_row).collect()
    }

    async fn claim_slot(
        &self,
        job: &str,
        slot: i64,
        holder: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT OR IGNORE INTO job_slots (job, slot, holder, claimed_at) VALUES (?, ?, ?, ?)",
        )
        .bind(job)
        .bind(slot)
        .bind(holder)
        .bind(now.as_millisecond())
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn slot_holders(
        &self,
        job: &str,
        since_slot: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT slot, holder FROM job_slots WHERE job = ? AND slot >= ? ORDER BY slot",
        )
        .bind(job)
        .bind(since_slot)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("slot")?, r.try_get("holder")?)))
            .collect()
    }

    async fn alert_observe(&self, a: &AlertRecord) -> Result<AlertChange, StoreError> {
        // IMMEDIATE: the write lock from the start, so two processes cannot both see "quiet".
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let stored: Option<bool> =
            sqlx::query_scalar("SELECT firing FROM alerts WHERE alert_key = ?")
                .bind(&a.key)
                .fetch_optional(&mut *tx)
                .await?;
        let (change, write) = alert_decision(stored, a.firing);
        if write {
            let fired_at = a.fired_at.as_millisecond();
            let now = a.updated_at.as_millisecond();
            sqlx::query(
                "INSERT INTO alerts (alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) \
                 ON CONFLICT (alert_key) DO UPDATE SET rule = excluded.rule, service = excluded.service, severity = excluded.severity, message = excluded.message, firing = excluded.firing, \
                 fired_at = CASE WHEN alerts.firing = 0 AND excluded.firing = 1 THEN excluded.fired_at ELSE alerts.fired_at END, \
                 resolved_at = CASE WHEN alerts.firing = 1 AND excluded.firing = 0 THEN excluded.updated_at WHEN excluded.firing = 1 THEN NULL ELSE alerts.resolved_at END, \
                 updated_at = excluded.updated_at",
            )
            .bind(&a.key)
            .bind(&a.rule)
            .bind(a.service.map(|s| s.as_str()))
            .bind(a.severity.as_str())
            .bind(&a.message)
            .bind(a.firing)
            .bind(fired_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(change)
    }

    async fn alerts(&self, firing_only: bool, limit: u32) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = if firing_only {
            "SELECT alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at FROM alerts WHERE firing = 1 ORDER BY updated_at DESC LIMIT ?"
        } else {
            "SELECT alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at FROM alerts ORDER BY updated_at DESC LIMIT ?"
        };
        let rows = sqlx::query(sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(alert_row).collect()
    }

    async fn journal_forget(&self, key: &str) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM journal_steps WHERE plan_key = ?")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM journal_plans WHERE plan_key = ?")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiops_core::{ActionTaken, Category, EventResult, Severity};

    fn ev(code: &str, id: &str, ts: &str) -> ErrorEvent {
        ErrorEvent {
            timestamp: ts.parse().expect("ts"),
            service: Service::Twilio,
            error_code: code.into(),
            category: Category::Carrier,
            severity: Severity::Warning,
            resource_type: "message".into(),
            resource_id: id.into(),
            context: "ctx".into(),
            action_taken: ActionTaken::None,
            result: EventResult::Failed,
        }
    }

    fn inbox_event(service: Service, key: &str, at_ms: i64) -> InboxEvent {
        InboxEvent {
            service,
            dedup_key: key.into(),
            event_type: "charge.failed".into(),
            source: crate::Source::Webhook,
            received_at: Timestamp::from_millisecond(at_ms).expect("ms"),
            payload: "{}".into(),
        }
    }

    async fn key_tables(store: &SqliteStore) -> (i64, i64) {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM inbox_keys_recent), (SELECT COUNT(*) FROM inbox_keys)",
        )
        .fetch_one(&store.pool)
        .await
        .expect("count")
    }

    #[tokio::test]
    async fn the_sweep_keeps_recent_keys_bounded_and_every_key_a_duplicate() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(&format!("sqlite://{}/sweep.db", dir.path().display()))
            .await
            .expect("open");
        // Pseudo-random keys (a fixed LCG), as provider ids are, in group commits of 512;
        // the same keys for two services (a key is unique per service only).
        let mut x: u64 = 42;
        let mut keys = Vec::new();
        let total = RECENT_KEYS_MIN as usize + 8 * SWEEP_STEP as usize;
        for _ in 0..total {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            keys.push(format!("evt_{:016x}", x));
        }
        for (n, chunk) in keys.chunks(512).enumerate() {
            let batch: Vec<InboxEvent> = chunk
                .iter()
                .map(|k| inbox_event(Service::Stripe, k, n as i64))
                .collect();
            let new = store.inbox_append(&batch).await.expect("append");
            assert!(new.iter().all(|n| *n), "fresh keys are new");
        }
        let (recent, archived) = key_tables(&store).await;
        assert_eq!(
            recent + archived,
            total as i64,
            "every key in exactly one table"
        );
        assert!(
            recent as u64 <= RECENT_KEYS_MIN + 512,
            "the recent table stays near its cap: {recent}"
        );
        assert!(archived as u64 >= 7 * SWEEP_STEP, "swept: {archived}");
        assert_eq!(store.inbox_count(None).await.expect("count"), total as u64);
        assert_eq!(
            store
                .inbox_count(Some(Service::Twilio))
                .await
                .expect("count"),
            0
        );
        // Every key is a duplicate, wherever it is now; one batch mixes archived, recent and
        // new keys, repeats, and another service's key of the same spelling.
        let mut mixed: Vec<InboxEvent> = keys
            .iter()
            .step_by(97)
            .map(|k| inbox_event(Service::Stripe, k, 0))
            .collect();
        let old = mixed.len();
        mixed.push(inbox_event(Service::Stripe, "evt_brand_new", 0));
        mixed.push(inbox_event(Service::Stripe, "evt_brand_new", 0));
        mixed.push(inbox_event(Service::Twilio, &keys[0], 0));
        let new = store.inbox_append(&mixed).await.expect("append");
        assert!(new[..old].iter().all(|n| !n), "stored keys are duplicates");
        assert_eq!(new[old..], [true, false, true]);
        for k in keys.iter().step_by(1009) {
            assert!(
                store.inbox_has(Service::Stripe, k).await.expect("has"),
                "{k}"
            );
        }
        assert!(
            !store
                .inbox_has(Service::Twilio, &keys[1])
                .await
                .expect("has")
        );
        // A reopened store counts the tables again and goes on sweeping where they are.
        drop(store);
        let store = SqliteStore::open(&format!("sqlite://{}/sweep.db", dir.path().display()))
            .await
            .expect("reopen");
        let (recent, archived) = key_tables(&store).await;
        let seen = store.sweep.lock().expect("sweep").recent;
        assert_eq!(seen, recent as u64);
        assert_eq!(store.sweep.lock().expect("sweep").archived, archived as u64);
    }

    #[tokio::test]
    async fn migration_8_moves_the_keys_out_and_keeps_ids_rows_and_duplicates() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/old.db", dir.path().display());
        // A store as version 7 left it: the inbox with its UNIQUE (service, dedup_key).
        {
            let options = SqliteConnectOptions::from_str(&url)
                .expect("url")
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .expect("connect");
            let mut seven = migrator();
            seven.migrations = seven
                .migrations
                .iter()
                .take(7)
                .cloned()
                .collect::<Vec<_>>()
                .into();
            seven.run(&pool).await.expect("migrations 1-7");
            for (id, key, processed) in [(3, "evt_a", Some(5)), (9, "evt_b", None)] {
                sqlx::query(
                    "INSERT INTO inbox (id, service, dedup_key, event_type, source, received_at, payload, processed_at) \
                     VALUES (?, 'stripe', ?, 'charge.failed', 'webhook', 1, '{}', ?)",
                )
                .bind(id)
                .bind(key)
                .bind(processed)
                .execute(&pool)
                .await
                .expect("old row");
            }
            pool.close().await;
        }
        let store = SqliteStore::open(&url).await.expect("open runs 0008");
        let rows = store.inbox_unprocessed(10).await.expect("unprocessed");
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].id, rows[0].event.dedup_key.as_str()), (9, "evt_b"));
        assert_eq!(
            key_tables(&store).await,
            (0, 2),
            "old keys go to the archive"
        );
        let new = store
            .inbox_append(&[
                inbox_event(Service::Stripe, "evt_a", 2),
                inbox_event(Service::Stripe, "evt_b", 2),
                inbox_event(Service::Stripe, "evt_c", 2),
            ])
            .await
            .expect("append");
        assert_eq!(
            new,
            [false, false, true],
            "stored before the migration: duplicates"
        );
        let rows = store.inbox_unprocessed(10).await.expect("unprocessed");
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], 9);
        assert!(
            ids[1] > 9,
            "ids keep counting from the old sequence: {ids:?}"
        );
        assert_eq!(store.inbox_count(None).await.expect("count"), 3);
    }

    #[tokio::test]
    async fn appends_dedups_and_reads_back_across_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/nested/dir/apiops.db", dir.path().display());
        let store = SqliteStore::open(&url).await.expect("open");
        let a = ev("30003", "SM1", "2026-11-25T10:00:00Z");
        let b = ev("30007", "SM2", "2026-11-25T11:00:00Z");
        assert_eq!(
            store
                .append_events(&[a.clone(), b.clone()])
                .await
                .expect("append"),
            2
        );
        assert_eq!(
            store
                .append_events(std::slice::from_ref(&a))
                .await
                .expect("append"),
            0,
            "duplicate skipped"
        );
        drop(store);
        let store = SqliteStore::open(&url).await.expect("reopen");
        assert_eq!(store.event_count().await.expect("count"), 2);
        let all = store.events(&EventFilter::default()).await.expect("read");
        assert_eq!(all, vec![a.clone(), b.clone()]);
        let recent = store
            .events(&EventFilter {
                since: Some("2026-11-25T10:30:00Z".parse().expect("ts")),
                ..Default::default()
            })
            .await
            .expect("read");
        assert_eq!(recent, vec![b.clone()]);
        let none = store
            .events(&EventFilter {
                services: vec![Service::Stripe],
                ..Default::default()
            })
            .await
            .expect("read");
        assert!(none.is_empty());
        let last = store
            .events(&EventFilter {
                limit: Some(1),
                ..Default::default()
            })
            .await
            .expect("read");
        assert_eq!(last, vec![b]);
    }

    #[tokio::test]
    async fn the_journal_keeps_the_first_plan_and_step_states_across_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/j.db", dir.path().display());
        let t0: Timestamp = "2026-11-26T10:00:00Z".parse().expect("ts");
        let store = SqliteStore::open(&url).await.expect("open");
        assert_eq!(store.journaled_plan("k1").await.expect("read"), None);
        let first = store
            .journal_plan("k1", "{\"a\":1}", t0)
            .await
            .expect("plan");
        let again = store
            .journal_plan("k1", "{\"a\":2}", t0 + jiff::SignedDuration::from_secs(5))
            .await
            .expect("plan");
        assert_eq!(again, first, "the first writer wins");
        assert_eq!(first.plan_json, "{\"a\":1}");
        store
            .journal_step("k1", 0, StepStatus::Started, "{}", &[], t0)
            .await
            .expect("step");
        store
            .journal_step("k1", 0, StepStatus::Done, "{\"sid\":\"PN1\"}", &[], t0)
            .await
            .expect("step");
        store
            .journal_step("k1", 1, StepStatus::Started, "{}", &[], t0)
            .await
            .expect("step");
        drop(store);
        let store = SqliteStore::open(&url).await.expect("reopen");
        let steps = store.journal_steps("k1").await.expect("steps");
        let states: Vec<(u32, StepStatus, &str)> = steps
            .iter()
            .map(|s| (s.step, s.status, s.detail.as_str()))
            .collect();
        assert_eq!(
            states,
            vec![
                (0, StepStatus::Done, "{\"sid\":\"PN1\"}"),
                (1, StepStatus::Started, "{}")
            ]
        );
        store.journal_finish("k1", t0).await.expect("finish");
        let plan = store
            .journaled_plan("k1")
            .await
            .expect("read")
            .expect("plan");
        assert_eq!(plan.finished_at, Some(t0));
        store.journal_forget("k1").await.expect("forget");
        assert_eq!(store.journaled_plan("k1").await.expect("read"), None);
        assert!(store.journal_steps("k1").await.expect("steps").is_empty());
    }

    #[tokio::test]
    async fn bad_urls_are_clear_errors() {
        assert!(matches!(
            crate::open("mysql://x").await,
            Err(StoreError::Url(_))
        ));
        // A PostgreSQL URL that does not parse: named, password masked.
        match crate::open("postgres://apiops:canary_pw_0123456789@127.0.0.1:notaport/db").await {
            Err(StoreError::Url(m)) => assert!(!m.contains("canary_pw"), "{m}"),
            Err(e) => panic!("wanted a URL error, got {e}"),
            Ok(_) => panic!("wanted a URL error"),
        }
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").expect("write");
        // A path whose parent is a file cannot be created.
        let url = format!("sqlite://{}/db.sqlite", file.display());
        assert!(SqliteStore::open(&url).await.is_err());
    }
}
