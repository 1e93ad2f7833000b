//! The statements both backends run alike, written once against [`Backend`] and [`Conn`].
//!
//! A group of tables whose SQL and row mapping are the same in SQLite and PostgreSQL lives
//! here, one file each: `journal` (plans, steps, leases), `confirmations`, `scans` (the
//! partial error scan), `monitor` (checks and job slots; the alerts differ and stay in the
//! backends) and `inbox` (reading unprocessed events, pruning payloads, the cursors; appending
//! and marking differ). Placeholders are written `$N`, which both databases read.
//!
//! What differs between the backends is asked of [`Backend`]: which pool reads and which
//! writes, which text the database cannot store, how text is ordered by bytes, how events are
//! inserted, and the extra statements PostgreSQL needs to make a transaction exclusive or a
//! snapshot (SQLite has one writer, and a read transaction in WAL is a snapshot already).

use std::future::Future;

use apiops_core::ErrorEvent;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Database, Pool, SqlSafeStr, SqlStr};

use crate::StoreError;

/// A migrator of `migrations` (version, name, SQL), each a simple (not reversible) one.
pub(crate) fn migrator(migrations: &[(i64, &str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, name, sql)| {
                Migration::new(
                    version,
                    name.to_owned().into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(crate) mod confirmations;
pub(crate) mod inbox;
pub(crate) mod journal;
pub(crate) mod monitor;
pub(crate) mod scans;

/// One bound value of a statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v)
    }
}

/// A row read back, by column name.
pub(crate) trait Cols {
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn flag(&self, col: &str) -> Result<bool, StoreError>;
}

/// A connection (or a transaction, through its connection) that runs a statement: constant
/// text (`"...".into_sql_str()`, or `AssertSqlSafe` on text built from constants only) with
/// every value bound.
pub(crate) trait Conn: Send {
    type Row: Cols + Send;

    /// Runs `sql`; how many rows it changed.
    fn run(
        &mut self,
        sql: SqlStr,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The first row `sql` returns, if any.
    fn row(
        &mut self,
        sql: SqlStr,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<Option<Self::Row>, StoreError>> + Send;

    /// Every row `sql` returns.
    fn rows(
        &mut self,
        sql: SqlStr,
        args: &[Arg<'_>],
    ) -> impl Future<Output = Result<Vec<Self::Row>, StoreError>> + Send;
}

/// What the shared statements ask of a backend.
pub(crate) trait Backend: Sync {
    type Db: Database<Connection: Conn>;

    /// Where reads go.
    fn readers(&self) -> &Pool<Self::Db>;

    /// Where writes go: the same pool unless the backend has a writer of its own.
    fn writer(&self) -> &Pool<Self::Db> {
        self.readers()
    }

    /// Refuses text this database cannot store, naming `what` it was.
    fn storable<'a>(
        what: &str,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError>;

    /// What follows a text column to order it by bytes.
    const BYTE_ORDER: &'static str;

    /// The statement that begins a writer's exclusive hold on `partial_scans`, if a write
    /// transaction alone is not one.
    const LOCK_PARTIAL_SCANS: Option<&'static str>;

    /// What ends a subquery that picks rows to update, so that rows another writer holds are
    /// skipped rather than waited for ("" where there is one writer).
    const SKIP_LOCKED: &'static str;

    /// The statement that makes a read transaction one snapshot, if it is not already.
    const SNAPSHOT: Option<&'static str>;

    /// Inserts events on `conn` (inside the caller's transaction), skipping duplicates;
    /// returns how many were new.
    fn insert_events(
        conn: &mut <Self::Db as Database>::Connection,
        events: &[ErrorEvent],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// A row as `B` reads it back.
pub(crate) type RowOf<B> = <<<B as Backend>::Db as Database>::Connection as Conn>::Row;

/// Runs `sql` on `store`'s writer; how many rows it changed.
pub(crate) async fn write<B: Backend>(
    store: &B,
    sql: SqlStr,
    args: &[Arg<'_>],
) -> Result<u64, StoreError> {
    store.writer().acquire().await?.run(sql, args).await
}

/// The first row `sql` returns from `store`'s readers, if any.
pub(crate) async fn read_row<B: Backend>(
    store: &B,
    sql: SqlStr,
    args: &[Arg<'_>],
) -> Result<Option<RowOf<B>>, StoreError> {
    store.readers().acquire().await?.row(sql, args).await
}

/// Every row `sql` returns from `store`'s readers.
pub(crate) async fn read_rows<B: Backend>(
    store: &B,
    sql: SqlStr,
    args: &[Arg<'_>],
) -> Result<Vec<RowOf<B>>, StoreError> {
    store.readers().acquire().await?.rows(sql, args).await
}

/// Implements [`Conn`] for a backend's connection and [`Cols`] for its row.
macro_rules! conn_for {
    ($db:ty, $conn:ty, $row:ty) => {
        impl $crate::shared::Conn for $conn {
            type Row = $row;

            async fn run(
                &mut self,
                sql: sqlx::SqlStr,
                args: &[$crate::shared::Arg<'_>],
            ) -> Result<u64, $crate::StoreError> {
                let q = bound(sqlx::query(sql), args);
                Ok(q.execute(self).await?.rows_affected())
            }

            async fn row(
                &mut self,
                sql: sqlx::SqlStr,
                args: &[$crate::shared::Arg<'_>],
            ) -> Result<Option<Self::Row>, $crate::StoreError> {
                Ok(bound(sqlx::query(sql), args).fetch_optional(self).await?)
            }

            async fn rows(
                &mut self,
                sql: sqlx::SqlStr,
                args: &[$crate::shared::Arg<'_>],
            ) -> Result<Vec<Self::Row>, $crate::StoreError> {
                Ok(bound(sqlx::query(sql), args).fetch_all(self).await?)
            }
        }

        fn bound<'q>(
            mut q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            args: &[$crate::shared::Arg<'_>],
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            use $crate::shared::Arg;
            for arg in args {
                q = match *arg {
                    Arg::Int(v) => q.bind(v),
                    Arg::OptInt(v) => q.bind(v),
                    Arg::Text(v) => q.bind(v),
                    Arg::OptText(v) => q.bind(v),
                };
            }
            q
        }

        impl $crate::shared::Cols for $row {
            fn int(&self, col: &str) -> Result<i64, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }

            fn opt_int(&self, col: &str) -> Result<Option<i64>, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }

            fn text(&self, col: &str) -> Result<String, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }

            fn opt_text(&self, col: &str) -> Result<Option<String>, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }

            fn flag(&self, col: &str) -> Result<bool, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
        }
    };
}

pub(crate) use conn_for;
