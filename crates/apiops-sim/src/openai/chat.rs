//! `POST /chat/completions`: validates the request as OpenAI does — JSON body, no unknown
//! arguments, `model` known and able to chat (not shut down, not an embeddings or legacy
//! completions model), `messages` a non-empty array of well-formed messages, the sampling
//! parameters in range, reasoning-model restrictions, the context window, `tools` and
//! `tool_choice` — then answers a `chat.completion` with a canned reply and token usage,
//! counted as one side effect.
//!
//! With `tools`, the answer is a deterministic tool call (`finish_reason: "tool_calls"`,
//! `message.tool_calls[0]` = `{id: "call_...", type: "function", function: {name, arguments}}`)
//! or a plain message when no tool fits; the rule is in [`super::tools`]. The tool definitions
//! count in `prompt_tokens`, the call's name and arguments in `completion_tokens`.
//!
//! Validation is a pure function ([`validate`]) from the body to a [`ChatRequest`] or the error
//! document OpenAI would send; the handler only wires it. Streaming is not simulated: a request
//! with `stream: true` gets a 400 saying so.

use std::sync::{Arc, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::models::{Kind, Model};
use super::request::{self, OpenAiError, invalid, type_name};
use super::tools::{self, Decision, Tools};
use crate::server::SimState;

/// The request arguments `CreateChatCompletionRequest` defines; anything else is refused.
const KNOWN_ARGUMENTS: &[&str] = &[
    "audio",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_completion_tokens",
    "max_tokens",
    "messages",
    "metadata",
    "modalities",
    "model",
    "moderation",
    "n",
    "parallel_tool_calls",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "prompt_cache_options",
    "prompt_cache_retention",
    "reasoning_effort",
    "response_format",
    "safety_identifier",
    "seed",
    "service_tier",
    "stop",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "user",
    "verbosity",
    "web_search_options",
];

const ROLES: &[&str] = &[
    "system",
    "assistant",
    "user",
    "function",
    "tool",
    "developer",
];

/// What a valid request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatRequest {
    /// The model id as given.
    pub(crate) model: String,
    /// Estimated prompt tokens.
    pub(crate) prompt_tokens: u64,
    /// How many messages were sent.
    pub(crate) messages: usize,
    /// Completion token cap (`max_completion_tokens` or `max_tokens`).
    pub(crate) max_tokens: Option<u64>,
    /// How many choices.
    pub(crate) n: u64,
    /// The offered tools, when any.
    pub(crate) tools: Option<Tools>,
    /// The text of the last `user` message.
    pub(crate) last_user: String,
    /// When the last message is a tool result: the name of the tool it answers ("" unknown).
    pub(crate) answered: Option<String>,
}

/// A rough token count: four characters a token, as OpenAI's rule of thumb.
pub(super) fn tokens_of(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

pub(super) fn missing(param: &str) -> OpenAiError {
    invalid(
        param,
        "missing_required_parameter",
        &format!("Missing required parameter: '{param}'."),
    )
}

pub(super) fn wrong_type(param: &str, expected: &str, got: &Value) -> OpenAiError {
    invalid(
        param,
        "invalid_type",
        &format!(
            "Invalid type for '{param}': expected {expected}, but got {} instead.",
            type_name(got)
        ),
    )
}

/// An optional integer argument within `min..=max`.
fn bounded_integer(
    body: &Map<String, Value>,
    name: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, OpenAiError> {
    let Some(v) = body.get(name).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Some(n) = v.as_i64() else {
        return Err(wrong_type(name, "an integer", v));
    };
    if n < min {
        return Err(invalid(
            name,
            "integer_below_min_value",
            &format!(
                "Invalid '{name}': integer below minimum value. Expected a value >= {min}, but got {n} instead."
            ),
        ));
    }
    if n > max {
        return Err(invalid(
            name,
            "integer_above_max_value",
            &format!(
                "Invalid '{name}': integer above maximum value. Expected a value <= {max}, but got {n} instead."
            ),
        ));
    }
    Ok(Some(n))
}

/// Validates a chat request against the catalog, as OpenAI would, as of `today` (`YYYY-MM-DD`,
/// for shutdown dates).
pub(crate) fn validate(
    raw: &[u8],
    models: &[Model],
    today: &str,
) -> Result<ChatRequest, OpenAiError> {
    let Ok(parsed) = serde_json::from_slice::<Value>(raw) else {
        return Err(request::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            None,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
        ));
    };
    let Value::Object(body) = parsed else {
        return Err(wrong_type("body", "an object", &parsed));
    };
    if let Some(k) = body.keys().find(|k| !KNOWN_ARGUMENTS.contains(&k.as_str())) {
        return Err(request::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            Some(k),
            &format!("Unrecognized request argument supplied: {k}"),
        ));
    }
    let model_id = match body.get("model") {
        None | Some(Value::Null) => return Err(missing("model")),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => return Err(missing("model")),
        Some(other) => return Err(wrong_type("model", "a string", other)),
    };
    let messages = match body.get("messages") {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(m)) => m,
        Some(other) => return Err(wrong_type("messages", "an array", other)),
    };
    if messages.is_empty() {
        return Err(invalid(
            "messages",
            "empty_array",
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        ));
    }
    let mut prompt_tokens = 3;
    for (i, m) in messages.iter().enumerate() {
        prompt_tokens += 4 + message_tokens(i, m)?;
    }
    let tools = tools::parse(&body)?;
    prompt_tokens += tools.as_ref().map_or(0, |t| t.prompt_tokens);
    let (last_user, answered) = tools::conversation(messages);
    if body.get("stream") == Some(&Value::Bool(true)) {
        return Err(invalid(
            "stream",
            "unsupported_value",
            "Streaming is not supported by the apiops simulator; send stream=false.",
        ));
    }
    let n = bounded_integer(&body, "n", 1, 128)?.unwrap_or(1);
    let max_tokens = bounded_integer(&body, "max_tokens", 1, i64::from(u32::MAX))?;
    let max_completion_tokens =
        bounded_integer(&body, "max_completion_tokens", 1, i64::from(u32::MAX))?;
    let temperature = match body.get("temperature").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => match v.as_f64() {
            Some(t) if (0.0..=2.0).contains(&t) => Some(t),
            Some(t) => {
                let (code, bound) = if t < 0.0 {
                    ("decimal_below_min_value", "Expected a value >= 0")
                } else {
                    ("decimal_above_max_value", "Expected a value <= 2")
                };
                return Err(invalid(
                    "temperature",
                    code,
                    &format!(
                        "Invalid 'temperature': {}. {bound}, but got {t} instead.",
                        code.replace('_', " ")
                    ),
                ));
            }
            None => return Err(wrong_type("temperature", "a decimal", v)),
        },
    };

    let Some(model) = models.iter().find(|m| m.id == model_id) else {
        return Err(request::error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("model_not_found"),
            None,
            &format!("The model `{model_id}` does not exist or you do not have access to it."),
        ));
    };
    if model.shutdown_date.is_some_and(|d| d <= today) {
        return Err(request::error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("model_not_found"),
            None,
            &format!(
                "The model `{model_id}` has been deprecated, learn more here: https://platform.openai.com/docs/deprecations"
            ),
        ));
    }
    match model.kind {
        Kind::Chat => {}
        Kind::Reasoning => {
            if max_tokens.is_some() {
                return Err(invalid(
                    "max_tokens",
                    "unsupported_parameter",
                    "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
                ));
            }
            if let Some(t) = temperature.filter(|t| (*t - 1.0).abs() > f64::EPSILON) {
                return Err(invalid(
                    "temperature",
                    "unsupported_value",
                    &format!(
                        "Unsupported value: 'temperature' does not support {t} with this model. Only the default (1) value is supported."
                    ),
                ));
            }
        }
        Kind::Completion | Kind::Other => {
            return Err(request::error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                None,
                Some("model"),
                "This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you mean to use v1/completions?",
            ));
        }
    }
    let max_tokens = max_completion_tokens
        .or(max_tokens)
        .and_then(|v| u64::try_from(v).ok());
    let requested = prompt_tokens + max_tokens.unwrap_or(0);
    if requested > u64::from(model.context) {
        return Err(invalid(
            "messages",
            "context_length_exceeded",
            &format!(
                "This model's maximum context length is {} tokens. However, you requested {requested} tokens ({prompt_tokens} in the messages, {} in the completion). Please reduce the length of the messages or completion.",
                model.context,
                max_tokens.unwrap_or(0)
            ),
        ));
    }
    Ok(ChatRequest {
        model: model_id,
        prompt_tokens,
        messages: messages.len(),
        max_tokens,
        n: u64::try_from(n).unwrap_or(1),
        tools,
        last_user,
        answered,
    })
}

/// Checks message `i` and estimates its tokens.
fn message_tokens(i: usize, m: &Value) -> Result<u64, OpenAiError> {
    let at = format!("messages[{i}]");
    let Value::Object(msg) = m else {
        return Err(wrong_type(&at, "an object", m));
    };
    let role = match msg.get("role") {
        None | Some(Value::Null) => return Err(missing(&format!("{at}.role"))),
        Some(Value::String(r)) => r.as_str(),
        Some(other) => return Err(wrong_type(&format!("{at}.role"), "a string", other)),
    };
    if !ROLES.contains(&role) {
        return Err(invalid(
            &format!("{at}.role"),
            "invalid_value",
            &format!(
                "Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."
            ),
        ));
    }
    if role == "tool" && !msg.get("tool_call_id").is_some_and(Value::is_string) {
        return Err(missing(&format!("{at}.tool_call_id")));
    }
    let content_param = format!("{at}.content");
    match msg.get("content") {
        None | Some(Value::Null) if role == "assistant" => Ok(0),
        None | Some(Value::Null) => Err(missing(&content_param)),
        Some(Value::String(s)) => Ok(tokens_of(s)),
        Some(Value::Array(parts)) => {
            let mut total = 0;
            for (j, part) in parts.iter().enumerate() {
                let part_param = format!("{content_param}[{j}]");
                let Some(kind) = part.get("type").and_then(Value::as_str) else {
                    return Err(missing(&format!("{part_param}.type")));
                };
                total += match kind {
                    "text" => part
                        .get("text")
                        .and_then(Value::as_str)
                        .map(tokens_of)
                        .ok_or_else(|| missing(&format!("{part_param}.text")))?,
                    // An image or audio part: a flat estimate.
                    _ => 85,
                };
            }
            Ok(total)
        }
        Some(other) => Err(wrong_type(
            &content_param,
            "one of a string or array of objects",
            other,
        )),
    }
}

/// The reply text for a request (the same request gets the same reply).
fn reply(req: &ChatRequest) -> String {
    format!(
        "This is a simulated reply from apiops-sim ({}) to {} message(s).",
        req.model, req.messages
    )
}

/// The first `cap` tokens' worth of `text` (four characters a token).
fn truncated(text: &str, cap: u64) -> String {
    let chars = usize::try_from(cap.saturating_mul(4)).unwrap_or(usize::MAX);
    text.chars().take(chars).collect()
}

/// The id of the tool call in choice `index` of completion `id`: `call_` and 24 hex digits
/// derived from both, so the same completion always carries the same call ids.
fn call_id(id: &str, index: u64) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(format!("{id}/{index}")));
    format!("call_{}", &digest[..24])
}

/// What every choice of a completion carries.
enum Answer {
    /// A text message.
    Text(String),
    /// A call of a function (or custom) tool.
    Call {
        name: String,
        arguments: String,
        custom: bool,
    },
}

impl Answer {
    /// The assistant message of choice `index` of completion `id`.
    fn message(&self, id: &str, index: u64) -> Value {
        match self {
            Answer::Text(content) => {
                json!({"role": "assistant", "content": content, "refusal": null, "annotations": []})
            }
            Answer::Call {
                name,
                arguments,
                custom,
            } => {
                let call_id = call_id(id, index);
                let call = if *custom {
                    json!({"id": call_id, "type": "custom", "custom": {"name": name, "input": arguments}})
                } else {
                    json!({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}})
                };
                json!({"role": "assistant", "content": null, "refusal": null, "annotations": [], "tool_calls": [call]})
            }
        }
    }
}

/// The answer, its completion tokens (per choice) and its finish reason: the text or the
/// call's arguments cut at `max_tokens` (finish reason `length`) when they would exceed it.
fn answer(req: &ChatRequest) -> (Answer, u64, &'static str) {
    let decision = match &req.tools {
        None => Decision::Plain,
        Some(t) => tools::decide(t, &req.last_user, req.answered.as_deref()),
    };
    let text = match decision {
        Decision::Plain => reply(req),
        Decision::Say(text) => text,
        Decision::Call {
            name,
            arguments,
            custom,
        } => {
            let natural = tokens_of(&name) + tokens_of(&arguments);
            let (arguments, tokens, finish) = match req.max_tokens {
                Some(cap) if cap < natural => (truncated(&arguments, cap), cap, "length"),
                _ => (arguments, natural, "tool_calls"),
            };
            return (
                Answer::Call {
                    name,
                    arguments,
                    custom,
                },
                tokens,
                finish,
            );
        }
    };
    let natural = tokens_of(&text);
    match req.max_tokens {
        Some(cap) if cap < natural => (Answer::Text(truncated(&text, cap)), cap, "length"),
        _ => (Answer::Text(text), natural, "stop"),
    }
}

/// The `chat.completion` object for a valid request.
pub(crate) fn completion(req: &ChatRequest, id: &str, created: i64) -> Value {
    let (answer, completion_tokens, finish) = answer(req);
    let choices: Vec<Value> = (0..req.n)
        .map(|i| {
            json!({
                "index": i,
                "message": answer.message(id, i),
                "logprobs": null,
                "finish_reason": finish,
            })
        })
        .collect();
    let completion_total = completion_tokens * req.n;
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": req.model,
        "choices": choices,
        "usage": {
            "prompt_tokens": req.prompt_tokens,
            "completion_tokens": completion_total,
            "total_tokens": req.prompt_tokens + completion_total,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0
            }
        },
        "service_tier": "default",
        "system_fingerprint": "fp_sim0a1b2c3d",
    })
}

/// `POST /chat/completions`
pub(crate) async fn create(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    state.stats.request("openai.chat.create");
    let openai = &state.openai;
    let now = jiff::Timestamp::now().max(state.config.anchor);
    let today = now.strftime("%Y-%m-%d").to_string();
    let req = match validate(&body, &openai.models, &today) {
        Ok(r) => r,
        Err(rejection) => return rejection.into_response(),
    };
    let id = {
        let mut r = openai.ids.lock().unwrap_or_else(PoisonError::into_inner);
        let tail = crate::rng::stripe_id("x", &mut r);
        format!("chatcmpl-{}", &tail[2..])
    };
    state.stats.side_effect("openai.chat.create");
    axum::Json(completion(&req, &id, now.as_second())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::models::catalog;

    fn check(body: Value) -> Result<ChatRequest, (StatusCode, Value)> {
        let models = catalog("org-x", &[]);
        validate(body.to_string().as_bytes(), &models, "2026-11-25").map_err(|e| (e.status, e.body))
    }

    #[test]
    fn validates_like_openai() {
        let ok = check(
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 5}),
        );
        assert_eq!(
            ok.as_ref()
                .ok()
                .map(|r| (r.model.as_str(), r.max_tokens, r.n)),
            Some(("gpt-4o-mini", Some(5), 1))
        );
        let cases = [
            (
                json!({"messages": [{"role": "user", "content": "x"}]}),
                400,
                "model",
                "missing_required_parameter",
            ),
            (
                json!({"model": 4, "messages": []}),
                400,
                "model",
                "invalid_type",
            ),
            (
                json!({"model": "gpt-4o"}),
                400,
                "messages",
                "missing_required_parameter",
            ),
            (
                json!({"model": "gpt-4o", "messages": "hi"}),
                400,
                "messages",
                "invalid_type",
            ),
            (
                json!({"model": "gpt-4o", "messages": []}),
                400,
                "messages",
                "empty_array",
            ),
            (
                json!({"model": "gpt-4o", "messages": [{"content": "x"}]}),
                400,
                "messages[0].role",
                "missing_required_parameter",
            ),
            (
                json!({"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]}),
                400,
                "messages[0].role",
                "invalid_value",
            ),
            (
                json!({"model": "gpt-4o", "messages": [{"role": "user"}]}),
                400,
                "messages[0].content",
                "missing_required_parameter",
            ),
            (
                json!({"model": "gpt-4o", "messages": [{"role": "user", "content": 3}]}),
                400,
                "messages[0].content",
                "invalid_type",
            ),
            (
                json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "n": 0}),
                400,
                "n",
                "integer_below_min_value",
            ),
            (
                json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": 3}),
                400,
                "temperature",
                "decimal_above_max_value",
            ),
            (
                json!({"model": "o3", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5}),
                400,
                "max_tokens",
                "unsupported_parameter",
            ),
            (
                json!({"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "x".repeat(80_000)}]}),
                400,
                "messages",
                "context_length_exceeded",
            ),
        ];
        for (body, status, param, code) in cases {
            let err = check(body.clone())
                .err()
                .unwrap_or_else(|| panic!("accepted {body}"));
            assert_eq!(err.0.as_u16(), status, "{body}");
            assert_eq!(err.1["error"]["type"], "invalid_request_error", "{body}");
            assert_eq!(err.1["error"]["param"], param, "{body}");
            assert_eq!(err.1["error"]["code"], code, "{body}");
        }
        let unknown =
            check(json!({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})).err();
        assert_eq!(unknown.as_ref().map(|e| e.0), Some(StatusCode::NOT_FOUND));
        assert_eq!(
            unknown.map(|e| e.1["error"]["code"].clone()),
            Some(json!("model_not_found"))
        );
        let retired = check(
            json!({"model": "gpt-3.5-turbo-0301", "messages": [{"role": "user", "content": "x"}]}),
        )
        .err();
        assert!(retired.is_some_and(|e| {
            e.0 == StatusCode::NOT_FOUND
                && e.1["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("deprecated"))
        }));
        let embedding = check(json!({"model": "text-embedding-3-small", "messages": [{"role": "user", "content": "x"}]})).err();
        assert_eq!(embedding.map(|e| e.0), Some(StatusCode::NOT_FOUND));
        let extra = check(
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "foo": 1}),
        )
        .err();
        assert_eq!(
            extra.map(|e| e.1["error"]["message"].clone()),
            Some(json!("Unrecognized request argument supplied: foo"))
        );
        let not_json = validate(b"{\"model\":", &catalog("org-x", &[]), "2026-11-25").err();
        assert_eq!(not_json.map(|r| r.status), Some(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn answers_with_usage_and_honours_the_cap() {
        let req = ChatRequest {
            model: "gpt-4o-mini".into(),
            prompt_tokens: 12,
            messages: 1,
            max_tokens: Some(5),
            n: 2,
            tools: None,
            last_user: "ping".into(),
            answered: None,
        };
        let c = completion(&req, "chatcmpl-x", 1);
        assert_eq!(c["choices"].as_array().map(Vec::len), Some(2));
        assert_eq!(c["choices"][0]["finish_reason"], "length");
        assert_eq!(c["usage"]["completion_tokens"], 10);
        assert_eq!(c["usage"]["total_tokens"], 22);
        let free = completion(
            &ChatRequest {
                max_tokens: None,
                n: 1,
                ..req
            },
            "chatcmpl-y",
            1,
        );
        assert_eq!(free["choices"][0]["finish_reason"], "stop");
    }
}
