//! Static checks of the webhook URLs a provider will call: missing, unparseable, not HTTPS,
//! credentials in the URL, or pointing at an address the provider cannot (or must not) reach —
//! loopback, private, link-local, CGNAT, reserved, `localhost` names. Pure: nothing here
//! resolves a name or opens a connection, so an audit can never be turned into a request to an
//! internal address (SSRF). IPv4-mapped IPv6 addresses are canonicalized before classifying.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// What kind of address an IP is, for reachability and SSRF decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Routable on the internet.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918, fc00::/7.
    Private,
    /// 169.254.0.0/16, fe80::/10 (cloud metadata lives here).
    LinkLocal,
    /// 100.64.0.0/10.
    SharedCgnat,
    /// Unspecified, broadcast, documentation, multicast, reserved ranges.
    Reserved,
}

/// Classifies an address (IPv4-mapped IPv6 as the IPv4 it maps).
pub fn classify_ip(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let o = ip.octets();
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        AddressClass::SharedCgnat
    } else if ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || o[0] == 0
        || o[0] >= 240
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let seg = ip.segments();
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if (seg[0] & 0xfe00) == 0xfc00 {
        AddressClass::Private
    } else if (seg[0] & 0xffc0) == 0xfe80 {
        AddressClass::LinkLocal
    } else if ip.is_unspecified() || ip.is_multicast() || seg[0] == 0x2001 && seg[1] == 0x0db8 {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

/// A problem with a webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlIssue {
    /// Not set at all.
    Missing,
    /// Not a URL.
    Unparseable(String),
    /// Plain HTTP (or another scheme): requests and their signatures travel in clear text.
    NotHttps,
    /// `user:password@` in the URL: a credential stored where anyone with read access sees it.
    EmbeddedCredentials,
    /// A `localhost`-style name the provider can never reach.
    LocalName(String),
    /// An IP literal the provider cannot reach, or that would be an SSRF target.
    NonPublicAddress(IpAddr, AddressClass),
}

impl UrlIssue {
    /// A one-line description.
    pub fn describe(&self) -> String {
        match self {
            UrlIssue::Missing => "no URL is set".into(),
            UrlIssue::Unparseable(e) => format!("the URL does not parse ({e})"),
            UrlIssue::NotHttps => "the URL is not HTTPS".into(),
            UrlIssue::EmbeddedCredentials => "the URL embeds a user name or password".into(),
            UrlIssue::LocalName(h) => {
                format!("the URL points at {h}, which the provider cannot reach")
            }
            UrlIssue::NonPublicAddress(ip, class) => format!(
                "the URL points at {ip}, a {} address the provider cannot reach",
                match class {
                    AddressClass::Loopback => "loopback",
                    AddressClass::Private => "private",
                    AddressClass::LinkLocal => "link-local",
                    AddressClass::SharedCgnat => "carrier-grade NAT",
                    AddressClass::Reserved => "reserved",
                    AddressClass::Public => "public",
                }
            ),
        }
    }
}

/// Whether a configuration finding is about webhooks: a Stripe webhook endpoint, or a Twilio
/// number's or messaging service's webhook URLs and callbacks (what "webhook issues" and
/// "check webhooks" ask about). Registration, geographic permissions, senders, keys and
/// models are not.
pub fn about_webhooks(f: &apiops_core::Finding) -> bool {
    if f.resource_type == "webhook_endpoint" {
        return true;
    }
    let t = f.title.to_ascii_lowercase();
    matches!(
        f.resource_type.as_str(),
        "phone_number" | "messaging_service"
    ) && (t.contains(" url") || t.contains("callback") || t.contains("webhook"))
}

/// Checks a webhook URL; an empty list means it looks fine.
pub fn check(url: Option<&str>) -> Vec<UrlIssue> {
    let Some(raw) = url.map(str::trim).filter(|s| !s.is_empty()) else {
        return vec![UrlIssue::Missing];
    };
    let parsed = match Url::parse(raw) {
        Ok(u) => u,
        Err(e) => return vec![UrlIssue::Unparseable(e.to_string())],
    };
    let mut issues = Vec::new();
    if parsed.scheme() != "https" {
        issues.push(UrlIssue::NotHttps);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        issues.push(UrlIssue::EmbeddedCredentials);
    }
    match parsed.host() {
        Some(Host::Ipv4(ip)) => push_ip(&mut issues, IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => push_ip(&mut issues, IpAddr::V6(ip)),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".local")
                || d.ends_with(".internal")
                || !d.contains('.')
            {
                issues.push(UrlIssue::LocalName(d));
            }
        }
        None => issues.push(UrlIssue::Unparseable("no host".into())),
    }
    issues
}

fn push_ip(issues: &mut Vec<UrlIssue>, ip: IpAddr) {
    let class = classify_ip(ip);
    if class != AddressClass::Public {
        issues.push(UrlIssue::NonPublicAddress(ip, class));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_classes() {
        let cases = [
            ("127.0.0.1", AddressClass::Loopback),
            ("10.0.0.5", AddressClass::Private),
            ("172.16.3.4", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("100.64.1.1", AddressClass::SharedCgnat),
            ("0.0.0.0", AddressClass::Reserved),
            ("255.255.255.255", AddressClass::Reserved),
            ("192.0.2.10", AddressClass::Reserved),
            ("8.8.8.8", AddressClass::Public),
            ("::1", AddressClass::Loopback),
            ("::ffff:10.1.2.3", AddressClass::Private),
            ("::ffff:127.0.0.1", AddressClass::Loopback),
            ("fd00::1", AddressClass::Private),
            ("fe80::1", AddressClass::LinkLocal),
            ("2001:db8::1", AddressClass::Reserved),
            ("2606:4700::1111", AddressClass::Public),
        ];
        for (ip, want) in cases {
            assert_eq!(classify_ip(ip.parse().expect("ip")), want, "{ip}");
        }
    }

    #[test]
    fn url_checks() {
        assert_eq!(check(None), vec![UrlIssue::Missing]);
        assert_eq!(check(Some("  ")), vec![UrlIssue::Missing]);
        assert!(matches!(
            check(Some("not a url"))[0],
            UrlIssue::Unparseable(_)
        ));
        assert!(check(Some("https://hooks.example.com/twilio")).is_empty());
        assert_eq!(
            check(Some("http://hooks.example.com/sms")),
            vec![UrlIssue::NotHttps]
        );
        let private = check(Some("http://10.0.0.5/sms"));
        assert_eq!(private.len(), 2);
        assert!(matches!(
            private[1],
            UrlIssue::NonPublicAddress(_, AddressClass::Private)
        ));
        assert!(matches!(
            check(Some("https://localhost/hook"))[0],
            UrlIssue::LocalName(_)
        ));
        assert!(matches!(
            check(Some("https://[::ffff:169.254.169.254]/"))[0],
            UrlIssue::NonPublicAddress(_, AddressClass::LinkLocal)
        ));
        assert!(
            check(Some("https://u:p@hooks.example.com/")).contains(&UrlIssue::EmbeddedCredentials)
        );
        assert!(matches!(
            check(Some("https://intranet/x"))[0],
            UrlIssue::LocalName(_)
        ));
        for issue in check(Some("http://127.0.0.1/x")) {
            assert!(!issue.describe().is_empty());
        }
    }
}
