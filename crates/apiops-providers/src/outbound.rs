//! Requests apiops itself sends to a URL it was given (test events, re-deliveries, alert
//! sinks): the SSRF guard. [`pin_public`] resolves the host once, refuses it when any address
//! is not public (unless allowed), and returns the address to pin the connection to, so no
//! second lookup (DNS rebinding) can slip an internal address in between. The static checks of
//! URLs the providers call are in [`crate::webhook_url`].

use std::net::{IpAddr, SocketAddr};

use url::Url;

use crate::webhook_url::{AddressClass, classify_ip};

/// Why a URL may not be sent to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not http or https.
    #[error("only http and https URLs are supported")]
    Scheme,
    /// `user:password@` in the URL.
    #[error("the URL embeds credentials")]
    Credentials,
    /// No host to resolve.
    #[error("the URL has no host")]
    NoHost,
    /// The lookup failed.
    #[error("resolving {host}: {reason}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's error.
        reason: String,
    },
    /// The lookup returned no address.
    #[error("{host} does not resolve")]
    NoAddress {
        /// The host.
        host: String,
    },
    /// An address is loopback, private, link-local, CGNAT or reserved.
    #[error("{host} resolves to {ip}, not a public address")]
    NotPublic {
        /// The host.
        host: String,
        /// The first such address.
        ip: IpAddr,
    },
}

impl Refusal {
    /// Whether trying again later may succeed (a lookup failure), rather than never.
    pub fn retryable(&self) -> bool {
        matches!(self, Refusal::Resolve { .. } | Refusal::NoAddress { .. })
    }
}

/// Checks `url` and resolves its host: `(host, address)` to pin the connection to.
pub async fn pin_public(url: &Url, allow_private: bool) -> Result<(String, SocketAddr), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    let host = url
        .host_str()
        .ok_or(Refusal::NoHost)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| Refusal::Resolve {
            host: host.clone(),
            reason: e.to_string(),
        })?
        .collect();
    let first = *addrs
        .first()
        .ok_or_else(|| Refusal::NoAddress { host: host.clone() })?;
    if !allow_private
        && let Some(bad) = addrs
            .iter()
            .find(|a| classify_ip(a.ip()) != AddressClass::Public)
    {
        return Err(Refusal::NotPublic { host, ip: bad.ip() });
    }
    Ok((host, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[tokio::test]
    async fn internal_targets_are_refused_unless_allowed_and_never_retried() {
        for bad in [
            "http://127.0.0.1:9/hook",
            "http://10.0.0.8/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:9/x",
            "http://localhost:9/x",
        ] {
            let e = pin_public(&url(bad), false).await.expect_err(bad);
            assert!(matches!(e, Refusal::NotPublic { .. }), "{bad}: {e}");
            assert!(!e.retryable());
        }
        let (host, addr) = pin_public(&url("http://127.0.0.1:9/hook"), true)
            .await
            .expect("allowed");
        assert_eq!((host.as_str(), addr.port()), ("127.0.0.1", 9));
        assert_eq!(
            pin_public(&url("ftp://127.0.0.1/x"), true).await,
            Err(Refusal::Scheme)
        );
        let e = pin_public(&url("https://user:pw@127.0.0.1/x"), true)
            .await
            .expect_err("credentials");
        assert_eq!(e, Refusal::Credentials);
        assert!(!e.to_string().contains("pw"));
    }
}
