//! Tests of loading: the layer order, env mapping, validation messages that name keys and
//! sources, policy, and that no secret leaks through `Debug`, `Serialize` or an error.

use std::time::Duration;

use apiops_core::Category;
use secrecy::ExposeSecret;

use super::*;

/// A scratch home: a config dir (with or without a file) and a data dir.
struct Scratch {
    dir: tempfile::TempDir,
    locations: Locations,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let locations = Locations {
            config_file: Some(dir.path().join("config").join(FILE_NAME)),
            data_dir: Some(dir.path().join("data")),
            cache_dir: Some(dir.path().join("cache")),
        };
        Scratch { dir, locations }
    }

    fn with_file(text: &str) -> Self {
        let s = Scratch::new();
        let path = s.locations.config_file.clone().expect("path");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        s
    }

    fn file_path(&self) -> PathBuf {
        self.locations.config_file.clone().expect("path")
    }

    fn load(
        &self,
        env: &[(&str, &str)],
        flags: FlagOverrides,
    ) -> Result<LoadedConfig, ConfigError> {
        let env: Environment = env.iter().copied().collect();
        load(&Sources {
            locations: &self.locations,
            explicit_file: None,
            env: &env,
            flags,
        })
    }

    fn settings(&self, env: &[(&str, &str)]) -> Settings {
        self.load(env, FlagOverrides::default())
            .expect("config loads")
            .settings
    }

    fn error(&self, env: &[(&str, &str)]) -> String {
        self.load(env, FlagOverrides::default())
            .expect_err("config must not load")
            .to_string()
    }
}

#[test]
fn embedded_defaults_load_with_the_documented_values() {
    let s = Scratch::new().settings(&[]);
    assert_eq!(s.output.format, Format::Human);
    assert_eq!(s.output.color, ColorMode::Auto);
    assert_eq!(s.client.connect_timeout, Duration::from_secs(5));
    assert_eq!(s.client.timeout, Duration::from_secs(30));
    assert_eq!(s.client.max_attempts.get(), 3);
    assert_eq!(s.client.base_delay, Duration::from_millis(250));
    assert_eq!(s.client.max_delay, Duration::from_secs(20));
    assert!((s.client.retry_budget_ratio - 0.1).abs() < f64::EPSILON);
    assert_eq!(s.client.retry_budget_min, 10);
    assert!((s.breaker.failure_rate - 0.5).abs() < f64::EPSILON);
    assert_eq!(s.breaker.minimum_calls.get(), 50);
    assert_eq!(s.breaker.window.get(), 100);
    assert!((s.client.read_timeout_multiplier - 3.0).abs() < f64::EPSILON);
    assert_eq!(s.client.read_timeout_floor, Duration::from_secs(1));
    assert!((s.client.hedge_share - 0.05).abs() < f64::EPSILON);
    assert_eq!(s.client.hedge_min_delay, Duration::from_millis(50));
    assert!((s.client.read_retry_budget_ratio - 0.5).abs() < f64::EPSILON);
    assert_eq!(s.client.read_retry_budget_min, 50);
    assert_eq!(s.breaker.cool_down, Duration::from_secs(30));
    assert_eq!(s.breaker.half_open_probes.get(), 3);
    assert_eq!(s.twilio.api_url.as_str(), "https://api.twilio.com/");
    assert_eq!(s.twilio.monitor_url.as_str(), "https://monitor.twilio.com/");
    assert_eq!(
        s.twilio.messaging_url.as_str(),
        "https://messaging.twilio.com/"
    );
    assert_eq!(s.twilio.numbers_url.as_str(), "https://numbers.twilio.com/");
    assert_eq!(s.twilio.pricing_url.as_str(), "https://pricing.twilio.com/");
    assert_eq!(s.twilio.max_concurrency.get(), 100);
    assert!(s.twilio.account_sid.is_none() && s.twilio.auth().is_none());
    assert_eq!(s.stripe.api_url.as_str(), "https://api.stripe.com/");
    assert_eq!(s.stripe.api_version, "2023-08-16");
    assert_eq!(s.stripe.requests_per_second.get(), 25);
    assert!(s.stripe.secret_key.is_none());
    assert_eq!(s.openai.base_url.as_str(), "https://api.openai.com/v1/");
    assert_eq!(
        s.openai.base_url.join("models").map(String::from),
        Ok("https://api.openai.com/v1/models".to_owned())
    );
    assert!(s.openai.requests_per_minute.is_none());
    assert!(s.openai.api_key.is_none() && s.openai.organization.is_none());
    assert!(s.policy.auto_fix.is_empty());
    let db = s.database.url.expose_secret();
    assert!(db.starts_with("sqlite://"), "{db}");
    assert!(
        db.contains("data") && db.ends_with("apiops.db?mode=rwc"),
        "{db}"
    );
}

#[test]
fn every_section_is_mapped_from_the_environment() {
    let s = Scratch::new().settings(&[]);
    let json = serde_json::to_value(&s).expect("serialize");
    let mut sections: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    sections.sort_unstable();
    // `[apis.NAME]` tables are mapped by `apis::env_values` (APIOPS_APIS_<NAME>_<KEY>).
    let mut known = env::SECTIONS.to_vec();
    known.push("apis");
    known.sort_unstable();
    assert_eq!(sections, known);
}

#[test]
fn every_default_key_is_documented_by_a_comment() {
    let mut previous = "";
    for line in DEFAULTS.lines() {
        let t = line.trim();
        if !t.is_empty() && !t.starts_with('#') && !t.starts_with('[') {
            assert!(
                previous.starts_with('#') || previous.contains(" = "),
                "undocumented default: {t}"
            );
        }
        if !t.is_empty() {
            previous = t;
        }
    }
}

#[test]
fn layers_apply_in_order_defaults_file_env_flags() {
    let scratch = Scratch::with_file(
        r#"
        [output]
        format = "md"
        [client]
        timeout = "10s"
        connect_timeout = "2s"
        max_attempts = 4
        [twilio]
        api_url = "http://127.0.0.1:9000"
        auth_token = "from_file_token_0123456789"
        "#,
    );
    // File over defaults.
    let s = scratch.settings(&[]);
    assert_eq!(s.output.format, Format::Md);
    assert_eq!(s.client.timeout, Duration::from_secs(10));
    assert_eq!(s.client.max_attempts.get(), 4);
    assert_eq!(s.client.max_delay, Duration::from_secs(20), "default kept");
    assert_eq!(s.twilio.api_url.as_str(), "http://127.0.0.1:9000/");

    // Env over file; conventional and prefixed variables; numbers from strings.
    let env = [
        ("APIOPS_CLIENT_TIMEOUT", "12s"),
        ("APIOPS_CLIENT_MAX_ATTEMPTS", "6"),
        ("APIOPS_BREAKER_FAILURE_RATE", "0.25"),
        ("APIOPS_TWILIO_API_URL", "http://127.0.0.1:9100"),
        ("TWILIO_AUTH_TOKEN", "from_env_token_0123456789"),
        ("APIOPS_OUTPUT_FORMAT", "json"),
    ];
    let loaded = scratch.load(&env, FlagOverrides::default()).expect("loads");
    let s = &loaded.settings;
    assert_eq!(s.client.timeout, Duration::from_secs(12));
    assert_eq!(
        s.client.connect_timeout,
        Duration::from_secs(2),
        "file kept"
    );
    assert_eq!(s.client.max_attempts.get(), 6);
    assert!((s.breaker.failure_rate - 0.25).abs() < f64::EPSILON);
    assert_eq!(s.twilio.api_url.as_str(), "http://127.0.0.1:9100/");
    assert_eq!(
        s.twilio.auth_token.as_ref().map(|t| t.expose_secret()),
        Some("from_env_token_0123456789")
    );
    assert_eq!(s.output.format, Format::Json);
    let origins = &loaded.origins;
    assert_eq!(origins.of("client.max_delay"), Some(Origin::Default));
    assert_eq!(
        origins.of("client.connect_timeout"),
        Some(Origin::File {
            path: scratch.file_path()
        })
    );
    assert_eq!(
        origins.of("client.timeout"),
        Some(Origin::Env {
            variable: "APIOPS_CLIENT_TIMEOUT".into()
        })
    );
    assert_eq!(
        origins.of("twilio.auth_token"),
        Some(Origin::Env {
            variable: "TWILIO_AUTH_TOKEN".into()
        })
    );
    assert_eq!(origins.of("twilio.api_key"), None);

    // Flags over env.
    let flags = FlagOverrides {
        format: Some(Format::Human),
        color: Some(ColorMode::Never),
    };
    let loaded = scratch.load(&env, flags).expect("loads");
    assert_eq!(loaded.settings.output.format, Format::Human);
    assert_eq!(loaded.settings.output.color, ColorMode::Never);
    assert_eq!(
        loaded.origins.of("output.format"),
        Some(Origin::Flag {
            flag: "--format/--json".into()
        })
    );
}

#[test]
fn prefixed_variables_override_conventional_ones() {
    let loaded = Scratch::new()
        .load(
            &[
                ("OPENAI_API_KEY", "sk-conventional-0123456789"),
                ("APIOPS_OPENAI_API_KEY", "sk-prefixed-0123456789"),
                ("OPENAI_BASE_URL", "http://127.0.0.1:4000/v1"),
                ("OPENAI_ORG_ID", "org-123"),
                ("OPENAI_PROJECT_ID", "proj_abc"),
                ("APIOPS_OPENAI_REQUESTS_PER_MINUTE", "500"),
            ],
            FlagOverrides::default(),
        )
        .expect("loads");
    let o = &loaded.settings.openai;
    assert_eq!(
        o.api_key.as_ref().map(|k| k.expose_secret()),
        Some("sk-prefixed-0123456789")
    );
    assert_eq!(o.base_url.as_str(), "http://127.0.0.1:4000/v1/");
    assert_eq!(o.organization.as_deref(), Some("org-123"));
    assert_eq!(o.project.as_deref(), Some("proj_abc"));
    assert_eq!(o.requests_per_minute.map(|n| n.get()), Some(500));
    assert_eq!(
        loaded.origins.of("openai.api_key"),
        Some(Origin::Env {
            variable: "APIOPS_OPENAI_API_KEY".into()
        })
    );
    assert_eq!(
        loaded.origins.of("openai.base_url"),
        Some(Origin::Env {
            variable: "OPENAI_BASE_URL".into()
        })
    );
}

#[test]
fn variables_that_are_not_config_keys_are_ignored() {
    let s = Scratch::new().settings(&[
        ("APIOPS_CASSETTE", "replay"),
        ("APIOPS_LOG", "debug"),
        ("APIOPS_CONFIG", "/nowhere"),
        ("APIOPS_SIM_SEED", "42"),
        ("HOME", "/tmp"),
        ("TWILIO_SOMETHING_ELSE", "x"),
    ]);
    assert_eq!(s.client.max_attempts.get(), 3);
}

#[test]
fn empty_variables_count_as_unset() {
    let s = Scratch::new().settings(&[
        ("TWILIO_AUTH_TOKEN", ""),
        ("APIOPS_CLIENT_TIMEOUT", ""),
        ("STRIPE_SECRET_KEY", "  "),
    ]);
    assert!(s.twilio.auth_token.is_none());
    assert!(s.stripe.secret_key.is_none());
    assert_eq!(s.client.timeout, Duration::from_secs(30));
}

#[test]
fn validation_errors_name_the_key_and_the_source() {
    let scratch = Scratch::with_file("[client]\ntimeout = \"5 parsecs\"\n");
    let err = scratch.error(&[]);
    assert!(
        err.starts_with("client.timeout: invalid duration \"5 parsecs\""),
        "{err}"
    );
    assert!(
        err.contains(&scratch.file_path().display().to_string()),
        "{err}"
    );

    // (variable, value, what the message must say); the source is always that variable.
    let cases = [
        (
            "APIOPS_CLIENT_CONNECT_TIMEOUT",
            "soon",
            "client.connect_timeout: invalid duration \"soon\"",
        ),
        (
            "APIOPS_TWILIO_API_URL",
            "ftp://example.com",
            "twilio.api_url: invalid URL",
        ),
        ("OPENAI_BASE_URL", "localhost:4000", "openai.base_url:"),
        ("APIOPS_CLIENT_MAX_ATTEMPTS", "0", "client.max_attempts:"),
        ("APIOPS_CLIENT_MAX_ATTEMPTS", "many", "client.max_attempts:"),
        (
            "APIOPS_OUTPUT_FORMAT",
            "xml",
            "output.format: unknown value \"xml\"; expected one of: human",
        ),
        (
            "APIOPS_TWILIO_API_URLS",
            "http://x",
            "twilio.api_urls: unknown key; expected one of: api_url",
        ),
        (
            "APIOPS_CLIENT_BASE_DELAY",
            "1m",
            "client.base_delay: 1m is longer than client.max_delay (20s)",
        ),
        (
            "APIOPS_BREAKER_FAILURE_RATE",
            "1.5",
            "breaker.failure_rate: 1.5 is not in (0, 1]",
        ),
        (
            "APIOPS_BREAKER_MINIMUM_CALLS",
            "500",
            "breaker.minimum_calls: 500 is more than breaker.window (100)",
        ),
        (
            "APIOPS_CLIENT_HEDGE_SHARE",
            "1.5",
            "client.hedge_share: 1.5 is not between 0 and 1",
        ),
        (
            "APIOPS_CLIENT_RETRY_BUDGET_RATIO",
            "2",
            "client.retry_budget_ratio: 2 is not between 0 and 1",
        ),
        (
            "APIOPS_STRIPE_API_VERSION",
            "latest",
            "stripe.api_version: \"latest\" is not a Stripe API version",
        ),
        (
            "APIOPS_DATABASE_URL",
            "mysql://u:p@h/db",
            "database.url: expected a URL starting with sqlite:",
        ),
        (
            "APIOPS_BREAKER_COOL_DOWN",
            "0s",
            "breaker.cool_down: must be longer than zero",
        ),
    ];
    for (variable, value, want) in cases {
        let err = Scratch::new().error(&[(variable, value)]);
        assert!(err.contains(want), "want {want:?} in: {err}");
        let source = format!("(from env {variable})");
        assert!(err.contains(&source), "want {source:?} in: {err}");
    }
}

#[test]
fn several_problems_are_all_reported() {
    let err = Scratch::new().error(&[
        ("APIOPS_CLIENT_TIMEOUT", "later"),
        ("APIOPS_STRIPE_API_URL", "gopher://x"),
    ]);
    assert!(err.contains("client.timeout"), "{err}");
    assert!(err.contains("stripe.api_url"), "{err}");
}

#[test]
fn unknown_sections_and_keys_in_the_file_are_errors() {
    let err = Scratch::with_file("[clinet]\ntimeout = \"5s\"\n").error(&[]);
    assert!(err.contains("clinet: unknown section"), "{err}");
    let err = Scratch::with_file("[client]\ntimout = \"5s\"\n").error(&[]);
    assert!(err.contains("client.timout: unknown key"), "{err}");
    assert!(err.contains("(from file "), "{err}");
    let err = Scratch::with_file("timeout = \"5s\"\n").error(&[]);
    assert!(err.contains("timeout: unknown section"), "{err}");
    let scratch = Scratch::with_file("client = 5\n");
    assert_eq!(
        scratch.error(&[]),
        format!(
            "client: expected a table ([client]), found a single value (from file {})",
            scratch.file_path().display()
        )
    );
}

#[test]
fn a_file_that_is_not_toml_is_an_error_without_its_text() {
    let scratch = Scratch::with_file("[twilio]\nauth_token = canary_unquoted_0123456789\n");
    let err = scratch.error(&[]);
    assert!(err.contains("TOML parse error"), "{err}");
    assert!(
        err.contains(&scratch.file_path().display().to_string()),
        "{err}"
    );
    assert!(!err.contains("canary_unquoted"), "{err}");
}

#[test]
fn secrets_of_the_wrong_type_are_not_echoed() {
    let err = Scratch::with_file("[stripe]\nsecret_key = 4242424242424242\n").error(&[]);
    assert!(
        err.contains("stripe.secret_key: expected a string"),
        "{err}"
    );
    assert!(!err.contains("4242"), "{err}");
    let err = Scratch::new().error(&[(
        "APIOPS_DATABASE_URL",
        "mysql://apiops:canary_db_pw_0123456789@db/apiops",
    )]);
    assert!(!err.contains("canary_db_pw"), "{err}");
}

#[test]
fn policy_accepts_fixable_categories_in_both_spellings() {
    let s = Scratch::with_file("[policy]\nauto_fix = [\"config\", \"rate_limit\"]\n").settings(&[]);
    assert_eq!(
        s.policy.auto_fix.iter().copied().collect::<Vec<_>>(),
        [Category::Config, Category::RateLimit]
    );
    assert!(s.policy.may_auto_fix(Category::Config));
    assert!(!s.policy.may_auto_fix(Category::BadParams));
    assert!(!s.policy.may_auto_fix(Category::Auth));
    let s = Scratch::new().settings(&[("APIOPS_POLICY_AUTO_FIX", "bad_params, config")]);
    assert_eq!(s.policy.auto_fix.len(), 2);
}

#[test]
fn policy_refuses_what_is_never_automatic() {
    for listed in ["auth", "transient", "purchases", "deletions"] {
        let err = Scratch::with_file(&format!(
            "[policy]\nauto_fix = [\"config\", \"{listed}\"]\n"
        ))
        .error(&[]);
        assert!(err.starts_with("policy.auto_fix: "), "{err}");
        assert!(err.contains(&format!("\"{listed}\"")), "{err}");
        assert!(
            err.contains("auth problems, purchases and deletions are never automatic"),
            "{err}"
        );
    }
    let err = Scratch::new().error(&[("APIOPS_POLICY_AUTO_FIX", "config,auth")]);
    assert!(err.contains("policy.auto_fix"), "{err}");
    assert!(err.contains("env APIOPS_POLICY_AUTO_FIX"), "{err}");
}

#[test]
fn an_explicit_file_must_exist() {
    let scratch = Scratch::new();
    let env = Environment::default();
    let missing = scratch.dir.path().join("nope.toml");
    let err = load(&Sources {
        locations: &scratch.locations,
        explicit_file: Some(&missing),
        env: &env,
        flags: FlagOverrides::default(),
    })
    .expect_err("missing explicit file");
    assert!(
        matches!(err, ConfigError::FileNotFound(ref p) if *p == missing),
        "{err}"
    );
    let err = load(&Sources {
        locations: &scratch.locations,
        explicit_file: Some(scratch.dir.path()),
        env: &env,
        flags: FlagOverrides::default(),
    })
    .expect_err("directory");
    assert!(matches!(err, ConfigError::NotAFile(_)), "{err}");
}

#[test]
fn an_explicit_file_replaces_the_default_one() {
    let scratch = Scratch::with_file("[client]\nmax_attempts = 9\n");
    let other = scratch.dir.path().join("other.toml");
    std::fs::write(&other, "[client]\nmax_attempts = 2\n").expect("write");
    let env = Environment::default();
    let loaded = load(&Sources {
        locations: &scratch.locations,
        explicit_file: Some(&other),
        env: &env,
        flags: FlagOverrides::default(),
    })
    .expect("loads");
    assert_eq!(loaded.settings.client.max_attempts.get(), 2);
    assert!(loaded.user_file.explicit && loaded.user_file.exists);
    assert_eq!(loaded.user_file.path.as_deref(), Some(other.as_path()));
}

#[test]
fn no_home_directory_still_loads() {
    let loaded = crate::test_loaded(&[]);
    assert_eq!(
        loaded.settings.database.url.expose_secret(),
        "sqlite://./apiops.db?mode=rwc"
    );
    assert!(loaded.user_file.path.is_none());
}

/// One canary per secret key; the webhook secrets in rotation (two each, one with spaces).
const CANARIES: &[(&str, &str)] = &[
    ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
    ("TWILIO_AUTH_TOKEN", "canary_tw_0123456789abcdef"),
    ("TWILIO_API_KEY", "SKcanary_key_0123456789"),
    ("TWILIO_API_SECRET", "canary_twsecret_0123456789"),
    ("OPENAI_API_KEY", "sk-proj-canary_0123456789"),
    ("OPENAI_ADMIN_KEY", "sk-admin-canary_0123456789"),
    (
        "OPENAI_WEBHOOK_SECRET",
        "whsec_canary_oa_old_0123,whsec_canary_oa_new_4567",
    ),
    ("STRIPE_SECRET_KEY", "sk_test_canary_0123456789"),
    (
        "STRIPE_WEBHOOK_SECRET",
        "whsec_canary_st_old_0123 , whsec_canary_st_new_4567",
    ),
    (
        "APIOPS_DATABASE_URL",
        "postgres://apiops:canary_pw_0123456789@db/apiops",
    ),
    (
        "APIOPS_MONITOR_WEBHOOK_URLS",
        "https://hooks.example.com/canary_sink_0123456789",
    ),
    (
        "APIOPS_MONITOR_SLACK_URLS",
        "https://hooks.slack.com/services/T0/B0/canary_slack_0123456789",
    ),
];

/// What each secret must be found as on its own (each half of a rotation separately).
const EXPECTED: &[&str] = &[
    "AC0123456789abcdef0123456789abcdef",
    "canary_tw_0123456789abcdef",
    "SKcanary_key_0123456789",
    "canary_twsecret_0123456789",
    "sk-proj-canary_0123456789",
    "sk-admin-canary_0123456789",
    "whsec_canary_oa_old_0123",
    "whsec_canary_oa_new_4567",
    "whsec_canary_st_old_0123",
    "whsec_canary_st_new_4567",
    "sk_test_canary_0123456789",
    "canary_pw_0123456789",
    "https://hooks.example.com/canary_sink_0123456789",
    "https://hooks.slack.com/services/T0/B0/canary_slack_0123456789",
];

#[test]
fn the_secrets_list_holds_every_secret_and_each_half_of_a_rotation() {
    let settings = Scratch::new().settings(CANARIES);
    let listed: Vec<String> = settings
        .secrets()
        .iter()
        .map(|s| s.expose_secret().to_owned())
        .collect();
    for want in EXPECTED {
        assert!(listed.iter().any(|l| l == want), "{want} not listed");
    }
    for whole in [
        "whsec_canary_oa_old_0123,whsec_canary_oa_new_4567",
        "postgres://apiops:canary_pw_0123456789@db/apiops",
    ] {
        assert!(listed.iter().any(|l| l == whole), "{whole} not listed");
    }
}

#[test]
fn a_redactor_of_the_list_hides_each_secret_quoted_alone() {
    let settings = Scratch::new().settings(CANARIES);
    let redactor = apiops_client::redact::Redactor::new(settings.secrets());
    for secret in EXPECTED {
        let text = format!("provider said: bad signature with {secret}, retry");
        let shown = redactor.redact(&text);
        assert!(!shown.contains(secret), "{secret} survived: {shown}");
    }
}

#[test]
fn secrets_are_masked_in_serialize_and_hidden_in_debug() {
    let loaded = Scratch::new()
        .load(CANARIES, FlagOverrides::default())
        .expect("loads");
    let shown = serde_json::to_string(&loaded.settings).expect("serialize");
    let debug = format!("{loaded:?}");
    for (_, canary) in CANARIES {
        let middle = &canary[4..canary.len() - 4];
        assert!(!shown.contains(middle), "{middle} in {shown}");
        assert!(!debug.contains(middle), "{middle} in {debug}");
    }
    assert!(shown.contains("\"auth_token\":\"cana...cdef\""), "{shown}");
    assert!(
        shown.contains("postgres://apiops:cana...6789@db/apiops"),
        "{shown}"
    );
}

#[test]
fn durations_show_in_humantime() {
    let s = Scratch::new().settings(&[]);
    let json = serde_json::to_value(&s).expect("serialize");
    assert_eq!(json["client"]["base_delay"], "250ms");
    assert_eq!(json["client"]["timeout"], "30s");
    assert_eq!(json["policy"]["auto_fix"], serde_json::json!([]));
}

#[test]
fn twilio_prefers_the_api_key_pair() {
    let s = Scratch::new().settings(&[
        ("TWILIO_AUTH_TOKEN", "token_0123456789abcdef"),
        ("TWILIO_API_KEY", "SK0123456789abcdef"),
        ("TWILIO_API_SECRET", "secret_0123456789abcdef"),
    ]);
    assert!(matches!(s.twilio.auth(), Some(TwilioAuth::ApiKey { .. })));
    let s = Scratch::new().settings(&[
        ("TWILIO_AUTH_TOKEN", "token_0123456789abcdef"),
        ("TWILIO_API_KEY", "SK0123456789abcdef"),
    ]);
    assert!(matches!(s.twilio.auth(), Some(TwilioAuth::AuthToken(_))));
}

#[test]
fn monitor_defaults_are_the_documented_ones() {
    let m = Scratch::new().settings(&[]).monitor;
    assert!(m.enabled);
    assert_eq!(m.health_every, Duration::from_secs(60));
    assert_eq!(m.errors_every, Duration::from_secs(15 * 60));
    assert_eq!(m.audit_every, Duration::from_secs(24 * 3600));
    assert_eq!((m.down_after.get(), m.degraded_after.get()), (2, 3));
    assert_eq!(m.error_thresholds.get(&Category::Auth), Some(&1));
    assert_eq!(m.error_thresholds.get(&Category::RateLimit), Some(&50));
    assert_eq!(m.error_thresholds.len(), Category::ALL.len());
    assert!(m.webhook_urls.is_empty() && m.slack_urls.is_empty());
    assert!(!m.allow_private_sinks);
    assert!(!m.probe_webhooks, "the webhook probe is off by default");
    assert_eq!(m.sink_attempts.get(), 5);
    assert_eq!(m.usage_every, Duration::from_secs(3600));
    assert!(m.budgets.is_empty());
    assert_eq!(m.usage_anomaly_factor, 3.0);
    assert_eq!(m.usage_anomaly_days.get(), 7);
    assert_eq!(m.usage_anomaly_min_spend, 5.0);
}

#[test]
fn budgets_from_file_and_environment() {
    use apiops_core::Service;
    let scratch = Scratch::with_file(
        r#"
        [monitor]
        budgets = { twilio = "200 USD/month", openai = "49.99 usd/day" }
        "#,
    );
    let m = scratch.settings(&[]).monitor;
    assert_eq!(m.budgets.len(), 2);
    assert_eq!(m.budgets[&Service::Twilio].to_string(), "200 USD/month");
    assert_eq!(m.budgets[&Service::Openai].to_string(), "49.99 USD/day");
    let shown = serde_json::to_value(&m).expect("serialize");
    assert_eq!(shown["budgets"]["openai"], "49.99 USD/day");
    let m = scratch
        .settings(&[("APIOPS_MONITOR_BUDGETS", "stripe=10 EUR/week")])
        .monitor;
    // The variable replaces the file's table, as for every other key.
    assert_eq!(m.budgets.len(), 1, "{:?}", m.budgets);
    assert_eq!(m.budgets[&Service::Stripe].to_string(), "10 EUR/week");
}

#[test]
fn least_spend_per_currency_from_file_and_environment() {
    let scratch = Scratch::with_file(
        r#"
        [monitor]
        usage_anomaly_min_spend_by_currency = { jpy = 800, KRW = 7000.5 }
        "#,
    );
    let m = scratch.settings(&[]).monitor;
    let table: Vec<(&str, f64)> = m
        .usage_anomaly_min_spend_by_currency
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(table, [("JPY", 800.0), ("KRW", 7000.5)]);
    assert_eq!(
        m.monitor_config().usage_anomaly_min_spend_by_currency["JPY"],
        800.0
    );
    let shown = serde_json::to_value(&m).expect("serialize");
    assert_eq!(shown["usage_anomaly_min_spend_by_currency"]["KRW"], 7000.5);
    let m = scratch
        .settings(&[(
            "APIOPS_MONITOR_USAGE_ANOMALY_MIN_SPEND_BY_CURRENCY",
            "huf=2000, CLP = 4500",
        )])
        .monitor;
    let table: Vec<(&str, f64)> = m
        .usage_anomaly_min_spend_by_currency
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        table,
        [("CLP", 4500.0), ("HUF", 2000.0)],
        "the variable replaces the file's table"
    );
}

/// The README's budgets example is a configuration that loads, meaning what it says.
#[test]
fn the_readme_budgets_example_loads() {
    use apiops_core::Service;
    let readme = include_str!("../../../README.md");
    let example = readme
        .split("- Usage (`usage_every`")
        .nth(1)
        .and_then(|s| s.split("```toml").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the README's usage example");
    let m = Scratch::with_file(example).settings(&[]).monitor;
    assert_eq!(m.budgets[&Service::Twilio].to_string(), "200 USD/month");
    assert_eq!(m.budgets[&Service::Openai].to_string(), "50 USD/day");
    assert_eq!(
        (
            m.usage_anomaly_factor,
            m.usage_anomaly_days.get(),
            m.usage_anomaly_min_spend
        ),
        (3.0, 7, 5.0)
    );
}

#[test]
fn bad_budgets_and_usage_keys_are_named() {
    let scratch = Scratch::new();
    let cases = [
        (
            "APIOPS_MONITOR_BUDGETS",
            "twilio=200 USD",
            "monitor.budgets: twilio: \"200 USD\": it has no period",
        ),
        (
            "APIOPS_MONITOR_BUDGETS",
            "twilio=200 USD/year",
            "monitor.budgets: twilio: \"200 USD/year\": the period \"year\" is not day, week or month",
        ),
        (
            "APIOPS_MONITOR_BUDGETS",
            "openai=-5 USD/day",
            "monitor.budgets: openai: \"-5 USD/day\": the amount \"-5\" is not a number",
        ),
        (
            "APIOPS_MONITOR_BUDGETS",
            "stripe=5 dollars/day",
            "monitor.budgets: stripe: \"5 dollars/day\": the currency \"dollars\" is not a three-letter code",
        ),
        (
            "APIOPS_MONITOR_BUDGETS",
            "sendgrid=5 USD/day",
            "monitor.budgets: unknown service \"sendgrid\"",
        ),
        (
            "APIOPS_MONITOR_BUDGETS",
            "twilio",
            "monitor.budgets: \"twilio\" is not service=budget",
        ),
        (
            "APIOPS_MONITOR_BUDGETS",
            "twilio=5 USD/day, twilio=6 USD/day",
            "monitor.budgets: twilio: more than one budget",
        ),
        (
            "APIOPS_MONITOR_USAGE_EVERY",
            "10ms",
            "monitor.usage_every: 10ms is too short",
        ),
        (
            "APIOPS_MONITOR_USAGE_ANOMALY_FACTOR",
            "0.5",
            "monitor.usage_anomaly_factor: 0.5 is not 0 (off) or a factor above 1",
        ),
        (
            "APIOPS_MONITOR_USAGE_ANOMALY_DAYS",
            "0",
            "monitor.usage_anomaly_days:",
        ),
        (
            "APIOPS_MONITOR_USAGE_ANOMALY_DAYS",
            "365",
            "monitor.usage_anomaly_days: 365 days is more than the limit of 90",
        ),
        (
            "APIOPS_MONITOR_USAGE_ANOMALY_MIN_SPEND",
            "-1",
            "monitor.usage_anomaly_min_spend: -1 is not an amount",
        ),
        (
            "APIOPS_MONITOR_USAGE_ANOMALY_MIN_SPEND_BY_CURRENCY",
            "JPY=-800",
            "monitor.usage_anomaly_min_spend_by_currency: JPY: -800 is not an amount of 0 or more",
        ),
        (
            "APIOPS_MONITOR_USAGE_ANOMALY_MIN_SPEND_BY_CURRENCY",
            "yens=800",
            "monitor.usage_anomaly_min_spend_by_currency: \"yens\" is not a three-letter currency code",
        ),
        (
            "APIOPS_MONITOR_USAGE_ANOMALY_MIN_SPEND_BY_CURRENCY",
            "JPY=lots",
            "monitor.usage_anomaly_min_spend_by_currency: JPY: \"lots\" is not a number",
        ),
        (
            "APIOPS_MONITOR_USAGE_ANOMALY_MIN_SPEND_BY_CURRENCY",
            "JPY",
            "monitor.usage_anomaly_min_spend_by_currency: \"JPY\" is not CURRENCY=amount",
        ),
        (
            "APIOPS_MONITOR_USAGE_ANOMALY_MIN_SPEND_BY_CURRENCY",
            "JPY=800, jpy=900",
            "monitor.usage_anomaly_min_spend_by_currency: JPY: more than one amount",
        ),
    ];
    for (var, value, want) in cases {
        let err = scratch.error(&[(var, value)]);
        assert!(err.contains(want), "{var}={value}: {err}");
        assert!(err.contains(var), "{var}: the source is named: {err}");
    }
    // In a file, a budget that is not text is named too.
    let scratch = Scratch::with_file("[monitor]\nbudgets = { twilio = 200 }\n");
    let err = scratch.error(&[]);
    assert!(
        err.contains("monitor.budgets: twilio: expected a budget in quotes"),
        "{err}"
    );
    let scratch =
        Scratch::with_file("[monitor]\nusage_anomaly_min_spend_by_currency = { JPY = \"800\" }\n");
    let err = scratch.error(&[]);
    assert!(
        err.contains(
            "monitor.usage_anomaly_min_spend_by_currency: JPY: expected a number such as 800"
        ),
        "{err}"
    );
}

#[test]
fn monitor_keys_from_file_and_environment() {
    let scratch = Scratch::with_file(
        r#"
        [monitor]
        health_every = "1s"
        error_thresholds = { rate_limit = 7 }
        webhook_urls = ["https://alerts.example.com/hook?token=file_canary_token_123"]
        "#,
    );
    let m = scratch.settings(&[]).monitor;
    assert_eq!(m.health_every, Duration::from_secs(1));
    assert_eq!(m.error_thresholds[&Category::RateLimit], 7);
    assert_eq!(
        m.error_thresholds[&Category::Auth],
        1,
        "other defaults kept"
    );
    assert_eq!(m.webhook_urls.len(), 1);
    // Shown without the path and query that carry the token.
    let shown = serde_json::to_string(&m).expect("serialize");
    assert!(shown.contains("https://alerts.example.com/..."), "{shown}");
    assert!(!shown.contains("file_canary_token_123"), "{shown}");

    let m = scratch
        .settings(&[
            ("APIOPS_MONITOR_ERROR_THRESHOLDS", "auth=2, carrier=0"),
            (
                "APIOPS_MONITOR_SLACK_URLS",
                "https://hooks.slack.com/services/T1/B1/x1, https://hooks.slack.com/services/T2/B2/x2",
            ),
            ("APIOPS_MONITOR_ENABLED", "false"),
            ("APIOPS_MONITOR_ALLOW_PRIVATE_SINKS", "true"),
            ("APIOPS_MONITOR_PROBE_WEBHOOKS", "true"),
        ])
        .monitor;
    assert!(!m.enabled && m.allow_private_sinks);
    assert!(m.probe_webhooks);
    assert_eq!(m.slack_urls.len(), 2);
    assert_eq!(
        m.error_thresholds,
        [(Category::Auth, 2), (Category::Carrier, 0)]
            .into_iter()
            .collect()
    );
}

#[test]
fn monitor_problems_name_the_key_and_never_echo_a_sink_url() {
    let scratch = Scratch::new();
    let cases = [
        (
            "APIOPS_MONITOR_HEALTH_EVERY",
            "200ms",
            "monitor.health_every: 200ms is too short",
        ),
        (
            "APIOPS_MONITOR_ERRORS_EVERY",
            "soon",
            "monitor.errors_every: invalid duration",
        ),
        ("APIOPS_MONITOR_DOWN_AFTER", "0", "monitor.down_after:"),
        (
            "APIOPS_MONITOR_HEADROOM_BELOW_PERCENT",
            "150",
            "monitor.headroom_below_percent: 150 is not a percentage",
        ),
        (
            "APIOPS_MONITOR_BALANCE_FLOOR",
            "-1",
            "monitor.balance_floor:",
        ),
        (
            "APIOPS_MONITOR_ERROR_THRESHOLDS",
            "sharks=3",
            "monitor.error_thresholds: unknown category \"sharks\"",
        ),
        (
            "APIOPS_MONITOR_ERROR_THRESHOLDS",
            "auth",
            "monitor.error_thresholds: \"auth\" is not category=count",
        ),
        (
            "APIOPS_MONITOR_SINK_BACKOFF",
            "0s",
            "monitor.sink_backoff: must be longer",
        ),
        (
            "APIOPS_MONITOR_WEBHOOK_URLS",
            "ftp://hooks.example.com/secret_canary_path",
            "monitor.webhook_urls: URL #1: the scheme must be http or https",
        ),
        (
            "APIOPS_MONITOR_SLACK_URLS",
            "https://hooks.slack.com/ok, nonsense_secret_canary_path",
            "monitor.slack_urls: URL #2 does not parse",
        ),
        ("APIOPS_MONITOR_PAGER", "x", "monitor.pager: unknown key"),
    ];
    for (var, value, want) in cases {
        let err = scratch.error(&[(var, value)]);
        assert!(err.contains(want), "{var}={value}: {err}");
        assert!(err.contains(var), "{var}: the source is named: {err}");
        assert!(!err.contains("secret_canary"), "{err}");
    }
}

#[test]
fn retention_defaults_file_and_environment() {
    let r = Scratch::new().settings(&[]).retention;
    assert_eq!(r.payloads, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(r.events, Duration::from_secs(90 * 24 * 3600));
    assert_eq!(r.batch.get(), 500);

    let scratch = Scratch::with_file(
        r#"
        [retention]
        payloads = "7d"
        events = "0s"
        "#,
    );
    let r = scratch.settings(&[]).retention;
    assert_eq!(r.payloads, Duration::from_secs(7 * 24 * 3600));
    assert!(r.events.is_zero(), "0s keeps events forever");
    assert_eq!(r.batch.get(), 500, "other defaults kept");

    let r = scratch
        .settings(&[
            ("APIOPS_RETENTION_PAYLOADS", "0s"),
            ("APIOPS_RETENTION_EVENTS", "12h"),
            ("APIOPS_RETENTION_BATCH", "50"),
        ])
        .retention;
    assert!(r.payloads.is_zero());
    assert_eq!(r.events, Duration::from_secs(12 * 3600));
    assert_eq!(r.batch.get(), 50);
}

#[test]
fn retention_problems_name_the_key_and_its_source() {
    let scratch = Scratch::new();
    let cases = [
        (
            "APIOPS_RETENTION_PAYLOADS",
            "30s",
            "retention.payloads: 30s is too short",
        ),
        (
            "APIOPS_RETENTION_EVENTS",
            "forever",
            "retention.events: invalid duration",
        ),
        ("APIOPS_RETENTION_BATCH", "0", "retention.batch:"),
        (
            "APIOPS_RETENTION_BATCH",
            "100000",
            "retention.batch: 100000 rows is more than the limit",
        ),
        ("APIOPS_RETENTION_LOGS", "1d", "retention.logs: unknown key"),
    ];
    for (var, value, want) in cases {
        let err = scratch.error(&[(var, value)]);
        assert!(err.contains(want), "{var}={value}: {err}");
        assert!(err.contains(var), "{var}: the source is named: {err}");
    }
}
