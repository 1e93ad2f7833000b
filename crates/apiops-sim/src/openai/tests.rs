//! Tests of the simulated OpenAI API over HTTP: the catalog, chat completion validation and
//! side effects, cursor pages of batches and fine-tuning jobs, the admin endpoints, and every
//! answer against the spec.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::config::SimConfig;
use crate::server::Credentials;
use crate::test_http::status_and_json;

fn config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        anchor: "2026-11-25T12:00:00Z".parse().expect("anchor"),
        messages: 10,
        ..SimConfig::default()
    }
}

fn snapshot(s: &OpenAiState) -> String {
    let batches: Vec<&Value> = s.batches.iter().map(|j| &j.body).collect();
    let jobs: Vec<&Value> = s.fine_tuning_jobs.iter().map(|j| &j.body).collect();
    let projects: Vec<Value> = s
        .projects
        .iter()
        .map(|p| json!([p.id, p.name, p.api_key_id, p.created_at, p.archived_at]))
        .collect();
    format!(
        "{}|{}",
        String::from_utf8_lossy(&s.models_body),
        json!({"batches": batches, "jobs": jobs, "projects": projects})
    )
}

#[test]
fn generation_is_deterministic() {
    let gen_for = |seed| {
        let c = config(seed);
        OpenAiState::generate(&c, &Credentials::from_seed(seed))
    };
    let a = gen_for(4);
    assert_eq!(snapshot(&a), snapshot(&gen_for(4)));
    assert_ne!(snapshot(&a), snapshot(&gen_for(5)));
    let ids: HashSet<&str> = a.model_ids().into_iter().collect();
    for d in DEPRECATED_MODELS {
        assert!(ids.contains(d.id), "{} listed", d.id);
        assert!(d.shutdown_date.len() == 10 && ids.contains(d.replacement));
    }
    assert!(ids.contains("gpt-3.5-turbo-0301") && ids.contains("text-davinci-003"));
    assert!(a.model_ids().iter().any(|m| m.starts_with("ft:")));
}

struct Http {
    sim: crate::RunningSim,
    client: reqwest::Client,
    key: String,
    admin: String,
}

impl Http {
    async fn start(seed: u64) -> Self {
        let sim = crate::test_http::start(config(seed)).await;
        let creds = &sim.sim.state().creds;
        let (key, admin) = (creds.openai_api_key.clone(), creds.openai_admin_key.clone());
        Http {
            sim,
            client: reqwest::Client::new(),
            key,
            admin,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/openai/v1{path}", self.sim.base_url())
    }

    async fn get_as(&self, key: &str, path: &str) -> (StatusCode, Value) {
        status_and_json(self.client.get(self.url(path)).bearer_auth(key)).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.get_as(&self.key, path).await
    }

    async fn admin(&self, path: &str) -> (StatusCode, Value) {
        self.get_as(&self.admin, path).await
    }

    async fn chat(&self, body: &Value) -> (StatusCode, Value) {
        let url = self.url("/chat/completions");
        status_and_json(self.client.post(url).bearer_auth(&self.key).json(body)).await
    }

    fn count(&self, side_effect: &str) -> u64 {
        self.sim.stats().side_effect_count(side_effect)
    }
}

#[tokio::test]
async fn models_list_and_retrieve() {
    let h = Http::start(31).await;
    let (status, list) = h.get("/models").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["object"], "list");
    let data = list["data"].as_array().expect("data");
    let deprecated: Vec<&Value> = data
        .iter()
        .filter(|m| m.get("shutdown_date").is_some())
        .collect();
    assert_eq!(deprecated.len(), DEPRECATED_MODELS.len());
    let (status, one) = h.get("/models/gpt-4o-mini").await;
    assert_eq!(
        (status, &one["id"]),
        (StatusCode::OK, &json!("gpt-4o-mini"))
    );
    let ft = data
        .iter()
        .find_map(|m| m["id"].as_str().filter(|id| id.starts_with("ft:")))
        .expect("a fine-tuned model");
    let (status, one) = h.get(&format!("/models/{ft}")).await;
    assert_eq!((status, one["id"].as_str()), (StatusCode::OK, Some(ft)));
    let (status, err) = h.get("/models/gpt-7-ultra").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "model_not_found");
    let (status, err) = h.get("/embeddings_or_something").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        err["error"]["message"],
        "Invalid URL (GET /v1/embeddings_or_something)"
    );
    h.sim.stop().await;
}

#[tokio::test]
async fn chat_completions_validate_and_count_once_per_success() {
    let h = Http::start(32).await;
    let (status, done) = h
        .chat(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 5}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["object"], "chat.completion");
    assert!(
        done["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-"))
    );
    assert_eq!(done["choices"][0]["message"]["role"], "assistant");
    assert!(done["usage"]["total_tokens"].as_u64() > Some(0));
    assert_eq!(done["usage"]["completion_tokens"], 5);
    for (body, status, param) in [
        (
            json!({"model": "gpt-4o-mini", "messages": []}),
            StatusCode::BAD_REQUEST,
            Some("messages"),
        ),
        (
            json!({"model": "gpt-4o-mini"}),
            StatusCode::BAD_REQUEST,
            Some("messages"),
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            StatusCode::BAD_REQUEST,
            Some("model"),
        ),
        (
            json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            json!({"model": "text-davinci-003", "messages": [{"role": "user", "content": "x"}]}),
            StatusCode::NOT_FOUND,
            None,
        ),
    ] {
        let (got, err) = h.chat(&body).await;
        assert_eq!(got, status, "{body}: {err}");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert_eq!(err["error"]["param"].as_str(), param, "{body}");
    }
    let resp = h
        .client
        .post(h.url("/chat/completions"))
        .bearer_auth(&h.key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(h.count("openai.chat.create"), 1);
    let stats = h.sim.sim.state().stats.snapshot();
    assert_eq!(stats.requests.get("openai.chat.create").copied(), Some(7));
    h.sim.stop().await;
}

async fn walk(h: &Http, path: &str, limit: usize) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(a) => format!("{path}?limit={limit}&after={a}"),
            None => format!("{path}?limit={limit}"),
        };
        let (status, page) = h.get(&url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let data = page["data"].as_array().expect("data").clone();
        assert!(data.len() <= limit);
        after = data
            .last()
            .and_then(|d| d["id"].as_str())
            .map(str::to_owned);
        all.extend(data);
        if page["has_more"] != true {
            return all;
        }
    }
}

#[tokio::test]
async fn batches_and_fine_tuning_jobs_page_with_failures() {
    let h = Http::start(33).await;
    let batches = walk(&h, "/batches", 5).await;
    assert_eq!(batches.len(), h.sim.sim.state().openai.batches.len());
    let ids: HashSet<&str> = batches.iter().filter_map(|b| b["id"].as_str()).collect();
    assert_eq!(ids.len(), batches.len());
    assert!(
        batches
            .iter()
            .any(|b| b["status"] == "failed" && b["errors"]["data"][0]["code"].is_string())
    );
    assert!(batches.iter().any(|b| b["status"] == "expired"));
    let (_, first) = h.get("/batches?limit=3").await;
    assert_eq!(first["first_id"], first["data"][0]["id"]);
    assert_eq!(first["last_id"], first["data"][2]["id"]);

    let jobs = walk(&h, "/fine_tuning/jobs", 4).await;
    assert_eq!(jobs.len(), h.sim.sim.state().openai.fine_tuning_jobs.len());
    let failed: Vec<&Value> = jobs.iter().filter(|j| j["status"] == "failed").collect();
    assert!(!failed.is_empty());
    assert!(
        failed
            .iter()
            .all(|j| j["error"]["code"].is_string() && j["error"]["message"].is_string())
    );
    let (status, err) = h.get("/batches?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["param"], "limit");
    let (status, err) = h.get("/fine_tuning/jobs?after=ftjob-unknown").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["param"], "after");
    h.sim.stop().await;
}

#[tokio::test]
async fn admin_endpoints_need_the_admin_key_and_validate() {
    let h = Http::start(34).await;
    let (status, err) = h.get("/organization/projects").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    let (status, projects) = h.admin("/organization/projects").await;
    assert_eq!(status, StatusCode::OK);
    let active = projects["data"].as_array().expect("data").len();
    let (_, all) = h
        .admin("/organization/projects?include_archived=true")
        .await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(active + 1));
    let support = projects["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|p| p["name"] == "Support bot")
        .expect("support project");
    let id = support["id"].as_str().expect("id");
    let (status, limits) = h
        .admin(&format!("/organization/projects/{id}/rate_limits"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        limits["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|l| l["max_requests_per_1_minute"] == 3),
        "the throttled model"
    );
    let (status, _) = h
        .admin("/organization/projects/proj_nope/rate_limits")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let anchor = config(34).anchor.as_second();
    let midnight = anchor - anchor.rem_euclid(86_400);
    let start = midnight - 7 * 86_400;
    let (status, err) = h.admin("/organization/usage/completions").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["param"], "start_time");
    let (status, err) = h
        .admin(&format!(
            "/organization/usage/completions?start_time={start}&bucket_width=1w"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["param"], "bucket_width");
    for bad in [
        "start_time=-9223372036854775808".to_owned(),
        format!("start_time={start}&end_time=9223372036854775807"),
        format!("start_time={start}&end_time={start}"),
        format!("start_time={start}&page=page_bogus"),
        format!("start_time={start}&group_by=colour"),
        format!("start_time={start}&bucket_width=1d&limit=32"),
    ] {
        let (status, err) = h
            .admin(&format!("/organization/usage/completions?{bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
    }
    let (status, _) = h
        .admin(&format!(
            "/organization/costs?start_time={start}&bucket_width=1h"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let daily_url =
        format!("/organization/usage/completions?start_time={start}&end_time={midnight}");
    let (status, daily) = h.admin(&daily_url).await;
    assert_eq!(status, StatusCode::OK, "{daily}");
    assert_eq!(daily["object"], "page");
    assert_eq!(daily["data"].as_array().map(Vec::len), Some(7));
    assert_eq!(daily["has_more"], false);
    let day_requests: u64 = daily["data"][6]["results"][0]["num_model_requests"]
        .as_u64()
        .expect("requests");
    assert!(day_requests > 0);
    // The same day in hourly buckets, over two pages, adds up to the daily bucket.
    let day_start = daily["data"][6]["start_time"].as_i64().expect("start");
    let hourly_url = format!(
        "/organization/usage/completions?start_time={day_start}&end_time={}&bucket_width=1h&limit=12",
        day_start + 86_400
    );
    let (_, first) = h.admin(&hourly_url).await;
    assert_eq!(first["has_more"], true);
    let next = first["next_page"].as_str().expect("next_page");
    let (_, second) = h.admin(&format!("{hourly_url}&page={next}")).await;
    assert_eq!(second["has_more"], false);
    let sum: u64 = [&first, &second]
        .iter()
        .flat_map(|p| p["data"].as_array().expect("data").iter())
        .flat_map(|b| b["results"].as_array().expect("results").iter())
        .filter_map(|r| r["num_model_requests"].as_u64())
        .sum();
    assert_eq!(sum, day_requests);
    let (_, by_model) = h
        .admin(&format!("{daily_url}&group_by=model&group_by=project_id"))
        .await;
    let models: HashSet<&str> = by_model["data"]
        .as_array()
        .expect("data")
        .iter()
        .flat_map(|b| b["results"].as_array().expect("results").iter())
        .filter_map(|r| r["model"].as_str())
        .collect();
    assert!(
        models.contains("gpt-4o-mini") && models.len() >= 3,
        "{models:?}"
    );

    let (status, costs) = h
        .admin(&format!(
            "/organization/costs?start_time={start}&end_time={anchor}&group_by=line_item"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{costs}");
    let value = costs["data"][0]["results"][0]["amount"]["value"].as_f64();
    assert!(value.is_some_and(|v| v > 0.0), "{costs}");
    h.sim.stop().await;
}

#[tokio::test]
async fn answers_conform_to_the_spec() {
    let Some(spec) = crate::stripe::spec_check::load("openai/openapi.json") else {
        return;
    };
    let h = Http::start(35).await;
    let anchor = config(35).anchor.as_second();
    let start = anchor - 3 * 86_400;
    let (_, projects) = h
        .admin("/organization/projects?include_archived=true")
        .await;
    let project = projects["data"][0]["id"].as_str().expect("id").to_owned();
    let mut problems = Vec::new();
    let cases: Vec<(&str, String, bool)> = vec![
        ("/models", "/models".into(), false),
        (
            "/models/{model}",
            "/models/gpt-3.5-turbo-0301".into(),
            false,
        ),
        ("/batches", "/batches?limit=100".into(), false),
        (
            "/fine_tuning/jobs",
            "/fine_tuning/jobs?limit=100".into(),
            false,
        ),
        (
            "/organization/projects",
            "/organization/projects?include_archived=true".into(),
            true,
        ),
        (
            "/organization/projects/{project_id}/rate_limits",
            format!("/organization/projects/{project}/rate_limits"),
            true,
        ),
        (
            "/organization/usage/completions",
            format!(
                "/organization/usage/completions?start_time={start}&group_by=model&group_by=project_id&group_by=batch&group_by=api_key_id"
            ),
            true,
        ),
        (
            "/organization/usage/completions",
            format!("/organization/usage/completions?start_time={start}&bucket_width=1m&limit=5"),
            true,
        ),
        (
            "/organization/costs",
            format!(
                "/organization/costs?start_time={start}&group_by=line_item&group_by=project_id"
            ),
            true,
        ),
        (
            "/organization/costs",
            format!("/organization/costs?start_time={start}"),
            true,
        ),
    ];
    for (template, path, admin) in cases {
        let (status, body) = if admin {
            h.admin(&path).await
        } else {
            h.get(&path).await
        };
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        problems.extend(
            spec.check_response(template, "get", 200, &body)
                .into_iter()
                .map(|p| format!("GET {path}: {p}")),
        );
    }
    let (_, done) = h
        .chat(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "n": 2}))
        .await;
    problems.extend(spec.check_response("/chat/completions", "post", 200, &done));
    let tools = json!([{"type": "function", "function": {"name": "twilio_numbers_buy",
        "description": "Buy a phone number", "parameters": {"type": "object",
        "properties": {"area_code": {"type": "string"}}}}}]);
    for text in ["buy a number in area code 415", "what is the weather"] {
        let (status, answer) = h
            .chat(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], "tools": tools, "n": 2}))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        problems.extend(
            spec.check_response("/chat/completions", "post", 200, &answer)
                .into_iter()
                .map(|p| format!("chat with tools ({text}): {p}")),
        );
    }
    let (_, err) = h
        .chat(&json!({"model": "gpt-4o-mini", "messages": []}))
        .await;
    if let Some(schema) = spec.component("ErrorResponse") {
        problems.extend(spec.check(schema, &err));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    h.sim.stop().await;
}
