//! The protocol side of apiops's MCP server (DESIGN.md, issue 8): what the tools are, how a
//! call's arguments are checked, who may say yes to a plan, how results and tool errors are
//! shaped, and the stdio transport. It depends on the engine crates and `apiops-config` only;
//! the tool handler over the engine (`ApiopsMcp`) and the `/mcp` route are in the binary, which
//! renders the health, errors and audit views through its own report views.
//!
//! Layout:
//! - [`tools`]: the tools' names, descriptions, JSON schemas and annotations, and the checking
//!   of a call's arguments (pure, unit-tested);
//! - [`confirm`]: when `execute_plan` may run a plan, and how it asks the person (elicitation);
//! - [`result`]: structured results with a text summary; tool errors with the normalized
//!   category;
//! - [`stdio`]: the stdio transport, answering lines that are not JSON with `-32700`.
//!
//! Built on rmcp (the official Rust SDK). On stdio, stdout carries the protocol only; logs go
//! to stderr.

pub mod confirm;
pub mod result;
pub mod stdio;
pub mod tools;
