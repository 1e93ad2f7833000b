//! Twilio's spend and volume from Usage Records
//! (`/2010-04-01/Accounts/{Sid}/Usage/Records[/Today|/ThisMonth|/LastMonth|/Daily].json`).
//!
//! Twilio's categories nest (`sms` holds `sms-outbound` and `sms-inbound`; `totalprice` holds
//! everything), so the report shows the top-level categories that do not overlap — SMS, MMS,
//! calls, phone numbers — and, when Twilio's own `totalprice` is more than their sum, the rest
//! as `other`. The spend total is `totalprice` when Twilio sends it.

use std::collections::BTreeMap;

use apiops_core::Service;
use futures::TryStreamExt;
use serde::Deserialize;

use super::{
    Decimal, Figure, NoFigures, ServiceUsage, Span, Totals, UsageBy, UsagePeriod, UsageRow,
    decimal_of, sort_rows,
};
use crate::provider::ProviderError;
use crate::twilio::client::{Host, TwilioClient};

/// The categories shown: top level, not overlapping.
pub const CATEGORIES: &[&str] = &["sms", "mms", "calls", "phonenumbers"];

/// Twilio's all-inclusive category.
pub const TOTAL_CATEGORY: &str = "totalprice";

/// Where the figures come from.
pub const SOURCE: &str = "Twilio Usage Records";

/// One usage record, as the 2010 API sends it (numbers as strings, `price` a number).
#[derive(Debug, Clone, Deserialize)]
pub struct UsageRecord {
    /// `sms`, `calls`, `totalprice`...
    #[serde(default)]
    pub category: Option<String>,
    /// How many events.
    #[serde(default)]
    pub count: Option<serde_json::Value>,
    /// Their unit (`messages`, `calls`).
    #[serde(default)]
    pub count_unit: Option<String>,
    /// The billed quantity.
    #[serde(default)]
    pub usage: Option<serde_json::Value>,
    /// Its unit (`segments`, `minutes`).
    #[serde(default)]
    pub usage_unit: Option<String>,
    /// The price.
    #[serde(default)]
    pub price: Option<serde_json::Value>,
    /// Its currency (`usd`).
    #[serde(default)]
    pub price_unit: Option<String>,
    /// First day included.
    #[serde(default)]
    pub start_date: Option<String>,
}

impl UsageRecord {
    fn number(v: &Option<serde_json::Value>) -> Decimal {
        v.as_ref().and_then(decimal_of).unwrap_or_default()
    }

    /// Its count.
    pub fn count(&self) -> Decimal {
        Self::number(&self.count)
    }

    /// Its usage.
    pub fn usage(&self) -> Decimal {
        Self::number(&self.usage)
    }

    /// Its price (Twilio writes usage prices positive).
    pub fn price(&self) -> Decimal {
        Self::number(&self.price).abs()
    }

    fn currency(&self) -> String {
        self.price_unit
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| "usd".to_owned())
            .to_ascii_lowercase()
    }
}

/// The path and query for a period (`Daily` when grouped by day).
fn request(client: &TwilioClient, span: &Span, by: UsageBy) -> (String, Vec<(String, String)>) {
    let base = format!("{}/Usage/Records", client.account_path());
    let dates = || {
        vec![
            ("StartDate".to_owned(), span.start_date().to_string()),
            ("EndDate".to_owned(), span.end_date().to_string()),
        ]
    };
    let mut query = vec![("PageSize".to_owned(), "1000".to_owned())];
    let path = if by == UsageBy::Day {
        query.extend(dates());
        format!("{base}/Daily.json")
    } else {
        match span.period {
            UsagePeriod::Today => format!("{base}/Today.json"),
            UsagePeriod::ThisMonth => format!("{base}/ThisMonth.json"),
            UsagePeriod::LastMonth => format!("{base}/LastMonth.json"),
            UsagePeriod::Last(_) => {
                query.extend(dates());
                format!("{base}.json")
            }
        }
    };
    (path, query)
}

/// Fetches and summarizes Twilio's usage over `span`, by category (or by day).
pub async fn fetch(client: &TwilioClient, span: &Span, by: UsageBy) -> ServiceUsage {
    let by = if by == UsageBy::Day {
        UsageBy::Day
    } else {
        UsageBy::Category
    };
    let (path, query) = request(client, span, by);
    let mut records = Vec::new();
    let mut pages = client.pages::<UsageRecord>(Host::Api, path, query, "usage_records");
    loop {
        match pages.try_next().await {
            Ok(Some(page)) => records.extend(page),
            Ok(None) => break,
            Err(e) => {
                return ServiceUsage::unavailable(
                    Service::Twilio,
                    SOURCE,
                    by,
                    NoFigures::Failed(format!("Usage Records: {}", ProviderError::from(e))),
                );
            }
        }
    }
    summarize(&records, span, by)
}

/// Rows and totals from the records (pure, for tests).
pub fn summarize(records: &[UsageRecord], span: &Span, by: UsageBy) -> ServiceUsage {
    let mut notes = vec![format!(
        "Twilio counts usage by whole UTC days: {} to {}.",
        span.start_date(),
        span.end_date()
    )];
    let mut totals = Totals::default();
    let rows = if by == UsageBy::Day {
        by_day(records, &mut totals)
    } else {
        by_category(records, &mut totals, &mut notes)
    };
    let mut rows = rows;
    sort_rows(&mut rows, by, "price");
    ServiceUsage {
        service: Service::Twilio,
        source: SOURCE.to_owned(),
        by,
        rows,
        totals: totals.into_money(),
        notes,
        missing: None,
    }
}

fn category(r: &UsageRecord) -> &str {
    r.category.as_deref().unwrap_or("")
}

fn by_category(
    records: &[UsageRecord],
    totals: &mut Totals,
    notes: &mut Vec<String>,
) -> Vec<UsageRow> {
    // category -> (count, count unit, usage, usage unit, price, currency)
    let mut shown: BTreeMap<&str, (Decimal, String, Decimal, String, Decimal, String)> =
        BTreeMap::new();
    let mut total: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in records {
        let cat = category(r);
        if cat == TOTAL_CATEGORY {
            *total.entry(r.currency()).or_default() += r.price();
            continue;
        }
        let Some(&name) = CATEGORIES.iter().find(|c| **c == cat) else {
            continue;
        };
        let e = shown.entry(name).or_insert_with(|| {
            (
                Decimal::ZERO,
                r.count_unit.clone().unwrap_or_default(),
                Decimal::ZERO,
                r.usage_unit.clone().unwrap_or_default(),
                Decimal::ZERO,
                r.currency(),
            )
        });
        e.0 += r.count();
        e.2 += r.usage();
        e.4 += r.price();
    }
    let mut rows = Vec::new();
    let mut sum_shown: BTreeMap<String, Decimal> = BTreeMap::new();
    for (name, (count, cu, usage, uu, price, cur)) in shown {
        *sum_shown.entry(cur.clone()).or_default() += price;
        rows.push(UsageRow {
            key: name.to_owned(),
            figures: vec![
                Figure::new("count", count, &cu),
                Figure::new("usage", usage, &uu),
                Figure::new("price", price, &cur),
            ],
        });
    }
    for (cur, shown_price) in &sum_shown {
        let all = total.get(cur).copied().unwrap_or(*shown_price);
        let rest = all - *shown_price;
        if rest > Decimal::ZERO {
            rows.push(UsageRow {
                key: "other".to_owned(),
                figures: vec![Figure::new("price", rest, cur)],
            });
            notes.push(format!(
                "\"other\" is Twilio's totalprice less the categories shown ({rest} {cur})."
            ));
        }
        totals.add("spend", cur, all);
    }
    for (cur, all) in total {
        if !sum_shown.contains_key(&cur) {
            totals.add("spend", &cur, all);
        }
    }
    rows
}

fn by_day(records: &[UsageRecord], totals: &mut Totals) -> Vec<UsageRow> {
    // day -> category -> record figures; the day's price is its totalprice (or the sum shown).
    let mut days: BTreeMap<String, Vec<&UsageRecord>> = BTreeMap::new();
    for r in records {
        let day = r.start_date.clone().unwrap_or_default();
        days.entry(day).or_default().push(r);
    }
    let mut rows = Vec::new();
    for (day, recs) in days {
        let mut figures = Vec::new();
        let mut shown = Decimal::ZERO;
        let mut cur = "usd".to_owned();
        for name in ["sms", "mms", "calls"] {
            if let Some(r) = recs.iter().find(|r| category(r) == name) {
                figures.push(Figure::new(
                    &format!("{name}_count"),
                    r.count(),
                    r.count_unit.as_deref().unwrap_or(""),
                ));
            }
        }
        for r in recs.iter().filter(|r| CATEGORIES.contains(&category(r))) {
            shown += r.price();
            cur = r.currency();
        }
        let price = recs
            .iter()
            .find(|r| category(r) == TOTAL_CATEGORY)
            .map(|r| {
                cur = r.currency();
                r.price()
            })
            .unwrap_or(shown);
        figures.push(Figure::new("price", price, &cur));
        totals.add("spend", &cur, price);
        rows.push(UsageRow { key: day, figures });
    }
    rows
}
