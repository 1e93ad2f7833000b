//! The operations crate's one integration-test binary: the intent parser's table of
//! phrasings, and journaled execution against the in-process simulator.

#[path = "ops/intent.rs"]
mod intent;
#[path = "ops/phrases.rs"]
mod phrases;
#[path = "ops/recovery.rs"]
mod recovery;
#[path = "ops/trust.rs"]
mod trust;
