//! The 2010-04-01 API (`api.twilio.com`): Account, Balance, Messages (list with `To`, `From`
//! and `DateSent` filters; fetch; send), Calls (list with `Status`, `To`, `From`, `StartTime`
//! and `EndTime` filters; fetch), IncomingPhoneNumbers (list, fetch, update, release, buy) and
//! AvailablePhoneNumbers (Local search).
//!
//! Handlers count the request, read the query or form, and call the listing or state methods
//! here and in `state`; they never panic on input — bad values get Twilio's 400 bodies. The
//! edge layer has already checked credentials and the account SID in the path.

use std::ops::Range;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::data::{self, Direction};
use super::paging::{self, Links, ListPage, PageLinks, PageRequest, Params, Window};
use super::render::{AvailableView, CallView, MessageView, NumberView};
use super::request::{NumberUpdate, SendRequest, form_get, parse_bool};
use super::state::{CreatedMessage, TwilioError, TwilioState};
use crate::server::SimState;

/// Twilio's error body for `e`.
pub(crate) fn error_response(e: &TwilioError) -> Response {
    crate::faults::twilio_error(e.status, e.code, &e.message)
}

pub(crate) fn answer<T: serde::Serialize>(
    status: StatusCode,
    r: Result<T, TwilioError>,
) -> Response {
    match r {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => error_response(&e),
    }
}

/// Decodes a form body (lossily: a bad byte never fails the request).
pub(crate) fn form(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `{Sid}.json` -> `Sid`.
fn strip_json(segment: &str) -> Option<&str> {
    segment.strip_suffix(".json")
}

/// A message on a page: one created through the API (copied out of the lock) or a generated
/// one by position.
#[derive(Debug)]
enum Listed {
    Created(CreatedMessage),
    Generated(usize),
}

/// Who a `To`/`From` filter names: recipients in the pool and the account's seeded numbers.
#[derive(Debug)]
struct Party {
    raw: String,
    peers: Vec<u32>,
    numbers: Vec<u8>,
}

impl TwilioState {
    pub(crate) fn check_account(&self, account: &str, path: &str) -> Result<(), TwilioError> {
        if account == self.account_sid {
            Ok(())
        } else {
            Err(TwilioError::not_found(path))
        }
    }

    fn party(&self, raw: &str) -> Party {
        let raw = raw.trim().to_owned();
        let mut peers = Vec::new();
        let digits = raw.strip_prefix("+1").filter(|d| d.len() == 10);
        if let Some((area, line)) = digits.and_then(|d| {
            let area: u16 = d.get(..3)?.parse().ok()?;
            let line: u16 = d.get(6..)?.parse().ok()?;
            (d.get(3..6)? == "555").then_some((area, line))
        }) {
            for p in 0..self.generated.peers {
                if data::peer_parts(self.peers_seed, p) == (area, line) {
                    peers.push(p);
                }
            }
        }
        let numbers = (0..data::NUMBER_SEEDS.len())
            .filter(|&i| data::seed_number(i) == raw)
            .filter_map(|i| u8::try_from(i).ok())
            .collect();
        Party {
            raw,
            peers,
            numbers,
        }
    }

    /// The generated positions whose time `anchor - age` falls in `w` (records sorted by age).
    pub(crate) fn window_range(
        &self,
        ages: impl Fn(usize) -> u32,
        len: usize,
        w: Window,
    ) -> Range<usize> {
        if w.is_all() {
            return 0..len;
        }
        let youngest = i128::from(self.anchor) - i128::from(w.hi);
        let oldest = i128::from(self.anchor) - i128::from(w.lo);
        if oldest < 0 {
            return 0..0;
        }
        let lo = partition(len, |i| i128::from(ages(i)) < youngest);
        let hi = partition(len, |i| i128::from(ages(i)) <= oldest);
        lo..hi.max(lo)
    }

    /// A page of `GET .../Messages.json`: created messages first (newest first), then the
    /// generated ones, newest first.
    pub(crate) fn messages_page(&self, p: &Params) -> Result<ListPage<MessageView>, TwilioError> {
        let req = PageRequest::parse(p)?;
        let window = paging::date_window(p, "DateSent")?;
        let to = p.non_empty("To").map(|v| self.party(v));
        let from = p.non_empty("From").map(|v| self.party(v));
        let live = self.read();
        let created = &live.created;
        let c = created.len();
        let msgs = &self.generated.messages;
        let g = self.window_range(|i| msgs.get(i).map_or(0, |m| m.age), msgs.len(), window);
        // Created messages are queued: no date_sent, so a date filter excludes them.
        let mut ranges = Vec::with_capacity(2);
        if window.is_all() {
            ranges.push(0..c);
        }
        ranges.push(c + g.start..c + g.end);
        let created_at = |pos: usize| created.get(c.checked_sub(pos + 1)?);
        let keep = |pos: usize| -> bool {
            if pos < c {
                let Some(m) = created_at(pos) else {
                    return false;
                };
                to.as_ref().is_none_or(|t| m.to == t.raw)
                    && from
                        .as_ref()
                        .is_none_or(|f| m.from.as_deref() == Some(f.raw.as_str()))
            } else {
                let Some(m) = msgs.get(pos - c) else {
                    return false;
                };
                let outbound = m.direction != Direction::Inbound;
                let matches = |party: &Party, is_peer: bool| {
                    if is_peer {
                        party.peers.contains(&m.peer)
                    } else {
                        party.numbers.contains(&m.number)
                    }
                };
                to.as_ref().is_none_or(|t| matches(t, outbound))
                    && from.as_ref().is_none_or(|f| matches(f, !outbound))
            }
        };
        let find = |sid: &str| -> Option<usize> {
            if let Some(i) = created.iter().position(|m| m.sid == sid) {
                return Some(c - 1 - i);
            }
            self.message_sids.find(sid).map(|i| c + i)
        };
        let (walk, has_next) = paging::walk(&req, &ranges, find, keep)?;
        // Copy out what the page needs from the locked part, then render without the lock.
        let picked: Vec<Listed> = walk
            .positions
            .iter()
            .filter_map(|&pos| {
                if pos < c {
                    created_at(pos).cloned().map(Listed::Created)
                } else {
                    Some(Listed::Generated(pos - c))
                }
            })
            .collect();
        drop(live);
        let sid_of = |item: &Listed| match item {
            Listed::Created(m) => m.sid.clone(),
            Listed::Generated(i) => self.message_sids.sid(*i),
        };
        let first = picked.first().map(sid_of);
        let last = picked.last().map(sid_of);
        let items: Vec<MessageView> = picked
            .iter()
            .filter_map(|item| match item {
                Listed::Created(m) => Some(self.created_message_view(m)),
                Listed::Generated(i) => self.message_view(*i),
            })
            .collect();
        let links = Links::new(
            format!("{}/Messages.json", self.account_path()),
            p,
            &["To", "From", "DateSent", "DateSent<", "DateSent>"],
            req.size,
        );
        let has_prev = walk.has_previous(&req);
        let links = PageLinks::build(
            &links,
            &req,
            first.as_deref(),
            last.as_deref(),
            has_next,
            has_prev,
        );
        Ok(ListPage {
            key: "messages",
            items,
            links,
        })
    }

    /// `GET .../Messages/{Sid}.json`.
    pub(crate) fn message(&self, sid: &str) -> Option<MessageView> {
        if let Some(m) = self.read().created.iter().find(|m| m.sid == sid) {
            return Some(self.created_message_view(m));
        }
        self.message_view(self.message_sids.find(sid)?)
    }

    /// A page of `GET .../Calls.json`, newest first.
    pub(crate) fn calls_page(&self, p: &Params) -> Result<ListPage<CallView>, TwilioError> {
        let req = PageRequest::parse(p)?;
        let started = paging::date_window(p, "StartTime")?;
        let ended = paging::date_window(p, "EndTime")?;
        let status = match p.non_empty("Status") {
            None => None,
            Some(s) => Some(data::CallStatus::parse(s.trim()).ok_or_else(|| {
                TwilioError::bad(
                    20422,
                    format!(
                        "Invalid Status {s}: expected queued, ringing, in-progress, canceled, completed, failed, busy or no-answer"
                    ),
                )
            })?),
        };
        let to = p.non_empty("To").map(|v| self.party(v));
        let from = p.non_empty("From").map(|v| self.party(v));
        let parent = p.non_empty("ParentCallSid").is_some();
        let calls = &self.generated.calls;
        let range = self.window_range(|i| calls.get(i).map_or(0, |c| c.age), calls.len(), started);
        let anchor = self.anchor;
        let keep = |pos: usize| -> bool {
            let Some(c) = calls.get(pos) else {
                return false;
            };
            let matches = |party: &Party, is_peer: bool| {
                if is_peer {
                    party.peers.contains(&c.peer)
                } else {
                    party.numbers.contains(&c.number)
                }
            };
            let start = anchor - i64::from(c.age);
            // Canceled calls never started; in-progress ones have not ended.
            let start_ok = started.is_all() || c.status != data::CallStatus::Canceled;
            let end_ok = ended.is_all()
                || (c.status != data::CallStatus::InProgress
                    && ended.contains(start + i64::from(c.duration)));
            !parent
                && start_ok
                && end_ok
                && status.is_none_or(|s| s == c.status)
                && to.as_ref().is_none_or(|t| matches(t, !c.inbound))
                && from.as_ref().is_none_or(|f| matches(f, c.inbound))
        };
        let (walk, has_next) = paging::walk(
            &req,
            std::slice::from_ref(&range),
            |s| self.call_sids.find(s),
            keep,
        )?;
        let items = walk
            .positions
            .iter()
            .filter_map(|&pos| self.call_view(pos))
            .collect();
        let links = Links::new(
            format!("{}/Calls.json", self.account_path()),
            p,
            &[
                "To",
                "From",
                "ParentCallSid",
                "Status",
                "StartTime",
                "StartTime<",
                "StartTime>",
                "EndTime",
                "EndTime<",
                "EndTime>",
            ],
            req.size,
        );
        let sid_at = |p| Some(self.call_sids.sid(p));
        Ok(ListPage {
            key: "calls",
            links: walk.links(&links, &req, sid_at, has_next, walk.has_previous(&req)),
            items,
        })
    }

    /// `GET .../Calls/{Sid}.json`.
    pub(crate) fn call(&self, sid: &str) -> Option<CallView> {
        self.call_view(self.call_sids.find(sid)?)
    }

    /// A page of `GET .../IncomingPhoneNumbers.json`, oldest first.
    pub(crate) fn numbers_page(&self, p: &Params) -> Result<ListPage<NumberView>, TwilioError> {
        let req = PageRequest::parse(p)?;
        let pattern = match p.non_empty("PhoneNumber") {
            None => None,
            Some(v) => Some(digit_pattern(v)?),
        };
        let friendly = p.non_empty("FriendlyName");
        let origin = p.non_empty("Origin");
        let live = self.read();
        let numbers = &live.numbers;
        let keep = |pos: usize| {
            numbers.get(pos).is_some_and(|n| {
                pattern
                    .as_ref()
                    .is_none_or(|pat| pattern_matches(pat, &n.phone_number))
                    && friendly.is_none_or(|f| n.friendly_name == f)
                    && origin.is_none_or(|o| o == "twilio")
            })
        };
        let find = |sid: &str| numbers.iter().position(|n| n.sid == sid);
        let all = 0..numbers.len();
        let (walk, has_next) = paging::walk(&req, std::slice::from_ref(&all), find, keep)?;
        let items: Vec<NumberView> = walk
            .positions
            .iter()
            .filter_map(|&i| numbers.get(i).map(|n| self.number_view(n)))
            .collect();
        let links = Links::new(
            format!("{}/IncomingPhoneNumbers.json", self.account_path()),
            p,
            &["Beta", "FriendlyName", "PhoneNumber", "Origin"],
            req.size,
        );
        let sid_at = |i: usize| numbers.get(i).map(|n| n.sid.clone());
        Ok(ListPage {
            key: "incoming_phone_numbers",
            links: walk.links(&links, &req, sid_at, has_next, walk.has_previous(&req)),
            items,
        })
    }

    /// `GET .../AvailablePhoneNumbers/US/Local.json`: the numbers for sale that match.
    pub(crate) fn available_page(
        &self,
        country: &str,
        p: &Params,
    ) -> Result<AvailablePage, TwilioError> {
        let uri = format!(
            "{}/AvailablePhoneNumbers/{country}/Local.json",
            self.account_path()
        );
        if country != "US" {
            return Err(TwilioError::not_found(&uri));
        }
        let req = PageRequest::parse(p)?;
        let area = match p.non_empty("AreaCode") {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (200..1000).contains(c))
                    .ok_or_else(|| TwilioError::bad(21451, format!("Invalid area code {v}")))?,
            ),
        };
        let contains = match p.non_empty("Contains") {
            None => None,
            Some(v) => Some(digit_pattern(v)?),
        };
        let mut caps = Vec::new();
        for key in ["SmsEnabled", "MmsEnabled", "VoiceEnabled", "FaxEnabled"] {
            if let Some(v) = p.non_empty(key) {
                caps.push((key, parse_bool(key, v)?));
            }
        }
        let text = |key: &str| p.non_empty(key).map(|v| v.trim().to_ascii_lowercase());
        let (region, postal, locality, rate_center, lata) = (
            text("InRegion"),
            text("InPostalCode"),
            text("InLocality"),
            text("InRateCenter"),
            text("InLata"),
        );
        let same = |want: &Option<String>, have: &str| {
            want.as_ref()
                .is_none_or(|w| *w == have.to_ascii_lowercase())
        };
        let live = self.read();
        let items = live
            .available
            .iter()
            .filter(|a| {
                let Some(ac) = data::AREA_CODES.get(a.area) else {
                    return false;
                };
                area.is_none_or(|c| c == ac.code)
                    && contains
                        .as_ref()
                        .is_none_or(|pat| pattern_matches(pat, &a.e164()))
                    && caps.iter().all(|&(k, want)| {
                        want == match k {
                            "SmsEnabled" => a.sms,
                            "MmsEnabled" => a.mms,
                            "VoiceEnabled" => a.voice,
                            _ => false,
                        }
                    })
                    && same(&region, ac.region)
                    && same(&postal, ac.postal_code)
                    && same(&locality, ac.locality)
                    && same(&rate_center, ac.rate_center)
                    && same(&lata, ac.lata)
            })
            .take(req.size)
            .map(TwilioState::available_view)
            .collect();
        Ok(AvailablePage {
            available_phone_numbers: items,
            uri,
        })
    }
}

/// The first index in `0..len` where `pred` turns false (`pred` true on a prefix).
fn partition(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// A `Contains` / `PhoneNumber` pattern: digits, letters (keypad digits) and `*` (any digit).
fn digit_pattern(v: &str) -> Result<Vec<Option<u8>>, TwilioError> {
    let v = v.trim().trim_start_matches('+');
    let mut out = Vec::with_capacity(v.len());
    for c in v.chars() {
        let d = match c.to_ascii_uppercase() {
            '*' => None,
            c @ '0'..='9' => Some(c as u8),
            'A'..='C' => Some(b'2'),
            'D'..='F' => Some(b'3'),
            'G'..='I' => Some(b'4'),
            'J'..='L' => Some(b'5'),
            'M'..='O' => Some(b'6'),
            'P'..='S' => Some(b'7'),
            'T'..='V' => Some(b'8'),
            'W'..='Z' => Some(b'9'),
            _ => {
                return Err(TwilioError::bad(
                    20422,
                    format!("Invalid pattern {v}: use digits, letters and *"),
                ));
            }
        };
        out.push(d);
    }
    if out.is_empty() {
        return Err(TwilioError::bad(20422, "The pattern is empty"));
    }
    Ok(out)
}

/// Whether `pattern` occurs in the digits of `e164`.
fn pattern_matches(pattern: &[Option<u8>], e164: &str) -> bool {
    let digits = e164.trim_start_matches('+').as_bytes();
    digits.windows(pattern.len()).any(|w| {
        w.iter()
            .zip(pattern)
            .all(|(d, p)| p.is_none_or(|p| p == *d))
    })
}

/// The AvailablePhoneNumbers Local answer (Twilio sends no paging fields here).
#[derive(Debug, serde::Serialize)]
pub(crate) struct AvailablePage {
    pub(crate) available_phone_numbers: Vec<AvailableView>,
    pub(crate) uri: String,
}

// ---- handlers ----

type St = State<Arc<SimState>>;

/// `/2010-04-01/Accounts/{account}/{rest}`.
fn account_path(account: &str, rest: &str) -> String {
    format!("/2010-04-01/Accounts/{account}/{rest}")
}

/// Counts the request as `name` and checks the account in `path` (404 naming `path`
/// otherwise), then gives what `then` gives.
fn in_account<T>(
    st: &SimState,
    name: &str,
    account: &str,
    path: &str,
    then: impl FnOnce(&TwilioState) -> Result<T, TwilioError>,
) -> Result<T, TwilioError> {
    st.stats.request(name);
    st.twilio
        .check_account(account, path)
        .and_then(|()| then(&st.twilio))
}

/// A 200 with the page `page` gives for the request's query, in the account's `rest`.
fn list_in_account<T: serde::Serialize>(
    st: &SimState,
    name: &str,
    account: &str,
    rest: &str,
    q: Option<&str>,
    page: impl FnOnce(&TwilioState, &Params) -> Result<T, TwilioError>,
) -> Response {
    let path = account_path(account, rest);
    let r = in_account(st, name, account, &path, |t| page(t, &Params::parse(q)));
    answer(StatusCode::OK, r)
}

/// What `find` gives for the SID of `{Sid}.json`, the last segment of `path` (404 naming
/// `path` when the segment is no `{Sid}.json` or `find` gives nothing).
fn by_sid<T>(
    seg: &str,
    path: &str,
    find: impl FnOnce(&str) -> Option<T>,
) -> Result<T, TwilioError> {
    strip_json(seg)
        .and_then(find)
        .ok_or_else(|| TwilioError::not_found(path))
}

/// The answer to a change: `done` when it was made (counted as the side effect `name`),
/// Twilio's error body otherwise.
fn changed<T>(
    st: &SimState,
    name: &str,
    r: Result<T, TwilioError>,
    done: impl FnOnce(T) -> Response,
) -> Response {
    match r {
        Ok(v) => {
            st.stats.side_effect(name);
            done(v)
        }
        Err(e) => error_response(&e),
    }
}

pub(crate) async fn fetch_account(State(st): St, Path(seg): Path<String>) -> Response {
    st.stats.request("twilio.accounts.fetch");
    let t = &st.twilio;
    let path = format!("/2010-04-01/Accounts/{seg}");
    match strip_json(&seg).map(|sid| t.check_account(sid, &path)) {
        Some(Ok(())) => Json(t.account_view()).into_response(),
        Some(Err(e)) => error_response(&e),
        None => error_response(&TwilioError::not_found(&path)),
    }
}

pub(crate) async fn fetch_balance(State(st): St, Path(account): Path<String>) -> Response {
    let path = account_path(&account, "Balance.json");
    let r = in_account(&st, "twilio.balance.fetch", &account, &path, |t| {
        Ok(t.balance_view())
    });
    answer(StatusCode::OK, r)
}

pub(crate) async fn list_messages(
    State(st): St,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (name, rest) = ("twilio.messages.list", "Messages.json");
    list_in_account(&st, name, &account, rest, q.as_deref(), |t, p| {
        t.messages_page(p)
    })
}

pub(crate) async fn create_message(
    State(st): St,
    Path(account): Path<String>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let owned = |k: &str| form_get(&f, k).map(str::to_owned);
    let req = SendRequest {
        to: owned("To"),
        from: owned("From"),
        messaging_service_sid: owned("MessagingServiceSid"),
        body: owned("Body"),
        has_media: form_get(&f, "MediaUrl").is_some_and(|m| !m.is_empty()),
    };
    let name = "twilio.messages.create";
    let path = account_path(&account, "Messages.json");
    let r = in_account(&st, name, &account, &path, |t| t.send(&req));
    changed(&st, name, r, |m| {
        let view = st.twilio.created_message_view(&m);
        (StatusCode::CREATED, Json(view)).into_response()
    })
}

pub(crate) async fn fetch_message(
    State(st): St,
    Path((account, seg)): Path<(String, String)>,
) -> Response {
    let path = account_path(&account, &format!("Messages/{seg}"));
    let r = in_account(&st, "twilio.messages.fetch", &account, &path, |t| {
        by_sid(&seg, &path, |sid| t.message(sid))
    });
    answer(StatusCode::OK, r)
}

pub(crate) async fn list_calls(
    State(st): St,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (name, rest) = ("twilio.calls.list", "Calls.json");
    list_in_account(&st, name, &account, rest, q.as_deref(), |t, p| {
        t.calls_page(p)
    })
}

pub(crate) async fn fetch_call(
    State(st): St,
    Path((account, seg)): Path<(String, String)>,
) -> Response {
    let path = account_path(&account, &format!("Calls/{seg}"));
    let r = in_account(&st, "twilio.calls.fetch", &account, &path, |t| {
        by_sid(&seg, &path, |sid| t.call(sid))
    });
    answer(StatusCode::OK, r)
}

pub(crate) async fn list_numbers(
    State(st): St,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (name, rest) = ("twilio.numbers.list", "IncomingPhoneNumbers.json");
    list_in_account(&st, name, &account, rest, q.as_deref(), |t, p| {
        t.numbers_page(p)
    })
}

pub(crate) async fn buy_number(
    State(st): St,
    Path(account): Path<String>,
    body: Bytes,
) -> Response {
    let f = form(&body);
    let given = |key: &str| form_get(&f, key).map(str::trim).filter(|s| !s.is_empty());
    let name = "twilio.numbers.buy";
    let path = account_path(&account, "IncomingPhoneNumbers.json");
    let r = in_account(&st, name, &account, &path, |t| {
        NumberUpdate::from_form(&f)
            .and_then(|config| t.buy(given("PhoneNumber"), given("AreaCode"), &config))
    });
    changed(&st, name, r, |n| {
        (StatusCode::CREATED, Json(st.twilio.number_view(&n))).into_response()
    })
}

pub(crate) async fn fetch_number(
    State(st): St,
    Path((account, seg)): Path<(String, String)>,
) -> Response {
    let path = account_path(&account, &format!("IncomingPhoneNumbers/{seg}"));
    let r = in_account(&st, "twilio.numbers.fetch", &account, &path, |t| {
        by_sid(&seg, &path, |sid| t.number(sid).map(|n| t.number_view(&n)))
    });
    answer(StatusCode::OK, r)
}

pub(crate) async fn update_number(
    State(st): St,
    Path((account, seg)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let name = "twilio.numbers.update";
    let path = account_path(&account, &format!("IncomingPhoneNumbers/{seg}"));
    let f = form(&body);
    let r = in_account(&st, name, &account, &path, |t| {
        NumberUpdate::from_form(&f)
            .and_then(|u| by_sid(&seg, &path, |sid| t.update_number(sid, &u)))
    });
    changed(&st, name, r, |n| {
        Json(st.twilio.number_view(&n)).into_response()
    })
}

pub(crate) async fn release_number(
    State(st): St,
    Path((account, seg)): Path<(String, String)>,
) -> Response {
    let name = "twilio.numbers.release";
    let path = account_path(&account, &format!("IncomingPhoneNumbers/{seg}"));
    let r = in_account(&st, name, &account, &path, |t| {
        by_sid(&seg, &path, |sid| t.release(sid).then_some(()))
    });
    changed(&st, name, r, |()| StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn list_available(
    State(st): St,
    Path((account, country)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let name = "twilio.available_numbers.list";
    let rest = format!("AvailablePhoneNumbers/{country}/Local.json");
    list_in_account(&st, name, &account, &rest, q.as_deref(), |t, p| {
        t.available_page(&country, p)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = digit_pattern("555*1").expect("ok");
        assert!(pattern_matches(&p, "+14155550100"));
        assert!(!pattern_matches(&p, "+14155559999"));
        let vanity = digit_pattern("JKL").expect("ok");
        assert!(pattern_matches(&vanity, "+14155550100"));
        assert!(digit_pattern("5!5").is_err());
        assert!(digit_pattern("  ").is_err());
        assert_eq!(partition(10, |i| i < 4), 4);
        assert_eq!(partition(0, |_| true), 0);
        assert!(super::super::request::is_e164("+14155550100"));
    }
}
