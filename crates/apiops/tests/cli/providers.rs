//! `health`, `errors`, `audit` and `demo` as a user runs them, against the simulator on
//! 127.0.0.1 with realistic data: exit codes, clear messages for missing and wrong credentials,
//! 429 storms, 5xx and malformed bodies, empty histories, the JSON contract, no secret in any
//! output, and a snapshot of the demo's Markdown report.

use std::time::Duration;

use apiops_sim::SimConfig;

use crate::util::{Sandbox, apiops, assert_no_secret, base, run, sim};

#[test]
fn health_is_operational_and_exits_zero() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio", "stripe", "openai"]).arg("health"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    for name in ["Twilio", "Stripe", "OpenAI", "✓ Operational"] {
        assert!(r.stdout.contains(name), "{}", r.stdout);
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
    assert!(r.stdout.contains("20003"), "{}", r.stdout);
    assert!(!r.all().contains("wrong_token_canary_00000000"));
}

#[test]
fn missing_credentials_name_the_variable_and_exit_8() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio"]).args(["errors", "stripe"]));
    assert_eq!(r.code, Some(8), "{}", r.all());
    assert!(r.stderr.contains("STRIPE_SECRET_KEY"), "{}", r.stderr);
    let r = run(sb.apiops().arg("health"));
    assert_eq!(r.code, Some(8), "{}", r.all());
    assert!(r.stderr.contains("apiops demo"), "{}", r.stderr);
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
    assert!(
        std::fs::metadata(sb.root().join("events.db")).is_ok(),
        "the event log was written"
    );
}

#[test]
fn an_empty_history_reports_no_errors() {
    let s = sim(base());
    let sb = Sandbox::new();
    // The data ends at the current hour: the last second holds nothing (unless on the hour).
    let r = run(apiops(&sb, &s, &["stripe", "openai"]).args(["errors", "--since", "1s"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stdout.contains("no errors in the period"), "{}", r.stdout);
}

#[test]
fn storms_faults_and_malformed_bodies_end_clearly_never_in_a_panic() {
    for config in [
        SimConfig {
            twilio_concurrency: 2,
            latency: Duration::from_millis(20),
            ..base()
        },
        SimConfig {
            fault_rate: 0.3,
            ..base()
        },
        SimConfig {
            fault_rate: 1.0,
            seed: 9,
            ..base()
        },
    ] {
        let s = sim(config);
        let sb = Sandbox::new();
        let r = run(apiops(&sb, &s, &["twilio", "stripe", "openai"])
            .env("APIOPS_CLIENT_TIMEOUT", "2s")
            .args(["errors", "--since", "7d"]));
        assert!(matches!(r.code, Some(0) | Some(1)), "{}", r.all());
        assert_no_secret(&s, &r.all());
        if r.code == Some(1) {
            assert!(
                r.stdout.contains("scan failed"),
                "a failure is named: {}",
                r.stdout
            );
        }
        let r = run(apiops(&sb, &s, &["twilio", "stripe", "openai"])
            .env("APIOPS_CLIENT_TIMEOUT", "2s")
            .arg("audit"));
        assert!(matches!(r.code, Some(0) | Some(1)), "{}", r.all());
        assert_no_secret(&s, &r.all());
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
        let line = mask_resets(line);
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

#[test]
fn the_demo_report_matches_its_snapshot() {
    let sb = Sandbox::new();
    let r = run(sb
        .apiops()
        .args(["demo", "--anchor", "2026-11-20T12:00:00Z", "--format", "md"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let report = &r.stdout[r.stdout.find("# apiops report").expect("report")..];
    let got = normalize(report);
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/demo_report.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &got).expect("write snapshot");
    }
    let want =
        std::fs::read_to_string(&path).expect("snapshot exists (UPDATE_SNAPSHOTS=1 writes it)");
    assert_eq!(
        got, want,
        "the demo report changed; review and re-run with UPDATE_SNAPSHOTS=1"
    );
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
