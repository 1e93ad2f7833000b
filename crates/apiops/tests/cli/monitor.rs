//! `apiops serve`'s monitor as a process: scheduled health checks against the simulator with
//! injected failures raise the right alerts once, deliver them to local sinks (a generic JSON
//! webhook and a Slack-compatible one) and resolve them when the failures clear; a spike of
//! badly signed webhooks raises `signature_rejects`; and three instances on one PostgreSQL
//! database run each scheduled check exactly once per interval, a killed instance's jobs being
//! taken over within one interval.
//!
//! Intervals are 1 s and every wait is for a condition, with a deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiops_sim::{Fault, FaultRule};
use apiops_store::Store;
use serde_json::Value;

use crate::providers::{Sim, assert_no_secret, base, sim};
use crate::util::Sandbox;

const PG_URL: &str = "APIOPS_TEST_POSTGRES_URL";
const PG_REQUIRED: &str = "APIOPS_TEST_POSTGRES_REQUIRED";

/// A running `apiops serve`.
struct Served {
    child: Child,
    url: String,
    stderr: std::path::PathBuf,
}

impl Served {
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `apiops serve` on a free port with the simulator's Twilio and Stripe credentials;
/// returns once it listens.
fn serve(sb: &Sandbox, s: &Sim, db: &str, name: &str, extra: &[&str]) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiops"));
    cmd.env_clear()
        .env("PATH", sb.root())
        .env("HOME", sb.root())
        .env("XDG_CONFIG_HOME", sb.root().join("xdg-config"))
        .env("XDG_DATA_HOME", sb.root().join("xdg-data"))
        .env("APIOPS_LOG", "warn,apiops::alert=info");
    for (k, v) in &s.env {
        if k.contains("TWILIO") || k.contains("STRIPE") {
            cmd.env(k, v);
        }
    }
    let stderr = sb.root().join(format!("serve-{name}.err"));
    let mut child = cmd
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db,
            "--reconcile-every",
            "0s",
            "--instance",
            name,
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("spawn apiops serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the address");
    let url = match line.trim().strip_prefix("listening on ") {
        Some(u) => u.to_owned(),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "unexpected first line {line:?}; stderr:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
    };
    Served { child, url, stderr }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A local HTTP server recording every JSON body POSTed to `/hook` and `/slack`.
struct SinkServer {
    _rt: tokio::runtime::Runtime,
    base: String,
    got: Arc<Mutex<Vec<(String, Value)>>>,
}

impl SinkServer {
    fn start() -> SinkServer {
        use axum::routing::post;
        let rt = runtime();
        let got: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let record = |path: &'static str, got: Arc<Mutex<Vec<(String, Value)>>>| {
            post(move |axum::Json(v): axum::Json<Value>| {
                let got = Arc::clone(&got);
                async move {
                    got.lock().expect("lock").push((path.to_owned(), v));
                    "ok"
                }
            })
        };
        let app = axum::Router::new()
            .route("/hook", record("/hook", Arc::clone(&got)))
            .route("/slack", record("/slack", Arc::clone(&got)));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SinkServer {
            _rt: rt,
            base: format!("http://{addr}"),
            got,
        }
    }

    /// The JSON notifications the generic webhook received about `key`, as `status` strings.
    fn statuses(&self, key: &str) -> Vec<String> {
        self.got
            .lock()
            .expect("lock")
            .iter()
            .filter(|(p, v)| p == "/hook" && v["key"] == key)
            .map(|(_, v)| v["status"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The Slack texts received that mention `key`.
    fn slack(&self, key: &str) -> Vec<String> {
        self.got
            .lock()
            .expect("lock")
            .iter()
            .filter(|(p, _)| p == "/slack")
            .filter_map(|(_, v)| v["text"].as_str().map(str::to_owned))
            .filter(|t| t.contains(key))
            .collect()
    }

    fn all(&self) -> String {
        self.got
            .lock()
            .expect("lock")
            .iter()
            .map(|(p, v)| format!("{p} {v}\n"))
            .collect()
    }
}

/// Waits for `cond`, at most `secs` seconds.
fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool, context: &dyn Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn block<T>(rt: &tokio::runtime::Runtime, f: impl std::future::Future<Output = T>) -> T {
    rt.block_on(f)
}

/// Client settings that make faults show at once and keep the breaker out of the way (its
/// half-open probing would add a `degraded` phase after the faults clear).
const FAST_CLIENT: &str = r#"
[client]
max_attempts = 1
timeout = "5s"
[breaker]
minimum_calls = 1000
window = 1000
"#;

#[test]
fn injected_failures_fire_alerts_once_reach_the_sinks_and_resolve() {
    let s = sim(base());
    let sb = Sandbox::new();
    let sinks = SinkServer::start();
    sb.write_config(&format!(
        r#"{FAST_CLIENT}
[monitor]
health_every = "1s"
errors_every = "0s"
audit_every = "0s"
down_after = 2
signature_rejects = 3
signature_window = "4s"
webhook_urls = ["{base}/hook"]
slack_urls = ["{base}/slack"]
allow_private_sinks = true
sink_backoff = "100ms"
"#,
        base = sinks.base
    ));
    let db = format!("sqlite://{}/monitor.db", sb.root().display());
    let served = serve(&sb, &s, &db, "solo", &[]);
    let rt = runtime();
    let store = block(&rt, apiops_store::SqliteStore::open(&db)).expect("store");
    let health_checks = |service: &str| {
        block(
            &rt,
            store.checks(Some("health"), jiff::Timestamp::UNIX_EPOCH, 10_000),
        )
        .expect("checks")
        .into_iter()
        .filter(|c| c.service.map(|s| s.as_str()) == Some(service))
        .collect::<Vec<_>>()
    };
    let context = || {
        format!(
            "sinks:\n{}\nserve stderr:\n{}",
            sinks.all(),
            served.stderr()
        )
    };

    // Healthy first: checks are recorded, nothing alerts.
    wait_for(
        "two healthy Twilio checks",
        30,
        || health_checks("twilio").len() >= 2,
        &context,
    );
    let first = &health_checks("twilio")[0];
    assert_eq!(first.status, "operational", "{first:?}");
    assert_eq!(first.instance, "solo");
    let summary: Value = serde_json::from_str(&first.summary).expect("summary JSON");
    assert!(summary["latency_ms"].is_u64(), "{summary}");
    assert!(summary["slot"].is_i64(), "{summary}");
    assert!(
        sinks.statuses("service_down:twilio").is_empty(),
        "{}",
        sinks.all()
    );

    // Twilio's account endpoint answers 503: health is down; after two checks the alert fires.
    s.running
        .script_fault(FaultRule::new(
            Fault::Unavailable,
            "GET",
            "/twilio/api/2010-04-01/Accounts",
        ))
        .expect("fault");
    wait_for(
        "service_down:twilio to fire",
        30,
        || !sinks.statuses("service_down:twilio").is_empty(),
        &context,
    );
    wait_for(
        "the Slack notification",
        10,
        || !sinks.slack("service_down:twilio firing").is_empty(),
        &context,
    );
    // Still down for several more checks: no second notification.
    let down_checks = health_checks("twilio").len();
    wait_for(
        "three more down checks",
        30,
        || health_checks("twilio").len() >= down_checks + 3,
        &context,
    );
    assert_eq!(health_checks("twilio")[0].status, "down");
    assert_eq!(
        sinks.statuses("service_down:twilio"),
        ["firing"],
        "fired more than once\n{}",
        sinks.all()
    );
    let fired: Vec<Value> = sinks
        .got
        .lock()
        .expect("lock")
        .iter()
        .filter(|(p, v)| p == "/hook" && v["key"] == "service_down:twilio")
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(fired[0]["severity"], "critical");
    assert_eq!(fired[0]["service"], "twilio");
    assert_eq!(fired[0]["instance"], "solo");
    assert!(
        fired[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Twilio is down") && m.contains("503")),
        "{}",
        fired[0]
    );
    let firing = block(&rt, store.alerts(true, 100)).expect("alerts");
    assert!(
        firing.iter().any(|a| a.key == "service_down:twilio"),
        "{firing:?}"
    );

    // The faults clear: the next checks are operational and the alert resolves, once.
    s.running.clear_faults();
    wait_for(
        "service_down:twilio to resolve",
        30,
        || sinks.statuses("service_down:twilio") == ["firing", "resolved"],
        &context,
    );
    wait_for(
        "the Slack resolution",
        10,
        || !sinks.slack("service_down:twilio resolved").is_empty(),
        &context,
    );
    let after = health_checks("twilio").len();
    wait_for(
        "two more checks",
        30,
        || health_checks("twilio").len() >= after + 2,
        &context,
    );
    assert_eq!(
        sinks.statuses("service_down:twilio"),
        ["firing", "resolved"]
    );
    let stored = block(&rt, store.alerts(false, 100)).expect("alerts");
    let a = stored
        .iter()
        .find(|a| a.key == "service_down:twilio")
        .expect("stored alert");
    assert!(!a.firing && a.resolved_at.is_some(), "{a:?}");
    // Stripe was never affected.
    assert!(
        sinks.statuses("service_down:stripe").is_empty(),
        "{}",
        sinks.all()
    );
    assert!(
        sinks.statuses("service_degraded:twilio").is_empty(),
        "{}",
        sinks.all()
    );

    // A spike of badly signed webhooks: `signature_rejects` fires once, then resolves when the
    // window has passed.
    block(&rt, async {
        let client = reqwest::Client::new();
        for i in 0..4 {
            let resp = client
                .post(format!("{}/webhooks/stripe", served.url))
                .header("content-type", "application/json")
                .header("stripe-signature", format!("t=1,v1={i:064}"))
                .body(r#"{"id":"evt_forged","type":"charge.failed"}"#)
                .send()
                .await
                .expect("post");
            assert!(resp.status().is_client_error(), "{}", resp.status());
        }
    });
    wait_for(
        "signature_rejects:stripe to fire",
        30,
        || sinks.statuses("signature_rejects:stripe") == ["firing"],
        &context,
    );
    wait_for(
        "signature_rejects:stripe to resolve",
        30,
        || sinks.statuses("signature_rejects:stripe") == ["firing", "resolved"],
        &context,
    );

    let err = served.stderr();
    assert!(err.contains("apiops serve: monitor solo"), "{err}");
    assert!(err.contains("alert firing"), "the log sink: {err}");
    assert_no_secret(&s, &err);
    assert_no_secret(&s, &sinks.all());
}

// ---------------------------------------------------------------------------------------------
// Several instances on PostgreSQL

/// A fresh schema in the test database, dropped when the test passes; `None` (after saying so)
/// when no database is configured.
struct PgSchema {
    admin_url: String,
    schema: String,
    url: String,
}

impl PgSchema {
    fn create(rt: &tokio::runtime::Runtime, test: &str) -> Option<PgSchema> {
        use sqlx::Connection as _;
        let admin_url = match std::env::var(PG_URL) {
            Ok(u) if !u.trim().is_empty() => u,
            _ => {
                let required = std::env::var(PG_REQUIRED).is_ok_and(|v| !v.is_empty() && v != "0");
                assert!(
                    !required,
                    "{PG_URL} is not set but {PG_REQUIRED} is: run the tests through scripts/with-postgres.sh"
                );
                eprintln!(
                    "skipped: {PG_URL} not set (run: bash scripts/with-postgres.sh cargo nextest run -p apiops monitor)"
                );
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .subsec_nanos();
        let schema = format!("m_{test}_{}_{nanos}", std::process::id());
        rt.block_on(async {
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to APIOPS_TEST_POSTGRES_URL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&mut admin)
                .await
                .expect("create schema");
            admin.close().await.expect("close");
        });
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
        Some(PgSchema {
            admin_url,
            schema,
            url,
        })
    }

    fn drop_schema(&self, rt: &tokio::runtime::Runtime) {
        use sqlx::Connection as _;
        rt.block_on(async {
            let mut admin = sqlx::PgConnection::connect(&self.admin_url)
                .await
                .expect("connect");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA {} CASCADE",
                self.schema
            )))
            .execute(&mut admin)
            .await
            .expect("drop schema");
        });
    }
}

#[test]
fn three_instances_on_postgres_run_each_check_once_per_interval_and_take_over_a_killed_one() {
    let rt = runtime();
    let Some(pg) = PgSchema::create(&rt, "three") else {
        return;
    };
    let s = sim(base());
    let sb = Sandbox::new();
    sb.write_config(&format!(
        r#"{FAST_CLIENT}
[monitor]
health_every = "1s"
errors_every = "0s"
audit_every = "0s"
"#
    ));
    // The first instance migrates the schema; the others start on it.
    let mut instances = vec![serve(&sb, &s, &pg.url, "a", &[])];
    instances.push(serve(&sb, &s, &pg.url, "b", &[]));
    instances.push(serve(&sb, &s, &pg.url, "c", &[]));
    let store = block(&rt, apiops_store::PostgresStore::open(&pg.url)).expect("store");
    let holders = |job: &str| -> Vec<(i64, String)> {
        block(&rt, store.slot_holders(job, 0)).expect("slot holders")
    };
    let logs: Vec<std::path::PathBuf> = instances.iter().map(|i| i.stderr.clone()).collect();
    let context = || {
        logs.iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    let now_slot = || jiff::Timestamp::now().as_millisecond().div_euclid(1000);

    // Let the three share the work for a while.
    let start_slot = now_slot();
    wait_for(
        "six health slots after all three started",
        60,
        || {
            holders("health:twilio")
                .iter()
                .filter(|(s, _)| *s > start_slot)
                .count()
                >= 6
        },
        &context,
    );

    // Kill -9 the instance that ran the latest Twilio check.
    let latest = holders("health:twilio");
    let victim = latest.last().expect("a holder").1.clone();
    let index = ["a", "b", "c"]
        .iter()
        .position(|n| *n == victim)
        .expect("a known instance");
    let killed_at_slot = now_slot();
    instances[index].child.kill().expect("kill -9");
    instances[index].child.wait().expect("reap");

    // The next slots, from the one after the kill, go to the survivors.
    wait_for(
        "three health slots after the kill",
        60,
        || {
            ["health:twilio", "health:stripe"].iter().all(|job| {
                holders(job)
                    .iter()
                    .filter(|(s, _)| *s > killed_at_slot)
                    .count()
                    >= 3
            })
        },
        &context,
    );
    for job in ["health:twilio", "health:stripe", "signatures"] {
        let h = holders(job);
        let slots: Vec<i64> = h.iter().map(|(s, _)| *s).collect();
        let first = slots[0];
        let last = *slots.last().expect("slots");
        // One holder per slot (the store's key) and no slot skipped: each interval ran once.
        let distinct: BTreeSet<i64> = slots.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            slots.len(),
            "{job}: a slot claimed twice: {h:?}"
        );
        assert_eq!(
            (last - first + 1) as usize,
            slots.len(),
            "{job}: an interval was skipped: {h:?}"
        );
        // Taken over within one interval: the first slot after the kill has a holder, and it
        // is alive.
        assert!(
            distinct.contains(&(killed_at_slot + 1)),
            "{job}: slot {} after the kill has no holder: {h:?}",
            killed_at_slot + 1
        );
        for (slot, holder) in &h {
            if *slot > killed_at_slot {
                assert_ne!(
                    holder, &victim,
                    "{job}: the killed instance held slot {slot}"
                );
            }
        }
        let mut share: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, holder) in &h {
            *share.entry(holder.as_str()).or_default() += 1;
        }
        eprintln!("{job}: {} slots, shared as {share:?}", h.len());
    }

    // Each health check ran (and was recorded) once per slot, by the slot's holder. Slots
    // claimed so far (but the killed instance's) are all recorded once their runs end.
    let claimed: BTreeMap<&str, BTreeMap<i64, String>> = ["twilio", "stripe"]
        .iter()
        .map(|s| (*s, holders(&format!("health:{s}")).into_iter().collect()))
        .collect();
    let read_checks = || {
        block(
            &rt,
            store.checks(Some("health"), jiff::Timestamp::UNIX_EPOCH, 100_000),
        )
        .expect("checks")
    };
    let recorded = |checks: &[apiops_store::CheckRecord], service: &str, slot: i64| {
        checks.iter().any(|c| {
            c.service.map(|s| s.as_str()) == Some(service)
                && serde_json::from_str::<Value>(&c.summary)
                    .is_ok_and(|v| v["slot"].as_i64() == Some(slot))
        })
    };
    wait_for(
        "the runs of the claimed slots to be recorded",
        30,
        || {
            let checks = read_checks();
            claimed.iter().all(|(service, h)| {
                h.iter()
                    .filter(|(_, holder)| **holder != victim)
                    .all(|(slot, _)| recorded(&checks, service, *slot))
            })
        },
        &context,
    );
    let checks = read_checks();
    for service in ["twilio", "stripe"] {
        let h: BTreeMap<i64, String> = holders(&format!("health:{service}")).into_iter().collect();
        let mut per_slot: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for c in checks
            .iter()
            .filter(|c| c.service.map(|s| s.as_str()) == Some(service))
        {
            let v: Value = serde_json::from_str(&c.summary).expect("summary");
            let slot = v["slot"].as_i64().expect("slot in the summary");
            per_slot.entry(slot).or_default().push(c.instance.clone());
        }
        for (slot, ran) in &per_slot {
            assert_eq!(
                ran.len(),
                1,
                "{service}: slot {slot} ran {} times: {ran:?}",
                ran.len()
            );
            assert_eq!(
                Some(&ran[0]),
                h.get(slot),
                "{service}: slot {slot} run by a non-holder"
            );
        }
        // Every slot claimed before the wait was run, except at most the killed instance's
        // last one (it may have died mid-run).
        let missing: Vec<&i64> = claimed[service]
            .keys()
            .filter(|s| !per_slot.contains_key(s))
            .collect();
        assert!(
            missing.len() <= 1 && missing.iter().all(|s| h[s] == victim),
            "{service}: claimed but never recorded: {missing:?}"
        );
    }

    drop(instances);
    drop(store);
    pg.drop_schema(&rt);
}
