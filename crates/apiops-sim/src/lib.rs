//! A loopback simulator of Twilio, Stripe and OpenAI for the demo, the tests and the benchmarks.
//! It depends on `apiops-core` only, never on the providers it imitates.
//!
//! Empty until the simulator issue lands; its place in the workspace is fixed now.
