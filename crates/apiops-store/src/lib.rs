//! The `Store` trait and its SQLite and PostgreSQL backends: the event log, the webhook inbox,
//! the operations journal (DESIGN.md §7).
//!
//! Empty until the store issue lands; its place in the workspace is fixed now.
