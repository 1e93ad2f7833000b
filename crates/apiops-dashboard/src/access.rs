//! Who may see the dashboard and `/metrics`.
//!
//! Rules: on a loopback address no token is needed (whoever can connect is on the machine);
//! anywhere else `apiops serve` refuses to start without one. When a token is set it is always
//! required, presented as `Authorization: Bearer <token>`, or once as `?token=<token>`, which
//! sets a session cookie (derived from the token, never the token itself) and redirects to the
//! same page without it, so the token does not stay in the address bar or the history.
//! Comparisons are constant-time over SHA-256 digests (the lengths leak nothing either).
//! `/mcp` (the MCP endpoint, [`guard_bearer`]) takes the same token, as `Authorization: Bearer`
//! only. `/webhooks/*` and `/healthz` never pass through here: providers cannot send a token.
//!
//! Loopback is not a credential (DESIGN.md §11): without a token, every guarded route answers
//! only a request whose `Host` (and `Origin`, when a browser sends one) is a loopback name or
//! address — so a page on another site cannot reach it through DNS rebinding — and that carries
//! no `Forwarded` / `X-Forwarded-*` / `X-Real-IP` header, since a reverse proxy on the same host
//! would otherwise make every visitor "local". Forwarded headers are believed only from a peer
//! inside a `--trusted-proxy` CIDR, and then the client they name must be loopback too.
//! Anything else gets 401 naming `--token`.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "apiops_session";

/// The shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// The access rule in force.
#[derive(Clone)]
pub struct Access {
    /// SHA-256 of the token and of the session value; `None`: open (loopback only).
    digests: Option<([u8; 32], [u8; 32])>,
    /// Peers whose forwarded headers are believed (`--trusted-proxy`).
    trusted_proxies: std::sync::Arc<Vec<ipnet::IpNet>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token_required", &self.required())
            .finish()
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Why no access rule can be made for a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The token is too short to guess at.
    #[error("the dashboard token is too short: use at least {MIN_TOKEN_LEN} random characters")]
    TokenTooShort,
    /// No token, and the address is not loopback.
    #[error(
        "refusing to serve the dashboard, /metrics and /mcp on {listen}, which is not a loopback address, without a token: set --token or APIOPS_SERVE_TOKEN (at least {MIN_TOKEN_LEN} characters), or listen on 127.0.0.1"
    )]
    NoToken {
        /// Where the server would listen.
        listen: SocketAddr,
    },
}

/// The session cookie's value for `token`.
pub fn session_value(token: &str) -> String {
    sha256(&[b"apiops-dashboard-session\0", token.as_bytes()])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Access {
    /// The rule for a server listening on `listen` with `token` (empty counts as none).
    pub fn for_listen(
        listen: SocketAddr,
        token: Option<&SecretString>,
    ) -> Result<Access, AccessError> {
        let token = token
            .map(|t| t.expose_secret().trim())
            .filter(|t| !t.is_empty());
        match token {
            Some(t) if t.chars().count() < MIN_TOKEN_LEN => Err(AccessError::TokenTooShort),
            Some(t) => Ok(Access {
                digests: Some((
                    sha256(&[t.as_bytes()]),
                    sha256(&[session_value(t).as_bytes()]),
                )),
                trusted_proxies: std::sync::Arc::default(),
            }),
            None if listen.ip().is_loopback() => Ok(Access {
                digests: None,
                trusted_proxies: std::sync::Arc::default(),
            }),
            None => Err(AccessError::NoToken { listen }),
        }
    }

    /// Believes forwarded headers from peers in `proxies`.
    pub fn with_trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = std::sync::Arc::new(proxies);
        self
    }

    /// Whether requests must present the token.
    pub fn required(&self) -> bool {
        self.digests.is_some()
    }
}

/// The peer of a request, when it came through `apiops serve`'s accept loop (which puts its
/// `ConnectInfo` in the extensions).
pub fn peer<B>(req: &axum::http::Request<B>) -> Option<SocketAddr> {
    req.extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|axum::extract::ConnectInfo(a)| *a)
}

impl Access {
    /// Whether `req` may pass without a token: it is local by the rule of the module docs.
    fn local(&self, req: &Request) -> bool {
        let peer = peer(req).map(|a| a.ip());
        let trusted = peer.is_some_and(|ip| self.trusted_proxies.iter().any(|n| n.contains(&ip)));
        is_local_request(req.headers(), req.uri(), trusted)
    }

    fn token_ok(&self, presented: &str) -> bool {
        self.digests
            .is_some_and(|(t, _)| bool::from(sha256(&[presented.as_bytes()]).ct_eq(&t)))
    }

    fn session_ok(&self, presented: &str) -> bool {
        self.digests
            .is_some_and(|(_, s)| bool::from(sha256(&[presented.as_bytes()]).ct_eq(&s)))
    }
}

/// The token of an `Authorization: Bearer <token>` value.
fn bearer(authorization: &str) -> Option<&str> {
    authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .map(str::trim)
}

/// What a request presented.
enum Presented {
    Nothing,
    Good,
    /// A valid `?token=`: answer with a cookie (and a redirect for pages).
    GoodQuery(String),
    Bad,
}

fn presented(access: &Access, headers: &HeaderMap, query: Option<&str>) -> Presented {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return match bearer(auth) {
            Some(t) if access.token_ok(t) => Presented::Good,
            _ => Presented::Bad,
        };
    }
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k == "token" {
                return if access.token_ok(v.trim()) {
                    Presented::GoodQuery(session_value(v.trim()))
                } else {
                    Presented::Bad
                };
            }
        }
    }
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='));
    let mut saw_cookie = false;
    for (k, v) in cookies {
        if k == COOKIE {
            if access.session_ok(v) {
                return Presented::Good;
            }
            saw_cookie = true;
        }
    }
    if saw_cookie {
        Presented::Bad
    } else {
        Presented::Nothing
    }
}

/// The query without `token`.
fn without_token(query: &str) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "token")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish()
}

/// The middleware guarding the dashboard and `/metrics`.
pub async fn guard(State(access): State<Access>, req: Request, next: Next) -> Response {
    if !access.required() {
        return if access.local(&req) {
            next.run(req).await
        } else {
            not_local()
        };
    }
    let query = req.uri().query().map(str::to_owned);
    match presented(&access, req.headers(), query.as_deref()) {
        Presented::Good => next.run(req).await,
        Presented::GoodQuery(session) => {
            let secure = req
                .headers()
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
            let cookie = format!(
                "{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200{}",
                if secure { "; Secure" } else { "" }
            );
            let path = req.uri().path().to_owned();
            let mut resp = if path == "/metrics" {
                // Scrapers do not follow redirects with cookies: answer directly.
                next.run(req).await
            } else {
                let rest = without_token(query.as_deref().unwrap_or(""));
                let location = if rest.is_empty() {
                    path
                } else {
                    format!("{path}?{rest}")
                };
                let mut r = StatusCode::SEE_OTHER.into_response();
                if let Ok(v) = HeaderValue::from_str(&location) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r
            };
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Presented::Nothing | Presented::Bad => unauthorized(),
    }
}

/// The middleware guarding `/mcp` (the MCP streamable HTTP transport): the same token, but
/// only as `Authorization: Bearer <token>`. Its clients are agents' HTTP clients, not browsers:
/// no `?token=` (it would end up in URLs and logs) and no dashboard cookie (a page in the
/// person's browser must not be able to call tools on the strength of their dashboard session).
pub async fn guard_bearer(State(access): State<Access>, req: Request, next: Next) -> Response {
    if !access.required() {
        return if access.local(&req) {
            next.run(req).await
        } else {
            not_local()
        };
    }
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .is_some_and(|t| access.token_ok(t));
    if ok {
        next.run(req).await
    } else {
        unauthorized_with(
            "401 Unauthorized: this apiops MCP endpoint needs the serve token \
             (Authorization: Bearer <token>)\n",
        )
    }
}

/// Headers a proxy adds: a request carrying one came from elsewhere through it.
const FORWARDED: [&str; 4] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-real-ip",
];

/// The answer to a request that is not local on a server without a token.
fn not_local() -> Response {
    unauthorized_with(
        "401 Unauthorized: this apiops server has no token, so it answers only requests to a \
         loopback host (localhost, 127.0.0.1, [::1]) from a loopback origin, not through a proxy \
         (unless --trusted-proxy names it). Start apiops serve with --token \
         (APIOPS_SERVE_TOKEN) to use it from elsewhere\n",
    )
}

/// Whether a request is to a loopback host, from a loopback origin (if any), and either not
/// forwarded or forwarded by a trusted proxy (`trusted`) for a loopback client to a loopback
/// host.
fn is_local_request(headers: &HeaderMap, uri: &axum::http::Uri, trusted: bool) -> bool {
    let forwarded = FORWARDED.iter().any(|h| headers.contains_key(*h));
    if forwarded && !trusted {
        return false;
    }
    if forwarded && !forwarded_client_is_loopback(headers) {
        return false;
    }
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let host = (if forwarded {
        text("x-forwarded-host")
    } else {
        None
    })
    .or_else(|| text(header::HOST.as_str()))
    .or_else(|| uri.authority().map(|a| a.as_str().to_owned()));
    let host_ok = host
        .as_deref()
        .and_then(host_and_port)
        .is_some_and(|(h, _)| is_loopback_name(&h));
    let origin_ok = match headers.get(header::ORIGIN) {
        None => true,
        Some(o) => o
            .to_str()
            .ok()
            .and_then(|o| url::Url::parse(o).ok())
            .and_then(|u| u.host_str().map(unbracket))
            .is_some_and(|h| is_loopback_name(&h)),
    };
    host_ok && origin_ok
}

/// The client a trusted proxy names: the last `X-Forwarded-For` hop (the one the proxy added),
/// else `X-Real-IP`, else the last `Forwarded: for=`; loopback or not.
fn forwarded_client_is_loopback(headers: &HeaderMap) -> bool {
    let last = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let client = last("x-forwarded-for")
        .or_else(|| last("x-real-ip"))
        .or_else(|| {
            last("forwarded").and_then(|f| {
                f.split(';')
                    .find_map(|p| p.trim().strip_prefix("for=").map(str::to_owned))
            })
        });
    client
        .map(|c| c.trim_matches('"').to_owned())
        .map(|c| match c.parse::<SocketAddr>() {
            Ok(a) => a.ip().to_string(),
            Err(_) => unbracket(&c),
        })
        .is_some_and(|c| is_loopback_name(&c))
}

/// The host (lower case, IPv6 without brackets) and port of a `Host` value (`name`,
/// `name:port`, `[v6]`, `[v6]:port`); `None` when it is none of these.
pub fn host_and_port(value: &str) -> Option<(String, Option<u16>)> {
    let v = value.trim();
    let (host, port) = if let Some(rest) = v.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (h, port)
    } else {
        match v.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (v, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

/// A host as [`url::Url::host_str`] gives it, without the brackets of an IPv6 address.
pub fn unbracket(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// `localhost` or a loopback address.
fn is_loopback_name(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn unauthorized() -> Response {
    unauthorized_with(
        "401 Unauthorized: this apiops dashboard needs its token \
         (Authorization: Bearer <token>, or open /?token=<token> once)\n",
    )
}

fn unauthorized_with(message: &'static str) -> Response {
    let mut r = Response::new(Body::from(message));
    *r.status_mut() = StatusCode::UNAUTHORIZED;
    let h = r.headers_mut();
    h.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"apiops\""),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("addr")
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    const TOKEN: &str = "0123456789abcdef-token";

    #[test]
    fn loopback_needs_no_token_elsewhere_one_is_required() {
        assert!(
            !Access::for_listen(addr("127.0.0.1:8080"), None)
                .expect("loopback")
                .required()
        );
        assert!(
            !Access::for_listen(addr("[::1]:8080"), None)
                .expect("loopback v6")
                .required()
        );
        for a in ["0.0.0.0:8080", "[::]:8080", "192.0.2.10:80"] {
            let e = Access::for_listen(addr(a), None).expect_err(a);
            assert_eq!(e, AccessError::NoToken { listen: addr(a) });
            assert!(e.to_string().contains("APIOPS_SERVE_TOKEN"), "{e}");
            // An empty token is no token.
            assert!(Access::for_listen(addr(a), Some(&secret("  "))).is_err());
            assert!(
                Access::for_listen(addr(a), Some(&secret(TOKEN)))
                    .expect("with a token")
                    .required()
            );
        }
        assert_eq!(
            Access::for_listen(addr("0.0.0.0:1"), Some(&secret("short"))).expect_err("short"),
            AccessError::TokenTooShort
        );
        // A token given on loopback is enforced too.
        assert!(
            Access::for_listen(addr("127.0.0.1:1"), Some(&secret(TOKEN)))
                .expect("ok")
                .required()
        );
    }

    #[test]
    fn credentials_are_checked_from_each_place() {
        let a = Access::for_listen(addr("0.0.0.0:1"), Some(&secret(TOKEN))).expect("access");
        let mut h = HeaderMap::new();
        assert!(matches!(presented(&a, &h, None), Presented::Nothing));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {TOKEN}")).expect("hv"),
        );
        assert!(matches!(presented(&a, &h, None), Presented::Good));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer wrong-token-wrong-token"),
        );
        assert!(matches!(presented(&a, &h, None), Presented::Bad));
        let h = HeaderMap::new();
        let q = format!("window=6h&token={TOKEN}");
        let Presented::GoodQuery(session) = presented(&a, &h, Some(&q)) else {
            panic!("a good ?token=")
        };
        assert!(!session.contains(TOKEN), "the cookie is not the token");
        assert!(matches!(
            presented(&a, &h, Some("token=nope")),
            Presented::Bad
        ));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {COOKIE}={session}")).expect("hv"),
        );
        assert!(matches!(presented(&a, &h, None), Presented::Good));
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={TOKEN}")).expect("hv"),
        );
        assert!(
            matches!(presented(&a, &h, None), Presented::Bad),
            "the raw token is not a session"
        );
        assert_eq!(without_token(&q), "window=6h");
    }

    #[test]
    fn host_values_are_split_and_judged() {
        // A `Host` value, how it splits, and whether it is a loopback host.
        type Case = (&'static str, Option<(&'static str, Option<u16>)>, bool);
        let cases: &[Case] = &[
            ("localhost", Some(("localhost", None)), true),
            ("LOCALHOST:8080", Some(("localhost", Some(8080))), true),
            ("127.0.0.1:1", Some(("127.0.0.1", Some(1))), true),
            ("127.8.9.10", Some(("127.8.9.10", None)), true),
            ("[::1]:8080", Some(("::1", Some(8080))), true),
            ("[::1]", Some(("::1", None)), true),
            ("evil.example", Some(("evil.example", None)), false),
            (
                "localhost.evil.example:80",
                Some(("localhost.evil.example", Some(80))),
                false,
            ),
            ("192.168.1.2:8080", Some(("192.168.1.2", Some(8080))), false),
            ("", None, false),
            (":80", None, false),
            ("localhost:http", None, false),
            ("[::1]8080", None, false),
            ("::1", None, false),
        ];
        for (value, split, local) in cases {
            let got = host_and_port(value);
            assert_eq!(
                got.as_ref().map(|(h, p)| (h.as_str(), *p)),
                *split,
                "{value:?}"
            );
            assert_eq!(
                got.is_some_and(|(h, _)| is_loopback_name(&h)),
                *local,
                "{value:?}"
            );
        }
    }

    #[test]
    fn only_local_unforwarded_requests_are_local() {
        let uri: axum::http::Uri = "/confirmations".parse().expect("uri");
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        for trusted in [false, true] {
            assert!(is_local_request(
                &headers(&[("host", "127.0.0.1:8080")]),
                &uri,
                trusted
            ));
            assert!(is_local_request(
                &headers(&[
                    ("host", "localhost:8080"),
                    ("origin", "http://localhost:8080")
                ]),
                &uri,
                trusted
            ));
        }
        for bad in [
            headers(&[]),
            headers(&[("host", "evil.example")]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]),
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("x-forwarded-for", "203.0.113.9"),
            ]),
            headers(&[("host", "127.0.0.1:8080"), ("forwarded", "for=203.0.113.9")]),
        ] {
            assert!(!is_local_request(&bad, &uri, false), "{bad:?}");
        }
        // A trusted proxy's word is taken for who the client is: loopback passes, others not.
        let proxied = |client: &'static str, host: &'static str| {
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("x-forwarded-for", client),
                ("x-forwarded-host", host),
            ])
        };
        assert!(is_local_request(
            &proxied("127.0.0.1", "localhost"),
            &uri,
            true
        ));
        assert!(!is_local_request(
            &proxied("127.0.0.1", "localhost"),
            &uri,
            false
        ));
        assert!(!is_local_request(
            &proxied("203.0.113.9", "localhost"),
            &uri,
            true
        ));
        assert!(!is_local_request(
            &proxied("127.0.0.1", "hooks.example.com"),
            &uri,
            true
        ));
        // The last hop is the one the proxy added: a client cannot forge its way in.
        assert!(!is_local_request(
            &proxied("127.0.0.1, 203.0.113.9", "localhost"),
            &uri,
            true
        ));
        assert!(is_local_request(
            &headers(&[("host", "localhost"), ("forwarded", "for=\"[::1]:1234\"")]),
            &uri,
            true
        ));
    }
}
