//! The optional LLM planner: asks an OpenAI-compatible chat endpoint to map a request onto one
//! of the catalog's operations by tool calling. It only ever proposes an [`Operation`](crate::Operation): its
//! arguments are checked like any other request ([`crate::params::build`]) and its plan goes
//! through the same gate — a model cannot skip a confirmation or reach outside the catalog.

use apiops_providers::openai::client::OpenAiClient;
use serde_json::{Value, json};

use crate::catalog::{CATALOG, OpKind};
use crate::error::OpsError;
use crate::intent::Intent;
use crate::params;

/// The instruction the model gets.
const SYSTEM: &str = "You map one operator request about Twilio, Stripe or OpenAI integrations to exactly one tool call. \
Use only values the request states; leave out parameters it does not give. If no tool fits, answer in one sentence without calling a tool.";

/// A catalog name as a function name (`twilio.numbers.buy` -> `twilio_numbers_buy`): function
/// names allow only letters, digits, `_` and `-`.
pub fn tool_name(kind: OpKind) -> String {
    kind.name().replace('.', "_")
}

/// The operation a function name denotes.
pub fn kind_of_tool(name: &str) -> Option<OpKind> {
    CATALOG
        .iter()
        .find(|s| tool_name(s.kind) == name)
        .map(|s| s.kind)
}

/// Every catalog operation as a chat-completions tool.
pub fn tools() -> Value {
    Value::Array(
        CATALOG
            .iter()
            .map(|s| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool_name(s.kind),
                        "description": s.summary,
                        "parameters": params::schema(s.kind),
                    }
                })
            })
            .collect(),
    )
}

/// Asks `model` behind `client` what `request` means.
pub async fn propose(
    client: &OpenAiClient,
    model: &str,
    request: &str,
) -> Result<Intent, OpsError> {
    let messages = json!([
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": request},
    ]);
    let response = client.chat_with_tools(model, messages, tools()).await?;
    interpret(&response)
}

/// Reads a chat-completions response: one tool call -> the operation; none -> unknown with the
/// model's words; several -> a question.
pub fn interpret(response: &Value) -> Result<Intent, OpsError> {
    let message = &response["choices"][0]["message"];
    let calls = message["tool_calls"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match calls.as_slice() {
        [] => Ok(Intent::Unknown {
            reason: message["content"]
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("the model did not map the request to an operation")
                .to_owned(),
            examples: Vec::new(),
        }),
        [call] => {
            let name = call["function"]["name"].as_str().unwrap_or_default();
            let kind = kind_of_tool(name).ok_or_else(|| {
                OpsError::Invalid(format!(
                    "the model called {name:?}, which is not an apiops operation"
                ))
            })?;
            let args: Value = match &call["function"]["arguments"] {
                Value::String(s) if s.trim().is_empty() => json!({}),
                Value::String(s) => serde_json::from_str(s).map_err(|e| {
                    OpsError::Invalid(format!("the model's arguments are not JSON: {e}"))
                })?,
                Value::Object(_) => call["function"]["arguments"].clone(),
                _ => json!({}),
            };
            let args = args.as_object().cloned().unwrap_or_default();
            match params::build(kind, &args) {
                Ok(operation) => Ok(Intent::Run { operation }),
                Err(OpsError::Ambiguous {
                    question,
                    candidates,
                }) => Ok(Intent::Ask {
                    kind: Some(kind),
                    question,
                    candidates,
                }),
                Err(e) => Err(e),
            }
        }
        many => Ok(Intent::Ask {
            kind: None,
            question: "The request asks for several operations; which one first?".into(),
            candidates: many
                .iter()
                .filter_map(|c| c["function"]["name"].as_str())
                .filter_map(kind_of_tool)
                .map(|k| k.spec().summary.to_owned())
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Operation;

    fn call(name: &str, args: &str) -> Value {
        json!({"choices": [{"message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": args}}
        ]}, "finish_reason": "tool_calls"}]})
    }

    #[test]
    fn tool_names_round_trip_and_are_valid_function_names() {
        for s in CATALOG {
            let n = tool_name(s.kind);
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            );
            assert!(n.len() <= 64);
            assert_eq!(kind_of_tool(&n), Some(s.kind));
        }
        assert_eq!(tools().as_array().map(Vec::len), Some(CATALOG.len()));
    }

    #[test]
    fn a_tool_call_becomes_a_checked_operation() {
        let intent = interpret(&call("twilio_numbers_buy", r#"{"area_code": 415}"#)).expect("ok");
        assert!(matches!(
            intent,
            Intent::Run {
                operation: Operation::TwilioBuyNumber {
                    area_code: Some(415),
                    ..
                }
            }
        ));
        let ask = interpret(&call("twilio_numbers_buy", "{}")).expect("ok");
        assert!(matches!(
            ask,
            Intent::Ask {
                kind: Some(OpKind::TwilioBuyNumber),
                ..
            }
        ));
        assert!(interpret(&call("rm_rf", "{}")).is_err());
        assert!(interpret(&call("twilio_numbers_buy", "{not json")).is_err());
        assert!(interpret(&call("twilio_numbers_buy", r#"{"area_code": 12}"#)).is_err());
    }

    #[test]
    fn no_tool_call_is_unknown_with_the_models_words() {
        let r = json!({"choices": [{"message": {"role": "assistant", "content": "I cannot do refunds."}}]});
        assert_eq!(
            interpret(&r).expect("ok"),
            Intent::Unknown {
                reason: "I cannot do refunds.".into(),
                examples: Vec::new()
            }
        );
        assert!(matches!(
            interpret(&json!({})).expect("ok"),
            Intent::Unknown { .. }
        ));
    }
}
