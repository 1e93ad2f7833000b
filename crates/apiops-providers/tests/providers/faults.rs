//! Scans that stay complete while the provider misbehaves (issue 17): the same error scan
//! against a simulator injecting 10 % faults (500s, 503s, hangs, resets, truncated bodies) and
//! against its fault-free twin (same seed, same data) finds the same groups with the same counts
//! and fails nowhere. No timing is asserted: the speed targets live in `benches/faults.rs`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use apiops_core::ErrorEvent;
use apiops_providers::ProviderError;
use apiops_providers::stripe::Stripe;
use apiops_providers::twilio::Twilio;
use apiops_providers::twilio::client::Host;
use apiops_sim::{RunningSim, SimConfig};

use crate::common::{scan, seven_days, sim_config, start, stripe_config, tuning, twilio_config};

/// `code/resource type` -> events, and the events' resources: what the report's groups are
/// made of, plus which records they came from.
fn groups(items: Vec<Result<ErrorEvent, ProviderError>>) -> (BTreeMap<String, u64>, Vec<String>) {
    let mut groups = BTreeMap::new();
    let mut resources = Vec::new();
    for item in items {
        let event = match item {
            Ok(e) => e,
            Err(e) => panic!("the scan failed under faults: {e}"),
        };
        *groups
            .entry(format!("{}/{}", event.error_code, event.resource_type))
            .or_insert(0) += 1;
        resources.push(format!("{}:{}", event.resource_id, event.error_code));
    }
    resources.sort();
    (groups, resources)
}

fn twilio(running: &RunningSim) -> Twilio {
    Twilio::new(twilio_config(running, 16, tuning())).expect("twilio")
}

fn stripe(running: &RunningSim) -> Stripe {
    let mut c = stripe_config(running, tuning());
    c.requests_per_second = 25;
    Stripe::new(c).expect("stripe")
}

fn faulty(seed: u64, messages: usize) -> SimConfig {
    SimConfig {
        fault_rate: 0.1,
        ..sim_config(seed, messages)
    }
}

fn faults_injected(running: &RunningSim) -> u64 {
    running.sim.state().stats.snapshot().faults.values().sum()
}

#[tokio::test]
async fn a_twilio_scan_under_10_percent_faults_finds_the_fault_free_groups() {
    let clean = start(sim_config(71, 6_000)).await;
    let (want, want_resources) = groups(scan(&twilio(&clean), seven_days()).await.0);
    clean.stop().await;
    assert!(want.len() > 3, "the simulator plants failures: {want:?}");

    let running = start(faulty(71, 6_000)).await;
    let t = twilio(&running);
    let (got, got_resources) = groups(scan(&t, seven_days()).await.0);
    assert!(faults_injected(&running) > 0, "faults were injected");
    running.stop().await;
    assert_eq!(got, want);
    assert_eq!(got_resources, want_resources);
}

#[tokio::test]
async fn a_stripe_scan_under_10_percent_faults_finds_the_fault_free_groups() {
    let clean = start(sim_config(72, 10)).await;
    let (want, want_resources) = groups(scan(&stripe(&clean), seven_days()).await.0);
    clean.stop().await;
    assert!(!want.is_empty(), "the simulator plants failures");

    let running = start(faulty(72, 10)).await;
    let s = stripe(&running);
    let (got, got_resources) = groups(scan(&s, seven_days()).await.0);
    running.stop().await;
    assert_eq!(got, want);
    assert_eq!(got_resources, want_resources);
}

#[tokio::test]
async fn hedges_stay_rare_without_faults() {
    let clean = start(sim_config(73, 6_000)).await;
    let t = twilio(&clean);
    let _ = groups(scan(&t, seven_days()).await.0);
    let served: u64 = clean.sim.state().stats.snapshot().requests.values().sum();
    clean.stop().await;
    // Every hedge is a request the simulator served; the share cap bounds them.
    let hedges: u64 = [Host::Api, Host::Monitor]
        .iter()
        .map(|h| t.client().host(*h).stats().hedges.load(Ordering::Relaxed))
        .sum();
    assert!(
        (hedges as f64) < 0.05 * served as f64 + 4.0,
        "{hedges} hedges for {served} requests"
    );
}
