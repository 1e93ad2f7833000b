//! Any API described by an OpenAPI 3.0 or 3.1 document (JSON or YAML), called through
//! apiops-client's resilient layer with no code written for it.
//!
//! Layout:
//! - [`spec`]: loading a document: size cap, JSON or YAML, version check, every `$ref` checked
//!   (local only, resolvable, no cycle).
//! - [`index`]: the operations: id, method, path, summary, parameters, body, read or write,
//!   paging hints, deprecation, declared idempotency header; lookup and word search.
//! - [`request`]: parameters and body checked against their schemas and built into a request,
//!   before anything is sent.
//! - [`auth`]: the configured credentials, mapped onto apiops-client's auth schemes.
//! - [`paging`]: reading one page in any of the common paging styles.
//! - [`lines`]: the items of a listing written as JSON Lines as they come.
//! - [`failure`]: reading an error body of any of the common shapes into the taxonomy.
//! - [`headroom`]: rate-limit headroom from whatever rate-limit headers the API sends.
//! - [`api`]: one configured API: prepare, plan, send, page through, health.
//! - [`graphql`]: a GraphQL endpoint through the same [`Api`]: the query text read without a
//!   schema (operation kind, variables), typed variables (`--var` text, or JSON checked
//!   against the declarations), partial data beside its errors, mutations planned as writes,
//!   cursor paging through `pageInfo`, health as `query { __typename }`.
//! - [`events`]: a failed call as an `ErrorEvent`, the deprecation notices kept between runs,
//!   and the audit's findings (deprecated operations, notices seen, an insecure base URL).
//! - [`words`]: plain words onto one operation (`apiops do "... on NAME"`).
//! - [`error`]: the typed errors.
//!
//! Not here: the configuration file (apiops-config builds [`ApiConfig`]), fetching a remote
//! document (the caller fetches through its SSRF guard and hands the bytes to
//! [`Spec::parse`]), confirmation prompts and output (the binary).

pub mod api;
pub mod auth;
pub mod error;
pub mod events;
pub mod failure;
pub mod graphql;
pub mod headroom;
pub mod index;
pub mod lines;
pub mod paging;
pub mod request;
pub mod spec;
pub mod words;

pub use api::{Answer, Api, ApiConfig, ApiHealth, WritePlan};
pub use auth::ApiAuth;
pub use error::{CallError, PagingError, SpecError};
pub use failure::ApiFailure;
pub use graphql::{Document, GqlKind, GraphQlAnswer};
pub use index::{Index, OpClass, Operation};
pub use lines::JsonLines;
pub use request::PreparedRequest;
pub use spec::{DEFAULT_MAX_SPEC_BYTES, Spec};
