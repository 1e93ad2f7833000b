//! The webhook scheme of a configured API: the `webhooks = {...}` table of `[apis.NAME]`, its
//! presets, its validation, and what it takes from a delivery (signature, id, type).
//!
//! ```toml
//! webhooks = { scheme = "standard", secret_env = "RESEND_WEBHOOK_SECRET" }
//! webhooks = { scheme = "github", secret_env = "GITHUB_WEBHOOK_SECRET" }
//! webhooks = { scheme = "hmac", secret_env = "ACME_SIGNING_SECRET", header = "X-Acme-Signature",
//!              algorithm = "sha256", encoding = "hex", prefix = "v1=",
//!              timestamp_header = "X-Acme-Timestamp", signed = "{timestamp}.{body}",
//!              tolerance = "5m", id_pointer = "/event/id" }
//! ```
//!
//! `scheme` is `standard` (Standard Webhooks: Resend, OpenAI; `webhook-*` headers), `svix`
//! (the same with `svix-*` headers, `webhook-*` also read), `hmac` (everything spelled out), or
//! one of the HMAC presets `github`, `shopify`, `slack`, whose keys can each be overridden.
//! [`SchemeConfig`] is the table as written; [`WebhookScheme`] the validated scheme (it
//! deserializes through [`SchemeConfig`], so a bad table is a deserialization error naming the
//! key). The secret only ever comes from the environment variable `secret_env`; a comma list
//! (`whsec_a,whsec_b`) holds the secrets of a rotation.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName};
use jiff::Timestamp;
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::signature::hmac_scheme::{Algorithm, Encoding, HmacScheme, Part, Template};
use crate::signature::{self, SignatureError, WebhookSecret, standard};

/// The `webhooks = {...}` table as written. Every key is optional here; [`WebhookScheme`]
/// says which a scheme needs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeConfig {
    /// `standard`, `svix`, `hmac`, `github`, `shopify` or `slack`.
    pub scheme: String,
    /// The environment variable holding the secret (a comma list during a rotation).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The signature header (`hmac`).
    #[serde(default)]
    pub header: Option<String>,
    /// `sha1`, `sha256` or `sha512` (`hmac`).
    #[serde(default)]
    pub algorithm: Option<String>,
    /// `hex` or `base64` (`hmac`).
    #[serde(default)]
    pub encoding: Option<String>,
    /// What precedes the MAC in the header: GitHub's `sha256=`, Slack's `v0=`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// The signed content: `{body}` (the default), `v0:{timestamp}:{body}`, `{id}.{body}`...
    #[serde(default)]
    pub signed: Option<String>,
    /// The header of the signed unix timestamp.
    #[serde(default)]
    pub timestamp_header: Option<String>,
    /// The accepted distance of the timestamp from now, both directions (`"5m"`).
    #[serde(default)]
    pub tolerance: Option<String>,
    /// The header holding the delivery's id (the dedup key).
    #[serde(default)]
    pub id_header: Option<String>,
    /// The JSON pointer to the delivery's id in the body (`/event_id`).
    #[serde(default)]
    pub id_pointer: Option<String>,
    /// The header holding the event's type.
    #[serde(default)]
    pub type_header: Option<String>,
    /// The JSON pointer to the event's type in the body.
    #[serde(default)]
    pub type_pointer: Option<String>,
    /// Refused: a secret is never written in the file.
    #[serde(default)]
    pub secret: Option<serde::de::IgnoredAny>,
}

/// Where a delivery's id or type is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A header (lowercase name).
    Header(String),
    /// A JSON pointer into the body.
    Pointer(String),
}

/// How a delivery's signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verifier {
    /// Standard Webhooks, reading the headers of the first prefix whose `-signature` header is
    /// present (`["svix", "webhook"]` for Svix).
    Standard {
        /// Header prefixes, in order.
        prefixes: Vec<&'static str>,
        /// The accepted distance of `webhook-timestamp` from now.
        tolerance: Duration,
    },
    /// A configurable HMAC.
    Hmac(HmacScheme),
}

/// A validated webhook scheme.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SchemeConfig")]
pub struct WebhookScheme {
    /// The `scheme` as written (`github`, `hmac`...).
    pub name: String,
    /// The signature check.
    pub verifier: Verifier,
    /// The environment variable holding the secret(s).
    pub secret_env: String,
    /// The dedup key's source; `None`: the SHA-256 of the body.
    pub id: Option<Field>,
    /// The event type's source.
    pub event_type: Option<Field>,
    /// Answer Slack's `url_verification` handshake (after the signature is verified).
    pub slack_challenge: bool,
}

/// Why a `webhooks` table or its secret is refused. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    /// A key is missing, unknown to the scheme, or holds a bad value.
    #[error("webhooks.{key}: {reason}")]
    Invalid {
        /// The key (`algorithm`, `id_pointer`...).
        key: &'static str,
        /// What is wrong, and what would be right.
        reason: String,
    },
    /// The secret's environment variable is unset, empty or unusable.
    #[error("{variable}: {reason}")]
    Secret {
        /// The variable named by `secret_env`.
        variable: String,
        /// What is wrong (never the value).
        reason: String,
    },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> SchemeError {
    SchemeError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// The presets' HMAC settings: (header, algorithm, encoding, prefix, signed, timestamp header,
/// tolerance, id, type).
struct Preset {
    header: &'static str,
    encoding: &'static str,
    prefix: &'static str,
    signed: &'static str,
    timestamp_header: Option<&'static str>,
    id: Option<Field>,
    event_type: Option<Field>,
}

fn preset(name: &str) -> Option<Preset> {
    let h = |s: &str| Some(Field::Header(s.to_owned()));
    let p = |s: &str| Some(Field::Pointer(s.to_owned()));
    match name {
        "github" => Some(Preset {
            header: "x-hub-signature-256",
            encoding: "hex",
            prefix: "sha256=",
            signed: "{body}",
            timestamp_header: None,
            id: h("x-github-delivery"),
            event_type: h("x-github-event"),
        }),
        "shopify" => Some(Preset {
            header: "x-shopify-hmac-sha256",
            encoding: "base64",
            prefix: "",
            signed: "{body}",
            timestamp_header: None,
            id: h("x-shopify-webhook-id"),
            event_type: h("x-shopify-topic"),
        }),
        "slack" => Some(Preset {
            header: "x-slack-signature",
            encoding: "hex",
            prefix: "v0=",
            signed: "v0:{timestamp}:{body}",
            timestamp_header: Some("x-slack-request-timestamp"),
            id: p("/event_id"),
            event_type: p("/event/type"),
        }),
        _ => None,
    }
}

const SCHEMES: &str = "standard, svix, hmac, github, shopify or slack";

fn header_name(key: &'static str, value: &str) -> Result<String, SchemeError> {
    HeaderName::from_bytes(value.trim().as_bytes())
        .map(|h| h.as_str().to_owned())
        .map_err(|_| invalid(key, format!("{value:?} is not an HTTP header name")))
}

/// A JSON pointer (RFC 6901) to a member: `/a/b`, with `~0` and `~1` the only escapes.
fn pointer(key: &'static str, value: &str) -> Result<String, SchemeError> {
    let bad = |why: &str| invalid(key, format!("{value:?} is not a JSON pointer: {why}"));
    if !value.starts_with('/') {
        return Err(bad("it must start with / (such as /event/id)"));
    }
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(bad("~ must be followed by 0 or 1"));
        }
    }
    Ok(value.to_owned())
}

fn field(
    header_key: &'static str,
    header: Option<&str>,
    pointer_key: &'static str,
    ptr: Option<&str>,
) -> Result<Option<Field>, SchemeError> {
    match (header, ptr) {
        (Some(_), Some(_)) => Err(invalid(
            pointer_key,
            format!("give {header_key} or {pointer_key}, not both"),
        )),
        (Some(h), None) => Ok(Some(Field::Header(header_name(header_key, h)?))),
        (None, Some(p)) => Ok(Some(Field::Pointer(pointer(pointer_key, p)?))),
        (None, None) => Ok(None),
    }
}

fn tolerance(value: Option<&str>) -> Result<Option<Duration>, SchemeError> {
    value
        .map(|t| {
            humantime::parse_duration(t.trim()).map_err(|e| {
                invalid(
                    "tolerance",
                    format!("{t:?} is not a duration such as \"5m\": {e}"),
                )
            })
        })
        .transpose()
}

fn env_name(value: Option<&str>) -> Result<String, SchemeError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Err(invalid(
            "secret_env",
            "required: the name of the environment variable holding the signing secret",
        ));
    };
    let ok = v
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if !ok {
        return Err(invalid(
            "secret_env",
            format!("{v:?} is not an environment variable name"),
        ));
    }
    Ok(v.to_owned())
}

impl TryFrom<SchemeConfig> for WebhookScheme {
    type Error = SchemeError;

    fn try_from(c: SchemeConfig) -> Result<Self, SchemeError> {
        WebhookScheme::from_config(&c)
    }
}

impl WebhookScheme {
    /// Validates the table: every problem is an error naming the key.
    pub fn from_config(c: &SchemeConfig) -> Result<WebhookScheme, SchemeError> {
        if c.secret.is_some() {
            return Err(invalid(
                "secret",
                "a secret is never written in the file: put it in an environment variable and name that variable with secret_env",
            ));
        }
        let name = c.scheme.trim().to_ascii_lowercase();
        let secret_env = env_name(c.secret_env.as_deref())?;
        let tolerance = tolerance(c.tolerance.as_deref())?;
        let event_type = field(
            "type_header",
            c.type_header.as_deref(),
            "type_pointer",
            c.type_pointer.as_deref(),
        )?;
        if name == "standard" || name == "svix" {
            let not_here = [
                ("header", &c.header),
                ("algorithm", &c.algorithm),
                ("encoding", &c.encoding),
                ("prefix", &c.prefix),
                ("signed", &c.signed),
                ("timestamp_header", &c.timestamp_header),
                ("id_header", &c.id_header),
                ("id_pointer", &c.id_pointer),
            ];
            if let Some((key, _)) = not_here.iter().find(|(_, v)| v.is_some()) {
                return Err(invalid(
                    key,
                    format!(
                        "does not apply to scheme {name:?}: Standard Webhooks fix the headers and the signed content, and the id is webhook-id"
                    ),
                ));
            }
            let prefixes = if name == "svix" {
                vec!["svix", "webhook"]
            } else {
                vec!["webhook"]
            };
            return Ok(WebhookScheme {
                name,
                verifier: Verifier::Standard {
                    prefixes,
                    tolerance: tolerance.unwrap_or(signature::DEFAULT_TOLERANCE),
                },
                secret_env,
                id: None,
                event_type: event_type.or(Some(Field::Pointer("/type".into()))),
                slack_challenge: false,
            });
        }
        let base = match name.as_str() {
            "hmac" => None,
            other => Some(preset(other).ok_or_else(|| {
                invalid(
                    "scheme",
                    format!("unknown scheme {:?} (expected {SCHEMES})", c.scheme),
                )
            })?),
        };
        let b = base.as_ref();
        let header = c.header.as_deref().or(b.map(|p| p.header)).ok_or_else(|| {
            invalid(
                "header",
                "required for scheme \"hmac\": the signature header",
            )
        })?;
        let algorithm = c
            .algorithm
            .as_deref()
            .or(b.map(|_| "sha256"))
            .ok_or_else(|| {
                invalid(
                    "algorithm",
                    "required for scheme \"hmac\": sha1, sha256 or sha512",
                )
            })?;
        let algorithm = Algorithm::parse(algorithm).ok_or_else(|| {
            invalid(
                "algorithm",
                format!("unknown algorithm {algorithm:?} (expected sha1, sha256 or sha512)"),
            )
        })?;
        let encoding = c
            .encoding
            .as_deref()
            .or(b.map(|p| p.encoding))
            .ok_or_else(|| invalid("encoding", "required for scheme \"hmac\": hex or base64"))?;
        let encoding = Encoding::parse(encoding).ok_or_else(|| {
            invalid(
                "encoding",
                format!("unknown encoding {encoding:?} (expected hex or base64)"),
            )
        })?;
        let prefix = c.prefix.as_deref().or(b.map(|p| p.prefix)).unwrap_or("");
        if prefix.len() > 64 || prefix.chars().any(|ch| ch.is_control()) {
            return Err(invalid("prefix", "at most 64 printable characters"));
        }
        let signed_text = c
            .signed
            .as_deref()
            .or(b.map(|p| p.signed))
            .unwrap_or("{body}");
        let signed = Template::parse(signed_text).map_err(|e| invalid("signed", e.to_string()))?;
        let timestamp_header = c
            .timestamp_header
            .as_deref()
            .or(b.and_then(|p| p.timestamp_header))
            .map(|h| header_name("timestamp_header", h))
            .transpose()?;
        match (&timestamp_header, signed.has(&Part::Timestamp)) {
            (Some(_), false) => {
                return Err(invalid(
                    "signed",
                    format!(
                        "{signed_text:?} has no {{timestamp}} although timestamp_header is set: an unsigned timestamp proves nothing (write what the sender signs, such as \"{{timestamp}}.{{body}}\")"
                    ),
                ));
            }
            (None, true) => {
                return Err(invalid(
                    "timestamp_header",
                    format!("required: signed {signed_text:?} contains {{timestamp}}"),
                ));
            }
            (None, false) if tolerance.is_some() => {
                return Err(invalid("tolerance", "applies only with a timestamp_header"));
            }
            _ => {}
        }
        let explicit_id = c.id_header.is_some() || c.id_pointer.is_some();
        let id = if explicit_id {
            field(
                "id_header",
                c.id_header.as_deref(),
                "id_pointer",
                c.id_pointer.as_deref(),
            )?
        } else {
            b.and_then(|p| p.id.clone())
        };
        let id_header = match (&id, signed.has(&Part::Id)) {
            (Some(Field::Header(h)), true) => Some(h.clone()),
            (_, true) => {
                return Err(invalid(
                    "id_header",
                    format!("required: signed {signed_text:?} contains {{id}}"),
                ));
            }
            (_, false) => None,
        };
        let event_type = event_type.or_else(|| b.and_then(|p| p.event_type.clone()));
        Ok(WebhookScheme {
            slack_challenge: name == "slack",
            name,
            verifier: Verifier::Hmac(HmacScheme {
                header: header_name("header", header)?,
                algorithm,
                encoding,
                prefix: prefix.to_owned(),
                signed,
                timestamp_header,
                tolerance: tolerance.unwrap_or(signature::DEFAULT_TOLERANCE),
                id_header,
            }),
            secret_env,
            id,
            event_type,
        })
    }

    /// The secrets from `secret_env`, read through `env` (`std::env::var` in `apiops serve`):
    /// a comma list, trimmed, blanks skipped. Standard Webhooks secrets must be `whsec_` +
    /// base64. The error names the variable, never its value.
    pub fn secrets(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<SecretString>, SchemeError> {
        let err = |reason: &str| SchemeError::Secret {
            variable: self.secret_env.clone(),
            reason: reason.to_owned(),
        };
        let raw = env(&self.secret_env).unwrap_or_default();
        let parts: Vec<SecretString> = raw
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| SecretString::from(p.to_owned()))
            .collect();
        if parts.is_empty() {
            return Err(err(
                "is not set or empty: it must hold the webhook signing secret",
            ));
        }
        if matches!(self.verifier, Verifier::Standard { .. }) {
            for p in &parts {
                standard::decode_secret(p).map_err(|_| {
                    err("a Standard Webhooks secret must be whsec_ followed by base64")
                })?;
            }
        }
        Ok(parts)
    }

    /// The headers' presence and shape, before the body is read.
    pub fn check_headers(&self, headers: &HeaderMap) -> Result<(), SignatureError> {
        match &self.verifier {
            Verifier::Hmac(h) => h.check_headers(headers).map(drop),
            Verifier::Standard { prefixes, .. } => {
                let h = standard_headers(prefixes, headers);
                if h.id.is_empty() {
                    return Err(SignatureError::MissingHeader(standard::ID_HEADER));
                }
                standard::parse_timestamp(h.timestamp)?;
                standard::parse_signatures(h.signature).map(drop)
            }
        }
    }

    /// Verifies a delivery; returns the signed timestamp, when the scheme has one.
    pub fn verify<S: WebhookSecret>(
        &self,
        body: &[u8],
        headers: &HeaderMap,
        secrets: &[S],
        now: Timestamp,
    ) -> Result<Option<Timestamp>, SignatureError> {
        match &self.verifier {
            Verifier::Hmac(h) => h.verify(body, headers, secrets, now).map(|v| v.timestamp),
            Verifier::Standard {
                prefixes,
                tolerance,
            } => {
                let h = standard_headers(prefixes, headers);
                standard::verify(body, &h, secrets, *tolerance, now).map(|v| Some(v.timestamp))
            }
        }
    }

    /// The headers a sender of this scheme sends with `body`, signed with `secret` at `now` as
    /// delivery `id`: the signature, and the timestamp and id headers the scheme reads (what
    /// the simulator and the tests send; each provider's own signer agrees, see the contract
    /// vectors).
    pub fn sign<S: WebhookSecret + ?Sized>(
        &self,
        body: &[u8],
        secret: &S,
        now: Timestamp,
        id: &str,
    ) -> Result<Vec<(String, String)>, SignatureError> {
        let mut out = Vec::new();
        match &self.verifier {
            Verifier::Standard { prefixes, .. } => {
                let p = prefixes.first().copied().unwrap_or("webhook");
                let sig = standard::sign(body, id, now, secret)?;
                out.push((format!("{p}-id"), id.to_owned()));
                out.push((format!("{p}-timestamp"), now.as_second().to_string()));
                out.push((format!("{p}-signature"), sig));
            }
            Verifier::Hmac(h) => {
                out.push((h.header.clone(), h.sign(body, now, id, secret)));
                if let Some(t) = &h.timestamp_header {
                    out.push((t.clone(), now.as_second().to_string()));
                }
                if let Some(Field::Header(name)) = &self.id {
                    out.push((name.clone(), id.to_owned()));
                }
            }
        }
        Ok(out)
    }

    /// The id header's value, when the id comes from a header (checked before the body).
    pub fn id_header_value<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        match (&self.verifier, &self.id) {
            (Verifier::Standard { prefixes, .. }, _) => {
                Some(standard_headers(prefixes, headers).id)
            }
            (_, Some(Field::Header(h))) => Some(header_value(headers, h)),
            _ => None,
        }
    }

    /// The delivery's dedup key: the id header's or the pointer's value, or `sha256:<hex>` of
    /// the body when the scheme names no id. `json` is the body parsed, when it is JSON.
    pub fn delivery_id(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        json: Option<&serde_json::Value>,
    ) -> Result<String, String> {
        if let Some(v) = self.id_header_value(headers) {
            return match v {
                "" => Err("the delivery has no id header".to_owned()),
                v => Ok(v.to_owned()),
            };
        }
        match &self.id {
            Some(Field::Pointer(p)) => json
                .and_then(|j| j.pointer(p))
                .and_then(scalar)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format!("the body has no id at {p}")),
            _ => Ok(format!("sha256:{}", hex::encode(Sha256::digest(body)))),
        }
    }

    /// The event's type, `unknown` when absent; at most 100 characters.
    pub fn event_type(&self, headers: &HeaderMap, json: Option<&serde_json::Value>) -> String {
        let found = match &self.event_type {
            Some(Field::Header(h)) => Some(header_value(headers, h).to_owned()),
            Some(Field::Pointer(p)) => json.and_then(|j| j.pointer(p)).and_then(scalar),
            None => None,
        };
        match found.filter(|s| !s.is_empty()) {
            Some(t) => t.chars().take(100).collect(),
            None => "unknown".to_owned(),
        }
    }

    /// True when the scheme reads anything from the body as JSON.
    pub fn reads_json(&self) -> bool {
        let ptr = |f: &Option<Field>| matches!(f, Some(Field::Pointer(_)));
        ptr(&self.id) || ptr(&self.event_type) || self.slack_challenge
    }
}

/// A string or a number, as text.
fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn header_value<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The Standard Webhooks headers under the first prefix whose signature header is present (the
/// last prefix when none is).
fn standard_headers<'a>(
    prefixes: &[&'static str],
    headers: &'a HeaderMap,
) -> standard::StandardHeaders<'a> {
    let read = |p: &str| standard::StandardHeaders {
        id: header_value(headers, &format!("{p}-id")),
        timestamp: header_value(headers, &format!("{p}-timestamp")),
        signature: header_value(headers, &format!("{p}-signature")),
    };
    prefixes
        .iter()
        .map(|p| read(p))
        .find(|h| !h.signature.is_empty())
        .unwrap_or_else(|| read(prefixes.last().copied().unwrap_or("webhook")))
}

#[cfg(test)]
#[path = "scheme_tests.rs"]
mod tests;
