//! Stripe's balance transactions (`GET /v1/balance_transactions`), consistent with the
//! generated events: every succeeded charge is a `charge` transaction (Stripe's US card fee,
//! 2.9% + 30¢), every refunded charge a `charge` at the time it was charged and a `refund`
//! when refunded, every dispute an `adjustment` (the amount back, a 15.00 dispute fee), every
//! paid payout a `payout`. History beyond the events (a year of transactions for a benchmark)
//! can be added at run time with `POST /_sim/stripe/balance_transactions`; those are charges
//! and refunds too, with the same fee rule.
//!
//! Transactions are compact (integers and indexes); their JSON is built per page. Ids encode
//! their position (`txn_` + 24 hex digits ending in it), so a cursor costs nothing to find.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::events::Event;
use super::paging::{self, Cursor, PageRequest};
use super::request::{self, Params, StripeError};
use crate::server::SimState;

/// A transaction's type, as Stripe names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Charge,
    Refund,
    Adjustment,
    Payout,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Charge => "charge",
            Kind::Refund => "refund",
            Kind::Adjustment => "adjustment",
            Kind::Payout => "payout",
        }
    }

    fn reporting_category(self) -> &'static str {
        match self {
            Kind::Charge => "charge",
            Kind::Refund => "refund",
            Kind::Adjustment => "dispute",
            Kind::Payout => "payout",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Kind::Charge => "ch",
            Kind::Refund => "re",
            Kind::Adjustment => "du",
            Kind::Payout => "po",
        }
    }
}

/// One balance transaction, compact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Txn {
    /// Unix seconds.
    pub(crate) created: i64,
    /// Gross, in cents (negative for refunds, disputes, payouts).
    pub(crate) amount: i64,
    /// Stripe's fee, in cents.
    pub(crate) fee: i64,
    pub(crate) kind: Kind,
    /// The source object's id (`ch_...`), or `None` to derive one from the position.
    pub(crate) source: Option<String>,
}

impl Txn {
    /// Its type's name (`charge`, `refund`...).
    pub(crate) fn kind_name(&self) -> &'static str {
        self.kind.as_str()
    }
}

/// Stripe's US card fee: 2.9% + 30¢, rounded to the cent.
pub(crate) fn card_fee(amount: i64) -> i64 {
    (amount * 29 + 500) / 1000 + 30
}

/// The dispute fee, in cents.
const DISPUTE_FEE: i64 = 1500;

fn object_of(e: &Event) -> &Value {
    &e.body["data"]["object"]
}

/// The transactions the events imply, newest first.
pub(crate) fn from_events(events: &[Event]) -> Vec<Txn> {
    let mut out = Vec::new();
    for e in events {
        let o = object_of(e);
        let amount = o["amount"].as_i64().unwrap_or(0);
        let id = o["id"].as_str().map(str::to_owned);
        match e.kind {
            "charge.succeeded" => out.push(Txn {
                created: e.created,
                amount,
                fee: card_fee(amount),
                kind: Kind::Charge,
                source: id,
            }),
            "charge.refunded" => {
                let charged = o["created"].as_i64().unwrap_or(e.created);
                out.push(Txn {
                    created: charged,
                    amount,
                    fee: card_fee(amount),
                    kind: Kind::Charge,
                    source: id.clone(),
                });
                let refunded = o["amount_refunded"].as_i64().unwrap_or(amount);
                out.push(Txn {
                    created: e.created,
                    amount: -refunded,
                    fee: 0,
                    kind: Kind::Refund,
                    source: id.map(|c| format!("re_{}", c.trim_start_matches("ch_"))),
                });
            }
            "charge.dispute.created" => out.push(Txn {
                created: e.created,
                amount: -amount,
                fee: DISPUTE_FEE,
                kind: Kind::Adjustment,
                source: id,
            }),
            "payout.paid" => out.push(Txn {
                created: e.created,
                amount: -amount,
                fee: 0,
                kind: Kind::Payout,
                source: id,
            }),
            _ => {}
        }
    }
    sort_newest_first(&mut out);
    out
}

/// Newest first; ties keep a stable, deterministic order.
pub(crate) fn sort_newest_first(txns: &mut [Txn]) {
    txns.sort_by(|a, b| b.created.cmp(&a.created).then(a.amount.cmp(&b.amount)));
}

/// `count` charges (and about one refund in twenty) spread over `span` seconds before `before`,
/// newest first, from `seed`.
pub(crate) fn history(seed: u64, before: i64, span: i64, count: usize) -> Vec<Txn> {
    let mut r = crate::rng::for_purpose(seed, "stripe.balance_history");
    let span = span.max(1);
    let mut out: Vec<Txn> = (0..count)
        .map(|_| {
            let created = before - 1 - r.i64(0..span);
            let amount = r.i64(500..25_000);
            if r.u32(..20) == 0 {
                Txn {
                    created,
                    amount: -amount,
                    fee: 0,
                    kind: Kind::Refund,
                    source: None,
                }
            } else {
                Txn {
                    created,
                    amount,
                    fee: card_fee(amount),
                    kind: Kind::Charge,
                    source: None,
                }
            }
        })
        .collect();
    sort_newest_first(&mut out);
    out
}

/// `txn_` + 24 hex digits, the last 12 the position.
pub(crate) fn id_of(salt: u64, pos: usize) -> String {
    format!("txn_{:012x}{:012x}", salt & 0xffff_ffff_ffff, pos)
}

fn position_of(salt: u64, id: &str) -> Option<usize> {
    let hex = id.strip_prefix("txn_")?;
    if hex.len() != 24 || u64::from_str_radix(&hex[..12], 16).ok()? != salt & 0xffff_ffff_ffff {
        return None;
    }
    usize::from_str_radix(&hex[12..], 16).ok()
}

fn render(t: &Txn, id: String, pos: usize) -> Value {
    let source = t
        .source
        .clone()
        .unwrap_or_else(|| format!("{}_sim{pos:020}", t.kind.prefix()));
    let description = match t.kind {
        Kind::Charge => Some("Card payment"),
        Kind::Refund => Some("REFUND FOR CHARGE"),
        Kind::Adjustment => Some("Chargeback withdrawal"),
        Kind::Payout => Some("STRIPE PAYOUT"),
    };
    let fee_details: Vec<Value> = if t.fee == 0 {
        vec![]
    } else {
        vec![json!({
            "amount": t.fee,
            "application": null,
            "currency": "usd",
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        })]
    };
    json!({
        "amount": t.amount,
        "available_on": t.created + 2 * 86_400,
        "created": t.created,
        "currency": "usd",
        "description": description,
        "exchange_rate": null,
        "fee": t.fee,
        "fee_details": fee_details,
        "id": id,
        "net": t.amount - t.fee,
        "object": "balance_transaction",
        "reporting_category": t.kind.reporting_category(),
        "source": source,
        "status": "available",
        "type": t.kind.as_str(),
    })
}

const LIST_PARAMS: &[&str] = &[
    "created",
    "currency",
    "ending_before",
    "expand",
    "limit",
    "payout",
    "source",
    "starting_after",
    "type",
];

/// One page of `txns` (newest first) for the query.
pub(crate) fn list_page(txns: &[Txn], salt: u64, p: &Params) -> Result<Value, StripeError> {
    p.check_allowed(LIST_PARAMS)?;
    p.array("expand")?;
    let req = PageRequest::parse(p)?;
    let created = super::events::EventFilter::parse(p)?;
    let (gt, gte, lt, lte) = (created.gt, created.gte, created.lt, created.lte);
    let kind = p.scalar("type")?.map(str::to_owned);
    let currency = p.scalar("currency")?.map(str::to_ascii_lowercase);
    let keep = |t: &Txn| {
        gt.is_none_or(|v| t.created > v)
            && gte.is_none_or(|v| t.created >= v)
            && lt.is_none_or(|v| t.created < v)
            && lte.is_none_or(|v| t.created <= v)
            && kind.as_deref().is_none_or(|k| k == t.kind.as_str())
            && currency.as_deref().is_none_or(|c| c == "usd")
    };
    let cursor_pos = |c: &str, param: &str| {
        position_of(salt, c)
            .filter(|p| *p < txns.len())
            .ok_or_else(|| {
                request::invalid(
                    param,
                    Some("resource_missing"),
                    &format!("No such balance transaction: '{c}'"),
                )
            })
    };
    let (positions, has_more): (Vec<usize>, bool) = match &req.cursor {
        Cursor::Start | Cursor::After(_) => {
            let from = match &req.cursor {
                Cursor::After(c) => cursor_pos(c, "starting_after")? + 1,
                _ => first_at_or_before(txns, lt.or(lte.map(|v| v + 1))),
            };
            let mut matching = (from..txns.len()).filter(|&i| keep(&txns[i]));
            let data: Vec<usize> = matching.by_ref().take(req.limit).collect();
            // The list is newest first: past the lower bound nothing more can match.
            let more = matching.next().is_some();
            (data, more)
        }
        Cursor::Before(c) => {
            let to = cursor_pos(c, "ending_before")?;
            let matching: Vec<usize> = (0..to).filter(|&i| keep(&txns[i])).collect();
            let start = matching.len().saturating_sub(req.limit);
            (matching[start..].to_vec(), start > 0)
        }
    };
    let data = positions
        .into_iter()
        .map(|i| render(&txns[i], id_of(salt, i), i))
        .collect();
    Ok(paging::envelope("/v1/balance_transactions", data, has_more))
}

/// The first position whose time is before `bound` (binary search: newest first).
fn first_at_or_before(txns: &[Txn], bound: Option<i64>) -> usize {
    match bound {
        None => 0,
        Some(b) => txns.partition_point(|t| t.created >= b),
    }
}

/// `GET /v1/balance_transactions`
pub(crate) async fn list(State(state): State<Arc<SimState>>, RawQuery(q): RawQuery) -> Response {
    state.stats.request("stripe.balance_transactions.list");
    let p = Params::from_query(q.as_deref());
    let stripe = &state.stripe;
    match list_page(&stripe.balance_transactions(), stripe.balance_salt(), &p) {
        Ok(body) => axum::Json(body).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// `POST /_sim/stripe/balance_transactions`: `{"count": N, "days": D}` adds N charges and
/// refunds over the D days (default 365) before the oldest transaction.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryRequest {
    count: usize,
    #[serde(default)]
    days: Option<u32>,
}

/// The most transactions one request may add.
const MAX_HISTORY: usize = 2_000_000;

/// `POST /_sim/stripe/balance_transactions`
pub(crate) async fn history_route(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    if let Some(refused) = crate::live::refuse_remote(&state.config) {
        return refused;
    }
    let req: HistoryRequest = match crate::live::parse_body(&body) {
        Ok(r) => r,
        Err(reason) => return crate::live::refuse(StatusCode::BAD_REQUEST, &reason),
    };
    if req.count > MAX_HISTORY {
        return crate::live::refuse(
            StatusCode::BAD_REQUEST,
            &format!("count must be at most {MAX_HISTORY}"),
        );
    }
    let days = i64::from(req.days.unwrap_or(365).clamp(1, 3650));
    let total = state.stripe.add_balance_history(req.count, days * 86_400);
    (
        StatusCode::CREATED,
        axum::Json(json!({"added": req.count, "total": total})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_others() {
        let id = id_of(0xabc, 42);
        assert_eq!(position_of(0xabc, &id), Some(42));
        assert_eq!(position_of(0xabd, &id), None);
        assert_eq!(position_of(0xabc, "txn_123"), None);
        assert_eq!(card_fee(1000), 59);
    }

    #[test]
    fn pages_walk_every_transaction_once_within_the_window() {
        let txns = history(7, 1_000_000, 100_000, 250);
        let salt = 9;
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q = "limit=100&created[gte]=950000&created[lt]=990000".to_owned();
            if let Some(a) = &after {
                q.push_str(&format!("&starting_after={a}"));
            }
            let page = list_page(&txns, salt, &Params::parse(q.as_bytes())).expect("page");
            let data = page["data"].as_array().expect("data").clone();
            for t in &data {
                seen.push(t["id"].as_str().expect("id").to_owned());
            }
            after = data
                .last()
                .map(|t| t["id"].as_str().expect("id").to_owned());
            if !page["has_more"].as_bool().expect("has_more") {
                break;
            }
        }
        let expected = txns
            .iter()
            .filter(|t| (950_000..990_000).contains(&t.created))
            .count();
        assert_eq!(seen.len(), expected);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len());
    }
}
