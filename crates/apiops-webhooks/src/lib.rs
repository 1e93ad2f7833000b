//! Webhook signature schemes (Stripe, Twilio, Standard Webhooks), the receiver router and the
//! poll reconciler (DESIGN.md §7).
//!
//! Layout:
//! - [`signature`]: the schemes, pure.
//! - [`receiver`]: the axum routes (`/webhooks/{stripe,twilio,openai}`, `/healthz`).
//! - [`scheme`]: the `webhooks = {...}` scheme of a configured API (`[apis.NAME]`): standard,
//!   svix, hmac and the github, shopify and slack presets.
//! - [`apis`]: `/webhooks/{name}` for each configured API, handing verified deliveries to a
//!   [`apis::DeliverySink`] ([`apis::StoreSink`]: the store's inbox through [`ingest`]).
//! - [`ingest`]: durable group commit into the store's inbox; 2xx only after commit.
//! - [`process`]: inbox rows -> `ErrorEvent`s in the event log, after storage.
//! - [`reconcile`]: the poll reconciler (Stripe events, Twilio Monitor alerts) into the inbox.
//!
//! [`signature`] holds the receiving side of each provider's signature scheme as pure functions:
//! no I/O, no clock (the caller passes `now`), no panics on any input.

pub mod apis;
pub mod ingest;
pub mod process;
pub mod receiver;
pub mod reconcile;
pub mod scheme;
pub mod signature;
