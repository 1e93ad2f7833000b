//! DESIGN.md §11 against the in-process simulator: the account's state, not the journal, says
//! what is done; one runner per plan however many race; an action's event is stored with its
//! outcome, once.

use apiops_core::EventResult;
use apiops_ops::exec::{ItemResult, OutcomeStatus};
use apiops_ops::{Operation, OpsError, StepAction, catalog::NumberUrls, prepare};
use apiops_store::{EventFilter, SqliteStore, StepStatus, Store};
use jiff::Timestamp;

use crate::recovery::{executor, journal_started, side_effect, world};

fn buy_415() -> Operation {
    Operation::TwilioBuyNumber {
        number: None,
        area_code: Some(415),
        country: "US".into(),
        urls: NumberUrls::default(),
    }
}

fn bought_number(plan: &apiops_ops::Plan) -> String {
    match &plan.steps[0].action {
        StepAction::BuyNumber { number, .. } => number.clone(),
        other => panic!("a buy step: {other:?}"),
    }
}

#[tokio::test]
async fn a_number_released_since_is_bought_again_and_the_plan_says_why() {
    let w = world().await;
    let op = buy_415();
    let first = prepare(&op, "buy", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("plan");
    let number = bought_number(&first.plan);
    let outcome = executor(&w).execute(&first.plan).await.expect("buy");
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{outcome:?}");
    assert_eq!(side_effect(&w, "twilio.numbers.buy"), 1);

    // The same request while the number is still owned: resumed, checked, nothing bought.
    let again = prepare(&op, "buy", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("plan");
    assert!(again.resumed.is_some() && again.replanned.is_none());
    let outcome = executor(&w).execute(&again.plan).await.expect("again");
    assert_eq!(outcome.status, OutcomeStatus::NothingToDo, "{outcome:?}");
    let ItemResult::Done { detail, .. } = &outcome.items[0].result else {
        panic!("{outcome:?}");
    };
    assert!(
        detail.contains("checked now"),
        "read back, not trusted: {detail}"
    );
    assert_eq!(side_effect(&w, "twilio.numbers.buy"), 1);

    // Released outside apiops (the Console, another tool).
    let client = w.services.twilio.as_ref().expect("twilio").client();
    let owned = client
        .find_owned_number(&number)
        .await
        .expect("read")
        .expect("owned");
    client.release_number(&owned.sid).await.expect("release");

    // The journal says done; the account says otherwise: a new plan, and why.
    let replanned = prepare(&op, "buy", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("plan");
    assert!(replanned.resumed.is_none());
    let why = replanned.replanned.clone().expect("replanned");
    assert!(why.contains("no longer on the account"), "{why}");
    assert_ne!(
        replanned.plan.key, first.plan.key,
        "a new run has its own journal"
    );
    assert_eq!(
        replanned.plan.steps[0].planned,
        apiops_ops::plan::Planned::ToDo
    );
    let outcome = executor(&w).execute(&replanned.plan).await.expect("buy");
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{outcome:?}");
    assert_eq!(
        side_effect(&w, "twilio.numbers.buy"),
        2,
        "exactly one new purchase"
    );

    // And that run is now the one the request resumes.
    let latest = prepare(&op, "buy", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("plan");
    assert_eq!(latest.plan.key, replanned.plan.key);
    let outcome = executor(&w).execute(&latest.plan).await.expect("again");
    assert_eq!(outcome.status, OutcomeStatus::NothingToDo, "{outcome:?}");
    assert_eq!(side_effect(&w, "twilio.numbers.buy"), 2);
}

#[tokio::test]
async fn a_done_step_whose_effect_vanished_is_reported_not_repeated_by_the_old_plan() {
    let w = world().await;
    let op = buy_415();
    let plan = prepare(&op, "buy", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("plan")
        .plan;
    executor(&w).execute(&plan).await.expect("buy");
    let client = w.services.twilio.as_ref().expect("twilio").client();
    let owned = client
        .find_owned_number(&bought_number(&plan))
        .await
        .expect("read")
        .expect("owned");
    client.release_number(&owned.sid).await.expect("release");
    // An agent executes the old plan id again: it was confirmed for that purchase, not for a
    // new one, so it reports the change and buys nothing.
    let outcome = executor(&w).execute(&plan).await.expect("execute");
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    let ItemResult::Failed { error, code, .. } = &outcome.items[0].result else {
        panic!("{outcome:?}");
    };
    assert_eq!(code.as_deref(), Some("state_changed"));
    assert!(error.contains("no longer on the account"), "{error}");
    assert_eq!(side_effect(&w, "twilio.numbers.buy"), 1);
}

#[tokio::test]
async fn a_step_planned_as_in_place_never_acts_when_the_account_changed_since() {
    let w = world().await;
    let client = w.services.twilio.as_ref().expect("twilio").client();
    // Plan the release of a number the account does not own: nothing to do.
    let available = client
        .available_numbers("US", Some(212), None, 1)
        .await
        .expect("search");
    let number = available[0].phone_number.clone();
    let op = Operation::TwilioReleaseNumber {
        number: number.clone(),
    };
    let plan = prepare(
        &op,
        "release",
        &w.services,
        &w.store,
        Timestamp::now(),
        false,
    )
    .await
    .expect("plan")
    .plan;
    assert!(plan.to_do().next().is_none(), "{plan:?}");
    // Then somebody buys it. Executing the "nothing to do" plan (no confirmation was needed
    // for it) must not release it.
    client.buy_number(&number, &[]).await.expect("buy");
    let outcome = executor(&w).execute(&plan).await.expect("execute");
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert_eq!(side_effect(&w, "twilio.numbers.release"), 0);
}

#[tokio::test]
async fn fresh_is_a_new_run_that_forgets_nothing() {
    let w = world().await;
    let op = buy_415();
    let first = prepare(&op, "buy", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("plan");
    executor(&w).execute(&first.plan).await.expect("buy");
    let fresh = prepare(&op, "buy", &w.services, &w.store, Timestamp::now(), true)
        .await
        .expect("plan");
    assert!(fresh.resumed.is_none());
    assert!(fresh.plan.key.starts_with(&format!("{}~", first.plan.key)));
    // The first run's journal is intact (a fresh plan cannot reset a run in progress).
    let steps = w.store.journal_steps(&first.plan.key).await.expect("steps");
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].status, StepStatus::Done);
    // Nothing was bought by planning.
    assert_eq!(side_effect(&w, "twilio.numbers.buy"), 1);
}

#[tokio::test]
async fn racing_runners_of_one_plan_send_each_message_once() {
    let w = world().await;
    // A second handle on the same file: another process's view of the journal.
    let path = w._dir.path().join("ops.db");
    let other = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("store");
    let op = Operation::TwilioSendTestSms {
        to: vec![
            "+14155550501".into(),
            "+14155550502".into(),
            "+14155550503".into(),
        ],
        from: None,
        body: Some("race".into()),
    };
    for round in 1..=50u64 {
        let plan = prepare(&op, "race", &w.services, &w.store, Timestamp::now(), true)
            .await
            .expect("plan")
            .plan;
        let mut b = executor(&w);
        b.store = &other;
        let a = executor(&w);
        let c = executor(&w);
        let (ra, rb, rc) = tokio::join!(a.execute(&plan), b.execute(&plan), c.execute(&plan));
        for r in [ra, rb, rc] {
            match r {
                Ok(o) => assert!(
                    matches!(
                        o.status,
                        OutcomeStatus::Succeeded | OutcomeStatus::NothingToDo
                    ),
                    "round {round}: {o:?}"
                ),
                Err(OpsError::Busy { .. }) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(
            side_effect(&w, "twilio.messages.create"),
            3 * round,
            "round {round}: each message once"
        );
        // One success event per message, however many runners.
        let events = w
            .store
            .events(&EventFilter::default())
            .await
            .expect("events");
        let sent = events
            .iter()
            .filter(|e| e.result == EventResult::Success)
            .count();
        assert_eq!(
            sent,
            3 * usize::try_from(round).expect("small"),
            "round {round}"
        );
    }
}

#[tokio::test]
async fn an_interrupted_send_is_recorded_once_when_resolved() {
    let w = world().await;
    let op = Operation::TwilioSendTestSms {
        to: vec!["+14155550601".into()],
        from: None,
        body: Some("interrupted".into()),
    };
    let plan = prepare(&op, "x", &w.services, &w.store, Timestamp::now(), false)
        .await
        .expect("plan")
        .plan;
    let StepAction::SendSms { from, to, body } = &plan.steps[0].action else {
        panic!("{plan:?}");
    };
    // The intent journaled, the provider acted, the process died before the outcome (and so
    // before the event, which is written with it).
    let started = Timestamp::now() - jiff::SignedDuration::from_secs(2);
    journal_started(&w.store, &plan, started).await;
    let client = w.services.twilio.as_ref().expect("twilio").client();
    client.send_message(from, to, body).await.expect("send");
    assert_eq!(w.store.event_count().await.expect("count"), 0);
    for _ in 0..3 {
        executor(&w).execute(&plan).await.expect("resume");
    }
    assert_eq!(side_effect(&w, "twilio.messages.create"), 1, "sent once");
    assert_eq!(
        w.store.event_count().await.expect("count"),
        1,
        "its event once"
    );
}
