//! Long-running jobs and their failures: `GET /batches` and `GET /fine_tuning/jobs`, newest
//! first, paged with `after` and `limit`.
//!
//! The data holds what an audit looks for: batches that failed validation (with `errors` as
//! the spec shapes them: `{object: "list", data: [{code, message, param, line}]}`), batches that
//! expired with requests left, fine-tuning jobs that failed with `error {code, message, param}`,
//! beside ordinary completed, cancelled and running ones. Fields that do not apply to a status
//! are left out rather than `null` where the spec does not allow `null`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::request::{self, OpenAiError, Query};
use crate::rng;
use crate::server::SimState;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// One stored job: its id (the cursor) and its object.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// `batch_...` or `ftjob-...`
    pub(crate) id: String,
    /// The object as served.
    pub(crate) body: Value,
}

fn alnum(r: &mut fastrand::Rng, n: usize) -> String {
    let id = rng::stripe_id("x", r);
    let mut tail: String = id[2..].to_owned();
    while tail.len() < n {
        tail.push_str(&rng::stripe_id("x", r)[2..]);
    }
    tail.truncate(n);
    tail
}

/// `file-...`
fn file_id(r: &mut fastrand::Rng) -> String {
    format!("file-{}", alnum(r, 22))
}

/// Batch statuses in the generated mix (forced positions make sure each kind appears).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BatchStatus {
    Validating,
    InProgress,
    Completed,
    Failed,
    Expired,
    Cancelled,
}

/// The batches of the 30 days before `anchor`, newest first.
pub(crate) fn batches(seed: u64, anchor: i64, org: &str) -> Vec<Job> {
    let mut r = rng::for_purpose(seed, "openai.batches");
    let count = 24;
    let mut out = Vec::with_capacity(count);
    let mut created = anchor - r.i64(10 * 60..2 * HOUR);
    for i in 0..count {
        let status = match i {
            0 => BatchStatus::Validating,
            1 => BatchStatus::InProgress,
            3 | 9 => BatchStatus::Failed,
            5 | 14 => BatchStatus::Expired,
            _ => *rng::weighted(
                &mut r,
                &[
                    (BatchStatus::Completed, 70),
                    (BatchStatus::Failed, 10),
                    (BatchStatus::Expired, 8),
                    (BatchStatus::Cancelled, 7),
                ],
            ),
        };
        out.push(batch(&mut r, created, status, org));
        created -= r.i64(6 * HOUR..40 * HOUR);
    }
    out
}

fn batch(r: &mut fastrand::Rng, created: i64, status: BatchStatus, org: &str) -> Job {
    let id = format!("batch_{:016x}{:016x}", r.u64(..), r.u64(..));
    let embeddings = r.u32(..100) < 20;
    let (endpoint, model) = if embeddings {
        ("/v1/embeddings", "text-embedding-3-small")
    } else {
        (
            "/v1/chat/completions",
            *rng::weighted(r, &[("gpt-4o-mini", 6), ("gpt-4.1-mini", 3), ("gpt-4o", 1)]),
        )
    };
    let total = r.u64(50..5_000);
    let input_file = file_id(r);
    let mut b = json!({
        "id": id,
        "object": "batch",
        "endpoint": endpoint,
        "model": model,
        "input_file_id": input_file,
        "completion_window": "24h",
        "status": "",
        "created_at": created,
        "expires_at": created + DAY,
        "metadata": {"job": if embeddings { "nightly-embeddings" } else { "ticket-summaries" }},
    });
    let started = created + r.i64(30..600);
    let (status, completed, failed) = match status {
        BatchStatus::Validating => ("validating", 0, 0),
        BatchStatus::InProgress => {
            b["in_progress_at"] = json!(started);
            let done = r.u64(0..total);
            ("in_progress", done, done / 50)
        }
        BatchStatus::Completed => {
            let finalizing = started + r.i64(HOUR..12 * HOUR);
            b["in_progress_at"] = json!(started);
            b["finalizing_at"] = json!(finalizing);
            b["completed_at"] = json!(finalizing + r.i64(60..900));
            b["output_file_id"] = json!(file_id(r));
            let failed = if r.u32(..100) < 30 { r.u64(1..20) } else { 0 };
            if failed > 0 {
                b["error_file_id"] = json!(file_id(r));
            }
            ("completed", total - failed.min(total), failed.min(total))
        }
        BatchStatus::Failed => {
            b["failed_at"] = json!(created + r.i64(5..120));
            b["errors"] = json!({"object": "list", "data": batch_errors(r, model, org)});
            ("failed", 0, 0)
        }
        BatchStatus::Expired => {
            b["in_progress_at"] = json!(started);
            b["expired_at"] = json!(created + DAY);
            b["output_file_id"] = json!(file_id(r));
            b["error_file_id"] = json!(file_id(r));
            b["errors"] = json!({"object": "list", "data": [{
                "code": "batch_expired",
                "message": "This request could not be executed before the completion window expired.",
                "param": null,
                "line": null
            }]});
            let done = r.u64(0..total);
            ("expired", done, total - done)
        }
        BatchStatus::Cancelled => {
            let cancelling = started + r.i64(600..3 * HOUR);
            b["in_progress_at"] = json!(started);
            b["cancelling_at"] = json!(cancelling);
            b["cancelled_at"] = json!(cancelling + r.i64(30..600));
            let done = r.u64(0..total);
            ("cancelled", done, 0)
        }
    };
    b["status"] = json!(status);
    b["request_counts"] = json!({"total": if status == "failed" { 0 } else { total }, "completed": completed, "failed": failed});
    if completed > 0 {
        let per_request_in = r.u64(300..1_500);
        let per_request_out = if embeddings { 0 } else { r.u64(60..400) };
        let input = completed * per_request_in;
        let output = completed * per_request_out;
        b["usage"] = json!({
            "input_tokens": input,
            "input_tokens_details": {"cached_tokens": input / 10},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input + output
        });
    }
    Job { id, body: b }
}

fn batch_errors(r: &mut fastrand::Rng, model: &str, org: &str) -> Vec<Value> {
    match r.u32(..4) {
        0 => {
            let line = r.u32(2..900);
            vec![json!({
                "code": "invalid_json_line",
                "message": "This line is not parseable as valid JSON.",
                "param": null,
                "line": line
            })]
        }
        1 => vec![json!({
            "code": "model_not_found",
            "message": "The model `gpt-4-32k` does not exist or you do not have access to it.",
            "param": "body.model",
            "line": 1
        })],
        2 => vec![json!({
            "code": "token_limit_exceeded",
            "message": format!("Enqueued token limit reached for {model} in organization {org}. Limit: 2,000,000 enqueued tokens. Please try again once some in_progress batches have been completed."),
            "param": null,
            "line": null
        })],
        _ => vec![
            json!({
                "code": "missing_required_parameter",
                "message": "Missing required parameter: 'custom_id'.",
                "param": "custom_id",
                "line": 1
            }),
            json!({
                "code": "invalid_url",
                "message": "The URL provided for this request does not match the batch endpoint.",
                "param": "url",
                "line": 2
            }),
        ],
    }
}

/// Fine-tuning job statuses in the generated mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobStatus {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// The fine-tuning jobs of the last 60 days, newest first, and the models the succeeded ones
/// produced (id, created).
pub(crate) fn fine_tuning_jobs(
    seed: u64,
    anchor: i64,
    org: &str,
) -> (Vec<Job>, Vec<(String, i64)>) {
    let mut r = rng::for_purpose(seed, "openai.fine_tuning");
    let mut jobs = Vec::new();
    let mut models = Vec::new();
    let mut created = anchor - r.i64(HOUR..5 * HOUR);
    for i in 0..12 {
        let status = match i {
            0 => JobStatus::Running,
            1 | 4 | 8 => JobStatus::Failed,
            6 => JobStatus::Cancelled,
            _ => JobStatus::Succeeded,
        };
        let (job, model) = fine_tuning_job(&mut r, created, status, org, i);
        jobs.push(job);
        models.extend(model);
        created -= r.i64(DAY..6 * DAY);
    }
    (jobs, models)
}

fn fine_tuning_job(
    r: &mut fastrand::Rng,
    created: i64,
    status: JobStatus,
    org: &str,
    index: usize,
) -> (Job, Option<(String, i64)>) {
    let id = format!("ftjob-{}", alnum(r, 24));
    let base = *rng::weighted(
        r,
        &[
            ("gpt-4o-mini-2024-07-18", 6),
            ("gpt-4.1-mini-2025-04-14", 3),
            ("gpt-4o-2024-08-06", 1),
        ],
    );
    // A job that failed validating its files never resolved its hyperparameters.
    let failed_early = status == JobStatus::Failed && index % 2 == 1;
    let hyper = if failed_early {
        json!({"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"})
    } else {
        json!({"batch_size": r.u32(1..=8), "learning_rate_multiplier": 1.8, "n_epochs": r.u32(2..=4)})
    };
    let finished = created + r.i64(20 * 60..4 * HOUR);
    let suffix = *rng::weighted(r, &[("support", 3), ("triage", 2), ("summaries", 1)]);
    let trained = r.u64(40_000..3_000_000);
    let mut job = json!({
        "id": id,
        "object": "fine_tuning.job",
        "created_at": created,
        "error": null,
        "fine_tuned_model": null,
        "finished_at": null,
        "hyperparameters": hyper,
        "method": {"type": "supervised", "supervised": {"hyperparameters": hyper}},
        "model": base,
        "organization_id": org,
        "result_files": [],
        "seed": r.u32(..1_000_000_000),
        "status": "",
        "trained_tokens": null,
        "training_file": file_id(r),
        "validation_file": if r.bool() { Value::String(file_id(r)) } else { Value::Null },
        "integrations": [],
        "estimated_finish": null,
        "metadata": null,
    });
    let mut model = None;
    match status {
        JobStatus::Running => {
            job["status"] = json!("running");
            job["estimated_finish"] = json!(created + 3 * HOUR);
        }
        JobStatus::Succeeded => {
            let name = format!("ft:{base}:example-org:{suffix}:{}", alnum(r, 8));
            job["status"] = json!("succeeded");
            job["fine_tuned_model"] = json!(name);
            job["finished_at"] = json!(finished);
            job["trained_tokens"] = json!(trained);
            job["result_files"] = json!([file_id(r)]);
            model = Some((name, finished));
        }
        JobStatus::Failed => {
            job["status"] = json!("failed");
            job["finished_at"] = json!(finished);
            job["error"] = fine_tuning_error(r, failed_early);
        }
        JobStatus::Cancelled => {
            job["status"] = json!("cancelled");
            job["finished_at"] = json!(finished);
        }
    }
    (Job { id, body: job }, model)
}

fn fine_tuning_error(r: &mut fastrand::Rng, early: bool) -> Value {
    if early {
        if r.bool() {
            json!({
                "code": "invalid_training_file",
                "message": "The job failed due to an invalid training file. Invalid file format. Example 12, message 2 Discrepancy: 'role' is missing.",
                "param": "training_file"
            })
        } else {
            json!({
                "code": "invalid_n_examples",
                "message": format!("Training file has {} example(s), but must have at least 10 examples", r.u32(1..10)),
                "param": "training_file"
            })
        }
    } else if r.bool() {
        json!({
            "code": "exceeded_quota",
            "message": "Creating this fine-tuning job would exceed your hard limit, please check your plan and billing details.",
            "param": null
        })
    } else {
        json!({
            "code": "server_error",
            "message": "The job failed due to an internal error.",
            "param": null
        })
    }
}

/// `GET /batches`
pub(crate) async fn list_batches(
    State(state): State<Arc<SimState>>,
    RawQuery(q): RawQuery,
) -> Response {
    state.stats.request("openai.batches.list");
    match page(&state.openai.batches, q.as_deref(), "batch") {
        Ok((data, has_more)) => {
            let mut body = json!({"object": "list", "data": data, "has_more": has_more});
            if let (Some(first), Some(last)) = (data.first(), data.last()) {
                body["first_id"] = first["id"].clone();
                body["last_id"] = last["id"].clone();
            }
            axum::Json(body).into_response()
        }
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /fine_tuning/jobs`
pub(crate) async fn list_fine_tuning_jobs(
    State(state): State<Arc<SimState>>,
    RawQuery(q): RawQuery,
) -> Response {
    state.stats.request("openai.fine_tuning.jobs.list");
    match page(
        &state.openai.fine_tuning_jobs,
        q.as_deref(),
        "fine-tuning job",
    ) {
        Ok((data, has_more)) => {
            axum::Json(json!({"object": "list", "data": data, "has_more": has_more}))
                .into_response()
        }
        Err(rejection) => rejection.into_response(),
    }
}

fn page(jobs: &[Job], q: Option<&str>, what: &str) -> Result<(Vec<Value>, bool), OpenAiError> {
    let query = Query::parse(q);
    let limit = query.limit(20, 100)?;
    let (items, has_more) = request::page_after(jobs, |j| &j.id, query.get("after"), limit, what)?;
    Ok((items.iter().map(|j| j.body.clone()).collect(), has_more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_has_failures_of_each_kind() {
        let b = batches(3, 1_800_000_000, "org-x");
        let status = |s: &str| b.iter().filter(|j| j.body["status"] == s).count();
        assert!(status("failed") >= 2 && status("expired") >= 2 && status("completed") >= 5);
        for j in b
            .iter()
            .filter(|j| j.body["status"] == "failed" || j.body["status"] == "expired")
        {
            assert!(
                j.body["errors"]["data"][0]["code"].is_string(),
                "{}",
                j.body
            );
        }
        assert!(
            b.windows(2)
                .all(|w| w[0].body["created_at"].as_i64() > w[1].body["created_at"].as_i64())
        );
        let (jobs, models) = fine_tuning_jobs(3, 1_800_000_000, "org-x");
        let failed: Vec<&Job> = jobs
            .iter()
            .filter(|j| j.body["status"] == "failed")
            .collect();
        assert_eq!(failed.len(), 3);
        assert!(failed.iter().all(|j| j.body["error"]["code"].is_string()));
        assert!(
            failed
                .iter()
                .any(|j| j.body["error"]["param"] == "training_file")
        );
        assert_eq!(
            models.len(),
            jobs.iter()
                .filter(|j| j.body["status"] == "succeeded")
                .count()
        );
    }
}
