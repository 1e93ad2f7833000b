//! Tests of the PostgreSQL backend beyond the conformance suite: URLs and errors never show a
//! password, sessions get a statement timeout and durable commits.

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
