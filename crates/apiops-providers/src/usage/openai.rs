//! OpenAI's organization usage and costs, with the admin key: tokens and requests from
//! `GET /organization/usage/completions` (by model, project or day) and money from
//! `GET /organization/costs` (by line item, project or day). Both answer daily buckets, paged
//! with `page` / `next_page`.
//!
//! Without an admin key there are no figures, and the report says exactly what to set.

use std::collections::BTreeMap;

use apiops_core::Service;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Decimal, Figure, NoFigures, ServiceUsage, Span, Totals, UsageBy, UsageRow, day_of, sort_rows,
};
use crate::openai::OpenAi;
use crate::openai::client::OpenAiClient;
use crate::provider::ProviderError;

/// Where the token figures come from.
pub const USAGE_SOURCE: &str = "OpenAI organization usage (completions)";
/// Where the money comes from.
pub const COSTS_SOURCE: &str = "OpenAI organization costs";

/// What to set when there is no admin key.
pub const MISSING_ADMIN_KEY: &str = "OpenAI usage and costs need an organization admin key (sk-admin-...): set OPENAI_ADMIN_KEY, or admin_key under [openai] in the configuration; the API key in OPENAI_API_KEY cannot read them";

/// Most daily buckets per page.
const BUCKETS_PER_PAGE: u32 = 31;
/// At most this many pages per listing (a year of daily buckets is 12).
const MAX_PAGES: usize = 64;

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    data: Vec<Bucket>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Bucket {
    #[serde(default)]
    start_time: i64,
    #[serde(default)]
    results: Vec<Value>,
}

/// The figures of one group of completions usage.
const TOKEN_FIELDS: &[(&str, &str)] = &[
    ("input_tokens", "tokens"),
    ("input_cached_tokens", "tokens"),
    ("output_tokens", "tokens"),
    ("num_model_requests", "requests"),
];

async fn buckets(
    client: &OpenAiClient,
    path: &str,
    span: &Span,
    group_by: Option<&str>,
) -> Result<Vec<Bucket>, ProviderError> {
    let mut out = Vec::new();
    let mut page: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = vec![
            ("start_time", span.start.as_second().to_string()),
            ("end_time", span.end.as_second().to_string()),
            ("bucket_width", "1d".to_owned()),
            ("limit", BUCKETS_PER_PAGE.to_string()),
        ];
        if let Some(g) = group_by {
            query.push(("group_by", g.to_owned()));
        }
        if let Some(p) = &page {
            query.push(("page", p.clone()));
        }
        let got: Page = client.api().get_json(path, &query).await?;
        out.extend(got.data);
        match (got.has_more, got.next_page) {
            (true, Some(next)) if Some(&next) != page.as_ref() => page = Some(next),
            _ => return Ok(out),
        }
    }
    Err(ProviderError::Unexpected {
        service: Service::Openai,
        reason: format!("{path} handed out more than {MAX_PAGES} pages; stopped"),
    })
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Fetches usage and costs over `span`: two entries (tokens, money), or one saying what is
/// missing.
pub async fn fetch(openai: &OpenAi, span: &Span, by: UsageBy) -> Vec<ServiceUsage> {
    let Some(admin) = openai.admin_client() else {
        return vec![ServiceUsage::unavailable(
            Service::Openai,
            USAGE_SOURCE,
            by,
            NoFigures::NoAdminKey,
        )];
    };
    let by = match by {
        UsageBy::Category => UsageBy::Model,
        other => other,
    };
    let usage_group = match by {
        UsageBy::Model | UsageBy::Category => Some("model"),
        UsageBy::Project => Some("project_id"),
        UsageBy::Day => None,
    };
    let cost_group = match by {
        UsageBy::Project => Some("project_id"),
        UsageBy::Day => None,
        UsageBy::Model | UsageBy::Category => Some("line_item"),
    };
    let usage = match buckets(admin, "/organization/usage/completions", span, usage_group).await {
        Ok(b) => summarize_usage(&b, by),
        Err(e) => ServiceUsage::unavailable(
            Service::Openai,
            USAGE_SOURCE,
            by,
            NoFigures::Failed(format!("/organization/usage/completions: {e}")),
        ),
    };
    let cost_by = if by == UsageBy::Model {
        UsageBy::Category
    } else {
        by
    };
    let costs = match buckets(admin, "/organization/costs", span, cost_group).await {
        Ok(b) => summarize_costs(&b, cost_by),
        Err(e) => ServiceUsage::unavailable(
            Service::Openai,
            COSTS_SOURCE,
            cost_by,
            NoFigures::Failed(format!("/organization/costs: {e}")),
        ),
    };
    vec![usage, costs]
}

fn key_of(result: &Value, bucket: &Bucket, by: UsageBy, field: &str) -> String {
    match by {
        UsageBy::Day => day_of(bucket.start_time),
        _ => text(result, field).unwrap_or_else(|| "(all)".to_owned()),
    }
}

/// Token rows from usage buckets (pure, for tests).
fn summarize_usage(buckets: &[Bucket], by: UsageBy) -> ServiceUsage {
    let field = if by == UsageBy::Project {
        "project_id"
    } else {
        "model"
    };
    let mut sums: BTreeMap<String, [i64; 4]> = BTreeMap::new();
    for b in buckets {
        for r in &b.results {
            let s = sums.entry(key_of(r, b, by, field)).or_default();
            for (i, (name, _)) in TOKEN_FIELDS.iter().enumerate() {
                s[i] = s[i].saturating_add(r.get(*name).and_then(Value::as_i64).unwrap_or(0));
            }
        }
    }
    let mut totals = [0i64; 4];
    let mut rows: Vec<UsageRow> = sums
        .into_iter()
        .map(|(key, s)| {
            for i in 0..4 {
                totals[i] = totals[i].saturating_add(s[i]);
            }
            UsageRow {
                key,
                figures: TOKEN_FIELDS
                    .iter()
                    .zip(s)
                    .map(|((name, unit), v)| Figure::new(name, Decimal::from_int(v), unit))
                    .collect(),
            }
        })
        .collect();
    sort_rows(&mut rows, by, "input_tokens");
    ServiceUsage {
        service: Service::Openai,
        source: USAGE_SOURCE.to_owned(),
        by,
        rows,
        totals: Vec::new(),
        notes: vec![format!(
            "Completions: {} input tokens ({} cached), {} output tokens, {} requests.",
            totals[0], totals[1], totals[2], totals[3]
        )],
        missing: None,
    }
}

/// Money rows from cost buckets (pure, for tests).
fn summarize_costs(buckets: &[Bucket], by: UsageBy) -> ServiceUsage {
    let field = if by == UsageBy::Project {
        "project_id"
    } else {
        "line_item"
    };
    let mut sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut totals = Totals::default();
    for b in buckets {
        for r in &b.results {
            let amount = r.get("amount");
            let value = amount
                .and_then(|a| a.get("value"))
                .and_then(super::decimal_of)
                .unwrap_or_default();
            let cur = amount
                .and_then(|a| a.get("currency"))
                .and_then(Value::as_str)
                .unwrap_or("usd")
                .to_ascii_lowercase();
            *sums
                .entry((key_of(r, b, by, field), cur.clone()))
                .or_default() += value;
            totals.add("spend", &cur, value);
        }
    }
    let mut rows: Vec<UsageRow> = sums
        .into_iter()
        .map(|((key, cur), v)| UsageRow {
            key,
            figures: vec![Figure::new("cost", v, &cur)],
        })
        .collect();
    sort_rows(&mut rows, by, "cost");
    ServiceUsage {
        service: Service::Openai,
        source: COSTS_SOURCE.to_owned(),
        by,
        rows,
        totals: totals.into_money(),
        notes: Vec::new(),
        missing: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_costs_fold_buckets_by_their_group() {
        let b: Vec<Bucket> = serde_json::from_value(serde_json::json!([
            {"start_time": 86400, "results": [
                {"object": "organization.usage.completions.result", "model": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 2, "num_model_requests": 1},
                {"object": "organization.usage.completions.result", "model": "gpt-4o", "input_tokens": 5, "output_tokens": 1, "num_model_requests": 1}]},
            {"start_time": 172800, "results": [
                {"object": "organization.usage.completions.result", "model": "gpt-4o-mini", "input_tokens": 7, "output_tokens": 3, "num_model_requests": 2}]}
        ]))
        .expect("buckets");
        let u = summarize_usage(&b, UsageBy::Model);
        assert_eq!(u.rows[0].key, "gpt-4o-mini");
        assert_eq!(
            u.rows[0].figure("input_tokens").expect("in").value,
            Decimal::from_int(17)
        );
        assert_eq!(
            u.rows[0].figure("num_model_requests").expect("n").unit,
            "requests"
        );
        let days = summarize_usage(&b, UsageBy::Day);
        assert_eq!(days.rows[0].key, "1970-01-02");
        let c: Vec<Bucket> = serde_json::from_value(serde_json::json!([
            {"start_time": 0, "results": [
                {"object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"}, "line_item": "gpt-4o-mini, input"},
                {"object": "organization.costs.result", "amount": {"value": 0.1, "currency": "usd"}, "line_item": "gpt-4o-mini, output"}]}
        ]))
        .expect("costs");
        let costs = summarize_costs(&c, UsageBy::Category);
        assert_eq!(costs.total("spend", "USD").to_string(), "0.16");
        assert_eq!(costs.rows[0].key, "gpt-4o-mini, output");
    }
}
