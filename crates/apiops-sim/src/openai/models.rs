//! The model catalog: `GET /models` and `GET /models/{model}`.
//!
//! The list holds current models, the organization's fine-tuned models, and — on purpose —
//! models OpenAI has deprecated ([`DEPRECATED_MODELS`]), each carrying the spec's
//! `shutdown_date`, so an audit can find code still pinned to them. A deprecated model whose
//! shutdown date has passed (relative to the run's anchor) is refused by
//! `POST /chat/completions` with the 404 OpenAI gives for it.
//!
//! The list body is serialized once at start: `GET /models` is the cheapest authenticated call
//! and the one benchmarks hammer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::request;
use crate::server::SimState;

/// A model OpenAI has deprecated: its id, the day it stops (or stopped) being served, and the
/// replacement OpenAI recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeprecatedModel {
    /// The model id, as in `GET /models`.
    pub id: &'static str,
    /// `YYYY-MM-DD`, as the spec's `shutdown_date`.
    pub shutdown_date: &'static str,
    /// The model to move to.
    pub replacement: &'static str,
}

/// The deprecated models the simulator lists (all past their shutdown date by late 2026).
/// The providers crate keeps its own table of the same facts (it must not depend on the
/// simulator); this one is the simulator's ground truth for tests.
pub const DEPRECATED_MODELS: &[DeprecatedModel] = &[
    DeprecatedModel {
        id: "text-davinci-003",
        shutdown_date: "2024-01-04",
        replacement: "gpt-3.5-turbo-instruct",
    },
    DeprecatedModel {
        id: "gpt-3.5-turbo-0301",
        shutdown_date: "2024-09-13",
        replacement: "gpt-4o-mini",
    },
    DeprecatedModel {
        id: "gpt-3.5-turbo-0613",
        shutdown_date: "2024-09-13",
        replacement: "gpt-4o-mini",
    },
    DeprecatedModel {
        id: "gpt-4-vision-preview",
        shutdown_date: "2024-12-06",
        replacement: "gpt-4o",
    },
    DeprecatedModel {
        id: "gpt-4-32k",
        shutdown_date: "2025-06-06",
        replacement: "gpt-4o",
    },
    DeprecatedModel {
        id: "gpt-4.5-preview",
        shutdown_date: "2025-07-14",
        replacement: "gpt-4.1",
    },
    DeprecatedModel {
        id: "o1-preview",
        shutdown_date: "2025-07-28",
        replacement: "o3",
    },
    DeprecatedModel {
        id: "o1-mini",
        shutdown_date: "2025-10-27",
        replacement: "o4-mini",
    },
];

/// What a model is for: only chat and reasoning models answer `/chat/completions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Chat completions with `max_tokens` and `temperature`.
    Chat,
    /// Reasoning models: `max_completion_tokens` only, default temperature only.
    Reasoning,
    /// Legacy `/completions` models.
    Completion,
    /// Embeddings, audio, images, moderation.
    Other,
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Model {
    /// The model id.
    pub(crate) id: String,
    /// Unix seconds.
    pub(crate) created: i64,
    /// `system`, `openai`, `openai-internal`, or the organization for fine-tunes.
    pub(crate) owned_by: String,
    /// What it serves.
    pub(crate) kind: Kind,
    /// Context window in tokens (prompt plus completion).
    pub(crate) context: u32,
    /// `YYYY-MM-DD` for deprecated models.
    pub(crate) shutdown_date: Option<&'static str>,
}

impl Model {
    /// The `model` object.
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
        });
        if let Some(d) = self.shutdown_date {
            v["shutdown_date"] = json!(d);
        }
        v
    }
}

/// (id, created, owned_by, kind, context window)
const CATALOG: &[(&str, i64, &str, Kind, u32)] = &[
    ("gpt-4o-mini", 1_721_172_741, "system", Kind::Chat, 128_000),
    (
        "gpt-4o-mini-2024-07-18",
        1_721_172_717,
        "system",
        Kind::Chat,
        128_000,
    ),
    ("gpt-4o", 1_715_367_049, "system", Kind::Chat, 128_000),
    (
        "gpt-4o-2024-08-06",
        1_722_814_719,
        "system",
        Kind::Chat,
        128_000,
    ),
    ("gpt-4.1", 1_744_316_542, "system", Kind::Chat, 1_047_576),
    (
        "gpt-4.1-mini",
        1_744_318_173,
        "system",
        Kind::Chat,
        1_047_576,
    ),
    (
        "gpt-4.1-nano",
        1_744_321_707,
        "system",
        Kind::Chat,
        1_047_576,
    ),
    ("gpt-4-turbo", 1_712_361_441, "system", Kind::Chat, 128_000),
    ("gpt-3.5-turbo", 1_677_610_602, "openai", Kind::Chat, 16_385),
    ("gpt-5", 1_754_425_777, "system", Kind::Reasoning, 400_000),
    (
        "gpt-5-mini",
        1_754_425_928,
        "system",
        Kind::Reasoning,
        400_000,
    ),
    ("o3", 1_744_225_308, "system", Kind::Reasoning, 200_000),
    ("o4-mini", 1_744_225_351, "system", Kind::Reasoning, 200_000),
    (
        "gpt-3.5-turbo-instruct",
        1_692_901_427,
        "system",
        Kind::Completion,
        4_096,
    ),
    (
        "text-embedding-3-small",
        1_705_948_997,
        "system",
        Kind::Other,
        8_191,
    ),
    (
        "text-embedding-3-large",
        1_705_953_180,
        "system",
        Kind::Other,
        8_191,
    ),
    (
        "whisper-1",
        1_677_532_384,
        "openai-internal",
        Kind::Other,
        0,
    ),
    ("tts-1", 1_681_940_951, "openai-internal", Kind::Other, 0),
    ("dall-e-3", 1_698_785_189, "system", Kind::Other, 0),
    (
        "omni-moderation-latest",
        1_731_689_265,
        "system",
        Kind::Other,
        32_768,
    ),
    (
        "text-davinci-003",
        1_669_599_635,
        "openai-internal",
        Kind::Completion,
        4_097,
    ),
    (
        "gpt-3.5-turbo-0301",
        1_677_649_963,
        "openai",
        Kind::Chat,
        4_096,
    ),
    (
        "gpt-3.5-turbo-0613",
        1_686_587_434,
        "openai",
        Kind::Chat,
        4_096,
    ),
    (
        "gpt-4-vision-preview",
        1_698_894_917,
        "system",
        Kind::Chat,
        128_000,
    ),
    ("gpt-4-32k", 1_687_979_321, "openai", Kind::Chat, 32_768),
    (
        "gpt-4.5-preview",
        1_740_623_059,
        "system",
        Kind::Chat,
        128_000,
    ),
    (
        "o1-preview",
        1_725_648_897,
        "system",
        Kind::Reasoning,
        128_000,
    ),
    ("o1-mini", 1_725_649_008, "system", Kind::Reasoning, 128_000),
];

/// The catalog, with the organization's fine-tuned models (id, created) appended.
pub(crate) fn catalog(org: &str, fine_tuned: &[(String, i64)]) -> Vec<Model> {
    let mut models: Vec<Model> = CATALOG
        .iter()
        .map(|(id, created, owned_by, kind, context)| Model {
            id: (*id).to_owned(),
            created: *created,
            owned_by: (*owned_by).to_owned(),
            kind: *kind,
            context: *context,
            shutdown_date: DEPRECATED_MODELS
                .iter()
                .find(|d| d.id == *id)
                .map(|d| d.shutdown_date),
        })
        .collect();
    models.extend(fine_tuned.iter().map(|(id, created)| Model {
        id: id.clone(),
        created: *created,
        owned_by: org.to_owned(),
        kind: Kind::Chat,
        context: 128_000,
        shutdown_date: None,
    }));
    models
}

/// The `GET /models` body, serialized once.
pub(crate) fn list_body(models: &[Model]) -> Bytes {
    let data: Vec<Value> = models.iter().map(Model::to_json).collect();
    Bytes::from(serde_json::to_vec(&json!({"object": "list", "data": data})).unwrap_or_default())
}

/// `GET /models`
pub(crate) async fn list(State(state): State<Arc<SimState>>) -> Response {
    state.stats.request("openai.models.list");
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openai.models_body.clone(),
    )
        .into_response()
}

/// `GET /models/{model}` (fine-tuned ids contain `:`, which the path keeps).
pub(crate) async fn retrieve(
    State(state): State<Arc<SimState>>,
    Path(model): Path<String>,
) -> Response {
    state.stats.request("openai.models.retrieve");
    match state.openai.models.iter().find(|m| m.id == model) {
        Some(m) => axum::Json(m.to_json()).into_response(),
        None => request::error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("model_not_found"),
            Some("model"),
            &format!("The model '{model}' does not exist"),
        )
        .into_response(),
    }
}
