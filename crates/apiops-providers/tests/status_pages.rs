//! The status-page reader against the simulator's Statuspage-style pages on 127.0.0.1:
//! operational, degraded with an ongoing incident, failing (500), and a port nothing listens
//! on. A page that cannot be read is described, never an error.

use apiops_core::Service;
use apiops_providers::status_page::{self, StatusPage};
use apiops_sim::status::StatusMode;
use apiops_sim::{SimConfig, Simulator};
use url::Url;

async fn read(base: &str, service: Service) -> StatusPage {
    let http = status_page::http_client().expect("client");
    status_page::read(&http, service, &Url::parse(base).expect("url")).await
}

#[tokio::test]
async fn pages_read_operational_degraded_failing_and_unreachable() {
    let sim = Simulator::new(SimConfig::default())
        .expect("config")
        .start()
        .await
        .expect("start");
    let base = sim.base_url();

    let page = read(&format!("{base}/status/twilio"), Service::Twilio).await;
    assert_eq!(page.error, None);
    assert_eq!(page.indicator.as_deref(), Some("none"));
    assert_eq!(page.description.as_deref(), Some("All Systems Operational"));
    assert!(!page.is_disrupted());
    // Only the components apiops uses: not Video or Conversations.
    let names: Vec<&str> = page.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["REST API", "Programmable Messaging", "Programmable Voice"]
    );
    assert!(page.incidents.is_empty());

    sim.set_status_mode(StatusMode::Degraded);
    let page = read(&format!("{base}/status/twilio"), Service::Twilio).await;
    assert!(page.is_disrupted());
    assert_eq!(page.indicator.as_deref(), Some("minor"));
    assert_eq!(page.incidents.len(), 1);
    assert_eq!(
        page.incidents[0].name,
        "Delayed SMS delivery to some US carriers"
    );
    let summary = page.summary();
    assert!(
        summary.contains("Programmable Messaging: degraded performance"),
        "{summary}"
    );
    assert!(summary.contains("incident: Delayed SMS"), "{summary}");
    // A document URL works as well as the page's root.
    let page = read(
        &format!("{base}/status/stripe/api/v2/status.json"),
        Service::Stripe,
    )
    .await;
    assert_eq!(page.incidents[0].name, "Delays in webhook deliveries");

    sim.set_status_mode(StatusMode::Failing);
    let page = read(&format!("{base}/status/openai"), Service::Openai).await;
    assert_eq!(page.error.as_deref(), Some("HTTP 500"));
    assert!(!page.is_disrupted());
    assert_eq!(page.summary(), "status page not read (HTTP 500)");

    // Nothing listens there (the simulator's port, once it has stopped).
    let addr = sim.addr;
    sim.stop().await;
    let page = read(&format!("http://{addr}/status/openai"), Service::Openai).await;
    assert!(page.error.is_some(), "{page:?}");
    assert!(page.summary().starts_with("status page not read"));
}
