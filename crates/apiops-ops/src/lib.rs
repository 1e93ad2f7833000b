//! Operations: request text -> intent -> plan -> policy gate -> execute -> journal
//! (DESIGN.md §5).
//!
//! Layout:
//! - [`catalog`]: every operation, typed, with its risk, reversibility, purchase/deletion flags.
//! - [`intent`]: the deterministic offline parser of plain-words requests.

pub mod catalog;
pub mod intent;

pub use catalog::{CATALOG, OpKind, OpSpec, Operation, Risk};
pub use intent::Intent;
