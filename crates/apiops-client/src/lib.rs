//! A resilient HTTP client layer for any REST or GraphQL API, used by the apiops providers and
//! usable on its own.
//!
//! Layout — one concern per module, each a small pure policy plus a thin middleware that wires it
//! into [`reqwest_middleware`], stacked by [`ApiClient`] in this order (outermost first):
//! trace -> cassette -> circuit breaker -> idempotency key -> retry -> rate gate -> hedge ->
//! auth -> version pin -> attempt timeout -> transport (timeouts).
//!
//! - [`client`]: [`ClientBuilder`] and [`ApiClient`], which assemble the stack and map failures
//!   to [`ClientError`].
//! - [`bodies`]: the budget of response bodies held in memory at once ([`read_body`]).
//! - [`error`]: the typed errors a caller can act on.
//! - [`retry`]: full-jitter backoff, `Retry-After` parsing, the retry decision and the retry
//!   budget.
//! - [`reads`]: reads that stay fast when a provider misbehaves: attempt timeouts that follow
//!   recent latency, hedged reads, and the read retry budget's settings.
//! - [`breaker`]: the circuit breaker per host (closed / open / half-open).
//! - [`rate`]: the rate gate: a GCRA quota, a concurrency cap and a pause-until fed by rate-limit
//!   headers.
//! - [`auth`]: API key, Bearer, Basic, OAuth2 client credentials, JWT and HMAC request signing.
//! - [`idempotency`]: one idempotency key per logical request, kept across its retries.
//! - [`version`]: API version pin headers and deprecation detection.
//! - [`pagination`] and [`windows`]: paging as streams, and time windows scanned concurrently.
//! - [`graphql`]: a 200 with `errors[]` is an error that keeps the partial data.
//! - [`redact`] and [`trace`]: secrets out of every log line, error and recording.
//! - [`cassette`]: record and replay of HTTP exchanges for tests.
//! - [`clock`]: the injected time and jitter sources.
//!
//! The ordering places idempotency outside retry on purpose: the key is generated once per
//! logical request and every retry re-sends the same key. Timing always comes from
//! `tokio::time`, so tests run with paused time and never sleep.

pub mod auth;
pub mod bodies;
pub mod breaker;
pub mod cassette;
pub mod client;
pub mod clock;
pub mod error;
pub mod graphql;
pub mod idempotency;
pub mod pagination;
pub mod rate;
pub mod reads;
pub mod redact;
pub mod retry;
pub mod trace;
pub mod version;
pub mod windows;

pub use bodies::Body;
pub use client::{ApiClient, ClientBuilder, ClientStats, read_body};
pub use error::{ClientError, TransportKind};
pub use reqwest::Method;
pub use secrecy::SecretString;
