//! Stripe's request parameters and its error documents for them.
//!
//! Stripe takes form-encoded parameters (in the query of a GET, in the body of a POST) with
//! bracket syntax: `enabled_events[]=a&enabled_events[]=b` or, as the official SDKs send them,
//! `enabled_events[0]=a&enabled_events[1]=b`; hashes as `metadata[k]=v` and `created[gte]=t`.
//! Repeated keys are normal, so parameters are kept as an ordered multimap of pairs and read by
//! shape — never through serde structs, which reject repeats. Anything malformed becomes
//! Stripe's own `invalid_request_error`, with the `param` it concerns.
//!
//! This module does not know any endpoint; each handler names the parameters it accepts.

use axum::http::StatusCode;

/// A Stripe error document with its status: what a handler answers when a request is refused.
pub(crate) type StripeError = crate::faults::ErrorDoc;

/// A Stripe error document, with the `param` it concerns.
pub(crate) use crate::faults::stripe_error_doc as error;

/// Checks the query of a retrieve, which takes only `expand`.
pub(crate) fn expand_only(q: Option<&str>) -> Result<(), StripeError> {
    let p = Params::from_query(q);
    p.check_allowed(&["expand"])?;
    p.array("expand").map(|_| ())
}

/// The answer to a retrieve (`GET /v1/{objects}/{id}`, whose query takes only `expand`): the
/// object `find` gives, or Stripe's error for no such `what`.
pub(crate) fn retrieved(
    q: Option<&str>,
    what: &str,
    id: &str,
    find: impl FnOnce() -> Option<serde_json::Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if let Err(rejection) = expand_only(q) {
        return rejection.into_response();
    }
    match find() {
        Some(body) => axum::Json(body).into_response(),
        None => no_such(what, id, "id").into_response(),
    }
}

/// A 400 `invalid_request_error` about one parameter.
pub(crate) fn invalid(param: &str, code: Option<&str>, message: &str) -> StripeError {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        code,
        Some(param),
        message,
    )
}

/// Stripe's answer to a parameter the endpoint does not take.
pub(crate) fn unknown(param: &str) -> StripeError {
    invalid(
        param,
        Some("parameter_unknown"),
        &format!("Received unknown parameter: {param}"),
    )
}

/// Stripe's answer to a required parameter that is absent.
pub(crate) fn missing(param: &str) -> StripeError {
    invalid(
        param,
        Some("parameter_missing"),
        &format!("Missing required param: {param}."),
    )
}

/// Stripe's 404 for an object id it does not know (`what` as in "webhook endpoint").
pub(crate) fn no_such(what: &str, id: &str, param: &str) -> StripeError {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        Some(param),
        &format!("No such {what}: '{id}'"),
    )
}

/// How a key is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape<'a> {
    /// `name`
    Plain,
    /// `name[inner]` (`inner` may be empty: `name[]`).
    Bracket(&'a str),
    /// `name[a][b]` or a malformed bracket.
    Nested,
}

/// Splits a key into its base name and its shape.
fn split(key: &str) -> (&str, Shape<'_>) {
    let Some(open) = key.find('[') else {
        return (key, Shape::Plain);
    };
    let (base, rest) = key.split_at(open);
    let inner = rest
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .filter(|i| !i.contains('[') && !i.contains(']'));
    match inner {
        Some(i) => (base, Shape::Bracket(i)),
        None => (base, Shape::Nested),
    }
}

/// Form parameters in the order they came, repeats kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body or query (invalid UTF-8 is replaced,
    /// never rejected).
    pub(crate) fn parse(raw: &[u8]) -> Self {
        Params {
            pairs: url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// Parses a request's query string, if it has one.
    pub(crate) fn from_query(query: Option<&str>) -> Self {
        Self::parse(query.unwrap_or("").as_bytes())
    }

    /// Rejects the first parameter whose base name is not in `allowed`, as Stripe does.
    pub(crate) fn check_allowed(&self, allowed: &[&str]) -> Result<(), StripeError> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !allowed.contains(&split(k).0))
        {
            Some((k, _)) => Err(unknown(k)),
            None => Ok(()),
        }
    }

    /// The value of a plain parameter (the last one when repeated).
    pub(crate) fn scalar(&self, name: &str) -> Result<Option<&str>, StripeError> {
        let mut found = None;
        for (k, v) in &self.pairs {
            match split(k) {
                (base, _) if base != name => {}
                (_, Shape::Plain) => found = Some(v.as_str()),
                _ => {
                    return Err(invalid(
                        name,
                        Some("parameter_invalid_string"),
                        &format!("Invalid string: {name} must be a string, not an array or hash"),
                    ));
                }
            }
        }
        Ok(found)
    }

    /// An integer parameter.
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, StripeError> {
        self.scalar(name)?
            .map(|v| parse_integer(name, v))
            .transpose()
    }

    /// A boolean parameter (`true` or `false`).
    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, StripeError> {
        match self.scalar(name)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(invalid(
                name,
                Some("parameter_invalid_boolean"),
                &format!("Invalid boolean: {other}"),
            )),
        }
    }

    /// The pairs whose key's base is `name`: their position, the key's shape and the value.
    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (usize, Shape<'a>, &'a String)> {
        self.pairs
            .iter()
            .enumerate()
            .filter_map(move |(pos, (k, v))| match split(k) {
                (base, shape) if base == name => Some((pos, shape, v)),
                _ => None,
            })
    }

    /// An array parameter: `name[]=a&name[]=b` or `name[0]=a&name[1]=b` (ordered by index);
    /// `name=` (empty) is Stripe's way to send an empty array.
    pub(crate) fn array(&self, name: &str) -> Result<Option<Vec<String>>, StripeError> {
        let mut items: Vec<(Option<u64>, usize, String)> = Vec::new();
        let mut present = false;
        for (pos, shape, v) in self.named(name) {
            present = true;
            match shape {
                Shape::Plain if v.is_empty() => {}
                Shape::Bracket("") => items.push((None, pos, v.clone())),
                Shape::Bracket(i) => match i.parse::<u64>() {
                    Ok(n) => items.push((Some(n), pos, v.clone())),
                    Err(_) => return Err(invalid_array(name)),
                },
                _ => return Err(invalid_array(name)),
            }
        }
        if !present {
            return Ok(None);
        }
        // Indexed items sort by index; `[]` items keep their place after them.
        items.sort_by_key(|(index, pos, _)| (index.unwrap_or(u64::MAX), *pos));
        Ok(Some(items.into_iter().map(|(_, _, v)| v).collect()))
    }

    /// A hash parameter: `name[k]=v` pairs in order; `name=` (empty) is an empty hash.
    pub(crate) fn hash(&self, name: &str) -> Result<Option<Vec<(String, String)>>, StripeError> {
        let mut entries = Vec::new();
        let mut present = false;
        for (_, shape, v) in self.named(name) {
            present = true;
            match shape {
                Shape::Plain if v.is_empty() => {}
                Shape::Bracket(key) if !key.is_empty() => entries.push((key.to_owned(), v.clone())),
                _ => {
                    return Err(invalid(
                        name,
                        Some("parameter_invalid_hash"),
                        &format!("Invalid hash: {name} must be a hash of key-value pairs"),
                    ));
                }
            }
        }
        Ok(present.then_some(entries))
    }

    /// Every value given for `name`, with its bracket part (`None` for plain `name=v`, `Some("gte")`
    /// for `name[gte]=v`, `Some("[a][b]")` for deeper nesting), for parameters that take either
    /// shape (`created=t` or `created[gte]=t`).
    pub(crate) fn entries(&self, name: &str) -> Vec<(Option<&str>, &str)> {
        self.pairs
            .iter()
            .filter_map(|(k, v)| match split(k) {
                (base, _) if base != name => None,
                (_, Shape::Plain) => Some((None, v.as_str())),
                (_, Shape::Bracket(inner)) => Some((Some(inner), v.as_str())),
                (base, Shape::Nested) => Some((Some(&k[base.len()..]), v.as_str())),
            })
            .collect()
    }

    /// A canonical text of every parameter, to compare the parameters of two requests.
    pub(crate) fn fingerprint(&self) -> String {
        let mut sorted: Vec<&(String, String)> = self.pairs.iter().collect();
        sorted.sort();
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in sorted {
            out.append_pair(k, v);
        }
        out.finish()
    }
}

fn invalid_array(name: &str) -> StripeError {
    invalid(
        name,
        Some("parameter_invalid_array"),
        &format!("Invalid array: {name} must be an array"),
    )
}

/// Parses an integer as Stripe does, or its error naming `param`.
pub(crate) fn parse_integer(param: &str, value: &str) -> Result<i64, StripeError> {
    value.trim().parse::<i64>().map_err(|_| {
        invalid(
            param,
            Some("parameter_invalid_integer"),
            &format!("Invalid integer: {value}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_keys_by_shape() {
        assert_eq!(split("limit"), ("limit", Shape::Plain));
        assert_eq!(split("types[]"), ("types", Shape::Bracket("")));
        assert_eq!(split("types[3]"), ("types", Shape::Bracket("3")));
        assert_eq!(split("created[gte]"), ("created", Shape::Bracket("gte")));
        assert_eq!(split("a[b][c]"), ("a", Shape::Nested));
        assert_eq!(split("a[b"), ("a", Shape::Nested));
    }

    #[test]
    fn reads_arrays_hashes_and_scalars() {
        let p = Params::parse(
            b"enabled_events[1]=b&enabled_events[0]=a&metadata[k]=v&metadata[x]=&url=u&url=w",
        );
        assert_eq!(
            p.array("enabled_events").ok().flatten(),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            p.hash("metadata").ok().flatten(),
            Some(vec![
                ("k".to_owned(), "v".to_owned()),
                ("x".to_owned(), String::new())
            ])
        );
        assert_eq!(p.scalar("url").ok().flatten(), Some("w"));
        assert!(p.scalar("enabled_events").is_err());
        assert!(p.check_allowed(&["enabled_events", "metadata"]).is_err());
        assert!(
            p.check_allowed(&["enabled_events", "metadata", "url"])
                .is_ok()
        );
        let empty = Params::parse(b"enabled_events=");
        assert_eq!(empty.array("enabled_events").ok().flatten(), Some(vec![]));
        assert!(Params::parse(b"types[x]=a").array("types").is_err());
        assert!(Params::parse(b"metadata=v").hash("metadata").is_err());
        assert!(Params::parse(b"limit=ten").integer("limit").is_err());
        assert!(Params::parse(b"disabled=yes").boolean("disabled").is_err());
        assert_eq!(
            Params::parse(b"b=2&a=1").fingerprint(),
            Params::parse(b"a=1&b=2").fingerprint()
        );
        // Malformed percent-encoding and invalid UTF-8 never panic.
        let odd = Params::parse(b"%ff%fe=%zz&=&&a");
        assert!(odd.check_allowed(&[]).is_err());
    }
}
