//! Webhook signature schemes (Stripe, Twilio, Standard Webhooks), the receiver router and the
//! poll reconciler (DESIGN.md §7).
//!
//! Empty until the webhooks issue lands; its place in the workspace is fixed now.
