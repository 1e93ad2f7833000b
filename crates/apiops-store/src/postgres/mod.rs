//! The PostgreSQL backend, for several instances sharing the work: the same tables, columns,
//! stored forms and semantics as [`crate::sqlite`], embedded migrations (serialized across
//! instances by sqlx's advisory lock).
//!
//! Durability: every write commits with `synchronous_commit` at least `on` (a session that
//! would start with it `off` has it turned back on), so a call that returned `Ok` survives a
//! server crash.
//!
//! Batches are one statement each: events and inbox rows are inserted with
//! `INSERT ... SELECT FROM UNNEST(arrays) ... ON CONFLICT DO NOTHING`, so a group commit of
//! hundreds of events is one round trip and duplicates (stored ones and repeats inside the
//! batch) are skipped. Rows get ascending ids in batch order but are inserted in key order, so
//! concurrent batches that share events cannot deadlock.
//!
//! Ids are ascending in insertion order within a batch; across concurrent transactions they
//! are ascending in the order the rows were inserted, which need not be commit order, so a row
//! with a smaller id may become visible after one with a larger id (it is still returned by
//! [`crate::Store::inbox_unprocessed`] once committed, as that reads every unprocessed row).
//!
//! TLS (rustls), as the URL's `sslmode` asks, with libpq's meanings: `disable` (plain),
//! `prefer` (the default: TLS when the server offers it, unverified, else plain), `require`
//! (TLS, certificate unverified), `verify-ca` (the certificate must chain to a trusted root)
//! and `verify-full` (and name the host connected to). Trusted roots are the Mozilla set plus
//! the CA file `sslrootcert=PATH` names (a managed database's own CA).
//!
//! Every session runs with a `statement_timeout` ([`STATEMENT_TIMEOUT`] unless the URL's
//! `options` set one), so a stuck statement fails instead of holding a webhook commit forever.
//!
//! Layout: this file connects (TLS, timeouts, durable commits, migrations); `masking` shows
//! database URLs without their passwords; the statements are grouped by table as in
//! [`crate::sqlite`] and [`crate::Store`] forwards to them (`crate::backend`): `events`,
//! `inbox` (with the pollers' cursors), `monitor` (the alerts); `tests` beyond the conformance
//! suite. The journal, confirmations, partial scans and the monitor's checks and slots are
//! the statements both backends share (`crate::shared`), through `impl Backend` below.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgConnection, PgPool};

use crate::StoreError;

mod events;
mod inbox;
mod masking;
mod monitor;
#[cfg(test)]
mod tests;

use masking::scrub;

use crate::shared::{confirmations, journal, scans};
pub use masking::{UNPARSEABLE_URL, shown_url, url_passwords};

crate::backend::store_by_table_group!(PostgresStore);

/// How many connections one store keeps at most.
const MAX_CONNECTIONS: u32 = 8;

/// How long a query waits for a free (or new) connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `statement_timeout` every session gets unless the connect options set their own
/// (`?options=-c%20statement_timeout%3D30s`, or [`PgConnectOptions::options`]): long enough
/// for any statement of ours, short enough that a stuck one fails and the provider retries.
pub const STATEMENT_TIMEOUT: &str = "10s";

fn migrator() -> Migrator {
    crate::shared::migrator(&[
        (
            1,
            "events",
            include_str!("../../migrations/postgres/0001_events.sql"),
        ),
        (
            2,
            "journal",
            include_str!("../../migrations/postgres/0002_journal.sql"),
        ),
        (
            3,
            "inbox",
            include_str!("../../migrations/postgres/0003_inbox.sql"),
        ),
        (
            4,
            "monitor",
            include_str!("../../migrations/postgres/0004_monitor.sql"),
        ),
        (
            5,
            "trust",
            include_str!("../../migrations/postgres/0005_trust.sql"),
        ),
        (
            6,
            "retention",
            include_str!("../../migrations/postgres/0006_retention.sql"),
        ),
        (
            7,
            "event_keys_time_first",
            include_str!("../../migrations/postgres/0007_event_keys_time_first.sql"),
        ),
        (
            8,
            "partial_scans",
            include_str!("../../migrations/postgres/0008_partial_scans.sql"),
        ),
    ])
}

/// Turns `synchronous_commit` back on for a session that would start with it off (set so by
/// the server, database or role); stronger settings (`remote_write`, `remote_apply`) and
/// `local` are kept as they are.
const DURABLE_COMMITS: &str = "SELECT set_config('synchronous_commit', 'on', false) \
     WHERE current_setting('synchronous_commit') = 'off'";

/// An event store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://` or `postgresql://`) and applies
    /// migrations. Errors show the URL with its password masked and never the password.
    ///
    /// The URL may select a schema with `?options=-c%20search_path%3DNAME` (the schema must
    /// exist); the tables are created in the first schema of the search path. TLS follows
    /// `sslmode` and `sslrootcert=PATH` (see the module documentation); the statement timeout,
    /// [`STATEMENT_TIMEOUT`] by default, may be set with `options=-c%20statement_timeout%3D30s`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let secrets = url_passwords(url);
        let shown = shown_url(url);
        let hide = |e: StoreError| match e {
            StoreError::Url(m) => StoreError::Url(scrub(&format!("{shown}: {m}"), &secrets)),
            StoreError::Database(m) => {
                StoreError::Database(scrub(&format!("{shown}: {m}"), &secrets))
            }
            other => other,
        };
        if url::Url::parse(url).is_ok_and(|u| u.cannot_be_a_base()) {
            return Err(hide(StoreError::Url(
                "expected postgres://USER:PASSWORD@HOST:PORT/DB".into(),
            )));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))
            .map_err(hide)?;
        Self::connect_with(options).await.map_err(hide)
    }

    /// Connects with ready-made options and applies migrations. Sessions get a
    /// `statement_timeout` of [`STATEMENT_TIMEOUT`] unless `options` set one.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let options = with_statement_timeout(options);
        // One direct connection first: a refused connection, a wrong password, a missing
        // database or a failed TLS handshake is reported at once and as itself (the pool would
        // retry a refused connection until its timeout and then report only the timeout).
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(|e| connect_error(&options, &e))?;
        // Migrations may wait for another instance's (advisory lock) and may rewrite a large
        // table: not bounded by the sessions' statement timeout.
        sqlx::query("SET statement_timeout = 0")
            .execute(&mut conn)
            .await
            .map_err(|e| StoreError::Database(format!("migrating: {e}")))?;
        migrator()
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Database(format!("migrating: {e}")))?;
        conn.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::query(DURABLE_COMMITS).execute(conn).await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(PostgresStore { pool })
    }
}

/// `options` with [`STATEMENT_TIMEOUT`] added unless they already set a statement timeout.
fn with_statement_timeout(options: PgConnectOptions) -> PgConnectOptions {
    if options
        .get_options()
        .is_some_and(|o| o.contains("statement_timeout"))
    {
        options
    } else {
        options.options([("statement_timeout", STATEMENT_TIMEOUT)])
    }
}

/// Why the first connection failed; a TLS failure says which `sslmode` asked for it and what
/// to check (the server's certificate, the CA file, the host name).
fn connect_error(options: &PgConnectOptions, e: &sqlx::Error) -> StoreError {
    let mode = match options.get_ssl_mode() {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    };
    // A failed handshake comes as `Tls`, or as the I/O error rustls reports it through.
    let tls: Option<String> = match e {
        sqlx::Error::Tls(inner) => Some(inner.to_string()),
        sqlx::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .map(ToString::to_string),
        _ => None,
    };
    match tls {
        Some(why) => StoreError::Database(format!(
            "connecting over TLS (sslmode={mode}): {why}; check that the server's certificate \
             is signed by the CA in sslrootcert (or a public one) and, for verify-full, is for \
             the host in the URL"
        )),
        None => StoreError::Database(format!("connecting: {e}")),
    }
}

crate::shared::conn_for!(sqlx::Postgres, sqlx::PgConnection, sqlx::postgres::PgRow);

impl crate::shared::Backend for PostgresStore {
    type Db = sqlx::Postgres;

    fn readers(&self) -> &PgPool {
        &self.pool
    }

    fn storable<'a>(
        what: &str,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        no_nul(what, values)
    }

    /// The database's collation may not order by bytes; `C` does.
    const BYTE_ORDER: &'static str = "COLLATE \"C\"";
    const LOCK_PARTIAL_SCANS: Option<&'static str> =
        Some("LOCK TABLE partial_scans IN EXCLUSIVE MODE");
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const SNAPSHOT: Option<&'static str> = Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");

    async fn insert_events(
        conn: &mut PgConnection,
        events: &[apiops_core::ErrorEvent],
    ) -> Result<u64, StoreError> {
        events::insert_events(conn, events).await
    }
}

/// PostgreSQL `TEXT` cannot hold U+0000; refuse it with a clear error before any write.
fn no_nul<'a>(what: &str, values: impl IntoIterator<Item = &'a str>) -> Result<(), StoreError> {
    if values.into_iter().any(|v| v.contains('\0')) {
        return Err(StoreError::Database(format!(
            "{what} contains a NUL character, which PostgreSQL text cannot store"
        )));
    }
    Ok(())
}
