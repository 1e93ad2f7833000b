//! `apiops mcp`: the Model Context Protocol server — the same capabilities as the CLI for AI
//! agents, with the same safety rules (DESIGN.md, issue 8).
//!
//! Layout:
//! - the `apiops-mcp` crate (re-exported here as `tools`, `confirm`, `result`, `stdio`): the
//!   tools' schemas and argument checks, who may say yes, the shape of results and tool errors,
//!   the stdio transport;
//! - [`server`]: the rmcp server handler over the engine (checks, operations, the store), which
//!   renders through the binary's report views;
//! - [`http`]: the streamable HTTP transport `apiops serve` mounts at `/mcp`, behind the
//!   dashboard's token.
//!
//! Built on rmcp (the official Rust SDK), which negotiates the protocol version with the client
//! (2024-11-05 up to 2026-07-28). On stdio, stdout carries the protocol only; logs go to stderr.

pub(crate) mod http;
pub(crate) mod server;

pub(crate) use apiops_mcp::{confirm, result, stdio, tools};

pub(crate) use server::{ApiopsMcp, Options};
