//! Twilio's paging, done here rather than with `apiops_client::pagination` (see the client's
//! module documentation for why): one page fetched and decoded straight into typed records,
//! the cursor (`Page`, `PageToken`) of a next-page link put on the original request.

use apiops_client::redact::display_target;
use apiops_client::{ApiClient, ClientError, Method, read_body};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::marker::PhantomData;
use url::Url;

use super::client::MAX_PAGE_SIZE;

/// `PageSize=n`.
pub(crate) fn page_size(n: usize) -> Vec<(String, String)> {
    vec![("PageSize".to_owned(), n.clamp(1, MAX_PAGE_SIZE).to_string())]
}

/// One request for one page, decoded: each item read as a `T` and kept as what `keep` makes
/// of it (see [`decode_page_kept`]).
pub(super) async fn fetch_page_once<T: DeserializeOwned, U>(
    client: &ApiClient,
    url: &Url,
    query: &[(String, String)],
    items_key: &'static str,
    keep: &(dyn Fn(T) -> Option<U> + Send + Sync),
) -> Result<Page<U>, ClientError> {
    let mut rb = client.request(Method::GET, url.as_str())?;
    if !query.is_empty() {
        rb = rb.query(query);
    }
    let resp = client.send(rb).await?;
    let bytes = read_body(resp, Method::GET.as_str()).await?;
    decode_page_kept(&bytes, items_key, keep).map_err(|reason| decode_error(url, reason))
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
    /// How many items the page held (kept or not).
    pub(crate) read: usize,
    /// The next page's link; `None` on the last page.
    pub(crate) next: Option<String>,
}

/// Decodes a page whose items sit under `items_key`, with the next link in `next_page_uri`
/// (2010 API) or `meta.next_page_url` (v1 APIs). Everything else is skipped unread.
#[cfg(test)]
pub(crate) fn decode_page<T: DeserializeOwned>(
    bytes: &[u8],
    items_key: &'static str,
) -> Result<Page<T>, String> {
    decode_page_kept(bytes, items_key, &Some)
}

/// [`decode_page`], keeping of each item only what `keep` makes of it, as it is read: a scan
/// that keeps 2 % of a page never holds the other 98 % decoded. `keep` must not have side
/// effects: a page cut short is decoded again from the start.
pub(crate) fn decode_page_kept<T: DeserializeOwned, U>(
    bytes: &[u8],
    items_key: &'static str,
    keep: &dyn Fn(T) -> Option<U>,
) -> Result<Page<U>, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let page = PageSeed {
        items_key,
        keep,
        item: PhantomData,
    }
    .deserialize(&mut de)
    .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(page)
}

struct PageSeed<'k, T, U> {
    items_key: &'static str,
    keep: &'k dyn Fn(T) -> Option<U>,
    item: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned, U> DeserializeSeed<'de> for PageSeed<'_, T, U> {
    type Value = Page<U>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Page<U>, D::Error> {
        d.deserialize_map(self)
    }
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    next_page_url: Option<String>,
}

impl<'de, T: DeserializeOwned, U> Visitor<'de> for PageSeed<'_, T, U> {
    type Value = Page<U>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a Twilio list page with `{}`", self.items_key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page<U>, A::Error> {
        let mut items: Option<(Vec<U>, usize)> = None;
        let mut next: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.items_key {
                items = Some(map.next_value_seed(Items {
                    keep: self.keep,
                    item: PhantomData,
                })?);
            } else if key == "next_page_uri" {
                next = map.next_value()?;
            } else if key == "meta" {
                let meta: Option<Meta> = map.next_value()?;
                next = meta.and_then(|m| m.next_page_url);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let (items, read) = items.ok_or_else(|| de::Error::missing_field(self.items_key))?;
        Ok(Page {
            items,
            read,
            next: next.filter(|n| !n.trim().is_empty()),
        })
    }
}

/// A page's item array: each item decoded, passed through `keep`, and counted.
struct Items<'k, T, U> {
    keep: &'k dyn Fn(T) -> Option<U>,
    item: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned, U> DeserializeSeed<'de> for Items<'_, T, U> {
    type Value = (Vec<U>, usize);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(Vec<U>, usize), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned, U> Visitor<'de> for Items<'_, T, U> {
    type Value = (Vec<U>, usize);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of items")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(Vec<U>, usize), A::Error> {
        let mut kept = Vec::new();
        let mut read = 0;
        while let Some(item) = seq.next_element::<T>()? {
            read += 1;
            kept.extend((self.keep)(item));
        }
        Ok((kept, read))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_page_holds_only_what_keep_made_and_counts_every_item() {
        let body = serde_json::json!({
            "messages": [
                {"sid": "SM1", "status": "delivered"},
                {"sid": "SM2", "status": "failed"},
                {"sid": "SM3", "status": "delivered"},
            ],
            "next_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?Page=1&PageToken=PA2",
        })
        .to_string();
        let failed = |m: serde_json::Value| (m["status"] == "failed").then(|| m["sid"].clone());
        let page = decode_page_kept(body.as_bytes(), "messages", &failed).expect("page");
        assert_eq!(page.items, ["SM2"]);
        assert_eq!(page.read, 3);
        assert!(
            page.next
                .as_deref()
                .is_some_and(|n| n.ends_with("PageToken=PA2"))
        );
        // An item that does not decode fails the page, whatever keep would make of it.
        let bad = r#"{"messages":[{"sid":"SM1"},7],"next_page_uri":null}"#;
        let keep_all = |m: super::super::client::Message| Some(m.sid);
        assert!(decode_page_kept(bad.as_bytes(), "messages", &keep_all).is_err());
    }
}
