//! A GraphQL query text read without a schema, before anything is sent: its one operation
//! (`query` or `mutation`; a subscription, or several operations, refused), its name and its
//! variable definitions, and each `--var k=v` typed by its declaration.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::CallError;

/// The variable names a cursor usually goes in, in order of preference.
const CURSOR_NAMES: [&str; 4] = ["after", "cursor", "endCursor", "afterCursor"];

/// The kind of the operation a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GqlKind {
    /// A read.
    Query,
    /// A write: planned and confirmed.
    Mutation,
}

/// A declared variable: `$name: Type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VarDef {
    /// Its name, without `$`.
    pub name: String,
    /// Its type as written (`String!`, `[ID!]`).
    pub ty: String,
}

/// What a query text holds, read without a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    /// Query or mutation.
    pub kind: GqlKind,
    /// The operation's name, when it has one.
    pub name: Option<String>,
    /// Its variable definitions, in order.
    pub variables: Vec<VarDef>,
}

fn bad_query(reason: impl Into<String>) -> CallError {
    CallError::Body {
        pointer: "/query".to_owned(),
        reason: reason.into(),
    }
}

fn bad_var(name: &str, reason: impl Into<String>) -> CallError {
    CallError::Param {
        name: name.to_owned(),
        location: Some("variable".to_owned()),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Punct(char),
    Other,
}

/// GraphQL's lexical tokens, comments and string contents skipped.
fn tokens(text: &str) -> Result<Vec<Tok>, CallError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            c if c.is_whitespace() || c == ',' || c == '\u{feff}' => i += 1,
            '#' => {
                while chars.get(i).is_some_and(|c| *c != '\n') {
                    i += 1;
                }
            }
            '"' => {
                let block = chars.get(i..i + 3) == Some(&['"', '"', '"'][..]);
                i += if block { 3 } else { 1 };
                loop {
                    match chars.get(i) {
                        None => return Err(bad_query("a string is not closed")),
                        Some('\\') => i += 2,
                        Some('"') if block => {
                            if chars.get(i..i + 3) == Some(&['"', '"', '"'][..]) {
                                i += 3;
                                break;
                            }
                            i += 1;
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\n') if !block => return Err(bad_query("a string is not closed")),
                        Some(_) => i += 1,
                    }
                }
                out.push(Tok::Other);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                out.push(Tok::Name(chars[start..i].iter().collect()));
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ':' | '=' | '!' | '$' | '@' | '|' | '&' => {
                out.push(Tok::Punct(c));
                i += 1;
            }
            _ => {
                out.push(Tok::Other);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The index just past the group `open` starts at `at` (nesting counted).
fn skip_group(toks: &[Tok], at: usize) -> Result<usize, CallError> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(at) {
        match t {
            Tok::Punct('{' | '(' | '[') => depth += 1,
            Tok::Punct('}' | ')' | ']') => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| bad_query("a closing bracket without its opening one"))?;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
    }
    Err(bad_query("a bracket is not closed"))
}

impl Document {
    /// Reads the one operation of `text` (fragments beside it are allowed).
    pub fn parse(text: &str) -> Result<Document, CallError> {
        let toks = tokens(text)?;
        let mut found: Option<Document> = None;
        let mut i = 0;
        while i < toks.len() {
            let kind = match &toks[i] {
                Tok::Punct('{') => Some(GqlKind::Query),
                Tok::Name(n) if n == "query" => Some(GqlKind::Query),
                Tok::Name(n) if n == "mutation" => Some(GqlKind::Mutation),
                Tok::Name(n) if n == "subscription" => {
                    return Err(bad_query(
                        "a subscription needs a live connection; only queries and mutations are sent",
                    ));
                }
                Tok::Name(n) if n == "fragment" => None,
                _ => {
                    return Err(bad_query(
                        "expected query, mutation, fragment or a selection set { ... }",
                    ));
                }
            };
            let mut doc = Document {
                kind: kind.unwrap_or(GqlKind::Query),
                name: None,
                variables: Vec::new(),
            };
            if !matches!(toks[i], Tok::Punct('{')) {
                i += 1;
            }
            if kind.is_some()
                && let Some(Tok::Name(n)) = toks.get(i)
            {
                doc.name = Some(n.clone());
                i += 1;
            }
            if kind.is_some() && toks.get(i) == Some(&Tok::Punct('(')) {
                let end = skip_group(&toks, i)?;
                doc.variables = var_defs(&toks[i + 1..end - 1])?;
                i = end;
            }
            // Directives, a fragment's name and type condition: up to the selection set.
            while i < toks.len() && toks[i] != Tok::Punct('{') {
                i = match toks[i] {
                    Tok::Punct('(') => skip_group(&toks, i)?,
                    _ => i + 1,
                };
            }
            if i >= toks.len() {
                return Err(bad_query("an operation without its selection set { ... }"));
            }
            i = skip_group(&toks, i)?;
            if kind.is_some() && found.replace(doc).is_some() {
                return Err(bad_query(
                    "more than one operation: send one query or mutation at a time",
                ));
            }
        }
        found.ok_or_else(|| bad_query("no query or mutation in the text"))
    }

    /// `query NAME` or `mutation NAME` (`(unnamed)` without a name): how events and plans
    /// name the operation.
    pub fn label(&self) -> String {
        let kind = match self.kind {
            GqlKind::Query => "query",
            GqlKind::Mutation => "mutation",
        };
        format!("{kind} {}", self.name.as_deref().unwrap_or("(unnamed)"))
    }

    /// The declared variable `name`.
    pub fn variable(&self, name: &str) -> Option<&VarDef> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// `--var k=v` pairs as the `variables` object, each value typed by its declaration.
    pub fn variables(&self, pairs: &[(String, String)]) -> Result<Map<String, Value>, CallError> {
        let mut out = Map::new();
        for (name, raw) in pairs {
            let name = name.trim_start_matches('$');
            let def = self.declared(name)?;
            out.insert(name.to_owned(), typed(def, raw)?);
        }
        Ok(out)
    }

    /// A `variables` object given as JSON (over MCP), each value checked against its
    /// declaration: `Int` a 32-bit integer, `Float` a number, `Boolean` true or false, `String`
    /// a string, `ID` a string or an integer, a list a JSON array (its items checked the same
    /// way), `null` only where the type is nullable; an enum, a custom scalar or an input
    /// object is taken as given. An undeclared variable is refused, naming it.
    pub fn json_variables(
        &self,
        given: &Map<String, Value>,
    ) -> Result<Map<String, Value>, CallError> {
        let mut out = Map::new();
        for (name, value) in given {
            let name = name.trim_start_matches('$');
            let def = self.declared(name)?;
            if let Err(what) = fits(&def.ty, value) {
                return Err(bad_var(
                    name,
                    format!("{value} is not {what} (declared {})", def.ty),
                ));
            }
            out.insert(name.to_owned(), value.clone());
        }
        Ok(out)
    }

    /// The declared variable `name`, or the refusal naming the declared ones.
    fn declared(&self, name: &str) -> Result<&VarDef, CallError> {
        self.variable(name).ok_or_else(|| {
            let declared: Vec<String> = self
                .variables
                .iter()
                .map(|v| format!("${}", v.name))
                .collect();
            bad_var(
                name,
                if declared.is_empty() {
                    "the query declares no variables".to_owned()
                } else {
                    format!(
                        "the query declares no ${name}; it declares {}",
                        declared.join(", ")
                    )
                },
            )
        })
    }

    /// The variable a cursor goes in: `named` (which must be declared), else the one declared
    /// variable called `after`, `cursor`, `endCursor` or `afterCursor` (the first of those
    /// found), else the one whose name ends in `cursor`.
    pub fn cursor_var(&self, named: Option<&str>) -> Result<String, CallError> {
        if let Some(n) = named {
            let n = n.trim_start_matches('$');
            return match self.variable(n) {
                Some(v) => Ok(v.name.clone()),
                None => Err(bad_var(
                    n,
                    "--cursor-var names a variable the query does not declare",
                )),
            };
        }
        if let Some(v) = CURSOR_NAMES.iter().find_map(|c| self.variable(c)) {
            return Ok(v.name.clone());
        }
        let ending: Vec<&VarDef> = self
            .variables
            .iter()
            .filter(|v| v.name.to_ascii_lowercase().ends_with("cursor"))
            .collect();
        match ending.as_slice() {
            [one] => Ok(one.name.clone()),
            [] => Err(bad_var(
                "after",
                "--all feeds pageInfo.endCursor into a variable: declare $after: String (or name it with --cursor-var)",
            )),
            many => Err(bad_var(
                &many[0].name,
                "more than one variable could take the cursor: name it with --cursor-var",
            )),
        }
    }
}

/// `$a: Int = 1 $b: [ID!]` into their definitions.
fn var_defs(toks: &[Tok]) -> Result<Vec<VarDef>, CallError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let (Some(Tok::Punct('$')), Some(Tok::Name(name)), Some(Tok::Punct(':'))) =
            (toks.get(i), toks.get(i + 1), toks.get(i + 2))
        else {
            return Err(bad_query("a variable definition is not `$name: Type`"));
        };
        i += 3;
        let mut ty = String::new();
        while let Some(t) = toks.get(i) {
            match t {
                Tok::Name(n) => ty.push_str(n),
                Tok::Punct(c @ ('[' | ']' | '!')) => ty.push(*c),
                _ => break,
            }
            i += 1;
        }
        if ty.is_empty() {
            return Err(bad_query(format!("${name} has no type")));
        }
        // A default value and directives, up to the next definition.
        while let Some(t) = toks.get(i) {
            i = match t {
                Tok::Punct('$') => break,
                Tok::Punct('{' | '[' | '(') => skip_group(toks, i)?,
                _ => i + 1,
            };
        }
        out.push(VarDef {
            name: name.clone(),
            ty,
        });
    }
    Ok(out)
}

/// Whether the JSON `value` fits the declared type `ty` (`Err` says what it should be).
fn fits(ty: &str, value: &Value) -> Result<(), String> {
    let non_null = ty.ends_with('!');
    let base = ty.trim_end_matches('!');
    if value.is_null() {
        return if non_null {
            Err("a value (the type is non-null)".to_owned())
        } else {
            Ok(())
        };
    }
    if let Some(inner) = base.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let Value::Array(items) = value else {
            return Err("a JSON list".to_owned());
        };
        return items.iter().try_for_each(|item| {
            fits(inner, item).map_err(|what| format!("a list whose items are each {what}"))
        });
    }
    let ok = match base {
        "Int" => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        "Float" => value.is_number(),
        "Boolean" => value.is_boolean(),
        "String" => value.is_string(),
        "ID" => value.is_string() || value.is_i64() || value.is_u64(),
        _ => return Ok(()),
    };
    let what = match base {
        "Int" => "a 32-bit integer",
        "Float" => "a number",
        "Boolean" => "true or false",
        "String" => "a string",
        _ => "a string or an integer",
    };
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

/// `raw` as a value of `def`'s type.
fn typed(def: &VarDef, raw: &str) -> Result<Value, CallError> {
    let base = def.ty.trim_end_matches('!');
    let wrong = |what: &str| {
        bad_var(
            &def.name,
            format!("{raw:?} is not {what} (declared {})", def.ty),
        )
    };
    if base.starts_with('[') || !matches!(base, "Int" | "Float" | "Boolean" | "String" | "ID") {
        // Lists and input objects are written as JSON; an enum or custom scalar as its text.
        let json = raw.trim_start().starts_with(['[', '{', '"']);
        return match serde_json::from_str::<Value>(raw) {
            Ok(v) if base.starts_with('[') && !v.is_array() => Err(wrong("a JSON list")),
            Ok(v) if json || base.starts_with('[') => Ok(v),
            Err(_) if json || base.starts_with('[') => Err(wrong("JSON")),
            _ => Ok(Value::String(raw.to_owned())),
        };
    }
    match base {
        "Int" => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| i32::try_from(*n).is_ok())
            .map(Value::from)
            .ok_or_else(|| wrong("a 32-bit integer")),
        "Float" => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or_else(|| wrong("a number")),
        "Boolean" => match raw.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong("true or false")),
        },
        _ => Ok(Value::String(raw.to_owned())),
    }
}
