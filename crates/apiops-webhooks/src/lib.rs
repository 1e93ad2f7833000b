//! Webhook signature schemes (Stripe, Twilio, Standard Webhooks), the receiver router and the
//! poll reconciler (DESIGN.md §7).
//!
//! [`signature`] holds the receiving side of each provider's signature scheme as pure functions:
//! no I/O, no clock (the caller passes `now`), no panics on any input.

pub mod signature;
