//! The credentials of one API, as its configuration resolved them: bearer, basic, a named
//! header, a query parameter, or OAuth2 client credentials. All but the query parameter become
//! apiops-client's [`Auth`] (OAuth2 through its token cache: refreshed before expiry and once on
//! a 401); the query parameter is added to each request by [`crate::api`], and its value is
//! given to the client's redactor so it never shows in a log or an error.

use std::fmt;
use std::sync::Arc;

use apiops_client::auth::{Auth, OAuth2ClientCredentials};
use http::HeaderName;
use secrecy::SecretString;
use url::Url;

use crate::error::CallError;

/// A resolved credential scheme. Its `Debug` names the scheme only.
#[derive(Clone, Default)]
pub enum ApiAuth {
    /// No credentials.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(SecretString),
    /// `Authorization: Basic`.
    Basic {
        /// The user.
        username: SecretString,
        /// The password.
        password: SecretString,
    },
    /// A key in a named header.
    Header {
        /// The header.
        name: String,
        /// The key.
        value: SecretString,
    },
    /// A key in a query parameter.
    Query {
        /// The parameter.
        name: String,
        /// The key.
        value: SecretString,
    },
    /// OAuth2 client credentials.
    OAuth2 {
        /// The token endpoint: absolute, or a path relative to the base URL (as PayPal's
        /// document gives it).
        token_url: String,
        /// The client id (not a secret, but masked where shown all the same).
        client_id: SecretString,
        /// The client secret.
        client_secret: SecretString,
        /// Scopes asked for, space-joined in the request.
        scopes: Vec<String>,
    },
}

impl fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiAuth::{}(..)", self.scheme())
    }
}

impl ApiAuth {
    /// The scheme's name: `none`, `bearer`, `basic`, `header`, `query`, `oauth2`.
    pub fn scheme(&self) -> &'static str {
        match self {
            ApiAuth::None => "none",
            ApiAuth::Bearer(_) => "bearer",
            ApiAuth::Basic { .. } => "basic",
            ApiAuth::Header { .. } => "header",
            ApiAuth::Query { .. } => "query",
            ApiAuth::OAuth2 { .. } => "oauth2",
        }
    }

    /// The client's scheme, with a relative token URL resolved against `base`.
    pub(crate) fn client_auth(&self, base: &Url) -> Result<Auth, CallError> {
        use secrecy::ExposeSecret;
        Ok(match self {
            ApiAuth::None | ApiAuth::Query { .. } => Auth::None,
            ApiAuth::Bearer(t) => Auth::Bearer(t.clone()),
            ApiAuth::Basic { username, password } => Auth::Basic {
                username: username.clone(),
                password: password.clone(),
            },
            ApiAuth::Header { name, value } => Auth::ApiKeyHeader {
                header: HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    CallError::Config(format!("auth header name {name:?} is not a header name"))
                })?,
                key: value.clone(),
            },
            ApiAuth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scopes,
            } => {
                let url = token_endpoint(token_url, base)?;
                let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
                Auth::OAuth2(Arc::new(OAuth2ClientCredentials::new(
                    url,
                    client_id.expose_secret(),
                    client_secret.clone(),
                    scope,
                )))
            }
        })
    }

    /// Secrets beyond the client scheme's own, for the redactor.
    pub(crate) fn extra_secrets(&self) -> Vec<SecretString> {
        match self {
            ApiAuth::Query { value, .. } => vec![value.clone()],
            ApiAuth::OAuth2 { client_id, .. } => vec![client_id.clone()],
            ApiAuth::Basic { username, .. } => vec![username.clone()],
            _ => vec![],
        }
    }
}

/// The token endpoint: an absolute URL as it is, a path under the base URL's origin.
fn token_endpoint(token_url: &str, base: &Url) -> Result<Url, CallError> {
    let parsed = if token_url.starts_with("http://") || token_url.starts_with("https://") {
        Url::parse(token_url)
    } else {
        base.join(token_url)
    };
    parsed.map_err(|e| CallError::Config(format!("oauth2 token_url {token_url:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_token_urls_resolve_against_the_base() {
        let base = Url::parse("http://127.0.0.1:4010/v2/x").expect("url");
        assert_eq!(
            token_endpoint("/v1/oauth2/token", &base)
                .expect("ok")
                .as_str(),
            "http://127.0.0.1:4010/v1/oauth2/token"
        );
        assert_eq!(
            token_endpoint("https://auth.example/token", &base)
                .expect("ok")
                .as_str(),
            "https://auth.example/token"
        );
    }

    #[test]
    fn debug_names_the_scheme_only() {
        let a = ApiAuth::Bearer(SecretString::from("canary-secret-value-123"));
        assert_eq!(format!("{a:?}"), "ApiAuth::bearer(..)");
    }
}
