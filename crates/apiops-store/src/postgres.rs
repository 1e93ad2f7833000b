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
//! [`Store::inbox_unprocessed`] once committed, as that reads every unprocessed row).
//!
//! TLS (rustls), as the URL's `sslmode` asks, with libpq's meanings: `disable` (plain),
//! `prefer` (the default: TLS when the server offers it, unverified, else plain), `require`
//! (TLS, certificate unverified), `verify-ca` (the certificate must chain to a trusted root)
//! and `verify-full` (and name the host connected to). Trusted roots are the Mozilla set plus
//! the CA file `sslrootcert=PATH` names (a managed database's own CA).
//!
//! Every session runs with a `statement_timeout` ([`STATEMENT_TIMEOUT`] unless the URL's
//! `options` set one), so a stuck statement fails instead of holding a webhook commit forever.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use apiops_core::{ErrorEvent, Service};
use jiff::Timestamp;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow, PgSslMode};
use sqlx::{Connection, PgConnection, PgPool, Row, SqlSafeStr};

use crate::{
    CONFIRMATION_COLUMNS, Confirmation, ConfirmationRow, ConfirmationState, EventFilter,
    InboxEvent, JournalPlan, JournalStep, Lease, Source, StepStatus, Store, StoreError,
    StoredInboxEvent, confirmation_from, dedup_key, later_runs, parse_field, timestamp,
};

/// How many connections one store keeps at most.
const MAX_CONNECTIONS: u32 = 8;

/// How long a query waits for a free (or new) connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `statement_timeout` every session gets unless the connect options set their own
/// (`?options=-c%20statement_timeout%3D30s`, or [`PgConnectOptions::options`]): long enough
/// for any statement of ours, short enough that a stuck one fails and the provider retries.
pub const STATEMENT_TIMEOUT: &str = "10s";

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
            include_str!("../migrations/postgres/0001_events.sql"),
        ),
        migration(
            2,
            "journal",
            include_str!("../migrations/postgres/0002_journal.sql"),
        ),
        migration(
            3,
            "inbox",
            include_str!("../migrations/postgres/0003_inbox.sql"),
        ),
        migration(
            4,
            "monitor",
            include_str!("../migrations/postgres/0004_monitor.sql"),
        ),
        migration(
            5,
            "trust",
            include_str!("../migrations/postgres/0005_trust.sql"),
        ),
        migration(
            6,
            "retention",
            include_str!("../migrations/postgres/0006_retention.sql"),
        ),
        migration(
            7,
            "event_keys_time_first",
            include_str!("../migrations/postgres/0007_event_keys_time_first.sql"),
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

/// The URL with any password masked (in the user part and in any `password` parameter); a
/// URL that does not parse is not shown at all ([`UNPARSEABLE_URL`] instead), as it may hold a
/// password where it cannot be found. A URL without a password is shown as written.
pub fn shown_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return UNPARSEABLE_URL.to_owned();
    };
    if parsed.cannot_be_a_base() {
        // `sqlite::memory:` and the like hold no password; any other such "URL" (say
        // `postgres:user:pw@host`) might hold one where it cannot be found.
        return if parsed.scheme() == "sqlite" {
            url.to_owned()
        } else {
            UNPARSEABLE_URL.to_owned()
        };
    }
    let in_user = parsed.password().is_some();
    let in_query = query_segments(&parsed).any(|(k, _)| is_password_key(&k));
    if !in_user && !in_query {
        return url.to_owned();
    }
    if let Some(password) = parsed
        .password()
        .map(|p| apiops_core::mask(&percent_decode(p)))
        && parsed.set_password(Some(&password)).is_err()
    {
        return UNPARSEABLE_URL.to_owned();
    }
    if in_query {
        // Rebuilt segment by segment: only the password values change, the rest stays as
        // written.
        let query: Vec<String> = parsed
            .query()
            .unwrap_or_default()
            .split('&')
            .map(|segment| match segment.split_once('=') {
                Some((k, v)) if is_password_key(&form_decode(k)) => {
                    let masked = apiops_core::mask(&form_decode(v));
                    let masked: String =
                        url::form_urlencoded::byte_serialize(masked.as_bytes()).collect();
                    format!("{k}={masked}")
                }
                _ => segment.to_owned(),
            })
            .collect();
        parsed.set_query(Some(&query.join("&")));
    }
    parsed.to_string()
}

/// What [`shown_url`] shows of a URL that does not parse.
pub const UNPARSEABLE_URL: &str = "<unparseable database URL>";

/// Whether a query parameter holds a password (`password`, `sslpassword`, in any case).
fn is_password_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

/// The query's `key=value` segments, each as (decoded key, value as written).
fn query_segments(url: &url::Url) -> impl Iterator<Item = (String, &str)> {
    url.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|segment| segment.split_once('='))
        .map(|(k, v)| (form_decode(k), v))
}

/// A query component decoded (`+` is a space, then `%XX` escapes).
fn form_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// Every form a password in `url` may take (as written, percent-decoded), longest first: the
/// needles `scrub` masks in messages. Of a URL that does not parse, whatever follows the
/// user name and any `password=` value, as a best effort.
pub fn url_passwords(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    match url::Url::parse(url) {
        Ok(parsed) if !parsed.cannot_be_a_base() => {
            if let Some(p) = parsed.password() {
                out.push(p.to_owned());
                out.push(percent_decode(p));
            }
            for (k, v) in query_segments(&parsed) {
                if is_password_key(&k) {
                    out.push(v.to_owned());
                    out.push(form_decode(v));
                }
            }
        }
        _ => {
            // Unparseable, but it may still carry a password: hide whatever follows the user.
            let rest = match url.split_once("://") {
                Some((_, rest)) => rest,
                None => url.split_once(':').map_or(url, |(_, rest)| rest),
            };
            if let Some((userinfo, _)) = rest.rsplit_once('@')
                && let Some((_, p)) = userinfo.split_once(':')
            {
                out.push(p.to_owned());
            }
            for segment in url.split(['?', '&']) {
                if let Some((k, v)) = segment.split_once('=')
                    && is_password_key(k)
                {
                    out.push(v.to_owned());
                }
            }
        }
    }
    out.retain(|p| !p.is_empty());
    out.sort();
    out.dedup();
    out.sort_by_key(|p| std::cmp::Reverse(p.len()));
    out
}

/// `%XX` escapes decoded (invalid escapes and invalid UTF-8 kept as they are, lossily).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            // Two hex digits: at most 255.
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `message` with every occurrence of a secret masked.
fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_owned();
    for s in secrets {
        out = out.replace(s.as_str(), &apiops_core::mask(s));
    }
    out
}

fn check_row(row: &PgRow) -> Result<crate::CheckRecord, StoreError> {
    let id: i64 = row.try_get("id")?;
    let service: Option<String> = row.try_get("service")?;
    Ok(crate::CheckRecord {
        job: row.try_get("job")?,
        service: service
            .map(|s| crate::parse_field(id, "service", &s))
            .transpose()?,
        ran_at: crate::ms(id, row.try_get("ran_at")?)?,
        status: row.try_get("status")?,
        summary: row.try_get("summary")?,
        instance: row.try_get("instance")?,
    })
}

fn alert_row(row: &PgRow) -> Result<crate::AlertRecord, StoreError> {
    let service: Option<String> = row.try_get("service")?;
    let severity: String = row.try_get("severity")?;
    let resolved: Option<i64> = row.try_get("resolved_at")?;
    Ok(crate::AlertRecord {
        key: row.try_get("alert_key")?,
        rule: row.try_get("rule")?,
        service: service
            .map(|s| crate::parse_field(0, "service", &s))
            .transpose()?,
        severity: crate::parse_field(0, "severity", &severity)?,
        message: row.try_get("message")?,
        firing: row.try_get("firing")?,
        fired_at: crate::ms(0, row.try_get("fired_at")?)?,
        resolved_at: resolved.map(|r| crate::ms(0, r)).transpose()?,
        updated_at: crate::ms(0, row.try_get("updated_at")?)?,
    })
}

fn plan_row(row: &PgRow) -> Result<JournalPlan, StoreError> {
    let created: i64 = row.try_get("created_at")?;
    let finished: Option<i64> = row.try_get("finished_at")?;
    Ok(JournalPlan {
        key: row.try_get("plan_key")?,
        plan_json: row.try_get("plan_json")?,
        created_at: timestamp(0, created)?,
        finished_at: finished.map(|f| timestamp(0, f)).transpose()?,
    })
}

fn event_row(row: &PgRow) -> Result<ErrorEvent, StoreError> {
    let id: i64 = row.try_get("id")?;
    let text = |name: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(name)?) };
    Ok(ErrorEvent {
        timestamp: parse_field(id, "timestamp", &text("timestamp")?)?,
        service: parse_field::<Service>(id, "service", &text("service")?)?,
        error_code: text("error_code")?,
        category: parse_field(id, "category", &text("category")?)?,
        severity: parse_field(id, "severity", &text("severity")?)?,
        resource_type: text("resource_type")?,
        resource_id: text("resource_id")?,
        context: text("context")?,
        action_taken: parse_field(id, "action_taken", &text("action_taken")?)?,
        result: parse_field(id, "result", &text("result")?)?,
    })
}

fn inbox_row(row: &PgRow) -> Result<StoredInboxEvent, StoreError> {
    let id: i64 = row.try_get("id")?;
    let service: String = row.try_get("service")?;
    let source: String = row.try_get("source")?;
    let received: i64 = row.try_get("received_at")?;
    Ok(StoredInboxEvent {
        id,
        event: InboxEvent {
            service: parse_field(id, "service", &service)?,
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

/// Inserts a batch of events (arrays `$1`..`$12`, one element per event, no key twice;
/// `$13` the time recorded). Ids are taken from the sequence first, one per event, and given in
/// batch order (`row_number() OVER (ORDER BY id)`), so they ascend in arrival order; the rows are
/// then inserted in key order, so concurrent batches with overlapping keys wait for each other
/// in one order and cannot deadlock.
const INSERT_EVENTS: &str = "WITH ids AS (SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id FROM generate_series(1, cardinality($1::text[]))), \
     numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS ord FROM ids) \
     INSERT INTO events (id, dedup_key, ts_unix, \"timestamp\", service, error_code, category, severity, resource_type, resource_id, context, action_taken, result, recorded_at) \
     SELECT n.id, u.k, u.t, u.ts, u.s, u.ec, u.c, u.sv, u.rt, u.ri, u.cx, u.a, u.r, $13::int8 \
     FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) \
     WITH ORDINALITY AS u(k, t, ts, s, ec, c, sv, rt, ri, cx, a, r, ord) \
     JOIN numbered n ON n.ord = u.ord \
     ORDER BY u.k \
     ON CONFLICT (dedup_key) DO NOTHING";

/// Inserts events in one statement on `conn`, skipping duplicates (stored ones and repeats
/// within `events`); returns how many were new.
async fn insert_events(conn: &mut PgConnection, events: &[ErrorEvent]) -> Result<u64, StoreError> {
    let mut seen = HashSet::with_capacity(events.len());
    let mut keys = Vec::with_capacity(events.len());
    let mut firsts = Vec::with_capacity(events.len());
    for e in events {
        let key = dedup_key(e);
        if seen.insert(key.clone()) {
            keys.push(key);
            firsts.push(e);
        }
    }
    if firsts.is_empty() {
        return Ok(0);
    }
    no_nul(
        "an event",
        keys.iter()
            .map(String::as_str)
            .chain(firsts.iter().flat_map(|e| {
                [
                    e.error_code.as_str(),
                    e.resource_type.as_str(),
                    e.resource_id.as_str(),
                    e.context.as_str(),
                ]
            })),
    )?;
    let column =
        |f: fn(&ErrorEvent) -> String| -> Vec<String> { firsts.iter().map(|e| f(e)).collect() };
    let r = sqlx::query(INSERT_EVENTS)
        .bind(keys)
        .bind(
            firsts
                .iter()
                .map(|e| e.timestamp.as_second())
                .collect::<Vec<i64>>(),
        )
        .bind(column(|e| e.timestamp.to_string()))
        .bind(column(|e| e.service.as_str().to_owned()))
        .bind(column(|e| e.error_code.clone()))
        .bind(column(|e| e.category.as_str().to_owned()))
        .bind(column(|e| e.severity.as_str().to_owned()))
        .bind(column(|e| e.resource_type.clone()))
        .bind(column(|e| e.resource_id.clone()))
        .bind(column(|e| e.context.clone()))
        .bind(column(|e| e.action_taken.as_str().to_owned()))
        .bind(column(|e| e.result.as_str().to_owned()))
        .bind(Timestamp::now().as_second())
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

/// Inserts a batch of inbox events (arrays `$1`..`$6`, one element per event, no identity
/// twice) and returns the identities of those that were new. Ids and insertion order as in
/// [`INSERT_EVENTS`]: ids ascend in batch order, rows go in in identity order (no deadlock
/// between concurrent group commits with overlapping events).
const INSERT_INBOX: &str = "WITH ids AS (SELECT nextval(pg_get_serial_sequence('inbox', 'id')) AS id FROM generate_series(1, cardinality($1::text[]))), \
     numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS ord FROM ids) \
     INSERT INTO inbox (id, service, dedup_key, event_type, source, received_at, payload) \
     SELECT n.id, u.s, u.k, u.et, u.src, u.ra, u.p \
     FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[]) \
     WITH ORDINALITY AS u(s, k, et, src, ra, p, ord) \
     JOIN numbered n ON n.ord = u.ord \
     ORDER BY u.s, u.k \
     ON CONFLICT (service, dedup_key) DO NOTHING \
     RETURNING service, dedup_key";

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn append_events(&self, events: &[ErrorEvent]) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // One statement: atomic and durable on its own (autocommit).
        insert_events(&mut conn, events).await
    }

    async fn events(&self, filter: &EventFilter) -> Result<Vec<ErrorEvent>, StoreError> {
        let mut sql = String::from(
            "SELECT id, \"timestamp\", service, error_code, category, severity, resource_type, resource_id, context, action_taken, result FROM events WHERE ts_unix >= $1",
        );
        if !filter.services.is_empty() {
            sql.push_str(" AND service = ANY($3::text[])");
        }
        sql.push_str(" ORDER BY ts_unix DESC, id DESC LIMIT $2");
        let services: Vec<&str> = filter.services.iter().map(|s| s.as_str()).collect();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.since.map_or(i64::MIN, |t| t.as_second()))
            // LIMIT NULL is no limit.
            .bind(filter.limit.map(i64::from));
        if !services.is_empty() {
            q = q.bind(services);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().rev().map(event_row).collect()
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
        no_nul("a journaled plan", [key, plan_json])?;
        // A concurrent first writer makes this insert wait for its commit and then do
        // nothing; the read that follows (a new snapshot) sees the winner's plan.
        sqlx::query(
            "INSERT INTO journal_plans (plan_key, plan_json, created_at) VALUES ($1, $2, $3) ON CONFLICT (plan_key) DO NOTHING",
        )
        .bind(key)
        .bind(plan_json)
        .bind(now.as_second())
        .execute(&self.pool)
        .await?;
        self.journaled_plan(key)
            .await?
            .ok_or_else(|| StoreError::Database(format!("journaled plan {key} vanished")))
    }

    async fn journaled_plan(&self, key: &str) -> Result<Option<JournalPlan>, StoreError> {
        let row = sqlx::query(
            "SELECT plan_key, plan_json, created_at, finished_at FROM journal_plans WHERE plan_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(plan_row).transpose()
    }

    async fn journal_steps(&self, key: &str) -> Result<Vec<JournalStep>, StoreError> {
        let rows = sqlx::query(
            "SELECT step, status, detail, updated_at FROM journal_steps WHERE plan_key = $1 ORDER BY step",
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
        no_nul("a journaled step", [key, detail])?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO journal_steps (plan_key, step, status, detail, updated_at) VALUES ($1, $2, $3, $4, $5) \
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
             WHERE plan_key = $1 OR (plan_key COLLATE \"C\" > $2 AND plan_key COLLATE \"C\" < $3) \
             ORDER BY plan_key COLLATE \"C\" DESC LIMIT 1",
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
        no_nul("a lease", [key, holder])?;
        let mut tx = self.pool.begin().await?;
        // A conflicting row whose WHERE is false is locked, not updated: the read below, in the
        // same transaction, sees the holder that kept it.
        let taken = sqlx::query(
            "INSERT INTO journal_leases (plan_key, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (plan_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE journal_leases.holder = excluded.holder OR journal_leases.expires_at < $4",
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
                sqlx::query_as("SELECT holder, expires_at FROM journal_leases WHERE plan_key = $1")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
            Some(Lease {
                holder,
                expires_at: crate::ms(0, expires)?,
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
        no_nul("a lease", [key, from, to])?;
        let n = sqlx::query(
            "UPDATE journal_leases SET holder = $1, expires_at = $2 WHERE plan_key = $3 AND holder = $4",
        )
        .bind(to)
        .bind(until.as_millisecond())
        .bind(key)
        .bind(from)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn journal_release(&self, key: &str, holder: &str) -> Result<(), StoreError> {
        no_nul("a lease", [key, holder])?;
        sqlx::query("DELETE FROM journal_leases WHERE plan_key = $1 AND holder = $2")
            .bind(key)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn confirmation_put(&self, c: &Confirmation) -> Result<bool, StoreError> {
        no_nul(
            "a confirmation",
            [c.id.as_str(), &c.session, &c.plan_json, &c.summary],
        )?;
        let n = sqlx::query(
            "INSERT INTO confirmations (id, session, plan_json, summary, created_at, expires_at, state, decided_by, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
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
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn confirmation(&self, id: &str) -> Result<Option<Confirmation>, StoreError> {
        no_nul("a confirmation id", [id])?;
        let row: Option<ConfirmationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE id = $1"
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
            "SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE state = 'pending' AND expires_at > $1 \
             ORDER BY created_at DESC LIMIT $2"
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
        no_nul("a confirmation", [id, by])?;
        let n = sqlx::query(
            "UPDATE confirmations SET state = $1, decided_by = $2, decided_at = $3 \
             WHERE id = $4 AND state = 'pending' AND expires_at > $3",
        )
        .bind(state.as_str())
        .bind(by)
        .bind(now.as_millisecond())
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn journal_finish(&self, key: &str, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE journal_plans SET finished_at = $1 WHERE plan_key = $2")
            .bind(now.as_second())
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn journal_forget(&self, key: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM journal_steps WHERE plan_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM journal_plans WHERE plan_key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn inbox_append(&self, events: &[InboxEvent]) -> Result<Vec<bool>, StoreError> {
        // Repeats inside the batch are settled here: the first is sent, later ones are
        // duplicates. What the database reports as inserted then decides the first ones.
        let mut first = Vec::with_capacity(events.len());
        let mut seen = HashSet::with_capacity(events.len());
        let mut batch = Vec::with_capacity(events.len());
        for e in events {
            let is_first = seen.insert((e.service, e.dedup_key.as_str()));
            first.push(is_first);
            if is_first {
                batch.push(e);
            }
        }
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        no_nul(
            "an inbox event",
            batch.iter().flat_map(|e| {
                [
                    e.dedup_key.as_str(),
                    e.event_type.as_str(),
                    e.payload.as_str(),
                ]
            }),
        )?;
        // One statement: atomic and durable on its own (autocommit).
        let rows = sqlx::query(INSERT_INBOX)
            .bind(batch.iter().map(|e| e.service.as_str()).collect::<Vec<_>>())
            .bind(
                batch
                    .iter()
                    .map(|e| e.dedup_key.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(
                batch
                    .iter()
                    .map(|e| e.event_type.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(batch.iter().map(|e| e.source.as_str()).collect::<Vec<_>>())
            .bind(
                batch
                    .iter()
                    .map(|e| e.received_at.as_millisecond())
                    .collect::<Vec<i64>>(),
            )
            .bind(batch.iter().map(|e| e.payload.as_str()).collect::<Vec<_>>())
            .fetch_all(&self.pool)
            .await?;
        let mut inserted = HashSet::with_capacity(rows.len());
        for row in &rows {
            let service: String = row.try_get("service")?;
            let key: String = row.try_get("dedup_key")?;
            inserted.insert((service, key));
        }
        Ok(events
            .iter()
            .zip(first)
            .map(|(e, is_first)| {
                is_first && inserted.contains(&(e.service.as_str().to_owned(), e.dedup_key.clone()))
            })
            .collect())
    }

    async fn inbox_count(&self, service: Option<Service>) -> Result<u64, StoreError> {
        let n: i64 = match service {
            Some(s) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE service = $1")
                    .bind(s.as_str())
                    .fetch_one(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn inbox_has(&self, service: Service, dedup_key: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM inbox WHERE service = $1 AND dedup_key = $2)",
        )
        .bind(service.as_str())
        .bind(dedup_key)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn inbox_unprocessed(&self, limit: u32) -> Result<Vec<StoredInboxEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, service, dedup_key, event_type, source, received_at, payload FROM inbox WHERE processed_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(inbox_row).collect()
    }

    async fn inbox_processed(
        &self,
        ids: &[i64],
        events: &[ErrorEvent],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_events(&mut tx, events).await?;
        if !ids.is_empty() {
            sqlx::query("UPDATE inbox SET processed_at = $1 WHERE id = ANY($2::int8[])")
                .bind(now.as_millisecond())
                .bind(ids)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn inbox_prune_payloads(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        // Reads `inbox_prunable` (the subquery repeats its condition). Rows another instance
        // is pruning at the same moment are skipped, not waited for: it prunes them.
        Ok(sqlx::query(
            "UPDATE inbox SET payload = '' WHERE id IN (SELECT id FROM inbox \
             WHERE processed_at IS NOT NULL AND payload <> '' AND received_at < $1 \
             ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(before.as_millisecond())
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn events_prune(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts_unix < $1 \
             ORDER BY ts_unix LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind(before.as_second())
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn record_check(&self, c: &crate::CheckRecord) -> Result<(), StoreError> {
        no_nul(
            "a check",
            [
                c.job.as_str(),
                c.status.as_str(),
                c.summary.as_str(),
                c.instance.as_str(),
            ],
        )?;
        sqlx::query(
            "INSERT INTO checks (job, service, ran_at, status, summary, instance) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.job)
        .bind(c.service.map(|s| s.as_str()))
        .bind(c.ran_at.as_millisecond())
        .bind(&c.status)
        .bind(&c.summary)
        .bind(&c.instance)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn checks(
        &self,
        job: Option<&str>,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<crate::CheckRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, job, service, ran_at, status, summary, instance FROM checks WHERE ($1::TEXT IS NULL OR job = $1) AND ran_at >= $2 ORDER BY ran_at DESC, id DESC LIMIT $3",
        )
        .bind(job)
        .bind(since.as_millisecond())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(check_row).collect()
    }

    async fn claim_slot(
        &self,
        job: &str,
        slot: i64,
        holder: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        no_nul("a job claim", [job, holder])?;
        let r = sqlx::query(
            "INSERT INTO job_slots (job, slot, holder, claimed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (job, slot) DO NOTHING",
        )
        .bind(job)
        .bind(slot)
        .bind(holder)
        .bind(now.as_millisecond())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn slot_holders(
        &self,
        job: &str,
        since_slot: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT slot, holder FROM job_slots WHERE job = $1 AND slot >= $2 ORDER BY slot",
        )
        .bind(job)
        .bind(since_slot)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("slot")?, r.try_get("holder")?)))
            .collect()
    }

    async fn alert_observe(
        &self,
        a: &crate::AlertRecord,
    ) -> Result<crate::AlertChange, StoreError> {
        no_nul(
            "an alert",
            [a.key.as_str(), a.rule.as_str(), a.message.as_str()],
        )?;
        let mut tx = self.pool.begin().await?;
        // A firing observation first makes sure a row exists (quiet), then locks it: two
        // instances observing at once serialize on the row lock, and only one sees the change.
        if a.firing {
            sqlx::query(
                "INSERT INTO alerts (alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, NULL, $7) ON CONFLICT (alert_key) DO NOTHING",
            )
            .bind(&a.key)
            .bind(&a.rule)
            .bind(a.service.map(|s| s.as_str()))
            .bind(a.severity.as_str())
            .bind(&a.message)
            .bind(a.fired_at.as_millisecond())
            .bind(a.updated_at.as_millisecond())
            .execute(&mut *tx)
            .await?;
        }
        let stored: Option<(bool, Option<i64>)> = sqlx::query_as(
            "SELECT firing, resolved_at FROM alerts WHERE alert_key = $1 FOR UPDATE",
        )
        .bind(&a.key)
        .fetch_optional(&mut *tx)
        .await?;
        // A row just inserted as a placeholder (quiet, never resolved) counts as never stored.
        let state = stored.and_then(|(firing, resolved)| {
            if !firing && resolved.is_none() {
                None
            } else {
                Some(firing)
            }
        });
        let (change, write) = crate::alert_decision(state, a.firing);
        if write {
            sqlx::query(
                "UPDATE alerts SET rule = $2, service = $3, severity = $4, message = $5, firing = $6, \
                 fired_at = CASE WHEN $7 THEN $8 ELSE fired_at END, \
                 resolved_at = CASE WHEN $9 THEN $10 WHEN $6 THEN NULL ELSE resolved_at END, \
                 updated_at = $10 WHERE alert_key = $1",
            )
            .bind(&a.key)
            .bind(&a.rule)
            .bind(a.service.map(|s| s.as_str()))
            .bind(a.severity.as_str())
            .bind(&a.message)
            .bind(a.firing)
            .bind(change == crate::AlertChange::Fired)
            .bind(a.fired_at.as_millisecond())
            .bind(change == crate::AlertChange::Resolved)
            .bind(a.updated_at.as_millisecond())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(change)
    }

    async fn alerts(
        &self,
        firing_only: bool,
        limit: u32,
    ) -> Result<Vec<crate::AlertRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at FROM alerts WHERE (NOT $1 OR firing) AND (firing OR resolved_at IS NOT NULL) ORDER BY updated_at DESC LIMIT $2",
        )
        .bind(firing_only)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_row).collect()
    }

    async fn set_cursor(&self, name: &str, value: &str, now: Timestamp) -> Result<(), StoreError> {
        no_nul("a cursor", [name, value])?;
        sqlx::query(
            "INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(now.as_second())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        let cases = [
            (
                "postgres://apiops:canary_pw_0123456789@db:5432/apiops",
                "postgres://apiops:cana...6789@db:5432/apiops",
            ),
            (
                "postgres://apiops:short@db/apiops",
                "postgres://apiops:********@db/apiops",
            ),
            ("postgres://apiops@db/apiops", "postgres://apiops@db/apiops"),
            (
                "postgresql://db/apiops?user=u&password=canary_pw_0123456789",
                "postgresql://db/apiops?user=u&password=cana...6789",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(shown_url(url), want, "{url}");
        }
        assert_eq!(shown_url("postgres://u:canary_pw@[bad"), UNPARSEABLE_URL);
        assert_eq!(shown_url("postgres:u:canary_pw@db/x"), UNPARSEABLE_URL);
        assert_eq!(shown_url("sqlite::memory:"), "sqlite::memory:");
        // Other parameters stay as written.
        assert_eq!(
            shown_url("postgres://db/x?options=-c%20search_path%3Ds&password=canary_pw_0123456789"),
            "postgres://db/x?options=-c%20search_path%3Ds&password=cana...6789"
        );
    }

    /// Canary passwords, in the user part and in `?password=` / `&password=`, percent-encoded
    /// or not, in URLs that parse and in ones that do not.
    const CANARY_URLS: &[&str] = &[
        "postgres://apiops:canary_pw_0123456789@127.0.0.1:1/apiops",
        "postgres://apiops:canary%21pw%400123456789@127.0.0.1:1/apiops",
        "postgres://apiops:short_can@127.0.0.1:1/apiops",
        "postgresql://127.0.0.1:1/apiops?password=canary_pw_0123456789",
        "postgresql://127.0.0.1:1/apiops?user=u&password=canary_pw_0123456789",
        "postgresql://127.0.0.1:1/apiops?user=u&password=canary%20pw+0123456789&sslmode=disable",
        "postgres://u@127.0.0.1:1/apiops?sslmode=verify-full&PASSWORD=canary_pw_0123456789",
        "postgres://apiops:canary_pw_0123456789@127.0.0.1:1/apiops?sslmode=bogus",
        "postgres://apiops:canary_pw_0123456789@127.0.0.1:notaport/apiops",
        "postgres://apiops:canary_pw_0123456789@[bad/apiops",
        "postgres:apiops:canary_pw_0123456789@127.0.0.1/apiops",
        "postgres://[bad/apiops?password=canary_pw_0123456789",
        "postgresql://apiops:canary pw 0123456789@127.0.0.1:1/apiops",
    ];

    /// Whether `text` holds any recognizable part of a canary password.
    fn leaks(text: &str) -> bool {
        [
            "canary",
            "short_can",
            "0123456789",
            "pw 0123",
            "pw+0123",
            "pw%20",
        ]
        .iter()
        .any(|c| text.contains(c))
    }

    #[test]
    fn canary_passwords_never_appear_in_a_shown_url() {
        for url in CANARY_URLS {
            let shown = shown_url(url);
            assert!(!leaks(&shown), "{url} shown as {shown}");
            assert!(!url_passwords(url).is_empty(), "{url}: no password found");
        }
    }

    #[tokio::test]
    async fn canary_passwords_never_appear_in_open_errors() {
        for url in CANARY_URLS {
            let Err(e) = crate::open(url).await else {
                panic!("{url}: nothing listens on port 1");
            };
            let (shown, debug) = (e.to_string(), format!("{e:?}"));
            assert!(!leaks(&shown), "{url}: {shown}");
            assert!(!leaks(&debug), "{url}: {debug}");
        }
    }

    #[tokio::test]
    async fn connection_errors_name_the_problem_without_the_password() {
        // Port 1 on loopback: refused at once, reported as such (not as a pool timeout).
        let url = "postgres://apiops:canary_pw_0123456789@127.0.0.1:1/apiops";
        match crate::open(url).await {
            Err(StoreError::Database(m)) => {
                assert!(!m.contains("canary_pw"), "{m}");
                assert!(m.contains("apiops:cana...6789@127.0.0.1:1"), "{m}");
                assert!(m.contains("connecting"), "{m}");
            }
            Err(e) => panic!("wanted a database error, got {e}"),
            Ok(_) => panic!("nothing listens on port 1"),
        }
        // TLS asked for: still the refusal, reported as such.
        let url = "postgresql://apiops:canary_pw_0123456789@127.0.0.1:1/apiops?sslmode=require";
        match crate::open(url).await {
            Err(StoreError::Database(m)) => {
                assert!(!m.contains("canary_pw"), "{m}");
                assert!(m.contains("connecting"), "{m}");
            }
            Err(e) => panic!("wanted a database error, got {e}"),
            Ok(_) => panic!("nothing listens on port 1"),
        }
    }

    #[test]
    fn sessions_get_a_statement_timeout_unless_the_url_sets_one() {
        let opts = |url: &str| with_statement_timeout(PgConnectOptions::from_str(url).expect(url));
        assert_eq!(
            opts("postgres://db/x").get_options(),
            Some("-c statement_timeout=10s")
        );
        assert_eq!(
            opts("postgres://db/x?options=-c%20search_path%3Ds").get_options(),
            Some("-c search_path=s -c statement_timeout=10s")
        );
        assert_eq!(
            opts("postgres://db/x?options=-c%20statement_timeout%3D2min").get_options(),
            Some("-c statement_timeout=2min")
        );
    }

    #[tokio::test]
    async fn a_stuck_statement_fails_at_the_statement_timeout() {
        let Some(schema) = crate::test_support::PgSchema::create("t", "stmt_timeout").await else {
            return;
        };
        let store = PostgresStore::open(&schema.url).await.expect("open");
        let setting: String = sqlx::query_scalar("SHOW statement_timeout")
            .fetch_one(&store.pool)
            .await
            .expect("show");
        assert_eq!(setting, "10s");
        drop(store);
        let url = format!("{}%20-c%20statement_timeout%3D300ms", schema.url);
        let store = PostgresStore::open(&url).await.expect("open");
        let started = std::time::Instant::now();
        let err = sqlx::query("SELECT pg_sleep(5)")
            .execute(&store.pool)
            .await
            .expect_err("cancelled");
        assert!(err.to_string().contains("statement timeout"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        drop(store);
        schema.drop_schema().await;
    }

    #[tokio::test]
    async fn sessions_commit_durably_even_when_configured_not_to() {
        let Ok(admin_url) = std::env::var("APIOPS_TEST_POSTGRES_URL") else {
            eprintln!("skipped: APIOPS_TEST_POSTGRES_URL not set");
            return;
        };
        let schema = format!("t_durable_{}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .execute(&mut admin)
        .await
        .expect("schema");
        // Sessions that start with synchronous_commit off (as a server, database or role
        // setting would make them).
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{admin_url}{sep}options=-c%20search_path%3D{schema}%20-c%20synchronous_commit%3Doff"
        );
        let store = PostgresStore::open(&url).await.expect("open");
        let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&store.pool)
            .await
            .expect("show");
        assert_eq!(setting, "on");
        drop(store);
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&mut admin)
            .await
            .expect("drop");
    }

    #[test]
    fn secrets_are_scrubbed_in_every_form() {
        let url = "postgres://u:p%40ss_w0rd_canary@db/x?password=other_canary_pw";
        let secrets = url_passwords(url);
        let msg = format!(
            "failed for p%40ss_w0rd_canary / p@ss_w0rd_canary / other_canary_pw ({})",
            url
        );
        let out = scrub(&msg, &secrets);
        assert!(!out.contains("ss_w0rd_canary"), "{out}");
        assert!(!out.contains("other_canary_pw"), "{out}");
        let unparsed = url_passwords("postgres://u:canary_pw_x@[bad/x");
        assert_eq!(unparsed, vec!["canary_pw_x".to_owned()]);
    }
}
