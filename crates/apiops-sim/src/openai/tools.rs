//! Tool calling in `POST /chat/completions`: validates `tools` and `tool_choice` as OpenAI does
//! and decides, deterministically, what the simulated model answers when tools are offered.
//!
//! The decision ([`decide`]), for the text of the last `user` message:
//!
//! 1. `tool_choice: "none"`: the ordinary simulated reply, no tool call.
//! 2. A named choice (`{"type": "function", "function": {"name": ...}}`): that tool is called.
//! 3. `auto` (the default) when the conversation ends with a `tool` message: a plain reply
//!    saying the result of that call was received — the model does not call again, so a
//!    planner's loop ends.
//! 4. Otherwise every offered tool gets a score: each distinct word of its name (split on
//!    anything not a letter or digit — `.`, `_`, `-` — and at camelCase humps) found among the
//!    message's words counts 2, each other distinct word of its description found counts 1.
//!    Words are compared in lowercase, a plural `s` dropped (`numbers` = `number`), and small
//!    grammatical words (`a`, `the`, `to`, `from`, ...) and bare numbers ignored. The highest
//!    score wins; ties go to the tool listed first. When no tool scores above zero the answer
//!    is a plain message saying the request cannot be mapped — unless the choice is
//!    `required`, which calls the first tool.
//!
//! A function call's `arguments` is a JSON object built from the tool's `parameters` schema:
//! each property gets a value only when the message holds one of the right shape (see
//! [`arguments`]); others are left out, as a careful model would rather than invent them.
//! A custom tool's call gets the message itself as its `input`.
//!
//! `allowed_tools` choices restrict the candidates to the listed tools, with their `mode`
//! (`auto` or `required`).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::chat::{missing, tokens_of, wrong_type};
use super::request::{OpenAiError, invalid};

/// OpenAI's limit on `tools`.
const MAX_TOOLS: usize = 128;

/// One tool offered in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tool {
    /// The function (or custom tool) name.
    pub(crate) name: String,
    /// Its description ("" when absent).
    pub(crate) description: String,
    /// The function's parameters JSON schema (`Null` when absent or for a custom tool).
    pub(crate) parameters: Value,
    /// A custom tool (free-form `input`) rather than a function.
    pub(crate) custom: bool,
}

/// What `tool_choice` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice {
    /// The model decides (the default with tools).
    Auto,
    /// No tool call.
    None,
    /// At least one tool call.
    Required,
    /// This tool.
    Named(String),
}

/// The tools part of a valid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tools {
    /// The tools the model may call (after an `allowed_tools` restriction), in request order.
    pub(crate) offered: Vec<Tool>,
    /// The choice.
    pub(crate) choice: Choice,
    /// Tokens the tool definitions add to the prompt.
    pub(crate) prompt_tokens: u64,
}

/// What the simulated model answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The ordinary simulated reply.
    Plain,
    /// A plain message with this text.
    Say(String),
    /// A call of this tool with these arguments (a JSON string; a custom tool's input).
    Call {
        /// The tool's name.
        name: String,
        /// `function.arguments`, or `custom.input`.
        arguments: String,
        /// A custom tool call.
        custom: bool,
    },
}

/// Validates `tools` and `tool_choice`; `None` when the request offers no tools.
pub(crate) fn parse(body: &Map<String, Value>) -> Result<Option<Tools>, OpenAiError> {
    let choice_value = body.get("tool_choice").filter(|v| !v.is_null());
    let Some(tools_value) = body.get("tools").filter(|v| !v.is_null()) else {
        if choice_value.is_some() {
            return Err(invalid(
                "tool_choice",
                "invalid_value",
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            ));
        }
        return Ok(None);
    };
    let Value::Array(items) = tools_value else {
        return Err(wrong_type("tools", "an array", tools_value));
    };
    if items.is_empty() {
        return Err(invalid(
            "tools",
            "empty_array",
            "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        ));
    }
    if items.len() > MAX_TOOLS {
        return Err(invalid(
            "tools",
            "array_above_max_length",
            &format!(
                "Invalid 'tools': array too long. Expected an array with maximum length {MAX_TOOLS}, but got an array with length {} instead.",
                items.len()
            ),
        ));
    }
    let mut tools = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        tools.push(tool(i, item)?);
    }
    let mut choice = Choice::Auto;
    if let Some(v) = choice_value {
        let (c, allowed) = tool_choice(v, &tools)?;
        choice = c;
        if let Some(allowed) = allowed {
            tools.retain(|t| allowed.contains(&t.name));
        }
    }
    Ok(Some(Tools {
        offered: tools,
        choice,
        prompt_tokens: tokens_of(&tools_value.to_string()),
    }))
}

/// Checks `tools[i]`.
fn tool(i: usize, item: &Value) -> Result<Tool, OpenAiError> {
    let at = format!("tools[{i}]");
    let Value::Object(t) = item else {
        return Err(wrong_type(&at, "an object", item));
    };
    let kind = match t.get("type") {
        None | Some(Value::Null) => return Err(missing(&format!("{at}.type"))),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(wrong_type(&format!("{at}.type"), "a string", other)),
    };
    let custom = match kind {
        "function" => false,
        "custom" => true,
        other => {
            return Err(invalid(
                &format!("{at}.type"),
                "invalid_value",
                &format!(
                    "Invalid value: '{other}'. Supported values are: 'function' and 'custom'."
                ),
            ));
        }
    };
    let inner_at = format!("{at}.{kind}");
    let inner = match t.get(kind) {
        None | Some(Value::Null) => return Err(missing(&inner_at)),
        Some(Value::Object(o)) => o,
        Some(other) => return Err(wrong_type(&inner_at, "an object", other)),
    };
    let name_at = format!("{inner_at}.name");
    let name = match inner.get("name") {
        None | Some(Value::Null) => return Err(missing(&name_at)),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(wrong_type(&name_at, "a string", other)),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(invalid(
            &name_at,
            "invalid_value",
            &format!(
                "Invalid '{name_at}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
            ),
        ));
    }
    if name.chars().count() > 64 {
        return Err(invalid(
            &name_at,
            "string_above_max_length",
            &format!(
                "Invalid '{name_at}': string too long. Expected a string with maximum length 64, but got a string with length {} instead.",
                name.chars().count()
            ),
        ));
    }
    let description = match inner.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(wrong_type(
                &format!("{inner_at}.description"),
                "a string",
                other,
            ));
        }
    };
    let parameters = match inner.get("parameters") {
        None | Some(Value::Null) => Value::Null,
        Some(p @ Value::Object(_)) if !custom => p.clone(),
        Some(other) if !custom => {
            return Err(wrong_type(
                &format!("{inner_at}.parameters"),
                "an object",
                other,
            ));
        }
        Some(_) => Value::Null,
    };
    Ok(Tool {
        name,
        description,
        parameters,
        custom,
    })
}

/// Checks `tool_choice`: the choice, and the names an `allowed_tools` choice keeps.
fn tool_choice(v: &Value, tools: &[Tool]) -> Result<(Choice, Option<Vec<String>>), OpenAiError> {
    let known = |name: &str| -> Result<(), OpenAiError> {
        if tools.iter().any(|t| t.name == name) {
            Ok(())
        } else {
            Err(invalid(
                "tool_choice",
                "invalid_value",
                &format!("Tool choice '{name}' not found in 'tools' parameter."),
            ))
        }
    };
    let obj = match v {
        Value::String(s) => {
            return match s.as_str() {
                "auto" => Ok((Choice::Auto, None)),
                "none" => Ok((Choice::None, None)),
                "required" => Ok((Choice::Required, None)),
                other => Err(invalid(
                    "tool_choice",
                    "invalid_value",
                    &format!(
                        "Invalid value: '{other}'. Supported values are: 'none', 'auto', and 'required'."
                    ),
                )),
            };
        }
        Value::Object(o) => o,
        other => {
            return Err(wrong_type(
                "tool_choice",
                "one of a string or an object",
                other,
            ));
        }
    };
    let kind = match obj.get("type") {
        None | Some(Value::Null) => return Err(missing("tool_choice.type")),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(wrong_type("tool_choice.type", "a string", other)),
    };
    match kind {
        "function" | "custom" => {
            let name = obj
                .get(kind)
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| missing(&format!("tool_choice.{kind}.name")))?;
            known(name)?;
            Ok((Choice::Named(name.to_owned()), None))
        }
        "allowed_tools" => {
            let allowed = obj
                .get("allowed_tools")
                .ok_or_else(|| missing("tool_choice.allowed_tools"))?;
            let choice = match allowed.get("mode").and_then(Value::as_str) {
                Some("auto") => Choice::Auto,
                Some("required") => Choice::Required,
                Some(other) => {
                    return Err(invalid(
                        "tool_choice.allowed_tools.mode",
                        "invalid_value",
                        &format!(
                            "Invalid value: '{other}'. Supported values are: 'auto' and 'required'."
                        ),
                    ));
                }
                None => return Err(missing("tool_choice.allowed_tools.mode")),
            };
            let Some(list) = allowed.get("tools").and_then(Value::as_array) else {
                return Err(missing("tool_choice.allowed_tools.tools"));
            };
            let mut names = Vec::with_capacity(list.len());
            for t in list {
                let name = t
                    .get("function")
                    .or_else(|| t.get("custom"))
                    .and_then(|f| f.get("name"))
                    .or_else(|| t.get("name"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| missing("tool_choice.allowed_tools.tools[].name"))?;
                known(name)?;
                names.push(name.to_owned());
            }
            Ok((choice, Some(names)))
        }
        other => Err(invalid(
            "tool_choice.type",
            "invalid_value",
            &format!(
                "Invalid value: '{other}'. Supported values are: 'function', 'custom' and 'allowed_tools'."
            ),
        )),
    }
}

/// The text of a message's `content` (text parts joined by newlines).
pub(crate) fn content_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// What the conversation leaves for the decision: the last user message's text, and — when
/// the last message is a tool result — the name of the tool it answers ("" when unknown).
pub(crate) fn conversation(messages: &[Value]) -> (String, Option<String>) {
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(content_text)
        .unwrap_or_default();
    let answered = messages.last().and_then(|last| {
        if last.get("role").and_then(Value::as_str) != Some("tool") {
            return None;
        }
        let id = last.get("tool_call_id").and_then(Value::as_str)?;
        let name = messages
            .iter()
            .filter_map(|m| m.get("tool_calls").and_then(Value::as_array))
            .flatten()
            .find(|c| c.get("id").and_then(Value::as_str) == Some(id))
            .and_then(|c| {
                c.get("function")
                    .or_else(|| c.get("custom"))
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str)
            })
            .unwrap_or("");
        Some(name.to_owned())
    });
    (last_user, answered)
}

/// What the simulated model answers (see the module documentation for the rule).
pub(crate) fn decide(tools: &Tools, last_user: &str, answered: Option<&str>) -> Decision {
    let call = |t: &Tool| Decision::Call {
        name: t.name.clone(),
        arguments: if t.custom {
            last_user.to_owned()
        } else {
            arguments(&t.parameters, last_user).to_string()
        },
        custom: t.custom,
    };
    match &tools.choice {
        Choice::None => return Decision::Plain,
        Choice::Named(name) => {
            if let Some(t) = tools.offered.iter().find(|t| &t.name == name) {
                return call(t);
            }
        }
        Choice::Auto => {
            if let Some(name) = answered {
                let what = if name.is_empty() {
                    "the tool call".to_owned()
                } else {
                    name.to_owned()
                };
                return Decision::Say(format!(
                    "apiops-sim received the result of {what}; there is nothing more to call."
                ));
            }
        }
        Choice::Required => {}
    }
    match best(&tools.offered, last_user) {
        Some(t) => call(t),
        None if tools.choice == Choice::Required => match tools.offered.first() {
            Some(t) => call(t),
            None => cannot_map(&tools.offered),
        },
        None => cannot_map(&tools.offered),
    }
}

fn cannot_map(offered: &[Tool]) -> Decision {
    let names: Vec<&str> = offered.iter().map(|t| t.name.as_str()).collect();
    Decision::Say(format!(
        "apiops-sim cannot map this request to any of the offered tools ({}).",
        if names.is_empty() {
            "none offered".to_owned()
        } else {
            names.join(", ")
        }
    ))
}

/// The best-scoring tool for `message`, if any scores above zero (ties: the first).
pub(crate) fn best<'a>(offered: &'a [Tool], message: &str) -> Option<&'a Tool> {
    let said = words(message);
    let mut best: Option<(u64, &Tool)> = None;
    for t in offered {
        let score = score(t, &said);
        if score > 0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, t));
        }
    }
    best.map(|(_, t)| t)
}

/// 2 per name word found in the message, 1 per other description word found.
fn score(tool: &Tool, said: &BTreeSet<String>) -> u64 {
    let name = words(&tool.name);
    let description = words(&tool.description);
    let in_name = name.iter().filter(|w| said.contains(*w)).count() as u64;
    let in_description = description
        .iter()
        .filter(|w| !name.contains(*w) && said.contains(*w))
        .count() as u64;
    2 * in_name + in_description
}

/// Words that carry no meaning for the choice.
const STOPWORDS: &[&str] = &[
    "a", "about", "all", "an", "and", "any", "are", "as", "at", "be", "by", "can", "could", "do",
    "does", "each", "for", "from", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my",
    "of", "on", "or", "our", "please", "so", "some", "that", "the", "then", "these", "this",
    "those", "to", "us", "via", "we", "what", "which", "will", "with", "would", "you", "your",
];

/// Lowercase pieces of `text`: split on anything not a letter or digit and at camelCase humps.
fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_lowercase() || c.is_numeric();
            cur.extend(c.to_lowercase());
        } else {
            prev_lower = false;
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The distinct meaningful words of `text`, singular.
fn words(text: &str) -> BTreeSet<String> {
    pieces(text)
        .into_iter()
        .filter(|w| {
            w.chars().count() >= 2
                && !w.chars().all(|c| c.is_ascii_digit())
                && !STOPWORDS.contains(&w.as_str())
        })
        .map(|w| singular(&w))
        .collect()
}

fn singular(w: &str) -> String {
    let n = w.chars().count();
    if n > 4
        && let Some(stem) = w.strip_suffix("ies")
    {
        return format!("{stem}y");
    }
    if n > 3 && w.ends_with('s') && !w.ends_with("ss") {
        return w[..w.len() - 1].to_owned();
    }
    w.to_owned()
}

/// The `arguments` object for a tool's `parameters` schema, from what `message` holds.
///
/// For each property of `parameters.properties` (in name order), the first rule that applies:
///
/// | property | value taken from the message |
/// |---|---|
/// | has a string `enum` | the first listed value the message contains as a word |
/// | name has `url`/`uri`, or `format: uri` | the first `http://` or `https://` link |
/// | name has `area` (`area_code`) | the first standalone 3-digit number |
/// | name has `endpoint` | the first Stripe webhook endpoint id (`we_...`) |
/// | name has `since` or `window` | the first duration (`6h`, `30m`, `7d`, `1h30m`) |
/// | name has `sid` | the first Twilio SID (two capitals and 32 hex digits) |
/// | name has `number`, `phone`, `to` or `from` | an E.164 number (`+` and 8 to 15 digits): for `to`/`from` the one after that word, else the first not taken |
///
/// Integer or number properties get numbers (an area code), never phone numbers. A property
/// with no value in the message is left out.
pub(crate) fn arguments(parameters: &Value, message: &str) -> Value {
    let mut args = Map::new();
    let Some(props) = parameters.get("properties").and_then(Value::as_object) else {
        return Value::Object(args);
    };
    let phones = e164_numbers(message);
    let mut taken: Vec<usize> = Vec::new();
    let mut phone_props: Vec<(&String, Vec<String>)> = Vec::new();
    for (name, schema) in props {
        let parts = pieces(name);
        let has = |w: &str| parts.iter().any(|p| p == w || singular(p) == w);
        let numeric = is_numeric(schema);
        let value = if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            options
                .iter()
                .filter_map(Value::as_str)
                .find(|o| contains_word(message, o))
                .map(|o| json!(o))
        } else if has("url")
            || has("uri")
            || schema.get("format").and_then(Value::as_str) == Some("uri")
        {
            first_url(message).map(Value::from)
        } else if has("area") {
            area_code(message).map(|code| match code.parse::<u64>() {
                Ok(n) if numeric => json!(n),
                _ => json!(code),
            })
        } else if has("endpoint") {
            prefixed_id(message, "we_").map(Value::from)
        } else if has("since") || has("window") {
            duration(message).map(Value::from)
        } else if has("sid") {
            twilio_sid(message).map(Value::from)
        } else if !numeric && (has("number") || has("phone") || has("to") || has("from")) {
            phone_props.push((name, parts.clone()));
            None
        } else {
            None
        };
        if let Some(v) = value {
            args.insert(name.clone(), v);
        }
    }
    // Phone numbers: `to` and `from` take the number written after that word, then every
    // phone property still empty takes the first number not taken.
    let mut pending = Vec::new();
    for (name, parts) in phone_props {
        let wanted = ["to", "from"]
            .into_iter()
            .find(|w| parts.iter().any(|p| p == w));
        let found = wanted.and_then(|w| {
            phones
                .iter()
                .enumerate()
                .find(|(i, (_, before))| before == w && !taken.contains(i))
                .map(|(i, _)| i)
        });
        match found {
            Some(i) => {
                taken.push(i);
                args.insert(name.clone(), json!(phones[i].0));
            }
            None => pending.push(name),
        }
    }
    for name in pending {
        if let Some(i) = (0..phones.len()).find(|i| !taken.contains(i)) {
            taken.push(i);
            args.insert(name.clone(), json!(phones[i].0));
        }
    }
    Value::Object(args)
}

fn is_numeric(schema: &Value) -> bool {
    let numeric = |t: &str| t == "integer" || t == "number";
    match schema.get("type") {
        Some(Value::String(t)) => numeric(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(numeric),
        _ => false,
    }
}

/// Whether `text` contains `word` (case-insensitive) not inside a longer word.
fn contains_word(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let hay = text.to_lowercase();
    let needle = word.to_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    hay.match_indices(&needle).any(|(at, _)| {
        let before = hay[..at].chars().next_back();
        let after = hay[at + needle.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// Every E.164 number (`+` and 8 to 15 digits) in order, with the word just before it
/// (lowercase, "" when none).
fn e164_numbers(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '+' {
            let digits = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let glued = i > 0 && (chars[i - 1].is_alphanumeric());
            if (8..=15).contains(&digits) && !glued {
                let number: String = chars[i..=i + digits].iter().collect();
                let mut j = i;
                while j > 0 && chars[j - 1].is_whitespace() {
                    j -= 1;
                }
                let end = j;
                while j > 0 && chars[j - 1].is_alphabetic() {
                    j -= 1;
                }
                let before: String = chars[j..end].iter().collect::<String>().to_lowercase();
                out.push((number, before));
            }
            i += 1 + digits;
        } else {
            i += 1;
        }
    }
    out
}

/// Whitespace-separated tokens with surrounding punctuation trimmed.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace().map(|t| {
        t.trim_matches(|c: char| {
            matches!(
                c,
                '.' | ','
                    | ';'
                    | ':'
                    | '!'
                    | '?'
                    | '('
                    | ')'
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '<'
                    | '>'
                    | '"'
                    | '\''
                    | '`'
            )
        })
    })
}

fn first_url(text: &str) -> Option<String> {
    text.split_whitespace().find_map(|t| {
        let start = t.find("https://").or_else(|| t.find("http://"))?;
        let url = t[start..].trim_end_matches(|c: char| {
            matches!(
                c,
                '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '}' | '>' | '"' | '\'' | '`'
            )
        });
        (url.len() > "https://".len()).then(|| url.to_owned())
    })
}

/// The first run of exactly three digits standing alone (not in a phone number, id or date).
fn area_code(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let before = start.checked_sub(1).map(|p| chars[p]);
            let after = chars.get(i).copied();
            let attached = |c: Option<char>| {
                c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '+' | '-' | '.' | '/'))
            };
            // A sentence may end right after the code ("area code 415.").
            let after_ok = !attached(after)
                || (after == Some('.') && chars.get(i + 1).is_none_or(|c| c.is_whitespace()));
            if i - start == 3 && !attached(before) && after_ok {
                return Some(chars[start..i].iter().collect());
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The first `prefix` id (`we_...`): the prefix at a word start and word characters after it.
fn prefixed_id(text: &str, prefix: &str) -> Option<String> {
    tokens(text).find_map(|t| {
        let start = t.find(prefix)?;
        let before = t[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        let rest = &t[start + prefix.len()..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (len > 0).then(|| format!("{prefix}{}", &rest[..len]))
    })
}

/// The first duration token: one or more `<digits><unit>` with unit `ms`, `s`, `m`, `h`, `d`
/// or `w` (`6h`, `1h30m`).
fn duration(text: &str) -> Option<String> {
    tokens(text).find(|t| is_duration(t)).map(str::to_owned)
}

fn is_duration(t: &str) -> bool {
    let mut rest = t;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ms", "s", "m", "h", "d", "w"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        let Some(unit) = unit else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

/// The first Twilio SID: two capital letters and 32 lowercase hex digits.
fn twilio_sid(text: &str) -> Option<String> {
    tokens(text)
        .find(|t| {
            t.is_ascii()
                && t.len() == 34
                && t[..2].chars().all(|c| c.is_ascii_uppercase())
                && t[2..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str, description: &str, parameters: Value) -> Tool {
        Tool {
            name: name.into(),
            description: description.into(),
            parameters,
            custom: false,
        }
    }

    fn offered() -> Vec<Tool> {
        vec![
            function(
                "twilio_numbers_buy",
                "Buy a phone number in an area code",
                json!({"type": "object", "properties": {"area_code": {"type": "string"}, "phone_number": {"type": "string"}}}),
            ),
            function(
                "twilio_messages_create",
                "Send an SMS message",
                json!({"type": "object", "properties": {"to": {"type": "string"}, "from": {"type": "string"}, "body": {"type": "string"}}}),
            ),
            function(
                "stripe_webhook_endpoints_update",
                "Change the URL of a Stripe webhook endpoint",
                json!({"type": "object", "properties": {"endpoint": {"type": "string"}, "url": {"type": "string"}}}),
            ),
            function(
                "twilio_messages_failed",
                "List failed messages over a recent window",
                json!({"type": "object", "properties": {"since": {"type": "string"}, "status": {"type": "string", "enum": ["failed", "undelivered"]}}}),
            ),
        ]
    }

    #[test]
    fn words_split_names_and_drop_plurals_and_small_words() {
        let w: Vec<String> = words("twilio.numbers_buy-nowPlease the 415 to")
            .into_iter()
            .collect();
        assert_eq!(w, ["buy", "now", "number", "twilio"]);
        assert_eq!(singular("entries"), "entry");
        assert_eq!(singular("address"), "address");
        assert_eq!(singular("sms"), "sms");
    }

    #[test]
    fn picks_the_best_named_tool_first_on_ties() {
        let tools = offered();
        let pick = |m: &str| best(&tools, m).map(|t| t.name.as_str());
        assert_eq!(
            pick("buy a number in area code 415"),
            Some("twilio_numbers_buy")
        );
        assert_eq!(
            pick("send a message to +14155550102 saying hi"),
            Some("twilio_messages_create")
        );
        assert_eq!(
            pick("point webhook endpoint we_123 at https://example.com/hook"),
            Some("stripe_webhook_endpoints_update")
        );
        assert_eq!(
            pick("show failed messages in the last 6h"),
            Some("twilio_messages_failed")
        );
        // "twilio" alone: every Twilio tool scores 2, the first listed wins.
        assert_eq!(pick("twilio"), Some("twilio_numbers_buy"));
        assert_eq!(pick("what is the weather like"), None);
    }

    #[test]
    fn arguments_take_values_of_the_right_shape() {
        let tools = offered();
        let args = |i: usize, m: &str| arguments(&tools[i].parameters, m);
        assert_eq!(
            args(0, "buy a number in area code 415."),
            json!({"area_code": "415"})
        );
        assert_eq!(
            args(1, "send from +14155550100 to +14155550102: hello"),
            json!({"to": "+14155550102", "from": "+14155550100"})
        );
        assert_eq!(
            args(1, "text +14155550102 please"),
            json!({"from": "+14155550102"}),
            "no 'to' marker: the first phone property in name order takes it"
        );
        assert_eq!(
            args(2, "point we_1AbC at https://example.com/hook."),
            json!({"endpoint": "we_1AbC", "url": "https://example.com/hook"})
        );
        assert_eq!(
            args(3, "undelivered messages, last 1h30m"),
            json!({"since": "1h30m", "status": "undelivered"})
        );
        assert_eq!(args(3, "failed"), json!({"status": "failed"}));
        assert_eq!(args(0, "nothing useful"), json!({}));
        let typed = json!({"properties": {"area_code": {"type": "integer"}, "phone_number": {"type": "integer"}, "message_sid": {"type": "string"}}});
        assert_eq!(
            arguments(
                &typed,
                "area 650 +14155550102 SM0123456789abcdef0123456789abcdef"
            ),
            json!({"area_code": 650, "message_sid": "SM0123456789abcdef0123456789abcdef"})
        );
        assert_eq!(arguments(&Value::Null, "anything"), json!({}));
        // Not phone numbers: too short, too long, glued to a word.
        assert!(e164_numbers("+1234567 +1234567890123456 x+14155550102").is_empty());
        assert_eq!(
            area_code("2010-04-01 +14155550102 6h we_415 415"),
            Some("415".into())
        );
        assert!(
            is_duration("6h") && is_duration("30m") && !is_duration("h6") && !is_duration("415")
        );
    }

    #[test]
    fn decisions_follow_the_choice_and_the_conversation() {
        let tools = Tools {
            offered: offered(),
            choice: Choice::Auto,
            prompt_tokens: 0,
        };
        let msg = "buy a number in 415";
        assert!(matches!(
            decide(&tools, msg, None),
            Decision::Call { ref name, ref arguments, custom: false }
                if name == "twilio_numbers_buy" && arguments == r#"{"area_code":"415"}"#
        ));
        assert!(
            matches!(decide(&tools, msg, Some("twilio_numbers_buy")), Decision::Say(ref s) if s.contains("twilio_numbers_buy"))
        );
        assert!(
            matches!(decide(&tools, "hello there", None), Decision::Say(ref s) if s.contains("cannot map"))
        );
        let none = Tools {
            choice: Choice::None,
            ..tools.clone()
        };
        assert_eq!(decide(&none, msg, None), Decision::Plain);
        let required = Tools {
            choice: Choice::Required,
            ..tools.clone()
        };
        assert!(
            matches!(decide(&required, "hello there", None), Decision::Call { ref name, .. } if name == "twilio_numbers_buy")
        );
        let named = Tools {
            choice: Choice::Named("twilio_messages_create".into()),
            ..tools
        };
        assert!(
            matches!(decide(&named, msg, None), Decision::Call { ref name, .. } if name == "twilio_messages_create")
        );
    }

    #[test]
    fn tools_and_choices_are_validated_like_openai() {
        let parse_of = |v: Value| match v {
            Value::Object(m) => parse(&m),
            _ => Ok(None),
        };
        let f = |name: &str| json!({"type": "function", "function": {"name": name}});
        let ok = parse_of(json!({"tools": [f("a_b"), f("c")], "tool_choice": "required"}));
        assert!(
            matches!(ok, Ok(Some(ref t)) if t.offered.len() == 2 && t.choice == Choice::Required && t.prompt_tokens > 0)
        );
        assert!(matches!(parse_of(json!({})), Ok(None)));
        let allowed = parse_of(
            json!({"tools": [f("a"), f("b")], "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "b"}}]}}}),
        );
        assert!(
            matches!(allowed, Ok(Some(ref t)) if t.offered.len() == 1 && t.offered[0].name == "b")
        );
        let cases = [
            (
                json!({"tool_choice": "auto"}),
                "tool_choice",
                "invalid_value",
            ),
            (json!({"tools": {}}), "tools", "invalid_type"),
            (json!({"tools": []}), "tools", "empty_array"),
            (
                json!({"tools": [{"type": "web"}]}),
                "tools[0].type",
                "invalid_value",
            ),
            (
                json!({"tools": [{"type": "function"}]}),
                "tools[0].function",
                "missing_required_parameter",
            ),
            (
                json!({"tools": [{"type": "function", "function": {}}]}),
                "tools[0].function.name",
                "missing_required_parameter",
            ),
            (
                json!({"tools": [f("twilio.numbers.buy")]}),
                "tools[0].function.name",
                "invalid_value",
            ),
            (
                json!({"tools": [f(&"x".repeat(65))]}),
                "tools[0].function.name",
                "string_above_max_length",
            ),
            (
                json!({"tools": [{"type": "function", "function": {"name": "a", "parameters": []}}]}),
                "tools[0].function.parameters",
                "invalid_type",
            ),
            (
                json!({"tools": [f("a")], "tool_choice": "sometimes"}),
                "tool_choice",
                "invalid_value",
            ),
            (
                json!({"tools": [f("a")], "tool_choice": {"type": "function", "function": {"name": "b"}}}),
                "tool_choice",
                "invalid_value",
            ),
            (
                json!({"tools": [f("a")], "tool_choice": 3}),
                "tool_choice",
                "invalid_type",
            ),
        ];
        for (body, param, code) in cases {
            let err = parse_of(body.clone())
                .err()
                .unwrap_or_else(|| panic!("accepted {body}"));
            assert_eq!(err.body["error"]["param"], param, "{body}");
            assert_eq!(err.body["error"]["code"], code, "{body}");
        }
    }

    #[test]
    fn conversations_give_the_last_user_text_and_the_answered_tool() {
        let messages = vec![
            json!({"role": "user", "content": [{"type": "text", "text": "buy"}, {"type": "text", "text": "a number"}]}),
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "twilio_numbers_buy", "arguments": "{}"}}]}),
            json!({"role": "tool", "tool_call_id": "call_1", "content": "{\"sid\":\"PN1\"}"}),
        ];
        assert_eq!(
            conversation(&messages),
            (
                "buy\na number".to_owned(),
                Some("twilio_numbers_buy".to_owned())
            )
        );
        assert_eq!(conversation(&messages[..1]).1, None);
    }
}
