//! Typed clients of Twilio, Stripe and OpenAI over `apiops-client`, and what apiops does with
//! each: verify credentials and health, scan recent errors into normalized [`ErrorEvent`]s,
//! audit configuration into [`Finding`]s, and classify every provider code (DESIGN.md §4).
//!
//! Layout:
//! - [`provider`]: the [`Provider`] trait every service implements, and [`ProviderError`].
//! - [`tuning`]: the shared client settings (timeouts, retry, breaker) applied to every client.
//! - [`partial`]: the resumable form of an error scan: events tagged with their time window,
//!   windows that could not be read named ([`partial::UnreadWindow`]) and read again later.
//! - [`aggregate`]: pure grouping and ranking of events into [`ErrorGroup`]s with fixes and
//!   recommendations, in memory proportional to the number of distinct codes.
//! - [`scan`]: health, the error scan and the audit across services (which providers, run
//!   concurrently, results merged and ranked), events recorded through an [`scan::EventSink`];
//!   a failed service is a [`scan::ScanFailure`] holding the typed [`ProviderError`].
//! - [`views`]: those results as every face shows them (health, errors, audit, the whole
//!   report) — data only, the binary renders them, MCP answers with their JSON.
//! - [`webhook_url`]: static, SSRF-safe checks of webhook URLs (scheme, private and loopback
//!   addresses) that never connect anywhere.
//! - [`normalize`]: provider text made fit to keep (personal data scrubbed from messages).
//! - [`wait`]: when to retry after a rate limit, from the headers seen.
//! - [`status_page`]: the providers' public Statuspage-style status pages.
//! - [`probe`]: reachability of webhook URLs, one guarded request each (`audit --probe`).
//! - [`outbound`]: the SSRF guard for requests apiops itself sends to a URL it was given
//!   (test events, re-deliveries, alert sinks).
//! - [`webhook_events`]: failures in webhook payloads, normalized like the error scans.
//! - `wire`: small pieces the typed clients share (secrets scrubbed from a `ClientError`, ids
//!   checked before they become a path segment, a scan's stream ended at its first error).
//! - [`twilio`], [`stripe`], [`openai`]: one folder per provider with the same file roles:
//!   `mod.rs` (config and construction), `client.rs` (the typed client), `classify.rs` (the
//!   error dictionary and its lookups; Stripe's tables in `classify/`), `errors.rs` (the error
//!   scan), `health.rs`, `audit.rs`; Twilio adds `records.rs`, `paging.rs` and `sources.rs`
//!   (its error sources read window by window).
//! - [`usage`]: usage and spend per provider (Twilio Usage Records, OpenAI organization usage
//!   and costs, Stripe balance transactions), in each provider's own units.
//!
//! Nothing here prints; the binary renders.
//!
//! [`ErrorEvent`]: apiops_core::ErrorEvent
//! [`Finding`]: apiops_core::Finding
//! [`ErrorGroup`]: apiops_core::ErrorGroup

pub mod aggregate;
pub mod normalize;
pub mod openai;
pub mod outbound;
pub mod partial;
pub mod probe;
pub mod provider;
pub mod scan;
pub mod status_page;
pub mod stripe;
pub mod tuning;
pub mod twilio;
pub mod usage;
pub mod views;
pub mod wait;
pub mod webhook_events;
pub mod webhook_url;
mod wire;

pub use provider::{EventStream, Progress, Provider, ProviderError, TimeWindow};
pub use tuning::ClientTuning;
