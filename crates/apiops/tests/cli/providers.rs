//! `health`, `errors`, `audit` and `demo` as a user runs them, against the simulator on
//! 127.0.0.1 with realistic data: exit codes, clear messages for missing and wrong credentials,
//! 429 storms, 5xx and malformed bodies, empty histories, the JSON contract, no secret in any
//! output, and a snapshot of the demo's Markdown report.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use apiops_sim::SimConfig;

use crate::util::{
    Sandbox, apiops, assert_no_secret, base, block, group_counts, list_all, run, sim,
};

#[test]
fn health_is_operational_and_exits_zero() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio", "stripe", "openai"]).arg("health"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    for name in ["Twilio", "Stripe", "OpenAI", "✓ Operational"] {
        r.assert_stdout_has(name);
    }
    assert_no_secret(&s, &r.all());
}

#[test]
fn a_wrong_token_is_down_exit_4_with_20003_and_no_token() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio"])
        .env("TWILIO_AUTH_TOKEN", "wrong_token_canary_00000000")
        .args(["health", "twilio"]));
    assert_eq!(r.code, Some(4), "{}", r.all());
    r.assert_stdout_has("20003");
    assert!(!r.all().contains("wrong_token_canary_00000000"));
}

#[test]
fn missing_credentials_name_the_variable_and_exit_8() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio"]).args(["errors", "stripe"]));
    assert_eq!(r.code, Some(8), "{}", r.all());
    r.assert_stderr_has("STRIPE_SECRET_KEY");
    let r = run(sb.apiops().arg("health"));
    assert_eq!(r.code, Some(8), "{}", r.all());
    r.assert_stderr_has("apiops demo");
}

#[test]
fn errors_json_carries_groups_and_events_and_records_them() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio", "stripe", "openai"])
        .args(["errors", "--since", "7d", "--json"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_no_secret(&s, &r.all());
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    let groups = doc["groups"].as_array().expect("groups");
    assert!(groups.len() > 5);
    for g in groups {
        for field in [
            "service",
            "error_code",
            "category",
            "severity",
            "count",
            "suggested_fix",
        ] {
            assert!(!g[field].is_null(), "{field} in {g}");
        }
    }
    let events = doc["events"].as_array().expect("events");
    let total: u64 = groups
        .iter()
        .map(|g| g["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(events.len() as u64, total);
    for e in events.iter().take(50) {
        let obj = e.as_object().expect("event");
        assert_eq!(obj.len(), 10, "{e}");
        for field in [
            "timestamp",
            "service",
            "error_code",
            "category",
            "severity",
            "resource_type",
            "resource_id",
            "context",
            "action_taken",
            "result",
        ] {
            assert!(obj.contains_key(field), "{field}");
        }
    }
    // Ranked: scores never increase down the list.
    let weight = |s: &str| match s {
        "critical" => 10,
        "warning" => 3,
        _ => 1,
    };
    let scores: Vec<u64> = groups
        .iter()
        .map(|g| g["count"].as_u64().unwrap_or(0) * weight(g["severity"].as_str().unwrap_or("")))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // The event log holds what was reported, read back through the store, not just a file
    // that opening the store creates.
    let key = |service: &str, code: &str, id: &str| format!("{service}|{code}|{id}");
    let reported: BTreeSet<String> = events
        .iter()
        .map(|e| {
            let s = |f: &str| e[f].as_str().unwrap_or("").to_owned();
            key(&s("service"), &s("error_code"), &s("resource_id"))
        })
        .collect();
    let stored = block(async {
        let store = apiops_store::open(&sb.sqlite_url("events.db"))
            .await
            .expect("the event log opens");
        store
            .events(&apiops_store::EventFilter::default())
            .await
            .expect("events")
    });
    let stored: BTreeSet<String> = stored
        .iter()
        .map(|e| key(e.service.as_str(), &e.error_code, &e.resource_id))
        .collect();
    assert!(!reported.is_empty());
    assert!(
        reported.is_subset(&stored),
        "every reported event is in the log: missing {:?}",
        reported.difference(&stored).take(5).collect::<Vec<_>>()
    );
}

/// Settings whose data ends a day before now, so a window of the last seconds holds nothing
/// whatever the time of day.
fn ended_yesterday() -> SimConfig {
    SimConfig {
        anchor: apiops_sim::config::current_hour() - jiff::SignedDuration::from_hours(24),
        ..base()
    }
}

#[test]
fn an_empty_history_reports_no_errors() {
    let s = sim(ended_yesterday());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["stripe", "openai"]).args(["errors", "--since", "1h"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("no errors in the period");
    // The same account has errors over a longer period: the empty answer is the window's.
    let r = run(apiops(&sb, &s, &["stripe", "openai"]).args(["errors", "--since", "7d"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        !r.stdout.contains("no errors in the period"),
        "{}",
        r.stdout
    );
}

/// The error groups of `apiops errors --json` as (service, code, count), sorted.
fn groups(stdout: &str) -> Vec<(String, String, u64)> {
    let doc: serde_json::Value = serde_json::from_str(stdout).expect("one JSON document");
    let mut out = group_counts(&doc);
    out.sort();
    out
}

/// What the simulator counted: 429s sent and faults injected.
fn storm_and_faults(s: &crate::util::Sim) -> (u64, u64) {
    let stats = s.running.stats();
    (
        stats.rate_limited.values().sum(),
        stats.faults.values().sum(),
    )
}

#[test]
fn storms_faults_and_malformed_bodies_end_clearly_never_in_a_panic() {
    // The reference: the same account (same seed, same data) served without storm or fault.
    let calm = sim(ended_yesterday());
    let sb = Sandbox::new();
    let services = ["twilio", "stripe", "openai"];
    let errors = ["errors", "--since", "30d", "--json"];
    let r = run(apiops(&sb, &calm, &services).args(errors));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let want = groups(&r.stdout);
    assert!(want.len() > 5, "{want:?}");
    let anchor = ended_yesterday().anchor;

    // A 429 storm: retried through, the answer is whole and exact.
    let s = sim(SimConfig {
        twilio_concurrency: 2,
        latency: Duration::from_millis(20),
        anchor,
        ..base()
    });
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &services).args(errors));
    assert_no_secret(&s, &r.all());
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(
        groups(&r.stdout),
        want,
        "the storm lost or invented nothing"
    );
    assert!(storm_and_faults(&s).0 > 0, "the storm happened");
    let r = run(apiops(&sb, &s, &services).arg("audit"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_no_secret(&s, &r.all());

    // Every answer a fault (5xx, hang, reset, malformed): no window of any service can be
    // read; each is named, and the command says the result is partial with exit 6.
    let s = sim(SimConfig {
        fault_rate: 1.0,
        seed: 9,
        anchor,
        ..base()
    });
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &services)
        .env("APIOPS_CLIENT_TIMEOUT", "2s")
        .args(["errors", "--since", "30d"]));
    assert_no_secret(&s, &r.all());
    assert_eq!(r.code, Some(6), "{}", r.all());
    r.assert_stdout_has("Unread time windows");
    for window in ["Twilio messages", "Stripe events", "OpenAI batches"] {
        assert!(
            r.stdout.lines().any(|l| l.trim_start().starts_with(window)),
            "{window} windows are named:\n{}",
            r.stdout
        );
    }
    let r = run(apiops(&sb, &s, &services)
        .env("APIOPS_CLIENT_TIMEOUT", "2s")
        .arg("audit"));
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert_no_secret(&s, &r.all());
    assert!(storm_and_faults(&s).1 > 0, "faults were injected");

    // Some faults: whole and exact, or partial with the missing windows named.
    let s = sim(SimConfig {
        fault_rate: 0.3,
        anchor,
        ..base()
    });
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &services)
        .env("APIOPS_CLIENT_TIMEOUT", "2s")
        .args(errors));
    assert_no_secret(&s, &r.all());
    assert!(storm_and_faults(&s).1 > 0, "faults were injected");
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    let failed: BTreeSet<&str> = doc["failures"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["service"].as_str()).collect())
        .unwrap_or_default();
    match r.code {
        Some(0) => {
            assert!(failed.is_empty(), "{}", r.stdout);
            assert_eq!(groups(&r.stdout), want, "retried through the faults");
        }
        Some(6) => {
            assert!(failed.is_empty(), "{}", r.stdout);
            assert_eq!(doc["partial"], true, "{}", r.stdout);
            let unread: BTreeSet<&str> = doc["unread"]
                .as_array()
                .map(|u| u.iter().filter_map(|w| w["service"].as_str()).collect())
                .unwrap_or_default();
            assert!(!unread.is_empty(), "exit 6 names the missing windows");
            // What the services read whole report is exact; the others never count more.
            let complete = |g: &(String, String, u64)| !unread.contains(g.0.as_str());
            let got = groups(&r.stdout);
            let whole: Vec<_> = got.iter().filter(|g| complete(g)).cloned().collect();
            let want_whole: Vec<_> = want.iter().filter(|g| complete(g)).cloned().collect();
            assert_eq!(whole, want_whole, "the services read whole");
            for g in got.iter().filter(|g| !complete(g)) {
                assert!(
                    want.iter().any(|w| w.0 == g.0 && w.1 == g.1 && w.2 >= g.2),
                    "{g:?} counted beyond {want:?}"
                );
            }
            // --resume reads the missing windows (through the same faults) until none is left,
            // and the groups are then exactly the calm scan's.
            let mut resumed = None;
            for _ in 0..5 {
                let r = run(apiops(&sb, &s, &services)
                    .env("APIOPS_CLIENT_TIMEOUT", "2s")
                    .args(["errors", "--resume", "--json"]));
                assert_no_secret(&s, &r.all());
                match r.code {
                    Some(0) => {
                        resumed = Some(groups(&r.stdout));
                        break;
                    }
                    Some(6) => {}
                    other => panic!("--resume exit {other:?}: {}", r.all()),
                }
            }
            assert_eq!(resumed, Some(want.clone()), "resumed to the calm groups");
        }
        other => panic!("exit {other:?}: {}", r.all()),
    }
}

#[test]
fn audit_flags_the_planted_misconfigurations() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio", "stripe", "openai"]).args(["audit", "--format", "md"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    for needle in [
        "10.0.0.5",
        "localhost",
        "not HTTPS",
        "disabled",
        "2020-08-27",
        "text-davinci-003",
        "This setting is not available via the public API",
    ] {
        assert!(r.stdout.contains(needle), "{needle} missing:\n{}", r.stdout);
    }
}

/// Replaces what varies between runs (latencies, rate-limit reset times, the simulator's
/// port) for the snapshot.
fn normalize(report: &str) -> String {
    let mut out = String::new();
    for line in report.lines() {
        let line = mask_reads(&mask_resets(line));
        let mut rest = line.as_str();
        while let Some(i) = rest.find(" ms)") {
            let start = rest[..i].rfind('(').unwrap_or(i);
            out.push_str(&rest[..start]);
            out.push_str("(N ms)");
            rest = &rest[i + 4..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}

/// `reads: attempt timeout 30s, hedges 0 sent, ...` -> `reads: R`: the attempt timeout follows
/// the latency seen, the budgets the requests sent.
fn mask_reads(line: &str) -> String {
    match line.find("reads: ") {
        Some(i) => {
            let after = i + "reads: ".len();
            let end = line[after..].find(';').map_or(line.len(), |e| after + e);
            format!("{}R{}", &line[..after], &line[end..])
        }
        None => line.to_owned(),
    }
}

/// `resets in 59.9s` -> `resets in T`: the time to a rate-limit window's end depends on when
/// the request landed in it.
fn mask_resets(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("resets in ") {
        let after = i + "resets in ".len();
        out.push_str(&rest[..after]);
        out.push('T');
        let end = rest[after..]
            .find([';', ',', ')', ' ', '|'])
            .map_or(rest.len(), |e| after + e);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The Stripe event types that report a failure (Stripe's event reference): a failed charge,
/// payment, invoice payment, payout or setup, and a dispute.
const STRIPE_FAILURE_TYPES: [&str; 6] = [
    "charge.failed",
    "payment_intent.payment_failed",
    "invoice.payment_failed",
    "payout.failed",
    "setup_intent.setup_failed",
    "charge.dispute.created",
];

/// The demo's anchor: fixed, so its report is reproducible.
const DEMO_ANCHOR: &str = "2026-11-20T12:00:00Z";

/// `apiops demo` at [`DEMO_ANCHOR`], in Markdown: the run, which succeeded, and its report.
fn demo_report(sb: &Sandbox) -> (crate::util::Run, String) {
    let r = run(sb
        .apiops()
        .args(["demo", "--anchor", DEMO_ANCHOR, "--format", "md"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let report = r.stdout[r.stdout.find("# apiops report").expect("report")..].to_owned();
    (r, report)
}

#[test]
fn the_demo_report_matches_its_snapshot() {
    let sb = Sandbox::new();
    let (r, report) = demo_report(&sb);
    let report = report.as_str();
    // Reviewed like code: `cargo insta review` (or INSTA_UPDATE=always) after a deliberate
    // change; CI never writes it (insta's default there is to fail).
    insta::assert_snapshot!("demo_report", normalize(report));
    for heading in [
        "**Health**",
        "**Period**",
        "| Code | Category | Count | Severity | Suggested Fix |",
        "## Recommendations",
        "1. ",
    ] {
        assert!(report.contains(heading), "{heading}");
    }
    assert!(
        !r.all().contains("sk_test_sim"),
        "no simulator secret whole"
    );
}

/// The rows `| code | category | count | ...` of the error table in `section` (`## Twilio`...)
/// of a Markdown report, as code -> count.
fn table_counts(report: &str, section: &str) -> BTreeMap<String, u64> {
    let start = report
        .find(section)
        .unwrap_or_else(|| panic!("{section} in the report"));
    let rest = &report[start + section.len()..];
    let body = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let table = &body[..body.find("**Configuration**").unwrap_or(body.len())];
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Code") && !l.starts_with("| ---"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].to_owned(), cells[3].parse().expect("a count"))
        })
        .collect()
}

#[test]
fn the_demo_reports_the_failures_the_simulator_planted() {
    let sb = Sandbox::new();
    let (_, report) = demo_report(&sb);
    let report = report.as_str();

    // The demo's simulator (its defaults: seed 1, 20,000 messages), read without apiops.
    let anchor: jiff::Timestamp = DEMO_ANCHOR.parse().expect("anchor");
    let s = sim(SimConfig {
        anchor,
        seed: 1,
        messages: 20_000,
        ..SimConfig::default()
    });
    let until = anchor + jiff::SignedDuration::from_secs(1);
    let since = until - jiff::SignedDuration::from_hours(24);
    let within = |t: Option<jiff::Timestamp>| t.is_some_and(|t| since <= t && t < until);
    let rfc2822 = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|t| jiff::fmt::rfc2822::parse(t).ok())
            .map(|z| z.timestamp())
    };
    let iso = |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let http = reqwest::Client::new();
    let e = &s.env;

    // Twilio: failed and undelivered messages by code, failed calls, and Monitor alerts not
    // about a failure already counted with the same code.
    let (sid, token) = (
        e["TWILIO_ACCOUNT_SID"].clone(),
        e["TWILIO_AUTH_TOKEN"].clone(),
    );
    let basic = |b: reqwest::RequestBuilder| b.basic_auth(&sid, Some(&token));
    let api = e["APIOPS_TWILIO_API_URL"].trim_end_matches('/').to_owned();
    let twilio_next = |page: &serde_json::Value, _: &str| {
        page["next_page_uri"]
            .as_str()
            .map(|n| format!("{api}{n}"))
            .or_else(|| page["meta"]["next_page_url"].as_str().map(str::to_owned))
    };
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    let mut reported = BTreeSet::new();
    for m in list_all(
        &http,
        format!("{api}/2010-04-01/Accounts/{sid}/Messages.json?PageSize=1000"),
        "messages",
        &basic,
        &twilio_next,
    ) {
        if matches!(m["status"].as_str(), Some("failed" | "undelivered"))
            && within(rfc2822(&m["date_sent"]))
        {
            let code = m["error_code"]
                .as_u64()
                .map_or_else(|| "unknown".to_owned(), |c| c.to_string());
            reported.insert(format!("{}:{code}", m["sid"].as_str().unwrap_or("")));
            *want.entry(code).or_default() += 1;
        }
    }
    for c in list_all(
        &http,
        format!("{api}/2010-04-01/Accounts/{sid}/Calls.json?PageSize=1000"),
        "calls",
        &basic,
        &twilio_next,
    ) {
        if c["status"] == "failed" && within(rfc2822(&c["start_time"])) {
            reported.insert(format!("{}:call_failed", c["sid"].as_str().unwrap_or("")));
            *want.entry("call_failed".to_owned()).or_default() += 1;
        }
    }
    let monitor = e["APIOPS_TWILIO_MONITOR_URL"]
        .trim_end_matches('/')
        .to_owned();
    let mut alert_sids = BTreeSet::new();
    let mut alert_abouts = BTreeSet::new();
    for a in list_all(
        &http,
        format!("{monitor}/v1/Alerts?PageSize=1000"),
        "alerts",
        &basic,
        &twilio_next,
    ) {
        let at = iso(&a["date_generated"]).or_else(|| iso(&a["date_created"]));
        let code = a["error_code"].as_str().unwrap_or("unknown").to_owned();
        let about = format!("{}:{code}", a["resource_sid"].as_str().unwrap_or(""));
        // An alert about a resource counts once per code (several alerts about one failure
        // are that failure), and not when the resource's own failure was counted.
        let first_about =
            a["resource_sid"].as_str().is_none() || alert_abouts.insert(about.clone());
        if within(at)
            && !reported.contains(&about)
            && alert_sids.insert(a["sid"].to_string())
            && first_about
        {
            *want.entry(code).or_default() += 1;
        }
    }
    assert!(want.len() > 5, "the simulator plants failures: {want:?}");
    assert_eq!(
        table_counts(report, "## Twilio"),
        want,
        "Twilio's counts are the planted ones"
    );

    // Stripe: one row per failure event in the period, and undelivered events.
    let stripe = e["APIOPS_STRIPE_API_URL"].trim_end_matches('/').to_owned();
    let key = e["STRIPE_SECRET_KEY"].clone();
    let bearer = |b: reqwest::RequestBuilder| b.bearer_auth(&key);
    let cursor = |param: &'static str| {
        move |page: &serde_json::Value, url: &str| {
            if page["has_more"] != true {
                return None;
            }
            let last = page["data"].as_array()?.last()?["id"].as_str()?.to_owned();
            let base = url
                .split(&format!("&{param}="))
                .next()
                .unwrap_or(url)
                .to_owned();
            Some(format!("{base}&{param}={last}"))
        }
    };
    let events = list_all(
        &http,
        format!("{stripe}/v1/events?limit=100"),
        "data",
        &bearer,
        &cursor("starting_after"),
    );
    let in_period = |v: &serde_json::Value| {
        within(
            v["created"]
                .as_i64()
                .and_then(|t| jiff::Timestamp::from_second(t).ok()),
        )
    };
    let failures = events
        .iter()
        .filter(|v| in_period(v))
        .filter(|v| STRIPE_FAILURE_TYPES.contains(&v["type"].as_str().unwrap_or("")))
        .count() as u64;
    let undelivered = events
        .iter()
        .filter(|v| in_period(v) && v["pending_webhooks"].as_i64().unwrap_or(0) > 0)
        .count() as u64;
    let got = table_counts(report, "## Stripe");
    assert_eq!(
        got.get("webhook_delivery_failing").copied().unwrap_or(0),
        undelivered,
        "{got:?}"
    );
    assert_eq!(
        got.iter()
            .filter(|(c, _)| *c != "webhook_delivery_failing")
            .map(|(_, n)| n)
            .sum::<u64>(),
        failures,
        "one row count per planted failure event: {got:?}"
    );

    // OpenAI: no batch or fine-tuning job failed in the period.
    let openai = e["OPENAI_BASE_URL"].trim_end_matches('/').to_owned();
    let okey = e["OPENAI_API_KEY"].clone();
    let obearer = |b: reqwest::RequestBuilder| b.bearer_auth(&okey);
    let failed_batches = list_all(
        &http,
        format!("{openai}/batches?limit=100"),
        "data",
        &obearer,
        &cursor("after"),
    )
    .iter()
    .filter(|b| matches!(b["status"].as_str(), Some("failed" | "expired")))
    .filter(|b| {
        let t = b["failed_at"]
            .as_i64()
            .or(b["expired_at"].as_i64())
            .or(b["expires_at"].as_i64());
        within(t.and_then(|t| jiff::Timestamp::from_second(t).ok()))
    })
    .count();
    let failed_jobs = list_all(
        &http,
        format!("{openai}/fine_tuning/jobs?limit=100"),
        "data",
        &obearer,
        &cursor("after"),
    )
    .iter()
    .filter(|j| j["status"] == "failed")
    .filter(|j| {
        let t = j["finished_at"].as_i64().or(j["created_at"].as_i64());
        within(t.and_then(|t| jiff::Timestamp::from_second(t).ok()))
    })
    .count();
    let openai_rows = table_counts(report, "## OpenAI");
    assert_eq!(
        openai_rows.values().sum::<u64>(),
        (failed_batches + failed_jobs) as u64,
        "{openai_rows:?}"
    );
    if failed_batches + failed_jobs == 0 {
        let section = &report[report.find("## OpenAI").expect("OpenAI")..];
        assert!(section.contains("No errors in the period."), "{section}");
    }
}
