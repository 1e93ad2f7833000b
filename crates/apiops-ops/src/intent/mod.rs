//! The deterministic, offline intent parser: plain words -> an [`Operation`] from the catalog,
//! or a question when the request is incomplete or ambiguous. It never guesses.

use serde::Serialize;

use crate::catalog::{OpKind, Operation};

/// What a request means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    /// A complete operation, ready to plan.
    Run {
        /// The operation.
        operation: Operation,
    },
    /// Incomplete or ambiguous: what to ask, and the candidates to choose from when known.
    Ask {
        /// The operation the request seems to want, when that much is clear.
        kind: Option<OpKind>,
        /// One question, ending with '?'.
        question: String,
        /// Complete requests the user may mean (possibly empty).
        candidates: Vec<String>,
    },
    /// Nothing in the catalog matches.
    Unknown {
        /// Why, in one sentence.
        reason: String,
        /// Example requests that would work.
        examples: Vec<String>,
    },
}

/// Parses a request.
pub fn parse(text: &str) -> Intent {
    let _ = text;
    Intent::Unknown {
        reason: "the intent parser is being written".into(),
        examples: Vec::new(),
    }
}
