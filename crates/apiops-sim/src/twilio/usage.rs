//! Twilio's Usage Records (`/2010-04-01/Accounts/{Sid}/Usage/Records[/Today|/Yesterday|
//! /ThisMonth|/LastMonth|/Daily|/Monthly|/Yearly|/AllTime].json`), derived from the generated
//! traffic so that they agree with it to the cent: each priced message (its `price`, its
//! `num_segments`) and each priced call (its `price`, its minutes) is counted on the UTC day it
//! was sent or started, and the account's numbers are charged their monthly price on the first
//! of the anchor's month.
//!
//! Categories: the leaves `sms-outbound`, `sms-inbound`, `calls-outbound`, `calls-inbound`,
//! `phonenumbers-local`, `phonenumbers-tollfree`, and the totals Twilio nests above them —
//! `sms`, `mms` (none generated), `calls`, `phonenumbers` and `totalprice` (everything).
//! Prices are exact: kept in hundred-thousandths of a dollar, written as JSON numbers as the
//! spec types them.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::data::{self, MessageStatus};
use super::paging::{Links, ListPage, PageLinks, PageRequest, PageToken, Params};
use super::state::{TwilioError, TwilioState};
use crate::server::SimState;

/// A category: its name, description, count unit and usage unit.
struct Category {
    name: &'static str,
    description: &'static str,
    count_unit: &'static str,
    usage_unit: &'static str,
    /// The leaves it sums (itself when empty).
    parts: &'static [&'static str],
}

/// Every category served, in Twilio's alphabetical order.
const CATEGORIES: &[Category] = &[
    Category {
        name: "calls",
        description: "Voice Minutes",
        count_unit: "calls",
        usage_unit: "minutes",
        parts: &["calls-inbound", "calls-outbound"],
    },
    Category {
        name: "calls-inbound",
        description: "Inbound Voice Minutes",
        count_unit: "calls",
        usage_unit: "minutes",
        parts: &[],
    },
    Category {
        name: "calls-outbound",
        description: "Outbound Voice Minutes",
        count_unit: "calls",
        usage_unit: "minutes",
        parts: &[],
    },
    Category {
        name: "mms",
        description: "MMS",
        count_unit: "messages",
        usage_unit: "messages",
        parts: &["mms"],
    },
    Category {
        name: "phonenumbers",
        description: "Phone Numbers",
        count_unit: "phone-numbers",
        usage_unit: "phone-numbers",
        parts: &["phonenumbers-local", "phonenumbers-tollfree"],
    },
    Category {
        name: "phonenumbers-local",
        description: "Local Phone Numbers",
        count_unit: "phone-numbers",
        usage_unit: "phone-numbers",
        parts: &[],
    },
    Category {
        name: "phonenumbers-tollfree",
        description: "Toll Free Phone Numbers",
        count_unit: "phone-numbers",
        usage_unit: "phone-numbers",
        parts: &[],
    },
    Category {
        name: "sms",
        description: "SMS",
        count_unit: "messages",
        usage_unit: "segments",
        parts: &["sms-inbound", "sms-outbound"],
    },
    Category {
        name: "sms-inbound",
        description: "Inbound SMS",
        count_unit: "messages",
        usage_unit: "segments",
        parts: &[],
    },
    Category {
        name: "sms-outbound",
        description: "Outbound SMS",
        count_unit: "messages",
        usage_unit: "segments",
        parts: &[],
    },
    Category {
        name: "totalprice",
        description: "Total Price",
        count_unit: "",
        usage_unit: "usd",
        parts: &[
            "calls-inbound",
            "calls-outbound",
            "phonenumbers-local",
            "phonenumbers-tollfree",
            "sms-inbound",
            "sms-outbound",
        ],
    },
];

/// Count, usage and price (1/100,000 USD) of one leaf on one day.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sums {
    pub(crate) count: u64,
    pub(crate) usage: u64,
    pub(crate) price_e5: u64,
}

impl Sums {
    fn add(&mut self, o: Sums) {
        self.count += o.count;
        self.usage += o.usage;
        self.price_e5 += o.price_e5;
    }
}

/// The leaves' sums per UTC day.
pub(crate) type Daily = BTreeMap<Date, BTreeMap<&'static str, Sums>>;

fn date_of(secs: i64) -> Date {
    Timestamp::from_second(secs)
        .map(|t| t.to_zoned(TimeZone::UTC).date())
        .unwrap_or(Date::constant(1970, 1, 1))
}

/// `-0.01580` -> 1580.
fn price_e5(price: &str) -> u64 {
    let p = price.trim().trim_start_matches('-');
    let (int, frac) = p.split_once('.').unwrap_or((p, ""));
    let frac = format!("{frac:0<5}");
    let int: u64 = int.parse().unwrap_or(0);
    let frac: u64 = frac.get(..5).and_then(|f| f.parse().ok()).unwrap_or(0);
    int * 100_000 + frac
}

impl TwilioState {
    /// The leaves' sums per day, from the generated messages and calls and the numbers.
    pub(crate) fn usage_daily(&self) -> Daily {
        let mut days: Daily = BTreeMap::new();
        let mut add = |day: Date, leaf: &'static str, s: Sums| {
            days.entry(day).or_default().entry(leaf).or_default().add(s);
        };
        for (pos, m) in self.generated.messages.iter().enumerate() {
            if matches!(m.status, MessageStatus::Failed | MessageStatus::Sending) {
                continue;
            }
            let Some(view) = self.message_view(pos) else {
                continue;
            };
            let Some(price) = view.price.as_deref() else {
                continue;
            };
            let leaf = if m.direction == data::Direction::Inbound {
                "sms-inbound"
            } else {
                "sms-outbound"
            };
            let segments: u64 = view.num_segments.parse().unwrap_or(1);
            add(
                date_of(self.anchor - i64::from(m.age)),
                leaf,
                Sums {
                    count: 1,
                    usage: segments,
                    price_e5: price_e5(price),
                },
            );
        }
        for (pos, c) in self.generated.calls.iter().enumerate() {
            let Some(view) = self.call_view(pos) else {
                continue;
            };
            let Some(price) = view.price.as_deref() else {
                continue;
            };
            let leaf = if c.inbound {
                "calls-inbound"
            } else {
                "calls-outbound"
            };
            add(
                date_of(self.anchor - i64::from(c.age)),
                leaf,
                Sums {
                    count: 1,
                    usage: u64::from(c.duration).div_ceil(60).max(1),
                    price_e5: price_e5(price),
                },
            );
        }
        let first = date_of(self.anchor).first_of_month();
        for i in 0..data::NUMBER_SEEDS.len() {
            let e164 = data::seed_number(i);
            let toll_free = [
                "+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888",
            ]
            .iter()
            .any(|p| e164.starts_with(p));
            let (leaf, price) = if toll_free {
                ("phonenumbers-tollfree", 215_000)
            } else {
                ("phonenumbers-local", 115_000)
            };
            add(
                first,
                leaf,
                Sums {
                    count: 1,
                    usage: 1,
                    price_e5: price,
                },
            );
        }
        days
    }

    /// A page of usage records for `sub` (`""` for `Records.json`, `Today`, `Daily`...).
    pub(crate) fn usage_page(&self, sub: &str, p: &Params) -> Result<ListPage<Value>, TwilioError> {
        let req = PageRequest::parse(p)?;
        let today = date_of(self.now());
        let daily = self.usage_daily();
        let earliest = daily.keys().next().copied().unwrap_or(today);
        let date = |name: &str| -> Result<Option<Date>, TwilioError> {
            match p.non_empty(name) {
                None => Ok(None),
                Some(v) => v.trim().parse::<Date>().map(Some).map_err(|_| {
                    TwilioError::bad(20001, format!("Invalid {name}: {v} (use YYYY-MM-DD)"))
                }),
            }
        };
        let (start, end) = match sub {
            "Today" => (today, today),
            "Yesterday" => {
                let y = today.yesterday().unwrap_or(today);
                (y, y)
            }
            "ThisMonth" => (today.first_of_month(), today),
            "LastMonth" => {
                let first = today.first_of_month();
                let prev = first.checked_sub(1.month()).unwrap_or(first);
                (prev, first.yesterday().unwrap_or(first))
            }
            "" | "Daily" | "Monthly" | "Yearly" | "AllTime" => (
                date("StartDate")?.unwrap_or(earliest.min(today)),
                date("EndDate")?.unwrap_or(today),
            ),
            _ => {
                return Err(TwilioError::not_found(&format!(
                    "/Usage/Records/{sub}.json"
                )));
            }
        };
        let category = p.non_empty("Category");
        if let Some(c) = category
            && !CATEGORIES.iter().any(|k| k.name == c)
        {
            return Err(TwilioError::bad(20001, format!("Invalid Category: {c}")));
        }
        // Periods: the whole range, or one per day/month/year with usage in it.
        let periods: Vec<(Date, Date)> = match sub {
            "Daily" => daily
                .keys()
                .filter(|d| **d >= start && **d <= end)
                .map(|d| (*d, *d))
                .collect(),
            "Monthly" | "Yearly" => {
                let mut seen: Vec<(Date, Date)> = Vec::new();
                for d in daily.keys().filter(|d| **d >= start && **d <= end) {
                    let from = if sub == "Monthly" {
                        d.first_of_month()
                    } else {
                        d.first_of_year()
                    };
                    let to = if sub == "Monthly" {
                        d.last_of_month()
                    } else {
                        d.last_of_year()
                    };
                    if seen.last().is_none_or(|l| l.0 != from) {
                        seen.push((from.max(start), to.min(end)));
                    }
                }
                seen
            }
            _ => vec![(start, end)],
        };
        let as_of = Timestamp::from_second(self.now())
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
            .unwrap_or_default();
        let path = if sub.is_empty() {
            format!("{}/Usage/Records.json", self.account_path())
        } else {
            format!("{}/Usage/Records/{sub}.json", self.account_path())
        };
        let mut all: Vec<Value> = Vec::new();
        for (from, to) in periods {
            let mut leaves: BTreeMap<&str, Sums> = BTreeMap::new();
            for (_, day) in daily.range(from..=to) {
                for (leaf, s) in day {
                    leaves.entry(leaf).or_default().add(*s);
                }
            }
            for k in CATEGORIES {
                if category.is_some_and(|c| c != k.name) {
                    continue;
                }
                let parts: &[&str] = if k.parts.is_empty() {
                    std::slice::from_ref(&k.name)
                } else {
                    k.parts
                };
                let mut s = Sums::default();
                for part in parts {
                    if let Some(v) = leaves.get(part) {
                        s.add(*v);
                    }
                }
                let price = s.price_e5 as f64 / 100_000.0;
                let (count, usage) = if k.name == "totalprice" {
                    ("0".to_owned(), format!("{price}"))
                } else {
                    (s.count.to_string(), s.usage.to_string())
                };
                all.push(record(self, k, from, to, &as_of, count, usage, price));
            }
        }
        let offset = match &req.token {
            None => 0,
            Some(PageToken::After(n)) => n
                .parse::<usize>()
                .map(|n| n + 1)
                .map_err(|_| super::paging::invalid_token(&format!("PA{n}")))?,
            Some(PageToken::Before(n)) => n
                .parse::<usize>()
                .map(|n| n.saturating_sub(req.size))
                .map_err(|_| super::paging::invalid_token(&format!("PB{n}")))?,
        };
        let offset = if req.token.is_none() {
            usize::try_from(req.page)
                .unwrap_or(usize::MAX)
                .saturating_mul(req.size)
        } else {
            offset
        };
        let total = all.len();
        let items: Vec<Value> = all.into_iter().skip(offset).take(req.size).collect();
        let last = offset + items.len();
        let links = Links::new(
            path,
            p,
            &["Category", "StartDate", "EndDate", "IncludeSubaccounts"],
            req.size,
        );
        let first_id = (!items.is_empty()).then(|| offset.to_string());
        let last_id = (!items.is_empty()).then(|| (last - 1).to_string());
        Ok(ListPage {
            key: "usage_records",
            items,
            links: PageLinks::build(
                &links,
                &req,
                first_id.as_deref(),
                last_id.as_deref(),
                last < total,
                offset > 0,
            ),
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    t: &TwilioState,
    k: &Category,
    from: Date,
    to: Date,
    as_of: &str,
    count: String,
    usage: String,
    price: f64,
) -> Value {
    let base = format!("{}/Usage/Records", t.account_path());
    let q = format!("?Category={}&StartDate={from}&EndDate={to}", k.name);
    let subs: BTreeMap<&str, String> = [
        ("all_time", "AllTime"),
        ("daily", "Daily"),
        ("last_month", "LastMonth"),
        ("monthly", "Monthly"),
        ("this_month", "ThisMonth"),
        ("today", "Today"),
        ("yearly", "Yearly"),
        ("yesterday", "Yesterday"),
    ]
    .into_iter()
    .map(|(key, sub)| (key, format!("{base}/{sub}.json?Category={}", k.name)))
    .collect();
    json!({
        "account_sid": t.account_sid,
        "api_version": "2010-04-01",
        "as_of": as_of,
        "category": k.name,
        "count": count,
        "count_unit": k.count_unit,
        "description": k.description,
        "end_date": to.to_string(),
        "price": price,
        "price_unit": "usd",
        "start_date": from.to_string(),
        "subresource_uris": subs,
        "uri": format!("{base}.json{q}"),
        "usage": usage,
        "usage_unit": k.usage_unit,
    })
}

/// `GET .../Usage/Records.json`
pub(crate) async fn list_records(
    State(st): State<Arc<SimState>>,
    Path(account): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    serve(&st, &account, "", q.as_deref())
}

/// `GET .../Usage/Records/{Sub}.json`
pub(crate) async fn list_sub_records(
    State(st): State<Arc<SimState>>,
    Path((account, sub)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(sub) = sub.strip_suffix(".json") else {
        return super::api::error_response(&TwilioError::not_found(&format!(
            "/2010-04-01/Accounts/{account}/Usage/Records/{sub}"
        )));
    };
    serve(&st, &account, sub, q.as_deref())
}

fn serve(st: &SimState, account: &str, sub: &str, q: Option<&str>) -> Response {
    st.stats.request("twilio.usage_records.list");
    let t = &st.twilio;
    let path = if sub.is_empty() {
        format!("/2010-04-01/Accounts/{account}/Usage/Records.json")
    } else {
        format!("/2010-04-01/Accounts/{account}/Usage/Records/{sub}.json")
    };
    let r = t
        .check_account(account, &path)
        .and_then(|()| t.usage_page(sub, &Params::parse(q)));
    super::api::answer(StatusCode::OK, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_to_hundred_thousandths() {
        assert_eq!(price_e5("-0.00790"), 790);
        assert_eq!(price_e5("-0.0158"), 1580);
        assert_eq!(price_e5("1.15"), 115_000);
    }
}
