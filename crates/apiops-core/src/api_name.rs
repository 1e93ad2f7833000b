//! The name of a configured API (`[apis.NAME]`), small enough to copy: validated once, then
//! interned, so that [`crate::Service`] stays `Copy` and four bytes wide, and its `as_str`
//! keeps returning a `&'static str`.
//!
//! A name is 1 to 32 of `a-z`, `0-9`, `-` and `_` (a path segment of `/webhooks/{name}`, an
//! environment-variable fragment, a row's `service` text) and not one of the built-in
//! services' names. Each distinct name is leaked once into a global table and the name holds
//! its slot; the table is capped ([`MAX_NAMES`]), so no input can grow it without bound.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, OnceLock};

/// The longest name accepted.
pub const MAX_LEN: usize = 32;

/// How many distinct names one process may intern; more is an error, not memory growth.
pub const MAX_NAMES: usize = 1024;

/// The names no API may take: the built-in services'.
const RESERVED: &[&str] = &["twilio", "openai", "stripe"];

/// A configured API's validated, interned name: its slot in the process's table.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ApiName(u16);

/// Why a text is not an API name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiNameError {
    /// Empty, too long, or a character outside `a-z0-9_-`.
    #[error("API name {0:?} is not 1 to 32 of a-z, 0-9, - and _")]
    Shape(String),
    /// The name of a built-in service.
    #[error("API name {0:?} is taken by the built-in service; choose another name")]
    BuiltIn(String),
    /// The process has interned [`MAX_NAMES`] names already.
    #[error("too many distinct API names (more than {MAX_NAMES})")]
    TooMany,
}

/// Each slot's text, written once (under the lock of [`index`]) and read without a lock.
static SLOTS: [OnceLock<&'static str>; MAX_NAMES] = [const { OnceLock::new() }; MAX_NAMES];

/// From a name to its slot; the lock also makes "find or take the next slot" one step.
fn index() -> &'static Mutex<HashMap<&'static str, u16>> {
    static INDEX: OnceLock<Mutex<HashMap<&'static str, u16>>> = OnceLock::new();
    INDEX.get_or_init(|| Mutex::new(HashMap::new()))
}

impl ApiName {
    /// Validates and interns `name`.
    pub fn new(name: &str) -> Result<ApiName, ApiNameError> {
        let shaped = !name.is_empty()
            && name.len() <= MAX_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !shaped {
            // Cut what is quoted back: the text may be anything, of any length.
            let shown: String = name.chars().take(MAX_LEN + 8).collect();
            return Err(ApiNameError::Shape(shown));
        }
        if RESERVED.contains(&name) {
            return Err(ApiNameError::BuiltIn(name.to_owned()));
        }
        // A poisoned lock still holds a consistent map: a slot is filled before it is indexed.
        let mut map = index().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&slot) = map.get(name) {
            return Ok(ApiName(slot));
        }
        let slot = map.len();
        if slot >= MAX_NAMES {
            return Err(ApiNameError::TooMany);
        }
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        // The slot is empty: slots are taken in order, only here, under the lock.
        let _ = SLOTS[slot].set(leaked);
        let slot = u16::try_from(slot).map_err(|_| ApiNameError::TooMany)?;
        map.insert(leaked, slot);
        Ok(ApiName(slot))
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        // Only `new` makes an `ApiName`, after filling its slot.
        SLOTS[usize::from(self.0)].get().copied().unwrap_or("")
    }
}

impl Hash for ApiName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// Names order by their text, as the built-in services do.
impl Ord for ApiName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for ApiName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for ApiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiName({:?})", self.as_str())
    }
}

impl fmt::Display for ApiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Service;

    #[test]
    fn a_name_interns_once_and_compares_by_text() {
        let a = ApiName::new("mail").expect("valid");
        let b = ApiName::new(&String::from("mail")).expect("valid");
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()), "interned once");
        assert!(ApiName::new("crm").expect("valid") < a);
        for ok in ["a", "my_crm", "gh-2", &"x".repeat(32)] {
            assert_eq!(ApiName::new(ok).expect(ok).as_str(), ok);
        }
    }

    #[test]
    fn invalid_names_are_refused() {
        for bad in ["", "Mail", "ma il", "mail/x", "é", "a.b", &"x".repeat(33)] {
            assert!(
                matches!(ApiName::new(bad), Err(ApiNameError::Shape(_))),
                "{bad:?}"
            );
        }
        let long = "y".repeat(10_000);
        let err = ApiName::new(&long).expect_err("too long").to_string();
        assert!(err.len() < 200, "the error quotes a cut: {err}");
    }

    #[test]
    fn built_in_names_are_refused() {
        for name in RESERVED {
            assert_eq!(
                ApiName::new(name),
                Err(ApiNameError::BuiltIn((*name).to_owned()))
            );
            // And a built-in name read back is the built-in service.
            let s = Service::from_stored(name).expect("built in");
            assert_eq!(s.api(), None);
        }
    }

    #[test]
    fn an_api_service_round_trips_through_its_name() {
        let gh = Service::Api(ApiName::new("gh").expect("valid"));
        assert_eq!(gh.as_str(), "gh");
        assert_eq!(gh.display_name(), "gh");
        assert_eq!(gh.to_string(), "gh");
        assert_eq!(std::mem::size_of::<Service>(), 4, "Service stays small");
        assert_eq!(gh.console_url(), None);
        assert!(gh.console_only_notice().contains("gh's console"));
        let json = serde_json::to_string(&gh).expect("json");
        assert_eq!(json, "\"gh\"");
        assert_eq!(serde_json::from_str::<Service>(&json).expect("back"), gh);
        assert_eq!(Service::from_stored("gh"), Ok(gh));
        for s in Service::ALL {
            let json = serde_json::to_string(s).expect("json");
            assert_eq!(serde_json::from_str::<Service>(&json).expect("back"), *s);
            assert_eq!(Service::from_stored(s.as_str()), Ok(*s));
        }
        // A command line names built-in services only; a stored row may name an API.
        assert!("gh".parse::<Service>().is_err());
        assert!(Service::from_stored("Not Valid").is_err());
        assert!(serde_json::from_str::<Service>("\"a/b\"").is_err());
        assert!(!Service::ALL.contains(&gh));
    }
}
