//! `apiops serve` as a process: crash safety under load (kill -9 mid-stream: every event
//! answered 2xx is in the store after restart; re-delivery creates no duplicates), graceful
//! shutdown on SIGTERM, and backfill by the reconciler after downtime.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use apiops_core::Service;
use apiops_sim::emit::{EmitConfig, EmitProvider, EmitReport};
use apiops_store::{SqliteStore, Store};

use crate::util::{Sandbox, Served, base, block, run, sim, wait_for};

const SECRET: &str = "whsec_serve_test_secret_0123456789";

fn db_url(sb: &Sandbox) -> String {
    sb.sqlite_url("serve.db")
}

/// Starts `apiops serve` on a free port; returns when it listens.
fn serve(sb: &Sandbox, extra_env: &[(&str, String)], args: &[&str]) -> Served {
    serve_at(sb, extra_env, "127.0.0.1:0", args)
}

/// Starts `apiops serve` on `port`.
fn serve_on(sb: &Sandbox, extra_env: &[(&str, String)], port: u16, args: &[&str]) -> Served {
    serve_at(sb, extra_env, &format!("127.0.0.1:{port}"), args)
}

fn serve_at(sb: &Sandbox, extra_env: &[(&str, String)], listen: &str, args: &[&str]) -> Served {
    let mut cmd = sb.serve_command(listen, &db_url(sb));
    cmd.env("STRIPE_WEBHOOK_SECRET", SECRET)
        .envs(extra_env.iter().map(|(k, v)| (k, v)))
        .args(args);
    sb.start_serving(cmd)
}

fn emit_config(target: &str, count: usize, acked: Option<&Path>) -> EmitConfig {
    EmitConfig {
        target: format!("{target}/webhooks/stripe").parse().expect("url"),
        public_url: None,
        provider: EmitProvider::Stripe,
        count,
        rate: 0.0,
        concurrency: 16,
        duplicate_rate: 0.1,
        bad_signature_rate: 0.0,
        secret: SECRET.into(),
        seed: 11,
        allow_non_loopback: false,
        timeout: Duration::from_secs(5),
        acked_log: acked.map(Path::to_path_buf),
    }
}

fn emit(config: EmitConfig) -> EmitReport {
    block(apiops_sim::emit::emit(config)).expect("emit")
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn store(sb: &Sandbox) -> SqliteStore {
    block(SqliteStore::open(&db_url(sb))).expect("open the store")
}

#[test]
fn every_event_answered_2xx_survives_kill_9_and_redelivery_adds_no_duplicates() {
    let sb = Sandbox::new();
    let acked = sb.root().join("acked.txt");
    let first = serve(&sb, &[], &["--reconcile-every", "0s"]);
    let target = first.url.clone();
    let log = acked.clone();
    let load = std::thread::spawn(move || emit(emit_config(&target, 4_000, Some(&log))));
    // Kill -9 once a good share has been acknowledged, while requests are in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    while lines(&acked).len() < 400 {
        assert!(
            Instant::now() < deadline,
            "the receiver acknowledged too little"
        );
        assert!(!load.is_finished(), "the load ended before the kill");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut first = first;
    first.child.kill().expect("kill -9");
    first.child.wait().expect("reap");
    let report = load.join().expect("emitter");
    assert!(
        report.transport_errors > 0,
        "the kill did not interrupt the load: {report:?}"
    );

    let acknowledged: HashSet<String> = lines(&acked).into_iter().collect();
    // Re-deliveries (10 %) repeat ids: distinct ids are fewer than acknowledgements.
    assert!(acknowledged.len() >= 300, "{}", acknowledged.len());
    let s = store(&sb);
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !block(s.inbox_has(Service::Stripe, id)).expect("has"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let after_crash = block(s.inbox_count(None)).expect("count");
    assert!(after_crash >= acknowledged.len() as u64);
    drop(s);

    // Restart on the same database; the sender re-delivers everything (same ids).
    let second = serve(&sb, &[], &["--reconcile-every", "0s"]);
    let report = emit(emit_config(&second.url, 4_000, None));
    assert_eq!(
        report.transport_errors + report.server_errors,
        0,
        "{report:?}"
    );
    let s = store(&sb);
    let stored = block(s.inbox_count(None)).expect("count");
    assert_eq!(
        stored, report.distinct_acknowledged as u64,
        "every distinct event exactly once"
    );
    drop(s);

    // SIGTERM: in-flight commits finish, exit 0.
    let mut second = second;
    let pid = second.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = second.child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0));
    let err = second.stderr();
    assert!(err.contains("stopped cleanly"), "{err}");
    assert!(!err.contains(SECRET), "a secret in the logs");
}

#[test]
fn serve_without_any_webhook_secret_is_a_clear_error() {
    let sb = Sandbox::new();
    let out = run(sb.apiops().args(["serve", "--listen", "127.0.0.1:0"]));
    assert_eq!(out.code, Some(8));
    assert!(
        out.stderr.contains("STRIPE_WEBHOOK_SECRET"),
        "{}",
        out.stderr
    );
}

/// A free port on 127.0.0.1 (bound, then released for the receiver to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn after_downtime_the_reconciler_backfills_missed_events_exactly_once() {
    let s = sim(apiops_sim::SimConfig {
        anchor: apiops_sim::config::current_hour() - jiff::SignedDuration::from_hours(3),
        ..base()
    });
    let sb = Sandbox::new();
    let port = free_port();
    let receiver = format!("http://127.0.0.1:{port}/webhooks/stripe");
    // Stripe sends every event to our receiver's endpoint.
    block(async {
        let resp = reqwest::Client::new()
            .post(format!(
                "{}/v1/webhook_endpoints",
                s.env["APIOPS_STRIPE_API_URL"]
            ))
            .bearer_auth(&s.env["STRIPE_SECRET_KEY"])
            .form(&[("url", receiver.as_str()), ("enabled_events[]", "*")])
            .send()
            .await
            .expect("create endpoint");
        assert!(
            resp.status().is_success(),
            "{}",
            resp.text().await.unwrap_or_default()
        );
    });

    // The receiver is down: events happen, their deliveries fail.
    let missed = block(s.running.stripe_events_happen(6, Some("charge.failed"))).expect("events");
    let alerts = s
        .running
        .twilio_alerts_happen(2, Some(30007))
        .expect("alerts");
    assert_eq!(missed.len(), 6);
    let env: Vec<(&str, String)> = s
        .env_for(&["twilio", "stripe"])
        .map(|(k, v)| (k, v.clone()))
        .collect();

    // Up again: the reconciler's first pass (at start) backfills them.
    let served = serve_on(
        &sb,
        &env,
        port,
        &["--backfill", "30m", "--reconcile-every", "1h"],
    );
    let st = store(&sb);
    wait_for(
        "the reconciler to backfill",
        60,
        || {
            missed
                .iter()
                .all(|id| block(st.inbox_has(Service::Stripe, id)).expect("has"))
                && alerts.iter().all(|sid| {
                    block(st.inbox_has(Service::Twilio, &format!("alert:{sid}"))).expect("has")
                })
        },
        &|| served.stderr(),
    );
    let pass = first_pass(&served.url);
    assert!(pass["stripe_new"].as_u64().unwrap_or(0) >= 6, "{pass}");
    assert_eq!(pass["twilio_new"], 2, "{pass}");
    let backfilled = block(st.inbox_count(None)).expect("count");

    // Stripe retries its deliveries now that the receiver is up: all duplicates.
    let report = block(s.running.stripe_redeliver());
    assert_eq!(report.delivered.len(), missed.len(), "{report:?}");
    assert_eq!(
        block(st.inbox_count(None)).expect("count"),
        backfilled,
        "a redelivery was stored twice"
    );

    // An event while the receiver is up arrives by webhook; a restart's reconcile pass sees it
    // again and stores nothing new.
    let live = block(s.running.stripe_events_happen(1, Some("charge.failed"))).expect("event");
    assert!(block(st.inbox_has(Service::Stripe, &live[0])).expect("has"));
    let with_live = block(st.inbox_count(None)).expect("count");
    assert_eq!(with_live, backfilled + 1);
    drop(served);
    let again = serve_on(
        &sb,
        &env,
        port,
        &["--backfill", "30m", "--reconcile-every", "1h"],
    );
    let last = first_pass(&again.url);
    assert_eq!(
        last["stripe_new"], 0,
        "the restart's pass stored something twice: {last}"
    );
    assert!(last["stripe_seen"].as_u64().unwrap_or(0) >= 7, "{last}");
    assert_eq!(block(st.inbox_count(None)).expect("count"), with_live);
    drop(again);
}

/// Waits (bounded) for the reconciler's first pass and returns its report from
/// /healthz/details (open on this loopback, token-less serve; /healthz itself says only ok).
fn first_pass(url: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health: serde_json::Value = block(async {
            reqwest::get(format!("{url}/healthz/details"))
                .await
                .expect("healthz")
                .json()
                .await
                .expect("json")
        });
        if health["reconciler"]["passes"].as_u64().unwrap_or(0) >= 1 {
            return health["reconciler"]["last"].clone();
        }
        assert!(Instant::now() < deadline, "no reconciler pass: {health}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
