//! The `apiops` binary tested as a process: flags, exit codes, config layering as a user sees
//! it, and that no secret ever reaches stdout or stderr. Every run is hermetic (see `util`).

mod util;

use util::{Sandbox, run};

/// Canary credentials: distinctive values that must never appear whole in any output.
const CANARIES: &[(&str, &str, &str)] = &[
    // (variable, value, masked form)
    (
        "TWILIO_ACCOUNT_SID",
        "AC0123456789abcdef0123456789abcdef",
        "AC01...cdef",
    ),
    (
        "TWILIO_AUTH_TOKEN",
        "canary_tw_0123456789abcdef",
        "cana...cdef",
    ),
    (
        "TWILIO_API_KEY",
        "SK00112233445566778899aabbccddeeff",
        "SK00...eeff",
    ),
    (
        "TWILIO_API_SECRET",
        "canary_twsec_0123456789ab",
        "cana...89ab",
    ),
    (
        "OPENAI_API_KEY",
        "sk-proj-canary_oa_0123456789",
        "sk-p...6789",
    ),
    (
        "OPENAI_ADMIN_KEY",
        "sk-admin-canary_adm_9876543210",
        "sk-a...3210",
    ),
    (
        "OPENAI_WEBHOOK_SECRET",
        "whsec_canary_oawh_13579bdf",
        "whse...9bdf",
    ),
    (
        "STRIPE_SECRET_KEY",
        "sk_test_canary_st_0123456789",
        "sk_t...6789",
    ),
    (
        "STRIPE_WEBHOOK_SECRET",
        "whsec_canary_stwh_2468ace0",
        "whse...ace0",
    ),
];

/// Fails if any canary's hidden part appears in `text`.
fn assert_no_canary(text: &str) {
    for (variable, value, _) in CANARIES {
        let hidden = &value[4..value.len() - 4];
        assert!(
            !text.contains(hidden),
            "{variable}'s secret leaked into output:\n{text}"
        );
    }
}

fn with_canaries(sandbox: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sandbox.apiops();
    for (variable, value, _) in CANARIES {
        cmd.env(variable, value);
    }
    cmd
}

#[test]
fn creds_masks_every_canary_in_every_format_and_log_level() {
    let sandbox = Sandbox::new();
    for args in [
        &["creds"][..],
        &["creds", "--format", "md"],
        &["creds", "--json"],
        &["-vvv", "creds"],
        &["--color", "always", "creds"],
    ] {
        let out = run(with_canaries(&sandbox).args(args));
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        for (variable, _, masked) in CANARIES {
            assert!(
                out.stdout.contains(masked),
                "{args:?}: {variable} should show as {masked}:\n{}",
                out.stdout
            );
        }
        assert_no_canary(&out.all());
    }
}

#[test]
fn creds_names_missing_variables_and_still_exits_zero() {
    let sandbox = Sandbox::new();
    let out = run(sandbox.apiops().arg("creds"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for variable in [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "OPENAI_API_KEY",
        "STRIPE_SECRET_KEY",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.contains(variable) && l.contains("missing")),
            "{variable} not shown as missing:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout
            .contains("Twilio: not ready: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN"),
        "{}",
        out.stdout
    );
}

#[test]
fn creds_json_is_one_document_with_masked_values() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .apiops()
        .args(["creds", "--json"])
        .env("STRIPE_SECRET_KEY", "sk_live_canary_st_0123456789")
        .env("TWILIO_AUTH_TOKEN", "canary_tw_0123456789abcdef"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    let services = doc["services"].as_array().expect("services");
    let names: Vec<&str> = services
        .iter()
        .map(|s| s["service"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["twilio", "openai", "stripe"]);
    let stripe = &services[2];
    assert_eq!(stripe["ready"], true);
    assert_eq!(stripe["kind"], "live");
    assert_eq!(stripe["credentials"][0]["variable"], "STRIPE_SECRET_KEY");
    assert_eq!(stripe["credentials"][0]["value"], "sk_l...6789");
    assert_eq!(stripe["credentials"][0]["status"], "set");
    assert_eq!(
        stripe["credentials"][0]["source"],
        serde_json::json!({"kind": "env", "variable": "STRIPE_SECRET_KEY"})
    );
    let twilio = &services[0];
    assert_eq!(twilio["ready"], false);
    assert_eq!(twilio["missing"], serde_json::json!(["TWILIO_ACCOUNT_SID"]));
    assert!(!out.stdout.contains("canary_st"));
}

#[test]
fn creds_markdown_is_a_table() {
    let sandbox = Sandbox::new();
    let out = run(sandbox.apiops().args(["--format", "md", "creds"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("| Service | Variable | Status | Value | Source | Note |")
    );
    assert_eq!(lines.next(), Some("| --- | --- | --- | --- | --- | --- |"));
    assert!(
        out.stdout
            .contains("| Twilio | TWILIO_AUTH_TOKEN | missing |")
    );
    assert!(
        out.stdout
            .contains("- **Stripe**: not ready: set STRIPE_SECRET_KEY")
    );
}

#[test]
fn creds_reads_the_config_file_and_says_so() {
    let sandbox = Sandbox::new();
    let path = sandbox.write_config(
        "[stripe]\nsecret_key = \"rk_test_canary_st_0123456789\"\n\n[twilio]\naccount_sid = \"ACnot-a-sid-0000000000\"\nauth_token = \"canary_tw_0123456789abcdef\"\n",
    );
    let out = run(sandbox.apiops().arg("creds"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("file {}", path.display())),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("restricted, test mode"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("TWILIO_ACCOUNT_SID does not look like an Account SID"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Twilio: ready: auth token"),
        "{}",
        out.stdout
    );
    assert!(!out.all().contains("not-a-sid"));
    assert_no_canary(&out.all());
}

#[test]
fn config_show_masks_secrets_in_toml_and_json() {
    let sandbox = Sandbox::new();
    let out = run(with_canaries(&sandbox).args(["config", "show"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let doc: toml::Table = toml::from_str(&out.stdout).expect("stdout is TOML");
    assert_eq!(doc["twilio"]["auth_token"].as_str(), Some("cana...cdef"));
    assert_eq!(doc["client"]["timeout"].as_str(), Some("30s"));
    assert_no_canary(&out.all());

    let out = run(with_canaries(&sandbox).args(["config", "show", "--json"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(doc["stripe"]["secret_key"], "sk_t...6789");
    assert_eq!(doc["openai"]["base_url"], "https://api.openai.com/v1/");
    assert_no_canary(&out.all());
}

#[test]
fn config_show_layers_env_over_file_and_flags_over_env() {
    let sandbox = Sandbox::new();
    sandbox
        .write_config("[output]\nformat = \"md\"\n[client]\ntimeout = \"10s\"\nmax_attempts = 5\n");
    let out = run(sandbox
        .apiops()
        .args(["config", "show", "--json"])
        .env("APIOPS_CLIENT_TIMEOUT", "12s")
        .env("APIOPS_TWILIO_API_URL", "http://127.0.0.1:9")
        .env("OPENAI_BASE_URL", "http://127.0.0.1:8/v1"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(doc["client"]["timeout"], "12s");
    assert_eq!(doc["client"]["max_attempts"], 5);
    assert_eq!(doc["twilio"]["api_url"], "http://127.0.0.1:9/");
    assert_eq!(doc["openai"]["base_url"], "http://127.0.0.1:8/v1/");
    assert_eq!(doc["output"]["format"], "json");

    // Without the flag, the file's format applies.
    let out = run(sandbox.apiops().args(["config", "show"]));
    assert!(
        out.stdout.starts_with("Effective apiops configuration"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("```toml"), "{}", out.stdout);
}

#[test]
fn a_bad_config_file_exits_7_and_names_the_key() {
    let sandbox = Sandbox::new();
    let path = sandbox.write_config("[client]\ntimeout = \"5 parsecs\"\n");
    let out = run(sandbox.apiops().arg("creds"));
    assert_eq!(out.code, Some(7), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("client.timeout: invalid duration \"5 parsecs\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&path.display().to_string()),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn a_bad_environment_value_exits_7_and_names_the_variable() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .apiops()
        .args(["config", "show"])
        .env("APIOPS_TWILIO_API_URL", "ftp://example.com"));
    assert_eq!(out.code, Some(7), "{}", out.stderr);
    assert!(out.stderr.contains("twilio.api_url"), "{}", out.stderr);
    assert!(
        out.stderr.contains("env APIOPS_TWILIO_API_URL"),
        "{}",
        out.stderr
    );
}

#[test]
fn policy_that_allows_auth_fixes_exits_7_and_explains() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[policy]\nauto_fix = [\"rate_limit\", \"auth\"]\n");
    let out = run(sandbox.apiops().arg("creds"));
    assert_eq!(out.code, Some(7), "{}", out.stderr);
    assert!(out.stderr.contains("policy.auto_fix"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("auth problems, purchases and deletions are never automatic"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_explicit_config_file_exits_7() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .apiops()
        .args(["--config", "/nonexistent/apiops.toml", "creds"]));
    assert_eq!(out.code, Some(7), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("/nonexistent/apiops.toml does not exist"),
        "{}",
        out.stderr
    );
    let out = run(sandbox
        .apiops()
        .arg("creds")
        .env("APIOPS_CONFIG", "/nonexistent/apiops.toml"));
    assert_eq!(out.code, Some(7), "{}", out.stderr);
}

#[test]
fn an_explicit_config_file_is_read() {
    let sandbox = Sandbox::new();
    let path = sandbox.root().join("elsewhere.toml");
    std::fs::write(&path, "[client]\nmax_attempts = 1\n").expect("write");
    let out = run(sandbox
        .apiops()
        .args(["config", "show", "--json", "--config"])
        .arg(&path));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(doc["client"]["max_attempts"], 1);
}

#[test]
fn an_unknown_flag_exits_2() {
    let sandbox = Sandbox::new();
    let out = run(sandbox.apiops().args(["creds", "--no-such-flag"]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--no-such-flag"), "{}", out.stderr);
    let out = run(sandbox.apiops().args(["creds", "--json", "--format", "md"]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let out = run(sandbox.apiops().args(["--format", "xml", "creds"]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}

#[test]
fn variables_that_are_not_config_keys_do_not_break_loading() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .apiops()
        .arg("creds")
        .env("APIOPS_CASSETTE", "replay")
        .env("APIOPS_LOG", "warn")
        .env("APIOPS_SOMETHING", "else"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn an_invalid_log_filter_is_a_warning_not_a_failure() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .apiops()
        .arg("creds")
        .env("APIOPS_LOG", "apiops=loud"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("APIOPS_LOG"), "{}", out.stderr);
}

#[test]
fn help_documents_the_exit_codes() {
    let sandbox = Sandbox::new();
    let out = run(sandbox.apiops().arg("--help"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for line in [
        "Exit codes:",
        "0  success",
        "1  general failure",
        "2  usage error",
        "3  a checked service is degraded",
        "4  a checked service is down",
        "5  confirmation required but not given",
        "6  partial: some batch items failed, or some time windows",
        "7  configuration error",
        "8  missing credentials",
    ] {
        assert!(
            out.stdout.contains(line),
            "{line:?} missing:\n{}",
            out.stdout
        );
    }
}

#[test]
fn config_path_prints_the_xdg_location_even_with_a_broken_config() {
    let sandbox = Sandbox::new();
    let out = run(sandbox.apiops().args(["config", "path"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout.trim_end(),
        sandbox.config_file().display().to_string()
    );
    assert!(out.stderr.contains("does not exist yet"), "{}", out.stderr);

    sandbox.write_config("this is not toml = = =");
    let out = run(sandbox.apiops().args(["config", "path", "--json"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(doc["exists"], true);
    assert_eq!(doc["explicit"], false);
    let out = run(sandbox.apiops().args(["config", "show"]));
    assert_eq!(out.code, Some(7), "{}", out.stderr);
    assert!(out.stderr.contains("TOML parse error"), "{}", out.stderr);
}

#[test]
fn color_only_when_asked_and_never_with_no_color_on_auto() {
    let sandbox = Sandbox::new();
    let out = run(sandbox.apiops().arg("creds"));
    assert!(!out.stdout.contains('\u{1b}'), "{}", out.stdout);
    let out = run(sandbox.apiops().args(["--color", "always", "creds"]));
    assert!(out.stdout.contains('\u{1b}'), "{}", out.stdout);
    let out = run(sandbox.apiops().arg("creds").env("NO_COLOR", "1"));
    assert!(!out.stdout.contains('\u{1b}'), "{}", out.stdout);
}

#[path = "cli/providers.rs"]
mod providers;

#[path = "cli/ops.rs"]
mod ops;

#[path = "cli/serve.rs"]
mod serve;

#[path = "cli/hostile.rs"]
mod hostile;

#[path = "cli/monitor.rs"]
mod monitor;

#[path = "cli/dashboard.rs"]
mod dashboard;

#[path = "cli/terminal.rs"]
mod terminal;

#[path = "cli/probe.rs"]
mod probe;

#[path = "cli/json_snapshots.rs"]
mod json_snapshots;

#[path = "cli/status.rs"]
mod status;

#[path = "cli/apis.rs"]
mod apis;
#[path = "cli/resume.rs"]
mod resume;

#[path = "cli/api_errors.rs"]
mod api_errors;

#[path = "cli/graphql.rs"]
mod graphql;

#[path = "cli/confirm_api.rs"]
mod confirm_api;
