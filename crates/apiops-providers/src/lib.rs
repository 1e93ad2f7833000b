//! Typed clients of Twilio, Stripe and OpenAI over `apiops-client`: health, error audits, config
//! audits, operations catalogs and classification tables (DESIGN.md §4).
//!
//! Empty until the providers issue lands; its place in the workspace is fixed now so that the
//! crate arrows (binary -> providers -> client -> core) hold from the start.
