//! A configurable HMAC signature scheme, the shape most webhook senders use: one header carries
//! an HMAC (SHA-1, SHA-256 or SHA-512) of a signed content, hex or base64, behind an optional
//! prefix. The signed content is a template over the raw body and, optionally, a timestamp
//! header and an id header:
//!
//! - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`, template `{body}`.
//! - Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.
//! - Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{timestamp}:{body}")>`, with
//!   `X-Slack-Request-Timestamp` checked against a 5-minute tolerance.
//!
//! The key is the secret's UTF-8 bytes. The same rules as the other schemes hold (see
//! [`super`]): the signature is decoded canonically (lowercase hex, padded standard base64) to
//! exactly the MAC's length and compared in constant time; the signature is checked before the
//! timestamp, so a stale error means authentic but old; nothing here panics, reads a clock, or
//! quotes a secret or the request in an error.

use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;

use super::{SignatureError, WebhookSecret, check_tolerance, ct_eq_bytes, keyed};

/// The hash under the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1 (20 bytes).
    Sha1,
    /// HMAC-SHA256 (32 bytes).
    Sha256,
    /// HMAC-SHA512 (64 bytes).
    Sha512,
}

impl Algorithm {
    /// Parses `sha1`, `sha256` or `sha512` (any case).
    pub fn parse(s: &str) -> Option<Algorithm> {
        match s.to_ascii_lowercase().as_str() {
            "sha1" => Some(Algorithm::Sha1),
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// The MAC's length in bytes.
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// The MAC of the concatenation of `parts` under `key`.
    fn mac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            let mut mac: M = keyed(key);
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
            Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts),
            Algorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts),
        }
    }
}

/// How the MAC is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Lowercase hexadecimal.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl Encoding {
    /// Parses `hex` or `base64` (any case).
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.to_ascii_lowercase().as_str() {
            "hex" => Some(Encoding::Hex),
            "base64" => Some(Encoding::Base64),
            _ => None,
        }
    }

    fn encode(self, mac: &[u8]) -> String {
        match self {
            Encoding::Hex => hex::encode(mac),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(mac),
        }
    }

    /// Decodes `text` canonically to exactly `len` bytes, or `None`.
    fn decode(self, text: &str, len: usize) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => {
                let lower = text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                if !lower || text.len() != 2 * len {
                    return None;
                }
                hex::decode(text).ok()
            }
            Encoding::Base64 => {
                if text.len() != len.div_ceil(3) * 4 {
                    return None;
                }
                let mut buf = vec![0u8; len + 3];
                match base64::engine::general_purpose::STANDARD
                    .decode_slice(text.as_bytes(), &mut buf)
                {
                    Ok(n) if n == len => {
                        buf.truncate(n);
                        Some(buf)
                    }
                    _ => None,
                }
            }
        }
    }
}

/// One piece of the signed-content template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// The raw body.
    Body,
    /// The timestamp header's value, as sent.
    Timestamp,
    /// The id header's value, as sent.
    Id,
}

/// The signed content: literal text with `{body}` (exactly once), `{timestamp}` and `{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Part>);

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{` that does not open `{body}`, `{timestamp}` or `{id}`.
    #[error(
        "unknown placeholder at byte {0} (the placeholders are {{body}}, {{timestamp}} and {{id}})"
    )]
    UnknownPlaceholder(usize),
    /// `{body}` is absent or repeated.
    #[error("the signed content must contain {{body}} exactly once")]
    Body,
}

impl Template {
    /// Parses a template such as `v0:{timestamp}:{body}`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('{') {
            literal.push_str(&rest[..at]);
            let tail = &rest[at..];
            let (part, len) = [
                ("{body}", Part::Body),
                ("{timestamp}", Part::Timestamp),
                ("{id}", Part::Id),
            ]
            .into_iter()
            .find(|(p, _)| tail.starts_with(p))
            .map(|(p, part)| (part, p.len()))
            .ok_or(TemplateError::UnknownPlaceholder(text.len() - tail.len()))?;
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(part);
            rest = &tail[len..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        if parts.iter().filter(|p| **p == Part::Body).count() != 1 {
            return Err(TemplateError::Body);
        }
        Ok(Template(parts))
    }

    /// True when the template signs `part`.
    pub fn has(&self, part: &Part) -> bool {
        self.0.contains(part)
    }

    fn pieces<'a>(&'a self, body: &'a [u8], timestamp: &'a str, id: &'a str) -> Vec<&'a [u8]> {
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_bytes(),
                Part::Body => body,
                Part::Timestamp => timestamp.as_bytes(),
                Part::Id => id.as_bytes(),
            })
            .collect()
    }
}

/// A validated HMAC scheme (built by [`crate::scheme`] from the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacScheme {
    /// The signature header (lowercase).
    pub header: String,
    /// The hash.
    pub algorithm: Algorithm,
    /// The MAC's encoding.
    pub encoding: Encoding,
    /// What precedes the encoded MAC (`sha256=`, `v0=`), possibly empty.
    pub prefix: String,
    /// The signed content.
    pub signed: Template,
    /// The timestamp header (lowercase), when the template signs one.
    pub timestamp_header: Option<String>,
    /// The accepted distance of the timestamp from now, both directions.
    pub tolerance: Duration,
    /// The id header (lowercase), when the template signs one.
    pub id_header: Option<String>,
}

/// A verified HMAC delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HmacVerified {
    /// The signed timestamp, when the scheme has one.
    pub timestamp: Option<Timestamp>,
}

fn value<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn required<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, SignatureError> {
    match value(headers, name) {
        "" => Err(SignatureError::MissingNamedHeader(name.to_owned())),
        v => Ok(v),
    }
}

impl HmacScheme {
    /// The headers' presence and shape, without the body: the signature decodes to a MAC of
    /// the right length behind its prefix, the timestamp is unix seconds, the signed id is
    /// there. Returns the decoded MAC.
    pub fn check_headers(&self, headers: &HeaderMap) -> Result<Vec<u8>, SignatureError> {
        let sig = required(headers, &self.header)?;
        let encoded = sig
            .strip_prefix(self.prefix.as_str())
            .ok_or(SignatureError::Malformed(
                "the signature header lacks its prefix",
            ))?;
        let provided = self
            .encoding
            .decode(encoded, self.algorithm.mac_len())
            .ok_or(SignatureError::Malformed(
                "the signature is not a MAC of the configured algorithm and encoding",
            ))?;
        if let Some(name) = &self.timestamp_header {
            super::parse_unix_seconds(required(headers, name)?).ok_or(
                SignatureError::Malformed("the timestamp header is not unix seconds"),
            )?;
        }
        if let Some(name) = &self.id_header {
            required(headers, name)?;
        }
        Ok(provided)
    }

    /// Verifies `body` with `headers` against any of `secrets` (several during a rotation),
    /// then the timestamp, if any, against `now`.
    pub fn verify<S: WebhookSecret>(
        &self,
        body: &[u8],
        headers: &HeaderMap,
        secrets: &[S],
        now: Timestamp,
    ) -> Result<HmacVerified, SignatureError> {
        if secrets.is_empty() {
            return Err(SignatureError::InvalidSecret(
                "no webhook secret configured",
            ));
        }
        if secrets.iter().any(|s| s.expose_secret_str().is_empty()) {
            return Err(SignatureError::InvalidSecret("a webhook secret is empty"));
        }
        let provided = self.check_headers(headers)?;
        let ts_text = self
            .timestamp_header
            .as_deref()
            .map_or("", |h| value(headers, h));
        let id = self.id_header.as_deref().map_or("", |h| value(headers, h));
        let pieces = self.signed.pieces(body, ts_text, id);
        let mut matched = false;
        for secret in secrets {
            let expected = self
                .algorithm
                .mac(secret.expose_secret_str().as_bytes(), &pieces);
            // No early exit: every secret is tried, whatever matched before.
            matched |= ct_eq_bytes(&expected, &provided);
        }
        if !matched {
            return Err(SignatureError::Mismatch);
        }
        let timestamp = match super::parse_unix_seconds(ts_text) {
            Some(t) if self.timestamp_header.is_some() => {
                Some(check_tolerance(t, now, self.tolerance)?)
            }
            _ => None,
        };
        Ok(HmacVerified { timestamp })
    }

    /// The signature header's value for `body` signed at `timestamp` as delivery `id` (both
    /// used only when the template signs them), as a sender would send it.
    pub fn sign<S: WebhookSecret + ?Sized>(
        &self,
        body: &[u8],
        timestamp: Timestamp,
        id: &str,
        secret: &S,
    ) -> String {
        let ts = timestamp.as_second().to_string();
        let pieces = self.signed.pieces(body, &ts, id);
        let mac = self
            .algorithm
            .mac(secret.expose_secret_str().as_bytes(), &pieces);
        format!("{}{}", self.prefix, self.encoding.encode(&mac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github() -> HmacScheme {
        HmacScheme {
            header: "x-hub-signature-256".into(),
            algorithm: Algorithm::Sha256,
            encoding: Encoding::Hex,
            prefix: "sha256=".into(),
            signed: Template::parse("{body}").expect("template"),
            timestamp_header: None,
            tolerance: super::super::DEFAULT_TOLERANCE,
            id_header: None,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("value"));
        }
        h
    }

    /// GitHub's documented example ("Validating webhook deliveries").
    #[test]
    fn github_documented_example() {
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let secret = "It's a Secret to Everybody";
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(github().sign(b"Hello, World!", now, "", secret), sig);
        let h = headers(&[("x-hub-signature-256", sig)]);
        assert_eq!(
            github().verify(b"Hello, World!", &h, &[secret], now),
            Ok(HmacVerified { timestamp: None })
        );
        assert_eq!(
            github().verify(b"Hello, World?", &h, &[secret], now),
            Err(SignatureError::Mismatch)
        );
        let upper = headers(&[(
            "x-hub-signature-256",
            &sig.to_uppercase().replace("SHA256=", "sha256="),
        )]);
        assert!(matches!(
            github().verify(b"Hello, World!", &upper, &[secret], now),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn templates() {
        assert_eq!(
            Template::parse("v0:{timestamp}:{body}"),
            Ok(Template(vec![
                Part::Text("v0:".into()),
                Part::Timestamp,
                Part::Text(":".into()),
                Part::Body
            ]))
        );
        assert_eq!(Template::parse("{id}.{body}}").map(|t| t.0.len()), Ok(4));
        assert_eq!(Template::parse("{timestamp}"), Err(TemplateError::Body));
        assert_eq!(Template::parse("{body}{body}"), Err(TemplateError::Body));
        assert_eq!(
            Template::parse("{body}.{time}"),
            Err(TemplateError::UnknownPlaceholder(7))
        );
        assert_eq!(
            Template::parse("{body}{"),
            Err(TemplateError::UnknownPlaceholder(6))
        );
        // Multi-byte text before a brace: offsets stay on character boundaries.
        assert_eq!(
            Template::parse("é{x"),
            Err(TemplateError::UnknownPlaceholder(2))
        );
    }

    #[test]
    fn decoding_is_canonical_and_exact() {
        let mac = vec![0xabu8; 32];
        let hexed = Encoding::Hex.encode(&mac);
        assert_eq!(Encoding::Hex.decode(&hexed, 32), Some(mac.clone()));
        assert_eq!(Encoding::Hex.decode(&hexed.to_uppercase(), 32), None);
        assert_eq!(Encoding::Hex.decode(&hexed[..62], 32), None);
        assert_eq!(Encoding::Hex.decode("", 32), None);
        let b64 = Encoding::Base64.encode(&mac);
        assert_eq!(Encoding::Base64.decode(&b64, 32), Some(mac.clone()));
        assert_eq!(Encoding::Base64.decode(b64.trim_end_matches('='), 32), None);
        assert_eq!(Encoding::Base64.decode(&b64, 20), None);
        assert_eq!(Encoding::Base64.decode("", 20), None);
        for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            assert_eq!(alg.mac(b"k", &[b"x"]).len(), alg.mac_len());
            let b = Encoding::Base64.encode(&vec![7u8; alg.mac_len()]);
            assert_eq!(
                Encoding::Base64.decode(&b, alg.mac_len()).map(|v| v.len()),
                Some(alg.mac_len())
            );
        }
    }
}
