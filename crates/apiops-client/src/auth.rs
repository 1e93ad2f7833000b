//! Authentication: attaches credentials to every attempt, and keeps short-lived ones fresh.
//!
//! Schemes: an API key in a header, Bearer, Basic, OAuth2 client credentials (token cached,
//! refreshed before expiry, and refreshed once on a 401), JWT (HS256 or RS256, re-signed before
//! expiry) and HMAC request signing over a documented canonical string. Secrets stay in
//! `SecretString` and are exposed only while a header value is built; the header values are
//! marked sensitive so `Debug` output of a request never shows them.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use hmac::{KeyInit, Mac};
use http::Extensions;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use url::Url;

use crate::error::ClientError;

/// A credential scheme.
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// A key in a named header (`x-api-key: ...`).
    ApiKeyHeader {
        /// The header that carries it.
        header: HeaderName,
        /// The key.
        key: SecretString,
    },
    /// `Authorization: Bearer <token>` (OpenAI, Stripe).
    Bearer(SecretString),
    /// `Authorization: Basic` (Twilio: Account SID + Auth Token, or API key SID + secret).
    Basic {
        /// The user part.
        username: SecretString,
        /// The password part.
        password: SecretString,
    },
    /// OAuth2 client credentials.
    OAuth2(Arc<OAuth2ClientCredentials>),
    /// A self-signed JWT as a Bearer token.
    Jwt(Arc<JwtSigner>),
    /// HMAC signature of each request.
    Hmac(Arc<HmacSigner>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Auth::None => "None",
            Auth::ApiKeyHeader { .. } => "ApiKeyHeader",
            Auth::Bearer(_) => "Bearer",
            Auth::Basic { .. } => "Basic",
            Auth::OAuth2(_) => "OAuth2",
            Auth::Jwt(_) => "Jwt",
            Auth::Hmac(_) => "Hmac",
        };
        write!(f, "Auth::{name}(..)")
    }
}

impl Auth {
    /// Every secret this scheme holds, for the redactor.
    pub fn secrets(&self) -> Vec<SecretString> {
        match self {
            Auth::None => vec![],
            Auth::ApiKeyHeader { key, .. } => vec![key.clone()],
            Auth::Bearer(t) => vec![t.clone()],
            Auth::Basic { password, .. } => vec![password.clone()],
            Auth::OAuth2(o) => vec![o.client_secret.clone()],
            Auth::Jwt(_) => vec![],
            Auth::Hmac(h) => vec![h.secret.clone()],
        }
    }
}

fn sensitive(value: &str) -> Result<HeaderValue, ClientError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        ClientError::Auth("credential contains characters not allowed in a header".into())
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// `Authorization: Basic base64(user:password)`.
pub fn basic_header(
    username: &SecretString,
    password: &SecretString,
) -> Result<HeaderValue, ClientError> {
    let raw = format!("{}:{}", username.expose_secret(), password.expose_secret());
    sensitive(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
}

/// OAuth2 client-credentials grant with a cached token.
pub struct OAuth2ClientCredentials {
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scope: Option<String>,
    /// Refresh this long before the token's expiry, so no request carries a dying token.
    refresh_margin: Duration,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<Option<CachedToken>>,
    fetches: AtomicU64,
}

struct CachedToken {
    token: SecretString,
    expires_at: Instant,
    generation: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl fmt::Debug for OAuth2ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2ClientCredentials")
            .field("token_url", &crate::redact::display_target(&self.token_url))
            .field("client_id", &self.client_id)
            .field("fetches", &self.fetches.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl OAuth2ClientCredentials {
    /// A grant against `token_url`.
    pub fn new(
        token_url: Url,
        client_id: impl Into<String>,
        client_secret: SecretString,
        scope: Option<String>,
    ) -> Self {
        OAuth2ClientCredentials {
            token_url,
            client_id: client_id.into(),
            client_secret,
            scope,
            refresh_margin: Duration::from_secs(60),
            http: reqwest::Client::new(),
            cache: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// Changes how long before expiry the token is refreshed (default 60 s).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// How many times a token was fetched from the token endpoint.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid token and its generation. With `stale = Some(g)`, the token of generation `g`
    /// was rejected: fetch a new one unless another request already did.
    pub async fn token(&self, stale: Option<u64>) -> Result<(SecretString, u64), ClientError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref() {
            let fresh = Instant::now() + self.refresh_margin < c.expires_at;
            if fresh && stale != Some(c.generation) {
                return Ok((c.token.clone(), c.generation));
            }
        }
        let generation = cache.as_ref().map_or(1, |c| c.generation + 1);
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope.clone()));
        }
        let target = crate::redact::display_target(&self.token_url);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .http
            .post(self.token_url.clone())
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                ClientError::Auth(format!("token endpoint {target}: {}", e.without_url()))
            })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ClientError::Auth(format!(
                "token endpoint {target} answered HTTP {}",
                status.as_u16()
            )));
        }
        let body: TokenResponse = resp.json().await.map_err(|e| {
            ClientError::Auth(format!(
                "token endpoint {target}: malformed token response: {}",
                e.without_url()
            ))
        })?;
        let ttl = Duration::from_secs(body.expires_in.unwrap_or(3600));
        let token = SecretString::from(body.access_token);
        *cache = Some(CachedToken {
            token: token.clone(),
            expires_at: Instant::now() + ttl,
            generation,
        });
        Ok((token, generation))
    }
}

/// JWT signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret.
    Hs256,
    /// RSA-SHA256 with a private key (PEM).
    Rs256,
}

/// Claims of the JWTs we sign.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JwtClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sub: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aud: Option<String>,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
}

/// Signs short-lived JWTs and reuses each until shortly before it expires.
pub struct JwtSigner {
    algorithm: JwtAlgorithm,
    key: jsonwebtoken::EncodingKey,
    key_id: Option<String>,
    issuer: String,
    subject: Option<String>,
    audience: Option<String>,
    ttl: Duration,
    now: fn() -> i64,
    cache: std::sync::Mutex<Option<(SecretString, i64)>>,
}

impl fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSigner")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl JwtSigner {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &SecretString, issuer: impl Into<String>, ttl: Duration) -> Self {
        Self::with_key(
            JwtAlgorithm::Hs256,
            jsonwebtoken::EncodingKey::from_secret(secret.expose_secret().as_bytes()),
            issuer.into(),
            ttl,
        )
    }

    /// RS256 with an RSA private key in PEM.
    pub fn rs256(
        pem: &SecretString,
        issuer: impl Into<String>,
        ttl: Duration,
    ) -> Result<Self, ClientError> {
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose_secret().as_bytes())
            .map_err(|e| ClientError::Auth(format!("RS256 key: {e}")))?;
        Ok(Self::with_key(JwtAlgorithm::Rs256, key, issuer.into(), ttl))
    }

    fn with_key(
        algorithm: JwtAlgorithm,
        key: jsonwebtoken::EncodingKey,
        issuer: String,
        ttl: Duration,
    ) -> Self {
        JwtSigner {
            algorithm,
            key,
            key_id: None,
            issuer,
            subject: None,
            audience: None,
            ttl,
            now: unix_now,
            cache: std::sync::Mutex::new(None),
        }
    }

    /// Sets `sub`.
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.subject = Some(sub.into());
        self
    }

    /// Sets `aud`.
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audience = Some(aud.into());
        self
    }

    /// Sets the `kid` header.
    pub fn key_id(mut self, kid: impl Into<String>) -> Self {
        self.key_id = Some(kid.into());
        self
    }

    /// Replaces the wall clock (unix seconds), for tests.
    pub fn with_clock(mut self, now: fn() -> i64) -> Self {
        self.now = now;
        self
    }

    /// A token valid for at least a tenth of its lifetime (re-signed otherwise).
    pub fn token(&self) -> Result<SecretString, ClientError> {
        let now = (self.now)();
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX).max(1);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((tok, exp)) = cache.as_ref()
            && now + ttl / 10 < *exp
        {
            return Ok(tok.clone());
        }
        let claims = JwtClaims {
            iss: self.issuer.clone(),
            sub: self.subject.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now.saturating_add(ttl),
        };
        let mut header = jsonwebtoken::Header::new(match self.algorithm {
            JwtAlgorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            JwtAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
        });
        header.kid = self.key_id.clone();
        let jwt = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| ClientError::Auth(format!("signing JWT: {e}")))?;
        let tok = SecretString::from(jwt);
        *cache = Some((tok.clone(), claims.exp));
        Ok(tok)
    }
}

/// Signs each request with HMAC-SHA256.
///
/// Canonical string: `"{timestamp}\n{METHOD}\n{path}?{query}\n{hex(sha256(body))}"` (the `?` and
/// query only when there is a query), where `timestamp` is unix seconds, also sent in
/// `timestamp_header`. The signature, hex, goes in `signature_header`, prefixed by
/// `keyId=<id>,` when a key id is set.
pub struct HmacSigner {
    secret: SecretString,
    key_id: Option<String>,
    signature_header: HeaderName,
    timestamp_header: HeaderName,
    now: fn() -> i64,
}

impl fmt::Debug for HmacSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacSigner")
            .field("key_id", &self.key_id)
            .field("signature_header", &self.signature_header)
            .finish_non_exhaustive()
    }
}

impl HmacSigner {
    /// A signer writing `X-Signature` and `X-Timestamp`.
    pub fn new(secret: SecretString, key_id: Option<String>) -> Self {
        HmacSigner {
            secret,
            key_id,
            signature_header: HeaderName::from_static("x-signature"),
            timestamp_header: HeaderName::from_static("x-timestamp"),
            now: unix_now,
        }
    }

    /// Uses other header names.
    pub fn headers(mut self, signature: HeaderName, timestamp: HeaderName) -> Self {
        self.signature_header = signature;
        self.timestamp_header = timestamp;
        self
    }

    /// Replaces the wall clock, for tests.
    pub fn with_clock(mut self, now: fn() -> i64) -> Self {
        self.now = now;
        self
    }

    /// The canonical string of a request.
    pub fn canonical(timestamp: i64, method: &str, url: &Url, body: &[u8]) -> String {
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        format!(
            "{timestamp}\n{method}\n{target}\n{}",
            hex::encode(Sha256::digest(body))
        )
    }

    /// The hex HMAC-SHA256 of a canonical string.
    pub fn sign(&self, canonical: &str) -> Result<String, ClientError> {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .map_err(|_| ClientError::Auth("HMAC key rejected".into()))?;
        mac.update(canonical.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    fn apply(&self, req: &mut Request) -> Result<(), ClientError> {
        let ts = (self.now)();
        let body = req.body().and_then(|b| b.as_bytes()).unwrap_or_default();
        let canonical = Self::canonical(ts, req.method().as_str(), req.url(), body);
        let sig = self.sign(&canonical)?;
        let value = match &self.key_id {
            Some(id) => format!("keyId={id},signature={sig}"),
            None => sig,
        };
        req.headers_mut()
            .insert(self.timestamp_header.clone(), sensitive(&ts.to_string())?);
        req.headers_mut()
            .insert(self.signature_header.clone(), sensitive(&value)?);
        Ok(())
    }
}

/// Attaches credentials to each attempt; with OAuth2, refreshes the token once on a 401.
#[derive(Debug)]
pub struct AuthMiddleware {
    pub(crate) auth: Auth,
}

/// Which OAuth2 token generation a request carried (so a 401 refreshes only that one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenGeneration(pub u64);

impl AuthMiddleware {
    async fn apply(
        &self,
        req: &mut Request,
        stale: Option<u64>,
    ) -> Result<Option<u64>, ClientError> {
        let headers = req.headers_mut();
        match &self.auth {
            Auth::None => {}
            Auth::ApiKeyHeader { header, key } => {
                headers.insert(header.clone(), sensitive(key.expose_secret())?);
            }
            Auth::Bearer(t) => {
                headers.insert(
                    AUTHORIZATION,
                    sensitive(&format!("Bearer {}", t.expose_secret()))?,
                );
            }
            Auth::Basic { username, password } => {
                headers.insert(AUTHORIZATION, basic_header(username, password)?);
            }
            Auth::OAuth2(o) => {
                let (tok, generation) = o.token(stale).await?;
                headers.insert(
                    AUTHORIZATION,
                    sensitive(&format!("Bearer {}", tok.expose_secret()))?,
                );
                return Ok(Some(generation));
            }
            Auth::Jwt(j) => {
                let tok = j.token()?;
                headers.insert(
                    AUTHORIZATION,
                    sensitive(&format!("Bearer {}", tok.expose_secret()))?,
                );
            }
            Auth::Hmac(h) => h.apply(req)?,
        }
        Ok(None)
    }
}

#[async_trait::async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let is_oauth = matches!(self.auth, Auth::OAuth2(_));
        let spare = if is_oauth { req.try_clone() } else { None };
        let generation = self.apply(&mut req, None).await?;
        if let Some(g) = generation {
            extensions.insert(TokenGeneration(g));
        }
        let result = next.clone().run(req, extensions).await;
        match (&result, spare, generation) {
            (Ok(resp), Some(mut again), Some(g))
                if resp.status() == http::StatusCode::UNAUTHORIZED =>
            {
                tracing::debug!(target: "apiops_client", "401 with an OAuth2 token: refreshing once");
                drop(result);
                self.apply(&mut again, Some(g)).await?;
                next.run(again, extensions).await
            }
            _ => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_encodes_user_and_password() {
        let v =
            basic_header(&SecretString::from("AC123"), &SecretString::from("tok")).expect("header");
        assert_eq!(v.to_str().expect("ascii"), "Basic QUMxMjM6dG9r");
        assert!(v.is_sensitive());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let auth = Auth::Bearer(SecretString::from("sk_canary_do_not_print_0001"));
        assert!(!format!("{auth:?}").contains("canary"));
        let h = HmacSigner::new(
            SecretString::from("hmac_canary_secret_0002"),
            Some("k1".into()),
        );
        assert!(!format!("{h:?}").contains("canary"));
    }

    #[test]
    fn hmac_canonical_and_signature() {
        let url = Url::parse("http://127.0.0.1:1/v1/things?b=2&a=1").expect("url");
        let c = HmacSigner::canonical(1_700_000_000, "POST", &url, b"{}");
        assert_eq!(
            c,
            "1700000000\nPOST\n/v1/things?b=2&a=1\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let signer = HmacSigner::new(SecretString::from("key"), None);
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") — RFC 4231-style vector.
        assert_eq!(
            signer
                .sign("The quick brown fox jumps over the lazy dog")
                .expect("sign"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    fn fixed_now() -> i64 {
        1_800_000_000
    }

    #[test]
    fn jwt_hs256_round_trips_and_is_cached() {
        let secret = SecretString::from("jwt-shared-secret-for-tests");
        let signer = JwtSigner::hs256(&secret, "apiops", Duration::from_secs(300))
            .audience("api")
            .with_clock(fixed_now);
        let t1 = signer.token().expect("token");
        let t2 = signer.token().expect("token");
        assert_eq!(
            t1.expose_secret(),
            t2.expose_secret(),
            "cached until near expiry"
        );
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.set_audience(&["api"]);
        v.validate_exp = false;
        let data = jsonwebtoken::decode::<JwtClaims>(
            t1.expose_secret(),
            &jsonwebtoken::DecodingKey::from_secret(b"jwt-shared-secret-for-tests"),
            &v,
        )
        .expect("valid");
        assert_eq!(data.claims.iss, "apiops");
        assert_eq!(data.claims.exp - data.claims.iat, 300);
        assert_eq!(data.claims.iat, fixed_now());
    }
}
