//! Stripe list pagination: `limit` (1..=100, default 10), the `starting_after` and
//! `ending_before` cursors, and the list envelope `{object: "list", data, has_more, url}`.
//!
//! Cursors are positions in the whole, unfiltered list (as in Stripe, a cursor object need not
//! match the filters); filters then apply to what lies beyond it. Nothing here knows what the
//! items are.

use serde_json::{Value, json};

use super::request::{self, Params, StripeError};

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cursor {
    /// From the start of the list (newest first).
    Start,
    /// The items after this id (older ones).
    After(String),
    /// The items before this id (newer ones), nearest first kept.
    Before(String),
}

/// The paging parameters of one list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// How many items at most.
    pub(crate) limit: usize,
    /// Where to start.
    pub(crate) cursor: Cursor,
}

impl PageRequest {
    /// Reads `limit`, `starting_after` and `ending_before`.
    pub(crate) fn parse(p: &Params) -> Result<Self, StripeError> {
        let limit = match p.integer("limit")? {
            None => 10,
            Some(n) if n < 1 => {
                return Err(request::invalid(
                    "limit",
                    Some("parameter_invalid_integer"),
                    "This value must be greater than or equal to 1.",
                ));
            }
            Some(n) if n > 100 => {
                return Err(request::invalid(
                    "limit",
                    Some("parameter_invalid_integer"),
                    "This value must be less than or equal to 100.",
                ));
            }
            Some(n) => usize::try_from(n).unwrap_or(10),
        };
        let after = p.scalar("starting_after")?.filter(|s| !s.is_empty());
        let before = p.scalar("ending_before")?.filter(|s| !s.is_empty());
        let cursor = match (after, before) {
            (Some(_), Some(_)) => {
                return Err(request::invalid(
                    "starting_after",
                    None,
                    "You may only specify one of these parameters: ending_before, starting_after.",
                ));
            }
            (Some(a), None) => Cursor::After(a.to_owned()),
            (None, Some(b)) => Cursor::Before(b.to_owned()),
            (None, None) => Cursor::Start,
        };
        Ok(PageRequest { limit, cursor })
    }
}

/// One page of `items` (ordered newest first) among those `keep` accepts, and whether more
/// lie beyond it in the paging direction. An unknown cursor is Stripe's `resource_missing`
/// naming `what` ("event", "webhook endpoint").
pub(crate) fn page<'a, T>(
    items: &'a [T],
    id: impl Fn(&T) -> &str,
    keep: impl Fn(&T) -> bool,
    req: &PageRequest,
    what: &str,
) -> Result<(Vec<&'a T>, bool), StripeError> {
    let position = |cursor: &str, param: &str| {
        items
            .iter()
            .position(|item| id(item) == cursor)
            .ok_or_else(|| {
                request::invalid(
                    param,
                    Some("resource_missing"),
                    &format!("No such {what}: '{cursor}'"),
                )
            })
    };
    match &req.cursor {
        Cursor::Start | Cursor::After(_) => {
            let from = match &req.cursor {
                Cursor::After(c) => position(c, "starting_after")? + 1,
                _ => 0,
            };
            let mut matching = items[from..].iter().filter(|i| keep(i));
            let data: Vec<&T> = matching.by_ref().take(req.limit).collect();
            let has_more = matching.next().is_some();
            Ok((data, has_more))
        }
        Cursor::Before(c) => {
            let to = position(c, "ending_before")?;
            let matching: Vec<&T> = items[..to].iter().filter(|i| keep(i)).collect();
            let start = matching.len().saturating_sub(req.limit);
            Ok((matching[start..].to_vec(), start > 0))
        }
    }
}

/// The list envelope Stripe wraps every page in.
pub(crate) fn envelope(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({"object": "list", "data": data, "has_more": has_more, "url": url})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(page: &(Vec<&&str>, bool)) -> Vec<String> {
        page.0.iter().map(|s| (**s).to_owned()).collect()
    }

    #[test]
    fn pages_forward_and_backward_with_filters() {
        let items = ["a", "b", "c", "d", "e", "f"];
        let req = |limit, cursor| PageRequest { limit, cursor };
        let all = |_: &&str| true;
        let p = page(&items, |s| s, all, &req(2, Cursor::Start), "x").ok();
        assert_eq!(p.as_ref().map(ids), Some(vec!["a".into(), "b".into()]));
        assert_eq!(p.map(|p| p.1), Some(true));
        let p = page(&items, |s| s, all, &req(2, Cursor::After("d".into())), "x").ok();
        assert_eq!(p.as_ref().map(ids), Some(vec!["e".into(), "f".into()]));
        assert_eq!(p.map(|p| p.1), Some(false));
        let p = page(&items, |s| s, all, &req(2, Cursor::Before("d".into())), "x").ok();
        assert_eq!(p.as_ref().map(ids), Some(vec!["b".into(), "c".into()]));
        assert_eq!(p.map(|p| p.1), Some(true));
        let vowels = |s: &&str| matches!(*s, "a" | "e");
        let p = page(
            &items,
            |s| s,
            vowels,
            &req(5, Cursor::After("b".into())),
            "x",
        )
        .ok();
        assert_eq!(p.as_ref().map(ids), Some(vec!["e".into()]));
        assert!(page(&items, |s| s, all, &req(2, Cursor::After("zz".into())), "x").is_err());
    }

    #[test]
    fn validates_limit_and_cursors() {
        let parse = |q: &str| PageRequest::parse(&Params::parse(q.as_bytes()));
        assert_eq!(parse("").ok().map(|r| r.limit), Some(10));
        assert_eq!(parse("limit=100").ok().map(|r| r.limit), Some(100));
        for bad in [
            "limit=0",
            "limit=101",
            "limit=x",
            "starting_after=a&ending_before=b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
