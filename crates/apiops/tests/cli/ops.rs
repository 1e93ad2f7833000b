//! Operations as a user runs them, against the simulator on 127.0.0.1: plans with prices,
//! confirmation (refused without a terminal, exit 5), idempotent re-runs proven by the
//! simulator's side-effect counters, batches with exact per-item outcomes (exit 6), a run
//! killed between steps and resumed, the policy that cannot make a purchase automatic, signed
//! test events, and the event log.

use std::process::Stdio;
use std::time::Duration;

use apiops_sim::{Fault, FaultRule};
use serde_json::Value;

use crate::util::{
    Receiver, Sandbox, Sim, apiops, assert_no_secret, base, list_all, run, sim, sim_command,
    wait_for,
};

fn side_effect(s: &Sim, name: &str) -> u64 {
    s.running.stats().side_effect_count(name)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn items(v: &Value) -> Vec<(String, String)> {
    v["outcome"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["result"].as_str().unwrap_or_default().to_owned(),
                i["description"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// `twilio messages send-test` to each of `to`, then `flags`.
fn send_test<'a>(to: &[&'a str], flags: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["twilio", "messages", "send-test"];
    for t in to {
        args.extend(["--to", t]);
    }
    args.extend(flags);
    args
}

/// Scripts `fault` for the Twilio messages sent to `to`, `times` times (every time if `None`).
fn fail_messages_to(s: &Sim, fault: Fault, to: &str, times: Option<u64>) {
    let mut rule = FaultRule::new(fault, "POST", "/Messages.json").body_contains(to);
    if let Some(n) = times {
        rule = rule.times(n);
    }
    s.running.script_fault(rule).expect("script");
}

#[test]
fn buying_a_number_shows_the_plan_and_price_refuses_without_a_terminal_then_buys_once() {
    let s = sim(base());
    let sb = Sandbox::new();
    let buy = ["twilio", "numbers", "buy", "--area-code", "415"];

    // No terminal, no --yes: the plan is shown, nothing is bought, exit 5.
    let r = run(apiops(&sb, &s, &["twilio"]).args(buy));
    assert_eq!(r.code, Some(5), "{}", r.all());
    for want in [
        "Plan: twilio.numbers.buy",
        "buy +1415",
        "Cost: 1.15 USD per month (Twilio Pricing API",
        "purchase",
        "irreversible",
    ] {
        assert!(r.stdout.contains(want), "{want:?} missing:\n{}", r.stdout);
    }
    r.assert_stderr_has("needs confirmation");
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 0);

    // --dry-run stops after the plan, exit 0, still nothing bought.
    let r = run(apiops(&sb, &s, &["twilio"]).args(buy).arg("--dry-run"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 0);

    // --yes buys it.
    let r = run(apiops(&sb, &s, &["twilio"])
        .args(buy)
        .args(["--yes", "--json"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let v = json(&r.stdout);
    assert_eq!(v["outcome"]["status"], "succeeded", "{v}");
    let bought = v["outcome"]["items"][0]["resource_ids"][0]
        .as_str()
        .expect("a PN sid")
        .to_owned();
    assert!(bought.starts_with("PN"), "{bought}");
    assert_eq!(v["plan"]["cost"]["amount"], "1.15");
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 1);

    // The same request again buys nothing: the journal answers, the simulator proves it.
    let r = run(apiops(&sb, &s, &["twilio"]).args(buy).arg("--yes"));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("already ran");
    r.assert_stdout_has("nothing to do");
    r.assert_stdout_has(&bought);
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 1, "bought twice");

    // Buying that exact number by name is also a no-op: it is owned.
    let number = v["plan"]["steps"][0]["action"]["number"]
        .as_str()
        .expect("number")
        .to_owned();
    let r = run(apiops(&sb, &s, &["twilio"]).args(["twilio", "numbers", "buy", &number, "--yes"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("already owned");
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 1, "bought twice");

    // One action in the event log.
    let r = run(apiops(&sb, &s, &["twilio"]).args(["events", "--json"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let actions: Vec<Value> = r
        .stdout
        .lines()
        .map(json)
        .filter(|e| e["action_taken"] == "executed")
        .collect();
    assert_eq!(actions.len(), 1, "{}", r.stdout);
    assert_eq!(actions[0]["error_code"], "twilio.numbers.buy");
    assert_eq!(actions[0]["resource_id"], bought.as_str());
    assert_eq!(actions[0]["result"], "success");
    assert_no_secret(&s, &r.all());
}

#[test]
fn a_batch_reports_exact_successes_and_failures_and_a_rerun_retries_only_the_failures() {
    let s = sim(base());
    let sb = Sandbox::new();
    // The message to ...0102 meets a 500 (once); "+1999" is not a valid number (21211).
    fail_messages_to(&s, Fault::ServerError, "+14155550102", Some(1));
    let send = send_test(
        &["+14155550101", "+14155550102", "+1999"],
        &["--yes", "--json"],
    );
    let r = run(apiops(&sb, &s, &["twilio"]).args(&send));
    // "+1999" is refused before anything is planned or sent: not an E.164 number.
    assert_eq!(r.code, Some(2), "{}", r.all());
    r.assert_stderr_has("+1999");
    assert_eq!(side_effect(&s, "twilio.messages.create"), 0);

    // Three valid recipients; the provider fails the second one (scripted 500).
    let send = send_test(
        &["+14155550101", "+14155550102", "+14155550103"],
        &["--yes", "--json"],
    );
    let r = run(apiops(&sb, &s, &["twilio"]).args(&send));
    assert_eq!(r.code, Some(6), "partial batch: {}", r.all());
    let v = json(&r.stdout);
    assert_eq!(v["outcome"]["status"], "partial");
    let got = items(&v);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].0, "done");
    assert_eq!(got[1].0, "failed");
    assert!(got[1].1.contains("+14155550102"), "{got:?}");
    assert_eq!(got[2].0, "done");
    let failed = &v["outcome"]["items"][1];
    assert!(
        failed["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{failed}"
    );
    assert!(failed["code"].as_str().is_some(), "{failed}");
    for i in [0, 2] {
        let sid = v["outcome"]["items"][i]["resource_ids"][0]
            .as_str()
            .unwrap_or("");
        assert!(sid.starts_with("SM"), "{sid}");
    }
    assert_eq!(side_effect(&s, "twilio.messages.create"), 2);

    // Re-run: the two done are not sent again, the failed one is.
    let r = run(apiops(&sb, &s, &["twilio"]).args(&send[..send.len() - 1]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(
        r.stdout.matches("done in an earlier run").count(),
        2,
        "{}",
        r.stdout
    );
    r.assert_stdout_has("✓ 2. sent to +14155550102");
    assert_eq!(
        side_effect(&s, "twilio.messages.create"),
        3,
        "resent a done item"
    );
    assert_no_secret(&s, &r.all());
}

#[test]
fn a_batch_with_a_provider_refusal_exits_partial_and_names_the_code() {
    let s = sim(base());
    let sb = Sandbox::new();
    // The provider answers 503 for one recipient every time (retries do not help).
    fail_messages_to(&s, Fault::Unavailable, "+14155550202", Some(5));
    let r =
        run(apiops(&sb, &s, &["twilio"])
            .args(send_test(&["+14155550201", "+14155550202"], &["--yes"])));
    assert_eq!(r.code, Some(6), "{}", r.all());
    r.assert_stdout_has("✓ 1. sent to +14155550201");
    r.assert_stdout_has("✗ 2.");
    r.assert_stdout_has("Result: partial — 1 done, 1 failed");
    r.assert_stdout_has("Retry the failures only");
    assert_eq!(side_effect(&s, "twilio.messages.create"), 1);
}

#[test]
fn a_run_killed_between_steps_completes_without_repeating_done_steps() {
    let s = sim(base());
    let sb = Sandbox::new();
    // The second message hangs at the provider, so the process is mid-plan when it dies.
    fail_messages_to(&s, Fault::Hang, "+14155550302", None);
    let args = send_test(
        &["+14155550301", "+14155550302", "+14155550303"],
        &["--yes"],
    );
    let mut child = sim_command(&sb, &s, &["twilio"])
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn apiops");
    // Wait (bounded) until step 2's request is hanging in the simulator: step 1 is done.
    wait_for(
        "step 2 to reach the simulator",
        60,
        || {
            let fired = s.running.scripted_faults()[0].fired > 0;
            if !fired {
                assert!(
                    child.try_wait().expect("wait").is_none(),
                    "apiops exited early"
                );
            }
            fired
        },
        &String::new,
    );
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    assert_eq!(side_effect(&s, "twilio.messages.create"), 1);

    s.running.clear_faults();
    let r = run(apiops(&sb, &s, &["twilio"]).args(&args));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("resuming the run started at");
    r.assert_stdout_has("= 1. done in an earlier run");
    r.assert_stdout_has("✓ 2. sent to +14155550302");
    r.assert_stdout_has("✓ 3. sent to +14155550303");
    assert_eq!(
        side_effect(&s, "twilio.messages.create"),
        3,
        "a done step was repeated"
    );
    // Each message's event is stored once: written with its step's outcome, so the one whose
    // outcome the kill cut off is recorded by the run that finished it, and only by it.
    let r = run(apiops(&sb, &s, &["twilio"]).args(["events", "--json"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let sends: Vec<Value> = r
        .stdout
        .lines()
        .map(json)
        .filter(|e| e["error_code"] == "twilio.messages.send_test" && e["result"] == "success")
        .collect();
    assert_eq!(sends.len(), 3, "{}", r.stdout);
    // Running it again repeats nothing and records nothing.
    let r = run(apiops(&sb, &s, &["twilio"]).args(&args));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(side_effect(&s, "twilio.messages.create"), 3);
    let r = run(apiops(&sb, &s, &["twilio"]).args(["events", "--json"]));
    assert_eq!(
        r.stdout
            .lines()
            .map(json)
            .filter(|e| e["result"] == "success")
            .count(),
        3
    );
}

#[test]
fn no_policy_makes_a_purchase_or_a_release_run_without_confirmation() {
    let s = sim(base());
    let sb = Sandbox::new();
    sb.write_config("[policy]\nauto_fix = [\"config\", \"rate_limit\", \"bad_params\"]\n");
    let r =
        run(apiops(&sb, &s, &["twilio"]).args(["twilio", "numbers", "buy", "--area-code", "212"]));
    assert_eq!(r.code, Some(5), "{}", r.all());
    r.assert_stdout_has("always needs a person");
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 0);

    // With a yes it is bought; releasing it again needs a yes, whatever the policy.
    let r = run(apiops(&sb, &s, &["twilio"]).args([
        "twilio",
        "numbers",
        "buy",
        "--area-code",
        "212",
        "--yes",
        "--json",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let number = json(&r.stdout)["plan"]["steps"][0]["action"]["number"]
        .as_str()
        .expect("number")
        .to_owned();
    let r = run(apiops(&sb, &s, &["twilio"]).args(["twilio", "numbers", "release", &number]));
    assert_eq!(r.code, Some(5), "{}", r.all());
    r.assert_stdout_has("deletion");
    assert_eq!(side_effect(&s, "twilio.numbers.release"), 0);
    let r =
        run(apiops(&sb, &s, &["twilio"]).args(["twilio", "numbers", "release", &number, "--yes"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(side_effect(&s, "twilio.numbers.release"), 1);

    // auth can never be enabled: the config is refused outright.
    sb.write_config("[policy]\nauto_fix = [\"auth\"]\n");
    let r =
        run(apiops(&sb, &s, &["twilio"]).args(["twilio", "numbers", "buy", "--area-code", "212"]));
    assert_eq!(r.code, Some(7), "{}", r.all());
    assert_eq!(
        side_effect(&s, "twilio.numbers.buy"),
        1,
        "only the confirmed purchase"
    );
}

#[test]
fn the_failing_stripe_endpoint_is_resolved_and_disabled_once() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["stripe"]).args(["stripe", "endpoints", "disable", "failing"]));
    assert_eq!(r.code, Some(5), "{}", r.all());
    // The one enabled endpoint Stripe cannot reach (a private address in the seed data).
    r.assert_stdout_has("endpoint we_");
    let r = run(apiops(&sb, &s, &["stripe"]).args([
        "stripe",
        "endpoints",
        "disable",
        "failing",
        "--yes",
        "--json",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let v = json(&r.stdout);
    let id = v["outcome"]["items"][0]["resource_ids"][0]
        .as_str()
        .expect("we_ id")
        .to_owned();
    assert!(
        v["outcome"]["items"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("disabled"))
    );
    assert_eq!(side_effect(&s, "stripe.webhook_endpoints.update"), 1);
    // Disabling it again by id: already disabled, nothing sent.
    let r =
        run(apiops(&sb, &s, &["stripe"]).args(["stripe", "endpoints", "disable", &id, "--yes"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("already disabled");
    assert_eq!(side_effect(&s, "stripe.webhook_endpoints.update"), 1);
    assert_no_secret(&s, &r.all());
}

#[test]
fn a_signed_test_event_reaches_a_local_receiver_only_when_allowed() {
    let s = sim(base());
    let sb = Sandbox::new();
    let receiver = Receiver::start();
    let url = format!("{}/stripe/hook", receiver.base);
    // Point an endpoint at the local receiver first.
    let list = run(apiops(&sb, &s, &["stripe"]).args(["stripe", "endpoints", "list", "--json"]));
    let endpoints = json(&list.stdout);
    let id = endpoints["rows"][0][0]
        .as_str()
        .expect("an endpoint")
        .to_owned();
    let r = run(apiops(&sb, &s, &["stripe"]).args([
        "stripe",
        "endpoints",
        "update",
        &id,
        "--url",
        &url,
        "--yes",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.all());

    // Refused by default: a loopback target.
    let r = run(apiops(&sb, &s, &["stripe"]).args([
        "stripe",
        "endpoints",
        "send-test-event",
        &id,
        "--yes",
    ]));
    assert_eq!(r.code, Some(1), "{}", r.all());
    r.assert_stdout_has("not a public address");
    assert!(receiver.received().is_empty(), "sent to a private address");

    let r = run(apiops(&sb, &s, &["stripe"]).args([
        "stripe",
        "endpoints",
        "send-test-event",
        &id,
        "--yes",
        "--allow-private-targets",
        "--new",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    wait_for("a request", 30, || !receiver.received().is_empty(), &|| {
        receiver.all()
    });
    let got = &receiver.received()[0];
    let signature = got
        .header("stripe-signature")
        .expect("a Stripe-Signature header");
    let body = &got.body;
    let event = json(std::str::from_utf8(body).expect("utf8"));
    assert_eq!(event["type"], "payment_intent.payment_failed");
    assert_eq!(event["livemode"], false);
    // The signature verifies with the endpoint secret, as a Stripe SDK would check it.
    let secret = s.env["STRIPE_WEBHOOK_SECRET"].clone();
    let verified = apiops_webhooks::signature::stripe::verify(
        body,
        signature,
        &[secret.as_str()],
        Duration::from_secs(300),
        jiff::Timestamp::now(),
    );
    assert!(verified.is_ok(), "{verified:?}");
    assert_no_secret(&s, &r.all());
}

#[test]
fn a_test_completion_costs_money_so_it_is_confirmed_and_reads_are_not() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["openai"]).args(["openai", "test-completion"]));
    assert_eq!(r.code, Some(5), "{}", r.all());
    r.assert_stdout_has("costs money");
    let r = run(apiops(&sb, &s, &["openai"]).args(["openai", "test-completion", "--yes"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("tokens used");
    let r = run(apiops(&sb, &s, &["openai"]).args(["openai", "models"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("gpt-");
    let r = run(apiops(&sb, &s, &["openai"]).args(["openai", "rate-limits"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains("REQUESTS") || r.stdout.contains("requests"),
        "{}",
        r.stdout
    );
    assert_no_secret(&s, &r.all());
}

#[test]
fn the_llm_planner_maps_a_request_through_the_same_gate() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio", "openai"]).args([
        "do",
        "--llm",
        "buy a phone number in area code 415",
    ]));
    assert_eq!(
        r.code,
        Some(5),
        "the model's plan needs the same confirmation: {}",
        r.all()
    );
    r.assert_stdout_has("Plan: twilio.numbers.buy");
    r.assert_stdout_has("buy +1415");
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 0);
    assert_no_secret(&s, &r.all());

    // --yes is the person's yes for what they asked exactly, not for a purchase a model chose.
    let r = run(apiops(&sb, &s, &["twilio", "openai"]).args([
        "do",
        "--llm",
        "--yes",
        "buy a phone number in area code 415",
    ]));
    assert_eq!(r.code, Some(5), "{}", r.all());
    r.assert_stderr_has("chosen by the LLM planner");
    r.assert_stderr_has("apiops twilio");
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 0);
    // Words that decline the action plan nothing, whatever a model would make of them.
    let r = run(apiops(&sb, &s, &["twilio", "openai"]).args([
        "do",
        "--llm",
        "--yes",
        "don't buy a phone number in 415",
    ]));
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 0);
}

#[test]
fn negated_requests_and_questions_plan_nothing_even_with_yes() {
    let s = sim(base());
    let sb = Sandbox::new();
    for request in [
        "don't buy a phone number in 415",
        "do not buy a number in 415",
        "should I buy a phone number in 415?",
        "never send a test message to +14155550100",
        "should I release +14155550100?",
        "I do not want to disable the stripe endpoint that keeps failing",
    ] {
        let r = run(apiops(&sb, &s, &["twilio", "stripe"]).args(["do", "--yes", request]));
        assert_eq!(r.code, Some(2), "{request}: {}", r.all());
        assert!(
            r.stdout.contains('?'),
            "{request}: answered with a question: {}",
            r.stdout
        );
    }
    let total: u64 = s.running.stats().side_effects.values().sum();
    assert_eq!(total, 0, "a declined request acted");
}

#[test]
fn explain_names_the_trust_class_and_who_may_say_yes() {
    let s = sim(base());
    let sb = Sandbox::new();
    for (request, class) in [
        ("send a test message to +14155550100", "needs a person"),
        ("buy a phone number in 415", "needs a person"),
        ("disable stripe endpoint we_123", "in-account change"),
        ("why are calls failing", "read"),
    ] {
        let r = run(apiops(&sb, &s, &["twilio", "stripe"]).args(["do", "--explain", request]));
        assert_eq!(r.code, Some(0), "{request}: {}", r.all());
        assert!(
            r.stdout.contains(&format!("Trust class: {class}")),
            "{request}: {}",
            r.stdout
        );
        r.assert_stdout_has("Who may say yes");
    }
    // Explaining reads nothing from the providers.
    let requests: u64 = s.running.stats().requests.values().sum();
    assert_eq!(requests, 0);
}

#[test]
fn missing_credentials_for_an_operation_are_named() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r =
        run(apiops(&sb, &s, &[]).args(["twilio", "numbers", "buy", "--area-code", "415", "--yes"]));
    assert_eq!(r.code, Some(8), "{}", r.all());
    r.assert_stderr_has("TWILIO_ACCOUNT_SID");
}

#[test]
fn plain_words_reach_the_same_plans_as_the_subcommands() {
    let s = sim(base());
    let sb = Sandbox::new();
    let r = run(apiops(&sb, &s, &["twilio"]).args(["do", "buy a phone number in 415"]));
    assert_eq!(r.code, Some(5), "{}", r.all());
    r.assert_stdout_has("Plan: twilio.numbers.buy");
    let r = run(apiops(&sb, &s, &["twilio"]).args(["do", "--yes", "buy a phone number in 415"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 1);
    // The subcommand is the same operation: the journal answers, nothing is bought again.
    let r = run(apiops(&sb, &s, &["twilio"]).args([
        "twilio",
        "numbers",
        "buy",
        "--area-code",
        "415",
        "--yes",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("already ran");
    assert_eq!(side_effect(&s, "twilio.numbers.buy"), 1);

    // Incomplete: a question, exit 2, nothing done.
    let r = run(apiops(&sb, &s, &["twilio"]).args(["do", "send a test message"]));
    assert_eq!(r.code, Some(2), "{}", r.all());
    r.assert_stdout_has("?");
    // Out of the catalog: not understood, with examples.
    let r = run(apiops(&sb, &s, &["twilio"]).args(["do", "refund charge ch_123"]));
    assert_eq!(r.code, Some(2), "{}", r.all());
    r.assert_stdout_has("Not understood");
    // A question about failures runs the error audit for calls: exactly the calls the
    // simulator failed in the last 24 hours, and nothing else.
    let before = jiff::Timestamp::now();
    let r = run(apiops(&sb, &s, &["twilio"]).args(["do", "why are calls failing"]));
    let after = jiff::Timestamp::now();
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_no_secret(&s, &r.all());
    let starts = failed_call_starts(&s);
    let day = jiff::SignedDuration::from_hours(24);
    // The window ends when the command ran: a call on its edge may fall either side.
    let most = starts.iter().filter(|t| **t >= before - day).count();
    let least = starts.iter().filter(|t| **t >= after - day).count();
    assert!(most > 0, "the simulator failed calls in the last day");
    let rows: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| {
            l.split_whitespace().nth(1).is_some_and(|c| {
                c == "carrier"
                    || c == "config"
                    || c == "transient"
                    || c == "bad_params"
                    || c == "auth"
                    || c == "rate_limit"
                    || c == "spam_blocked"
            })
        })
        .collect();
    assert_eq!(rows.len(), 1, "one row, the failed calls:\n{}", r.stdout);
    let cells: Vec<&str> = rows[0].split_whitespace().collect();
    assert_eq!(cells[0], "call_failed", "{}", r.stdout);
    let count: usize = cells[2].parse().expect("a count");
    assert!(
        (least..=most).contains(&count),
        "{count} failed calls reported, the simulator failed {least}..={most}:\n{}",
        r.stdout
    );
}

/// When each failed call of the simulator's account started, listed without apiops.
fn failed_call_starts(s: &Sim) -> Vec<jiff::Timestamp> {
    let api = s.env["APIOPS_TWILIO_API_URL"]
        .trim_end_matches('/')
        .to_owned();
    let (sid, token) = (&s.env["TWILIO_ACCOUNT_SID"], &s.env["TWILIO_AUTH_TOKEN"]);
    let calls = list_all(
        &reqwest::Client::new(),
        format!("{api}/2010-04-01/Accounts/{sid}/Calls.json?Status=failed&PageSize=1000"),
        "calls",
        &|rb| rb.basic_auth(sid, Some(token)),
        &|page, _| page["next_page_uri"].as_str().map(|n| format!("{api}{n}")),
    );
    let mut out = Vec::new();
    for c in &calls {
        assert_eq!(c["status"], "failed", "the filter filtered");
        if let Some(t) = c["start_time"]
            .as_str()
            .and_then(|t| jiff::fmt::rfc2822::parse(t).ok())
        {
            out.push(t.timestamp());
        }
    }
    out
}
