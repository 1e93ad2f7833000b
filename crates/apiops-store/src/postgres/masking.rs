//! Database URLs shown with their passwords masked ([`shown_url`]), every form a password in a
//! URL may take ([`url_passwords`], the needles error messages are scrubbed of), and the
//! scrubbing itself. Nothing here connects.
/// The URL with any password masked (in the user part and in any `password` parameter); a
/// URL that does not parse is not shown at all ([`UNPARSEABLE_URL`] instead), as it may hold a
/// password where it cannot be found. A URL without a password is shown as written.
pub fn shown_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return UNPARSEABLE_URL.to_owned();
    };
    if parsed.cannot_be_a_base() {
        // `sqlite::memory:` and the like hold no password; any other such "URL" (say
        // `postgres:user:pw@host`) might hold one where it cannot be found.
        return if parsed.scheme() == "sqlite" {
            url.to_owned()
        } else {
            UNPARSEABLE_URL.to_owned()
        };
    }
    let in_user = parsed.password().is_some();
    let in_query = query_segments(&parsed).any(|(k, _)| is_password_key(&k));
    if !in_user && !in_query {
        return url.to_owned();
    }
    if let Some(password) = parsed
        .password()
        .map(|p| apiops_core::mask(&percent_decode(p)))
        && parsed.set_password(Some(&password)).is_err()
    {
        return UNPARSEABLE_URL.to_owned();
    }
    if in_query {
        // Rebuilt segment by segment: only the password values change, the rest stays as
        // written.
        let query: Vec<String> = parsed
            .query()
            .unwrap_or_default()
            .split('&')
            .map(|segment| match segment.split_once('=') {
                Some((k, v)) if is_password_key(&form_decode(k)) => {
                    let masked = apiops_core::mask(&form_decode(v));
                    let masked: String =
                        url::form_urlencoded::byte_serialize(masked.as_bytes()).collect();
                    format!("{k}={masked}")
                }
                _ => segment.to_owned(),
            })
            .collect();
        parsed.set_query(Some(&query.join("&")));
    }
    parsed.to_string()
}

/// What [`shown_url`] shows of a URL that does not parse.
pub const UNPARSEABLE_URL: &str = "<unparseable database URL>";

/// Whether a query parameter holds a password (`password`, `sslpassword`, in any case).
fn is_password_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

/// The query's `key=value` segments, each as (decoded key, value as written).
fn query_segments(url: &url::Url) -> impl Iterator<Item = (String, &str)> {
    url.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|segment| segment.split_once('='))
        .map(|(k, v)| (form_decode(k), v))
}

/// A query component decoded (`+` is a space, then `%XX` escapes).
fn form_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

/// Every form a password in `url` may take (as written, percent-decoded), longest first: the
/// needles `scrub` masks in messages. Of a URL that does not parse, whatever follows the
/// user name and any `password=` value, as a best effort.
pub fn url_passwords(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    match url::Url::parse(url) {
        Ok(parsed) if !parsed.cannot_be_a_base() => {
            if let Some(p) = parsed.password() {
                out.push(p.to_owned());
                out.push(percent_decode(p));
            }
            for (k, v) in query_segments(&parsed) {
                if is_password_key(&k) {
                    out.push(v.to_owned());
                    out.push(form_decode(v));
                }
            }
        }
        _ => {
            // Unparseable, but it may still carry a password: hide whatever follows the user.
            let rest = match url.split_once("://") {
                Some((_, rest)) => rest,
                None => url.split_once(':').map_or(url, |(_, rest)| rest),
            };
            if let Some((userinfo, _)) = rest.rsplit_once('@')
                && let Some((_, p)) = userinfo.split_once(':')
            {
                out.push(p.to_owned());
            }
            for segment in url.split(['?', '&']) {
                if let Some((k, v)) = segment.split_once('=')
                    && is_password_key(k)
                {
                    out.push(v.to_owned());
                }
            }
        }
    }
    out.retain(|p| !p.is_empty());
    out.sort();
    out.dedup();
    out.sort_by_key(|p| std::cmp::Reverse(p.len()));
    out
}

/// `%XX` escapes decoded (invalid escapes and invalid UTF-8 kept as they are, lossily).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            // Two hex digits: at most 255.
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `message` with every occurrence of a secret masked.
pub(super) fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_owned();
    for s in secrets {
        out = out.replace(s.as_str(), &apiops_core::mask(s));
    }
    out
}
