//! Paging through list endpoints as streams: items arrive one by one and the next page is
//! fetched only once the consumer has drained the current one, so a listing never sits whole in
//! memory.
//!
//! The page shapes of the providers we speak to (Stripe, OpenAI, Twilio, plain page numbers) are
//! read by a pure function, [`read_page`], that turns one page's JSON and the request that
//! fetched it into the items and the next request; [`pages`] and [`paginate`] only wire it to
//! an [`ApiClient`]. This module does not throttle or split time ranges (the client's middleware
//! retries, times out and hedges each page request; [`crate::windows`] fans a range out into
//! windows); it only asks for a page again, by its cursor, when the body arrived cut short (the
//! middleware never sees bodies) or the page still failed transiently after the client's retries.

use std::fmt;

use futures::stream::{self, Stream, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use url::Url;

use crate::client::ApiClient;
use crate::error::ClientError;
use crate::redact::display_target;

/// How a list endpoint hands out its pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStyle {
    /// Stripe: items in `data`, `has_more`, and the next page asked for with
    /// `starting_after=<id of the last item>`.
    Stripe,
    /// OpenAI: items in `data`, `has_more`, and the next page asked for with `after=<last_id>`,
    /// or the last item's `id` on endpoints that do not send `last_id`.
    OpenAi,
    /// Twilio's 2010 API: items under a resource key (`messages`, `calls`...) and the next page
    /// as a host-relative URI in `next_page_uri`, `null` on the last page.
    TwilioNextPageUri {
        /// The key holding the page's items, e.g. `messages`.
        items_key: String,
    },
    /// Twilio's v1 APIs (Monitor, Verify...): items under a resource key (`alerts`...) and the
    /// next page as an absolute URL in `meta.next_page_url`, `null` on the last page.
    TwilioMeta {
        /// The key holding the page's items, e.g. `alerts`.
        items_key: String,
    },
    /// Numbered pages: `param=first`, `first + 1`... until an empty page, or until the page
    /// number reaches a top-level `total_pages` when the server sends one.
    PageNumber {
        /// The query parameter carrying the page number, usually `page`.
        param: String,
        /// The number of the first page (1 on most APIs, 0 on some).
        first: u64,
        /// The key holding the page's items.
        items_key: String,
    },
}

impl PageStyle {
    /// Twilio's 2010 API with items under `items_key`.
    pub fn twilio(items_key: &str) -> Self {
        PageStyle::TwilioNextPageUri {
            items_key: items_key.to_owned(),
        }
    }

    /// Numbered pages in a `page` parameter starting at 1, items under `items_key`.
    pub fn page_number(items_key: &str) -> Self {
        PageStyle::PageNumber {
            param: "page".to_owned(),
            first: 1,
            items_key: items_key.to_owned(),
        }
    }

    /// The request for the first page.
    pub fn first_cursor(&self) -> Cursor {
        match self {
            PageStyle::PageNumber { param, first, .. } => Cursor::Param {
                name: param.clone(),
                value: first.to_string(),
            },
            _ => Cursor::Start,
        }
    }
}

/// Which page to ask for: what [`read_page`] derives from one page to fetch the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The caller's path and query, unchanged: the first page of cursor-based styles.
    Start,
    /// The caller's path and query with `name=value` set, replacing any `name` the caller gave
    /// (so a caller can resume from a saved cursor).
    Param {
        /// The query parameter, e.g. `starting_after`.
        name: String,
        /// Its value, e.g. the id of the last item seen.
        value: String,
    },
    /// A URL the server handed out, carrying its own query: absolute, or relative to the host
    /// (Twilio's `/2010-04-01/...`).
    Url(String),
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cursor::Start => f.write_str("(first page)"),
            Cursor::Param { name, value } => write!(f, "{name}={value}"),
            Cursor::Url(url) => f.write_str(url),
        }
    }
}

/// Why a page cannot be read, or its next page followed: the reason of a
/// [`ClientError::Decode`] (the page's shape is wrong; asking again would not help).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// The body is not a JSON object.
    #[error("expected a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// A field the style reads is absent.
    #[error("missing `{0}`")]
    Missing(String),
    /// A field the style reads has another JSON type.
    #[error("`{field}` is {is}, not {want}")]
    WrongType {
        /// The field.
        field: String,
        /// The JSON type it has.
        is: &'static str,
        /// The type the style needs.
        want: &'static str,
    },
    /// `has_more` is true, but nothing names where the next page starts.
    #[error(
        "has_more is true but nothing names where the next page starts (no last_id, no id on the last item)"
    )]
    NoIdToContinue,
    /// A page number that is not one, or has no successor.
    #[error("page number {0:?} is not a number that can be followed")]
    PageNumber(String),
    /// The server handed out the cursor it was asked with: paging would never end.
    #[error("the server handed out the cursor {0} again; stopping instead of looping")]
    CursorRepeated(String),
    /// A next-page link that is not a URL.
    #[error("next page link {link:?}: {source}")]
    BadLink {
        /// The link up to its query (a query may carry a token), at most 200 characters.
        link: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// A next-page link to another origin, which the client's credentials must not follow.
    #[error("next page link points to {to}, away from {from}")]
    OffOrigin {
        /// The link's origin.
        to: String,
        /// The first page's origin.
        from: String,
    },
}

/// One page as read by [`read_page`].
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page's items, in the server's order.
    pub items: Vec<Value>,
    /// The request for the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Reads one page's JSON `body`, fetched with `cursor`, in `style`: its items and the request
/// for the next page.
///
/// The error is the reason the body does not fit the style, for a [`ClientError::Decode`]. A
/// next cursor equal to `cursor` is an error too: a server that hands out the same cursor
/// forever would otherwise be paged forever.
pub fn read_page(style: &PageStyle, cursor: &Cursor, body: Value) -> Result<Page, PageError> {
    let Value::Object(mut body) = body else {
        return Err(PageError::NotAnObject(json_kind(&body)));
    };
    let (items, next) = match style {
        PageStyle::Stripe => {
            let items = take_items(&mut body, "data")?;
            let next = if has_more(&body)? {
                let id = last_item_id(&items).ok_or(PageError::NoIdToContinue)?;
                Some(Cursor::Param {
                    name: "starting_after".to_owned(),
                    value: id,
                })
            } else {
                None
            };
            (items, next)
        }
        PageStyle::OpenAi => {
            let items = take_items(&mut body, "data")?;
            let next = if has_more(&body)? {
                let id = match body.get("last_id") {
                    Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
                    _ => last_item_id(&items),
                }
                .ok_or(PageError::NoIdToContinue)?;
                Some(Cursor::Param {
                    name: "after".to_owned(),
                    value: id,
                })
            } else {
                None
            };
            (items, next)
        }
        PageStyle::TwilioNextPageUri { items_key } => {
            let items = take_items(&mut body, items_key)?;
            let next = next_link(body.get("next_page_uri"), "next_page_uri")?;
            (items, next)
        }
        PageStyle::TwilioMeta { items_key } => {
            let items = take_items(&mut body, items_key)?;
            let meta = body
                .get("meta")
                .ok_or_else(|| PageError::Missing("meta".to_owned()))?;
            let next = next_link(meta.get("next_page_url"), "meta.next_page_url")?;
            (items, next)
        }
        PageStyle::PageNumber {
            param,
            first,
            items_key,
        } => {
            let items = take_items(&mut body, items_key)?;
            let current = match cursor {
                Cursor::Param { name, value } if name == param => value
                    .parse::<u64>()
                    .map_err(|_| PageError::PageNumber(value.clone()))?,
                _ => *first,
            };
            let total = body.get("total_pages").and_then(Value::as_u64);
            let next = if items.is_empty() || total.is_some_and(|t| current >= t) {
                None
            } else {
                let following = current
                    .checked_add(1)
                    .ok_or_else(|| PageError::PageNumber(current.to_string()))?;
                Some(Cursor::Param {
                    name: param.clone(),
                    value: following.to_string(),
                })
            };
            (items, next)
        }
    };
    if next.as_ref() == Some(cursor) {
        return Err(PageError::CursorRepeated(cursor.to_string()));
    }
    Ok(Page { items, next })
}

/// The query for a page request: the caller's `base` query, with the cursor's parameter set
/// when it has one. A [`Cursor::Url`] carries its own query, so it gets none.
pub fn page_query(base: &[(String, String)], cursor: &Cursor) -> Vec<(String, String)> {
    match cursor {
        Cursor::Start => base.to_vec(),
        Cursor::Param { name, value } => base
            .iter()
            .filter(|(k, _)| k != name)
            .cloned()
            .chain(std::iter::once((name.clone(), value.clone())))
            .collect(),
        Cursor::Url(_) => Vec::new(),
    }
}

/// What an error may show of a link that does not parse: its path, no query or fragment (they
/// may carry a token), capped.
fn shown_link(link: &str) -> String {
    let cut = link.find(['?', '#']).unwrap_or(link.len());
    let mut shown: String = link[..cut].chars().take(200).collect();
    if shown.len() < link.len() {
        shown.push('…');
    }
    shown
}

/// The URL a page is fetched from. `first` is the first page's URL: a server-provided URL must
/// stay on its origin, so a forged `next_page_url` cannot lead the client (and its credentials)
/// to another host. Host-relative URIs resolve against `first`.
pub fn page_url(first: &Url, base: &Url, cursor: &Cursor) -> Result<Url, PageError> {
    let Cursor::Url(link) = cursor else {
        return Ok(first.clone());
    };
    // A host-relative link (Twilio's `next_page_uri`) is relative to the API's base, as the
    // official SDKs treat it: behind a path prefix (a proxy, the simulator) the prefix stays.
    let base_path = base.path().trim_end_matches('/');
    let url = if link.starts_with('/')
        && !base_path.is_empty()
        && !link.starts_with(&format!("{base_path}/"))
    {
        base.join(&format!("{base_path}{link}"))
    } else {
        first.join(link)
    }
    .map_err(|source| PageError::BadLink {
        link: shown_link(link),
        source,
    })?;
    if url.origin() != first.origin() {
        return Err(PageError::OffOrigin {
            to: url.origin().ascii_serialization(),
            from: first.origin().ascii_serialization(),
        });
    }
    Ok(url)
}

/// Streams the items of a list endpoint, one by one, across all its pages.
///
/// `path` is a path under the client's base URL (or an absolute URL), `query` the caller's
/// parameters (page size, filters), kept on every page request of the parameter styles. Pages
/// are fetched lazily: the next one only when the consumer has drained the current one. On a
/// failure the stream yields the error and ends.
pub fn paginate<T>(
    client: ApiClient,
    path: String,
    query: Vec<(String, String)>,
    style: PageStyle,
) -> impl Stream<Item = Result<T, ClientError>> + Send
where
    T: DeserializeOwned + Send + 'static,
{
    pages::<T>(client, path, query, style)
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
}

/// Like [`paginate`], but yields whole pages, for callers that write a page at a time. Empty
/// pages (the one that ends page-number listings) are skipped.
pub fn pages<T>(
    client: ApiClient,
    path: String,
    query: Vec<(String, String)>,
    style: PageStyle,
) -> impl Stream<Item = Result<Vec<T>, ClientError>> + Send
where
    T: DeserializeOwned + Send + 'static,
{
    let listing = Listing {
        client,
        path,
        query,
        style,
    };
    let first = listing.style.first_cursor();
    stream::try_unfold((listing, Some(first)), |(listing, cursor)| async move {
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        let (items, next) = listing.fetch::<T>(&cursor).await?;
        Ok(Some((items, (listing, next))))
    })
    .try_filter(|items| futures::future::ready(!items.is_empty()))
}

/// Times a page is asked for, the first included, when it keeps failing in a way another try
/// can fix (see `worth_another_try`). Each of them is a request with the client's own
/// retries.
pub const PAGE_ATTEMPTS: u32 = 3;

/// Whether a failed page request is worth sending again: JSON that does not parse (a body cut
/// short), a transport failure, or a 5xx. Not a page of the wrong shape (that would fail the
/// same way), a 4xx (a 429 whose wait is longer than the client agreed to block for stays an
/// error, as the retry policy says), or an open circuit.
fn worth_another_try(e: &ClientError) -> bool {
    match e {
        ClientError::Decode { .. } | ClientError::Transport { .. } => true,
        ClientError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}

/// What every page request of one listing shares.
#[derive(Debug)]
struct Listing {
    client: ApiClient,
    path: String,
    query: Vec<(String, String)>,
    style: PageStyle,
}

impl Listing {
    /// Fetches and decodes the page `cursor` names.
    async fn fetch<T: DeserializeOwned>(
        &self,
        cursor: &Cursor,
    ) -> Result<(Vec<T>, Option<Cursor>), ClientError> {
        let first = self.client.url(&self.path)?;
        let decode = |target: String, reason: String| ClientError::Decode {
            method: Method::GET.to_string(),
            target,
            reason,
        };
        let url = page_url(&first, self.client.base_url(), cursor)
            .map_err(|r| decode(display_target(&first), r.to_string()))?;
        let target = display_target(&url);
        let query = page_query(&self.query, cursor);
        // A page named by its cursor can be asked for again: a body cut short (a 200 whose JSON
        // ends early, or a connection lost mid-body), which the client's retries never see, and
        // a page that still failed after them (a provider failing a third of its requests), so
        // one bad page does not end the listing.
        let mut attempt = 1;
        let body: Value = loop {
            let mut rb = self.client.request(Method::GET, url.as_str())?;
            if !query.is_empty() {
                rb = rb.query(&query);
            }
            match self.client.send_json(rb).await {
                Ok(body) => break body,
                Err(e) if attempt < PAGE_ATTEMPTS && worth_another_try(&e) => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        let page = read_page(&self.style, cursor, body)
            .map_err(|r| decode(target.clone(), r.to_string()))?;
        let items = page
            .items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                serde_json::from_value(item)
                    .map_err(|e| decode(target.clone(), format!("item {i} of the page: {e}")))
            })
            .collect::<Result<Vec<T>, _>>()?;
        Ok((items, page.next))
    }
}

/// Removes and returns the array under `key`.
fn take_items(body: &mut Map<String, Value>, key: &str) -> Result<Vec<Value>, PageError> {
    match body.remove(key) {
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(PageError::WrongType {
            field: key.to_owned(),
            is: json_kind(&other),
            want: "an array",
        }),
        None => Err(PageError::Missing(key.to_owned())),
    }
}

/// Stripe's and OpenAI's `has_more`; missing is an error rather than "no more", so a changed
/// shape never silently truncates a listing.
fn has_more(body: &Map<String, Value>) -> Result<bool, PageError> {
    match body.get("has_more") {
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(PageError::WrongType {
            field: "has_more".to_owned(),
            is: json_kind(other),
            want: "a boolean",
        }),
        None => Err(PageError::Missing("has_more".to_owned())),
    }
}

/// The `id` of the last item, as a string (numeric ids are accepted too).
fn last_item_id(items: &[Value]) -> Option<String> {
    match items.last()?.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A next-page link field: a non-empty string continues, `null`, absent or empty ends.
fn next_link(field: Option<&Value>, name: &str) -> Result<Option<Cursor>, PageError> {
    match field {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(Cursor::Url(s.clone()))),
        Some(other) => Err(PageError::WrongType {
            field: name.to_owned(),
            is: json_kind(other),
            want: "a string",
        }),
    }
}

/// What kind of JSON value `v` is, as an error message names it ("a string", "an array"...).
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Json;
    use axum::Router;
    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    use axum::routing::get;
    use futures::StreamExt;
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn param(name: &str, value: &str) -> Cursor {
        Cursor::Param {
            name: name.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn reads_each_style_table() {
        let page_n = PageStyle::page_number("results");
        let twilio = PageStyle::twilio("messages");
        let twilio_v1 = PageStyle::TwilioMeta {
            items_key: "alerts".to_owned(),
        };
        let cases: Vec<(&str, &PageStyle, Cursor, Value, Option<Cursor>)> = vec![
            (
                "stripe continues from the last id",
                &PageStyle::Stripe,
                Cursor::Start,
                json!({"object": "list", "data": [{"id": "ch_1"}, {"id": "ch_2"}], "has_more": true}),
                Some(param("starting_after", "ch_2")),
            ),
            (
                "stripe ends without has_more",
                &PageStyle::Stripe,
                param("starting_after", "ch_2"),
                json!({"data": [{"id": "ch_3"}], "has_more": false}),
                None,
            ),
            (
                "openai prefers last_id",
                &PageStyle::OpenAi,
                Cursor::Start,
                json!({"data": [{"id": "a"}, {"id": "b"}], "first_id": "a", "last_id": "zz", "has_more": true}),
                Some(param("after", "zz")),
            ),
            (
                "openai falls back to the last item id",
                &PageStyle::OpenAi,
                Cursor::Start,
                json!({"data": [{"id": "a"}, {"id": "b"}], "has_more": true}),
                Some(param("after", "b")),
            ),
            (
                "openai ends",
                &PageStyle::OpenAi,
                param("after", "b"),
                json!({"data": [], "last_id": null, "has_more": false}),
                None,
            ),
            (
                "twilio follows next_page_uri",
                &twilio,
                Cursor::Start,
                json!({"messages": [{"sid": "SM1"}], "next_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?Page=1&PageToken=PA1"}),
                Some(Cursor::Url(
                    "/2010-04-01/Accounts/AC1/Messages.json?Page=1&PageToken=PA1".to_owned(),
                )),
            ),
            (
                "twilio ends on null",
                &twilio,
                Cursor::Url("/x?Page=1".to_owned()),
                json!({"messages": [{"sid": "SM2"}], "next_page_uri": null}),
                None,
            ),
            (
                "twilio v1 follows meta.next_page_url",
                &twilio_v1,
                Cursor::Start,
                json!({"alerts": [{"sid": "NO1"}], "meta": {"next_page_url": "https://monitor.twilio.com/v1/Alerts?Page=1", "page": 0}}),
                Some(Cursor::Url(
                    "https://monitor.twilio.com/v1/Alerts?Page=1".to_owned(),
                )),
            ),
            (
                "twilio v1 ends on null",
                &twilio_v1,
                Cursor::Start,
                json!({"alerts": [], "meta": {"next_page_url": null}}),
                None,
            ),
            (
                "page numbers continue without total_pages",
                &page_n,
                page_n.first_cursor(),
                json!({"results": [1, 2]}),
                Some(param("page", "2")),
            ),
            (
                "page numbers continue below total_pages",
                &page_n,
                param("page", "2"),
                json!({"results": [1], "total_pages": 3}),
                Some(param("page", "3")),
            ),
            (
                "page numbers stop at total_pages",
                &page_n,
                param("page", "3"),
                json!({"results": [1], "total_pages": 3}),
                None,
            ),
            (
                "page numbers stop on an empty page",
                &page_n,
                param("page", "4"),
                json!({"results": []}),
                None,
            ),
        ];
        for (name, style, cursor, body, want) in cases {
            let page = read_page(style, &cursor, body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(page.next, want, "{name}");
        }
    }

    #[test]
    fn rejects_malformed_pages_table() {
        let cases: Vec<(&str, PageStyle, Cursor, Value, &str)> = vec![
            (
                "not an object",
                PageStyle::Stripe,
                Cursor::Start,
                json!([1]),
                "JSON object",
            ),
            (
                "no data",
                PageStyle::Stripe,
                Cursor::Start,
                json!({"has_more": false}),
                "missing `data`",
            ),
            (
                "data not an array",
                PageStyle::OpenAi,
                Cursor::Start,
                json!({"data": {}, "has_more": false}),
                "not an array",
            ),
            (
                "no has_more",
                PageStyle::Stripe,
                Cursor::Start,
                json!({"data": []}),
                "has_more",
            ),
            (
                "has_more without an id",
                PageStyle::Stripe,
                Cursor::Start,
                json!({"data": [{"name": "x"}], "has_more": true}),
                "no id",
            ),
            (
                "has_more on an empty page",
                PageStyle::OpenAi,
                Cursor::Start,
                json!({"data": [], "has_more": true}),
                "no last_id",
            ),
            (
                "repeated stripe cursor",
                PageStyle::Stripe,
                param("starting_after", "ch_9"),
                json!({"data": [{"id": "ch_9"}], "has_more": true}),
                "starting_after=ch_9 again",
            ),
            (
                "repeated twilio uri",
                PageStyle::twilio("calls"),
                Cursor::Url("/p?Page=2".to_owned()),
                json!({"calls": [{}], "next_page_uri": "/p?Page=2"}),
                "/p?Page=2 again",
            ),
            (
                "twilio v1 without meta",
                PageStyle::TwilioMeta {
                    items_key: "alerts".to_owned(),
                },
                Cursor::Start,
                json!({"alerts": []}),
                "missing `meta`",
            ),
            (
                "non-numeric page",
                PageStyle::page_number("data"),
                param("page", "two"),
                json!({"data": [1]}),
                "not a number",
            ),
        ];
        for (name, style, cursor, body, want) in cases {
            match read_page(&style, &cursor, body) {
                Ok(page) => panic!("{name}: accepted, next {:?}", page.next),
                Err(reason) => assert!(reason.to_string().contains(want), "{name}: {reason}"),
            }
        }
    }

    #[test]
    fn page_query_sets_the_cursor_parameter_once() {
        let base = vec![
            ("limit".to_owned(), "10".to_owned()),
            ("starting_after".to_owned(), "old".to_owned()),
        ];
        assert_eq!(page_query(&base, &Cursor::Start), base);
        assert_eq!(
            page_query(&base, &param("starting_after", "new")),
            vec![
                ("limit".to_owned(), "10".to_owned()),
                ("starting_after".to_owned(), "new".to_owned()),
            ]
        );
        assert!(page_query(&base, &Cursor::Url("/x?a=1".to_owned())).is_empty());
    }

    #[test]
    fn page_url_keeps_the_base_path_prefix() {
        let base = Url::parse("http://127.0.0.1:9/twilio/api").expect("url");
        let first =
            Url::parse("http://127.0.0.1:9/twilio/api/2010-04-01/Accounts/AC1/Messages.json")
                .expect("url");
        let next = Cursor::Url("/2010-04-01/Accounts/AC1/Messages.json?PageToken=PA1".to_owned());
        assert_eq!(
            page_url(&first, &base, &next).expect("url").as_str(),
            "http://127.0.0.1:9/twilio/api/2010-04-01/Accounts/AC1/Messages.json?PageToken=PA1"
        );
        // A link that already carries the prefix is not prefixed twice.
        let already = Cursor::Url("/twilio/api/2010-04-01/x.json".to_owned());
        assert_eq!(
            page_url(&first, &base, &already).expect("url").as_str(),
            "http://127.0.0.1:9/twilio/api/2010-04-01/x.json"
        );
    }

    #[test]
    fn page_url_resolves_links_and_stays_on_the_origin() {
        let first = Url::parse("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json")
            .expect("url");
        let cases = [
            (
                Cursor::Start,
                Ok("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"),
            ),
            (
                Cursor::Url("/2010-04-01/Accounts/AC1/Messages.json?Page=1".to_owned()),
                Ok("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?Page=1"),
            ),
            (
                Cursor::Url("https://api.twilio.com/v1/Alerts?Page=1".to_owned()),
                Ok("https://api.twilio.com/v1/Alerts?Page=1"),
            ),
            (
                Cursor::Url("https://evil.example/steal".to_owned()),
                Err("away from https://api.twilio.com"),
            ),
            (
                Cursor::Url("http://api.twilio.com/x".to_owned()),
                Err("away from"),
            ),
        ];
        for (cursor, want) in cases {
            let base = Url::parse("https://api.twilio.com").expect("url");
            match (page_url(&first, &base, &cursor), want) {
                (Ok(url), Ok(w)) => assert_eq!(url.as_str(), w),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e}"),
                (got, want) => panic!("{cursor}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_bad_link_is_named_without_its_query() {
        let first = Url::parse("https://api.example.com/v1/items").expect("url");
        let canary = "tok_CANARY_0123456789";
        let link = format!("http://[::1/v1/items?page_token={canary}");
        let e = page_url(&first, &first, &Cursor::Url(link)).expect_err("bad link");
        let text = e.to_string();
        assert!(matches!(e, PageError::BadLink { .. }), "{e:?}");
        assert!(text.contains("http://[::1/v1/items…"), "{text}");
        assert!(!text.contains(canary), "{text}");
        assert!(!format!("{e:?}").contains(canary), "{e:?}");
    }

    /// What a server of `style` answers for `cursor` over `items`, `size` per page.
    fn simulate(
        style: &PageStyle,
        items: &[Value],
        size: usize,
        cursor: &Cursor,
        flag: bool,
    ) -> Value {
        let after_id = |id: &str| {
            items
                .iter()
                .position(|it| it["id"] == id)
                .map_or(items.len(), |i| i + 1)
        };
        let page_of = |from: usize| {
            let to = (from + size).min(items.len());
            (items[from.min(to)..to].to_vec(), to < items.len(), to)
        };
        match (style, cursor) {
            (PageStyle::Stripe | PageStyle::OpenAi, _) => {
                let from = match cursor {
                    Cursor::Param { value, .. } => after_id(value),
                    _ => 0,
                };
                let (data, more, _) = page_of(from);
                let mut body = json!({"object": "list", "data": data, "has_more": more});
                if *style == PageStyle::OpenAi && flag {
                    body["last_id"] = data.last().map_or(Value::Null, |it| it["id"].clone());
                }
                body
            }
            (PageStyle::TwilioNextPageUri { items_key }, _)
            | (PageStyle::TwilioMeta { items_key }, _) => {
                let page: usize = match cursor {
                    Cursor::Url(u) => u
                        .split("Page=")
                        .nth(1)
                        .and_then(|p| p.split('&').next())
                        .and_then(|p| p.parse().ok())
                        .expect("page in uri"),
                    _ => 0,
                };
                let (data, more, _) = page_of(page * size);
                let link = more.then(|| {
                    format!("/2010-04-01/Accounts/AC1/X.json?PageSize={size}&Page={}&PageToken=PA{page}", page + 1)
                });
                if matches!(style, PageStyle::TwilioMeta { .. }) {
                    let link = link.map(|l| format!("https://monitor.twilio.com{l}"));
                    json!({items_key.as_str(): data, "meta": {"page": page, "next_page_url": link}})
                } else {
                    json!({items_key.as_str(): data, "next_page_uri": link, "page": page})
                }
            }
            (
                PageStyle::PageNumber {
                    first, items_key, ..
                },
                Cursor::Param { value, .. },
            ) => {
                let n: u64 = value.parse().expect("page number");
                let index = usize::try_from(n - first).expect("index");
                let (data, _, _) = page_of(index * size);
                let mut body = json!({items_key.as_str(): data});
                if flag {
                    body["total_pages"] = json!(items.len().div_ceil(size));
                }
                body
            }
            (PageStyle::PageNumber { .. }, _) => panic!("page numbers always send a number"),
        }
    }

    fn style_strategy() -> impl Strategy<Value = PageStyle> {
        prop_oneof![
            Just(PageStyle::Stripe),
            Just(PageStyle::OpenAi),
            Just(PageStyle::twilio("messages")),
            Just(PageStyle::TwilioMeta {
                items_key: "alerts".to_owned()
            }),
            (0u64..2).prop_map(|first| PageStyle::PageNumber {
                param: "page".to_owned(),
                first,
                items_key: "results".to_owned(),
            }),
        ]
    }

    proptest! {
        #[test]
        fn paging_yields_every_item_once_in_order(
            style in style_strategy(),
            n in 0usize..60,
            size in 1usize..12,
            flag in any::<bool>(),
        ) {
            let items: Vec<Value> = (0..n).map(|i| json!({"id": format!("it_{i}")})).collect();
            let mut cursor = style.first_cursor();
            let mut seen = Vec::new();
            let mut requests = 0;
            loop {
                requests += 1;
                prop_assert!(requests <= n / size + 2, "too many requests");
                let body = simulate(&style, &items, size, &cursor, flag);
                let page = read_page(&style, &cursor, body).map_err(|e| TestCaseError::fail(e.to_string()))?;
                seen.extend(page.items);
                match page.next {
                    Some(next) => cursor = next,
                    None => break,
                }
            }
            prop_assert_eq!(seen, items);
        }
    }

    /// The test server's state: the listing served and how many page requests it answered.
    #[derive(Clone)]
    struct Served {
        items: Arc<Vec<Value>>,
        hits: Arc<AtomicUsize>,
    }

    type Params = Query<HashMap<String, String>>;

    async fn stripe_list(State(s): State<Served>, Query(q): Params) -> Json<Value> {
        s.hits.fetch_add(1, Ordering::SeqCst);
        let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10);
        let from = q.get("starting_after").map_or(0, |id| {
            s.items
                .iter()
                .position(|it| it["id"] == id.as_str())
                .map_or(0, |i| i + 1)
        });
        let to = (from + limit).min(s.items.len());
        Json(json!({"object": "list", "data": &s.items[from..to], "has_more": to < s.items.len()}))
    }

    async fn twilio_list(State(s): State<Served>, Query(q): Params) -> Json<Value> {
        s.hits.fetch_add(1, Ordering::SeqCst);
        let size: usize = q.get("PageSize").and_then(|l| l.parse().ok()).unwrap_or(50);
        let page: usize = q.get("Page").and_then(|l| l.parse().ok()).unwrap_or(0);
        let from = (page * size).min(s.items.len());
        let to = (from + size).min(s.items.len());
        let next = (to < s.items.len()).then(|| {
            format!(
                "/2010-04-01/Accounts/AC1/Messages.json?PageSize={size}&Page={}&PageToken=PA{to}",
                page + 1
            )
        });
        Json(json!({"messages": &s.items[from..to], "next_page_uri": next}))
    }

    async fn stuck_list(State(s): State<Served>) -> Json<Value> {
        s.hits.fetch_add(1, Ordering::SeqCst);
        Json(json!({"data": [{"id": "loop"}], "has_more": true}))
    }

    async fn failing_second_page(
        State(s): State<Served>,
        Query(q): Params,
    ) -> (StatusCode, Json<Value>) {
        s.hits.fetch_add(1, Ordering::SeqCst);
        if q.contains_key("starting_after") {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"message": "bad cursor"}})),
            );
        }
        (
            StatusCode::OK,
            Json(json!({"data": [{"id": "a"}, {"id": "b"}], "has_more": true})),
        )
    }

    /// Every other answer is a 200 whose JSON is cut short; the others are `stripe_list`'s.
    async fn cut_short_every_other(State(s): State<Served>, q: Params) -> axum::response::Response {
        use axum::response::IntoResponse;
        if s.hits.load(Ordering::SeqCst) % 2 == 0 {
            s.hits.fetch_add(1, Ordering::SeqCst);
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"data\": [{\"id\": \"trunc",
            )
                .into_response();
        }
        stripe_list(State(s), q).await.into_response()
    }

    async fn always_cut_short(State(s): State<Served>) -> (StatusCode, &'static str) {
        s.hits.fetch_add(1, Ordering::SeqCst);
        (StatusCode::OK, "{\"data\": [")
    }

    async fn serve(items: usize) -> (SocketAddr, Served) {
        let served = Served {
            items: Arc::new(
                (0..items)
                    .map(|i| json!({"id": format!("it_{i}"), "n": i}))
                    .collect(),
            ),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let app = Router::new()
            .route("/v1/items", get(stripe_list))
            .route("/2010-04-01/Accounts/AC1/Messages.json", get(twilio_list))
            .route("/v1/stuck", get(stuck_list))
            .route("/v1/failing", get(failing_second_page))
            .route("/v1/cut-short", get(cut_short_every_other))
            .route("/v1/always-cut-short", get(always_cut_short))
            .with_state(served.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (addr, served)
    }

    fn client(base: String) -> ApiClient {
        ApiClient::builder("pagination-test", &base)
            .build()
            .expect("client")
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Item {
        id: String,
        n: usize,
    }

    fn limit(n: usize) -> Vec<(String, String)> {
        vec![("limit".to_owned(), n.to_string())]
    }

    #[tokio::test]
    async fn paginate_streams_every_stripe_item_in_order() {
        let (addr, served) = serve(7).await;
        let c = client(format!("http://{addr}/v1"));
        let got: Vec<Item> = paginate(c, "/items".to_owned(), limit(3), PageStyle::Stripe)
            .try_collect()
            .await
            .expect("listing");
        let ns: Vec<usize> = got.iter().map(|it| it.n).collect();
        assert_eq!(ns, (0..7).collect::<Vec<_>>());
        assert_eq!(served.hits.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn paginate_fetches_the_next_page_only_when_drained() {
        let (addr, served) = serve(9).await;
        let c = client(format!("http://{addr}/v1"));
        let stream = paginate::<Item>(c, "/items".to_owned(), limit(3), PageStyle::Stripe);
        futures::pin_mut!(stream);
        assert_eq!(
            served.hits.load(Ordering::SeqCst),
            0,
            "nothing before the first poll"
        );
        for want in 0..3 {
            let item = stream.next().await.expect("item").expect("ok");
            assert_eq!(item.n, want);
            assert_eq!(served.hits.load(Ordering::SeqCst), 1);
        }
        let item = stream.next().await.expect("item").expect("ok");
        assert_eq!(item.n, 3);
        assert_eq!(served.hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn pages_follow_twilio_host_relative_uris() {
        let (addr, served) = serve(5).await;
        // The base path is a prefix of the next_page_uri: resolving it under the base path
        // would double it.
        let c = client(format!("http://{addr}/2010-04-01"));
        let query = vec![("PageSize".to_owned(), "2".to_owned())];
        let got: Vec<Vec<Item>> = pages(
            c,
            "/Accounts/AC1/Messages.json".to_owned(),
            query,
            PageStyle::twilio("messages"),
        )
        .try_collect()
        .await
        .expect("listing");
        let sizes: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        assert_eq!(got[2][0].n, 4);
        assert_eq!(served.hits.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn paginate_stops_on_a_repeated_cursor() {
        let (addr, served) = serve(0).await;
        let c = client(format!("http://{addr}/v1"));
        let got: Vec<Result<Value, ClientError>> =
            paginate(c, "/stuck".to_owned(), Vec::new(), PageStyle::Stripe)
                .collect()
                .await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].is_ok());
        match &got[1] {
            Err(ClientError::Decode { reason, target, .. }) => {
                assert!(reason.contains("starting_after=loop"), "{reason}");
                assert!(target.ends_with("/v1/stuck"), "{target}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        assert_eq!(served.hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn paginate_yields_the_error_and_ends() {
        let (addr, _served) = serve(0).await;
        let c = client(format!("http://{addr}/v1"));
        let got: Vec<Result<Value, ClientError>> =
            paginate(c, "/failing".to_owned(), Vec::new(), PageStyle::Stripe)
                .collect()
                .await;
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].is_ok() && got[1].is_ok());
        assert_eq!(
            got[2].as_ref().err().and_then(ClientError::status),
            Some(400)
        );
    }

    #[tokio::test]
    async fn a_page_cut_short_is_fetched_again_from_its_cursor() {
        let (addr, served) = serve(7).await;
        let c = client(format!("http://{addr}/v1"));
        let got: Vec<Item> = paginate(c, "/cut-short".to_owned(), limit(3), PageStyle::Stripe)
            .try_collect()
            .await
            .expect("every page read on its second try");
        let ns: Vec<usize> = got.iter().map(|it| it.n).collect();
        assert_eq!(ns, (0..7).collect::<Vec<_>>());
        assert_eq!(served.hits.load(Ordering::SeqCst), 6, "each page twice");
    }

    #[tokio::test]
    async fn a_page_always_cut_short_fails_after_its_attempts() {
        let (addr, served) = serve(0).await;
        let c = client(format!("http://{addr}/v1"));
        let got: Vec<Result<Value, ClientError>> = paginate(
            c,
            "/always-cut-short".to_owned(),
            Vec::new(),
            PageStyle::Stripe,
        )
        .collect()
        .await;
        assert_eq!(got.len(), 1);
        assert!(matches!(got[0], Err(ClientError::Decode { .. })), "{got:?}");
        assert_eq!(served.hits.load(Ordering::SeqCst), PAGE_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn paginate_reports_items_that_do_not_decode() {
        let (addr, _served) = serve(2).await;
        let c = client(format!("http://{addr}/v1"));
        #[derive(Debug, serde::Deserialize)]
        struct Wrong {
            #[allow(dead_code)]
            missing: String,
        }
        let got: Vec<Result<Wrong, ClientError>> =
            paginate(c, "/items".to_owned(), Vec::new(), PageStyle::Stripe)
                .collect()
                .await;
        assert_eq!(got.len(), 1);
        match &got[0] {
            Err(ClientError::Decode { reason, .. }) => {
                assert!(reason.contains("item 0"), "{reason}")
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
}
