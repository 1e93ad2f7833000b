//! Twilio's list mechanics, shared by every list endpoint: query parameters, `PageSize` /
//! `Page` / `PageToken`, date filters (`DateSent`, `DateSent<`, `DateSent>` and their
//! `StartTime`/`EndDate` cousins), walking a page of positions, and the two page envelopes —
//! the 2010 API's (`next_page_uri` relative, `start`, `end`...) and the v1 APIs' (`meta` with
//! absolute URLs).
//!
//! A page token names the SID of the last item of the previous page (`PA` + SID) or the first
//! item of the next one (`PB` + SID), so a deep page costs the page, not the offset. This file
//! knows nothing about which records exist; callers give it positions and predicates.

use std::ops::Range;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde::ser::SerializeMap;

use super::state::TwilioError;

/// The decoded query parameters, in request order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a raw query string (never fails: bad escapes decode lossily).
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `name`.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PageToken {
    /// After the item with this SID (`PA...`).
    After(String),
    /// Before the item with this SID (`PB...`).
    Before(String),
}

/// `PageSize`, `Page` and `PageToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub(crate) size: usize,
    pub(crate) page: u64,
    pub(crate) token: Option<PageToken>,
}

/// Twilio's default page size.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 50;
/// Twilio's largest page.
pub(crate) const MAX_PAGE_SIZE: usize = 1000;

impl PageRequest {
    /// Reads the paging parameters; a size above the maximum is capped, as Twilio does.
    pub(crate) fn parse(p: &Params) -> Result<Self, TwilioError> {
        let size = match p.non_empty("PageSize") {
            None => DEFAULT_PAGE_SIZE,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n >= 1 => {
                    usize::try_from(n.min(MAX_PAGE_SIZE as u64)).unwrap_or(MAX_PAGE_SIZE)
                }
                _ => {
                    return Err(TwilioError::bad(
                        20422,
                        format!("Invalid PageSize {v}: must be an integer from 1 to 1000"),
                    ));
                }
            },
        };
        let page = match p.non_empty("Page") {
            None => 0,
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                TwilioError::bad(20422, format!("Invalid Page {v}: must be a whole number"))
            })?,
        };
        let token = match p.non_empty("PageToken") {
            None => None,
            Some(t) => Some(if let Some(sid) = t.strip_prefix("PA") {
                PageToken::After(sid.to_owned())
            } else if let Some(sid) = t.strip_prefix("PB") {
                PageToken::Before(sid.to_owned())
            } else {
                return Err(invalid_token(t));
            }),
        };
        Ok(PageRequest { size, page, token })
    }
}

/// Twilio's answer to a page token it did not hand out.
pub(crate) fn invalid_token(t: &str) -> TwilioError {
    TwilioError::bad(21481, format!("Invalid PageToken: {t}"))
}

/// An inclusive range of Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) lo: i64,
    pub(crate) hi: i64,
}

impl Window {
    /// Every instant.
    pub(crate) const ALL: Window = Window {
        lo: i64::MIN,
        hi: i64::MAX,
    };

    pub(crate) fn is_all(self) -> bool {
        self == Window::ALL
    }

    pub(crate) fn contains(self, t: i64) -> bool {
        self.lo <= t && t <= self.hi
    }

    fn at_least(self, lo: i64) -> Window {
        Window {
            lo: self.lo.max(lo),
            hi: self.hi,
        }
    }

    fn at_most(self, hi: i64) -> Window {
        Window {
            lo: self.lo,
            hi: self.hi.min(hi),
        }
    }
}

/// A date filter value: a whole UTC day, or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// `[start, start + 1 day)`.
    Day(i64),
    Instant(i64),
}

impl When {
    /// The first second it covers.
    fn first(self) -> i64 {
        match self {
            When::Day(s) | When::Instant(s) => s,
        }
    }

    /// The last second it covers.
    fn last(self) -> i64 {
        match self {
            When::Day(s) => s + 86_399,
            When::Instant(s) => s,
        }
    }
}

/// Parses a date filter value the ways Twilio accepts them: `YYYY-MM-DD`, RFC 3339
/// (`2026-11-20T10:00:00Z`, what the SDKs send for datetimes), `YYYY-MM-DD hh:mm:ss` (UTC),
/// or RFC 2822.
pub(crate) fn parse_when(v: &str) -> Option<When> {
    let v = v.trim();
    if v.len() == 10
        && let Ok(d) = v.parse::<Date>()
    {
        return d
            .to_zoned(TimeZone::UTC)
            .ok()
            .map(|z| When::Day(z.timestamp().as_second()));
    }
    if let Ok(t) = v.parse::<Timestamp>() {
        return Some(When::Instant(t.as_second()));
    }
    if let Ok(dt) = v.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(TimeZone::UTC)
            .ok()
            .map(|z| When::Instant(z.timestamp().as_second()));
    }
    jiff::fmt::rfc2822::parse(v)
        .ok()
        .map(|z| When::Instant(z.timestamp().as_second()))
}

/// The window named by `name`, `name<` (on or before) and `name>` (on or after): a day
/// covers the whole day, an instant is inclusive. Accepts `name<=` / `name>=` spelled out
/// too (a client that encoded the `=`).
pub(crate) fn date_window(p: &Params, name: &str) -> Result<Window, TwilioError> {
    let mut w = Window::ALL;
    let read = |key: String| -> Result<Option<When>, TwilioError> {
        match p.non_empty(&key) {
            None => Ok(None),
            Some(v) => parse_when(v).map(Some).ok_or_else(|| {
                TwilioError::bad(
                    20422,
                    format!("Invalid {key} value {v}: expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ"),
                )
            }),
        }
    };
    if let Some(at) = read(name.to_owned())? {
        w = w.at_least(at.first()).at_most(at.last());
    }
    for key in [format!("{name}>"), format!("{name}>=")] {
        if let Some(at) = read(key)? {
            w = w.at_least(at.first());
        }
    }
    for key in [format!("{name}<"), format!("{name}<=")] {
        if let Some(at) = read(key)? {
            w = w.at_most(at.last());
        }
    }
    Ok(w)
}

/// A `StartDate` / `EndDate` pair (Monitor): on or after the start, on or before the end.
pub(crate) fn start_end_window(p: &Params) -> Result<Window, TwilioError> {
    let mut w = Window::ALL;
    for (key, start) in [("StartDate", true), ("EndDate", false)] {
        if let Some(v) = p.non_empty(key) {
            let at = parse_when(v).ok_or_else(|| {
                TwilioError::bad(
                    20422,
                    format!("Invalid {key} value {v}: expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ"),
                )
            })?;
            w = if start {
                w.at_least(at.first())
            } else {
                w.at_most(at.last())
            };
        }
    }
    Ok(w)
}

/// The positions of one page, ascending, and whether more match past its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Walk {
    pub(crate) positions: Vec<usize>,
    /// Forward: another match follows the page. Backward: another precedes it.
    pub(crate) more: bool,
}

/// Collects up to `size` positions `keep` accepts, ascending from `from`, within `ranges`
/// (ascending, disjoint), after skipping `skip` matches; looks one match further for `more`.
pub(crate) fn walk_forward(
    ranges: &[Range<usize>],
    from: usize,
    skip: u64,
    size: usize,
    mut keep: impl FnMut(usize) -> bool,
) -> Walk {
    let mut skip = skip;
    let mut positions = Vec::with_capacity(size.min(1024));
    for r in ranges {
        for p in r.start.max(from)..r.end {
            if !keep(p) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
            } else if positions.len() < size {
                positions.push(p);
            } else {
                return Walk {
                    positions,
                    more: true,
                };
            }
        }
    }
    Walk {
        positions,
        more: false,
    }
}

/// Collects up to `size` positions `keep` accepts, descending from just before `before`,
/// within `ranges`; returns them ascending, with `more` when another match precedes them.
pub(crate) fn walk_backward(
    ranges: &[Range<usize>],
    before: usize,
    size: usize,
    mut keep: impl FnMut(usize) -> bool,
) -> Walk {
    let mut positions = Vec::with_capacity(size.min(1024));
    let mut more = false;
    'outer: for r in ranges.iter().rev() {
        for p in (r.start..r.end.min(before)).rev() {
            if !keep(p) {
                continue;
            }
            if positions.len() < size {
                positions.push(p);
            } else {
                more = true;
                break 'outer;
            }
        }
    }
    positions.reverse();
    Walk { positions, more }
}

/// The canonical query of a listing: its filters as given, then `PageSize`, `Page` and, past
/// the first page, `PageToken` — the order Twilio writes them.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    /// The path (or absolute URL) without query.
    pub(crate) base: String,
    pub(crate) filters: Vec<(String, String)>,
    pub(crate) size: usize,
}

impl Links {
    /// Keeps the parameters of `names` that `p` carries, in that order.
    pub(crate) fn new(base: String, p: &Params, names: &[&str], size: usize) -> Self {
        let filters = names
            .iter()
            .filter_map(|n| p.get(n).map(|v| ((*n).to_owned(), v.to_owned())))
            .collect();
        Links {
            base,
            filters,
            size,
        }
    }

    /// The link to page `page` starting at `token` (`PA...`/`PB...`).
    pub(crate) fn page(&self, page: u64, token: Option<&str>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.filters {
            q.append_pair(k, v);
        }
        q.append_pair("PageSize", &self.size.to_string());
        q.append_pair("Page", &page.to_string());
        if let Some(t) = token {
            q.append_pair("PageToken", t);
        }
        format!("{}?{}", self.base, q.finish())
    }
}

/// The links of a page: this page, the first, the previous and the next.
#[derive(Debug, Clone)]
pub(crate) struct PageLinks {
    pub(crate) page: u64,
    pub(crate) size: usize,
    pub(crate) uri: String,
    pub(crate) first: String,
    pub(crate) previous: Option<String>,
    pub(crate) next: Option<String>,
}

impl PageLinks {
    /// Links for a page of `sids` (first and last decide the tokens) served for `req`.
    /// `token_prefix` is the SID's two-letter prefix repeated in tokens (`PASM...`).
    pub(crate) fn build(
        links: &Links,
        req: &PageRequest,
        first_sid: Option<&str>,
        last_sid: Option<&str>,
        has_next: bool,
        has_previous: bool,
    ) -> Self {
        let current_token = req.token.as_ref().map(|t| match t {
            PageToken::After(s) => format!("PA{s}"),
            PageToken::Before(s) => format!("PB{s}"),
        });
        let next = match (has_next, last_sid) {
            (true, Some(s)) => {
                Some(links.page(req.page.saturating_add(1), Some(&format!("PA{s}"))))
            }
            _ => None,
        };
        let previous = match (has_previous && req.page > 0, first_sid) {
            (true, Some(s)) => Some(links.page(req.page - 1, Some(&format!("PB{s}")))),
            _ => None,
        };
        PageLinks {
            page: req.page,
            size: links.size,
            uri: links.page(req.page, current_token.as_deref()),
            first: links.page(0, None),
            previous,
            next,
        }
    }
}

impl Walk {
    /// Whether a page before this one holds matches: the walk saw one before it (a page
    /// walked back), the page was reached forward from a token, or it is not the first.
    pub(crate) fn has_previous(&self, req: &PageRequest) -> bool {
        match req.token {
            Some(PageToken::Before(_)) => self.more,
            Some(PageToken::After(_)) => true,
            None => req.page > 0,
        }
    }

    /// The links of this page, served for `req`: `sid_at` names the item at a position (its
    /// first and last item decide the tokens).
    pub(crate) fn links(
        &self,
        links: &Links,
        req: &PageRequest,
        sid_at: impl Fn(usize) -> Option<String>,
        has_next: bool,
        has_previous: bool,
    ) -> PageLinks {
        let first = self.positions.first().and_then(|&p| sid_at(p));
        let last = self.positions.last().and_then(|&p| sid_at(p));
        PageLinks::build(
            links,
            req,
            first.as_deref(),
            last.as_deref(),
            has_next,
            has_previous,
        )
    }
}

/// A 2010-API list page: the items under `key`, with `start`, `end` and relative URIs.
#[derive(Debug)]
pub(crate) struct ListPage<T> {
    pub(crate) key: &'static str,
    pub(crate) items: Vec<T>,
    pub(crate) links: PageLinks,
}

impl<T: Serialize> Serialize for ListPage<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let start = self.links.page.saturating_mul(self.links.size as u64);
        let end = start.saturating_add((self.items.len() as u64).saturating_sub(1));
        let mut m = s.serialize_map(Some(9))?;
        m.serialize_entry("end", &end)?;
        m.serialize_entry("first_page_uri", &self.links.first)?;
        m.serialize_entry("next_page_uri", &self.links.next)?;
        m.serialize_entry("page", &self.links.page)?;
        m.serialize_entry("page_size", &self.links.size)?;
        m.serialize_entry("previous_page_uri", &self.links.previous)?;
        m.serialize_entry(self.key, &self.items)?;
        m.serialize_entry("start", &start)?;
        m.serialize_entry("uri", &self.links.uri)?;
        m.end()
    }
}

/// The `meta` object of a v1 list page (absolute URLs).
#[derive(Debug, Serialize)]
pub(crate) struct Meta {
    pub(crate) page: u64,
    pub(crate) page_size: usize,
    pub(crate) first_page_url: String,
    pub(crate) previous_page_url: Option<String>,
    pub(crate) url: String,
    pub(crate) next_page_url: Option<String>,
    pub(crate) key: &'static str,
}

/// A v1 list page: the items under `key` and a `meta` object.
#[derive(Debug)]
pub(crate) struct MetaPage<T> {
    pub(crate) key: &'static str,
    pub(crate) items: Vec<T>,
    pub(crate) links: PageLinks,
}

impl<T: Serialize> Serialize for MetaPage<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let meta = Meta {
            page: self.links.page,
            page_size: self.links.size,
            first_page_url: self.links.first.clone(),
            previous_page_url: self.links.previous.clone(),
            url: self.links.uri.clone(),
            next_page_url: self.links.next.clone(),
            key: self.key,
        };
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(self.key, &self.items)?;
        m.serialize_entry("meta", &meta)?;
        m.end()
    }
}

/// The start of a forward walk: (first position, matches to skip) for `req`, given the
/// position of the token's SID. `Page` without a token skips `Page × PageSize` matches (slow,
/// as on Twilio, but it works).
pub(crate) fn forward_start(req: &PageRequest, token_pos: Option<usize>) -> (usize, u64) {
    match (&req.token, token_pos) {
        (Some(PageToken::After(_)), Some(p)) => (p + 1, 0),
        _ => (0, req.page.saturating_mul(req.size as u64)),
    }
}

/// Walks the page `req` asks for. `find` maps a token's SID to its position (`None` = not
/// ours: an invalid token).
pub(crate) fn walk(
    req: &PageRequest,
    ranges: &[Range<usize>],
    find: impl Fn(&str) -> Option<usize>,
    keep: impl FnMut(usize) -> bool,
) -> Result<(Walk, bool), TwilioError> {
    match &req.token {
        Some(PageToken::Before(sid)) => {
            let pos = find(sid).ok_or_else(|| invalid_token(&format!("PB{sid}")))?;
            let w = walk_backward(ranges, pos, req.size, keep);
            // The item the token names follows this page.
            Ok((w, true))
        }
        Some(PageToken::After(sid)) => {
            let pos = find(sid).ok_or_else(|| invalid_token(&format!("PA{sid}")))?;
            let (from, skip) = forward_start(req, Some(pos));
            let w = walk_forward(ranges, from, skip, req.size, keep);
            let more = w.more;
            Ok((w, more))
        }
        None => {
            let (from, skip) = forward_start(req, None);
            let w = walk_forward(ranges, from, skip, req.size, keep);
            let more = w.more;
            Ok((w, more))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::parse(Some(q))
    }

    #[test]
    fn page_requests() {
        let r = PageRequest::parse(&params("")).expect("default");
        assert_eq!((r.size, r.page, r.token), (50, 0, None));
        let r = PageRequest::parse(&params("PageSize=5000&Page=3&PageToken=PASMabc")).expect("ok");
        assert_eq!(r.size, 1000);
        assert_eq!(r.page, 3);
        assert_eq!(r.token, Some(PageToken::After("SMabc".into())));
        for bad in ["PageSize=0", "PageSize=x", "Page=-1", "PageToken=zz"] {
            assert!(PageRequest::parse(&params(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn date_windows() {
        let day = parse_when("2026-11-20").expect("day");
        let start = match day {
            When::Day(s) => s,
            When::Instant(_) => panic!("a day"),
        };
        let w = date_window(&params("DateSent=2026-11-20"), "DateSent").expect("w");
        assert_eq!((w.lo, w.hi), (start, start + 86_399));
        let w = date_window(&params("DateSent%3E=2026-11-20"), "DateSent").expect("w");
        assert_eq!((w.lo, w.hi), (start, i64::MAX));
        let w = date_window(&params("DateSent<=2026-11-20"), "DateSent").expect("w");
        assert_eq!((w.lo, w.hi), (i64::MIN, start + 86_399));
        let w = date_window(
            &params("DateSent>=2026-11-20T01:00:00Z&DateSent<=2026-11-20T02:00:00Z"),
            "DateSent",
        )
        .expect("w");
        assert_eq!((w.lo, w.hi), (start + 3600, start + 7200));
        assert_eq!(
            parse_when("Fri, 20 Nov 2026 00:00:10 +0000"),
            Some(When::Instant(start + 10))
        );
        assert_eq!(
            parse_when("2026-11-20 00:00:05.000"),
            Some(When::Instant(start + 5))
        );
        assert!(date_window(&params("DateSent=yesterday"), "DateSent").is_err());
        assert!(date_window(&params(""), "DateSent").expect("all").is_all());
        let w = start_end_window(&params("StartDate=2026-11-20&EndDate=2026-11-20")).expect("w");
        assert_eq!((w.lo, w.hi), (start, start + 86_399));
    }

    #[test]
    fn walks() {
        let ranges = [0..3, 10..20];
        let even = |p: usize| p.is_multiple_of(2);
        let w = walk_forward(&ranges, 0, 0, 3, even);
        assert_eq!(w.positions, vec![0, 2, 10]);
        assert!(w.more);
        let w = walk_forward(&ranges, 11, 0, 10, even);
        assert_eq!(w.positions, vec![12, 14, 16, 18]);
        assert!(!w.more);
        let w = walk_forward(&ranges, 0, 2, 2, even);
        assert_eq!(w.positions, vec![10, 12]);
        let w = walk_backward(&ranges, 12, 2, even);
        assert_eq!(w.positions, vec![2, 10]);
        assert!(w.more);
        let w = walk_backward(&ranges, 12, 5, even);
        assert_eq!(w.positions, vec![0, 2, 10]);
        assert!(!w.more);
    }

    #[test]
    fn links_are_canonical() {
        let p = params("From=%2B14155550100&PageSize=2&DateSent>=2026-11-20&Ignored=1");
        let links = Links::new(
            "/2010-04-01/Accounts/AC1/Messages.json".into(),
            &p,
            &["To", "From", "DateSent", "DateSent<", "DateSent>"],
            2,
        );
        assert_eq!(
            links.page(1, Some("PASM1")),
            "/2010-04-01/Accounts/AC1/Messages.json?From=%2B14155550100&DateSent%3E=2026-11-20&PageSize=2&Page=1&PageToken=PASM1"
        );
    }
}
