//! The account's fixed objects: the `account` and `balance` objects and the webhook endpoints,
//! with the misconfigurations an audit should find (one disabled, one subscribed to `*`, one
//! pinned to an old API version, one on plain HTTP, one on a private address).

use serde_json::{Value, json};

use std::collections::BTreeMap;

use super::DAY;
use crate::rng;
use crate::stripe::webhook_endpoints::Endpoint;
/// `GET /v1/account` for the seed.
pub(crate) fn account(seed: u64, anchor: i64) -> Value {
    let mut r = rng::for_purpose(seed, "stripe.account");
    let id = format!("acct_1{}", &rng::stripe_id("x", &mut r)[2..17]);
    let created = anchor - 700 * DAY - r.i64(0..100 * DAY);
    json!({
        "business_profile": {
            "mcc": "5734",
            "name": "Example Shop",
            "product_description": "Software subscriptions and add-ons",
            "support_email": "support@example.com",
            "support_phone": "+14155550123",
            "support_url": "https://example.com/support",
            "url": "https://example.com"
        },
        "business_type": "company",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": true,
        "controller": {"type": "account"},
        "country": "US",
        "created": created,
        "default_currency": "usd",
        "details_submitted": true,
        "email": "ops@example.com",
        "external_accounts": {
            "data": [],
            "has_more": false,
            "object": "list",
            "url": format!("/v1/accounts/{id}/external_accounts")
        },
        "future_requirements": requirements(),
        "id": id,
        "metadata": {},
        "object": "account",
        "payouts_enabled": true,
        "requirements": requirements(),
        "settings": {
            "bacs_debit_payments": {},
            "branding": {"primary_color": null, "secondary_color": null},
            "card_issuing": {"tos_acceptance": {"date": null, "ip": null}},
            "card_payments": {
                "decline_on": {"avs_failure": false, "cvc_failure": true},
                "statement_descriptor_prefix": "EXSHOP",
                "statement_descriptor_prefix_kana": null,
                "statement_descriptor_prefix_kanji": null
            },
            "dashboard": {"display_name": "Example Shop", "timezone": "America/Los_Angeles"},
            "payments": {
                "statement_descriptor": "EXAMPLE SHOP",
                "statement_descriptor_kana": null,
                "statement_descriptor_kanji": null
            },
            "payouts": {
                "debit_negative_balances": true,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": null
            },
            "sepa_debit_payments": {}
        },
        "tos_acceptance": {"date": created + 3_600, "ip": "203.0.113.7", "user_agent": null},
        "type": "standard"
    })
}

fn requirements() -> Value {
    json!({
        "alternatives": [],
        "current_deadline": null,
        "currently_due": [],
        "disabled_reason": null,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": []
    })
}

/// `GET /v1/balance` for the seed.
pub(crate) fn balance(seed: u64) -> Value {
    let mut r = rng::for_purpose(seed, "stripe.balance");
    let available = r.i64(200_000..5_000_000);
    let pending = r.i64(10_000..900_000);
    json!({
        "available": [{"amount": available, "currency": "usd", "source_types": {"card": available}}],
        "connect_reserved": [{"amount": 0, "currency": "usd"}],
        "livemode": false,
        "object": "balance",
        "pending": [{"amount": pending, "currency": "usd", "source_types": {"card": pending}}]
    })
}

/// One generated webhook endpoint, and the problem it carries (if any).
struct EndpointSeed {
    age_days: i64,
    url: &'static str,
    events: &'static [&'static str],
    api_version: Option<&'static str>,
    disabled: bool,
    description: &'static str,
    team: &'static str,
}

const ENDPOINTS: &[EndpointSeed] = &[
    // Pinned to an API version older than the account's.
    EndpointSeed {
        age_days: 910,
        url: "https://legacy.example.com/hooks/stripe",
        events: &["charge.succeeded", "customer.created", "invoice.paid"],
        api_version: Some("2020-08-27"),
        disabled: false,
        description: "Legacy CRM sync",
        team: "crm",
    },
    // Disabled: its events go nowhere.
    EndpointSeed {
        age_days: 520,
        url: "https://old-analytics.example.com/stripe",
        events: &["charge.refunded", "charge.succeeded"],
        api_version: None,
        disabled: true,
        description: "Analytics export (disabled after repeated delivery failures)",
        team: "data",
    },
    // Healthy.
    EndpointSeed {
        age_days: 410,
        url: "https://api.example.com/webhooks/stripe",
        events: &[
            "charge.dispute.created",
            "charge.failed",
            "charge.succeeded",
            "invoice.payment_failed",
            "payment_intent.payment_failed",
            "payment_intent.succeeded",
            "payout.failed",
        ],
        api_version: None,
        disabled: false,
        description: "Payments service",
        team: "payments",
    },
    // Subscribed to every event.
    EndpointSeed {
        age_days: 300,
        url: "https://billing.example.com/stripe/events",
        events: &["*"],
        api_version: None,
        disabled: false,
        description: "Billing (all events)",
        team: "billing",
    },
    // Plain HTTP.
    EndpointSeed {
        age_days: 200,
        url: "http://shop.example.com/stripe-webhook",
        events: &["checkout.session.completed", "payment_intent.succeeded"],
        api_version: None,
        disabled: false,
        description: "Storefront",
        team: "web",
    },
    // A private address Stripe cannot reach.
    EndpointSeed {
        age_days: 120,
        url: "https://10.20.0.15/stripe/webhook",
        events: &["payout.failed", "payout.paid"],
        api_version: None,
        disabled: false,
        description: "Internal payouts worker",
        team: "finance",
    },
];

/// The webhook endpoints for the seed, oldest first.
pub(crate) fn webhook_endpoints(seed: u64, anchor: i64) -> Vec<Endpoint> {
    let mut r = rng::for_purpose(seed, "stripe.webhook_endpoints");
    ENDPOINTS
        .iter()
        .map(|e| Endpoint {
            id: rng::stripe_id("we", &mut r),
            created: anchor - e.age_days * DAY - r.i64(0..DAY),
            url: e.url.to_owned(),
            enabled_events: e.events.iter().map(|ev| (*ev).to_owned()).collect(),
            disabled: e.disabled,
            api_version: e.api_version.map(str::to_owned),
            description: Some(e.description.to_owned()),
            metadata: BTreeMap::from([("team".to_owned(), e.team.to_owned())]),
        })
        .collect()
}
