//! The Overview's usage panel over real HTTP: empty before any usage job ran; with records, a
//! chart of spend per day per service, the figures of the newest readable record, the budget's
//! state, and a failed read's reason with every secret masked.

use serde_json::json;

use super::*;

fn days(n: i64, spend: impl Fn(i64) -> &'static str) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            json!({
                "date": format!("2026-03-{:02}", i + 1),
                "spend": if spend(i) == "0" { json!({}) } else { json!({"USD": spend(i)}) },
            })
        })
        .collect()
}

async fn usage(
    store: &dyn Store,
    service: Service,
    secs_ago: i64,
    status: &str,
    summary: serde_json::Value,
) {
    store
        .record_check(&CheckRecord {
            job: "usage".into(),
            service: Some(service),
            ran_at: ago(secs_ago),
            status: status.into(),
            summary: summary.to_string(),
            instance: "test".into(),
        })
        .await
        .expect("check");
}

/// The `<section id="usage">` of a page.
fn usage_section(html: &str) -> &str {
    let start = html.find("id=\"usage\"").expect("the usage panel");
    let rest = &html[start..];
    &rest[..rest.find("</section>").expect("end")]
}

#[tokio::test]
async fn the_usage_panel_shows_spend_per_day_budgets_and_failed_reads_masked() {
    let a = app(open()).await;
    let c = http();
    let empty = a.page(&c, "/").await;
    let panel = usage_section(&empty);
    assert!(panel.contains("No usage recorded yet"), "{panel}");
    assert!(!panel.contains("<svg"), "{panel}");

    // Twilio: 20 days read, over its budget.
    usage(
        &*a.store,
        Service::Twilio,
        600,
        "ok",
        json!({
            "days": days(20, |i| if i == 19 { "61.25" } else if i % 2 == 0 { "10" } else { "0" }),
            "today": {"USD": "61.25"},
            "trailing_average": {"USD": "5.71"},
            "periods": {"month": {"since": "2026-03-01", "spend": {"USD": "161.25"}}},
            "budget": {"budget": "150 USD/month", "since": "2026-03-01", "spent": "161.25", "ratio": 1.075},
        }),
    )
    .await;
    // Stripe: an older readable record, then a failed read whose reason holds a secret.
    usage(
        &*a.store,
        Service::Stripe,
        7_200,
        "ok",
        json!({
            "days": days(20, |_| "1.5"),
            "today": {"USD": "1.5"},
            "trailing_average": {"USD": "1.50"},
            "periods": {"month": {"since": "2026-03-01", "spend": {"USD": "30"}}},
            "budget": null,
        }),
    )
    .await;
    usage(
        &*a.store,
        Service::Stripe,
        60,
        "failed",
        json!({"missing": format!("balance transactions: HTTP 401 for <b>{CANARY}</b>")}),
    )
    .await;

    let html = a.page(&c, "/").await;
    let panel = usage_section(&html);
    assert!(!panel.contains("No usage recorded yet"), "{panel}");
    assert_eq!(
        panel.matches("data-chart=\"usage\"").count(),
        1,
        "one currency, one chart"
    );
    assert!(panel.contains("Spend per day by service (USD)"), "{panel}");
    assert_eq!(
        panel.matches("class=\"line\"").count(),
        2,
        "a line per service"
    );
    assert_eq!(
        panel.matches("class=\"point\"").count(),
        40,
        "a point per day and service"
    );
    assert!(panel.contains("Twilio 2026-03-20: 61.25 USD"), "{panel}");
    assert!(
        panel.contains("61.25 USD</text>"),
        "the scale tops at the highest day"
    );
    // The figures, and the budget passed.
    assert!(panel.contains("161.25 USD"), "{panel}");
    assert!(
        panel.contains("pill bad\">161.25 of 150 USD/month (108%)"),
        "{panel}"
    );
    // Stripe: the last readable figures, and why the newest read failed, masked and escaped.
    assert!(panel.contains("30.00 USD"), "{panel}");
    assert!(panel.contains("HTTP 401"), "{panel}");
    assert!(!html.contains(CANARY), "a secret reached the page");
    assert!(!panel.contains("<b>"), "{panel}");
    assert!(!panel.contains("OpenAI"), "no record, no row: {panel}");
}
