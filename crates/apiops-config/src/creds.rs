//! The credentials report (`apiops creds`, the MCP `credentials_status` tool): for each
//! service, which credentials are configured (values masked, with where
//! each came from), which are missing (naming the variable to set), and what kind of key each is
//! where the key shows it (Stripe live/test/restricted, Twilio auth token or API key pair, OpenAI
//! project/admin keys).
//!
//! Presence and shape only: nothing here calls a provider (the health command verifies keys with
//! an authenticated request). Informational, so it exits 0 whatever it finds; only a broken
//! configuration makes it fail. The binary renders the report; this module only builds it.

use apiops_core::{Service, mask};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::settings::{OpenAiSettings, StripeSettings, TwilioSettings};
use crate::{LoadedConfig, Origin, Origins, TwilioAuth};

/// What `apiops creds` shows; holds masked values only.
#[derive(Debug, Serialize)]
pub struct CredsReport {
    /// One entry per service, in a fixed order.
    pub services: Vec<ServiceCreds>,
    /// One entry per `[apis.NAME]` table, by name.
    pub apis: Vec<ApiCreds>,
}

/// The credentials of one `[apis.NAME]` API.
#[derive(Debug, Serialize)]
pub struct ApiCreds {
    /// The API's name.
    pub api: String,
    /// The auth scheme (`bearer`, `basic`, `header`, `query`, `oauth2`, `none`).
    pub scheme: &'static str,
    /// True when every variable the table names is set.
    pub ready: bool,
    /// `(variable, masked value)` of the variables that are set.
    pub present: Vec<(String, String)>,
    /// The variables named but not set.
    pub missing: Vec<String>,
}

/// The credentials of one service.
#[derive(Debug, Serialize)]
pub struct ServiceCreds {
    pub service: Service,
    /// True when the required credentials are all present (their validity is not checked).
    pub ready: bool,
    /// The kind of credential in use, when it shows: `auth_token`/`api_key_pair` (Twilio),
    /// `live`/`test`/`restricted_live`/`restricted_test` (Stripe), `project`/`service_account`/
    /// `user` (OpenAI).
    pub kind: Option<&'static str>,
    /// One line for a person.
    pub summary: String,
    pub credentials: Vec<CredentialRow>,
    /// The variables to set to make the service ready.
    pub missing: Vec<&'static str>,
    /// Shape problems worth fixing; never quoting a value.
    pub warnings: Vec<String>,
}

/// One credential variable.
#[derive(Debug, Serialize)]
pub struct CredentialRow {
    /// The conventional variable.
    pub variable: &'static str,
    /// The config key it sets.
    pub key: &'static str,
    pub status: Status,
    /// The masked value, when set.
    pub value: Option<String>,
    /// Where the value came from (the conventional variable, an `APIOPS_*` one, or a file).
    pub source: Option<Origin>,
    /// Its role or kind, or why it is needed.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Present.
    Set,
    /// Absent and needed.
    Missing,
    /// Absent and optional (or an unused alternative).
    NotSet,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Set => "set",
            Status::Missing => "missing",
            Status::NotSet => "not set",
        }
    }
}

impl CredentialRow {
    fn new(
        variable: &'static str,
        key: &'static str,
        secret: Option<&SecretString>,
        origins: &Origins,
    ) -> Self {
        CredentialRow {
            variable,
            key,
            status: if secret.is_some() {
                Status::Set
            } else {
                Status::NotSet
            },
            value: secret.map(|s| mask(s.expose_secret())),
            source: secret.and_then(|_| origins.of(key)),
            note: None,
        }
    }

    fn is_set(&self) -> bool {
        self.status == Status::Set
    }

    fn require(&mut self, note: Option<&str>) {
        if !self.is_set() {
            self.status = Status::Missing;
        }
        self.note(note);
    }

    fn note(&mut self, note: Option<&str>) {
        if let Some(n) = note {
            self.note = Some(n.to_owned());
        }
    }
}

impl ServiceCreds {
    fn new(
        service: Service,
        kind: Option<&'static str>,
        kind_label: Option<&str>,
        credentials: Vec<CredentialRow>,
        warnings: Vec<String>,
        blocked: bool,
    ) -> Self {
        let missing: Vec<&'static str> = credentials
            .iter()
            .filter(|r| r.status == Status::Missing)
            .map(|r| r.variable)
            .collect();
        let ready = missing.is_empty() && !blocked;
        let summary = match (ready, kind_label) {
            (true, Some(label)) => format!("ready: {label}"),
            (true, None) => "ready".to_owned(),
            (false, _) if !missing.is_empty() => format!("not ready: set {}", missing.join(", ")),
            (false, _) => "not ready: see the warnings".to_owned(),
        };
        ServiceCreds {
            service,
            ready,
            kind,
            summary,
            credentials,
            missing,
            warnings,
        }
    }
}

impl CredsReport {
    /// The report of `loaded` (also the MCP `credentials_status` tool).
    pub fn build(loaded: &LoadedConfig) -> Self {
        let s = &loaded.settings;
        let o = &loaded.origins;
        CredsReport {
            services: vec![
                twilio(&s.twilio, o),
                openai(&s.openai, o),
                stripe(&s.stripe, o),
            ],
            apis: s
                .apis
                .iter()
                .map(|(name, api)| ApiCreds {
                    api: name.clone(),
                    scheme: api.scheme(),
                    ready: api.ready(),
                    present: api
                        .credentials
                        .present
                        .iter()
                        .map(|(v, secret)| (v.clone(), mask(secret.expose_secret())))
                        .collect(),
                    missing: api.credentials.missing.clone(),
                })
                .collect(),
        }
    }
}

/// `AC` or `SK` followed by 32 lowercase hex digits: Twilio's SID shape.
fn is_sid(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == 32
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

fn twilio(t: &TwilioSettings, origins: &Origins) -> ServiceCreds {
    const SID: &str = "TWILIO_ACCOUNT_SID";
    const TOKEN: &str = "TWILIO_AUTH_TOKEN";
    const KEY: &str = "TWILIO_API_KEY";
    const SECRET: &str = "TWILIO_API_SECRET";
    let mut sid = CredentialRow::new(SID, "twilio.account_sid", t.account_sid.as_ref(), origins);
    let mut token = CredentialRow::new(TOKEN, "twilio.auth_token", t.auth_token.as_ref(), origins);
    let mut key = CredentialRow::new(KEY, "twilio.api_key", t.api_key.as_ref(), origins);
    let mut secret =
        CredentialRow::new(SECRET, "twilio.api_secret", t.api_secret.as_ref(), origins);
    let mut warnings = Vec::new();

    sid.require(Some("the account every request is scoped to"));
    if t.account_sid
        .as_ref()
        .is_some_and(|v| !is_sid(v.expose_secret(), "AC"))
    {
        warnings.push(format!(
            "{SID} does not look like an Account SID (\"AC\" followed by 32 hex digits)"
        ));
    }
    if t.api_key
        .as_ref()
        .is_some_and(|v| !is_sid(v.expose_secret(), "SK"))
    {
        warnings.push(format!(
            "{KEY} does not look like an API key SID (\"SK\" followed by 32 hex digits)"
        ));
    }
    let (kind, label) = match t.auth() {
        Some(TwilioAuth::ApiKey { .. }) => {
            key.note(Some("API key pair (used)"));
            secret.note(Some("API key pair (used)"));
            token.note(Some("not used: the API key pair takes precedence"));
            (Some("api_key_pair"), Some("API key pair"))
        }
        Some(TwilioAuth::AuthToken(_)) => {
            token.note(Some("auth token (used)"));
            for (row, other) in [(&mut key, SECRET), (&mut secret, KEY)] {
                if row.is_set() {
                    warnings.push(format!(
                        "{} is set without {other}; the auth token is used instead",
                        row.variable
                    ));
                } else {
                    row.note(Some("alternative to the auth token"));
                }
            }
            (Some("auth_token"), Some("auth token"))
        }
        None if key.is_set() => {
            secret.require(Some("needed with TWILIO_API_KEY"));
            token.note(Some("alternative to the API key pair"));
            (None, None)
        }
        None if secret.is_set() => {
            key.require(Some("needed with TWILIO_API_SECRET"));
            token.note(Some("alternative to the API key pair"));
            (None, None)
        }
        None => {
            token.require(Some("or set TWILIO_API_KEY and TWILIO_API_SECRET"));
            key.note(Some("alternative to the auth token"));
            secret.note(Some("alternative to the auth token"));
            (None, None)
        }
    };
    ServiceCreds::new(
        Service::Twilio,
        kind,
        label,
        vec![sid, token, key, secret],
        warnings,
        false,
    )
}

fn openai(o: &OpenAiSettings, origins: &Origins) -> ServiceCreds {
    const API_KEY: &str = "OPENAI_API_KEY";
    const ADMIN_KEY: &str = "OPENAI_ADMIN_KEY";
    const WEBHOOK: &str = "OPENAI_WEBHOOK_SECRET";
    let mut api_key = CredentialRow::new(API_KEY, "openai.api_key", o.api_key.as_ref(), origins);
    let mut admin =
        CredentialRow::new(ADMIN_KEY, "openai.admin_key", o.admin_key.as_ref(), origins);
    let mut webhook = CredentialRow::new(
        WEBHOOK,
        "openai.webhook_secret",
        o.webhook_secret.as_ref(),
        origins,
    );
    let mut warnings = Vec::new();
    let official = o.base_url.host_str() == Some("api.openai.com");

    let kind = o.api_key.as_ref().and_then(|k| {
        let k = k.expose_secret();
        if k.starts_with("sk-admin-") {
            warnings.push(format!(
                "{API_KEY} holds an admin key; admin keys only work for administration endpoints, put it in {ADMIN_KEY}"
            ));
            None
        } else if k.starts_with("sk-proj-") {
            Some(("project", "project key"))
        } else if k.starts_with("sk-svcacct-") {
            Some(("service_account", "service account key"))
        } else if k.starts_with("sk-") {
            Some(("user", "user key"))
        } else {
            if official {
                warnings.push(format!(
                    "{API_KEY} does not look like an OpenAI key (\"sk-...\")"
                ));
            }
            None
        }
    });
    api_key.require(kind.map(|(_, label)| label));
    if !api_key.is_set() {
        api_key.note(Some("project or user key"));
    }
    if admin.is_set() {
        admin.note(Some("admin key: usage and costs available"));
        if o.admin_key
            .as_ref()
            .is_some_and(|k| !k.expose_secret().starts_with("sk-admin-"))
        {
            warnings.push(format!(
                "{ADMIN_KEY} does not look like an admin key (\"sk-admin-...\")"
            ));
        }
    } else {
        admin.note(Some("optional: needed for usage and costs"));
    }
    webhook_note(&mut webhook, o.webhook_secret.as_ref(), &mut warnings);

    let label = match (kind, admin.is_set()) {
        (Some((_, label)), true) => format!("{label}, admin key present"),
        (Some((_, label)), false) => format!("{label}, no admin key (usage and costs unavailable)"),
        (None, true) => "admin key present".to_owned(),
        (None, false) => "no admin key (usage and costs unavailable)".to_owned(),
    };
    ServiceCreds::new(
        Service::Openai,
        kind.map(|(k, _)| k),
        Some(&label),
        vec![api_key, admin, webhook],
        warnings,
        false,
    )
}

fn stripe(s: &StripeSettings, origins: &Origins) -> ServiceCreds {
    const SECRET_KEY: &str = "STRIPE_SECRET_KEY";
    const WEBHOOK: &str = "STRIPE_WEBHOOK_SECRET";
    let mut key = CredentialRow::new(
        SECRET_KEY,
        "stripe.secret_key",
        s.secret_key.as_ref(),
        origins,
    );
    let mut webhook = CredentialRow::new(
        WEBHOOK,
        "stripe.webhook_secret",
        s.webhook_secret.as_ref(),
        origins,
    );
    let mut warnings = Vec::new();
    let mut blocked = false;

    let kind = s.secret_key.as_ref().and_then(|k| {
        let k = k.expose_secret();
        let known = [
            ("sk_live_", "live", "live mode"),
            ("sk_test_", "test", "test mode"),
            ("rk_live_", "restricted_live", "restricted, live mode"),
            ("rk_test_", "restricted_test", "restricted, test mode"),
        ];
        let found = known.into_iter().find(|(prefix, ..)| k.starts_with(prefix));
        if found.is_none() {
            if k.starts_with("pk_") {
                blocked = true;
                warnings.push(format!(
                    "{SECRET_KEY} holds a publishable key (pk_...), which cannot call the API; use a secret or restricted key"
                ));
            } else {
                warnings.push(format!(
                    "{SECRET_KEY} has an unrecognized prefix; expected sk_live_, sk_test_, rk_live_ or rk_test_"
                ));
            }
        }
        found.map(|(_, kind, label)| (kind, label))
    });
    key.require(kind.map(|(_, label)| label));
    if !key.is_set() {
        key.note(Some("secret (sk_) or restricted (rk_) key"));
    }
    webhook_note(&mut webhook, s.webhook_secret.as_ref(), &mut warnings);
    ServiceCreds::new(
        Service::Stripe,
        kind.map(|(k, _)| k),
        kind.map(|(_, label)| label),
        vec![key, webhook],
        warnings,
        blocked,
    )
}

fn webhook_note(
    row: &mut CredentialRow,
    secret: Option<&SecretString>,
    warnings: &mut Vec<String>,
) {
    match secret {
        Some(s) if !s.expose_secret().starts_with("whsec_") => warnings.push(format!(
            "{} does not look like a webhook signing secret (\"whsec_...\")",
            row.variable
        )),
        Some(_) => row.note(Some("verifies webhooks")),
        None => row.note(Some("optional: needed to verify webhooks")),
    }
}

impl CredsReport {
    /// One table row per credential, in `HEADER` order.
    pub fn cells(&self) -> Vec<Vec<String>> {
        self.services
            .iter()
            .flat_map(|svc| {
                svc.credentials.iter().map(|r| {
                    vec![
                        svc.service.display_name().to_owned(),
                        r.variable.to_owned(),
                        r.status.label().to_owned(),
                        r.value.clone().unwrap_or_default(),
                        r.source
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        r.note.clone().unwrap_or_default(),
                    ]
                })
            })
            .chain(self.apis.iter().flat_map(|a| {
                let service = format!("api {}", a.api);
                let note = format!("{} auth", a.scheme);
                let set = a.present.iter().map({
                    let (service, note) = (service.clone(), note.clone());
                    move |(var, value)| {
                        vec![
                            service.clone(),
                            var.clone(),
                            Status::Set.label().to_owned(),
                            value.clone(),
                            format!("env {var}"),
                            note.clone(),
                        ]
                    }
                });
                let unset = a.missing.iter().map(move |var| {
                    vec![
                        service.clone(),
                        var.clone(),
                        Status::Missing.label().to_owned(),
                        String::new(),
                        String::new(),
                        note.clone(),
                    ]
                });
                set.chain(unset).collect::<Vec<_>>()
            }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env;

    fn report(vars: &[(&str, &str)]) -> CredsReport {
        CredsReport::build(&crate::test_loaded(vars))
    }

    fn service(r: &CredsReport, s: Service) -> &ServiceCreds {
        r.services.iter().find(|x| x.service == s).expect("service")
    }

    fn row<'a>(svc: &'a ServiceCreds, variable: &str) -> &'a CredentialRow {
        svc.credentials
            .iter()
            .find(|r| r.variable == variable)
            .expect("row")
    }

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn rows_name_their_conventional_variable_and_key() {
        let r = report(&[]);
        for svc in &r.services {
            for row in &svc.credentials {
                assert_eq!(env::conventional_name(row.key), Some(row.variable));
            }
        }
    }

    #[test]
    fn nothing_configured_names_what_to_set() {
        let r = report(&[]);
        assert_eq!(
            service(&r, Service::Twilio).missing,
            ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]
        );
        assert_eq!(service(&r, Service::Openai).missing, ["OPENAI_API_KEY"]);
        assert_eq!(service(&r, Service::Stripe).missing, ["STRIPE_SECRET_KEY"]);
        assert!(r.services.iter().all(|s| !s.ready));
        assert_eq!(
            service(&r, Service::Stripe).summary,
            "not ready: set STRIPE_SECRET_KEY"
        );
    }

    #[test]
    fn twilio_auth_modes() {
        let r = report(&[
            ("TWILIO_ACCOUNT_SID", SID),
            ("TWILIO_AUTH_TOKEN", "tok_0123456789abcdef"),
        ]);
        let t = service(&r, Service::Twilio);
        assert!(t.ready && t.warnings.is_empty(), "{t:?}");
        assert_eq!(t.kind, Some("auth_token"));
        assert_eq!(row(t, "TWILIO_API_KEY").status, Status::NotSet);

        let key = "SK0123456789abcdef0123456789abcdef";
        let r = report(&[
            ("TWILIO_ACCOUNT_SID", SID),
            ("TWILIO_AUTH_TOKEN", "tok_0123456789abcdef"),
            ("TWILIO_API_KEY", key),
            ("TWILIO_API_SECRET", "sec_0123456789abcdef"),
        ]);
        let t = service(&r, Service::Twilio);
        assert_eq!(t.kind, Some("api_key_pair"));
        assert!(
            row(t, "TWILIO_AUTH_TOKEN")
                .note
                .as_deref()
                .is_some_and(|n| n.contains("not used"))
        );

        let r = report(&[("TWILIO_ACCOUNT_SID", SID), ("TWILIO_API_KEY", key)]);
        let t = service(&r, Service::Twilio);
        assert!(!t.ready);
        assert_eq!(t.missing, ["TWILIO_API_SECRET"]);

        let r = report(&[
            ("TWILIO_ACCOUNT_SID", SID),
            ("TWILIO_AUTH_TOKEN", "tok_0123456789abcdef"),
            ("TWILIO_API_SECRET", "sec_0123456789abcdef"),
        ]);
        let t = service(&r, Service::Twilio);
        assert!(t.ready);
        assert_eq!(t.kind, Some("auth_token"));
        assert!(t.warnings[0].contains("TWILIO_API_SECRET is set without TWILIO_API_KEY"));
    }

    #[test]
    fn twilio_sid_shape_is_checked() {
        assert!(is_sid(SID, "AC"));
        for bad in [
            "",
            "AC",
            "SK0123456789abcdef0123456789abcdef",
            "AC0123456789ABCDEF0123456789ABCDEF",
            "AC0123",
        ] {
            assert!(!is_sid(bad, "AC"), "{bad}");
        }
        let r = report(&[
            ("TWILIO_ACCOUNT_SID", "ACnot_a_real_sid_0000"),
            ("TWILIO_AUTH_TOKEN", "tok_0123456789abcdef"),
        ]);
        let t = service(&r, Service::Twilio);
        assert!(t.ready, "a warning, not a blocker");
        assert!(
            t.warnings
                .iter()
                .any(|w| w.contains("does not look like an Account SID"))
        );
        assert!(t.warnings.iter().all(|w| !w.contains("not_a_real")));
    }

    #[test]
    fn stripe_key_kinds() {
        let table = [
            ("sk_live_0123456789abcdef", Some("live"), true),
            ("sk_test_0123456789abcdef", Some("test"), true),
            ("rk_live_0123456789abcdef", Some("restricted_live"), true),
            ("rk_test_0123456789abcdef", Some("restricted_test"), true),
            ("pk_live_0123456789abcdef", None, false),
            ("whatever_0123456789abcdef", None, true),
        ];
        for (value, kind, ready) in table {
            let r = report(&[("STRIPE_SECRET_KEY", value)]);
            let s = service(&r, Service::Stripe);
            assert_eq!(s.kind, kind, "{value}");
            assert_eq!(s.ready, ready, "{value}");
            assert_eq!(
                s.warnings.is_empty(),
                kind.is_some(),
                "{value}: {:?}",
                s.warnings
            );
        }
    }

    #[test]
    fn openai_admin_key_presence() {
        let r = report(&[("OPENAI_API_KEY", "sk-proj-0123456789abcdef")]);
        let o = service(&r, Service::Openai);
        assert!(o.ready);
        assert_eq!(o.kind, Some("project"));
        assert!(o.summary.contains("no admin key"), "{}", o.summary);
        let r = report(&[
            ("OPENAI_API_KEY", "sk-proj-0123456789abcdef"),
            ("OPENAI_ADMIN_KEY", "sk-admin-0123456789abcdef"),
        ]);
        let o = service(&r, Service::Openai);
        assert!(o.summary.contains("admin key present"), "{}", o.summary);
        assert!(o.warnings.is_empty(), "{:?}", o.warnings);
        let r = report(&[("OPENAI_API_KEY", "sk-admin-0123456789abcdef")]);
        assert!(!service(&r, Service::Openai).warnings.is_empty());
        let r = report(&[
            ("OPENAI_API_KEY", "local-anything-0123"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"),
        ]);
        let o = service(&r, Service::Openai);
        assert!(o.ready && o.warnings.is_empty(), "{o:?}");
    }
}
