//! Tests of the SQLite backend beyond the conformance suite: the inbox key sweep, migration 8,
//! and what survives a reopen.

use apiops_core::{ActionTaken, Category, ErrorEvent, EventResult, Service, Severity};
use jiff::Timestamp;

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use super::inbox::{RECENT_KEYS_MIN, SWEEP_STEP};
use super::{SqliteStore, migrator};
use crate::{EventFilter, InboxEvent, StepStatus, Store, StoreError};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_processes_opening_a_new_file_at_once_each_migrate_it_once() {
    // Instances starting together on a new file: without the migration lock, two of them read
    // "migration 8 not applied" and both run it (one failed so in a loaded run). Every round
    // opens six handles at once on a fresh file; each must open and the schema be complete.
    for round in 0..40 {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/store.db", dir.path().display());
        let opens = (0..6).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { SqliteStore::open(&url).await })
        });
        for (i, open) in futures::future::join_all(opens)
            .await
            .into_iter()
            .enumerate()
        {
            let store = open
                .expect("the task ran")
                .unwrap_or_else(|e| panic!("round {round}, handle {i}: {e}"));
            let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(&store.pool)
                .await
                .expect("count");
            assert_eq!(applied as usize, migrator().iter().count(), "round {round}");
        }
    }
}
