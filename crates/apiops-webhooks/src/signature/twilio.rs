//! Twilio: `X-Twilio-Signature: base64(HMAC-SHA1(auth token, data))`.
//!
//! For a form POST, `data` is the full URL Twilio requested followed by every parameter sorted
//! by name then value, each appended as name + value. For a JSON body, Twilio adds a
//! `bodySHA256` query parameter (lowercase hex SHA-256 of the raw body) and signs the URL alone.
//!
//! As in Twilio's own SDKs (twilio-python `RequestValidator.validate`), two spellings of the URL
//! are tried because Twilio's signing is inconsistent about ports: the URL without its port, and
//! the URL with its port (the scheme's default, 443 for https and 80 otherwise, when it has
//! none). A URL that cannot be split into scheme and authority, or whose port is not a number,
//! is tried only as given.
//!
//! Repeated parameters: Twilio-python signs each distinct (name, value) pair once, other SDKs
//! and our simulator sign every pair. Both spellings are accepted when the request repeats a
//! pair; [`sign`] produces the every-pair one.
//!
//! Behind a proxy, pass the public URL Twilio was configured with, not the forwarded one.

use base64::Engine as _;
use sha2::Digest as _;

use super::{SignatureError, WebhookSecret, any_ct_eq, ct_eq_bytes, hmac_sha1};

/// The header Twilio signs webhooks with.
pub const HEADER: &str = "X-Twilio-Signature";

/// The query parameter carrying the SHA-256 of a JSON body.
pub const BODY_HASH_PARAM: &str = "bodySHA256";

fn token_bytes<S: WebhookSecret + ?Sized>(auth_token: &S) -> Result<&[u8], SignatureError> {
    let token = auth_token.expose_secret_str();
    if token.trim().is_empty() {
        return Err(SignatureError::InvalidSecret("empty Twilio auth token"));
    }
    Ok(token.as_bytes())
}

/// Decode the header: exactly 28 characters of canonical padded base64 for 20 bytes.
/// Checks an `X-Twilio-Signature` value's shape (present, 20 bytes of base64) without the
/// body: a receiver refuses a request that cannot verify before reading its body.
pub fn check_header(header_signature: &str) -> Result<(), SignatureError> {
    decode_header(header_signature).map(|_| ())
}

fn decode_header(header_signature: &str) -> Result<[u8; 20], SignatureError> {
    if header_signature.is_empty() {
        return Err(SignatureError::MissingHeader(HEADER));
    }
    let mut out = [0u8; 20];
    if header_signature.len() != 28 {
        return Err(SignatureError::Malformed(
            "X-Twilio-Signature is not a base64 HMAC-SHA1",
        ));
    }
    match base64::engine::general_purpose::STANDARD
        .decode_slice(header_signature.as_bytes(), &mut out)
    {
        Ok(20) => Ok(out),
        _ => Err(SignatureError::Malformed(
            "X-Twilio-Signature is not a base64 HMAC-SHA1",
        )),
    }
}

fn mac(token: &[u8], url: &str, pairs: &[&(String, String)]) -> [u8; 20] {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(1 + 2 * pairs.len());
    parts.push(url.as_bytes());
    for (k, v) in pairs {
        parts.push(k.as_bytes());
        parts.push(v.as_bytes());
    }
    hmac_sha1(token, &parts)
}

/// The URL spelled without its port and with it (the scheme's default added if it has none).
/// One entry when the URL cannot be parsed that far or both spellings coincide.
fn url_variants(url: &str) -> Vec<String> {
    let Some(split) = split_port(url) else {
        return vec![url.to_owned()];
    };
    let (without, with) = match split {
        PortSplit::Absent { host_end } => {
            let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("");
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            let (head, tail) = url.split_at(host_end);
            (url.to_owned(), format!("{head}:{port}{tail}"))
        }
        PortSplit::Present { colon, port_end } => {
            let (head, rest) = url.split_at(colon);
            let tail = rest.get(port_end - colon..).unwrap_or("");
            (format!("{head}{tail}"), url.to_owned())
        }
    };
    if without == with {
        vec![without]
    } else {
        vec![without, with]
    }
}

enum PortSplit {
    /// No port: the authority ends at `host_end`.
    Absent { host_end: usize },
    /// A numeric port: `url[colon]` is the `:` and the digits end at `port_end`.
    Present { colon: usize, port_end: usize },
}

/// Where the port sits in `scheme://[userinfo@]host[:port][/path][?query][#fragment]`.
/// `None` when there is no scheme, no `://`, no host, or the port is not a number from 0 to
/// 65535.
fn split_port(url: &str) -> Option<PortSplit> {
    let authority_start = url.find("://")? + 3;
    let rest = url.get(authority_start..)?;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_len)?;
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let hostport = authority.get(host_start..)?;
    // An IPv6 literal's colons are inside the brackets.
    let after_host = if hostport.starts_with('[') {
        hostport.find(']')? + 1
    } else {
        hostport.find(':').unwrap_or(hostport.len())
    };
    if after_host == 0 || authority_start == 3 {
        return None; // no host or no scheme
    }
    let base = authority_start + host_start;
    match hostport.get(after_host..)? {
        "" => Some(PortSplit::Absent {
            host_end: base + after_host,
        }),
        port_part => {
            let digits = port_part.strip_prefix(':')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse::<u16>().ok()?;
            Some(PortSplit::Present {
                colon: base + after_host,
                port_end: base + hostport.len(),
            })
        }
    }
}

/// Verify a form POST from Twilio: `url` is the full URL Twilio requested (including any query
/// string), `params` the decoded form parameters in any order (repeated names allowed; see
/// [`form_params`]), `header_signature` the `X-Twilio-Signature` value (empty if absent).
///
/// Errors: [`SignatureError::MissingHeader`], [`SignatureError::Malformed`] (not 20 bytes of
/// base64), [`SignatureError::InvalidSecret`] (empty token), [`SignatureError::Mismatch`].
pub fn verify<S: WebhookSecret + ?Sized>(
    url: &str,
    params: &[(String, String)],
    header_signature: &str,
    auth_token: &S,
) -> Result<(), SignatureError> {
    let token = token_bytes(auth_token)?;
    let provided = decode_header(header_signature)?;
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut spellings = vec![sorted.clone()];
    sorted.dedup();
    if sorted.len() != params.len() {
        spellings.push(sorted);
    }
    let expected: Vec<[u8; 20]> = url_variants(url)
        .iter()
        .flat_map(|u| spellings.iter().map(move |pairs| mac(token, u, pairs)))
        .collect();
    if any_ct_eq(&expected, &[provided]) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Verify a JSON POST from Twilio: `url` is the full URL Twilio requested, which carries
/// `bodySHA256`; `body` the raw body. The signature covers the URL alone (both port spellings
/// are tried, as in [`verify`]); the body must hash to the URL's `bodySHA256`.
///
/// Errors as [`verify`], plus [`SignatureError::Malformed`] when the URL has no `bodySHA256`
/// and [`SignatureError::BodyHashMismatch`] when the URL is authentic but the body is not the
/// one it names. The signature is checked first.
pub fn verify_json<S: WebhookSecret + ?Sized>(
    url: &str,
    body: &[u8],
    header_signature: &str,
    auth_token: &S,
) -> Result<(), SignatureError> {
    let claimed = body_hash_param(url).ok_or(SignatureError::Malformed(
        "URL has no bodySHA256 query parameter",
    ))?;
    verify(url, &[], header_signature, auth_token)?;
    let actual = hex::encode(sha2::Sha256::digest(body));
    if ct_eq_bytes(actual.as_bytes(), claimed.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::BodyHashMismatch)
    }
}

/// The first `bodySHA256` value in the URL's query string, percent-decoded.
fn body_hash_param(url: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == BODY_HASH_PARAM)
        .map(|(_, v)| v.into_owned())
}

/// The `X-Twilio-Signature` Twilio would send for a form POST of `params` to `url`
/// (every pair signed, sorted by name then value).
pub fn sign<S: WebhookSecret + ?Sized>(
    url: &str,
    params: &[(String, String)],
    auth_token: &S,
) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let sig = mac(auth_token.expose_secret_str().as_bytes(), url, &sorted);
    base64::engine::general_purpose::STANDARD.encode(sig)
}

/// For a JSON POST of `body` to `url`: the URL with `bodySHA256` appended, and its
/// `X-Twilio-Signature`.
pub fn sign_json<S: WebhookSecret + ?Sized>(
    url: &str,
    body: &[u8],
    auth_token: &S,
) -> (String, String) {
    let hash = hex::encode(sha2::Sha256::digest(body));
    let sep = if url.contains('?') { '&' } else { '?' };
    let signed_url = format!("{url}{sep}{BODY_HASH_PARAM}={hash}");
    let sig = sign(&signed_url, &[], auth_token);
    (signed_url, sig)
}

/// Decode an `application/x-www-form-urlencoded` body into the (name, value) pairs Twilio
/// signed, in order, repeated names kept. Total: invalid UTF-8 becomes U+FFFD.
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn sdk_params() -> Vec<(String, String)> {
        // twilio-python's tests/unit/test_request_validator.py (the numbers there are
        // +14158675309; reference/providers.md misquotes them).
        p(&[
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("Caller", "+14158675309"),
        ])
    }

    #[test]
    fn official_sdk_vector() {
        assert_eq!(
            sign(URL, &sdk_params(), TOKEN),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert_eq!(
            verify(URL, &sdk_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=", TOKEN),
            Ok(())
        );
        let secret = secrecy::SecretString::from(TOKEN);
        assert_eq!(
            verify(URL, &sdk_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=", &secret),
            Ok(())
        );
        assert_eq!(
            verify(URL, &sdk_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "54321"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn port_variants() {
        // Hand vectors from twilio-python 9.13.0 compute_signature.
        let params = p(&[("Body", "hi")]);
        let with_port = "yna5fJFStaHqoGcIHFAroS3ZMtw="; // over https://example.com:443/sms
        let without = "g90pT4BNEwvv48KBE2+l9ClZguk="; // over https://example.com/sms
        for url in ["https://example.com/sms", "https://example.com:443/sms"] {
            assert_eq!(verify(url, &params, with_port, TOKEN), Ok(()), "{url}");
            assert_eq!(verify(url, &params, without, TOKEN), Ok(()), "{url}");
        }
        assert_eq!(
            sign("https://example.com:443/sms", &params, TOKEN),
            with_port
        );
        // http adds 80, not 443.
        let sig443 = sign("http://example.com:443/sms", &params, TOKEN);
        assert_eq!(
            verify("http://example.com/sms", &params, &sig443, TOKEN),
            Err(SignatureError::Mismatch)
        );
        let sig80 = sign("http://example.com:80/sms", &params, TOKEN);
        assert_eq!(
            verify("http://example.com/sms", &params, &sig80, TOKEN),
            Ok(())
        );
        // A non-default port is also tried removed (as the SDKs do), never swapped.
        let sig8443 = sign("https://example.com:8443/sms", &params, TOKEN);
        assert_eq!(
            verify("https://example.com:8443/sms", &params, without, TOKEN),
            Ok(())
        );
        assert_eq!(
            verify("https://example.com:9443/sms", &params, &sig8443, TOKEN),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("https://example.com/sms", &params, &sig8443, TOKEN),
            Err(SignatureError::Mismatch)
        );
        // Other hosts and paths never match.
        assert_eq!(
            verify("https://example.org/sms", &params, without, TOKEN),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn url_spellings() {
        assert_eq!(
            url_variants("https://a.com"),
            ["https://a.com", "https://a.com:443"]
        );
        assert_eq!(
            url_variants("HTTPS://u:pw@a.com:443?x=1:2#f"),
            [
                "HTTPS://u:pw@a.com?x=1:2#f",
                "HTTPS://u:pw@a.com:443?x=1:2#f"
            ]
        );
        assert_eq!(
            url_variants("http://[::1]/x"),
            ["http://[::1]/x", "http://[::1]:80/x"]
        );
        assert_eq!(
            url_variants("http://[::1]:8080/x"),
            ["http://[::1]/x", "http://[::1]:8080/x"]
        );
        for odd in [
            "no-scheme",
            "http://a.com:/x",
            "http://a.com:99999/",
            "http://a:b:c/",
            "http://[::1/x",
            "://",
            "://a.com",
            "http:///x",
            "http://u@:80/",
        ] {
            assert_eq!(url_variants(odd), [odd], "{odd}");
        }
    }

    #[test]
    fn repeated_params() {
        // twilio-python 9.13.0, a MultiDict with To=[+2, +1, +2], Body=[hi]: it signs the
        // distinct values once each, sorted.
        let params = p(&[("To", "+2"), ("Body", "hi"), ("To", "+1"), ("To", "+2")]);
        let url = "https://example.com/sms";
        assert_eq!(
            verify(url, &params, "dprxFQ9Qsz9+VOnJ7tEFSs3dZAU=", TOKEN),
            Ok(())
        );
        // Every pair signed (our sim, twilio-node) is accepted too.
        let ours = sign(url, &params, TOKEN);
        assert_ne!(ours, "dprxFQ9Qsz9+VOnJ7tEFSs3dZAU=");
        assert_eq!(verify(url, &params, &ours, TOKEN), Ok(()));
        // Order of the request's pairs does not matter, values do.
        let reordered = p(&[("To", "+2"), ("To", "+2"), ("To", "+1"), ("Body", "hi")]);
        assert_eq!(verify(url, &reordered, &ours, TOKEN), Ok(()));
        let dropped = p(&[("To", "+2"), ("To", "+1"), ("Body", "hi")]);
        assert_eq!(
            verify(url, &dropped, &ours, TOKEN),
            Err(SignatureError::Mismatch)
        );
        let changed = p(&[("To", "+2"), ("To", "+3"), ("To", "+2"), ("Body", "hi")]);
        assert_eq!(
            verify(url, &changed, &ours, TOKEN),
            Err(SignatureError::Mismatch)
        );
        // Names and values are concatenated without separators, so the data signed for
        // a=b&ab= is URL + "abab": Twilio's scheme has no framing (documented, not a bug here).
        let x = p(&[("a", "b"), ("ab", "")]);
        assert_eq!(
            sign(url, &x, TOKEN),
            sign(&format!("{url}abab"), &[], TOKEN)
        );
    }

    #[test]
    fn json_bodies() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let (url, sig) = sign_json("https://example.com/hook?x=1", body, TOKEN);
        assert_eq!(
            url,
            "https://example.com/hook?x=1&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        );
        assert_eq!(verify_json(&url, body, &sig, TOKEN), Ok(()));
        assert_eq!(
            verify_json(&url, b"{}", &sig, TOKEN),
            Err(SignatureError::BodyHashMismatch)
        );
        assert_eq!(
            verify_json(&url, body, &sig, "other"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_json("https://example.com/hook?x=1", body, &sig, TOKEN),
            Err(SignatureError::Malformed(
                "URL has no bodySHA256 query parameter"
            ))
        );
        // Port spellings apply to JSON bodies too.
        let with_port = url.replacen("example.com", "example.com:443", 1);
        assert_eq!(verify_json(&with_port, body, &sig, TOKEN), Ok(()));
        // Uppercase hex in the URL is not what Twilio sends: the SDK compares strings.
        let upper = {
            let (u, h) = url.split_once("bodySHA256=").expect("param");
            format!("{u}bodySHA256={}", h.to_uppercase())
        };
        let upper_sig = sign(&upper, &[], TOKEN);
        assert_eq!(
            verify_json(&upper, body, &upper_sig, TOKEN),
            Err(SignatureError::BodyHashMismatch)
        );
    }

    #[test]
    fn header_and_token_errors() {
        let params = sdk_params();
        assert_eq!(
            verify(URL, &params, "", TOKEN),
            Err(SignatureError::MissingHeader(HEADER))
        );
        assert_eq!(
            verify(URL, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", ""),
            Err(SignatureError::InvalidSecret("empty Twilio auth token"))
        );
        for bad in [
            "RSOYDt4T1cUTdK1PDd93/VVr8B8",
            "RSOYDt4T1cUTdK1PDd93/VVr8B8==",
            "RSOYDt4T1cUTdK1PDd93/VVr8B9=",
            "AAAA",
            "!!!!!!!!!!!!!!!!!!!!!!!!!!!=",
        ] {
            assert!(
                matches!(
                    verify(URL, &params, bad, TOKEN),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad}"
            );
            // The body-free check a receiver runs first refuses the same headers.
            assert!(
                matches!(check_header(bad), Err(SignatureError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(check_header(""), Err(SignatureError::MissingHeader(HEADER)));
        assert_eq!(check_header("RSOYDt4T1cUTdK1PDd93/VVr8B8="), Ok(()));
    }

    /// A port is digits only: Rust's integer parser would take `+443`, a URL parser never.
    #[test]
    fn a_port_is_digits_only() {
        for url in [
            "https://example.com:+443/hook",
            "https://example.com:/hook",
            "https://example.com:44a/hook",
            "https://example.com:65536/hook",
        ] {
            assert!(split_port(url).is_none(), "{url}");
        }
        assert!(matches!(
            split_port("https://example.com:443/hook"),
            Some(PortSplit::Present {
                colon: 19,
                port_end: 23
            })
        ));
        assert!(matches!(
            split_port("https://example.com/hook"),
            Some(PortSplit::Absent { host_end: 19 })
        ));
    }

    #[test]
    fn form_bodies_decode_like_twilio_sends_them() {
        let got = form_params(b"Body=Hello+world%21&To=%2B15005550006&To=x&Empty=&Flag");
        assert_eq!(
            got,
            p(&[
                ("Body", "Hello world!"),
                ("To", "+15005550006"),
                ("To", "x"),
                ("Empty", ""),
                ("Flag", "")
            ])
        );
    }

    proptest! {
        #[test]
        fn round_trip(params in proptest::collection::vec(("[A-Za-z]{1,8}", "\\PC{0,12}"), 0..8),
                      token in "[a-f0-9]{32}", path in "[a-z/]{0,12}") {
            let params: Vec<(String, String)> = params;
            let url = format!("https://example.com/{path}");
            let sig = sign(&url, &params, token.as_str());
            prop_assert_eq!(verify(&url, &params, &sig, token.as_str()), Ok(()));
            let mut rev = params.clone();
            rev.reverse();
            prop_assert_eq!(verify(&url, &rev, &sig, token.as_str()), Ok(()));
        }

        #[test]
        fn any_value_change_is_rejected(params in proptest::collection::vec(("[A-Za-z]{1,8}", "[ -~]{1,12}"), 1..8),
                                        idx in any::<prop::sample::Index>(), extra in "[ -~]") {
            let params: Vec<(String, String)> = params;
            let sig = sign(URL, &params, TOKEN);
            let mut tampered = params.clone();
            let i = idx.index(tampered.len());
            tampered[i].1.push_str(&extra);
            prop_assert_eq!(verify(URL, &tampered, &sig, TOKEN), Err(SignatureError::Mismatch));
        }

        #[test]
        fn any_body_byte_flip_is_rejected(body in proptest::collection::vec(any::<u8>(), 1..256),
                                          idx in any::<prop::sample::Index>(), bit in 0u8..8) {
            let (url, sig) = sign_json("https://example.com/hook", &body, TOKEN);
            let mut tampered = body.clone();
            let i = idx.index(tampered.len());
            tampered[i] ^= 1 << bit;
            prop_assert_eq!(verify_json(&url, &tampered, &sig, TOKEN), Err(SignatureError::BodyHashMismatch));
        }
    }
}
