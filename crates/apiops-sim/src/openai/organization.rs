//! The admin API (the edge lets only the admin key through to `/organization/...`):
//! projects, their per-model rate limits, completions usage and costs.
//!
//! Usage is a pure function of (seed, project, model, hour): each hour of the 90 days before the
//! anchor has a deterministic request count and token totals, with a daily rhythm. Daily buckets
//! are sums of hours and minute buckets split an hour evenly, so any bucket width over any range
//! gives consistent totals, and nothing is stored per bucket. Costs price the same usage.
//!
//! The data carries one misconfiguration worth finding: a project whose rate limit for its main
//! model is set far below its traffic.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::request::{self, OpenAiError, Query, invalid};
use crate::server::SimState;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// How far back usage goes.
const HISTORY: i64 = 90 * DAY;
/// The latest time accepted in a query (9999-12-31), so bucket arithmetic cannot overflow.
const MAX_TIME: i64 = 253_402_300_799;

/// One project.
#[derive(Debug, Clone)]
pub(crate) struct Project {
    /// `proj_...`
    pub(crate) id: String,
    /// Display name.
    pub(crate) name: &'static str,
    /// Unix seconds.
    pub(crate) created_at: i64,
    /// Set for archived projects (which stop having usage then).
    pub(crate) archived_at: Option<i64>,
    /// The project's API key id (`key_...`), for `group_by=api_key_id`.
    pub(crate) api_key_id: String,
    /// (model, max requests per minute, max tokens per minute) for each model it may use.
    pub(crate) limits: Vec<(&'static str, u32, u32)>,
    /// (model, requests per hour at peak, mean input tokens, mean output tokens, batch).
    pub(crate) traffic: Vec<(&'static str, u32, u32, u32, bool)>,
}

impl Project {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "organization.project",
            "name": self.name,
            "created_at": self.created_at,
            "archived_at": self.archived_at,
            "status": if self.archived_at.is_some() { "archived" } else { "active" },
        })
    }
}

/// The organization's projects, oldest first.
pub(crate) fn projects(seed: u64, anchor: i64) -> Vec<Project> {
    let mut r = crate::rng::for_purpose(seed, "openai.projects");
    let mut id = |prefix: &str| {
        let raw = crate::rng::stripe_id("x", &mut r);
        format!("{prefix}{}", &raw[2..])
    };
    let standard = vec![
        ("gpt-4o-mini", 30_000, 150_000_000),
        ("gpt-4o", 10_000, 30_000_000),
        ("gpt-4.1-mini", 30_000, 150_000_000),
        ("o4-mini", 10_000, 100_000_000),
        ("text-embedding-3-small", 10_000, 10_000_000),
    ];
    // The support bot's main model is capped at 3 requests a minute: traffic far above it.
    let mut throttled = standard.clone();
    if let Some(l) = throttled.iter_mut().find(|l| l.0 == "gpt-4.1-mini") {
        *l = ("gpt-4.1-mini", 3, 40_000);
    }
    vec![
        Project {
            id: id("proj_"),
            name: "Default project",
            created_at: anchor - 800 * DAY,
            archived_at: None,
            api_key_id: id("key_"),
            limits: standard.clone(),
            traffic: vec![
                ("gpt-4o-mini", 900, 1_200, 350, false),
                ("gpt-4o", 120, 2_500, 600, false),
            ],
        },
        Project {
            id: id("proj_"),
            name: "Support bot",
            created_at: anchor - 400 * DAY,
            archived_at: None,
            api_key_id: id("key_"),
            limits: throttled,
            traffic: vec![
                ("gpt-4.1-mini", 600, 3_000, 250, false),
                ("gpt-4o-mini", 80, 900, 200, false),
            ],
        },
        Project {
            id: id("proj_"),
            name: "Batch analytics",
            created_at: anchor - 300 * DAY,
            archived_at: None,
            api_key_id: id("key_"),
            limits: standard.clone(),
            traffic: vec![
                ("gpt-4o-mini", 2_000, 800, 150, true),
                ("o4-mini", 40, 4_000, 1_500, false),
            ],
        },
        Project {
            id: id("proj_"),
            name: "Legacy prototype",
            created_at: anchor - 700 * DAY,
            archived_at: Some(anchor - 40 * DAY),
            api_key_id: id("key_"),
            limits: standard,
            traffic: vec![("gpt-4o", 30, 1_500, 400, false)],
        },
    ]
}

/// Usage totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    /// `num_model_requests`
    pub(crate) requests: u64,
    /// `input_tokens`
    pub(crate) input: u64,
    /// `input_cached_tokens`
    pub(crate) cached: u64,
    /// `output_tokens`
    pub(crate) output: u64,
}

impl Usage {
    fn add(&mut self, o: Usage) {
        self.requests += o.requests;
        self.input += o.input;
        self.cached += o.cached;
        self.output += o.output;
    }

    /// The `minute`-th of 60 even parts of an hour's usage.
    fn minute(self, minute: u64) -> Usage {
        let part = |v: u64| v / 60 + u64::from(minute < v % 60);
        Usage {
            requests: part(self.requests),
            input: part(self.input),
            cached: part(self.cached),
            output: part(self.output),
        }
    }
}

/// Share of peak traffic per hour of the day (UTC).
const DAILY_RHYTHM: [u64; 24] = [
    25, 20, 15, 12, 12, 15, 25, 40, 60, 80, 95, 100, 100, 95, 90, 90, 85, 80, 70, 60, 50, 45, 35,
    30,
];

fn mix(mut z: u64) -> u64 {
    // splitmix64
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What project `p`'s traffic line `t` used in the hour starting at `hour`.
fn hourly(seed: u64, anchor: i64, p: (usize, &Project), t: usize, hour: i64) -> Usage {
    let (pi, project) = p;
    let Some(&(_, peak, mean_in, mean_out, batch)) = project.traffic.get(t) else {
        return Usage::default();
    };
    let end = project.archived_at.unwrap_or(anchor).min(anchor);
    if hour + HOUR > end || hour < anchor - HISTORY || hour < project.created_at {
        return Usage::default();
    }
    let key = seed ^ mix((pi as u64) << 8 | t as u64) ^ mix(hour as u64);
    let mut r = fastrand::Rng::with_seed(mix(key));
    let hour_of_day = usize::try_from(hour.rem_euclid(DAY) / HOUR).unwrap_or(0);
    // Batch work runs at night; interactive traffic follows the day.
    let rhythm = if batch {
        DAILY_RHYTHM[(hour_of_day + 12) % 24]
    } else {
        DAILY_RHYTHM[hour_of_day]
    };
    let requests = u64::from(peak) * rhythm * r.u64(70..130) / 10_000;
    let input = requests * u64::from(mean_in) * r.u64(80..120) / 100;
    let output = requests * u64::from(mean_out) * r.u64(80..120) / 100;
    Usage {
        requests,
        input,
        cached: input * r.u64(0..30) / 100,
        output,
    }
}

/// Which dimensions results are grouped by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct GroupBy {
    project: bool,
    model: bool,
    api_key: bool,
    batch: bool,
    service_tier: bool,
    user: bool,
    line_item: bool,
}

/// A bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    Minute,
    Hour,
    Day,
}

impl Width {
    fn seconds(self) -> i64 {
        match self {
            Width::Minute => 60,
            Width::Hour => HOUR,
            Width::Day => DAY,
        }
    }

    /// (default, maximum) buckets per page, as OpenAI documents them.
    fn limits(self) -> (usize, usize) {
        match self {
            Width::Minute => (60, 1_440),
            Width::Hour => (24, 168),
            Width::Day => (7, 31),
        }
    }
}

/// The parsed parameters of a usage or costs request.
#[derive(Debug)]
struct Window {
    /// Bucket starts of this page.
    starts: Vec<i64>,
    width: Width,
    /// The next page's first bucket, if any.
    next: Option<i64>,
    group: GroupBy,
    projects: Vec<String>,
    models: Vec<String>,
    api_keys: Vec<String>,
    batch: Option<bool>,
}

fn parse_window(
    q: &Query,
    now: i64,
    widths: &[(&str, Width)],
    groups: &[&str],
    max_days: Option<usize>,
) -> Result<Window, OpenAiError> {
    let Some(start) = q.integer("start_time")? else {
        return Err(invalid(
            "start_time",
            "missing_required_parameter",
            "Missing required parameter: 'start_time'.",
        ));
    };
    let end = q.integer("end_time")?.unwrap_or(now);
    for (name, t) in [("start_time", start), ("end_time", end)] {
        if !(0..=MAX_TIME).contains(&t) {
            return Err(invalid(
                name,
                "invalid_value",
                &format!(
                    "Invalid '{name}': expected a Unix timestamp in seconds, but got {t} instead."
                ),
            ));
        }
    }
    if end <= start {
        return Err(invalid(
            "end_time",
            "invalid_value",
            "Invalid 'end_time': it must be after 'start_time'.",
        ));
    }
    let width = match q.get("bucket_width").filter(|w| !w.is_empty()) {
        None => Width::Day,
        Some(w) => match widths.iter().find(|(name, _)| *name == w) {
            Some((_, width)) => *width,
            None => {
                let names: Vec<String> = widths.iter().map(|(n, _)| format!("'{n}'")).collect();
                return Err(invalid(
                    "bucket_width",
                    "invalid_value",
                    &format!(
                        "Invalid value: '{w}'. Supported values are: {}.",
                        names.join(", ")
                    ),
                ));
            }
        },
    };
    let (default, max) = width.limits();
    let limit = q.limit(default, max_days.unwrap_or(max))?;
    let step = width.seconds();
    let aligned = start - start.rem_euclid(step);
    let from = match q.get("page").filter(|p| !p.is_empty()) {
        None => aligned,
        Some(token) => decode_page(token)
            .filter(|t| *t >= aligned && *t < end)
            .ok_or_else(|| {
                invalid(
                    "page",
                    "invalid_value",
                    "Invalid 'page': unknown page token.",
                )
            })?,
    };
    let mut starts = Vec::new();
    let mut t = from;
    while t < end && starts.len() < limit {
        starts.push(t);
        t += step;
    }
    let next = (t < end).then_some(t);
    let mut group = GroupBy::default();
    for g in q.all("group_by") {
        if !groups.contains(&g) {
            let names: Vec<String> = groups.iter().map(|n| format!("'{n}'")).collect();
            return Err(invalid(
                "group_by",
                "invalid_value",
                &format!(
                    "Invalid value: '{g}'. Supported values are: {}.",
                    names.join(", ")
                ),
            ));
        }
        match g {
            "project_id" => group.project = true,
            "model" => group.model = true,
            "api_key_id" => group.api_key = true,
            "batch" => group.batch = true,
            "service_tier" => group.service_tier = true,
            "user_id" => group.user = true,
            "line_item" => group.line_item = true,
            _ => {}
        }
    }
    let owned = |name: &str| q.all(name).into_iter().map(str::to_owned).collect();
    Ok(Window {
        starts,
        width,
        next,
        group,
        projects: owned("project_ids"),
        models: owned("models"),
        api_keys: owned("api_key_ids"),
        batch: q.boolean("batch")?,
    })
}

fn encode_page(start: i64) -> String {
    format!(
        "page_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("bucket:{start}"))
    )
}

fn decode_page(token: &str) -> Option<i64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.strip_prefix("page_")?)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("bucket:")?
        .parse()
        .ok()
}

/// One traffic line's usage over the bucket starting at `start`.
fn bucket_usage(
    seed: u64,
    anchor: i64,
    p: (usize, &Project),
    t: usize,
    start: i64,
    width: Width,
) -> Usage {
    match width {
        Width::Day => {
            let mut total = Usage::default();
            for h in 0..24 {
                total.add(hourly(seed, anchor, p, t, start + h * HOUR));
            }
            total
        }
        Width::Hour => hourly(seed, anchor, p, t, start),
        Width::Minute => {
            let hour = start - start.rem_euclid(HOUR);
            let minute = u64::try_from((start - hour) / 60).unwrap_or(0);
            hourly(seed, anchor, p, t, hour).minute(minute)
        }
    }
}

/// The grouping key of a result: (project, model, api key, batch).
type Key = (Option<String>, Option<String>, Option<String>, Option<bool>);

/// Usage per group in one bucket, for the traffic lines the filters keep.
fn grouped(state: &super::OpenAiState, w: &Window, start: i64) -> BTreeMap<Key, Usage> {
    let mut groups: BTreeMap<Key, Usage> = BTreeMap::new();
    for (pi, project) in state.projects.iter().enumerate() {
        if !w.projects.is_empty() && !w.projects.contains(&project.id) {
            continue;
        }
        if !w.api_keys.is_empty() && !w.api_keys.contains(&project.api_key_id) {
            continue;
        }
        for (t, &(model, _, _, _, batch)) in project.traffic.iter().enumerate() {
            if !w.models.is_empty() && !w.models.iter().any(|m| m == model) {
                continue;
            }
            if w.batch.is_some_and(|b| b != batch) {
                continue;
            }
            let u = bucket_usage(state.seed, state.anchor, (pi, project), t, start, w.width);
            if u.requests == 0 {
                continue;
            }
            let key = (
                w.group.project.then(|| project.id.clone()),
                w.group.model.then(|| model.to_owned()),
                w.group.api_key.then(|| project.api_key_id.clone()),
                w.group.batch.then_some(batch),
            );
            groups.entry(key).or_default().add(u);
        }
    }
    groups
}

fn page_body(buckets: Vec<Value>, next: Option<i64>) -> Value {
    json!({
        "object": "page",
        "data": buckets,
        "has_more": next.is_some(),
        "next_page": next.map(encode_page),
    })
}

fn now(state: &SimState) -> i64 {
    jiff::Timestamp::now()
        .as_second()
        .max(state.config.anchor.as_second())
}

/// `GET /organization/usage/completions`
pub(crate) async fn usage_completions(
    State(state): State<Arc<SimState>>,
    RawQuery(q): RawQuery,
) -> Response {
    state.stats.request("openai.usage.completions");
    let query = Query::parse(q.as_deref());
    let w = match parse_window(
        &query,
        now(&state),
        &[
            ("1m", Width::Minute),
            ("1h", Width::Hour),
            ("1d", Width::Day),
        ],
        &[
            "project_id",
            "user_id",
            "api_key_id",
            "model",
            "batch",
            "service_tier",
        ],
        None,
    ) {
        Ok(w) => w,
        Err(rejection) => return rejection.into_response(),
    };
    let buckets: Vec<Value> = w
        .starts
        .iter()
        .map(|&start| {
            let results: Vec<Value> = grouped(&state.openai, &w, start)
                .into_iter()
                .map(|((project, model, key, batch), u)| {
                    json!({
                        "object": "organization.usage.completions.result",
                        "input_tokens": u.input,
                        "input_cached_tokens": u.cached,
                        "output_tokens": u.output,
                        "input_audio_tokens": 0,
                        "output_audio_tokens": 0,
                        "num_model_requests": u.requests,
                        "project_id": project,
                        "user_id": null,
                        "api_key_id": key,
                        "model": model,
                        "batch": batch,
                        "service_tier": w.group.service_tier.then_some("default"),
                    })
                })
                .collect();
            json!({
                "object": "bucket",
                "start_time": start,
                "end_time": start + w.width.seconds(),
                "results": results,
            })
        })
        .collect();
    axum::Json(page_body(buckets, w.next)).into_response()
}

/// Dollars per million tokens: (model, input, output).
const PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("o4-mini", 1.10, 4.40),
];

/// Nano-dollars for `u` on `model` (cached input at half price, batch at half price).
fn cost(model: &str, u: Usage, batch: bool) -> (u64, u64) {
    let (input_price, output_price) = PRICES
        .iter()
        .find(|(m, _, _)| *m == model)
        .map_or((1.0, 1.0), |(_, i, o)| (*i, *o));
    // Prices per million tokens are dollars; per token, nano-dollars are price * 1000.
    let nano = |tokens: u64, price: f64| (tokens as f64 * price * 1_000.0).round() as u64;
    let uncached = u.input - u.cached;
    let mut input = nano(uncached, input_price) + nano(u.cached, input_price / 2.0);
    let mut output = nano(u.output, output_price);
    if batch {
        input /= 2;
        output /= 2;
    }
    (input, output)
}

/// `GET /organization/costs`
pub(crate) async fn costs(State(state): State<Arc<SimState>>, RawQuery(q): RawQuery) -> Response {
    state.stats.request("openai.costs.list");
    let query = Query::parse(q.as_deref());
    let w = match parse_window(
        &query,
        now(&state),
        &[("1d", Width::Day)],
        &["project_id", "line_item", "api_key_id"],
        Some(180),
    ) {
        Ok(w) => w,
        Err(rejection) => return rejection.into_response(),
    };
    let openai = &state.openai;
    let buckets: Vec<Value> = w
        .starts
        .iter()
        .map(|&start| {
            // (project, line item) -> nano-dollars
            let mut lines: BTreeMap<(Option<String>, Option<String>), u64> = BTreeMap::new();
            for (pi, project) in openai.projects.iter().enumerate() {
                if !w.projects.is_empty() && !w.projects.contains(&project.id) {
                    continue;
                }
                if !w.api_keys.is_empty() && !w.api_keys.contains(&project.api_key_id) {
                    continue;
                }
                for (t, &(model, _, _, _, batch)) in project.traffic.iter().enumerate() {
                    let u =
                        bucket_usage(openai.seed, openai.anchor, (pi, project), t, start, w.width);
                    if u.requests == 0 {
                        continue;
                    }
                    let (input, output) = cost(model, u, batch);
                    let p = w.group.project.then(|| project.id.clone());
                    if w.group.line_item {
                        *lines
                            .entry((p.clone(), Some(format!("{model}, input"))))
                            .or_default() += input;
                        *lines
                            .entry((p, Some(format!("{model}, output"))))
                            .or_default() += output;
                    } else {
                        *lines.entry((p, None)).or_default() += input + output;
                    }
                }
            }
            let results: Vec<Value> = lines
                .into_iter()
                .map(|((project, line_item), nano)| {
                    json!({
                        "object": "organization.costs.result",
                        "amount": {"value": nano as f64 / 1e9, "currency": "usd"},
                        "line_item": line_item,
                        "project_id": project,
                    })
                })
                .collect();
            json!({
                "object": "bucket",
                "start_time": start,
                "end_time": start + DAY,
                "results": results,
            })
        })
        .collect();
    axum::Json(page_body(buckets, w.next)).into_response()
}

/// `GET /organization/projects`
pub(crate) async fn list_projects(
    State(state): State<Arc<SimState>>,
    RawQuery(q): RawQuery,
) -> Response {
    state.stats.request("openai.projects.list");
    let query = Query::parse(q.as_deref());
    let result = query.limit(20, 100).and_then(|limit| {
        let archived = query.boolean("include_archived")?.unwrap_or(false);
        let visible: Vec<&Project> = state
            .openai
            .projects
            .iter()
            .filter(|p| archived || p.archived_at.is_none())
            .collect();
        let (items, has_more) =
            request::page_after(&visible, |p| &p.id, query.get("after"), limit, "project")?;
        Ok(list_body(
            items.iter().map(|p| p.to_json()).collect(),
            has_more,
        ))
    });
    match result {
        Ok(body) => axum::Json(body).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// `{object: "list", data, first_id, last_id, has_more}` (ids `null` when empty).
fn list_body(data: Vec<Value>, has_more: bool) -> Value {
    let first = data.first().map(|v| v["id"].clone()).unwrap_or(Value::Null);
    let last = data.last().map(|v| v["id"].clone()).unwrap_or(Value::Null);
    json!({"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": has_more})
}

/// `GET /organization/projects/{project_id}/rate_limits`
pub(crate) async fn list_rate_limits(
    State(state): State<Arc<SimState>>,
    Path(project_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    state.stats.request("openai.projects.rate_limits.list");
    let Some(project) = state.openai.projects.iter().find(|p| p.id == project_id) else {
        return request::error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            Some("project_id"),
            &format!("No such project: '{project_id}'."),
        )
        .into_response();
    };
    let query = Query::parse(q.as_deref());
    let limits: Vec<Value> = project
        .limits
        .iter()
        .map(|(model, rpm, tpm)| {
            json!({
                "object": "project.rate_limit",
                "id": format!("rl-{model}"),
                "model": model,
                "max_requests_per_1_minute": rpm,
                "max_tokens_per_1_minute": tpm,
                "max_requests_per_1_day": rpm.saturating_mul(1_440),
                "batch_1_day_max_input_tokens": u64::from(*tpm) * 100,
            })
        })
        .collect();
    let result = query.limit(100, 100).and_then(|limit| {
        // `before` pages backwards: the items just before that id.
        if let Some(before) = query.get("before").filter(|b| !b.is_empty()) {
            let Some(pos) = limits.iter().position(|l| l["id"] == before) else {
                return Err(invalid(
                    "before",
                    "invalid_value",
                    &format!("No rate limit found with id '{before}'."),
                ));
            };
            let from = pos.saturating_sub(limit);
            return Ok(list_body(limits[from..pos].to_vec(), from > 0));
        }
        let (items, has_more) = request::page_after(
            &limits,
            |l| l["id"].as_str().unwrap_or_default(),
            query.get("after"),
            limit,
            "rate limit",
        )?;
        Ok(list_body(items.to_vec(), has_more))
    });
    match result {
        Ok(body) => axum::Json(body).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_of_any_width_add_up() {
        let anchor = 1_800_000_000 - 1_800_000_000 % DAY;
        let projects = projects(5, anchor);
        let p = (0, &projects[0]);
        let day = anchor - 3 * DAY;
        let daily = bucket_usage(5, anchor, p, 0, day, Width::Day);
        let mut hours = Usage::default();
        for h in 0..24 {
            let hour = bucket_usage(5, anchor, p, 0, day + h * HOUR, Width::Hour);
            let mut minutes = Usage::default();
            for m in 0..60 {
                minutes.add(bucket_usage(
                    5,
                    anchor,
                    p,
                    0,
                    day + h * HOUR + m * 60,
                    Width::Minute,
                ));
            }
            assert_eq!(minutes, hour);
            hours.add(hour);
        }
        assert_eq!(daily, hours);
        assert!(daily.requests > 0);
        assert_eq!(
            bucket_usage(5, anchor, p, 0, anchor + DAY, Width::Day),
            Usage::default()
        );
        assert_eq!(decode_page(&encode_page(1_234)), Some(1_234));
        assert_eq!(decode_page("page_nonsense"), None);
    }
}
