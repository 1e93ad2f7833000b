//! Test support (feature `test-support`): a throwaway PostgreSQL schema per test, in the database
//! `APIOPS_TEST_POSTGRES_URL` names, or reached over TLS through `APIOPS_TEST_POSTGRES_TLS_URL`
//! (as `scripts/with-postgres.sh` sets them), and [`process_all`], which empties the inbox's
//! queue. Shared by this crate's conformance suite, the monitor's retention tests and the
//! multi-instance tests of `apiops serve`.

use sqlx::Connection as _;

/// Marks every unprocessed inbox event (up to `limit`) processed at `at`, appending no events.
pub async fn process_all(store: &dyn crate::Store, limit: u32, at: jiff::Timestamp) {
    let ids: Vec<i64> = store
        .inbox_unprocessed(limit)
        .await
        .expect("unprocessed")
        .iter()
        .map(|r| r.id)
        .collect();
    store
        .inbox_processed(&ids, &[], at)
        .await
        .expect("processed");
}

/// The variable naming the test database.
pub const PG_URL: &str = "APIOPS_TEST_POSTGRES_URL";
/// Set (to anything but `0`) when PostgreSQL tests must run instead of being skipped.
pub const PG_REQUIRED: &str = "APIOPS_TEST_POSTGRES_REQUIRED";
/// The variable naming the same test database over TLS: `sslmode=verify-full`, host
/// `localhost`, `sslrootcert=` the throwaway CA that signed the server's certificate.
pub const PG_TLS_URL: &str = "APIOPS_TEST_POSTGRES_TLS_URL";
/// The variable naming a CA file that did *not* sign the server's certificate.
pub const PG_WRONG_CA: &str = "APIOPS_TEST_POSTGRES_WRONG_CA";
/// The variable naming the TLS URL with a host the server's certificate does not name (set
/// only where the server could also listen on 127.0.0.2).
pub const PG_WRONG_HOST_URL: &str = "APIOPS_TEST_POSTGRES_WRONG_HOST_URL";

/// The value of `var`. `None`, after saying so on stderr, when it is not set; panics instead
/// when [`PG_REQUIRED`] is set.
pub fn pg_env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            let required = std::env::var(PG_REQUIRED).is_ok_and(|v| !v.is_empty() && v != "0");
            assert!(
                !required,
                "{var} is not set but {PG_REQUIRED} is: run the tests through scripts/with-postgres.sh"
            );
            eprintln!("skipped: {var} not set (run the tests through scripts/with-postgres.sh)");
            None
        }
    }
}

/// A freshly created schema in the test database, reached through `search_path` in [`url`].
///
/// [`url`]: PgSchema::url
#[derive(Debug)]
pub struct PgSchema {
    admin_url: String,
    /// The schema's name: lower case, digits and underscores.
    pub schema: String,
    /// A store URL whose tables live in the schema.
    pub url: String,
}

impl PgSchema {
    /// Creates a schema named after `prefix` and `test` (unique per process, test and time).
    /// `None`, after saying so on stderr, when [`PG_URL`] is not set; panics instead when
    /// [`PG_REQUIRED`] is set.
    pub async fn create(prefix: &str, test: &str) -> Option<PgSchema> {
        Self::create_in(PG_URL, prefix, test).await
    }

    /// [`PgSchema::create`], reached over TLS ([`PG_TLS_URL`]): the schema is created, used
    /// and dropped through verified TLS connections.
    pub async fn create_tls(prefix: &str, test: &str) -> Option<PgSchema> {
        Self::create_in(PG_TLS_URL, prefix, test).await
    }

    /// [`PgSchema::create`] in the database the variable `var` names.
    async fn create_in(var: &str, prefix: &str, test: &str) -> Option<PgSchema> {
        let admin_url = pg_env(var)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .subsec_nanos();
        let short: String = test.chars().take(32).collect();
        // Lower case, digits and underscores only: no quoting needed, at most 63 bytes.
        let schema = format!("{prefix}_{short}_{}_{nanos}", std::process::id());
        execute(&admin_url, &format!("CREATE SCHEMA {schema}")).await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        // Shown only when the test fails, to find its tables.
        println!("postgres schema: {schema}");
        Some(PgSchema {
            admin_url,
            schema,
            url,
        })
    }

    /// Drops the schema and everything in it (call it when the test passed: a failed test's
    /// schema is kept for inspection; the server is a throwaway one).
    pub async fn drop_schema(&self) {
        execute(
            &self.admin_url,
            &format!("DROP SCHEMA {} CASCADE", self.schema),
        )
        .await;
    }
}

/// Runs one statement on its own connection.
async fn execute(admin_url: &str, statement: &str) {
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    admin.close().await.expect("close");
}
