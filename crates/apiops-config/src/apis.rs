//! `[apis.NAME]`: any API described by an OpenAPI document (or a GraphQL endpoint), configured
//! in a few lines. This module reads the tables, maps `APIOPS_APIS_<NAME>_<KEY>` variables onto
//! them, resolves the credentials from the environment variables the tables name (a secret is
//! never read from the file: the auth tables hold variable names only), resolves a spec path
//! against the config file's folder, and builds the engine's [`ApiConfig`].
//!
//! Not here: loading the document (apiops-openapi) or fetching a remote one (see
//! [`crate::spec_fetch`]). The `webhooks` table is passed through as it is: the webhook
//! receiver defines and checks it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apiops_client::ClientBuilder;
use apiops_client::cassette::{Cassette, CassetteMode};
use apiops_core::mask;
use apiops_openapi::{Api, ApiAuth, ApiConfig, CallError, Spec};
use apiops_providers::ClientTuning;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use crate::env::{Environment, PREFIX};
use crate::values;

/// What stands for a credential variable that is not set when a cassette is replayed
/// ([`ApiSettings::api_config_replaying`]).
pub const REPLAY_PLACEHOLDER: &str = "apiops-replay-no-credential";

/// The keys of an `[apis.NAME]` table that can be set from the environment, as the variable
/// suffix spells them (longest first, so `_BASE_URL` wins over a name ending in `_BASE`).
pub const ENV_KEYS: &[&str] = &[
    "idempotency_header",
    "base_url",
    "graphql",
    "health",
    "spec",
];

/// One `[apis.NAME]` table.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// The OpenAPI document: a path (relative to the config file) or an https URL.
    #[serde(
        default,
        deserialize_with = "values::optional_text::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub spec: Option<String>,
    /// A GraphQL endpoint, for APIs without an OpenAPI document.
    #[serde(
        default,
        with = "values::optional_http_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub graphql: Option<Url>,
    /// The base URL; the document's first server by default.
    #[serde(
        default,
        with = "values::optional_http_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub base_url: Option<Url>,
    /// Which credentials, by the variables that hold them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSettings>,
    /// The health operation: an operationId or `METHOD /path`.
    #[serde(
        default,
        deserialize_with = "values::optional_text::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub health: Option<String>,
    /// A version pin sent on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionPin>,
    /// The header idempotency keys go in, when the API does not use `Idempotency-Key`
    /// (PayPal: `PayPal-Request-Id`).
    #[serde(
        default,
        deserialize_with = "values::optional_text::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub idempotency_header: Option<String>,
    /// The webhook receiver's table, passed through unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<serde_json::Value>,
    /// Where `spec` points, resolved at load.
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub spec_location: Option<SpecLocation>,
    /// The credentials read from the environment (shown masked).
    #[serde(skip_deserializing, serialize_with = "masked_credentials")]
    pub credentials: Credentials,
}

/// Where a document is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "at", rename_all = "snake_case")]
pub enum SpecLocation {
    /// A file.
    File(PathBuf),
    /// An http(s) URL, fetched through the SSRF guard and cached.
    Url(#[serde(serialize_with = "url_text")] Url),
}

/// A version pin.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VersionPin {
    /// The header.
    pub header: String,
    /// Its value.
    pub value: String,
}

/// `auth = { ... }`: exactly one scheme, each naming environment variables.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `Authorization: Bearer $VAR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_env: Option<String>,
    /// `Authorization: Basic` from `[USER_VAR, PASSWORD_VAR]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_env: Option<[String; 2]>,
    /// A key in a named header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<NamedEnv>,
    /// A key in a query parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<NamedEnv>,
    /// OAuth2 client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Settings>,
}

/// A header or query parameter and the variable holding its value.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NamedEnv {
    /// The header or parameter name.
    pub name: String,
    /// The variable.
    pub env: String,
}

/// OAuth2 client credentials.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Settings {
    /// The token endpoint (absolute, or a path under the base URL).
    pub token_url: String,
    /// The variable holding the client id.
    pub client_id_env: String,
    /// The variable holding the client secret.
    pub client_secret_env: String,
    /// Scopes to ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// The credentials of one API as the environment gave them.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// `(variable, value)` for each variable that is set.
    pub present: Vec<(String, SecretString)>,
    /// The variables named but not set.
    pub missing: Vec<String>,
}

impl Credentials {
    fn get(&self, var: &str) -> Option<&SecretString> {
        self.present.iter().find(|(v, _)| v == var).map(|(_, s)| s)
    }
}

fn url_text<S: Serializer>(u: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&shown_url(u))
}

/// A URL as shown: credentials and query dropped.
fn shown_url(u: &Url) -> String {
    let mut shown = u.clone();
    shown.set_query(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.to_string()
}

fn masked_credentials<S: Serializer>(c: &Credentials, s: S) -> Result<S::Ok, S::Error> {
    let shown: BTreeMap<&str, String> = c
        .present
        .iter()
        .map(|(v, secret)| (v.as_str(), mask(secret.expose_secret())))
        .chain(
            c.missing
                .iter()
                .map(|v| (v.as_str(), "(not set)".to_owned())),
        )
        .collect();
    shown.serialize(s)
}

impl AuthSettings {
    /// The variables this scheme reads.
    pub fn variables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        out.extend(self.bearer_env.as_deref());
        if let Some([u, p]) = &self.basic_env {
            out.extend([u.as_str(), p.as_str()]);
        }
        out.extend(self.header.as_ref().map(|h| h.env.as_str()));
        out.extend(self.query.as_ref().map(|q| q.env.as_str()));
        if let Some(o) = &self.oauth2 {
            out.extend([o.client_id_env.as_str(), o.client_secret_env.as_str()]);
        }
        out
    }

    /// The scheme's name.
    pub fn scheme(&self) -> &'static str {
        match self {
            a if a.bearer_env.is_some() => "bearer",
            a if a.basic_env.is_some() => "basic",
            a if a.header.is_some() => "header",
            a if a.query.is_some() => "query",
            a if a.oauth2.is_some() => "oauth2",
            _ => "none",
        }
    }

    fn schemes(&self) -> usize {
        [
            self.bearer_env.is_some(),
            self.basic_env.is_some(),
            self.header.is_some(),
            self.query.is_some(),
            self.oauth2.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }
}

impl ApiSettings {
    /// The auth scheme's name (`none` without auth).
    pub fn scheme(&self) -> &'static str {
        self.auth.as_ref().map_or("none", AuthSettings::scheme)
    }

    /// The GraphQL endpoint as requests go to it: the configuration normalizes URLs with a
    /// trailing slash, and an endpoint is a resource, not a folder.
    pub fn graphql_endpoint(&self) -> Option<&str> {
        self.graphql
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/'))
    }

    /// The client of this API, configured as `name`: over its document `spec` (`None` for a
    /// GraphQL endpoint), with the shared client settings `tuning`, recording to or replaying
    /// from `cassette`. A replay needs no credential variable: the cassette answers.
    pub fn open(
        &self,
        name: &str,
        spec: Option<Spec>,
        tuning: &ClientTuning,
        cassette: Option<Cassette>,
    ) -> Result<Api, OpenError> {
        let replaying = cassette
            .as_ref()
            .is_some_and(|c| c.mode() == CassetteMode::Replay);
        let config = if replaying {
            self.api_config_replaying(name)
        } else {
            self.api_config(name)
                .map_err(|variables| OpenError::MissingCredentials {
                    api: name.to_owned(),
                    variables,
                })?
        };
        let tune = |b: ClientBuilder| {
            tuning
                .apply(b.cassette(cassette))
                .map_err(|e| e.to_string())
        };
        Ok(match (self.graphql_endpoint(), spec) {
            (Some(endpoint), _) => Api::graphql_endpoint(config, endpoint, tune),
            (None, Some(spec)) => Api::new(config, spec, tune),
            (None, None) => Err(CallError::Config(format!(
                "apis.{name}: neither spec nor graphql is configured"
            ))),
        }?)
    }

    /// True when every credential variable the table names is set.
    pub fn ready(&self) -> bool {
        self.credentials.missing.is_empty()
    }

    /// Reads the credential variables and resolves `spec` against `config_dir` (the folder of
    /// the file that set it; `None` when it came from the environment: the working directory).
    pub(crate) fn resolve(&mut self, env: &Environment, config_dir: Option<&Path>) {
        if let Some(auth) = &self.auth {
            for var in auth.variables() {
                match env.get(var) {
                    Some(v) => self
                        .credentials
                        .present
                        .push((var.to_owned(), SecretString::from(v))),
                    None => self.credentials.missing.push(var.to_owned()),
                }
            }
        }
        self.spec_location = self.spec.as_deref().map(|s| {
            if s.starts_with("https://") || s.starts_with("http://") {
                match Url::parse(s) {
                    Ok(u) => SpecLocation::Url(u),
                    Err(_) => SpecLocation::File(PathBuf::from(s)),
                }
            } else {
                let p = PathBuf::from(s);
                match config_dir {
                    Some(dir) if p.is_relative() => SpecLocation::File(dir.join(p)),
                    _ => SpecLocation::File(p),
                }
            }
        });
    }

    /// What is wrong with the table, as `(key under apis.NAME, message)`.
    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match (&self.spec, &self.graphql) {
            (None, None) => out.push((
                "spec",
                "set spec (an OpenAPI document) or graphql (an endpoint URL)".into(),
            )),
            (Some(_), Some(_)) => out.push(("graphql", "set spec or graphql, not both".into())),
            _ => {}
        }
        if let Some(SpecLocation::Url(u)) = &self.spec_location
            && u.scheme() != "https"
            && !u.host_str().is_some_and(is_loopback_host)
        {
            out.push((
                "spec",
                "a remote document must be fetched over https".into(),
            ));
        }
        if let Some(auth) = &self.auth {
            match auth.schemes() {
                0 => out.push((
                    "auth",
                    "name one scheme: bearer_env, basic_env, header, query or oauth2".into(),
                )),
                1 => {}
                _ => out.push(("auth", "name one scheme only".into())),
            }
        }
        out
    }

    /// The engine's configuration for the API called `name`; `Err` names the credential
    /// variables that are not set.
    pub fn api_config(&self, name: &str) -> Result<ApiConfig, Vec<String>> {
        if !self.credentials.missing.is_empty() {
            return Err(self.credentials.missing.clone());
        }
        self.config_with(name, |var| {
            self.credentials
                .get(var)
                .cloned()
                .ok_or_else(|| vec![var.to_owned()])
        })
    }

    /// The configuration for a replay from a cassette: the cassette answers, so a credential
    /// variable that is not set is not an error. Each one stands as [`REPLAY_PLACEHOLDER`],
    /// which puts the request in the shape it was recorded in (the cassette keeps no secret,
    /// only its place) and is never sent anywhere.
    pub fn api_config_replaying(&self, name: &str) -> ApiConfig {
        let config = self.config_with(name, |var| {
            Ok::<_, std::convert::Infallible>(
                self.credentials
                    .get(var)
                    .cloned()
                    .unwrap_or_else(|| SecretString::from(REPLAY_PLACEHOLDER)),
            )
        });
        match config {
            Ok(c) => c,
            Err(never) => match never {},
        }
    }

    /// The configuration, each credential variable's value from `secret`.
    fn config_with<E>(
        &self,
        name: &str,
        secret: impl Fn(&str) -> Result<SecretString, E>,
    ) -> Result<ApiConfig, E> {
        let auth = match &self.auth {
            None => ApiAuth::None,
            Some(a) => {
                if let Some(v) = &a.bearer_env {
                    ApiAuth::Bearer(secret(v)?)
                } else if let Some([u, p]) = &a.basic_env {
                    ApiAuth::Basic {
                        username: secret(u)?,
                        password: secret(p)?,
                    }
                } else if let Some(h) = &a.header {
                    ApiAuth::Header {
                        name: h.name.clone(),
                        value: secret(&h.env)?,
                    }
                } else if let Some(q) = &a.query {
                    ApiAuth::Query {
                        name: q.name.clone(),
                        value: secret(&q.env)?,
                    }
                } else if let Some(o) = &a.oauth2 {
                    ApiAuth::OAuth2 {
                        token_url: o.token_url.clone(),
                        client_id: secret(&o.client_id_env)?,
                        client_secret: secret(&o.client_secret_env)?,
                        scopes: o.scopes.clone(),
                    }
                } else {
                    ApiAuth::None
                }
            }
        };
        Ok(ApiConfig {
            name: name.to_owned(),
            base_url: self
                .base_url
                .as_ref()
                .or(self.graphql.as_ref())
                .map(|u| u.as_str().trim_end_matches('/').to_owned()),
            auth,
            version: self
                .version
                .as_ref()
                .map(|v| (v.header.clone(), v.value.clone())),
            idempotency_header: self.idempotency_header.clone(),
            health: self.health.clone(),
        })
    }
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The values `APIOPS_APIS_<NAME>_<KEY>` variables set, as `name -> key -> value` (the name
/// lower-cased).
pub fn env_values(env: &Environment) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let prefix = format!("{PREFIX}APIS_");
    for (name, value) in env.iter() {
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        let Some((api, key)) = ENV_KEYS.iter().find_map(|k| {
            let api = lower.strip_suffix(&format!("_{k}"))?;
            (!api.is_empty()).then_some((api, *k))
        }) else {
            continue;
        };
        out.entry(api.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }
    out
}

/// The variable that sets `apis.NAME.KEY`.
pub fn env_name(api: &str, key: &str) -> String {
    format!("{PREFIX}APIS_{}_{}", api, key).to_ascii_uppercase()
}

/// Why a configured API's client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Credential variables the table names are not set.
    #[error("{api} credentials missing: set {}", variables.join(", "))]
    MissingCredentials {
        /// The API's name.
        api: String,
        /// The variables not set.
        variables: Vec<String>,
    },
    /// The engine refused the configuration.
    #[error(transparent)]
    Call(#[from] CallError),
}

#[cfg(test)]
mod tests {
    use crate::{Environment, FlagOverrides, Locations, Sources, load};

    use super::*;

    const CANARY: &str = "canary_resend_key_0123456789";

    fn load_with(
        file: &str,
        env: &[(&str, &str)],
    ) -> Result<crate::LoadedConfig, crate::ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("conf").join("config.toml");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, file).expect("write");
        let env: Environment = env.iter().copied().collect();
        let locations = Locations::default();
        let loaded = load(&Sources {
            locations: &locations,
            explicit_file: Some(&path),
            env: &env,
            flags: FlagOverrides::default(),
        });
        // Keep the folder alive only as long as the load needs it.
        drop(dir);
        loaded
    }

    #[test]
    fn a_table_loads_with_its_spec_beside_the_file_and_secrets_from_the_environment() {
        let loaded = load_with(
            "[apis.mail]\nspec = \"specs/resend.json\"\nbase_url = \"https://api.resend.com\"\nauth = { bearer_env = \"RESEND_API_KEY\" }\nhealth = \"domains/list\"\nversion = { header = \"Api-Version\", value = \"2024-01-01\" }\nwebhooks = { scheme = \"standard\", secret_env = \"RESEND_WEBHOOK_SECRET\" }\n",
            &[("RESEND_API_KEY", CANARY)],
        )
        .expect("loads");
        let api = &loaded.settings.apis["mail"];
        match &api.spec_location {
            Some(SpecLocation::File(p)) => {
                assert!(p.ends_with("conf/specs/resend.json"), "{}", p.display());
                assert!(p.is_absolute());
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(api.ready());
        assert_eq!(api.scheme(), "bearer");
        assert_eq!(
            api.webhooks
                .as_ref()
                .and_then(|w| w.get("scheme"))
                .and_then(|s| s.as_str()),
            Some("standard")
        );
        let config = api.api_config("mail").expect("config");
        assert_eq!(config.base_url.as_deref(), Some("https://api.resend.com"));
        assert_eq!(
            config.version,
            Some(("Api-Version".into(), "2024-01-01".into()))
        );
        // Shown masked, never whole.
        let shown = serde_json::to_string(&loaded.settings.apis).expect("json");
        assert!(!shown.contains(CANARY), "{shown}");
        assert!(shown.contains("RESEND_API_KEY"), "{shown}");
    }

    #[test]
    fn the_environment_overrides_keys_and_missing_variables_are_named() {
        let loaded = load_with(
            "[apis.my_crm]\nspec = \"crm.yaml\"\nauth = { header = { name = \"X-Api-Key\", env = \"CRM_KEY\" } }\n",
            &[("APIOPS_APIS_MY_CRM_BASE_URL", "http://127.0.0.1:9/v2"), ("APIOPS_APIS_MY_CRM_HEALTH", "GET /ping")],
        )
        .expect("loads");
        let api = &loaded.settings.apis["my_crm"];
        assert_eq!(
            api.base_url.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:9/v2/")
        );
        assert_eq!(api.health.as_deref(), Some("GET /ping"));
        assert_eq!(
            loaded
                .origins
                .of("apis.my_crm.base_url")
                .map(|o| o.to_string()),
            Some("env APIOPS_APIS_MY_CRM_BASE_URL".to_owned())
        );
        assert_eq!(
            api.api_config("my_crm").err(),
            Some(vec!["CRM_KEY".to_owned()])
        );
        // A replay needs no credential: the placeholder stands where the key was recorded.
        match api.api_config_replaying("my_crm").auth {
            ApiAuth::Header { name, value } => assert_eq!(
                (name.as_str(), value.expose_secret()),
                ("X-Api-Key", REPLAY_PLACEHOLDER)
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_secret_in_the_file_is_refused_without_being_quoted() {
        let err = load_with(
            &format!("[apis.mail]\nspec = \"x.json\"\nauth = {{ bearer = \"{CANARY}\" }}\n"),
            &[],
        )
        .expect_err("a secret in the file");
        let text = err.to_string();
        assert!(text.contains("apis.mail.auth"), "{text}");
        assert!(!text.contains(CANARY), "{text}");
        let err =
            load_with("[apis.mail]\nbase_url = \"https://x.example\"\n", &[]).expect_err("no spec");
        assert!(err.to_string().contains("apis.mail.spec"), "{err}");
        let err = load_with(
            "[apis.mail]\nspec = \"x.json\"\nauth = { bearer_env = \"A\", query = { name = \"k\", env = \"B\" } }\n",
            &[],
        )
        .expect_err("two schemes");
        assert!(err.to_string().contains("one scheme only"), "{err}");
        let err = load_with("[apis.mail]\nspec = \"http://example.com/s.json\"\n", &[])
            .expect_err("http");
        assert!(err.to_string().contains("https"), "{err}");
    }

    #[test]
    fn env_names_map_both_ways() {
        let env: Environment = [
            ("APIOPS_APIS_MAIL_SPEC", "a.json"),
            ("APIOPS_APIS_MY_CRM_IDEMPOTENCY_HEADER", "X-Request-Id"),
            ("APIOPS_APIS_BASE_URL", "nameless"),
            ("APIOPS_APIS_MAIL_COLOUR", "blue"),
        ]
        .into_iter()
        .collect();
        let values = env_values(&env);
        assert_eq!(values.len(), 2, "{values:?}");
        assert_eq!(values["mail"]["spec"], "a.json");
        assert_eq!(values["my_crm"]["idempotency_header"], "X-Request-Id");
        assert_eq!(
            env_name("my_crm", "base_url"),
            "APIOPS_APIS_MY_CRM_BASE_URL"
        );
    }
}
