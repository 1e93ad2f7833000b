//! The operations of a document, indexed once: each one's id (its operationId, else
//! `METHOD /path`), method, path, summary, parameters (path-level and operation-level merged,
//! references resolved), request body, class (read, write, deletion), paging (detected from its
//! parameters and its answer's schema), deprecation and declared idempotency header; looked up
//! by id or by `METHOD /path`, and searched by words.
//!
//! Not here: checking values against the parameters (see [`crate::request`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{CallError, SpecError};
use crate::spec::{Spec, escape_token};

/// The HTTP methods an OpenAPI path item may hold, in the order they are listed.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The idempotency header looked for when the configuration names none.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// What an operation does to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpClass {
    /// GET, HEAD, OPTIONS: runs at once.
    Read,
    /// POST, PUT, PATCH (and TRACE): planned and confirmed.
    Write,
    /// DELETE: always a person.
    Delete,
}

impl OpClass {
    /// The class of an HTTP method.
    pub fn of(method: &str) -> OpClass {
        match method.to_ascii_uppercase().as_str() {
            "GET" | "HEAD" | "OPTIONS" => OpClass::Read,
            "DELETE" => OpClass::Delete,
            _ => OpClass::Write,
        }
    }

    /// `read`, `write` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            OpClass::Read => "read",
            OpClass::Write => "write",
            OpClass::Delete => "delete",
        }
    }
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// A `{name}` in the path.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
    /// A cookie (listed, never sent: apiops does not manage cookies).
    Cookie,
}

impl Location {
    fn parse(text: &str) -> Option<Location> {
        match text {
            "path" => Some(Location::Path),
            "query" => Some(Location::Query),
            "header" => Some(Location::Header),
            "cookie" => Some(Location::Cookie),
            _ => None,
        }
    }

    /// The spec's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
        }
    }
}

/// One parameter.
#[derive(Debug, Clone, Serialize)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Where it goes.
    #[serde(rename = "in")]
    pub location: Location,
    /// Whether the call needs it (path parameters always do).
    pub required: bool,
    /// Its schema (references inside left as they are; resolved against the spec).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub schema: Value,
    /// Marked deprecated.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    /// `application/json` (or `+json`).
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

/// An operation's request body.
#[derive(Debug, Clone, Serialize)]
pub struct BodySpec {
    /// Whether the call needs one.
    pub required: bool,
    /// The encoding apiops sends.
    pub encoding: BodyEncoding,
    /// The media type as the spec names it.
    pub media_type: String,
    /// Its schema.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub schema: Value,
}

/// How an operation pages, as far as its parameters and answer schema tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PagingHint {
    /// The query parameter that takes a cursor (`starting_after`, `after`, `cursor`,
    /// `page_token`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor_param: Option<String>,
    /// The query parameter that takes a page number (`page`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_param: Option<String>,
    /// The answer property holding the items, when the schema shows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_key: Option<String>,
    /// The answer declares a `Link` header.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub link_header: bool,
}

impl PagingHint {
    /// True when anything suggests the operation pages.
    pub fn pages(&self) -> bool {
        self.cursor_param.is_some() || self.page_param.is_some() || self.link_header
    }
}

/// One operation of the document.
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    /// The operationId, else `METHOD /path`.
    pub id: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path template (`/pets/{id}`).
    pub path: String,
    /// `summary` (else the first line of `description`).
    pub summary: String,
    /// `tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Read, write or deletion.
    pub class: OpClass,
    /// Parameters, path-level and operation-level merged.
    pub parameters: Vec<Param>,
    /// The request body, when the operation takes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<BodySpec>,
    /// What paging the spec suggests.
    pub paging: PagingHint,
    /// Marked deprecated.
    pub deprecated: bool,
    /// The idempotency header the operation declares (`Idempotency-Key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_header: Option<String>,
    /// The operation's JSON pointer in the document.
    pub pointer: String,
}

impl Operation {
    /// True when the operation pages.
    pub fn paginated(&self) -> bool {
        self.paging.pages()
    }

    /// The parameter named `name` (header names compare without case).
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.parameters.iter().find(|p| {
            p.name == name || (p.location == Location::Header && p.name.eq_ignore_ascii_case(name))
        })
    }
}

/// The operations of one document.
#[derive(Debug, Clone)]
pub struct Index {
    ops: Vec<Operation>,
    by_id: HashMap<String, usize>,
}

impl Index {
    /// Indexes every operation of `spec`. `idempotency_header` is the header that carries
    /// idempotency keys on this API (default [`IDEMPOTENCY_KEY`]).
    pub fn build(spec: &Spec, idempotency_header: Option<&str>) -> Result<Index, SpecError> {
        let idem = idempotency_header.unwrap_or(IDEMPOTENCY_KEY);
        let mut ops = Vec::new();
        let Some(paths) = spec.doc().get("paths").and_then(Value::as_object) else {
            return Ok(Index {
                ops,
                by_id: HashMap::new(),
            });
        };
        for (path, item) in paths {
            let item_pointer = format!("#/paths/{}", escape_token(path));
            let item = spec.resolve(item)?;
            let shared = item
                .get("parameters")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let pointer = format!("{item_pointer}/{method}");
                ops.push(operation(spec, path, method, op, shared, pointer, idem)?);
            }
        }
        let mut by_id = HashMap::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            by_id.entry(op.id.clone()).or_insert(i);
            by_id
                .entry(format!("{} {}", op.method, op.path))
                .or_insert(i);
        }
        Ok(Index { ops, by_id })
    }

    /// Every operation, in document order.
    pub fn operations(&self) -> &[Operation] {
        &self.ops
    }

    /// The operation named by its operationId or `METHOD /path` (method in any case).
    pub fn find(&self, api: &str, name: &str) -> Result<&Operation, CallError> {
        let trimmed = name.trim();
        let key = match trimmed.split_once(' ') {
            Some((m, p)) if METHODS.contains(&m.to_ascii_lowercase().as_str()) => {
                format!("{} {}", m.to_ascii_uppercase(), p.trim())
            }
            _ => trimmed.to_owned(),
        };
        if let Some(&i) = self.by_id.get(&key) {
            return Ok(&self.ops[i]);
        }
        let lower = trimmed.to_ascii_lowercase();
        let suggestions = self
            .ops
            .iter()
            .filter(|o| {
                let id = o.id.to_ascii_lowercase();
                id.contains(&lower) || (!id.is_empty() && lower.contains(&id))
            })
            .take(5)
            .map(|o| o.id.clone())
            .collect();
        Err(CallError::UnknownOperation {
            api: api.to_owned(),
            given: name.to_owned(),
            suggestions,
        })
    }

    /// The operations whose id, path, summary or tags contain every one of `words` (case
    /// folded); all of them without words.
    pub fn search<'a>(&'a self, words: &'a [String]) -> impl Iterator<Item = &'a Operation> + 'a {
        let words: Vec<String> = words
            .iter()
            .flat_map(|w| w.split_whitespace())
            .map(str::to_lowercase)
            .collect();
        self.ops.iter().filter(move |op| {
            if words.is_empty() {
                return true;
            }
            let hay = format!(
                "{} {} {} {} {}",
                op.id,
                op.method,
                op.path,
                op.summary,
                op.tags.join(" ")
            )
            .to_lowercase();
            words.iter().all(|w| hay.contains(w.as_str()))
        })
    }

    /// The default health check: the GET without required parameters with the fewest
    /// parameters and the shortest path.
    pub fn cheapest_read(&self) -> Option<&Operation> {
        self.ops
            .iter()
            .filter(|o| o.method == "GET" && !o.deprecated)
            .filter(|o| o.parameters.iter().all(|p| !p.required))
            .min_by_key(|o| (o.parameters.len(), o.path.len()))
    }
}

fn operation(
    spec: &Spec,
    path: &str,
    method: &str,
    op: &Value,
    shared: &[Value],
    pointer: String,
    idem: &str,
) -> Result<Operation, SpecError> {
    let op = spec.resolve(op)?;
    let upper = method.to_ascii_uppercase();
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map_or_else(|| format!("{upper} {path}"), str::to_owned);
    let summary = op
        .get("summary")
        .and_then(Value::as_str)
        .or_else(|| {
            op.get("description")
                .and_then(Value::as_str)
                .and_then(|d| d.lines().next())
        })
        .unwrap_or("")
        .trim()
        .to_owned();
    let tags = op
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // Operation-level parameters override path-level ones of the same name and location.
    let mut parameters: Vec<Param> = Vec::new();
    let own = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for raw in shared.iter().chain(own) {
        let Some(p) = param(spec, raw)? else { continue };
        parameters.retain(|q| !(q.name == p.name && q.location == p.location));
        parameters.push(p);
    }
    let body = match op.get("requestBody") {
        Some(rb) => body(spec, spec.resolve(rb)?),
        None => None,
    };
    let idempotency_header = parameters
        .iter()
        .find(|p| p.location == Location::Header && p.name.eq_ignore_ascii_case(idem))
        .map(|p| p.name.clone());
    let paging = paging(spec, op, &parameters)?;
    Ok(Operation {
        id,
        method: upper.clone(),
        path: path.to_owned(),
        summary,
        tags,
        class: OpClass::of(&upper),
        parameters,
        body,
        paging,
        deprecated: op.get("deprecated").and_then(Value::as_bool) == Some(true),
        idempotency_header,
        pointer,
    })
}

fn param(spec: &Spec, raw: &Value) -> Result<Option<Param>, SpecError> {
    let p = spec.resolve(raw)?;
    let (Some(name), Some(location)) = (
        p.get("name").and_then(Value::as_str),
        p.get("in")
            .and_then(Value::as_str)
            .and_then(Location::parse),
    ) else {
        return Ok(None);
    };
    let schema = match p.get("schema") {
        Some(s) => spec.resolve(s)?.clone(),
        // A `content` parameter: its first media type's schema.
        None => p
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|m| m.get("schema"))
            .map(|s| spec.resolve(s).cloned())
            .transpose()?
            .unwrap_or(Value::Null),
    };
    Ok(Some(Param {
        name: name.to_owned(),
        location,
        required: location == Location::Path
            || p.get("required").and_then(Value::as_bool) == Some(true),
        schema,
        deprecated: p.get("deprecated").and_then(Value::as_bool) == Some(true),
    }))
}

fn body(spec: &Spec, rb: &Value) -> Option<BodySpec> {
    let content = rb.get("content")?.as_object()?;
    let required = rb.get("required").and_then(Value::as_bool) == Some(true);
    let pick = content
        .iter()
        .find(|(t, _)| is_json(t))
        .map(|(t, m)| (t, m, BodyEncoding::Json))
        .or_else(|| {
            content
                .iter()
                .find(|(t, _)| t.starts_with("application/x-www-form-urlencoded"))
                .map(|(t, m)| (t, m, BodyEncoding::Form))
        })
        .or_else(|| {
            content
                .iter()
                .next()
                .map(|(t, m)| (t, m, BodyEncoding::Json))
        })?;
    let (media_type, media, encoding) = pick;
    let schema = media
        .get("schema")
        .and_then(|s| spec.resolve(s).ok())
        .cloned()
        .unwrap_or(Value::Null);
    Some(BodySpec {
        required,
        encoding,
        media_type: media_type.clone(),
        schema,
    })
}

fn is_json(media_type: &str) -> bool {
    let t = media_type.split(';').next().unwrap_or("").trim();
    t == "application/json" || t.ends_with("+json") || t == "*/*"
}

/// Cursor parameters, by the names APIs use, most specific first.
const CURSOR_PARAMS: [&str; 9] = [
    "starting_after",
    "after",
    "cursor",
    "page_token",
    "pageToken",
    "next_token",
    "nextToken",
    "continuation_token",
    "marker",
];

/// Properties that hold a page's items, by the names APIs use.
pub(crate) const ITEM_KEYS: [&str; 8] = [
    "data", "items", "results", "records", "entries", "values", "nodes", "elements",
];

fn paging(spec: &Spec, op: &Value, params: &[Param]) -> Result<PagingHint, SpecError> {
    let query = |n: &str| {
        params
            .iter()
            .find(|p| p.location == Location::Query && p.name == n)
            .map(|p| p.name.clone())
    };
    let cursor_param = CURSOR_PARAMS.iter().find_map(|n| query(n));
    let page_param = query("page");
    let ok = op.get("responses").and_then(|r| {
        r.get("200")
            .or_else(|| r.get("2XX"))
            .or_else(|| r.get("default"))
    });
    let mut hint = PagingHint {
        cursor_param,
        page_param,
        ..PagingHint::default()
    };
    let Some(ok) = ok else { return Ok(hint) };
    let ok = spec.resolve(ok)?;
    if let Some(headers) = ok.get("headers").and_then(Value::as_object) {
        hint.link_header = headers.keys().any(|k| k.eq_ignore_ascii_case("link"));
    }
    let schema = ok
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.iter().find(|(t, _)| is_json(t)).map(|(_, m)| m))
        .and_then(|m| m.get("schema"));
    if let Some(schema) = schema {
        let schema = spec.resolve(schema)?;
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            hint.items_key = ITEM_KEYS
                .iter()
                .find(|k| props.contains_key(**k))
                .map(|k| (*k).to_owned())
                .or_else(|| {
                    let arrays: Vec<&String> = props
                        .iter()
                        .filter(|(k, v)| {
                            k.as_str() != "links"
                                && spec
                                    .resolve(v)
                                    .ok()
                                    .and_then(|v| v.get("type"))
                                    .and_then(Value::as_str)
                                    == Some("array")
                        })
                        .map(|(k, _)| k)
                        .collect();
                    match arrays.as_slice() {
                        [one] => Some((*one).clone()),
                        _ => None,
                    }
                });
        }
    }
    Ok(hint)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn pets() -> Spec {
        Spec::from_value(
            json!({
                "openapi": "3.1.0",
                "info": {"title": "Pets", "version": "1"},
                "servers": [{"url": "https://pets.example/v1"}],
                "paths": {
                    "/pets": {
                        "parameters": [{"$ref": "#/components/parameters/limit"}],
                        "get": {
                            "operationId": "pets/list",
                            "summary": "List the pets",
                            "tags": ["pets"],
                            "parameters": [
                                {"name": "starting_after", "in": "query", "schema": {"type": "string"}},
                                {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["cat", "dog"]}}
                            ],
                            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PetList"}}}}}
                        },
                        "post": {
                            "operationId": "pets/create",
                            "summary": "Create a pet",
                            "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
                            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewPet"}}}},
                            "responses": {"201": {"description": "created"}}
                        }
                    },
                    "/pets/{id}": {
                        "get": {"summary": "Get a pet", "parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}], "responses": {}},
                        "delete": {"operationId": "pets/delete", "deprecated": true, "parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}], "responses": {}}
                    },
                    "/health": {"get": {"operationId": "health", "responses": {}}}
                },
                "components": {
                    "parameters": {"limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}},
                    "schemas": {
                        "PetList": {"type": "object", "properties": {"data": {"type": "array"}, "has_more": {"type": "boolean"}}},
                        "NewPet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "kind": {"type": "string", "enum": ["cat", "dog"]}}}
                    }
                }
            }),
            "pets.json",
        )
        .expect("pets spec")
    }

    #[test]
    fn indexes_operations_with_their_traits() {
        let spec = pets();
        let index = Index::build(&spec, None).expect("index");
        assert_eq!(index.operations().len(), 5);
        let list = index.find("pets", "pets/list").expect("by id");
        assert_eq!(list.class, OpClass::Read);
        assert!(list.paginated());
        assert_eq!(list.paging.cursor_param.as_deref(), Some("starting_after"));
        assert_eq!(list.paging.items_key.as_deref(), Some("data"));
        // Path-level parameters are merged in, their references resolved.
        assert!(list.param("limit").is_some());
        let create = index
            .find("pets", "POST /pets")
            .expect("by method and path");
        assert_eq!(create.id, "pets/create");
        assert_eq!(create.class, OpClass::Write);
        assert_eq!(
            create.idempotency_header.as_deref(),
            Some("Idempotency-Key")
        );
        assert!(create.body.as_ref().is_some_and(|b| b.required));
        let get = index
            .find("pets", "get /pets/{id}")
            .expect("no operationId");
        assert_eq!(get.id, "GET /pets/{id}");
        assert!(get.param("id").is_some_and(|p| p.required));
        let del = index.find("pets", "pets/delete").expect("delete");
        assert_eq!(del.class, OpClass::Delete);
        assert!(del.deprecated);
        assert_eq!(index.cheapest_read().map(|o| o.id.as_str()), Some("health"));
    }

    #[test]
    fn unknown_operations_suggest_close_ones() {
        let index = Index::build(&pets(), None).expect("index");
        let err = index.find("pets", "pets/lst").expect_err("unknown");
        assert!(matches!(err, CallError::UnknownOperation { .. }));
        let err = index.find("pets", "list").expect_err("unknown");
        assert!(err.to_string().contains("pets/list"), "{err}");
    }

    #[test]
    fn search_matches_every_word() {
        let index = Index::build(&pets(), None).expect("index");
        let words = vec!["list pets".to_owned()];
        let found: Vec<&str> = index.search(&words).map(|o| o.id.as_str()).collect();
        assert_eq!(found, ["pets/list"]);
        let words = vec!["PET".to_owned()];
        assert_eq!(index.search(&words).count(), 4);
        assert_eq!(index.search(&[]).count(), 5);
    }
}
