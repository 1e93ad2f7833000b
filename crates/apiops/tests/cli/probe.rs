//! `apiops audit --probe` end to end: the binary against the simulator, whose Stripe webhook
//! endpoints point at its loopback probe targets (200, 404, 500, a 301, a self-signed
//! certificate, a server that never answers) and one private address. With the test-only
//! loopback allowance (`APIOPS_PROBE_LOOPBACK_FOR_TESTS=1`, honoured by debug builds only) each
//! target gets its verdict; without it, as every user runs it, each loopback target is
//! reported unreachable by policy and no target sees a connection.

use apiops_sim::probe_targets::{MOVED_TO, PRIVATE_URL, ProbeTarget};
use serde_json::Value;

use crate::util::{Sandbox, apiops, assert_no_secret, base, run, sim};

fn probe_sim() -> crate::util::Sim {
    sim(apiops_sim::SimConfig {
        probe_targets: true,
        ..base()
    })
}

/// The probes of `audit stripe --probe --json`, by URL.
fn probes(stdout: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    v["probes"].as_array().cloned().unwrap_or_default()
}

fn find<'a>(probes: &'a [Value], url: &str) -> &'a Value {
    probes
        .iter()
        .find(|p| p["url"] == url)
        .unwrap_or_else(|| panic!("{url} not probed: {probes:?}"))
}

#[test]
fn audit_probe_reports_each_targets_verdict() {
    let s = probe_sim();
    let targets = s.running.probe_targets().expect("targets");
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["stripe"])
        .env("APIOPS_PROBE_LOOPBACK_FOR_TESTS", "1")
        .args(["audit", "stripe", "--probe", "--json"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_no_secret(&s, &r.all());
    let p = probes(&r.stdout);
    assert_eq!(p.len(), ProbeTarget::ALL.len() + 1, "{p:?}");

    let ok = find(&p, &targets.url(ProbeTarget::Ok));
    assert_eq!(
        (ok["outcome"].as_str(), ok["status"].as_u64()),
        (Some("reachable"), Some(200)),
        "{ok}"
    );
    assert_eq!(ok["method"], "HEAD");
    for (target, status) in [
        (ProbeTarget::Missing, 404),
        (ProbeTarget::Broken, 500),
        (ProbeTarget::Moved, 301),
    ] {
        let v = find(&p, &targets.url(target));
        assert_eq!(v["outcome"], "http_status", "{v}");
        assert_eq!(v["status"], status, "{v}");
    }
    assert_eq!(
        find(&p, &targets.url(ProbeTarget::Moved))["location"],
        MOVED_TO
    );
    let tls = find(&p, &targets.url(ProbeTarget::SelfSigned));
    assert_eq!(tls["outcome"], "tls_error", "{tls}");
    assert!(
        tls["problem"]
            .as_str()
            .is_some_and(|t| t.contains("not signed by a trusted authority")),
        "{tls}"
    );
    let silent = find(&p, &targets.url(ProbeTarget::Silent));
    assert_eq!(silent["outcome"], "timeout", "{silent}");
    assert!(
        silent["latency_ms"].as_u64().is_some_and(|ms| ms >= 4_900),
        "{silent}"
    );
    // The allowance covers loopback only: the private address is refused, never sent to.
    let private = find(&p, PRIVATE_URL);
    assert_eq!(private["outcome"], "unreachable_by_policy", "{private}");
    assert!(private.get("method").is_none(), "{private}");
    for v in &p {
        assert!(
            v["resources"].as_array().is_some_and(|r| r.iter().any(|x| x
                .as_str()
                .is_some_and(|x| x.starts_with("Stripe webhook_endpoint we_")))),
            "{v}"
        );
    }
}

#[test]
fn without_the_test_allowance_no_target_is_contacted() {
    let s = probe_sim();
    let targets = s.running.probe_targets().expect("targets");
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["stripe"]).args(["audit", "stripe", "--probe", "--json"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let p = probes(&r.stdout);
    assert_eq!(p.len(), ProbeTarget::ALL.len() + 1, "{p:?}");
    for v in &p {
        assert_eq!(v["outcome"], "unreachable_by_policy", "{v}");
        assert!(v.get("method").is_none(), "no request sent: {v}");
    }
    assert_eq!(targets.connections(), 0, "the targets saw no connection");
    // A value other than "1" grants nothing either.
    let r = run(apiops(&sb, &s, &["stripe"])
        .env("APIOPS_PROBE_LOOPBACK_FOR_TESTS", "yes")
        .args(["audit", "stripe", "--probe", "--json"]));
    assert!(
        probes(&r.stdout)
            .iter()
            .all(|v| v["outcome"] == "unreachable_by_policy")
    );
    assert_eq!(targets.connections(), 0);
}
