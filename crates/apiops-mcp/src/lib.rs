//! apiops's MCP server (DESIGN.md, issue 8): the same capabilities as the CLI for AI agents,
//! with the same safety rules — what the tools are, how a call's arguments are checked, who may
//! say yes to a plan, how results and tool errors are shaped, the tool handler over the engine,
//! and its two transports. It depends on the engine crates, `apiops-config` and the
//! dashboard's access rule, never on the binary: what the terminal shows too (the whole report
//! as Markdown, a read's answer as a table) comes in through [`Views`].
//!
//! Layout:
//! - [`tools`]: the tools' names, descriptions, JSON schemas and annotations, and the checking
//!   of a call's arguments (pure, unit-tested);
//! - [`confirm`]: when `execute_plan` may run a plan, and how it asks the person (elicitation);
//! - [`result`]: structured results with a text summary; tool errors with the normalized
//!   category, taken from the typed error;
//! - [`server`]: the rmcp server handler ([`ApiopsMcp`]) over the engine (selection and scans,
//!   reads, the operations pipeline, the store), with `server/plans.rs` (`plan_operation`,
//!   `execute_plan`, asking the person), `server/json.rs` (engine errors as tool errors,
//!   views as JSON), `server/resources.rs` (the report and the recent events) and
//!   `server/apis.rs` (`list_apis`, `api_operations`, `call_api`: configured APIs; a read at
//!   once, a write kept as a plan that `execute_plan` runs under a person's yes) and
//!   `server/graphql.rs` (`graphql_query`: a GraphQL endpoint's query at once, data beside its
//!   errors; a mutation kept as a plan the same way);
//! - [`stdio`]: the stdio transport of `apiops mcp`, answering lines that are not JSON with
//!   `-32700`;
//! - [`http`]: the streamable HTTP transport `apiops serve` mounts at `/mcp`, behind the
//!   dashboard's token.
//!
//! Built on rmcp (the official Rust SDK), which negotiates the protocol version with the client
//! (2024-11-05 up to 2026-07-28). On stdio, stdout carries the protocol only; logs go to stderr.

pub mod confirm;
pub mod http;
pub mod result;
pub mod server;
pub mod stdio;
pub mod tools;

pub use server::{ApiopsMcp, Options, Views};

#[cfg(test)]
mod test_support;
