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
//!
//! Layout: this file opens the file (migrations, pragmas, the writer and the checkpointer);
//! the statements are grouped by table, one file each, and [`crate::Store`] forwards to them
//! (`crate::backend`): `events` (the event log), `inbox` (the webhook inbox, its key sweep,
//! the pollers' cursors), `monitor` (the alerts); `tests` beyond the conformance suite. The
//! journal (plans, steps, leases), confirmations, partial scans and the monitor's checks and
//! slots are the statements both backends share (`crate::shared`), through `impl Backend`
//! below.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Weak};

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;

mod events;
mod inbox;
mod monitor;
#[cfg(test)]
mod tests;

use crate::shared::{confirmations, journal, scans};

use inbox::Sweep;

crate::backend::store_by_table_group!(SqliteStore);

fn migrator() -> Migrator {
    crate::shared::migrator(&[
        (
            1,
            "events",
            include_str!("../../migrations/sqlite/0001_events.sql"),
        ),
        (
            2,
            "journal",
            include_str!("../../migrations/sqlite/0002_journal.sql"),
        ),
        (
            3,
            "inbox",
            include_str!("../../migrations/sqlite/0003_inbox.sql"),
        ),
        (
            4,
            "monitor",
            include_str!("../../migrations/sqlite/0004_monitor.sql"),
        ),
        (
            5,
            "trust",
            include_str!("../../migrations/sqlite/0005_trust.sql"),
        ),
        (
            6,
            "retention",
            include_str!("../../migrations/sqlite/0006_retention.sql"),
        ),
        (
            7,
            "event_keys_time_first",
            include_str!("../../migrations/sqlite/0007_event_keys_time_first.sql"),
        ),
        (
            8,
            "inbox_keys",
            include_str!("../../migrations/sqlite/0008_inbox_keys.sql"),
        ),
        (
            9,
            "partial_scans",
            include_str!("../../migrations/sqlite/0009_partial_scans.sql"),
        ),
    ])
}

/// Whether SQLite answered `SQLITE_BUSY` (or one of its extended forms).
fn is_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    e.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

/// Applies the migrations, one process at a time. sqlx's SQLite migrator takes no lock: two
/// processes opening a new file at once would both read "migration 8 not applied" and both run
/// it, and the second fails ("table inbox_keys already exists"; seen in a loaded test run). So
/// the migrations run under an exclusive advisory lock on a file beside the database
/// (`<file>.migrate.lock`): the second process waits, then finds every migration applied. The
/// lock is not taken on the database file itself: closing another descriptor of that file would
/// drop SQLite's own POSIX locks. In-memory databases are private to their connection and need
/// none. The retries below remain for a file shared with a process that does not take the lock
/// (an older apiops).
async fn migrate(pool: &SqlitePool, file: Option<&Path>) -> Result<(), StoreError> {
    let _lock = match file {
        Some(file) => Some(migration_lock(file).await?),
        None => None,
    };
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

/// Takes the exclusive lock beside `file` (waiting for another process to release it); it is
/// released when the returned handle is dropped (or the process exits).
async fn migration_lock(file: &Path) -> Result<std::fs::File, StoreError> {
    let mut name = file.as_os_str().to_owned();
    name.push(".migrate.lock");
    let path = PathBuf::from(name);
    tokio::task::spawn_blocking(move || {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        lock.lock()?;
        Ok::<_, std::io::Error>(lock)
    })
    .await
    .map_err(|e| StoreError::Database(format!("locking for migrations: {e}")))?
    .map_err(|e| StoreError::Database(format!("locking for migrations: {e}")))
}

crate::shared::conn_for!(
    sqlx::Sqlite,
    sqlx::SqliteConnection,
    sqlx::sqlite::SqliteRow
);

impl crate::shared::Backend for SqliteStore {
    type Db = sqlx::Sqlite;

    fn readers(&self) -> &SqlitePool {
        &self.pool
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// SQLite text holds any string.
    fn storable<'a>(
        _what: &str,
        _values: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// SQLite compares text by bytes already (`BINARY`).
    const BYTE_ORDER: &'static str = "";
    /// Every write queues for the one writer connection.
    const LOCK_PARTIAL_SCANS: Option<&'static str> = None;
    /// Every write queues for the one writer connection.
    const SKIP_LOCKED: &'static str = "";
    /// A read transaction in WAL mode is a snapshot.
    const SNAPSHOT: Option<&'static str> = None;

    async fn insert_events(
        conn: &mut sqlx::SqliteConnection,
        events: &[apiops_core::ErrorEvent],
    ) -> Result<u64, StoreError> {
        events::insert_events(conn, events).await
    }
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
        migrate(&pool, (!in_memory).then_some(file.as_path())).await?;
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
