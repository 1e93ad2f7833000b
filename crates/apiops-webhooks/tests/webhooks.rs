//! The webhooks crate's one integration-test binary: signature vectors from the official SDKs,
//! total parsers, and the receiver end to end (verify, store durably, deduplicate, process).

#[path = "webhooks/apis.rs"]
mod apis;
#[path = "webhooks/limits.rs"]
mod limits;
#[path = "webhooks/parsers_total.rs"]
mod parsers_total;
#[path = "webhooks/receiver.rs"]
mod receiver;
#[path = "webhooks/relay.rs"]
mod relay;
#[path = "webhooks/scheme_vectors.rs"]
mod scheme_vectors;
#[path = "webhooks/vectors.rs"]
mod vectors;
