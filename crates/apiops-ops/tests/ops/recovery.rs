//! The operations layer against the in-process simulator: a step the journal left `started`
//! (the process died after the provider acted, before the journal heard back) is resolved by
//! the provider's state, never repeated.

use std::collections::HashMap;

use apiops_core::ActionTaken;
use apiops_ops::exec::{ItemResult, OutcomeStatus};
use apiops_ops::{Executor, Operation, Services, catalog::NumberUrls, prepare};
use apiops_providers::twilio::{Twilio, TwilioConfig};
use apiops_providers::{ClientTuning, ProviderError};
use apiops_sim::{RunningSim, SimConfig, Simulator};
use apiops_store::{SqliteStore, StepStatus, Store};
use jiff::Timestamp;

pub(crate) struct World {
    pub(crate) sim: RunningSim,
    pub(crate) services: Services,
    pub(crate) store: SqliteStore,
    pub(crate) _dir: tempfile::TempDir,
}

/// What a run that died after the provider acted leaves: `plan` journaled at `at`, its first
/// step `started` and never finished.
pub(crate) async fn journal_started(store: &SqliteStore, plan: &apiops_ops::Plan, at: Timestamp) {
    store
        .journal_plan(&plan.key, &serde_json::to_string(plan).expect("json"), at)
        .await
        .expect("journal");
    store
        .journal_step(&plan.key, 0, StepStatus::Started, "{}", &[], at)
        .await
        .expect("journal");
}

pub(crate) async fn world() -> World {
    let sim = Simulator::new(SimConfig::default())
        .expect("config")
        .start()
        .await
        .expect("start");
    let env: HashMap<&str, String> = sim.env_vars().into_iter().collect();
    let twilio = Twilio::new(TwilioConfig {
        api_url: env["APIOPS_TWILIO_API_URL"].parse().expect("url"),
        monitor_url: env["APIOPS_TWILIO_MONITOR_URL"].parse().expect("url"),
        messaging_url: env["APIOPS_TWILIO_MESSAGING_URL"].parse().expect("url"),
        pricing_url: env["APIOPS_TWILIO_PRICING_URL"].parse().expect("url"),
        account_sid: Some(env["TWILIO_ACCOUNT_SID"].clone().into()),
        auth_token: Some(env["TWILIO_AUTH_TOKEN"].clone().into()),
        api_key: None,
        api_secret: None,
        max_concurrency: 10,
        tuning: ClientTuning::default(),
    })
    .expect("twilio");
    let dir = tempfile::tempdir().expect("dir");
    let store = SqliteStore::open(&format!("sqlite://{}/ops.db", dir.path().display()))
        .await
        .expect("store");
    World {
        sim,
        services: Services::new(
            Ok(twilio),
            Err(ProviderError::Config("stripe not configured".into())),
            Err(ProviderError::Config("openai not configured".into())),
            None,
        ),
        store,
        _dir: dir,
    }
}

pub(crate) fn side_effect(w: &World, name: &str) -> u64 {
    w.sim.stats().side_effects.get(name).copied().unwrap_or(0)
}

pub(crate) fn executor(w: &World) -> Executor<'_> {
    Executor {
        services: &w.services,
        store: &w.store,
        now: &Timestamp::now,
        action: ActionTaken::Executed,
    }
}

#[tokio::test]
async fn an_interrupted_send_the_provider_completed_is_not_sent_again() {
    let w = world().await;
    let op = Operation::TwilioSendTestSms {
        to: vec!["+14155550401".into()],
        from: None,
        body: None,
    };
    let prepared = prepare(&op, "test", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("plan");
    let plan = prepared.plan;
    let apiops_ops::StepAction::SendSms { from, to, body } = &plan.steps[0].action else {
        panic!("a send step: {plan:?}");
    };
    // What an interrupted run leaves: the journal says started, the provider has the message.
    let started = Timestamp::now() - jiff::SignedDuration::from_secs(2);
    journal_started(&w.store, &plan, started).await;
    let sent = w
        .services
        .twilio
        .as_ref()
        .expect("twilio")
        .client()
        .send_message(from, to, body)
        .await
        .expect("send");
    assert_eq!(side_effect(&w, "twilio.messages.create"), 1);

    let outcome = executor(&w).execute(&plan).await.expect("execute");
    assert_eq!(outcome.status, OutcomeStatus::NothingToDo, "{outcome:?}");
    match &outcome.items[0].result {
        ItemResult::Done {
            resource_ids,
            unchanged,
            detail,
        } => {
            assert_eq!(resource_ids, &vec![sent.sid.clone()]);
            assert!(*unchanged, "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(side_effect(&w, "twilio.messages.create"), 1, "sent twice");
    let steps = w.store.journal_steps(&plan.key).await.expect("steps");
    assert_eq!(steps[0].status, StepStatus::Done);
}

#[tokio::test]
async fn an_interrupted_purchase_the_provider_completed_is_never_repeated() {
    let w = world().await;
    let op = Operation::TwilioBuyNumber {
        number: None,
        area_code: Some(212),
        country: "US".into(),
        urls: NumberUrls::default(),
    };
    let plan = prepare(&op, "test", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("plan")
        .plan;
    let apiops_ops::StepAction::BuyNumber { number, .. } = &plan.steps[0].action else {
        panic!("a buy step: {plan:?}");
    };
    let now = Timestamp::now();
    journal_started(&w.store, &plan, now).await;
    let client = w.services.twilio.as_ref().expect("twilio").client();
    let bought = client.buy_number(number, &[]).await.expect("buy");
    assert_eq!(side_effect(&w, "twilio.numbers.buy"), 1);

    // The re-run resumes the journaled plan (same exact number), finds it owned.
    let prepared = prepare(&op, "again", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("resume");
    assert!(prepared.resumed.is_some());
    assert_eq!(prepared.plan.steps[0].action, plan.steps[0].action);
    let outcome = executor(&w).execute(&prepared.plan).await.expect("execute");
    assert_eq!(outcome.status, OutcomeStatus::NothingToDo, "{outcome:?}");
    match &outcome.items[0].result {
        ItemResult::Done { resource_ids, .. } => assert_eq!(resource_ids, &vec![bought.sid]),
        other => panic!("{other:?}"),
    }
    assert_eq!(side_effect(&w, "twilio.numbers.buy"), 1, "bought twice");
}

#[tokio::test]
async fn missing_services_are_named_not_panicked_on() {
    let w = world().await;
    let op = Operation::StripeListEndpoints;
    // A read is not planned.
    assert!(
        prepare(&op, "x", &w.services, &w.store, Timestamp::now(), false)
            .await
            .is_err()
    );
    let op = Operation::StripeSetEndpointEnabled {
        endpoint: apiops_ops::catalog::EndpointRef::Id("we_1".into()),
        enabled: false,
    };
    let err = prepare(&op, "x", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect_err("stripe is not configured");
    assert!(err.to_string().contains("stripe not configured"), "{err}");
}
