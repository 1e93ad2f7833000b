//! The `Store` conformance suite: every promise of the trait, checked the same way on every
//! backend. Each check is a function of `&dyn Store` (or of a [`Backend`] when it reopens the
//! store), run by the `conformance!` macro once per backend:
//!
//! - `sqlite::*`: always, each test on its own file in a temporary directory.
//! - `postgres::*`: when `APIOPS_TEST_POSTGRES_URL` names a database (as
//!   `scripts/with-postgres.sh` sets it). Each test gets its own freshly created schema in that
//!   database (unique per process, test and time), reached through `search_path` in the store
//!   URL, and drops it when it passes. Without the variable each test prints
//!   `skipped: APIOPS_TEST_POSTGRES_URL not set` and passes, unless
//!   `APIOPS_TEST_POSTGRES_REQUIRED` is set (CI sets it), in which case it fails.
//! - `postgres_tls::*`: the same, over TLS with `sslmode=verify-full` against a throwaway CA,
//!   through `APIOPS_TEST_POSTGRES_TLS_URL` (skipped or failed alike when it is not set).
//!
//! Besides, `tls::*` checks what the TLS settings promise: a wrong CA or host fails with an
//! error naming TLS and the certificate (never the password), `sslmode=require` needs no CA.

use std::collections::BTreeMap;
use std::time::Instant;

use apiops_core::{ActionTaken, Category, ErrorEvent, EventResult, Service, Severity};
use apiops_store::test_support::{PgSchema, process_all};
use apiops_store::{
    Confirmation, ConfirmationState, EventFilter, InboxEvent, JournalStep, PartialScan, Source,
    StepStatus, Store, StoredInboxEvent, UnreadWindowRecord,
};
use jiff::{SignedDuration, Timestamp};

// ---------------------------------------------------------------------------------------------
// Backends

/// Where one test's store lives; [`Backend::open`] may be called again to reopen it.
enum Backend {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres(PgSchema),
}

impl Backend {
    fn sqlite() -> Backend {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/store.db", dir.path().display());
        Backend::Sqlite { _dir: dir, url }
    }

    /// A fresh schema for `test` in the database the environment names; `None` (after saying
    /// so) when no database is configured.
    async fn postgres(test: &str) -> Option<Backend> {
        PgSchema::create("t", test).await.map(Backend::Postgres)
    }

    /// [`Backend::postgres`], every connection over verified TLS.
    async fn postgres_tls(test: &str) -> Option<Backend> {
        PgSchema::create_tls("tls", test)
            .await
            .map(Backend::Postgres)
    }

    fn url(&self) -> &str {
        match self {
            Backend::Sqlite { url, .. } | Backend::Postgres(PgSchema { url, .. }) => url,
        }
    }

    /// Opens (or reopens) the store, through the public `open`.
    async fn open(&self) -> Box<dyn Store> {
        match apiops_store::open(self.url()).await {
            Ok(store) => store,
            Err(e) => panic!("opening the store: {e}"),
        }
    }

    /// Removes what the test left (reached only when it passed: a failed test's schema is kept
    /// for inspection; the server is a throwaway one).
    async fn finish(self) {
        if let Backend::Postgres(schema) = self {
            schema.drop_schema().await;
        }
    }
}

/// One test per check and backend. `store:` checks take `&dyn Store`; `backend:` checks take
/// the [`Backend`] (to reopen it).
macro_rules! conformance {
    (store: [$($check:ident),* $(,)?], backend: [$($bcheck:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $check() {
                    let backend = crate::Backend::sqlite();
                    let store = backend.open().await;
                    crate::$check(&*store).await;
                    drop(store);
                    backend.finish().await;
                }
            )*
            $(
                #[tokio::test]
                async fn $bcheck() {
                    let backend = crate::Backend::sqlite();
                    crate::$bcheck(&backend).await;
                    backend.finish().await;
                }
            )*
        }
        conformance!(@postgres postgres, store: [$($check),*], backend: [$($bcheck),*]);
        conformance!(@postgres postgres_tls, store: [$($check),*], backend: [$($bcheck),*]);
    };
    // One PostgreSQL module: `$backend` is both its name and the `Backend` constructor.
    (@postgres $backend:ident, store: [$($check:ident),*], backend: [$($bcheck:ident),*]) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $check() {
                    let Some(backend) = crate::Backend::$backend(stringify!($check)).await else {
                        return;
                    };
                    let store = backend.open().await;
                    crate::$check(&*store).await;
                    drop(store);
                    backend.finish().await;
                }
            )*
            $(
                #[tokio::test]
                async fn $bcheck() {
                    let Some(backend) = crate::Backend::$backend(stringify!($bcheck)).await else {
                        return;
                    };
                    crate::$bcheck(&backend).await;
                    backend.finish().await;
                }
            )*
        }
    };
}

conformance! {
    store: [
        events_are_deduplicated_and_counted,
        api_failures_in_one_second_are_each_kept_and_a_repeat_is_not,
        events_read_oldest_first_through_filters,
        events_round_trip_every_field,
        journal_first_writer_wins,
        journal_steps_upsert_and_read_in_step_order,
        journal_finish_and_forget,
        journal_concurrent_writers_agree_on_one_plan,
        journal_step_and_its_events_commit_together,
        journal_latest_finds_the_newest_run_of_a_request,
        leases_admit_one_runner_at_a_time,
        leases_under_contention_have_one_holder,
        confirmations_are_decided_once_while_fresh,
        inbox_reports_new_and_duplicate_per_event,
        inbox_counts_and_lookups,
        inbox_unprocessed_in_arrival_order_with_limit,
        inbox_processed_marks_and_appends_together,
        inbox_group_commit_of_hundreds,
        inbox_concurrent_batches_store_each_event_once,
        retention_keeps_a_pruned_event_a_duplicate,
        retention_deletes_old_events_in_batches,
        cursors_are_set_and_replaced,
        checks_are_recorded_and_read_newest_first,
        each_slot_is_claimed_once_even_under_contention,
        alerts_fire_once_and_resolve_once,
        partial_scans_are_replaced_read_in_order_and_cleared,
        partial_scans_written_at_once_leave_one_whole,
    ],
    backend: [
        everything_survives_reopening,
        two_handles_share_one_store,
        retention_empties_old_processed_payloads_only,
        event_keys_stored_before_migration_7_stay_duplicates,
        a_partial_scan_survives_reopening,
    ],
}

// ---------------------------------------------------------------------------------------------
// TLS settings

mod tls {
    use apiops_store::test_support::{self, PG_TLS_URL, PG_WRONG_CA, PG_WRONG_HOST_URL, PgSchema};
    use apiops_store::{Store, StoreError};
    use sqlx::Connection as _;

    /// A password the server (trust authentication) ignores, which no message may show.
    const CANARY: &str = "canary_pw_0123456789";

    /// `url` with the query parameters in `set` replaced (`None`: removed) and a password.
    fn edited(url: &str, set: &[(&str, Option<&str>)]) -> String {
        let mut url = url::Url::parse(url).expect("the test URL parses");
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !set.iter().any(|(name, _)| k == name))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for (name, value) in set {
            if let Some(value) = value {
                pairs.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        url.query_pairs_mut().clear().extend_pairs(pairs);
        url.set_password(Some(CANARY)).expect("a URL with a host");
        url.to_string()
    }

    /// Whether the session behind `url` runs over TLS (as the server sees it).
    async fn session_uses_tls(url: &str) -> bool {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connecting: {e}"));
        let ssl: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&mut conn)
                .await
                .expect("pg_stat_ssl");
        conn.close().await.expect("close");
        ssl
    }

    /// Opening `url` fails with a database error naming TLS and the certificate, without the
    /// password.
    async fn fails_on_the_certificate(url: &str) {
        let err = match apiops_store::open(url).await {
            Err(StoreError::Database(m)) => m,
            Err(e) => panic!("wanted a database error, got {e}"),
            Ok(_) => panic!("{url}: the server's certificate should have been refused"),
        };
        assert!(err.contains("TLS"), "{err}");
        assert!(err.to_lowercase().contains("certificate"), "{err}");
        assert!(!err.contains(CANARY), "{err}");
        assert!(!err.contains("canary"), "{err}");
        eprintln!("refused as it should be: {err}");
    }

    #[tokio::test]
    async fn the_tls_url_runs_over_verified_tls() {
        let Some(url) = test_support::pg_env(PG_TLS_URL) else {
            return;
        };
        assert!(url.contains("sslmode=verify-full"), "{url}");
        assert!(session_uses_tls(&url).await);
    }

    #[tokio::test]
    async fn verify_full_with_a_wrong_ca_fails_clearly() {
        let (Some(url), Some(wrong_ca)) = (
            test_support::pg_env(PG_TLS_URL),
            test_support::pg_env(PG_WRONG_CA),
        ) else {
            return;
        };
        let url = edited(&url, &[("sslrootcert", Some(&wrong_ca))]);
        fails_on_the_certificate(&url).await;
        // verify-ca checks the chain too.
        let url = edited(&url, &[("sslmode", Some("verify-ca"))]);
        fails_on_the_certificate(&url).await;
    }

    #[tokio::test]
    async fn verify_full_with_a_host_the_certificate_does_not_name_fails_clearly() {
        // Set only where the server also listens on 127.0.0.2; not required.
        let Ok(url) = std::env::var(PG_WRONG_HOST_URL) else {
            eprintln!("skipped: {PG_WRONG_HOST_URL} not set");
            return;
        };
        let url = edited(&url, &[]);
        fails_on_the_certificate(&url).await;
        // verify-ca does not check the name: the same server is accepted.
        let url = edited(&url, &[("sslmode", Some("verify-ca"))]);
        assert!(session_uses_tls(&url).await);
    }

    #[tokio::test]
    async fn require_encrypts_without_a_ca() {
        let Some(schema) = PgSchema::create_tls("tls", "require_without_ca").await else {
            return;
        };
        let url = edited(
            &schema.url,
            &[("sslmode", Some("require")), ("sslrootcert", None)],
        );
        assert!(!url.contains("sslrootcert"), "{url}");
        assert!(session_uses_tls(&url).await);
        let store = apiops_store::open(&url)
            .await
            .unwrap_or_else(|e| panic!("opening with sslmode=require: {e}"));
        let event = crate::ev(
            apiops_core::Service::Stripe,
            "card_declined",
            "ch_1",
            "2025-01-01T00:00:00Z",
        );
        assert_eq!(store.append_events(&[event]).await.expect("append"), 1);
        assert_eq!(store.event_count().await.expect("count"), 1);
        drop::<Box<dyn Store>>(store);
        schema.drop_schema().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn ev(service: Service, code: &str, id: &str, at: &str) -> ErrorEvent {
    ErrorEvent {
        timestamp: ts(at),
        service,
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

fn inbox(service: Service, key: &str, at_ms: i64) -> InboxEvent {
    InboxEvent {
        service,
        dedup_key: key.into(),
        event_type: "charge.failed".into(),
        source: Source::Webhook,
        received_at: Timestamp::from_millisecond(at_ms).expect("ms"),
        payload: format!("{{\"id\":\"{key}\"}}"),
    }
}

async fn all_events(store: &dyn Store) -> Vec<ErrorEvent> {
    store.events(&EventFilter::default()).await.expect("events")
}

async fn read(store: &dyn Store, filter: EventFilter) -> Vec<String> {
    store
        .events(&filter)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.resource_id)
        .collect()
}

fn states(steps: &[JournalStep]) -> Vec<(u32, StepStatus, &str)> {
    steps
        .iter()
        .map(|s| (s.step, s.status, s.detail.as_str()))
        .collect()
}

/// The cursor `name`, if set.
async fn cursor_of(store: &dyn Store, name: &str) -> Option<String> {
    store.cursor(name).await.expect("cursor")
}

fn keys(rows: &[StoredInboxEvent]) -> Vec<&str> {
    rows.iter().map(|r| r.event.dedup_key.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Events

async fn events_are_deduplicated_and_counted(store: &dyn Store) {
    assert_eq!(store.event_count().await.expect("count"), 0);
    assert_eq!(store.append_events(&[]).await.expect("append"), 0);
    let a = ev(Service::Twilio, "30003", "SM1", "2026-11-25T10:00:00Z");
    let b = ev(Service::Twilio, "30007", "SM2", "2026-11-25T11:00:00Z");
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
        "a stored event is skipped"
    );
    // A repeat inside one batch counts once; a new one beside a stored one counts.
    let c = ev(
        Service::Stripe,
        "card_declined",
        "ch_1",
        "2026-11-25T12:00:00Z",
    );
    assert_eq!(
        store
            .append_events(&[c.clone(), b.clone(), c.clone()])
            .await
            .expect("append"),
        1
    );
    // The identity is service, resource type, resource id (or context when there is none),
    // code, whole second and action: a different action or second is another event; the
    // severity or a sub-second difference is not.
    let mut acted = a.clone();
    acted.action_taken = ActionTaken::Retried;
    let mut later = a.clone();
    later.timestamp = ts("2026-11-25T10:00:01Z");
    let mut same_second = a.clone();
    same_second.timestamp = ts("2026-11-25T10:00:00.5Z");
    same_second.severity = Severity::Critical;
    assert_eq!(
        store
            .append_events(&[acted, later, same_second])
            .await
            .expect("append"),
        2
    );
    let mut no_id_1 = ev(Service::Openai, "429", "", "2026-11-25T13:00:00Z");
    no_id_1.context = "model gpt-x".into();
    let mut no_id_2 = no_id_1.clone();
    no_id_2.context = "model gpt-y".into();
    assert_eq!(
        store
            .append_events(&[no_id_1.clone(), no_id_2, no_id_1])
            .await
            .expect("append"),
        2,
        "without a resource id the context tells events apart"
    );
    assert_eq!(store.event_count().await.expect("count"), 7);
    assert_eq!(all_events(store).await.len(), 7);
}

/// A configured API's failures are seen by apiops alone, stamped when they happened: two of
/// one operation with one code in the same second are two events; the same one appended again
/// (in one batch or later) is still one. The three services keep their whole-second identity.
async fn api_failures_in_one_second_are_each_kept_and_a_repeat_is_not(store: &dyn Store) {
    let api = Service::Api(apiops_core::ApiName::new("pets").expect("name"));
    let mut first = ev(api, "busy", "orders/create", "2026-11-25T10:00:00.100Z");
    first.resource_type = "operation".into();
    let mut second = first.clone();
    second.timestamp = ts("2026-11-25T10:00:00.100000001Z");
    let mut third = first.clone();
    third.timestamp = ts("2026-11-25T10:00:00.900Z");
    assert_eq!(
        store
            .append_events(&[first.clone(), second.clone(), first.clone()])
            .await
            .expect("append"),
        2,
        "two failures a nanosecond apart are two; the repeat in the batch is not"
    );
    assert_eq!(
        store
            .append_events(&[second, third, first])
            .await
            .expect("append"),
        1,
        "a re-delivery of a stored failure is skipped"
    );
    assert_eq!(store.event_count().await.expect("count"), 3);
    // Unchanged for the built-in services: the same second is the same event.
    let a = ev(
        Service::Stripe,
        "card_declined",
        "ch_1",
        "2026-11-25T10:00:00.100Z",
    );
    let mut b = a.clone();
    b.timestamp = ts("2026-11-25T10:00:00.900Z");
    assert_eq!(store.append_events(&[a, b]).await.expect("append"), 1);
}

async fn events_read_oldest_first_through_filters(store: &dyn Store) {
    // Appended out of time order, with two in the same second (then arrival order decides).
    let events = [
        ev(Service::Twilio, "1", "t3", "2026-11-25T12:00:00Z"),
        ev(Service::Stripe, "1", "s1", "2026-11-25T10:00:00Z"),
        ev(Service::Twilio, "1", "t1", "2026-11-25T10:30:00Z"),
        ev(Service::Openai, "1", "o2", "2026-11-25T11:00:00.900Z"),
        ev(Service::Twilio, "1", "t2", "2026-11-25T11:00:00.100Z"),
        ev(Service::Stripe, "1", "s2", "2026-11-25T13:00:00Z"),
    ];
    assert_eq!(store.append_events(&events).await.expect("append"), 6);
    let all = EventFilter::default;
    assert_eq!(
        read(store, all()).await,
        ["s1", "t1", "o2", "t2", "t3", "s2"],
        "oldest first; the same second in arrival order"
    );
    // `since` is inclusive and compares whole seconds.
    assert_eq!(
        read(
            store,
            EventFilter {
                since: Some(ts("2026-11-25T11:00:00.500Z")),
                ..all()
            }
        )
        .await,
        ["o2", "t2", "t3", "s2"]
    );
    assert_eq!(
        read(
            store,
            EventFilter {
                since: Some(ts("2026-11-25T12:00:00Z")),
                ..all()
            }
        )
        .await,
        ["t3", "s2"]
    );
    assert!(
        read(
            store,
            EventFilter {
                since: Some(ts("2026-11-26T00:00:00Z")),
                ..all()
            }
        )
        .await
        .is_empty()
    );
    assert_eq!(
        read(
            store,
            EventFilter {
                services: vec![Service::Twilio],
                ..all()
            }
        )
        .await,
        ["t1", "t2", "t3"]
    );
    assert_eq!(
        read(
            store,
            EventFilter {
                services: vec![Service::Stripe, Service::Openai],
                ..all()
            }
        )
        .await,
        ["s1", "o2", "s2"]
    );
    // A limit keeps the newest, still returned oldest first.
    assert_eq!(
        read(
            store,
            EventFilter {
                limit: Some(2),
                ..all()
            }
        )
        .await,
        ["t3", "s2"]
    );
    assert_eq!(
        read(
            store,
            EventFilter {
                limit: Some(3),
                ..all()
            }
        )
        .await,
        ["t2", "t3", "s2"],
        "the limit cuts between two events of one second by arrival"
    );
    assert_eq!(
        read(
            store,
            EventFilter {
                since: Some(ts("2026-11-25T10:15:00Z")),
                services: vec![Service::Twilio],
                limit: Some(2),
            }
        )
        .await,
        ["t2", "t3"]
    );
    assert!(
        read(
            store,
            EventFilter {
                limit: Some(0),
                ..all()
            }
        )
        .await
        .is_empty()
    );
    assert_eq!(
        read(
            store,
            EventFilter {
                limit: Some(100),
                ..all()
            }
        )
        .await
        .len(),
        6
    );
}

async fn events_round_trip_every_field(store: &dyn Store) {
    let mut a = ev(
        Service::Stripe,
        "card_declined",
        "ch_3Nx",
        "2026-11-25T10:00:00.123456789Z",
    );
    a.category = Category::BadParams;
    a.severity = Severity::Info;
    a.resource_type = "charge".into();
    a.context =
        "Déclinée — «insufficient_funds» 'quoted' \"double\" \\ ; DROP TABLE events; 🚫".into();
    a.action_taken = ActionTaken::AutoFixed;
    a.result = EventResult::Pending;
    let mut b = ev(Service::Openai, "", "", "1999-12-31T23:59:59Z");
    b.category = Category::Auth;
    b.severity = Severity::Critical;
    b.context = String::new();
    b.action_taken = ActionTaken::Alerted;
    b.result = EventResult::Success;
    store
        .append_events(&[a.clone(), b.clone()])
        .await
        .expect("append");
    assert_eq!(
        all_events(store).await,
        vec![b, a],
        "every field, the time to the nanosecond"
    );
}

// ---------------------------------------------------------------------------------------------
// Journal

async fn journal_first_writer_wins(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00.750Z");
    assert_eq!(store.journaled_plan("k1").await.expect("read"), None);
    let first = store
        .journal_plan("k1", "{\"a\":1}", t0)
        .await
        .expect("plan");
    assert_eq!(first.key, "k1");
    assert_eq!(first.plan_json, "{\"a\":1}");
    assert_eq!(
        first.created_at,
        ts("2026-11-26T10:00:00Z"),
        "times are kept to the second"
    );
    assert_eq!(first.finished_at, None);
    let again = store
        .journal_plan("k1", "{\"a\":2}", t0 + SignedDuration::from_secs(5))
        .await
        .expect("plan");
    assert_eq!(again, first, "the first writer wins");
    assert_eq!(
        store.journaled_plan("k1").await.expect("read"),
        Some(first.clone())
    );
    let other = store
        .journal_plan("k2", "{\"b\":1}", t0)
        .await
        .expect("plan");
    assert_eq!(other.plan_json, "{\"b\":1}");
    assert!(store.journal_steps("k1").await.expect("steps").is_empty());
}

async fn journal_steps_upsert_and_read_in_step_order(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00Z");
    let t1 = ts("2026-11-26T10:00:07.900Z");
    store.journal_plan("k1", "{}", t0).await.expect("plan");
    store.journal_plan("k2", "{}", t0).await.expect("plan");
    for step in [2, 0, 10, 1] {
        store
            .journal_step("k1", step, StepStatus::Started, "{}", &[], t0)
            .await
            .expect("step");
    }
    store
        .journal_step("k2", 0, StepStatus::Failed, "{\"other\":true}", &[], t0)
        .await
        .expect("step");
    store
        .journal_step("k1", 0, StepStatus::Done, "{\"sid\":\"PN1\"}", &[], t1)
        .await
        .expect("step");
    store
        .journal_step("k1", 2, StepStatus::Failed, "{\"error\":\"402\"}", &[], t1)
        .await
        .expect("step");
    let steps = store.journal_steps("k1").await.expect("steps");
    assert_eq!(
        states(&steps),
        vec![
            (0, StepStatus::Done, "{\"sid\":\"PN1\"}"),
            (1, StepStatus::Started, "{}"),
            (2, StepStatus::Failed, "{\"error\":\"402\"}"),
            (10, StepStatus::Started, "{}"),
        ],
        "in step order, the last status written"
    );
    assert_eq!(steps[0].updated_at, ts("2026-11-26T10:00:07Z"));
    assert_eq!(steps[1].updated_at, t0);
    assert_eq!(
        states(&store.journal_steps("k2").await.expect("steps")),
        vec![(0, StepStatus::Failed, "{\"other\":true}")]
    );
    assert!(store.journal_steps("nope").await.expect("steps").is_empty());
    // A step of a plan never journaled is refused (steps belong to a plan).
    assert!(
        store
            .journal_step("nope", 0, StepStatus::Started, "{}", &[], t0)
            .await
            .is_err()
    );
    // The largest step index round-trips.
    store
        .journal_step("k2", u32::MAX, StepStatus::Done, "{}", &[], t0)
        .await
        .expect("step");
    let last = store.journal_steps("k2").await.expect("steps");
    assert_eq!(last.last().map(|s| s.step), Some(u32::MAX));
}

async fn journal_finish_and_forget(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00Z");
    let t1 = ts("2026-11-26T10:05:00.250Z");
    store
        .journal_plan("k1", "{\"v\":1}", t0)
        .await
        .expect("plan");
    store.journal_plan("k2", "{}", t0).await.expect("plan");
    for key in ["k1", "k2"] {
        store
            .journal_step(key, 0, StepStatus::Done, "{}", &[], t0)
            .await
            .expect("step");
    }
    store.journal_finish("k1", t1).await.expect("finish");
    let plan = store
        .journaled_plan("k1")
        .await
        .expect("read")
        .expect("plan");
    assert_eq!(plan.finished_at, Some(ts("2026-11-26T10:05:00Z")));
    assert_eq!(plan.plan_json, "{\"v\":1}");
    store
        .journal_finish("missing", t1)
        .await
        .expect("finishing nothing is not an error");
    store.journal_forget("k1").await.expect("forget");
    assert_eq!(store.journaled_plan("k1").await.expect("read"), None);
    assert!(store.journal_steps("k1").await.expect("steps").is_empty());
    assert!(
        store.journaled_plan("k2").await.expect("read").is_some(),
        "other plans stay"
    );
    assert_eq!(store.journal_steps("k2").await.expect("steps").len(), 1);
    store
        .journal_forget("missing")
        .await
        .expect("forgetting nothing is not an error");
    // After forgetting, the next writer is the first again.
    let fresh = store
        .journal_plan("k1", "{\"v\":2}", t1)
        .await
        .expect("plan");
    assert_eq!(fresh.plan_json, "{\"v\":2}");
    assert_eq!(fresh.finished_at, None);
    assert!(store.journal_steps("k1").await.expect("steps").is_empty());
}

async fn journal_concurrent_writers_agree_on_one_plan(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00Z");
    let (a, b, c, d) = tokio::join!(
        store.journal_plan("race", "{\"w\":\"a\"}", t0),
        store.journal_plan("race", "{\"w\":\"b\"}", t0),
        store.journal_plan("race", "{\"w\":\"c\"}", t0),
        store.journal_plan("race", "{\"w\":\"d\"}", t0),
    );
    let plans = [a.expect("a"), b.expect("b"), c.expect("c"), d.expect("d")];
    assert!(
        plans.iter().all(|p| *p == plans[0]),
        "every writer gets the one plan that won: {plans:?}"
    );
    assert_eq!(
        store.journaled_plan("race").await.expect("read").as_ref(),
        Some(&plans[0])
    );
}

async fn journal_step_and_its_events_commit_together(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00Z");
    store.journal_plan("k1", "{}", t0).await.expect("plan");
    let e = ev(
        Service::Twilio,
        "twilio.numbers.buy",
        "PN1",
        "2026-11-26T10:00:00Z",
    );
    assert_eq!(
        store
            .journal_step(
                "k1",
                0,
                StepStatus::Done,
                "{}",
                std::slice::from_ref(&e),
                t0
            )
            .await
            .expect("step"),
        1
    );
    assert_eq!(store.event_count().await.expect("count"), 1);
    // A step that cannot be journaled (no such plan) leaves its event out too.
    let other = ev(
        Service::Twilio,
        "twilio.numbers.buy",
        "PN2",
        "2026-11-26T10:00:00Z",
    );
    assert!(
        store
            .journal_step("nope", 0, StepStatus::Done, "{}", &[other], t0)
            .await
            .is_err()
    );
    assert_eq!(store.event_count().await.expect("count"), 1);
    // The same event again (a re-journaled outcome) is not stored twice.
    assert_eq!(
        store
            .journal_step("k1", 0, StepStatus::Done, "{}", &[e], t0)
            .await
            .expect("step"),
        0
    );
    assert_eq!(store.event_count().await.expect("count"), 1);
}

async fn journal_latest_finds_the_newest_run_of_a_request(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00Z");
    assert_eq!(store.journal_latest("op:abc").await.expect("read"), None);
    // The request, and two others whose keys share a prefix with it.
    for (key, plan) in [
        ("op:abc", "{\"r\":0}"),
        ("op:abc0", "{\"r\":\"other\"}"),
        ("op:ab", "{\"r\":\"other\"}"),
    ] {
        store.journal_plan(key, plan, t0).await.expect("plan");
    }
    let latest = store.journal_latest("op:abc").await.expect("read");
    assert_eq!(latest.map(|p| p.key).as_deref(), Some("op:abc"));
    for run in ["op:abc~0002", "op:abc~0010", "op:abc~0003"] {
        store.journal_plan(run, "{}", t0).await.expect("plan");
    }
    let latest = store.journal_latest("op:abc").await.expect("read");
    assert_eq!(latest.map(|p| p.key).as_deref(), Some("op:abc~0010"));
    assert_eq!(
        store
            .journal_latest("op:ab")
            .await
            .expect("read")
            .map(|p| p.key)
            .as_deref(),
        Some("op:ab")
    );
}

async fn leases_admit_one_runner_at_a_time(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00Z");
    let ttl = SignedDuration::from_secs(60);
    // `runner` asks for plan `plan`'s lease at `at`, for `ttl`.
    let lease = |plan: &'static str, runner: &'static str, at: Timestamp| async move {
        store
            .journal_lease(plan, runner, at, at + ttl)
            .await
            .expect("lease")
    };
    assert_eq!(lease("p", "a", t0).await, Ok(()));
    // Another runner is refused and told who holds it until when.
    let held = lease("p", "b", t0).await.expect_err("held by a");
    assert_eq!(held.holder, "a");
    assert_eq!(held.expires_at, t0 + ttl);
    // The holder renews; other plans are independent.
    let t1 = t0 + SignedDuration::from_secs(30);
    assert_eq!(lease("p", "a", t1).await, Ok(()));
    assert_eq!(lease("q", "b", t1).await, Ok(()));
    // Still refused just before the renewed lease lapses, taken just after.
    let t2 = t1 + ttl - SignedDuration::from_secs(1);
    assert!(lease("p", "b", t2).await.is_err());
    let t3 = t1 + ttl + SignedDuration::from_secs(1);
    assert_eq!(lease("p", "b", t3).await, Ok(()));
    // Stealing is a compare-and-swap on the holder.
    assert!(
        !store
            .journal_lease_steal("p", "a", "c", t3 + ttl)
            .await
            .expect("steal")
    );
    assert!(
        store
            .journal_lease_steal("p", "b", "c", t3 + ttl)
            .await
            .expect("steal")
    );
    assert!(lease("p", "b", t3).await.is_err());
    // Only the holder releases it.
    store.journal_release("p", "b").await.expect("release");
    assert!(lease("p", "b", t3).await.is_err());
    store.journal_release("p", "c").await.expect("release");
    assert_eq!(lease("p", "b", t3).await, Ok(()));
}

async fn leases_under_contention_have_one_holder(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00Z");
    let until = t0 + SignedDuration::from_secs(60);
    for round in 0..20 {
        let key = format!("race{round}");
        let names: Vec<String> = (0..6).map(|i| format!("runner{i}")).collect();
        let tries = names
            .iter()
            .map(|n| store.journal_lease(&key, n, t0, until));
        let results = futures::future::join_all(tries).await;
        let winners = results
            .into_iter()
            .map(|r| r.expect("lease"))
            .filter(Result::is_ok)
            .count();
        assert_eq!(
            winners, 1,
            "round {round}: exactly one runner holds the lease"
        );
    }
}

async fn confirmations_are_decided_once_while_fresh(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00Z");
    let c = Confirmation {
        id: "plan_0123456789abcdef0123456789abcdef".into(),
        session: "s1".into(),
        plan_json: "{\"steps\":[]}".into(),
        summary: "twilio.numbers.buy: buy +14155550100".into(),
        created_at: t0,
        expires_at: t0 + SignedDuration::from_secs(3600),
        state: ConfirmationState::Pending,
        decided_by: None,
        decided_at: None,
    };
    assert!(store.confirmation_put(&c).await.expect("put"));
    let mut again = c.clone();
    again.summary = "something else".into();
    assert!(
        !store.confirmation_put(&again).await.expect("put"),
        "an id is never overwritten"
    );
    assert_eq!(
        store.confirmation(&c.id).await.expect("read"),
        Some(c.clone())
    );
    assert_eq!(
        store.confirmation("plan_missing").await.expect("read"),
        None
    );
    let expired = Confirmation {
        id: "plan_old".into(),
        expires_at: t0 + SignedDuration::from_secs(10),
        ..c.clone()
    };
    store.confirmation_put(&expired).await.expect("put");
    let t1 = t0 + SignedDuration::from_secs(60);
    let pending = store.confirmations_pending(t1, 10).await.expect("pending");
    assert_eq!(
        pending.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        vec![c.id.as_str()]
    );
    assert!(
        !store
            .confirmation_decide("plan_old", ConfirmationState::Confirmed, "terminal", t1)
            .await
            .expect("decide"),
        "an expired request cannot be confirmed"
    );
    // Two people at once: one decision wins.
    let (a, b) = tokio::join!(
        store.confirmation_decide(&c.id, ConfirmationState::Confirmed, "terminal", t1),
        store.confirmation_decide(&c.id, ConfirmationState::Refused, "dashboard", t1),
    );
    assert_eq!(
        u8::from(a.expect("a")) + u8::from(b.expect("b")),
        1,
        "exactly one decision counts"
    );
    let decided = store
        .confirmation(&c.id)
        .await
        .expect("read")
        .expect("there");
    assert_ne!(decided.state, ConfirmationState::Pending);
    assert_eq!(decided.decided_at, Some(t1));
    assert!(
        store
            .confirmations_pending(t1, 10)
            .await
            .expect("pending")
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Inbox

async fn inbox_reports_new_and_duplicate_per_event(store: &dyn Store) {
    assert!(store.inbox_append(&[]).await.expect("append").is_empty());
    let a = inbox(Service::Stripe, "evt_a", 1_000);
    let b = inbox(Service::Stripe, "evt_b", 2_000);
    let c = inbox(Service::Stripe, "evt_c", 3_000);
    let mut a_again = a.clone();
    a_again.payload = "{\"id\":\"evt_a\",\"resent\":true}".into();
    a_again.received_at = Timestamp::from_millisecond(9_000).expect("ms");
    assert_eq!(
        store
            .inbox_append(&[a.clone(), b.clone(), a_again.clone(), c.clone(), b.clone()])
            .await
            .expect("append"),
        vec![true, true, false, true, false],
        "inside one batch the first is new and the repeats are duplicates"
    );
    // The same key from another service is another event.
    let d = inbox(Service::Stripe, "evt_d", 4_000);
    let twilio_a = inbox(Service::Twilio, "evt_a", 5_000);
    assert_eq!(
        store
            .inbox_append(&[b.clone(), d.clone(), twilio_a.clone(), a_again])
            .await
            .expect("append"),
        vec![false, true, true, false]
    );
    assert_eq!(
        store
            .inbox_append(std::slice::from_ref(&a))
            .await
            .expect("append"),
        vec![false]
    );
    let stored = store.inbox_unprocessed(100).await.expect("unprocessed");
    let events: Vec<&InboxEvent> = stored.iter().map(|r| &r.event).collect();
    assert_eq!(
        events,
        vec![&a, &b, &c, &d, &twilio_a],
        "a duplicate is not stored: the first copy is kept as it was"
    );
}

async fn inbox_counts_and_lookups(store: &dyn Store) {
    assert_eq!(store.inbox_count(None).await.expect("count"), 0);
    assert!(
        !store
            .inbox_has(Service::Stripe, "evt_1")
            .await
            .expect("has")
    );
    let batch = [
        inbox(Service::Stripe, "evt_1", 1),
        inbox(Service::Stripe, "evt_2", 2),
        inbox(Service::Twilio, "evt_1", 3),
        inbox(Service::Stripe, "evt_1", 4),
    ];
    store.inbox_append(&batch).await.expect("append");
    assert_eq!(store.inbox_count(None).await.expect("count"), 3);
    assert_eq!(
        store
            .inbox_count(Some(Service::Stripe))
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .inbox_count(Some(Service::Twilio))
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .inbox_count(Some(Service::Openai))
            .await
            .expect("count"),
        0
    );
    assert!(
        store
            .inbox_has(Service::Stripe, "evt_2")
            .await
            .expect("has")
    );
    assert!(
        store
            .inbox_has(Service::Twilio, "evt_1")
            .await
            .expect("has")
    );
    assert!(
        !store
            .inbox_has(Service::Twilio, "evt_2")
            .await
            .expect("has")
    );
    assert!(
        !store
            .inbox_has(Service::Openai, "evt_1")
            .await
            .expect("has")
    );
    assert!(
        !store
            .inbox_has(Service::Stripe, "EVT_1")
            .await
            .expect("has"),
        "keys are exact"
    );
    // Processing does not remove: counts and lookups cover processed rows too.
    process_all(store, 10, ts("2026-11-26T10:00:00Z")).await;
    assert_eq!(store.inbox_count(None).await.expect("count"), 3);
    assert!(
        store
            .inbox_has(Service::Stripe, "evt_1")
            .await
            .expect("has")
    );
}

async fn inbox_unprocessed_in_arrival_order_with_limit(store: &dyn Store) {
    assert!(
        store
            .inbox_unprocessed(10)
            .await
            .expect("unprocessed")
            .is_empty()
    );
    // Arrival order, not receive time: the later batch has the earlier times.
    let mut first = vec![
        inbox(Service::Twilio, "z", 1_764_000_000_123),
        inbox(Service::Stripe, "a", 1_764_000_000_456),
    ];
    first[0].source = Source::Poll;
    first[0].event_type = "message.undelivered".into();
    first[0].payload = "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003".into();
    let second = vec![
        inbox(Service::Openai, "m", 1_000),
        inbox(Service::Stripe, "b", 2_000),
        inbox(Service::Stripe, "c", 3_000),
    ];
    store.inbox_append(&first).await.expect("append");
    store.inbox_append(&second).await.expect("append");
    let all = store.inbox_unprocessed(100).await.expect("unprocessed");
    assert_eq!(keys(&all), ["z", "a", "m", "b", "c"]);
    assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "ids ascend in arrival order"
    );
    assert_eq!(all[0].event, first[0], "every field round-trips");
    assert_eq!(all[1].event, first[1]);
    assert_eq!(
        keys(&store.inbox_unprocessed(2).await.expect("unprocessed")),
        ["z", "a"],
        "the limit keeps the oldest"
    );
    assert!(
        store
            .inbox_unprocessed(0)
            .await
            .expect("unprocessed")
            .is_empty()
    );
    // Times are kept to the millisecond.
    let precise = InboxEvent {
        received_at: ts("2026-11-26T10:00:00.123456789Z"),
        ..inbox(Service::Stripe, "precise", 0)
    };
    store
        .inbox_append(std::slice::from_ref(&precise))
        .await
        .expect("append");
    let back = store.inbox_unprocessed(100).await.expect("unprocessed");
    assert_eq!(
        back.last().map(|r| r.event.received_at),
        Some(ts("2026-11-26T10:00:00.123Z"))
    );
}

async fn inbox_processed_marks_and_appends_together(store: &dyn Store) {
    let now = ts("2026-11-26T10:00:00Z");
    let batch: Vec<InboxEvent> = (0..5)
        .map(|i| inbox(Service::Stripe, &format!("evt_{i}"), i))
        .collect();
    store.inbox_append(&batch).await.expect("append");
    let rows = store.inbox_unprocessed(100).await.expect("unprocessed");
    let failures = [
        ev(
            Service::Stripe,
            "card_declined",
            "ch_0",
            "2026-11-26T09:00:00Z",
        ),
        ev(
            Service::Stripe,
            "expired_card",
            "ch_1",
            "2026-11-26T09:01:00Z",
        ),
    ];
    // Rows 0 and 1 became two failures.
    store
        .inbox_processed(&[rows[0].id, rows[1].id], &failures, now)
        .await
        .expect("processed");
    assert_eq!(
        keys(&store.inbox_unprocessed(100).await.expect("unprocessed")),
        ["evt_2", "evt_3", "evt_4"]
    );
    assert_eq!(all_events(store).await, failures.to_vec());
    // Processing them again (a crash after the commit, before the caller noticed) stores no
    // failure twice and changes nothing else.
    store
        .inbox_processed(&[rows[0].id, rows[1].id], &failures, now)
        .await
        .expect("processed again");
    assert_eq!(store.event_count().await.expect("count"), 2);
    assert_eq!(
        keys(&store.inbox_unprocessed(100).await.expect("unprocessed")),
        ["evt_2", "evt_3", "evt_4"]
    );
    // A row that was no failure: marked, nothing appended.
    store
        .inbox_processed(&[rows[3].id], &[], now)
        .await
        .expect("processed");
    assert_eq!(
        keys(&store.inbox_unprocessed(100).await.expect("unprocessed")),
        ["evt_2", "evt_4"]
    );
    assert_eq!(store.event_count().await.expect("count"), 2);
    // Events without rows, and ids that are not there, are fine.
    let extra = ev(
        Service::Stripe,
        "processing_error",
        "ch_9",
        "2026-11-26T09:02:00Z",
    );
    store
        .inbox_processed(&[], std::slice::from_ref(&extra), now)
        .await
        .expect("processed");
    store
        .inbox_processed(&[i64::MAX], &[], now)
        .await
        .expect("processed");
    assert_eq!(store.event_count().await.expect("count"), 3);
    assert_eq!(
        keys(&store.inbox_unprocessed(100).await.expect("unprocessed")),
        ["evt_2", "evt_4"]
    );
    // Many rows at once, with repeats among the failures.
    store
        .inbox_processed(
            &[rows[2].id, rows[4].id, rows[2].id],
            &[extra.clone(), failures[0].clone(), extra],
            now,
        )
        .await
        .expect("processed");
    assert!(
        store
            .inbox_unprocessed(100)
            .await
            .expect("unprocessed")
            .is_empty()
    );
    assert_eq!(store.event_count().await.expect("count"), 3);
    assert_eq!(store.inbox_count(None).await.expect("count"), 5);
}

async fn inbox_group_commit_of_hundreds(store: &dyn Store) {
    const N: usize = 600;
    // 100 already stored (every sixth key), then one batch of N where every tenth event
    // repeats the one just before it.
    let stored: Vec<InboxEvent> = (0..N)
        .step_by(6)
        .map(|i| inbox(Service::Stripe, &format!("evt_{i:04}"), 1))
        .collect();
    assert!(
        store
            .inbox_append(&stored)
            .await
            .expect("append")
            .iter()
            .all(|new| *new)
    );
    let mut batch = Vec::with_capacity(N);
    let mut want = Vec::with_capacity(N);
    for i in 0..N {
        if i % 10 == 9 {
            batch.push(inbox(Service::Stripe, &format!("evt_{:04}", i - 1), 2));
            want.push(false);
        } else {
            batch.push(inbox(Service::Stripe, &format!("evt_{i:04}"), 2));
            want.push(i % 6 != 0);
        }
    }
    let started = Instant::now();
    let got = store.inbox_append(&batch).await.expect("append");
    println!("inbox_append of {N} events: {:?}", started.elapsed());
    assert_eq!(got.len(), N);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "event {i} ({})", batch[i].dedup_key);
    }
    let new = want.iter().filter(|w| **w).count();
    assert_eq!(
        store.inbox_count(None).await.expect("count"),
        u64::try_from(stored.len() + new).expect("count")
    );
    // The new ones follow the stored ones, in batch order.
    let rows = store.inbox_unprocessed(10_000).await.expect("unprocessed");
    let expected: Vec<&str> = stored
        .iter()
        .map(|e| e.dedup_key.as_str())
        .chain(
            batch
                .iter()
                .zip(&want)
                .filter(|(_, w)| **w)
                .map(|(e, _)| e.dedup_key.as_str()),
        )
        .collect();
    assert_eq!(keys(&rows), expected);
}

async fn inbox_concurrent_batches_store_each_event_once(store: &dyn Store) {
    // Four receivers' group commits at once, overlapping: each key is new exactly once.
    let batch = |offset: usize| -> Vec<InboxEvent> {
        (offset..offset + 50)
            .map(|i| inbox(Service::Twilio, &format!("tok_{i:03}"), 7))
            .collect()
    };
    let (b0, b1, b2, b3) = (batch(0), batch(25), batch(50), batch(10));
    let (r0, r1, r2, r3) = tokio::join!(
        store.inbox_append(&b0),
        store.inbox_append(&b1),
        store.inbox_append(&b2),
        store.inbox_append(&b3),
    );
    let mut new_per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for (batch, result) in [(&b0, r0), (&b1, r1), (&b2, r2), (&b3, r3)] {
        let result = result.expect("append");
        assert_eq!(result.len(), batch.len());
        for (e, new) in batch.iter().zip(result) {
            *new_per_key.entry(e.dedup_key.as_str()).or_default() += usize::from(new);
        }
    }
    assert_eq!(new_per_key.len(), 100);
    assert!(
        new_per_key.values().all(|n| *n == 1),
        "each key new exactly once: {new_per_key:?}"
    );
    assert_eq!(store.inbox_count(None).await.expect("count"), 100);
}

// ---------------------------------------------------------------------------------------------
// Retention

/// Every inbox row's payload as stored, by dedup key, read past the trait (which never returns
/// a processed row's payload).
async fn raw_payloads(backend: &Backend) -> BTreeMap<String, String> {
    use sqlx::Connection as _;
    const SQL: &str = "SELECT dedup_key, payload FROM inbox";
    let rows: Vec<(String, String)> = match backend {
        Backend::Sqlite { url, .. } => {
            let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
            sqlx::query_as(SQL).fetch_all(&mut c).await.expect("select")
        }
        Backend::Postgres(PgSchema { url, .. }) => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query_as(SQL).fetch_all(&mut c).await.expect("select")
        }
    };
    rows.into_iter().collect()
}

/// Runs `statements` on a connection of the backend's own (outside the store).
async fn raw_sql(backend: &Backend, statements: &[&str]) {
    use sqlx::Connection as _;
    match backend {
        Backend::Sqlite { url, .. } => {
            let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
            for sql in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
        Backend::Postgres(PgSchema { url, .. }) => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            for sql in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }
}

/// Migration 0007 moved the event's time to the front of its dedup key: a store written before
/// it (its keys in the old form, `service|type|who|code|ts|action`) is rewritten when opened, so
/// the events it holds are still duplicates when they come again, and the keys sort by time.
async fn event_keys_stored_before_migration_7_stay_duplicates(backend: &Backend) {
    let store = backend.open().await;
    let old = ev(Service::Twilio, "30007", "SM1", "2026-11-20T10:00:00Z");
    let no_id = ErrorEvent {
        resource_id: String::new(),
        context: "+14155550100".into(),
        ..ev(Service::Stripe, "card_declined", "", "2026-11-21T10:00:00Z")
    };
    assert_eq!(
        store
            .append_events(&[old.clone(), no_id.clone()])
            .await
            .expect("append"),
        2
    );
    drop(store);
    // Back to the store as version 6 left it: the keys in the old form, 0007 not yet applied.
    raw_sql(
        backend,
        &[
            "UPDATE events SET dedup_key = service || '|' || resource_type || '|' \
             || (CASE WHEN resource_id = '' THEN context ELSE resource_id END) || '|' \
             || error_code || '|' || CAST(ts_unix AS TEXT) || '|' || action_taken",
            "DELETE FROM _sqlx_migrations WHERE version = 7",
        ],
    )
    .await;
    let store = backend.open().await;
    assert_eq!(
        store
            .append_events(&[old.clone(), no_id.clone()])
            .await
            .expect("append again"),
        0,
        "events stored before the migration are duplicates after it"
    );
    assert_eq!(store.event_count().await.expect("count"), 2);
    let later = ev(Service::Twilio, "30007", "SM1", "2026-11-20T10:00:01Z");
    assert_eq!(
        store.append_events(&[later]).await.expect("append"),
        1,
        "a new time is a new event"
    );
    drop(store);
    use sqlx::Connection as _;
    const KEYS: &str = "SELECT dedup_key FROM events ORDER BY dedup_key";
    let keys: Vec<String> = match backend {
        Backend::Sqlite { url, .. } => {
            let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
            sqlx::query_scalar(KEYS)
                .fetch_all(&mut c)
                .await
                .expect("select")
        }
        Backend::Postgres(PgSchema { url, .. }) => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query_scalar(KEYS)
                .fetch_all(&mut c)
                .await
                .expect("select")
        }
    };
    let expected = |e: &ErrorEvent| apiops_store::dedup_key(e);
    assert_eq!(
        keys,
        vec![
            expected(&old),
            expected(&ev(Service::Twilio, "30007", "SM1", "2026-11-20T10:00:01Z")),
            expected(&no_id),
        ],
        "every key in the time-first form, in time order"
    );
    assert!(
        keys[2].starts_with(&format!(
            "{}|stripe|message|+14155550100|card_declined|",
            no_id.timestamp.as_second()
        )),
        "{keys:?}"
    );
}

async fn retention_empties_old_processed_payloads_only(backend: &Backend) {
    let store = backend.open().await;
    let t = |s: u64| Timestamp::from_second(1_764_000_000 + s as i64).expect("time");
    let at = |key: &str, secs: u64| InboxEvent {
        received_at: t(secs),
        ..inbox(Service::Stripe, key, 0)
    };
    let rows = [
        at("old_done_1", 10),
        at("old_done_2", 20),
        at("old_done_3", 30),
        InboxEvent {
            service: Service::Twilio,
            ..at("old_done_twilio", 15)
        },
        at("old_open", 5),
        at("recent_done", 1_000),
    ];
    store.inbox_append(&rows).await.expect("append");
    let done: Vec<i64> = store
        .inbox_unprocessed(100)
        .await
        .expect("unprocessed")
        .into_iter()
        .filter(|r| r.event.dedup_key != "old_open")
        .map(|r| r.id)
        .collect();
    store
        .inbox_processed(&done, &[], t(2_000))
        .await
        .expect("processed");
    let cutoff = t(500);
    assert_eq!(
        store.inbox_prune_payloads(cutoff, 0).await.expect("prune"),
        0
    );
    // Four rows to prune, two at a time: full, full, then short.
    let mut batches = Vec::new();
    loop {
        let n = store.inbox_prune_payloads(cutoff, 2).await.expect("prune");
        batches.push(n);
        if n < 2 {
            break;
        }
    }
    assert_eq!(
        batches,
        [2, 2, 0],
        "the limit holds and nothing is pruned twice"
    );
    let payloads = raw_payloads(backend).await;
    for key in ["old_done_1", "old_done_2", "old_done_3", "old_done_twilio"] {
        assert_eq!(payloads[key], "", "{key}: processed before the cutoff");
    }
    for key in ["old_open", "recent_done"] {
        assert_eq!(
            payloads[key],
            format!("{{\"id\":\"{key}\"}}"),
            "{key} is kept"
        );
    }
    // The rows themselves stay: counted, found, and the unprocessed one still readable whole.
    assert_eq!(store.inbox_count(None).await.expect("count"), 6);
    assert!(
        store
            .inbox_has(Service::Stripe, "old_done_1")
            .await
            .expect("has")
    );
    let open = store.inbox_unprocessed(100).await.expect("unprocessed");
    assert_eq!(keys(&open), ["old_open"]);
    assert_eq!(
        open[0].event, rows[4],
        "an unprocessed row is never touched"
    );
    // Later, the recent one is old enough too; the unprocessed one still is not touched.
    assert_eq!(
        store
            .inbox_prune_payloads(t(1_000_000), 100)
            .await
            .expect("prune"),
        1
    );
    let payloads = raw_payloads(backend).await;
    assert_eq!(payloads["recent_done"], "");
    assert_eq!(payloads["old_open"], "{\"id\":\"old_open\"}");
    drop(store);
}

async fn retention_keeps_a_pruned_event_a_duplicate(store: &dyn Store) {
    let received = ts("2026-01-01T00:00:00Z");
    let original = InboxEvent {
        received_at: received,
        ..inbox(Service::Stripe, "evt_late", 0)
    };
    store
        .inbox_append(std::slice::from_ref(&original))
        .await
        .expect("append");
    process_all(store, 10, received).await;
    assert_eq!(
        store
            .inbox_prune_payloads(ts("2026-03-01T00:00:00Z"), 10)
            .await
            .expect("prune"),
        1
    );
    // The provider re-delivers it months later, alone and beside a new event.
    let redelivered = InboxEvent {
        received_at: ts("2026-04-01T00:00:00Z"),
        ..original.clone()
    };
    assert_eq!(
        store
            .inbox_append(std::slice::from_ref(&redelivered))
            .await
            .expect("append"),
        [false]
    );
    let fresh = inbox(Service::Stripe, "evt_fresh", 0);
    assert_eq!(
        store
            .inbox_append(&[redelivered, fresh])
            .await
            .expect("append"),
        [false, true]
    );
    assert_eq!(store.inbox_count(None).await.expect("count"), 2);
    assert_eq!(
        keys(&store.inbox_unprocessed(10).await.expect("unprocessed")),
        ["evt_fresh"],
        "the duplicate is not queued for processing again"
    );
}

async fn retention_deletes_old_events_in_batches(store: &dyn Store) {
    let events: Vec<ErrorEvent> = [
        ("SM1", "2026-01-01T00:00:00Z"),
        ("SM2", "2026-01-02T00:00:00Z"),
        ("SM3", "2026-01-03T00:00:00Z"),
        ("SM4", "2026-01-31T23:59:59Z"),
        ("SM5", "2026-02-01T00:00:00Z"),
        ("SM6", "2026-03-01T00:00:00Z"),
    ]
    .iter()
    .map(|(id, at)| ev(Service::Twilio, "30003", id, at))
    .collect();
    store.append_events(&events).await.expect("append");
    let cutoff = ts("2026-02-01T00:00:00Z");
    assert_eq!(store.events_prune(cutoff, 0).await.expect("prune"), 0);
    assert_eq!(store.events_prune(cutoff, 3).await.expect("prune"), 3);
    assert_eq!(
        read(store, EventFilter::default()).await,
        ["SM4", "SM5", "SM6"],
        "the oldest go first"
    );
    assert_eq!(store.events_prune(cutoff, 3).await.expect("prune"), 1);
    assert_eq!(store.events_prune(cutoff, 3).await.expect("prune"), 0);
    assert_eq!(
        read(store, EventFilter::default()).await,
        ["SM5", "SM6"],
        "an event at the cutoff is kept"
    );
    // Pruning is only by time: the remaining events still deduplicate and read as before.
    assert_eq!(
        store
            .append_events(std::slice::from_ref(&events[5]))
            .await
            .expect("append"),
        0
    );
    assert_eq!(store.event_count().await.expect("count"), 2);
}

// ---------------------------------------------------------------------------------------------
// Cursors

async fn cursors_are_set_and_replaced(store: &dyn Store) {
    let t0 = ts("2026-11-26T10:00:00Z");
    assert_eq!(store.cursor("stripe.events").await.expect("cursor"), None);
    store
        .set_cursor("stripe.events", "evt_100", t0)
        .await
        .expect("set");
    store
        .set_cursor("twilio.alerts", "2026-11-26T09:00:00Z", t0)
        .await
        .expect("set");
    assert_eq!(
        cursor_of(store, "stripe.events").await.as_deref(),
        Some("evt_100")
    );
    store
        .set_cursor(
            "stripe.events",
            "evt_200",
            t0 + SignedDuration::from_secs(60),
        )
        .await
        .expect("set");
    assert_eq!(
        cursor_of(store, "stripe.events").await.as_deref(),
        Some("evt_200")
    );
    assert_eq!(
        cursor_of(store, "twilio.alerts").await.as_deref(),
        Some("2026-11-26T09:00:00Z")
    );
    store.set_cursor("empty", "", t0).await.expect("set");
    assert_eq!(
        store.cursor("empty").await.expect("cursor").as_deref(),
        Some("")
    );
    assert_eq!(store.cursor("Stripe.events").await.expect("cursor"), None);
}

// ---------------------------------------------------------------------------------------------
// Persistence

async fn everything_survives_reopening(backend: &Backend) {
    let t0 = ts("2026-11-26T10:00:00Z");
    let failure = ev(
        Service::Stripe,
        "card_declined",
        "ch_1",
        "2026-11-26T09:00:00Z",
    );
    let kept = ev(Service::Twilio, "30003", "SM1", "2026-11-26T08:00:00Z");
    let a = inbox(Service::Stripe, "evt_a", 1_000);
    let b = inbox(Service::Stripe, "evt_b", 2_000);
    let plan;
    {
        let store = backend.open().await;
        store
            .append_events(std::slice::from_ref(&kept))
            .await
            .expect("append");
        plan = store
            .journal_plan("k1", "{\"v\":1}", t0)
            .await
            .expect("plan");
        store
            .journal_step("k1", 0, StepStatus::Done, "{\"sid\":\"PN1\"}", &[], t0)
            .await
            .expect("step");
        store
            .journal_step("k1", 1, StepStatus::Started, "{}", &[], t0)
            .await
            .expect("step");
        assert_eq!(
            store
                .inbox_append(&[a.clone(), b.clone()])
                .await
                .expect("append"),
            vec![true, true]
        );
        let rows = store.inbox_unprocessed(10).await.expect("unprocessed");
        store
            .inbox_processed(&[rows[0].id], std::slice::from_ref(&failure), t0)
            .await
            .expect("processed");
        store
            .set_cursor("stripe.events", "evt_b", t0)
            .await
            .expect("set");
    }
    // Reopened: migrations run again without harm and every write is there.
    let store = backend.open().await;
    assert_eq!(
        all_events(&*store).await,
        vec![kept.clone(), failure.clone()]
    );
    assert_eq!(store.journaled_plan("k1").await.expect("read"), Some(plan));
    assert_eq!(
        states(&store.journal_steps("k1").await.expect("steps")),
        vec![
            (0, StepStatus::Done, "{\"sid\":\"PN1\"}"),
            (1, StepStatus::Started, "{}")
        ]
    );
    let rows = store.inbox_unprocessed(10).await.expect("unprocessed");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].event, b);
    assert_eq!(
        store
            .inbox_append(&[a, b, inbox(Service::Stripe, "evt_c", 3_000)])
            .await
            .expect("append"),
        vec![false, false, true],
        "deduplication holds across reopening"
    );
    assert_eq!(
        cursor_of(&*store, "stripe.events").await.as_deref(),
        Some("evt_b")
    );
    assert_eq!(
        store.append_events(&[kept, failure]).await.expect("append"),
        0
    );
    // New ids continue after the old ones.
    let rows = store.inbox_unprocessed(10).await.expect("unprocessed");
    assert_eq!(keys(&rows), ["evt_b", "evt_c"]);
    assert!(rows[0].id < rows[1].id);
}

async fn two_handles_share_one_store(backend: &Backend) {
    // Two opens at once (two instances starting together: migrations must not collide).
    let (one, two) = tokio::join!(backend.open(), backend.open());
    let t0 = ts("2026-11-26T10:00:00Z");
    assert_eq!(
        one.inbox_append(&[inbox(Service::Stripe, "evt_a", 1)])
            .await
            .expect("append"),
        vec![true]
    );
    assert_eq!(
        two.inbox_append(&[
            inbox(Service::Stripe, "evt_a", 2),
            inbox(Service::Stripe, "evt_b", 2)
        ])
        .await
        .expect("append"),
        vec![false, true],
        "a duplicate is seen across instances"
    );
    let first = one.journal_plan("k", "{\"by\":1}", t0).await.expect("plan");
    let second = two.journal_plan("k", "{\"by\":2}", t0).await.expect("plan");
    assert_eq!(first, second, "the first writer wins across instances");
    two.set_cursor("c", "v2", t0).await.expect("set");
    assert_eq!(
        one.cursor("c").await.expect("cursor").as_deref(),
        Some("v2")
    );
    assert_eq!(one.inbox_count(None).await.expect("count"), 2);
}

async fn checks_are_recorded_and_read_newest_first(store: &dyn Store) {
    let at = |m: i64| Timestamp::from_millisecond(1_764_100_000_000 + m).expect("ms");
    for (i, (job, service, status)) in [
        ("health", Some(Service::Twilio), "operational"),
        ("health", Some(Service::Stripe), "degraded"),
        ("errors", None, "ok"),
        ("health", Some(Service::Twilio), "down"),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .record_check(&apiops_store::CheckRecord {
                job: job.into(),
                service,
                ran_at: at(i as i64 * 1000),
                status: status.into(),
                summary: format!("{{\"n\":{i}}}"),
                instance: "a".into(),
            })
            .await
            .expect("record");
    }
    let health = store.checks(Some("health"), at(0), 10).await.expect("read");
    let statuses: Vec<&str> = health.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(statuses, ["down", "degraded", "operational"]);
    assert_eq!(health[0].service, Some(Service::Twilio));
    assert_eq!(health[0].ran_at, at(3000));
    let recent = store.checks(None, at(1500), 10).await.expect("read");
    assert_eq!(recent.len(), 2);
    assert_eq!(store.checks(None, at(0), 1).await.expect("read").len(), 1);
    assert_eq!(recent[1].job, "errors");
    assert_eq!(recent[1].service, None);
}

async fn each_slot_is_claimed_once_even_under_contention(store: &dyn Store) {
    let now = ts("2026-11-26T02:00:00Z");
    let claims = futures::future::join_all((0..8).map(|i| {
        let holder = format!("instance-{i}");
        async move {
            (
                holder.clone(),
                store.claim_slot("health", 42, &holder, now).await,
            )
        }
    }))
    .await;
    let winners: Vec<&String> = claims
        .iter()
        .filter(|(_, r)| matches!(r, Ok(true)))
        .map(|(h, _)| h)
        .collect();
    assert_eq!(winners.len(), 1, "{claims:?}");
    assert!(claims.iter().all(|(_, r)| r.is_ok()));
    assert!(
        store
            .claim_slot("health", 43, "instance-1", now)
            .await
            .expect("claim")
    );
    assert!(
        store
            .claim_slot("errors", 42, "instance-1", now)
            .await
            .expect("claim")
    );
    let holders = store.slot_holders("health", 42).await.expect("holders");
    assert_eq!(holders.len(), 2);
    assert_eq!(holders[0], (42, winners[0].clone()));
    assert_eq!(holders[1], (43, "instance-1".to_owned()));
}

async fn alerts_fire_once_and_resolve_once(store: &dyn Store) {
    use apiops_store::{AlertChange, AlertRecord};
    let at = |s: i64| Timestamp::from_second(1_764_100_000 + s).expect("ts");
    let obs = |firing: bool, t: i64| AlertRecord {
        key: "service_down:twilio".into(),
        rule: "service_down".into(),
        service: Some(Service::Twilio),
        severity: Severity::Critical,
        message: format!("Twilio down (t={t})"),
        firing,
        fired_at: at(t),
        resolved_at: None,
        updated_at: at(t),
    };
    assert_eq!(
        store.alert_observe(&obs(false, 0)).await.expect("observe"),
        AlertChange::Unchanged
    );
    assert!(
        store.alerts(false, 10).await.expect("alerts").is_empty(),
        "a quiet rule is not an alert"
    );
    // Concurrent evaluations of the same firing condition: one of them fires it.
    let first = {
        let o = obs(true, 10);
        futures::future::join_all((0..4).map(|_| store.alert_observe(&o))).await
    };
    let fired = first
        .iter()
        .filter(|c| matches!(c, Ok(AlertChange::Fired)))
        .count();
    assert_eq!(fired, 1, "{first:?}");
    assert_eq!(
        store.alert_observe(&obs(true, 20)).await.expect("observe"),
        AlertChange::Unchanged
    );
    let firing = store.alerts(true, 10).await.expect("alerts");
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0].fired_at, at(10), "fired_at kept while firing");
    assert_eq!(firing[0].updated_at, at(20));
    assert_eq!(
        store.alert_observe(&obs(false, 30)).await.expect("observe"),
        AlertChange::Resolved
    );
    assert_eq!(
        store.alert_observe(&obs(false, 40)).await.expect("observe"),
        AlertChange::Unchanged
    );
    assert!(store.alerts(true, 10).await.expect("alerts").is_empty());
    let all = store.alerts(false, 10).await.expect("alerts");
    assert_eq!(all.len(), 1);
    assert!(!all[0].firing);
    assert_eq!(all[0].resolved_at, Some(at(30)));
    // Firing again starts a new episode.
    assert_eq!(
        store.alert_observe(&obs(true, 50)).await.expect("observe"),
        AlertChange::Fired
    );
    let again = store.alerts(true, 10).await.expect("alerts");
    assert_eq!((again[0].fired_at, again[0].resolved_at), (at(50), None));
}

// ---------------------------------------------------------------------------------------------
// The partial error scan

fn unread(
    service: Service,
    source: &str,
    from: &str,
    to: &str,
    reason: &str,
) -> UnreadWindowRecord {
    UnreadWindowRecord {
        service,
        source: source.to_owned(),
        from: ts(from),
        to: ts(to),
        reason: reason.to_owned(),
    }
}

fn partial(state: &str, windows: Vec<UnreadWindowRecord>) -> PartialScan {
    PartialScan {
        recorded_at: ts("2026-11-26T10:00:00.123Z"),
        state: state.to_owned(),
        windows,
    }
}

async fn partial_scans_are_replaced_read_in_order_and_cleared(store: &dyn Store) {
    assert_eq!(store.partial_scan().await.expect("read"), None);
    // Listed out of time order on purpose: the order given is the order read.
    let first = partial(
        "{\"groups\":[]}",
        vec![
            unread(
                Service::Twilio,
                "messages",
                "2026-11-26T06:00:00.5Z",
                "2026-11-26T07:30:00Z",
                "HTTP 500 from api.twilio.com",
            ),
            unread(
                Service::Stripe,
                "events",
                "2026-11-25T00:00:00Z",
                "2026-11-25T06:00:00Z",
                "circuit open",
            ),
            unread(
                Service::Twilio,
                "alerts",
                "2026-11-26T00:00:00Z",
                "2026-11-26T01:00:00Z",
                "connection reset",
            ),
        ],
    );
    store.partial_scan_put(&first).await.expect("put");
    assert_eq!(store.partial_scan().await.expect("read"), Some(first));

    // A resume that completed two windows keeps only the third, with the merged state.
    let second = partial(
        "{\"groups\":[1]}",
        vec![unread(
            Service::Twilio,
            "alerts",
            "2026-11-26T00:00:00Z",
            "2026-11-26T01:00:00Z",
            "timed out",
        )],
    );
    store.partial_scan_put(&second).await.expect("replace");
    assert_eq!(store.partial_scan().await.expect("read"), Some(second));

    // Nothing left unread: nothing to resume.
    store
        .partial_scan_put(&partial("{}", vec![]))
        .await
        .expect("clear");
    assert_eq!(store.partial_scan().await.expect("read"), None);
}

async fn partial_scans_written_at_once_leave_one_whole(store: &dyn Store) {
    let scans: Vec<PartialScan> = (0..8)
        .map(|i| {
            partial(
                &format!("{{\"writer\":{i}}}"),
                (0..=i)
                    .map(|j| {
                        unread(
                            Service::Openai,
                            "batches",
                            "2026-11-26T00:00:00Z",
                            "2026-11-26T01:00:00Z",
                            &format!("writer {i} window {j}"),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let writes = scans.iter().map(|scan| store.partial_scan_put(scan));
    for r in futures::future::join_all(writes).await {
        r.expect("put");
    }
    let kept = store
        .partial_scan()
        .await
        .expect("read")
        .expect("one is kept");
    assert!(
        scans.contains(&kept),
        "one writer's scan whole, never a mix: {kept:?}"
    );
}

async fn a_partial_scan_survives_reopening(backend: &Backend) {
    let scan = partial(
        "{\"total\":3}",
        vec![unread(
            Service::Stripe,
            "events",
            "2026-11-25T00:00:00Z",
            "2026-11-25T06:00:00Z",
            "HTTP 503",
        )],
    );
    backend
        .open()
        .await
        .partial_scan_put(&scan)
        .await
        .expect("put");
    let store = backend.open().await;
    assert_eq!(store.partial_scan().await.expect("read"), Some(scan));
}
