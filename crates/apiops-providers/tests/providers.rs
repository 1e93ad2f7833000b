//! Integration tests of the providers against the in-process simulator and small fake servers
//! on 127.0.0.1:0: one test binary, one module per provider under `tests/providers/`.

#[path = "providers/twilio.rs"]
mod twilio;

#[path = "providers/stripe.rs"]
mod stripe;

#[path = "providers/openai.rs"]
mod openai;

#[path = "providers/recorder.rs"]
mod recorder;

#[path = "providers/common.rs"]
mod common;

#[path = "providers/dictionary.rs"]
mod dictionary;

#[path = "providers/faults.rs"]
mod faults;
