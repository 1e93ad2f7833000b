//! The `--json` contract of `apiops health`, `errors` and `audit`: for one simulator seed and
//! anchor, each document matches its reviewed snapshot (`snapshots/cli__json_snapshots__*.snap`),
//! so a change to any field — renamed, dropped, re-typed, a count that moved — fails here and is
//! reviewed like code (`cargo insta review`; CI never writes snapshots). What differs between
//! runs by nature is redacted with insta's redactions: latencies, rate-limit headroom and its
//! reset time, the clients' live counters, the simulator's port, the period's label (the
//! window is counted back from now), and the order events arrive in (sorted).
//! Keys are compared sorted (serde_json's map): the snapshot holds content, not key order.

use apiops_sim::SimConfig;

use crate::util::{Sandbox, apiops, run, sim};

const SEED: u64 = 7;
const ANCHOR: &str = "2026-11-25T10:00:00Z";

/// A window back from now that holds every generated failure, whatever today's date: the data
/// reaches 30 days before the anchor (Stripe's events; Twilio's history is 7 days).
fn since_covering_the_data() -> String {
    let anchor: jiff::Timestamp = ANCHOR.parse().expect("anchor");
    let elapsed = jiff::Timestamp::now().as_second() - anchor.as_second();
    format!("{}d", elapsed.max(0) / 86_400 + 35)
}

/// `health`, `errors` and `audit` with `--json` against the simulator of [`SEED`] and [`ANCHOR`].
fn documents() -> Vec<(&'static str, serde_json::Value)> {
    let s = sim(SimConfig {
        seed: SEED,
        messages: 3_000,
        anchor: ANCHOR.parse().expect("anchor"),
        ..SimConfig::default()
    });
    let sb = Sandbox::new();
    let since = since_covering_the_data();
    let mut out = Vec::new();
    for (name, cmd) in [
        ("health", vec!["health", "--json"]),
        (
            "errors",
            vec!["errors", "--since", since.as_str(), "--json"],
        ),
        ("audit", vec!["audit", "--json"]),
    ] {
        let r = run(apiops(&sb, &s, &["twilio", "stripe", "openai"]).args(&cmd));
        assert_eq!(r.code, Some(0), "{name}: {}", r.all());
        let doc = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{name}: one JSON document: {e}\n{}", r.stdout));
        out.push((name, doc));
    }
    out
}

#[test]
fn health_errors_and_audit_json_match_their_snapshots() {
    for (name, doc) in documents() {
        match name {
            "health" => insta::assert_json_snapshot!("health_json", doc, {
                ".services[].latency_ms" => "[latency]",
                ".services[].details.requests_headroom" => "[headroom]",
                ".services[].details.tokens_headroom" => "[headroom]",
                ".services[].details.concurrency_headroom" => "[headroom]",
                ".services[].details.concurrent_requests" => "[in flight]",
                ".services[].details.reads" => "[read counters]",
                ".status_pages[].url" => "[simulator]/status",
            }),
            "errors" => insta::assert_json_snapshot!("errors_json", doc, {
                ".period" => "[since now]",
                ".events" => insta::sorted_redaction(),
                ".status_pages[].url" => "[simulator]/status",
            }),
            _ => insta::assert_json_snapshot!("audit_json", doc),
        }
    }
}
