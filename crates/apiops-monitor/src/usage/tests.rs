//! The usage job's tests: the spend per day read from each provider's rows, the rules as pure
//! functions, and the job run many times over weeks of an injected clock against a scripted
//! source and a real SQLite store — the budget fires once and resolves once, the anomaly rule
//! fires on a spike and never on steady traffic, a failed read changes nothing and shows no
//! secret, and the gauges carry their labels.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use apiops_providers::usage::openai::USAGE_SOURCE;
use apiops_providers::usage::stripe::{BalanceTransaction, Fold};
use apiops_providers::usage::twilio::{UsageRecord, summarize};
use apiops_providers::usage::{Figure, NoFigures, UsageRow};
use apiops_store::{SqliteStore, Store};
use secrecy::SecretString;

use super::*;
use crate::MonitorConfig;
use crate::schedule::JobKind;
use crate::test_support;

fn at(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn date(s: &str) -> Date {
    s.parse().expect("date")
}

fn usd(s: &str) -> Decimal {
    Decimal::parse(s).expect("decimal")
}

/// Spend of a day as seen at some moment: `(day, now) -> USD`.
type Script = dyn Fn(Date, Timestamp) -> Decimal + Send + Sync;

/// A Twilio-shaped source whose spend per day is a function of the day and the clock; or one
/// that fails with a given reason.
struct Scripted {
    spend: Box<Script>,
    fail: Mutex<Option<String>>,
    reads: Mutex<Vec<Span>>,
}

impl Scripted {
    fn new(spend: impl Fn(Date, Timestamp) -> Decimal + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Scripted {
            spend: Box::new(spend),
            fail: Mutex::new(None),
            reads: Mutex::new(Vec::new()),
        })
    }
}

impl UsageSource for Scripted {
    fn daily<'a>(
        &'a self,
        service: Service,
        span: &'a Span,
    ) -> BoxFuture<'a, Option<Vec<ServiceUsage>>> {
        Box::pin(async move {
            self.reads.lock().expect("lock").push(span.clone());
            if let Some(why) = self.fail.lock().expect("lock").clone() {
                return Some(vec![ServiceUsage::unavailable(
                    service,
                    "scripted",
                    UsageBy::Day,
                    NoFigures::Failed(why),
                )]);
            }
            let mut rows = Vec::new();
            let mut d = span.start_date();
            while d <= span.end_date() {
                rows.push(UsageRow {
                    key: d.to_string(),
                    figures: vec![Figure::new("price", (self.spend)(d, span.end), "usd")],
                });
                d = d.tomorrow().expect("tomorrow");
            }
            Some(vec![ServiceUsage {
                service,
                source: "scripted".into(),
                by: UsageBy::Day,
                rows,
                totals: Vec::new(),
                notes: Vec::new(),
                missing: None,
            }])
        })
    }
}

/// The share of `day` gone at `now` (1 for past days): a day's spend accrues evenly.
fn accrued(day: Date, now: Timestamp, full: Decimal) -> Decimal {
    let today = utc_date(now);
    if day < today {
        return full;
    }
    if day > today {
        return Decimal::ZERO;
    }
    let secs = now.as_second() - midnight(today, now).as_second();
    // Whole hours, so amounts stay exact.
    let hours = secs / 3600;
    let mut sum = Decimal::ZERO;
    let per_hour = Decimal::parse(&format!("{}", float(full) / 24.0)).unwrap_or_default();
    for _ in 0..hours {
        sum += per_hour;
    }
    sum
}

struct Harness {
    shared: Shared,
    job: Job,
    store: Arc<dyn Store>,
    now: Arc<Mutex<Timestamp>>,
    _dir: tempfile::TempDir,
}

async fn harness(
    config: MonitorConfig,
    source: Arc<dyn UsageSource>,
    secrets: Vec<SecretString>,
) -> Harness {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&format!("sqlite://{}/s.db", dir.path().display()))
            .await
            .expect("store"),
    );
    let now = Arc::new(Mutex::new(at("2026-01-01T00:00:00Z")));
    let clock_now = Arc::clone(&now);
    let clock: crate::Clock = Arc::new(move || *clock_now.lock().expect("clock"));
    let shared = test_support::shared(&config, Arc::clone(&store), clock, source, secrets);
    Harness {
        shared,
        job: Job {
            kind: JobKind::Usage,
            service: Some(Service::Twilio),
            every: Duration::from_secs(3600),
        },
        store,
        now,
        _dir: dir,
    }
}

impl Harness {
    /// Runs the job at `t`; the changes it caused.
    async fn run_at(&self, t: Timestamp) -> (&'static str, Vec<(AlertChange, String)>) {
        *self.now.lock().expect("clock") = t;
        let slot = self.job.slot(t);
        run_observed(&self.shared, &self.job, Service::Twilio, slot, t)
            .await
            .expect("the job ran")
    }

    /// Runs the job every `step` from `from` until `to`; every change, with when.
    async fn run_every(
        &self,
        from: Timestamp,
        to: Timestamp,
        step: i64,
    ) -> Vec<(Timestamp, AlertChange, String)> {
        let mut out = Vec::new();
        let mut t = from;
        while t < to {
            let (_, changes) = self.run_at(t).await;
            out.extend(changes.into_iter().map(|(c, k)| (t, c, k)));
            t = Timestamp::from_second(t.as_second() + step).expect("t");
        }
        out
    }
}

fn of_key<'a>(
    changes: &'a [(Timestamp, AlertChange, String)],
    key: &str,
) -> Vec<&'a (Timestamp, AlertChange, String)> {
    changes.iter().filter(|(_, _, k)| k == key).collect()
}

fn rules() -> UsageRules {
    UsageRules {
        budgets: BTreeMap::new(),
        anomaly_factor: 3.0,
        anomaly_days: 7,
        anomaly_min_spend: 5.0,
        anomaly_min_spend_by_currency: BTreeMap::new(),
    }
}

/// A yen account: 600 JPY today (about four dollars) against 100 a day is a sixfold spike, and
/// over the one least spend of 5; with JPY's own least spend of 800 it is quiet, 900 fires, and
/// the dollars keep the general 5.
#[test]
fn a_currency_with_its_own_least_spend_is_held_to_it() {
    let today = date("2026-03-10");
    let mut days: DailySpend = BTreeMap::new();
    for back in 1..=7 {
        let day = today
            .checked_sub(jiff::Span::new().days(back))
            .expect("day");
        days.insert(
            day,
            [("JPY".to_owned(), usd("100")), ("USD".to_owned(), usd("1"))]
                .into_iter()
                .collect(),
        );
    }
    let spend = |jpy: &str, dollars: &str| {
        [
            ("JPY".to_owned(), usd(jpy)),
            ("USD".to_owned(), usd(dollars)),
        ]
        .into_iter()
        .collect::<BTreeMap<_, _>>()
    };
    let firing = |r: &UsageRules, days: &DailySpend| {
        anomaly_evals(Service::Stripe, r, days, today, &[])
            .into_iter()
            .filter(|e| e.firing)
            .map(|e| e.key)
            .collect::<Vec<_>>()
    };
    days.insert(today, spend("600", "4"));
    assert_eq!(firing(&rules(), &days), ["usage_anomaly:stripe:JPY"]);

    let yen = UsageRules {
        anomaly_min_spend_by_currency: [("JPY".to_owned(), 800.0)].into_iter().collect(),
        ..rules()
    };
    assert!(firing(&yen, &days).is_empty(), "600 JPY is under 800");
    days.insert(today, spend("900", "6"));
    assert_eq!(
        firing(&yen, &days),
        ["usage_anomaly:stripe:JPY", "usage_anomaly:stripe:USD"]
    );
    let e = anomaly_evals(Service::Stripe, &yen, &days, today, &[]);
    let jpy = e.iter().find(|e| e.key.ends_with("JPY")).expect("JPY");
    assert!(jpy.message.contains("at least 800 JPY"), "{}", jpy.message);
    // Stripe reports lower-case codes; the table's capitals still apply.
    days.insert(
        today,
        [("jpy".to_owned(), usd("600"))].into_iter().collect(),
    );
    assert_eq!(yen.min_spend("jpy"), 800.0);
    assert!(firing(&yen, &days).is_empty());
}

#[test]
fn one_read_covers_the_month_the_week_and_the_trailing_days() {
    // Thursday the 19th: the month began 18 days ago, the window 29.
    let s = fetch_span(at("2026-03-19T15:30:00Z"), &rules());
    assert_eq!(s.start_date(), date("2026-02-18"));
    assert_eq!(s.end, at("2026-03-19T15:30:00Z"));
    // The 31st: the month began 30 days ago, earlier than the window.
    let s = fetch_span(at("2026-03-31T23:00:00Z"), &rules());
    assert_eq!(s.start_date(), date("2026-03-01"));
    // A long anomaly window reaches further back.
    let long = UsageRules {
        anomaly_days: 60,
        ..rules()
    };
    let s = fetch_span(at("2026-03-19T15:30:00Z"), &long);
    assert_eq!(s.start_date(), date("2026-01-18"));
    assert!(s.label.contains("2026-01-18 to 2026-03-19"), "{}", s.label);
}

#[test]
fn spend_per_day_comes_from_each_providers_money_figure() {
    let span = fetch_span(at("2026-03-03T12:00:00Z"), &rules());
    // Twilio: the day's totalprice, from Usage Records as the API sends them.
    let records: Vec<UsageRecord> = serde_json::from_value(json!([
        {"category": "sms", "price": 1.25, "price_unit": "usd", "start_date": "2026-03-02", "count": "10"},
        {"category": "totalprice", "price": 2.5, "price_unit": "usd", "start_date": "2026-03-02"},
        {"category": "calls", "price": "0.75", "price_unit": "usd", "start_date": "2026-03-03"},
    ]))
    .expect("records");
    let tw = summarize(&records, &span, UsageBy::Day);
    let days = daily_spend(Service::Twilio, &[tw], &span).expect("days");
    assert_eq!(days[&date("2026-03-02")]["USD"], usd("2.5"));
    assert_eq!(days[&date("2026-03-03")]["USD"], usd("0.75"));
    assert!(
        days[&date("2026-03-01")].is_empty(),
        "a day without usage is zero"
    );
    assert_eq!(days.len(), 30, "every day of the span is present");
    assert_eq!(spend_since(&days, date("2026-03-01"), "USD"), usd("3.25"));

    // Stripe: the fees, not the volume, per currency.
    let mut fold = Fold::default();
    for (amount, fee, cur, day) in [
        (10_000, 320, "usd", 1_772_409_600), // 2026-03-02
        (-2_000, 0, "usd", 1_772_409_700),
        (5_000, 175, "eur", 1_772_496_000), // 2026-03-03
    ] {
        let t: BalanceTransaction = serde_json::from_value(json!({
            "id": "txn_1", "amount": amount, "fee": fee, "net": amount - fee,
            "currency": cur, "type": "charge", "created": day,
        }))
        .expect("txn");
        fold.push(&t, UsageBy::Day);
    }
    let st = fold.finish(&span, UsageBy::Day);
    let days = daily_spend(Service::Stripe, &[st], &span).expect("days");
    assert_eq!(days[&date("2026-03-02")]["USD"], usd("3.2"));
    assert_eq!(days[&date("2026-03-03")]["EUR"], usd("1.75"));

    // OpenAI: the costs; tokens carry no money, and a missing costs read is unknown spend.
    let costs = ServiceUsage {
        service: Service::Openai,
        source: COSTS_SOURCE.into(),
        by: UsageBy::Day,
        rows: vec![UsageRow {
            key: "2026-03-03".into(),
            figures: vec![Figure::new("cost", usd("0.42"), "usd")],
        }],
        totals: Vec::new(),
        notes: Vec::new(),
        missing: None,
    };
    let tokens = ServiceUsage {
        source: USAGE_SOURCE.into(),
        rows: vec![UsageRow {
            key: "2026-03-03".into(),
            figures: vec![Figure::new("cost", usd("999"), "usd")],
        }],
        ..costs.clone()
    };
    let days = daily_spend(Service::Openai, &[tokens.clone(), costs.clone()], &span).expect("days");
    assert_eq!(days[&date("2026-03-03")]["USD"], usd("0.42"));
    let refused = ServiceUsage::unavailable(
        Service::Openai,
        COSTS_SOURCE,
        UsageBy::Day,
        NoFigures::Failed("/organization/costs: HTTP 403".into()),
    );
    let err = daily_spend(Service::Openai, &[tokens, refused], &span).expect_err("unknown");
    assert!(err.contains("403"), "{err}");
}

#[test]
fn the_rules_judge_the_current_period_and_the_trailing_average() {
    let span = fetch_span(at("2026-03-10T12:00:00Z"), &rules());
    let mut days: DailySpend = BTreeMap::new();
    let mut d = span.start_date();
    while d <= span.end_date() {
        days.insert(d, [("USD".to_owned(), usd("10"))].into_iter().collect());
        d = d.tomorrow().expect("d");
    }
    let today = date("2026-03-10");
    let budget = Budget::parse("100 USD/month").expect("budget");
    // 10 days of March at 10: exactly the budget is not over it.
    let e = budget_eval(Service::Twilio, &budget, &days, today);
    assert!(!e.firing, "{}", e.message);
    assert_eq!(e.key, "budget:twilio");
    days.insert(
        today,
        [("USD".to_owned(), usd("10.01"))].into_iter().collect(),
    );
    let e = budget_eval(Service::Twilio, &budget, &days, today);
    assert!(e.firing, "{}", e.message);
    assert!(
        e.message
            .contains("spent 100.01 USD this month (since 2026-03-01)")
            && e.message.contains("budget of 100 USD/month"),
        "{}",
        e.message
    );
    // Another currency's spend never counts against a USD budget.
    let eur = Budget::parse("50 EUR/week").expect("budget");
    assert!(!budget_eval(Service::Twilio, &eur, &days, today).firing);

    // 10.01 today against an average of 10: steady.
    let r = rules();
    let e = anomaly_evals(Service::Twilio, &r, &days, today, &[]);
    assert_eq!(e.len(), 1);
    assert!(!e[0].firing, "{}", e[0].message);
    days.insert(
        today,
        [("USD".to_owned(), usd("30.01"))].into_iter().collect(),
    );
    let e = anomaly_evals(Service::Twilio, &r, &days, today, &[]);
    assert!(e[0].firing, "{}", e[0].message);
    assert_eq!(e[0].key, "usage_anomaly:twilio:USD");
    // Exactly 3× is not more than 3×.
    days.insert(today, [("USD".to_owned(), usd("30"))].into_iter().collect());
    assert!(!anomaly_evals(Service::Twilio, &r, &days, today, &[])[0].firing);
    // Off, and a currency no longer spent in resolves.
    let off = UsageRules {
        anomaly_factor: 0.0,
        ..rules()
    };
    assert!(anomaly_evals(Service::Twilio, &off, &days, today, &[]).is_empty());
    let e = anomaly_evals(
        Service::Twilio,
        &r,
        &days,
        today,
        &[
            "usage_anomaly:twilio:EUR".into(),
            "usage_anomaly:stripe:GBP".into(),
        ],
    );
    let eur = e.iter().find(|e| e.key == "usage_anomaly:twilio:EUR");
    assert_eq!(eur.map(|e| e.firing), Some(false));
    assert!(
        !e.iter().any(|e| e.key.contains("GBP")),
        "another service's key"
    );
}

/// $10 a day against "200 USD/month", the job every 6 hours from March 1 to April 5: the budget alert fires once (when March passes 200) and resolves once (April 1),
/// and nothing else changes.
#[tokio::test]
async fn a_budget_fires_exactly_once_and_resolves_exactly_once_over_many_runs() {
    let mut config = test_support::config();
    config
        .budgets
        .insert(Service::Twilio, Budget::parse("200 USD/month").expect("b"));
    config.usage_anomaly_factor = 0.0;
    let source = Scripted::new(|d, now| accrued(d, now, usd("10")));
    let h = harness(config, source.clone(), Vec::new()).await;
    let changes = h
        .run_every(
            at("2026-03-01T00:00:00Z"),
            at("2026-04-05T00:00:00Z"),
            6 * 3600,
        )
        .await;
    let budget = of_key(&changes, "budget:twilio");
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(budget.len(), 2, "{changes:?}");
    let (fired_at, fired, _) = budget[0];
    assert_eq!(*fired, AlertChange::Fired);
    // March 1–20 is 200 (not over); the 21st's first accrued hours pass it.
    assert_eq!(utc_date(*fired_at), date("2026-03-21"), "{fired_at}");
    let (resolved_at, resolved, _) = budget[1];
    assert_eq!(*resolved, AlertChange::Resolved);
    assert_eq!(*resolved_at, at("2026-04-01T00:00:00Z"));
    let stored = h.store.alerts(false, 10).await.expect("alerts");
    let b = stored
        .iter()
        .find(|a| a.key == "budget:twilio")
        .expect("stored");
    assert!(
        !b.firing && b.message.contains("within its budget"),
        "{}",
        b.message
    );
    // Every run was recorded, with the budget and the days in its summary.
    let checks = h
        .store
        .checks(Some("usage"), at("2026-01-01T00:00:00Z"), 1_000)
        .await
        .expect("checks");
    assert_eq!(checks.len(), 35 * 4);
    let last: Value = serde_json::from_str(&checks[0].summary).expect("json");
    assert_eq!(last["budget"]["budget"], "200 USD/month");
    assert_eq!(last["budget"]["since"], "2026-04-01");
    assert_eq!(last["periods"]["month"]["since"], "2026-04-01");
    assert_eq!(last["days"].as_array().map(Vec::len), Some(30));
    assert_eq!(last["days"][0]["spend"]["USD"], "10");
    // Each run read its span once.
    assert_eq!(source.reads.lock().expect("reads").len(), 35 * 4);
}

/// Deterministic noise: `seed`'s day spends 8 to 12.
fn steady(d: Date) -> Decimal {
    let n = (d.day() as i64 * 7 + d.month() as i64 * 13) % 5;
    Decimal::from_int(8 + n)
}

/// Two months of steady, noisy traffic never fire; a runaway day fires once within hours and
/// resolves the next day; a spike of cents (under the minimum) never fires.
#[tokio::test]
async fn the_anomaly_rule_fires_on_a_spike_and_never_on_steady_traffic() {
    let config = test_support::config();
    let spike_day = date("2026-03-12");
    let source = Scripted::new(move |d, now| {
        let full = steady(d);
        if d == spike_day {
            // A loop that spends 10 an hour from 06:00 on.
            let today = utc_date(now);
            let hours = if d < today {
                24
            } else {
                (now.as_second() - midnight(d, now).as_second()) / 3600
            };
            return accrued(d, now, full) + Decimal::from_int(10 * (hours - 6).clamp(0, 18));
        }
        accrued(d, now, full)
    });
    let h = harness(config, source, Vec::new()).await;
    let quiet = h
        .run_every(
            at("2026-01-10T00:00:00Z"),
            at("2026-03-12T00:00:00Z"),
            3 * 3600,
        )
        .await;
    assert!(quiet.is_empty(), "steady traffic alerted: {quiet:?}");
    let spike = h
        .run_every(at("2026-03-12T00:00:00Z"), at("2026-03-14T00:00:00Z"), 3600)
        .await;
    let key = of_key(&spike, "usage_anomaly:twilio:USD");
    assert_eq!(spike.len(), 2, "{spike:?}");
    assert_eq!(key[0].1, AlertChange::Fired);
    // The average is ~10: by 09:00 the loop has spent 30 more, and today passes 3×.
    assert_eq!(key[0].0, at("2026-03-12T09:00:00Z"), "{spike:?}");
    assert_eq!(key[1].1, AlertChange::Resolved);
    assert_eq!(key[1].0, at("2026-03-13T00:00:00Z"));
    let stored = h.store.alerts(false, 10).await.expect("alerts");
    assert!(stored.iter().all(|a| !a.firing), "{stored:?}");

    // Cents: a hundredfold spike of tiny amounts stays under the minimum.
    let tiny = Scripted::new(|d, now| {
        if d == utc_date(now) {
            usd("1")
        } else {
            usd("0.01")
        }
    });
    let h = harness(test_support::config(), tiny, Vec::new()).await;
    let changes = h
        .run_every(at("2026-03-01T00:00:00Z"), at("2026-03-05T00:00:00Z"), 3600)
        .await;
    assert!(changes.is_empty(), "{changes:?}");
}

/// A read that fails records `failed`, makes no observation (a firing budget stays firing), and
/// what the provider said is recorded with every configured secret masked.
#[tokio::test]
async fn a_failed_read_changes_no_alert_and_shows_no_secret() {
    const CANARY: &str = "sk_live_canary_usage_0123456789";
    let mut config = test_support::config();
    config
        .budgets
        .insert(Service::Twilio, Budget::parse("5 USD/day").expect("b"));
    let source = Scripted::new(|d, now| accrued(d, now, usd("48")));
    let h = harness(
        config,
        source.clone(),
        vec![SecretString::from(CANARY.to_owned())],
    )
    .await;
    let (status, changes) = h.run_at(at("2026-03-02T12:00:00Z")).await;
    assert_eq!(status, "ok");
    assert_eq!(
        changes,
        vec![(AlertChange::Fired, "budget:twilio".to_owned())]
    );
    *source.fail.lock().expect("lock") = Some(format!("HTTP 401 for key {CANARY}"));
    // The next day: the spend would be under budget, but it cannot be read.
    let (status, changes) = h.run_at(at("2026-03-03T00:00:00Z")).await;
    assert_eq!(status, "failed");
    assert!(changes.is_empty(), "{changes:?}");
    let firing = h.store.alerts(true, 10).await.expect("alerts");
    assert_eq!(firing.len(), 1);
    let checks = h
        .store
        .checks(Some("usage"), at("2026-01-01T00:00:00Z"), 10)
        .await
        .expect("checks");
    let failed = &checks[0];
    assert_eq!(failed.status, "failed");
    assert!(failed.summary.contains("HTTP 401"), "{}", failed.summary);
    assert!(!failed.summary.contains(CANARY), "{}", failed.summary);
    assert!(!firing[0].message.contains(CANARY));
}

#[test]
fn the_gauges_carry_service_currency_and_period() {
    use metrics_exporter_prometheus::PrometheusBuilder;
    let mut r = rules();
    r.budgets
        .insert(Service::Stripe, Budget::parse("100 USD/week").expect("b"));
    let now = at("2026-03-19T12:00:00Z");
    let span = fetch_span(now, &r);
    let mut days: DailySpend = BTreeMap::new();
    let mut d = span.start_date();
    while d <= span.end_date() {
        days.insert(d, [("USD".to_owned(), usd("2.5"))].into_iter().collect());
        d = d.tomorrow().expect("d");
    }
    let f = figures(Service::Stripe, &r, &days, now);
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || publish(Service::Stripe, &f));
    let text = handle.render();
    for line in [
        r#"apiops_usage_spend{service="stripe",currency="USD",period="day"} 2.5"#,
        // Monday the 16th to Thursday the 19th.
        r#"apiops_usage_spend{service="stripe",currency="USD",period="week"} 10"#,
        r#"apiops_usage_spend{service="stripe",currency="USD",period="month"} 47.5"#,
        r#"apiops_usage_daily_average{service="stripe",currency="USD"} 2.5"#,
        r#"apiops_usage_budget_ratio{service="stripe",currency="USD",period="week"} 0.1"#,
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
}

#[test]
fn the_rules_read_the_configuration() {
    let mut config = test_support::config();
    config.usage_anomaly_days = NonZeroU32::new(14).expect("n");
    config
        .budgets
        .insert(Service::Openai, Budget::parse("50 USD/day").expect("b"));
    let rules = crate::alerts::Rules::from_config(&config).usage;
    assert_eq!(rules.anomaly_days, 14);
    assert_eq!(rules.anomaly_factor, 3.0);
    assert_eq!(rules.budgets[&Service::Openai].to_string(), "50 USD/day");
    config
        .usage_anomaly_min_spend_by_currency
        .insert("KRW".into(), 7000.0);
    let rules = crate::alerts::Rules::from_config(&config).usage;
    assert_eq!(
        (rules.min_spend("KRW"), rules.min_spend("USD")),
        (7000.0, 5.0)
    );
    let jobs = crate::plan_jobs(
        &MonitorConfig {
            usage_every: Duration::from_secs(3600),
            ..config
        },
        &[Service::Twilio, Service::Openai],
        false,
    );
    let names: Vec<String> = jobs.iter().map(Job::claim_name).collect();
    assert_eq!(names, ["usage:twilio", "usage:openai"]);
}

/// OpenAI's spend needs its admin key: without one its usage job is not scheduled (it could
/// only fail, every hour); with one it is.
#[tokio::test]
async fn openai_gets_a_usage_job_only_with_its_admin_key() {
    use apiops_providers::ClientTuning;
    use apiops_providers::openai::{OpenAi, OpenAiConfig};
    use tokio_util::sync::CancellationToken;

    fn missing<T>(service: Service) -> Result<T, apiops_providers::ProviderError> {
        Err(apiops_providers::ProviderError::MissingCredentials {
            service,
            variables: Vec::new(),
        })
    }
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&format!("sqlite://{}/s.db", dir.path().display()))
            .await
            .expect("store"),
    );
    for admin in [None, Some("sk-admin-test-0123456789abcdef")] {
        let mut oc = OpenAiConfig::official(Some(SecretString::from(
            "sk-test-0123456789abcdef".to_owned(),
        )))
        .expect("config");
        // Nothing listens there: a run fails at once, and none is awaited.
        oc.base_url = url::Url::parse("http://127.0.0.1:9/v1").expect("url");
        oc.admin_key = admin.map(|k| SecretString::from(k.to_owned()));
        oc.tuning = ClientTuning {
            max_attempts: 1,
            ..ClientTuning::default()
        };
        let stop = CancellationToken::new();
        let started = crate::start(crate::Start {
            config: MonitorConfig {
                usage_every: Duration::from_secs(3600),
                ..test_support::config()
            },
            policy: apiops_ops::Policy::new([]).0,
            redactor: apiops_client::redact::Redactor::new(Vec::new()),
            twilio: missing(Service::Twilio),
            stripe: missing(Service::Stripe),
            openai: OpenAi::new(oc),
            apis: Vec::new(),
            services: apiops_ops::Services::new(
                missing(Service::Twilio),
                missing(Service::Stripe),
                missing(Service::Openai),
                None,
            ),
            store: Arc::clone(&store),
            receiver: None,
            public_url: None,
            instance: Some("test".into()),
            clock: Arc::new(|| at("2026-03-02T12:00:00Z")),
            stop: stop.clone(),
        })
        .expect("start");
        match (admin, started) {
            (None, None) => {}
            (Some(_), Some(m)) => {
                assert!(m.description.contains("openai"), "{}", m.description);
                assert!(
                    m.description.contains("usage every 1h"),
                    "{}",
                    m.description
                );
                stop.cancel();
                m.join().await;
            }
            (admin, m) => panic!("admin key {admin:?}: {m:?}"),
        }
    }
}
