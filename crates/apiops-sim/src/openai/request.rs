//! OpenAI's request conventions: query parameters (arrays as `name=a&name=b` or `name[]=a`),
//! cursor lists (`limit`, `after`, `has_more`) and its error document with `param`.
//!
//! OpenAI's error messages are quoted as the API writes them (`Invalid 'limit': integer below
//! minimum value...`), because clients and classifiers match on `code` and show `message`.

use axum::http::StatusCode;

/// OpenAI's error document with its status: what a handler answers when a request is refused.
pub(crate) type OpenAiError = crate::faults::ErrorDoc;

/// OpenAI's error document `{error: {message, type, param, code}}`.
pub(crate) use crate::faults::openai_error_doc as error;

/// A 400 `invalid_request_error` about `param`.
pub(crate) fn invalid(param: &str, code: &str, message: &str) -> OpenAiError {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some(code),
        Some(param),
        message,
    )
}

/// The JSON type name OpenAI uses in "expected ..., but got ... instead".
pub(crate) fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        serde_json::Value::Number(_) => "a decimal",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Query parameters in order, repeats kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a query string (never fails; bad encodings are replaced).
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Query {
            pairs: url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The last value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of an array parameter, written `name=a&name=b` or `name[]=a&name[]=b`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name || k.strip_prefix(name).is_some_and(|rest| rest == "[]"))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// An integer parameter.
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, OpenAiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                invalid(
                    name,
                    "invalid_type",
                    &format!(
                        "Invalid type for '{name}': expected an integer, but got a string instead."
                    ),
                )
            }),
        }
    }

    /// A boolean parameter (`true`/`false`, also `1`/`0`).
    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, OpenAiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(invalid(
                name,
                "invalid_type",
                &format!(
                    "Invalid type for '{name}': expected a boolean, but got a string instead."
                ),
            )),
        }
    }

    /// `limit` within `1..=max`, `default` when absent.
    pub(crate) fn limit(&self, default: usize, max: usize) -> Result<usize, OpenAiError> {
        let Some(n) = self.integer("limit")? else {
            return Ok(default);
        };
        if n < 1 {
            return Err(invalid(
                "limit",
                "integer_below_min_value",
                &format!(
                    "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {n} instead."
                ),
            ));
        }
        match usize::try_from(n) {
            Ok(v) if v <= max => Ok(v),
            _ => Err(invalid(
                "limit",
                "integer_above_max_value",
                &format!(
                    "Invalid 'limit': integer above maximum value. Expected a value <= {max}, but got {n} instead."
                ),
            )),
        }
    }
}

/// A page of `items` (already in list order) after the item with id `after` (from the start
/// when `None`), and whether more follow. An unknown cursor is a 400 naming `what`.
pub(crate) fn page_after<'a, T>(
    items: &'a [T],
    id: impl Fn(&T) -> &str,
    after: Option<&str>,
    limit: usize,
    what: &str,
) -> Result<(&'a [T], bool), OpenAiError> {
    let from = match after.filter(|a| !a.is_empty()) {
        None => 0,
        Some(a) => match items.iter().position(|i| id(i) == a) {
            Some(p) => p + 1,
            None => {
                return Err(invalid(
                    "after",
                    "invalid_value",
                    &format!("No {what} found with id '{a}'."),
                ));
            }
        },
    };
    let rest = &items[from..];
    let n = limit.min(rest.len());
    Ok((&rest[..n], rest.len() > n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_arrays_limits_and_pages() {
        let q = Query::parse(Some("group_by=model&group_by[]=project_id&limit=5&x=%zz"));
        assert_eq!(q.all("group_by"), vec!["model", "project_id"]);
        assert_eq!(q.limit(20, 100).ok(), Some(5));
        for bad in ["limit=0", "limit=101", "limit=many"] {
            assert!(Query::parse(Some(bad)).limit(20, 100).is_err(), "{bad}");
        }
        assert!(Query::parse(Some("b=maybe")).boolean("b").is_err());
        let items = ["a", "b", "c"];
        let p = page_after(&items, |s| s, Some("a"), 1, "x").ok();
        assert_eq!(p, Some((&items[1..2], true)));
        let p = page_after(&items, |s| s, Some("b"), 5, "x").ok();
        assert_eq!(p, Some((&items[2..], false)));
        assert!(page_after(&items, |s| s, Some("z"), 5, "x").is_err());
    }
}
