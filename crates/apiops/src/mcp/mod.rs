//! `apiops mcp`: the Model Context Protocol server — the same capabilities as the CLI for AI
//! agents, with the same safety rules (DESIGN.md, issue 8).
//!
//! Layout:
//! - [`tools`]: the tools' names, descriptions, JSON schemas and annotations, and the checking
//!   of a call's arguments (pure, unit-tested);
//! - [`confirm`]: when `execute_plan` may run a plan, and how it asks the person (elicitation);
//! - [`result`]: structured results with a text summary; tool errors with the normalized
//!   category;
//! - [`server`]: the rmcp server handler over the engine (checks, operations, the store);
//! - [`stdio`]: the stdio transport, answering lines that are not JSON with `-32700`;
//! - [`http`]: the streamable HTTP transport `apiops serve` mounts at `/mcp`, behind the
//!   dashboard's token.
//!
//! Built on rmcp (the official Rust SDK), which negotiates the protocol version with the client
//! (2024-11-05 up to 2026-07-28). On stdio, stdout carries the protocol only; logs go to stderr.

pub(crate) mod confirm;
pub(crate) mod http;
pub(crate) mod result;
pub(crate) mod server;
pub(crate) mod stdio;
pub(crate) mod tools;

pub(crate) use server::{ApiopsMcp, Options};
