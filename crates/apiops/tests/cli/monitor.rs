//! `apiops serve`'s monitor as a process: scheduled health checks against the simulator with
//! injected failures raise the right alerts once, deliver them to local sinks (a generic JSON
//! webhook and a Slack-compatible one) and resolve them when the failures clear; a spike of
//! badly signed webhooks raises `signature_rejects`; and three instances on one PostgreSQL
//! database run each scheduled check exactly once per interval, a killed instance's jobs being
//! taken over within one interval; and the usage job reads the simulator's spend, records it,
//! publishes it on `/metrics` and raises a passed budget once.
//!
//! Intervals are 1 s and every wait is for a condition, with a deadline.

use std::collections::{BTreeMap, BTreeSet};

use apiops_sim::{Fault, FaultRule};
use apiops_store::Store;
use apiops_store::test_support::PgSchema;
use serde_json::Value;

use crate::util::{
    Received, Receiver, Sandbox, Served, Sim, assert_no_secret, base, runtime, sim, wait_for,
};

/// Starts `apiops serve` on a free port with the simulator's Twilio and Stripe credentials;
/// returns once it listens.
fn serve(sb: &Sandbox, s: &Sim, db: &str, name: &str, extra: &[&str]) -> Served {
    let mut cmd = sb.serve_command("127.0.0.1:0", db);
    cmd.env("APIOPS_LOG", "warn,apiops::alert=info")
        .envs(s.env_for(&["twilio", "stripe"]))
        .args(["--reconcile-every", "0s", "--instance", name])
        .args(extra);
    sb.start_serving(cmd)
}

/// The JSON notifications the generic webhook sink (`/hook`) received about `key`.
/// `apiops serve` running the monitor on a SQLite file of the sandbox, and that store, read
/// from the test.
struct Monitor {
    served: Served,
    rt: tokio::runtime::Runtime,
    store: apiops_store::SqliteStore,
}

impl Monitor {
    /// Serves as `instance` on the sandbox's SQLite `file`.
    fn start(sb: &Sandbox, s: &Sim, file: &str, instance: &str) -> Self {
        let db = sb.sqlite_url(file);
        let served = serve(sb, s, &db, instance, &[]);
        let rt = runtime();
        let store = rt
            .block_on(apiops_store::SqliteStore::open(&db))
            .expect("store");
        Monitor { served, rt, store }
    }

    /// The runs of `job` the monitor recorded for `service`, newest first.
    fn checks(&self, job: &str, service: &str) -> Vec<apiops_store::CheckRecord> {
        let all = self
            .rt
            .block_on(
                self.store
                    .checks(Some(job), jiff::Timestamp::UNIX_EPOCH, 10_000),
            )
            .expect("checks");
        all.into_iter()
            .filter(|c| c.service.map(|s| s.as_str()) == Some(service))
            .collect()
    }

    /// What a failed wait shows: what the sinks received and what serve logged.
    fn context(&self, sinks: &Receiver) -> String {
        format!(
            "sinks:\n{}\nserve stderr:\n{}",
            sinks.all(),
            self.served.stderr()
        )
    }
}

fn notifications(sinks: &Receiver, key: &str) -> Vec<Value> {
    sinks
        .received()
        .iter()
        .filter(|r| r.path == "/hook")
        .map(sink_json)
        .filter(|v| v["key"] == key)
        .collect()
}

/// The generic webhook's notifications about `key`, as `status` strings.
fn statuses(sinks: &Receiver, key: &str) -> Vec<String> {
    notifications(sinks, key)
        .iter()
        .map(|v| v["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The Slack texts received that mention `key`.
fn slack(sinks: &Receiver, key: &str) -> Vec<String> {
    sinks
        .received()
        .iter()
        .filter(|r| r.path == "/slack")
        .filter_map(|r| sink_json(r)["text"].as_str().map(str::to_owned))
        .filter(|t| t.contains(key))
        .collect()
}

/// A sink's body: JSON, sent as JSON.
fn sink_json(r: &Received) -> Value {
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{} got {:?}",
        r.path,
        r.header("content-type")
    );
    r.json()
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

/// A config with [`FAST_CLIENT`] whose monitor runs health checks every second, and no other
/// scheduled job; `monitor` adds to the `[monitor]` section.
fn health_checks_every_second(monitor: &str) -> String {
    format!(
        r#"{FAST_CLIENT}
[monitor]
health_every = "1s"
errors_every = "0s"
audit_every = "0s"
usage_every = "0s"
{monitor}"#
    )
}

#[test]
fn injected_failures_fire_alerts_once_reach_the_sinks_and_resolve() {
    let s = sim(base());
    let sb = Sandbox::new();
    let sinks = Receiver::start();
    sb.write_config(&health_checks_every_second(&format!(
        r#"down_after = 2
signature_rejects = 3
signature_window = "4s"
webhook_urls = ["{base}/hook"]
slack_urls = ["{base}/slack"]
allow_private_sinks = true
sink_backoff = "100ms"
"#,
        base = sinks.base
    )));
    let m = Monitor::start(&sb, &s, "monitor.db", "solo");
    let health_checks = |service: &str| m.checks("health", service);
    let context = || m.context(&sinks);
    let wait_for_slack = |text: &str| {
        wait_for(
            &format!("the Slack notification {text:?}"),
            10,
            || !slack(&sinks, text).is_empty(),
            &context,
        );
    };
    // `n` more Twilio health checks.
    let more_checks = |n: usize| {
        let before = health_checks("twilio").len();
        wait_for(
            &format!("{n} more Twilio checks"),
            30,
            || health_checks("twilio").len() >= before + n,
            &context,
        );
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
        statuses(&sinks, "service_down:twilio").is_empty(),
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
        || !statuses(&sinks, "service_down:twilio").is_empty(),
        &context,
    );
    wait_for_slack("service_down:twilio firing");
    // Still down for several more checks: no second notification.
    more_checks(3);
    assert_eq!(health_checks("twilio")[0].status, "down");
    assert_eq!(
        statuses(&sinks, "service_down:twilio"),
        ["firing"],
        "fired more than once\n{}",
        sinks.all()
    );
    let fired = notifications(&sinks, "service_down:twilio");
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
    let firing = m.rt.block_on(m.store.alerts(true, 100)).expect("alerts");
    assert!(
        firing.iter().any(|a| a.key == "service_down:twilio"),
        "{firing:?}"
    );

    // The faults clear: the next checks are operational and the alert resolves, once.
    s.running.clear_faults();
    wait_for(
        "service_down:twilio to resolve",
        30,
        || statuses(&sinks, "service_down:twilio") == ["firing", "resolved"],
        &context,
    );
    wait_for_slack("service_down:twilio resolved");
    more_checks(2);
    assert_eq!(
        statuses(&sinks, "service_down:twilio"),
        ["firing", "resolved"]
    );
    let stored = m.rt.block_on(m.store.alerts(false, 100)).expect("alerts");
    let a = stored
        .iter()
        .find(|a| a.key == "service_down:twilio")
        .expect("stored alert");
    assert!(!a.firing && a.resolved_at.is_some(), "{a:?}");
    // Stripe was never affected.
    assert!(
        statuses(&sinks, "service_down:stripe").is_empty(),
        "{}",
        sinks.all()
    );
    assert!(
        statuses(&sinks, "service_degraded:twilio").is_empty(),
        "{}",
        sinks.all()
    );

    // A spike of badly signed webhooks: `signature_rejects` fires once, then resolves when the
    // window has passed.
    m.rt.block_on(async {
        let client = reqwest::Client::new();
        for i in 0..4 {
            let resp = client
                .post(format!("{}/webhooks/stripe", m.served.url))
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
        || statuses(&sinks, "signature_rejects:stripe") == ["firing"],
        &context,
    );
    wait_for(
        "signature_rejects:stripe to resolve",
        30,
        || statuses(&sinks, "signature_rejects:stripe") == ["firing", "resolved"],
        &context,
    );

    let err = m.served.stderr();
    assert!(err.contains("apiops serve: monitor solo"), "{err}");
    assert!(err.contains("alert firing"), "the log sink: {err}");
    assert_no_secret(&s, &err);
    assert_no_secret(&s, &sinks.all());
}

// ---------------------------------------------------------------------------------------------
// Several instances on PostgreSQL

#[test]
fn three_instances_on_postgres_run_each_check_once_per_interval_and_take_over_a_killed_one() {
    let rt = runtime();
    let Some(pg) = rt.block_on(PgSchema::create("m", "three")) else {
        return;
    };
    let s = sim(base());
    let sb = Sandbox::new();
    sb.write_config(&health_checks_every_second(""));
    // The first instance migrates the schema; the others start on it.
    let mut instances = vec![serve(&sb, &s, &pg.url, "a", &[])];
    instances.push(serve(&sb, &s, &pg.url, "b", &[]));
    instances.push(serve(&sb, &s, &pg.url, "c", &[]));
    let store = rt
        .block_on(apiops_store::PostgresStore::open(&pg.url))
        .expect("store");
    let holders = |job: &str| -> Vec<(i64, String)> {
        rt.block_on(store.slot_holders(job, 0))
            .expect("slot holders")
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
            ["health:twilio", "health:stripe", "signatures"]
                .iter()
                .all(|job| {
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
        // One holder per slot (the store's key): no interval ran twice. A slot may go
        // unclaimed when every instance is late (the scheduler claims only the current slot),
        // so gaps are not counted: the wait above showed the survivors taking over.
        let distinct: BTreeSet<i64> = slots.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            slots.len(),
            "{job}: a slot claimed twice: {h:?}"
        );
        assert!(
            h.iter()
                .any(|(slot, holder)| *slot > killed_at_slot && holder != &victim),
            "{job}: no survivor took a slot after the kill: {h:?}"
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
        rt.block_on(store.checks(Some("health"), jiff::Timestamp::UNIX_EPOCH, 100_000))
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
    rt.block_on(pg.drop_schema());
}

/// The simulator's traffic (all of it in the last minute, so all of it this month) costs more
/// than a budget of 1 USD a month: the usage job, every second, records Twilio's spend per day,
/// publishes it on `/metrics`, and `budget:twilio` reaches the sink once however many runs
/// follow. Stripe's spend (its fees) is read and recorded too; no budget, no alert.
#[test]
fn the_usage_job_records_the_simulators_spend_and_a_passed_budget_alerts_once() {
    let s = sim(apiops_sim::SimConfig {
        messages: 400,
        history: std::time::Duration::from_secs(60),
        ..base()
    });
    let sb = Sandbox::new();
    let sinks = Receiver::start();
    sb.write_config(&format!(
        r#"{FAST_CLIENT}
[monitor]
health_every = "0s"
errors_every = "0s"
audit_every = "0s"
usage_every = "1s"
budgets = {{ twilio = "1 USD/month" }}
usage_anomaly_factor = 0.0
webhook_urls = ["{base}/hook"]
allow_private_sinks = true
sink_backoff = "100ms"
"#,
        base = sinks.base
    ));
    let m = Monitor::start(&sb, &s, "usage.db", "usage");
    let usage_checks = |service: &str| m.checks("usage", service);
    let context = || m.context(&sinks);
    wait_for(
        "four Twilio usage runs and two of Stripe",
        60,
        || usage_checks("twilio").len() >= 4 && usage_checks("stripe").len() >= 2,
        &context,
    );
    let twilio = &usage_checks("twilio")[0];
    assert_eq!(twilio.status, "ok", "{twilio:?}");
    let summary: Value = serde_json::from_str(&twilio.summary).expect("summary");
    let month: f64 = summary["periods"]["month"]["spend"]["USD"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("this month's spend in USD");
    assert!(month > 1.0, "{summary}");
    assert_eq!(summary["budget"]["budget"], "1 USD/month");
    assert!(
        summary["days"].as_array().is_some_and(|d| d.len() >= 30),
        "{summary}"
    );
    let stripe = &usage_checks("stripe")[0];
    assert_eq!(stripe.status, "ok", "{stripe:?}");
    wait_for(
        "budget:twilio to reach the sink",
        20,
        || !statuses(&sinks, "budget:twilio").is_empty(),
        &context,
    );
    let fired = notifications(&sinks, "budget:twilio");
    assert!(
        fired[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("over its budget of 1 USD/month")),
        "{fired:?}"
    );
    // More runs: still one notification.
    let before = usage_checks("twilio").len();
    wait_for(
        "three more Twilio usage runs",
        30,
        || usage_checks("twilio").len() >= before + 3,
        &context,
    );
    assert_eq!(
        statuses(&sinks, "budget:twilio"),
        ["firing"],
        "{}",
        sinks.all()
    );
    assert!(statuses(&sinks, "budget:stripe").is_empty());
    // The gauges, labelled by service, currency and period.
    let text = crate::util::block(async {
        reqwest::Client::new()
            .get(format!("{}/metrics", m.served.url))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body")
    });
    for series in [
        r#"apiops_usage_spend{service="twilio",currency="USD",period="month"}"#,
        r#"apiops_usage_spend{service="stripe",currency="USD",period="day"}"#,
        r#"apiops_usage_budget_ratio{service="twilio",currency="USD",period="month"}"#,
        r#"apiops_usage_daily_average{service="twilio",currency="USD"}"#,
    ] {
        assert!(text.contains(series), "{series} not in /metrics:\n{text}");
    }
    assert_no_secret(&s, &sinks.all());
}
