//! `apiops errors` when some time windows cannot be read, and `apiops errors --resume`: the
//! simulator's scripted faults fail every request of chosen windows (Twilio messages and alerts
//! of ten hours of one day, and OpenAI's fine-tuning list), deterministically. The scan exits 6,
//! names each missing window (service, source, range, reason) and marks its totals partial in
//! JSON, the terminal and Markdown; once the faults stop, `--resume` reads only those windows
//! and ends with exactly the groups of a scan that never saw a fault.

use std::collections::BTreeMap;

use apiops_sim::{Fault, FaultRule};

use crate::util::{Sandbox, apiops, assert_no_secret, base, group_counts, run, sim};

const SERVICES: [&str; 3] = ["twilio", "stripe", "openai"];

/// `(service, code) -> count` of a JSON report.
fn groups(doc: &serde_json::Value) -> BTreeMap<(String, String), u64> {
    group_counts(doc)
        .into_iter()
        .map(|(service, code, count)| ((service, code), count))
        .collect()
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).expect("one JSON document")
}

#[test]
fn unread_windows_are_named_with_exit_6_and_resume_completes_them() {
    let s = sim(base());
    let errors = ["errors", "--since", "8d", "--json"];
    // The reference: the same data read without a fault (its own database).
    let calm = Sandbox::new();
    let r = run(apiops(&calm, &s, &SERVICES).args(errors));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let want = groups(&json(&r.stdout));

    // Ten hours of the day before yesterday: every message and alert window starting then
    // fails, as does OpenAI's fine-tuning list.
    let day = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48))
        .strftime("%Y-%m-%d")
        .to_string();
    for rule in [
        FaultRule::new(Fault::ServerError, "GET", "/Messages.json")
            .query_contains(&format!("DateSent>={day}T1")),
        FaultRule::new(Fault::ServerError, "GET", "/Alerts")
            .query_contains(&format!("StartDate={day}T1")),
        FaultRule::new(Fault::ServerError, "GET", "/fine_tuning/jobs"),
    ] {
        s.running.script_fault(rule).expect("valid rule");
    }
    let sb = Sandbox::new();
    let quick = |cmd: &mut assert_cmd::Command| {
        cmd.env("APIOPS_CLIENT_BASE_DELAY", "1ms");
    };
    let mut cmd = apiops(&sb, &s, &SERVICES);
    quick(&mut cmd);
    let r = run(cmd.args(errors));
    assert_no_secret(&s, &r.all());
    assert_eq!(r.code, Some(6), "partial: {}", r.all());
    let doc = json(&r.stdout);
    assert_eq!(doc["partial"], true, "{}", r.stdout);
    assert!(
        doc["failures"].as_array().is_some_and(Vec::is_empty),
        "no service failed as a whole: {}",
        r.stdout
    );
    let unread = doc["unread"].as_array().expect("unread windows").clone();
    let named = |service: &str, source: &str| -> Vec<&serde_json::Value> {
        unread
            .iter()
            .filter(|w| w["service"] == service && w["source"] == source)
            .collect()
    };
    let messages = named("twilio", "messages");
    assert!(!messages.is_empty(), "{unread:?}");
    for w in messages.iter().chain(&named("twilio", "alerts")) {
        let from = w["from"].as_str().expect("from");
        assert!(
            from.starts_with(&format!("{day}T1")),
            "only the faulted windows: {w}"
        );
        assert!(w["to"].as_str().expect("to") > from, "{w}");
        assert!(
            w["reason"].as_str().expect("reason").contains("500"),
            "the reason is the 500: {w}"
        );
    }
    assert_eq!(named("openai", "fine_tuning_jobs").len(), 1, "{unread:?}");
    assert_eq!(
        unread.len(),
        messages.len() + named("twilio", "alerts").len() + 1,
        "nothing else is missing: {unread:?}"
    );
    // What was read is exact, and what is missing really held failures.
    let partial = groups(&doc);
    for (key, n) in &partial {
        assert!(
            want.get(key).is_some_and(|w| n <= w),
            "{key:?}: {n} counted of {:?}",
            want.get(key)
        );
    }
    assert_ne!(partial, want, "the unread windows held failures");

    // While the faults last, --resume reads them again and still says what is missing, in the
    // terminal and in Markdown.
    let mut cmd = apiops(&sb, &s, &SERVICES);
    quick(&mut cmd);
    let r = run(cmd.args(["errors", "--resume"]));
    assert_eq!(r.code, Some(6), "{}", r.all());
    assert!(
        r.stdout
            .contains(&format!("partial: {} time windows unread", unread.len())),
        "{}",
        r.stdout
    );
    r.assert_stdout_has("Unread time windows");
    r.assert_stdout_has("Twilio messages");
    r.assert_stdout_has("OpenAI fine_tuning_jobs");
    let mut cmd = apiops(&sb, &s, &SERVICES);
    quick(&mut cmd);
    let r = run(cmd.args(["errors", "--resume", "--format", "md"]));
    assert_eq!(r.code, Some(6), "{}", r.all());
    r.assert_stdout_has("the counts below are partial");
    r.assert_stdout_has("**Unread time windows**");

    // The faults stop: --resume reads only the missing windows and completes the groups.
    s.running.clear_faults();
    let before = s.running.stats().requests.values().sum::<u64>();
    let r = run(apiops(&sb, &s, &SERVICES).args(["errors", "--resume", "--json"]));
    assert_no_secret(&s, &r.all());
    assert_eq!(r.code, Some(0), "{}", r.all());
    let doc = json(&r.stdout);
    assert_eq!(doc["partial"], false, "{}", r.stdout);
    assert!(doc["unread"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(groups(&doc), want, "identical to the scan without faults");
    let resumed = s.running.stats().requests.values().sum::<u64>() - before;
    assert!(
        resumed < 60,
        "only the missing windows were read: {resumed} requests"
    );

    // Nothing is left to resume.
    let r = run(apiops(&sb, &s, &SERVICES).args(["errors", "--resume"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stderr.contains("Nothing to resume"), "{}", r.all());
}
