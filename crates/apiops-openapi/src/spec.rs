//! Loading an OpenAPI document: bytes (JSON or YAML) into a checked [`Spec`], with a size cap
//! applied before parsing, the version checked (3.0 or 3.1), and every `$ref` checked once at
//! load: local (`#/...`) only, pointing at something, and never a chain of references that comes
//! back to itself. Later lookups ([`Spec::resolve`]) can then follow references without failing.
//!
//! Not here: fetching a remote document (the caller fetches, through its SSRF guard, and hands
//! the bytes over), and the operations (see [`crate::index`]).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::error::SpecError;

/// The largest document loaded unless the caller says otherwise: GitHub's REST description,
/// among the largest published, is about 12 MB.
pub const DEFAULT_MAX_SPEC_BYTES: u64 = 32 * 1024 * 1024;

/// How many references in a row a lookup follows before giving up (a chain this long is a
/// mistake even without a cycle).
const MAX_REF_HOPS: usize = 64;

/// A loaded, checked OpenAPI document.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The whole document.
    doc: Value,
    /// Where it came from (a path or URL), for messages.
    source: String,
    /// The `openapi` field, e.g. `3.0.3`.
    version: String,
}

impl Spec {
    /// Reads the file at `path`, refusing it before reading when it is larger than `max_bytes`.
    pub fn load_file(path: &Path, max_bytes: u64) -> Result<Spec, SpecError> {
        let source = path.display().to_string();
        let io = |e: std::io::Error| SpecError::Read {
            source_name: source.clone(),
            reason: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > max_bytes {
            return Err(SpecError::TooLarge {
                source_name: source,
                size: len,
                max: max_bytes,
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        // The file may grow between the check and the read: read one byte past the cap at most.
        file.take(max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Spec::parse(&bytes, &source, max_bytes)
    }

    /// Parses `bytes` (JSON when they start with `{`, YAML otherwise) from `source`.
    pub fn parse(bytes: &[u8], source: &str, max_bytes: u64) -> Result<Spec, SpecError> {
        let size = bytes.len() as u64;
        if size > max_bytes {
            return Err(SpecError::TooLarge {
                source_name: source.to_owned(),
                size,
                max: max_bytes,
            });
        }
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        let parsed: Result<Value, String> = if first == Some(&b'{') {
            serde_json::from_slice(bytes).map_err(|e| format!("JSON: {e}"))
        } else {
            serde_norway::from_slice(bytes).map_err(|e| format!("YAML: {e}"))
        };
        let doc = parsed.map_err(|reason| SpecError::Parse {
            source_name: source.to_owned(),
            reason,
        })?;
        Spec::from_value(doc, source)
    }

    /// Checks an already parsed document.
    pub fn from_value(doc: Value, source: &str) -> Result<Spec, SpecError> {
        let invalid = |reason: String| SpecError::Invalid {
            source_name: source.to_owned(),
            reason,
        };
        if !doc.is_object() {
            return Err(invalid("the document is not an object".into()));
        }
        let version = match doc.get("openapi") {
            Some(Value::String(v)) if v.starts_with("3.0") || v.starts_with("3.1") => v.clone(),
            Some(Value::String(v)) => {
                return Err(invalid(format!(
                    "openapi {v:?} is not supported: only OpenAPI 3.0 and 3.1"
                )));
            }
            _ => match doc.get("swagger") {
                Some(_) => {
                    return Err(invalid(
                        "a Swagger 2.0 document: convert it to OpenAPI 3 first".into(),
                    ));
                }
                None => {
                    return Err(invalid(
                        "no `openapi` field: not an OpenAPI document".into(),
                    ));
                }
            },
        };
        if !doc.get("paths").is_none_or(Value::is_object) {
            return Err(invalid("`paths` is not an object".into()));
        }
        let spec = Spec {
            doc,
            source: source.to_owned(),
            version,
        };
        spec.check_refs()?;
        Ok(spec)
    }

    /// The whole document.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// Where the document came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The `openapi` version field.
    pub fn openapi_version(&self) -> &str {
        &self.version
    }

    /// `info.title`.
    pub fn title(&self) -> &str {
        self.doc
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `info.version`: the API's own version.
    pub fn api_version(&self) -> &str {
        self.doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The first server's URL, when the document names one.
    pub fn first_server(&self) -> Option<&str> {
        self.doc.pointer("/servers/0/url").and_then(Value::as_str)
    }

    /// `value` itself, or what its `$ref` chain leads to. References were checked at load, so
    /// this only fails on a chain longer than 64 hops.
    pub fn resolve<'a>(&'a self, value: &'a Value) -> Result<&'a Value, SpecError> {
        let mut current = value;
        for _ in 0..MAX_REF_HOPS {
            match ref_of(current) {
                Some(target) => {
                    current = self.lookup(target).ok_or_else(|| SpecError::RefNotFound {
                        source_name: self.source.clone(),
                        at: target.to_owned(),
                        target: target.to_owned(),
                    })?;
                }
                None => return Ok(current),
            }
        }
        Err(SpecError::RefCycle {
            source_name: self.source.clone(),
            chain: vec![format!("more than {MAX_REF_HOPS} references in a row")],
        })
    }

    /// The value a local reference (`#/components/schemas/Pet`) names.
    fn lookup(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(&self.doc);
        }
        self.doc.pointer(&percent_decode(pointer))
    }

    /// Every `$ref` is local, resolves, and no chain of references loops.
    fn check_refs(&self) -> Result<(), SpecError> {
        let mut refs = Vec::new();
        collect_refs(&self.doc, &mut String::from("#"), &mut refs);
        for (at, target) in &refs {
            if !target.starts_with('#') {
                return Err(SpecError::ExternalRef {
                    source_name: self.source.clone(),
                    at: at.clone(),
                    target: target.clone(),
                });
            }
            let mut seen = BTreeSet::new();
            let mut chain = vec![at.clone()];
            let mut current = target.as_str();
            loop {
                if !seen.insert(current.to_owned()) {
                    chain.push(current.to_owned());
                    return Err(SpecError::RefCycle {
                        source_name: self.source.clone(),
                        chain,
                    });
                }
                chain.push(current.to_owned());
                let value = self.lookup(current).ok_or_else(|| SpecError::RefNotFound {
                    source_name: self.source.clone(),
                    at: at.clone(),
                    target: current.to_owned(),
                })?;
                match ref_of(value) {
                    Some(next) if next.starts_with('#') => current = next,
                    Some(next) => {
                        return Err(SpecError::ExternalRef {
                            source_name: self.source.clone(),
                            at: current.to_owned(),
                            target: next.to_owned(),
                        });
                    }
                    None => break,
                }
            }
        }
        Ok(())
    }
}

/// The `$ref` of an object, when it has one.
pub(crate) fn ref_of(value: &Value) -> Option<&str> {
    value.as_object()?.get("$ref")?.as_str()
}

/// Every `(pointer of the $ref, its target)` in `value`, depth first.
fn collect_refs(value: &Value, at: &mut String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&escape_token(key));
                if key == "$ref"
                    && let Value::String(target) = child
                {
                    out.push((at.clone(), target.clone()));
                } else {
                    collect_refs(child, at, out);
                }
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = at.len();
                at.push('/');
                at.push_str(&i.to_string());
                collect_refs(child, at, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// A JSON pointer token for `key` (RFC 6901: `~` is `~0`, `/` is `~1`).
pub fn escape_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// `%XX` escapes in a reference's fragment (`#/paths/~1pets%7Bid%7D`), decoded; anything that
/// is not a valid escape stays as it is.
fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(s) = std::str::from_utf8(hex)
            && let Ok(b) = u8::from_str_radix(s, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(extra: Value) -> Value {
        let mut d =
            json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}});
        if let (Some(d), Value::Object(extra)) = (d.as_object_mut(), extra) {
            d.extend(extra);
        }
        d
    }

    #[test]
    fn json_and_yaml_load_alike() {
        let yaml = "openapi: 3.1.0\ninfo: {title: Pets, version: '2'}\npaths:\n  /pets:\n    get: {operationId: listPets}\n";
        let spec = Spec::parse(yaml.as_bytes(), "pets.yaml", 1 << 20).expect("yaml");
        assert_eq!(spec.openapi_version(), "3.1.0");
        assert_eq!(spec.title(), "Pets");
        let json = serde_json::to_vec(spec.doc()).expect("json");
        let again = Spec::parse(&json, "pets.json", 1 << 20).expect("json");
        assert_eq!(again.doc(), spec.doc());
    }

    #[test]
    fn unparseable_and_wrong_versions_are_named() {
        let err = Spec::parse(b"{ not json", "bad.json", 1 << 20).expect_err("bad");
        assert!(err.to_string().contains("bad.json"), "{err}");
        let err =
            Spec::parse(b"swagger: '2.0'\npaths: {}\n", "old.yaml", 1 << 20).expect_err("2.0");
        assert!(err.to_string().contains("Swagger 2.0"), "{err}");
        let err = Spec::parse(b"openapi: 4.0.0\n", "new.yaml", 1 << 20).expect_err("4");
        assert!(
            err.to_string().contains("only OpenAPI 3.0 and 3.1"),
            "{err}"
        );
        let err = Spec::parse(b"- a\n- b\n", "list.yaml", 1 << 20).expect_err("list");
        assert!(err.to_string().contains("not an object"), "{err}");
    }

    #[test]
    fn a_document_over_the_cap_is_refused_before_parsing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("big.json");
        // 50 MB of something that would not even parse: the cap must answer first.
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(50 * 1024 * 1024).expect("size");
        let err = Spec::load_file(&path, DEFAULT_MAX_SPEC_BYTES).expect_err("too big");
        assert!(matches!(err, SpecError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("big.json"), "{err}");
        assert!(err.to_string().contains("52428800"), "{err}");
        let err = Spec::parse(&[b' '; 2048], "mem", 1024).expect_err("too big");
        assert!(matches!(err, SpecError::TooLarge { .. }));
    }

    #[test]
    fn a_ref_cycle_is_an_error_naming_the_pointers() {
        let d = doc(json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"$ref": "#/components/schemas/A"}
        }}}));
        let err = Spec::from_value(d, "cycle.json").expect_err("cycle");
        let text = err.to_string();
        assert!(matches!(err, SpecError::RefCycle { .. }), "{text}");
        assert!(text.contains("#/components/schemas/A"), "{text}");
        assert!(text.contains("#/components/schemas/B"), "{text}");
        // A schema that refers to itself through a property is recursion, not a cycle.
        let d = doc(json!({"components": {"schemas": {
            "Node": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}}}
        }}}));
        Spec::from_value(d, "tree.json").expect("recursive schemas are fine");
    }

    #[test]
    fn external_and_dangling_refs_are_errors_naming_the_pointer() {
        let d = doc(json!({"paths": {"/pets": {"get": {"parameters": [
            {"$ref": "other.yaml#/components/parameters/limit"}
        ]}}}}));
        let err = Spec::from_value(d, "ext.json").expect_err("external");
        let text = err.to_string();
        assert!(matches!(err, SpecError::ExternalRef { .. }), "{text}");
        assert!(
            text.contains("#/paths/~1pets/get/parameters/0/$ref"),
            "{text}"
        );
        assert!(text.contains("other.yaml"), "{text}");
        let d = doc(
            json!({"paths": {"/pets": {"get": {"responses": {"200": {"$ref": "https://example.invalid/r.json"}}}}}}),
        );
        assert!(matches!(
            Spec::from_value(d, "url.json"),
            Err(SpecError::ExternalRef { .. })
        ));
        let d = doc(
            json!({"components": {"schemas": {"A": {"$ref": "#/components/schemas/Missing"}}}}),
        );
        let err = Spec::from_value(d, "dangling.json").expect_err("dangling");
        assert!(matches!(err, SpecError::RefNotFound { .. }), "{err}");
        assert!(
            err.to_string().contains("#/components/schemas/Missing"),
            "{err}"
        );
    }

    #[test]
    fn resolve_follows_chains_and_escapes() {
        let d = doc(json!({
            "paths": {"/a/{id}": {"get": {"operationId": "x"}}},
            "components": {"schemas": {
                "A": {"$ref": "#/components/schemas/B"},
                "B": {"type": "string"},
                "P": {"$ref": "#/paths/~1a~1%7Bid%7D/get"}
            }}
        }));
        let spec = Spec::from_value(d, "ok.json").expect("ok");
        let a = spec.doc().pointer("/components/schemas/A").expect("A");
        assert_eq!(
            spec.resolve(a).expect("resolves"),
            &json!({"type": "string"})
        );
        let p = spec.doc().pointer("/components/schemas/P").expect("P");
        assert_eq!(spec.resolve(p).expect("resolves")["operationId"], "x");
    }
}
