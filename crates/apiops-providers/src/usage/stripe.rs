//! Stripe's volume and fees from balance transactions (`GET /v1/balance_transactions`), paged
//! in constant memory: each page is folded into per-(type, currency) sums and dropped, so a
//! year of transactions costs what one page and the sums cost.
//!
//! Amounts are in each currency's minor unit on the wire (cents); the report converts them to
//! the currency's major unit with Stripe's list of zero- and three-decimal currencies.

use std::collections::BTreeMap;

use apiops_client::pagination::{self, PageStyle};
use apiops_core::Service;
use futures::{Stream, StreamExt, TryStreamExt};
use serde::Deserialize;

use super::{
    Decimal, Figure, NoFigures, ServiceUsage, Span, Totals, UsageBy, UsageRow, day_of, sort_rows,
};
use crate::provider::ProviderError;
use crate::stripe::client::{MAX_PAGE_SIZE, StripeClient};

/// Where the figures come from.
pub const SOURCE: &str = "Stripe balance transactions";

/// One balance transaction: what the report reads of it.
#[derive(Debug, Clone, Deserialize)]
pub struct BalanceTransaction {
    /// `txn_...`
    pub id: String,
    /// Gross, in minor units (negative for refunds, payouts, disputes).
    pub amount: i64,
    /// Stripe's fees, in minor units.
    #[serde(default)]
    pub fee: i64,
    /// `amount - fee`.
    #[serde(default)]
    pub net: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// `charge`, `refund`, `payout`, `adjustment` (disputes), `stripe_fee`...
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
}

/// Decimals of a currency's minor unit, as Stripe counts them.
pub fn exponent(currency: &str) -> u32 {
    const ZERO: &[&str] = &[
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    const THREE: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];
    let c = currency.to_ascii_lowercase();
    if ZERO.contains(&c.as_str()) {
        0
    } else if THREE.contains(&c.as_str()) {
        3
    } else {
        2
    }
}

/// The transactions created in `span`, item by item across pages of 100.
pub fn transactions(
    client: &StripeClient,
    span: &Span,
) -> impl Stream<Item = Result<BalanceTransaction, apiops_client::ClientError>> + Send + 'static + use<>
{
    let query = vec![
        ("limit".to_owned(), MAX_PAGE_SIZE.to_string()),
        (
            "created[gte]".to_owned(),
            span.start.as_second().to_string(),
        ),
        (
            "created[lt]".to_owned(),
            span.end
                .as_second()
                .max(span.start.as_second() + 1)
                .to_string(),
        ),
    ];
    pagination::paginate(
        client.api().clone(),
        "/v1/balance_transactions".to_owned(),
        query,
        PageStyle::Stripe,
    )
}

/// Running sums, per (key, currency): what stays in memory however many transactions pass.
#[derive(Debug, Default)]
pub struct Fold {
    sums: BTreeMap<(String, String), Sums>,
    count: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    count: i64,
    gross: i64,
    fee: i64,
    net: i64,
}

impl Fold {
    /// Adds one transaction under its type (or its day).
    pub fn push(&mut self, t: &BalanceTransaction, by: UsageBy) {
        let key = if by == UsageBy::Day {
            day_of(t.created)
        } else {
            t.kind.clone()
        };
        let s = self
            .sums
            .entry((key, t.currency.to_ascii_lowercase()))
            .or_default();
        s.count = s.count.saturating_add(1);
        s.gross = s.gross.saturating_add(t.amount);
        s.fee = s.fee.saturating_add(t.fee);
        s.net = s.net.saturating_add(t.net);
        self.count += 1;
    }

    /// How many transactions were folded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// How many groups it holds (its memory).
    pub fn groups(&self) -> usize {
        self.sums.len()
    }

    /// The report.
    pub fn finish(self, span: &Span, by: UsageBy) -> ServiceUsage {
        let mut totals = Totals::default();
        let mut rows = Vec::new();
        for ((key, cur), s) in self.sums {
            let e = exponent(&cur);
            let gross = Decimal::from_minor(s.gross, e);
            let fee = Decimal::from_minor(s.fee, e);
            let net = Decimal::from_minor(s.net, e);
            totals.add("gross", &cur, gross);
            totals.add("fees", &cur, fee);
            totals.add("net", &cur, net);
            rows.push(UsageRow {
                key,
                figures: vec![
                    Figure::new("count", Decimal::from_int(s.count), "transactions"),
                    Figure::new("gross", gross, &cur),
                    Figure::new("fee", fee, &cur),
                    Figure::new("net", net, &cur),
                ],
            });
        }
        sort_rows(&mut rows, by, "gross");
        ServiceUsage {
            service: Service::Stripe,
            source: SOURCE.to_owned(),
            by,
            rows,
            totals: totals.into_money(),
            notes: vec![format!(
                "{} balance transactions created in {}; gross is signed (refunds, payouts and disputes are negative), fees are what Stripe charged.",
                self.count, span.label
            )],
            missing: None,
        }
    }
}

/// Fetches and summarizes Stripe's balance transactions over `span`, by type (or by day).
pub async fn fetch(client: &StripeClient, span: &Span, by: UsageBy) -> ServiceUsage {
    let by = if by == UsageBy::Day {
        UsageBy::Day
    } else {
        UsageBy::Category
    };
    let mut fold = Fold::default();
    let mut stream = std::pin::pin!(transactions(client, span).into_stream());
    while let Some(item) = stream.next().await {
        match item {
            Ok(t) => fold.push(&t, by),
            Err(e) => {
                let e = crate::wire::scrub(client.api().redactor(), e);
                return ServiceUsage::unavailable(
                    Service::Stripe,
                    SOURCE,
                    by,
                    NoFigures::Failed(format!(
                        "balance transactions (after {} read): {}",
                        fold.count(),
                        ProviderError::from(e)
                    )),
                );
            }
        }
    }
    fold.finish(span, by)
}
