//! Reading one page of a listing, whatever paging the API uses: its items, and how to ask for
//! the next page. Pure: a page's body and `Link` header in, a [`PageRead`] out; the engine
//! ([`crate::api`]) fetches and streams.
//!
//! Styles recognized, in this order (the first that speaks decides):
//! 1. a `Link: <url>; rel="next"` header (GitHub, RFC 8288);
//! 2. HATEOAS links in the body: `links: [{rel: "next", href}]` (PayPal) or `_links.next.href`;
//! 3. a next URL or token in the body: `next`, `next_url`, `next_page_url`, `next_page_uri`,
//!    `meta.next_page_url`, `paging.next`, `next_cursor`, `next_page_token`, `nextPageToken`,
//!    `cursor.next`...;
//! 4. `has_more` with a cursor parameter (`starting_after`/`after` = the last item's id, or
//!    `last_id`);
//! 5. page numbers: the next number while pages are not empty and `total_pages` (when sent)
//!    is not reached.

use serde_json::{Map, Value};

use crate::index::{ITEM_KEYS, PagingHint};

/// How to ask for the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextPage {
    /// A URL the server handed out (absolute or relative to the page's URL).
    Url(String),
    /// The first request with one query parameter set.
    Param {
        /// The parameter.
        name: String,
        /// Its value.
        value: String,
    },
}

/// One page, read.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRead {
    /// The items, in order.
    pub items: Vec<Value>,
    /// The next page; `None` on the last one.
    pub next: Option<NextPage>,
}

/// Reads a page: `body` (taken apart), its `Link` header, the operation's hint, and the page
/// number this page was asked for (`None` when paging is not by numbers).
pub fn read_page(
    hint: &PagingHint,
    body: Value,
    link: Option<&str>,
    page_number: Option<u64>,
) -> PageRead {
    let mut map = match body {
        Value::Array(items) => {
            let next = link
                .and_then(next_link)
                .map(NextPage::Url)
                .or_else(|| numbered(hint, page_number, !items.is_empty(), None));
            return PageRead { items, next };
        }
        Value::Object(map) => map,
        other => {
            return PageRead {
                items: vec![other],
                next: None,
            };
        }
    };
    let items = take_items(hint, &mut map);
    let items = match items {
        Some(items) => items,
        // No list in the answer: the whole answer is the one item, and there is no next.
        None => {
            return PageRead {
                items: vec![Value::Object(map)],
                next: None,
            };
        }
    };
    let next = link
        .and_then(next_link)
        .map(NextPage::Url)
        .or_else(|| hateoas_next(&map).map(NextPage::Url))
        .or_else(|| body_next(hint, &map))
        .or_else(|| has_more_next(hint, &map, &items))
        .or_else(|| {
            let total = map.get("total_pages").and_then(Value::as_u64);
            numbered(hint, page_number, !items.is_empty(), total)
        });
    // `has_more: false` or an explicitly empty next ends the listing whatever else is there.
    let next = if map.get("has_more") == Some(&Value::Bool(false)) {
        None
    } else {
        next
    };
    PageRead { items, next }
}

fn take_items(hint: &PagingHint, map: &mut Map<String, Value>) -> Option<Vec<Value>> {
    let key = hint
        .items_key
        .clone()
        .filter(|k| map.get(k).is_some_and(Value::is_array))
        .or_else(|| {
            ITEM_KEYS
                .iter()
                .find(|k| map.get(**k).is_some_and(Value::is_array))
                .map(|k| (*k).to_owned())
        })
        .or_else(|| {
            let arrays: Vec<&String> = map
                .iter()
                .filter(|(k, v)| v.is_array() && !matches!(k.as_str(), "links" | "errors"))
                .map(|(k, _)| k)
                .collect();
            match arrays.as_slice() {
                [one] => Some((*one).clone()),
                _ => None,
            }
        })?;
    match map.remove(&key) {
        Some(Value::Array(items)) => Some(items),
        _ => None,
    }
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let Some((k, v)) = p.trim().split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        is_next.then(|| target.to_owned())
    })
}

fn hateoas_next(map: &Map<String, Value>) -> Option<String> {
    if let Some(Value::Array(links)) = map.get("links") {
        return links.iter().find_map(|l| {
            (l.get("rel").and_then(Value::as_str) == Some("next"))
                .then(|| l.get("href").and_then(Value::as_str).map(str::to_owned))
                .flatten()
        });
    }
    map.get("_links")
        .and_then(|l| l.get("next"))
        .and_then(|n| n.get("href"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A next URL, or a next token sent back in the cursor parameter.
fn body_next(hint: &PagingHint, map: &Map<String, Value>) -> Option<NextPage> {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let url_like =
        |s: &str| s.starts_with("http://") || s.starts_with("https://") || s.starts_with('/');
    for path in [
        "/next",
        "/next_url",
        "/next_page_url",
        "/next_page_uri",
        "/meta/next_page_url",
        "/meta/next",
        "/paging/next",
        "/pagination/next",
        "/links/next",
    ] {
        if let Some(s) = text(pointer(map, path)) {
            if url_like(&s) {
                return Some(NextPage::Url(s));
            }
            if let Some(name) = &hint.cursor_param {
                return Some(NextPage::Param {
                    name: name.clone(),
                    value: s,
                });
            }
        }
    }
    for (path, default_param) in [
        ("/next_cursor", "cursor"),
        ("/next_page_token", "page_token"),
        ("/nextPageToken", "pageToken"),
        ("/next_token", "next_token"),
        ("/nextToken", "nextToken"),
        ("/cursor/next", "cursor"),
        ("/meta/next_cursor", "cursor"),
        ("/pagination/next_cursor", "cursor"),
        ("/response_metadata/next_cursor", "cursor"),
    ] {
        if let Some(s) = text(pointer(map, path)) {
            return Some(NextPage::Param {
                name: hint
                    .cursor_param
                    .clone()
                    .unwrap_or_else(|| default_param.to_owned()),
                value: s,
            });
        }
    }
    None
}

fn pointer<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.trim_start_matches('/').split('/');
    let first = map.get(parts.next()?)?;
    parts.try_fold(first, |v, p| v.get(p))
}

fn has_more_next(hint: &PagingHint, map: &Map<String, Value>, items: &[Value]) -> Option<NextPage> {
    if map.get("has_more") != Some(&Value::Bool(true)) {
        return None;
    }
    let name = hint
        .cursor_param
        .clone()
        .unwrap_or_else(|| "starting_after".to_owned());
    let id = map
        .get("last_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            items
                .last()
                .and_then(|i| i.get("id"))
                .and_then(|id| match id {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        })?;
    Some(NextPage::Param { name, value: id })
}

fn numbered(
    hint: &PagingHint,
    page_number: Option<u64>,
    non_empty: bool,
    total_pages: Option<u64>,
) -> Option<NextPage> {
    let name = hint.page_param.clone()?;
    let current = page_number?;
    if !non_empty || total_pages.is_some_and(|t| current >= t) {
        return None;
    }
    Some(NextPage::Param {
        name,
        value: current.checked_add(1)?.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hint(cursor: Option<&str>, page: Option<&str>) -> PagingHint {
        PagingHint {
            cursor_param: cursor.map(str::to_owned),
            page_param: page.map(str::to_owned),
            ..PagingHint::default()
        }
    }

    fn param(name: &str, value: &str) -> Option<NextPage> {
        Some(NextPage::Param {
            name: name.into(),
            value: value.into(),
        })
    }

    #[test]
    fn every_style_finds_its_next_page() {
        /// hint, body, Link header, page number, items, next
        type Case<'a> = (
            PagingHint,
            Value,
            Option<&'a str>,
            Option<u64>,
            usize,
            Option<NextPage>,
        );
        let table: Vec<Case> = vec![
            // Stripe: has_more + starting_after the last id.
            (
                hint(Some("starting_after"), None),
                json!({"data": [{"id": "a"}, {"id": "b"}], "has_more": true}),
                None,
                None,
                2,
                param("starting_after", "b"),
            ),
            // OpenAI: has_more + after = last_id.
            (
                hint(Some("after"), None),
                json!({"data": [{"id": "a"}], "has_more": true, "last_id": "z"}),
                None,
                None,
                1,
                param("after", "z"),
            ),
            // cursor + has_more, last page.
            (
                hint(Some("cursor"), None),
                json!({"data": [{"id": "a"}], "has_more": false, "next_cursor": "c2"}),
                None,
                None,
                1,
                None,
            ),
            // a next token in the body.
            (
                hint(Some("cursor"), None),
                json!({"items": [1, 2], "next_cursor": "c2"}),
                None,
                None,
                2,
                param("cursor", "c2"),
            ),
            (
                hint(None, None),
                json!({"results": [1], "nextPageToken": "t"}),
                None,
                None,
                1,
                param("pageToken", "t"),
            ),
            // a next URL in the body.
            (
                hint(None, None),
                json!({"results": [1], "next": "https://api.example/x?page=2"}),
                None,
                None,
                1,
                Some(NextPage::Url("https://api.example/x?page=2".into())),
            ),
            (
                hint(None, None),
                json!({"results": [1], "next": null}),
                None,
                None,
                1,
                None,
            ),
            // PayPal: HATEOAS links.
            (
                hint(None, Some("page")),
                json!({"items": [1], "links": [{"rel": "self", "href": "/p?page=1"}, {"rel": "next", "href": "/p?page=2"}]}),
                None,
                Some(1),
                1,
                Some(NextPage::Url("/p?page=2".into())),
            ),
            // GitHub: a bare array and a Link header.
            (
                hint(Some("per_page"), Some("page")),
                json!([{"id": 1}]),
                Some(
                    r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=9>; rel="last""#,
                ),
                Some(1),
                1,
                Some(NextPage::Url("https://api.github.com/x?page=2".into())),
            ),
            (
                hint(None, Some("page")),
                json!([{"id": 1}]),
                Some(r#"<https://api.github.com/x?page=1>; rel="prev""#),
                None,
                1,
                None,
            ),
            // Page numbers until empty or total_pages.
            (
                hint(None, Some("page")),
                json!({"items": [1, 2]}),
                None,
                Some(3),
                2,
                param("page", "4"),
            ),
            (
                hint(None, Some("page")),
                json!({"items": []}),
                None,
                Some(4),
                0,
                None,
            ),
            (
                hint(None, Some("page")),
                json!({"items": [1], "total_pages": 3}),
                None,
                Some(3),
                1,
                None,
            ),
            // Not a list: the answer is the one item.
            (
                hint(None, None),
                json!({"id": "x", "name": "y"}),
                None,
                None,
                1,
                None,
            ),
        ];
        for (h, body, link, page, count, next) in table {
            let shown = body.to_string();
            let read = read_page(&h, body, link, page);
            assert_eq!(read.items.len(), count, "{shown}");
            assert_eq!(read.next, next, "{shown}");
        }
    }

    #[test]
    fn link_headers_parse_loosely() {
        assert_eq!(next_link(r#"<a>; rel=next"#).as_deref(), Some("a"));
        assert_eq!(
            next_link(r#"<a>; rel="prev", <b>; title="x"; rel="next last""#).as_deref(),
            Some("b")
        );
        assert_eq!(next_link("garbage"), None);
        assert_eq!(next_link(""), None);
    }
}
