//! Keeps secrets out of everything the client layer writes: log lines, error messages and
//! cassettes. A [`Redactor`] scrubs the registered secret values from any text, raw or
//! percent-encoded; [`is_sensitive_header`], [`is_sensitive_query_param`] and [`redact_url`] are
//! the pure rules for what a header, a query parameter or a URL may show.
//!
//! This is not where secrets are stored or rendered on purpose (that is `secrecy` and
//! `apiops_core::mask`), and it does not decode other wrappings of a secret: the base64 inside a
//! `Basic` credential or a signature computed from a secret are out of scope, which is why
//! headers carrying them are never written anywhere in the first place.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use apiops_core::secret::FULLY_MASKED;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// What a sensitive query value, or a secret inside a cassette's request key, is replaced with.
pub const REDACTED: &str = "REDACTED";

/// Secrets shorter than this many characters are not scrubbed from text: a 1- to 3-character
/// value would match inside ordinary words and numbers and garble every line, while revealing
/// almost nothing about a credential. Real API keys are far longer.
pub const MIN_SCRUBBED_LEN: usize = 4;

/// How many times [`Redactor::redact`] re-scans its own output. A mask keeps the first and last
/// 4 characters, so a secret overlapping another can in theory be re-formed; re-scanning until
/// nothing matches makes the "no secret survives" guarantee unconditional.
const MAX_PASSES: usize = 4;

/// Scrubs registered secret values from text.
///
/// Cheap to clone (the secrets sit behind an [`Arc`]); its `Debug` shows only how many secrets
/// it holds. Every occurrence of a secret is found whether written raw or percent-encoded
/// (`%2F` or `%2f` for any byte, `+` for a space, in any mix), so a secret pasted into a URL or
/// a form body is caught too.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Shared, immutable list: one client's middlewares all scrub with the same set.
    secrets: Arc<[Needle]>,
}

/// One registered secret and what it is replaced with.
struct Needle {
    /// The value to find; kept as a `SecretString` so it is zeroized on drop.
    value: SecretString,
    /// `apiops_core::mask` of the value, computed once.
    mask: String,
}

/// What an occurrence is replaced with.
#[derive(Clone, Copy)]
enum Replacement {
    /// The secret's own mask (`sk_l...1234`), for text people read.
    Mask,
    /// [`REDACTED`], for text that must compare equal whichever credentials were used.
    Placeholder,
}

impl Redactor {
    /// A redactor for `secrets`. Values shorter than [`MIN_SCRUBBED_LEN`] characters, duplicates
    /// and values made only of `*` (indistinguishable from a mask) are skipped.
    pub fn new(secrets: impl IntoIterator<Item = SecretString>) -> Self {
        let mut needles: Vec<Needle> = Vec::new();
        for secret in secrets {
            let value = secret.expose_secret();
            if value.chars().count() < MIN_SCRUBBED_LEN
                || value.chars().all(|c| c == '*')
                || !find_all(REDACTED, value).is_empty()
                || needles.iter().any(|n| n.value.expose_secret() == value)
            {
                continue;
            }
            let mask = apiops_core::mask(value);
            needles.push(Needle {
                value: secret,
                mask,
            });
        }
        // Longest first, so that where two secrets overlap the longer one's mask is chosen.
        needles.sort_by_key(|n| std::cmp::Reverse(n.value.expose_secret().len()));
        Redactor {
            secrets: needles.into(),
        }
    }

    /// This redactor with one more secret.
    pub fn with_secret(&self, secret: SecretString) -> Self {
        let all = self
            .secrets
            .iter()
            .map(|n| n.value.clone())
            .chain(std::iter::once(secret));
        Redactor::new(all)
    }

    /// How many secrets are scrubbed.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every occurrence of a secret replaced by its mask (`sk_l...1234`, or
    /// `********` under 12 characters). Borrows when there is nothing to replace.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.scrub(text, Replacement::Mask)
    }

    /// `text` with every occurrence of a secret replaced by [`REDACTED`]: for values that must
    /// stay stable when the credentials change, like a cassette's request key.
    pub fn redact_to_placeholder<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.scrub(text, Replacement::Placeholder)
    }

    /// [`redact_url`], then any secret left in the path or query scrubbed.
    pub fn redact_url(&self, url: &Url) -> String {
        let shown = redact_url(url);
        self.redact(&shown).into_owned()
    }

    fn scrub<'a>(&self, text: &'a str, with: Replacement) -> Cow<'a, str> {
        if self.secrets.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut current = Cow::Borrowed(text);
        for _ in 0..MAX_PASSES {
            let regions = self.regions(&current);
            if regions.is_empty() {
                return current;
            }
            current = Cow::Owned(self.replace(&current, &regions, with));
        }
        if self.regions(&current).is_empty() {
            current
        } else {
            // Unreachable in practice; never return text that still holds a secret.
            Cow::Owned(match with {
                Replacement::Mask => FULLY_MASKED.to_owned(),
                Replacement::Placeholder => REDACTED.to_owned(),
            })
        }
    }

    /// Byte ranges of `text` holding a secret, merged where occurrences overlap, each with the
    /// needle it came from (`None` for a merged range).
    fn regions(&self, text: &str) -> Vec<(usize, usize, Option<usize>)> {
        let mut hits: Vec<(usize, usize, usize)> = Vec::new();
        for (i, needle) in self.secrets.iter().enumerate() {
            for (start, end) in find_all(text, needle.value.expose_secret()) {
                hits.push((start, end, i));
            }
        }
        if hits.is_empty() {
            return Vec::new();
        }
        hits.sort_by_key(|&(start, end, i)| (start, std::cmp::Reverse(end), i));
        let mut merged: Vec<(usize, usize, Option<usize>)> = Vec::new();
        for (start, end, i) in hits {
            match merged.last_mut() {
                Some(last) if start < last.1 => {
                    if end > last.1 {
                        last.1 = end;
                        last.2 = None;
                    }
                }
                _ => merged.push((start, end, Some(i))),
            }
        }
        merged
    }

    fn replace(
        &self,
        text: &str,
        regions: &[(usize, usize, Option<usize>)],
        with: Replacement,
    ) -> String {
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        for &(start, end, needle) in regions {
            out.push_str(&text[pos..start]);
            match (with, needle.and_then(|i| self.secrets.get(i))) {
                (Replacement::Placeholder, _) => out.push_str(REDACTED),
                (Replacement::Mask, Some(n)) => out.push_str(&n.mask),
                // Overlapping secrets: showing 4 + 4 characters of the union could reveal
                // more of either than its own mask does.
                (Replacement::Mask, None) => out.push_str(FULLY_MASKED),
            }
            pos = end;
        }
        out.push_str(&text[pos..]);
        out
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

/// Every `(start, end)` byte range of `text` holding `secret`, overlapping ones included.
fn find_all(text: &str, secret: &str) -> Vec<(usize, usize)> {
    let (hay, pat) = (text.as_bytes(), secret.as_bytes());
    let Some(&first) = pat.first() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for start in 0..hay.len() {
        let b = hay[start];
        let may_start = b == first || b == b'%' || (b == b'+' && first == b' ');
        if !may_start || !text.is_char_boundary(start) {
            continue;
        }
        if let Some(len) = encoded_match_len(&hay[start..], pat) {
            let end = start + len;
            if text.is_char_boundary(end) {
                found.push((start, end));
            }
        }
    }
    found
}

/// The length of the longest prefix of `hay` that spells `pat`, each byte written either raw or
/// percent-encoded (hex in either case), a space also as `+`. A small NFA walk: a `%` in the
/// secret can be matched raw or as `%25`, so more than one position may be live at once.
fn encoded_match_len(hay: &[u8], pat: &[u8]) -> Option<usize> {
    let mut live: Vec<usize> = vec![0];
    let mut next: Vec<usize> = Vec::new();
    for &want in pat {
        next.clear();
        for &at in &live {
            let Some(&got) = hay.get(at) else { continue };
            if got == want || (want == b' ' && got == b'+') {
                next.push(at + 1);
            }
            if got == b'%' {
                let decoded = match (hay.get(at + 1), hay.get(at + 2)) {
                    (Some(&h), Some(&l)) => hex_value(h).zip(hex_value(l)).map(|(h, l)| h * 16 + l),
                    _ => None,
                };
                if decoded == Some(want) {
                    next.push(at + 3);
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        next.sort_unstable();
        next.dedup();
        std::mem::swap(&mut live, &mut next);
    }
    live.last().copied()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether a header carries a credential or a signature, and so must never be logged or
/// recorded. Case-insensitive.
///
/// True for the well-known credential headers (`Authorization`, `Proxy-Authorization`,
/// `Cookie`, `Set-Cookie`, `X-Api-Key`, `Api-Key`, `Stripe-Signature`, `X-Twilio-Signature`,
/// `Webhook-Signature`) and for any name containing `secret`, `token`, `signature`, `key`,
/// `password`, `credential`, `authorization` or `cookie` — except `Idempotency-Key` (an
/// identifier, not a credential) and rate-limit headers such as OpenAI's
/// `x-ratelimit-remaining-tokens`, which count tokens rather than carry one.
pub fn is_sensitive_header(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "stripe-signature",
        "x-twilio-signature",
        "webhook-signature",
    ];
    const CONTAINS: &[&str] = &[
        "secret",
        "token",
        "signature",
        "key",
        "password",
        "credential",
        "authorization",
        "cookie",
    ];
    let name = name.trim().to_ascii_lowercase();
    if EXACT.contains(&name.as_str()) {
        return true;
    }
    if name.ends_with("idempotency-key") || is_rate_limit_header(&name) {
        return false;
    }
    CONTAINS.iter().any(|w| name.contains(w))
}

/// Whether a (lower-case) header name is a rate-limit counter: `x-ratelimit-*`, `ratelimit*`,
/// `x-rate-limit-*`.
pub(crate) fn is_rate_limit_header(lower: &str) -> bool {
    lower.starts_with("x-ratelimit-")
        || lower.starts_with("ratelimit")
        || lower.starts_with("x-rate-limit-")
}

/// Whether a query parameter's value is a credential, and so shown as [`REDACTED`].
/// Case-insensitive, `-` and `_` alike.
///
/// True for the usual names (`key`, `api_key`, `apikey`, `token`, `access_token`,
/// `refresh_token`, `id_token`, `auth`, `auth_token`, `secret`, `client_secret`, `signature`,
/// `sig`, `password`, `passwd`, `pwd`, `code`, presigned-URL `X-Amz-*`/`X-Goog-*` credentials)
/// and for names containing `secret`, `password`, `signature`, `credential`, `api_key`,
/// `apikey`, `access_token` or `auth_token`. Paging cursors such as Twilio's `PageToken` are
/// not credentials and stay visible, so cassette keys of successive pages differ.
pub fn is_sensitive_query_param(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "key",
        "api_key",
        "apikey",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth",
        "auth_token",
        "secret",
        "client_secret",
        "signature",
        "sig",
        "password",
        "passwd",
        "pwd",
        "code",
        "x_amz_security_token",
        "session_token",
        "private_token",
    ];
    const CONTAINS: &[&str] = &[
        "secret",
        "password",
        "signature",
        "credential",
        "api_key",
        "apikey",
        "access_token",
        "auth_token",
    ];
    let name = name.trim().to_ascii_lowercase().replace('-', "_");
    EXACT.contains(&name.as_str()) || CONTAINS.iter().any(|w| name.contains(w))
}

/// What a log line or error may show of a URL: `scheme://host[:port]/path[?query]`, without
/// user info or fragment, each sensitive query value (see [`is_sensitive_query_param`])
/// replaced by [`REDACTED`] and the other parameters kept as written.
pub fn redact_url(url: &Url) -> String {
    let mut out = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        out.push_str(host);
    }
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    out.push_str(url.path());
    if let Some(query) = url.query().filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(&redact_query(query));
    }
    out
}

/// What [`display_url`] shows for text that is not a URL with a host: a fixed placeholder, so
/// a value pasted in the wrong place (which may be a token) is never echoed, even in part.
pub const UNPARSEABLE_URL: &str = "(unparseable URL)";

/// What a message may show of a URL given as text: `scheme://host[:port]/path`, never its user
/// info, query or fragment (any of which may carry a credential). Text that does not parse as a
/// URL with a host is shown as [`UNPARSEABLE_URL`].
pub fn display_url(raw: &str) -> String {
    try_display_url(raw).unwrap_or_else(|| UNPARSEABLE_URL.to_owned())
}

/// [`display_url`], or `None` for text that does not parse as a URL with a host (for a caller
/// that leaves such a value out instead of showing the placeholder).
pub fn try_display_url(raw: &str) -> Option<String> {
    let url = Url::parse(raw.trim()).ok()?;
    url.host_str().filter(|h| !h.is_empty())?;
    Some(format!("{}://{}", url.scheme(), display_target(&url)))
}

/// `host[:port]/path` of a URL: what a [`ClientError`](crate::ClientError)'s target and a log
/// line may show of it (no scheme, user info, query or fragment).
pub fn display_target(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{host}:{p}{}", url.path()),
        None => format!("{host}{}", url.path()),
    }
}

/// A raw query string with each sensitive parameter's value replaced by [`REDACTED`]; other
/// parameters are kept byte for byte.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (raw_name, value) = match pair.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (pair, None),
            };
            let name = url::form_urlencoded::parse(raw_name.as_bytes())
                .next()
                .map(|(n, _)| n.into_owned())
                .unwrap_or_default();
            match value {
                Some(_) if is_sensitive_query_param(&name) => format!("{raw_name}={REDACTED}"),
                _ => pair.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` with every `http://` or `https://` URL in it replaced by its [`redact_url`] form
/// (`(url)` when it does not parse). For third-party error messages, which often embed the full
/// request URL, query included.
pub fn redact_urls_in_text(text: &str) -> Cow<'_, str> {
    if !text.contains("http://") && !text.contains("https://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find_url_start(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let len = tail
            .find(|c: char| c.is_whitespace() || "\"'<>()[]{}`,;".contains(c))
            .unwrap_or(tail.len());
        let candidate = tail[..len].trim_end_matches(['.', ':', '!', '?']);
        match Url::parse(candidate) {
            Ok(url) => out.push_str(&redact_url(&url)),
            Err(_) => out.push_str("(url)"),
        }
        rest = &tail[candidate.len()..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn find_url_start(text: &str) -> Option<usize> {
    match (text.find("http://"), text.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn redactor(secrets: &[&str]) -> Redactor {
        Redactor::new(secrets.iter().map(|s| SecretString::from(*s)))
    }

    #[test]
    fn redact_replaces_secrets_with_their_masks() {
        let long = "sk_live_0123456789abcdef";
        let short = "pw12345";
        let r = redactor(&[long, short, "abc"]);
        let cases: &[(&str, &str)] = &[
            ("nothing here", "nothing here"),
            ("key=sk_live_0123456789abcdef.", "key=sk_l...cdef."),
            (
                "a sk_live_0123456789abcdef b sk_live_0123456789abcdef",
                "a sk_l...cdef b sk_l...cdef",
            ),
            ("pass pw12345!", "pass ********!"),
            // Under the minimum length: left alone, since it would match everywhere.
            ("abc abcdef", "abc abcdef"),
            // Percent-encoded, in either hex case, partly or wholly.
            ("q=sk%5Flive%5F0123456789abcdef", "q=sk_l...cdef"),
            ("q=%73%6b%5flive_0123456789abcdef&x", "q=sk_l...cdef&x"),
            ("é sk_live_0123456789abcdef é", "é sk_l...cdef é"),
        ];
        for (input, want) in cases {
            assert_eq!(r.redact(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn redact_borrows_when_nothing_matches() {
        let r = redactor(&["sk_live_0123456789abcdef"]);
        assert!(matches!(r.redact("plain text"), Cow::Borrowed(_)));
        assert!(matches!(Redactor::default().redact("x"), Cow::Borrowed(_)));
    }

    #[test]
    fn redact_handles_spaces_plus_and_percent_in_secrets() {
        let r = redactor(&["pass word%25/x+y="]);
        for input in [
            "pass word%25/x+y=",
            "pass+word%2525%2Fx%2By%3D",
            "pass%20word%25%32%35/x+y=",
        ] {
            let out = r.redact(input);
            assert_eq!(out, "pass...x+y=", "input {input:?}");
        }
    }

    #[test]
    fn overlapping_occurrences_are_all_covered() {
        // A periodic secret overlapping itself: a one-pass, non-overlapping replace would
        // leave "abcdabcdabcd" in "abcd...abcd" + "abcdabcd".
        let r = redactor(&["abcdabcdabcd"]);
        let out = r.redact("xabcdabcdabcdabcdabcdy");
        assert!(!out.contains("abcdabcdabcd"), "{out}");
        assert_eq!(out, "x********y");
    }

    #[test]
    fn placeholder_replacement_is_independent_of_the_secret() {
        let a = redactor(&["sk_live_aaaaaaaaaaaa1111"]);
        let b = redactor(&["sk_live_bbbbbbbbbbbb2222"]);
        assert_eq!(
            a.redact_to_placeholder("/v1/sk_live_aaaaaaaaaaaa1111/x"),
            b.redact_to_placeholder("/v1/sk_live_bbbbbbbbbbbb2222/x")
        );
        assert_eq!(
            a.redact_to_placeholder("k=sk_live_aaaaaaaaaaaa1111"),
            "k=REDACTED"
        );
    }

    #[test]
    fn debug_shows_only_the_count() {
        let r = redactor(&["sk_live_0123456789abcdef", "another-secret"]);
        let shown = format!("{r:?}");
        assert_eq!(shown, "Redactor { secrets: 2 }");
        assert_eq!(r.len(), 2);
        assert_eq!(r.with_secret(SecretString::from("third-secret")).len(), 3);
        assert!(Redactor::default().is_empty());
    }

    #[test]
    fn new_skips_short_duplicate_and_mask_like_values() {
        let r = redactor(&["", "ab", "abc", "****", "dup-secret", "dup-secret"]);
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn sensitive_headers() {
        let cases: &[(&str, bool)] = &[
            ("Authorization", true),
            ("proxy-authorization", true),
            ("Cookie", true),
            ("Set-Cookie", true),
            ("X-API-Key", true),
            ("api-key", true),
            ("Stripe-Signature", true),
            ("X-Twilio-Signature", true),
            ("webhook-signature", true),
            ("X-Hub-Signature-256", true),
            ("X-Client-Secret", true),
            ("X-Auth-Token", true),
            ("X-Amz-Security-Token", true),
            ("Idempotency-Key", false),
            ("X-Idempotency-Key", false),
            ("x-ratelimit-remaining-tokens", false),
            ("x-ratelimit-limit-requests", false),
            ("Content-Type", false),
            ("Retry-After", false),
            ("OpenAI-Organization", false),
            ("Twilio-Concurrent-Requests", false),
            ("Keep-Alive", false),
            ("Request-Id", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_sensitive_header(name), *want, "header {name}");
        }
    }

    #[test]
    fn sensitive_query_params() {
        let cases: &[(&str, bool)] = &[
            ("key", true),
            ("api_key", true),
            ("API-KEY", true),
            ("apikey", true),
            ("token", true),
            ("access_token", true),
            ("secret", true),
            ("client_secret", true),
            ("signature", true),
            ("sig", true),
            ("password", true),
            ("code", true),
            ("X-Amz-Signature", true),
            ("X-Amz-Credential", true),
            ("my_api_key", true),
            ("limit", false),
            ("starting_after", false),
            ("PageToken", false),
            ("page_token", false),
            ("after", false),
            ("keyword", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_sensitive_query_param(name), *want, "param {name}");
        }
    }

    #[test]
    fn redact_url_drops_userinfo_fragment_and_sensitive_values() {
        let cases: &[(&str, &str)] = &[
            (
                "https://api.example.com/v1/x",
                "https://api.example.com/v1/x",
            ),
            (
                "https://user:pw@api.example.com:8443/v1/x?limit=2&api_key=sk_1&b=%20c#frag",
                "https://api.example.com:8443/v1/x?limit=2&api_key=REDACTED&b=%20c",
            ),
            (
                "http://127.0.0.1:9/p?Token=abc&flag",
                "http://127.0.0.1:9/p?Token=REDACTED&flag",
            ),
            ("https://h/p?", "https://h/p"),
            (
                "https://h:443/p?a=1&sig=x&a=2",
                "https://h/p?a=1&sig=REDACTED&a=2",
            ),
        ];
        for (input, want) in cases {
            let url = Url::parse(input).expect("test URL parses");
            assert_eq!(redact_url(&url), *want, "url {input}");
        }
    }

    #[test]
    fn redactor_redact_url_also_scrubs_path_secrets() {
        let r = redactor(&["ACsecretaccount0001"]);
        let url = Url::parse("https://h/Accounts/ACsecretaccount0001/x?key=1").expect("url");
        assert_eq!(
            r.redact_url(&url),
            "https://h/Accounts/ACse...0001/x?key=REDACTED"
        );
    }

    #[test]
    fn urls_inside_messages_are_redacted() {
        let cases: &[(&str, &str)] = &[
            ("no url here", "no url here"),
            (
                "error sending request for url (http://127.0.0.1:1/x?api_key=CANARY&n=1)",
                "error sending request for url (http://127.0.0.1:1/x?api_key=REDACTED&n=1)",
            ),
            (
                "see https://u:p@h/a?token=t. then http://x/y",
                "see https://h/a?token=REDACTED. then http://x/y",
            ),
            ("broken http:// here", "broken (url) here"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_urls_in_text(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn display_url_shows_scheme_host_port_and_path_only() {
        let cases: &[(&str, &str)] = &[
            (
                "https://h.example:8443/p?q=1#frag",
                "https://h.example:8443/p",
            ),
            ("https://h.example/p?token=sekrit", "https://h.example/p"),
            (
                "http://10.0.0.5:8080/hook?sig=x",
                "http://10.0.0.5:8080/hook",
            ),
            (
                "  https://user:hunter2@h.example/hooks/a  ",
                "https://h.example/hooks/a",
            ),
            ("https://[::1]:9/x", "https://[::1]:9/x"),
            // The default port is not written out, as the URL would not be.
            ("https://h.example:443/", "https://h.example/"),
        ];
        for (raw, want) in cases {
            assert_eq!(display_url(raw), *want, "{raw:?}");
            assert_eq!(try_display_url(raw).as_deref(), Some(*want), "{raw:?}");
        }
    }

    #[test]
    fn display_url_never_echoes_what_is_not_a_url_with_a_host() {
        for raw in [
            "not a url",
            "sk_live_canary0123456789abcdef",
            "",
            "mailto:ops@example.com",
            "data:text/plain,sk_live_canary0123456789",
        ] {
            assert_eq!(display_url(raw), UNPARSEABLE_URL, "{raw:?}");
            assert_eq!(try_display_url(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn display_target_is_host_port_and_path() {
        let url = Url::parse("https://u:p@api.example:8443/v1/x?key=k").expect("url");
        assert_eq!(display_target(&url), "api.example:8443/v1/x");
        let url = Url::parse("https://api.example/v1").expect("url");
        assert_eq!(display_target(&url), "api.example/v1");
    }

    fn percent_encode_all(s: &str) -> String {
        s.bytes().map(|b| format!("%{b:02X}")).collect()
    }

    proptest! {
        #[test]
        fn no_secret_survives_redaction(
            secret in "[A-Za-z0-9_./+= %*é-]{4,40}",
            before in "[ -~é]{0,40}",
            after in "[ -~é]{0,40}",
            encoding in 0u8..3,
        ) {
            prop_assume!(!secret.chars().all(|c| c == '*'));
            let r = Redactor::new([SecretString::from(secret.clone())]);
            let embedded = match encoding {
                0 => secret.clone(),
                1 => url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
                _ => percent_encode_all(&secret),
            };
            let text = format!("{before}{embedded}{after}{secret}");
            let out = r.redact(&text);
            prop_assert!(!out.contains(secret.as_str()), "raw secret left in {out:?}");
            prop_assert!(find_all(&out, &secret).is_empty(), "encoded secret left in {out:?}");
            let placeholder = r.redact_to_placeholder(&text);
            prop_assert!(find_all(&placeholder, &secret).is_empty());
        }
    }
}
