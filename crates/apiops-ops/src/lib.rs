//! Operations: request text -> intent -> plan -> policy gate -> execute -> journal
//! (DESIGN.md §5).
//!
//! Empty until the operations issue lands; its place in the workspace is fixed now.
