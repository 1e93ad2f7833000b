//! The providers' status pages and rate-limit waits as `health` and `errors` show them, read
//! from the simulator: an incident is shown, a page that cannot be read is a warning, and
//! neither changes the exit code; a rate limit states when to retry.

use apiops_sim::SimConfig;
use apiops_sim::status::StatusMode;

use crate::util::{Sandbox, apiops, base, run, sim};

#[test]
fn status_pages_are_shown_and_never_fail_a_health_check() {
    let s = sim(base());
    let sb = Sandbox::new();
    let all = ["twilio", "stripe", "openai"];

    let r = run(apiops(&sb, &s, &all).arg("health"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("All Systems Operational");

    s.running.set_status_mode(StatusMode::Degraded);
    let r = run(apiops(&sb, &s, &all).arg("health"));
    assert_eq!(
        r.code,
        Some(0),
        "a provider's incident is not apiops' verdict: {}",
        r.all()
    );
    for text in [
        "Delayed SMS delivery to some US carriers (investigating)",
        "Programmable Messaging: degraded performance",
        "Delays in webhook deliveries",
    ] {
        assert!(r.stdout.contains(text), "{text}:\n{}", r.stdout);
    }
    let r = run(apiops(&sb, &s, &all).args(["health", "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let pages = doc["status_pages"].as_array().expect("status_pages");
    assert_eq!(pages.len(), 3, "{doc}");
    assert_eq!(pages[0]["incidents"][0]["status"], "investigating", "{doc}");
    // The errors audit shows the page beside each service's groups.
    let r = run(apiops(&sb, &s, &["twilio"]).args(["errors", "--since", "7d"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout
            .contains("status page: Partially Degraded Service; Programmable Messaging"),
        "{}",
        r.stdout
    );

    s.running.set_status_mode(StatusMode::Failing);
    let r = run(apiops(&sb, &s, &all).arg("health"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("could not be read: HTTP 500");

    // Nothing listens on port 1 of the loopback.
    let r = run(apiops(&sb, &s, &["stripe"])
        .env("APIOPS_STRIPE_STATUS_URL", "http://127.0.0.1:1/")
        .args(["health", "stripe"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("could not be read");
}

#[test]
fn a_rate_limit_states_when_to_retry() {
    // One request per minute: the health probe spends it, and the headers say when it resets.
    let s = sim(SimConfig {
        openai_rpm: Some(1),
        ..base()
    });
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["openai"])
        .env_remove("OPENAI_ADMIN_KEY")
        .args(["health", "openai"]));
    assert_eq!(r.code, Some(3), "exhausted is degraded: {}", r.all());
    r.assert_stdout_has("rate_limit: resets in");
    r.assert_stdout_has("retry after 20");
    r.assert_stdout_has(" UTC");
    let r = run(apiops(&sb, &s, &["openai"])
        .env_remove("OPENAI_ADMIN_KEY")
        .args(["health", "openai", "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let h = &doc["services"][0];
    assert!(h["details"]["retry_after"].is_string(), "{h}");
    assert!(
        h["warnings"].as_array().expect("warnings").iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.starts_with("rate_limit: resets in"))),
        "{h}"
    );
}
