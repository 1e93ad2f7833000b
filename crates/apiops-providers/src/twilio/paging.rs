//! Twilio's paging, done here rather than with `apiops_client::pagination` (see the client's
//! module documentation for why): one page fetched and decoded straight into typed records,
//! the cursor (`Page`, `PageToken`) of a next-page link put on the original request.

use apiops_client::redact::display_target;
use apiops_client::{ApiClient, ClientError, Method, TransportKind};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::marker::PhantomData;
use url::Url;

use super::client::MAX_PAGE_SIZE;

/// `PageSize=n`.
pub(crate) fn page_size(n: usize) -> Vec<(String, String)> {
    vec![("PageSize".to_owned(), n.clamp(1, MAX_PAGE_SIZE).to_string())]
}

/// One request for one page, decoded.
pub(super) async fn fetch_page_once<T: DeserializeOwned>(
    client: &ApiClient,
    url: &Url,
    query: &[(String, String)],
    items_key: &'static str,
) -> Result<Page<T>, ClientError> {
    let mut rb = client.request(Method::GET, url.as_str())?;
    if !query.is_empty() {
        rb = rb.query(query);
    }
    let resp = client.send(rb).await?;
    let bytes = resp.bytes().await.map_err(|e| ClientError::Transport {
        method: Method::GET.to_string(),
        target: display_target(url),
        kind: TransportKind::Body,
        message: e.without_url().to_string(),
    })?;
    decode_page(&bytes, items_key).map_err(|reason| decode_error(url, reason))
}

pub(super) fn decode_error(url: &Url, reason: String) -> ClientError {
    ClientError::Decode {
        method: Method::GET.to_string(),
        target: display_target(url),
        reason,
    }
}

/// The paging parameters Twilio puts in a next-page link: `Page` and `PageToken`. A link
/// with neither cannot be followed safely.
pub(crate) fn page_cursor(link: &str) -> Result<Vec<(String, String)>, String> {
    let query = link.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    let cursor: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "Page" || k == "PageToken")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if cursor.is_empty() {
        return Err("the next page link carries no Page or PageToken".to_owned());
    }
    Ok(cursor)
}

/// The original query with a cursor in place of any earlier one.
pub(super) fn with_cursor(
    base: &[(String, String)],
    cursor: Vec<(String, String)>,
) -> Vec<(String, String)> {
    base.iter()
        .filter(|(k, _)| k != "Page" && k != "PageToken")
        .cloned()
        .chain(cursor)
        .collect()
}

/// One page of a Twilio list.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    /// The next page's link; `None` on the last page.
    pub(crate) next: Option<String>,
}

/// Decodes a page whose items sit under `items_key`, with the next link in `next_page_uri`
/// (2010 API) or `meta.next_page_url` (v1 APIs). Everything else is skipped unread.
pub(crate) fn decode_page<T: DeserializeOwned>(
    bytes: &[u8],
    items_key: &'static str,
) -> Result<Page<T>, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let page = PageSeed::<T> {
        items_key,
        item: PhantomData,
    }
    .deserialize(&mut de)
    .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(page)
}

struct PageSeed<T> {
    items_key: &'static str,
    item: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for PageSeed<T> {
    type Value = Page<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Page<T>, D::Error> {
        d.deserialize_map(self)
    }
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    next_page_url: Option<String>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for PageSeed<T> {
    type Value = Page<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a Twilio list page with `{}`", self.items_key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page<T>, A::Error> {
        let mut items: Option<Vec<T>> = None;
        let mut next: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.items_key {
                items = Some(map.next_value()?);
            } else if key == "next_page_uri" {
                next = map.next_value()?;
            } else if key == "meta" {
                let meta: Option<Meta> = map.next_value()?;
                next = meta.and_then(|m| m.next_page_url);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let items = items.ok_or_else(|| de::Error::missing_field(self.items_key))?;
        Ok(Page {
            items,
            next: next.filter(|n| !n.trim().is_empty()),
        })
    }
}
