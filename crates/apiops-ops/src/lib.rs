//! Operations: request text -> intent -> plan -> policy gate -> execute -> journal
//! (DESIGN.md §5).
//!
//! Layout:
//! - [`apis`]: a configured API's confirmed write run under the journal, and its failures and
//!   deprecation notices kept in the store (`apiops call`, `apiops graphql`, MCP).
//! - [`error`]: [`OpsError`], why an operation could not be planned or run.
//! - [`catalog`]: every operation, typed, with its risk, reversibility, purchase/deletion flags.
//! - [`intent`]: the deterministic offline parser of plain-words requests.
//! - [`plan`]: an operation resolved against the account into steps (reads only);
//!   `resolve` holds those reads.
//! - [`journal`]: planning that resumes the journaled plan of the same request.
//! - [`policy`]: the gate — what may run without a person (never purchases, deletions, auth) —
//!   and the trust classes: what `--allow-execute` may stand in for, what needs a person.
//! - [`lease`]: one runner per plan, across processes (a lease in the store).
//! - [`ids`]: unguessable ids from the OS's CSPRNG.
//! - [`exec`]: running a plan step by step, journaled, state checked first, each action an
//!   event in the store.
//! - [`read`]: the read operations, answered at once with typed records (no plan).
//! - [`registry`]: plans made and not yet executed (MCP's `plan_operation` → `execute_plan`),
//!   per session, for an hour.
//! - [`pending`]: what a pending confirmation holds: a catalog plan, or a configured API's
//!   write with its body shown masked (`apiops confirm`, the dashboard, MCP over HTTP).
//! - [`services`]: the providers and the outbound HTTP client operations use.
//! - [`sink`]: the event log as the error scan's sink (the CLI's and MCP's error audits).
//! - [`resume`]: the partial error scan kept in the store, and its resumed windows merged in
//!   (`apiops errors --resume`).
//! - [`params`]: an operation from named parameters (tool calls, MCP requests).
//! - [`llm`]: the optional LLM planner (tool calling over the catalog; same gate).

pub mod apis;
pub mod catalog;
pub mod error;
pub mod exec;
pub mod ids;
pub mod intent;
pub mod journal;
pub mod lease;
pub mod llm;
pub mod params;
pub mod pending;
pub mod plan;
pub mod policy;
pub mod read;
pub mod registry;
mod resolve;
pub mod resume;
pub mod services;
pub mod sink;

pub use catalog::{CATALOG, OpKind, OpSpec, Operation, Risk};
pub use error::OpsError;
pub use exec::{Executor, ItemOutcome, ItemResult, Outcome, OutcomeStatus};
pub use intent::Intent;
pub use journal::{Prepared, prepare};
pub use plan::{Plan, Step, StepAction};
pub use policy::{
    DEFAULT_BATCH_CAP, Gate, Origin, PersonRule, Policy, Trust, TrustClass, gate, trust_of,
    trust_of_plan,
};
pub use read::{ReadAnswer, ReadError};
pub use resolve::MAX_REDELIVERIES;
pub use services::Services;
