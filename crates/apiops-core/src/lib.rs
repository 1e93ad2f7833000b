//! The shared language of apiops: every other crate speaks in these types.
//!
//! Layout:
//! - [`model`]: `Service`, `Category`, `Severity`, the normalized [`ErrorEvent`] of DESIGN.md §2,
//!   and what the tool reports: [`Health`], [`Finding`], [`ErrorGroup`], [`Report`].
//! - [`api_name`]: [`ApiName`], the validated, interned name of a configured API that
//!   `Service::Api` carries.
//! - [`classify`]: the result of classifying a provider's error code, and the fallback by HTTP
//!   status that unknown codes take.
//! - [`secret`]: masking (first 4 / last 4) for anything secret that must be shown at all.
//! - [`text`]: cutting text to a number of characters for display.
//! - [`metric_names`]: the name of every metric series any crate records.
//!
//! This crate does no I/O and depends on nothing of ours.

pub mod api_name;
pub mod classify;
pub mod metric_names;
pub mod model;
pub mod secret;
pub mod text;

pub use classify::Classification;
pub use model::{
    ActionTaken, ApiName, ApiNameError, Category, ErrorEvent, ErrorGroup, EventResult, Finding,
    Health, HealthStatus, ParseError, Report, Service, Severity,
};
pub use secret::{Masked, mask};
