//! Configured APIs (`[apis.NAME]`, GraphQL endpoints included) in the monitor: each gets the
//! health job, run through an [`ApiCheck`]: [`OpenApiCheck`] over an `apiops_openapi::Api` the
//! binary builds (this crate does not load documents; a GraphQL endpoint's health is its
//! `query { __typename }`). The result is recorded as the three services' are — a `health` check record
//! (`service` = the API's name), `apiops_service_up` and `apiops_rate_limit_headroom_ratio`
//! with that `service` label, the `service_down` / `service_degraded` / `rate_limit_headroom`
//! rules — and a failure seen after sending is appended to the event log, so that
//! `apiops errors NAME` shows it.
//!
//! Each also gets the error job (`errors`): an API has no error log to fetch, so the job reads
//! the failures apiops itself logged calling it (`apiops call`, MCP, the health job) in the slot
//! before this one, records an `errors` check with the built-in services' summary, and holds
//! the counts per category against the same `error_thresholds`.

use std::collections::BTreeMap;

use apiops_client::version::DeprecationNotice;
use apiops_core::{ApiName, Category, ErrorEvent, Health, HealthStatus, Service};
use apiops_openapi::Api;
use apiops_store::EventFilter;
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::json;

use crate::Shared;
use crate::alerts;
use crate::jobs::{evaluate, record};
use crate::schedule::{Job, slot_start};

/// What one health check of a configured API found.
#[derive(Debug, Clone)]
pub struct ApiChecked {
    /// The verdict in the built-in services' shape: `details` holds
    /// `rate_limit_headroom = "12.5% left"` when the API sent rate-limit headers.
    pub health: Health,
    /// The failure as the event log keeps it, when the check failed after sending.
    pub event: Option<ErrorEvent>,
    /// The `Deprecation`/`Sunset` notices its client has seen.
    pub deprecations: Vec<DeprecationNotice>,
}

/// A configured API the monitor can check.
pub trait ApiCheck: Send + Sync {
    /// Calls the API's health operation once.
    fn health(&self) -> BoxFuture<'_, ApiChecked>;
}

/// A configured API checked by calling its health operation, as `apiops health NAME` does.
#[derive(Debug)]
pub struct OpenApiCheck {
    service: Service,
    api: Api,
}

impl OpenApiCheck {
    /// The check of `api`, configured as `name`.
    pub fn new(name: ApiName, api: Api) -> OpenApiCheck {
        OpenApiCheck {
            service: Service::Api(name),
            api,
        }
    }
}

impl ApiCheck for OpenApiCheck {
    fn health(&self) -> BoxFuture<'_, ApiChecked> {
        Box::pin(async move {
            match self.api.health().await {
                // The verdict first: its category comes from the event.
                Ok(mut h) => ApiChecked {
                    health: h.verdict(self.service),
                    event: h.event.take(),
                    deprecations: self.api.client().deprecations(),
                },
                // Before sending: the health operation cannot be called as configured.
                Err(e) => ApiChecked {
                    health: Health {
                        service: self.service,
                        status: HealthStatus::Down,
                        latency_ms: None,
                        details: BTreeMap::new(),
                        warnings: Vec::new(),
                        reason: Some(e.to_string()),
                        category: Some(e.category()),
                    },
                    event: None,
                    deprecations: Vec::new(),
                },
            }
        })
    }
}

/// The error job of the configured API `service` for `slot`: its logged failures in the slot
/// before (so consecutive runs count each failure once), by category and code, recorded and
/// held against the error thresholds. `None` for a service that is not a configured API.
pub(crate) async fn errors(
    shared: &Shared,
    job: &Job,
    service: Service,
    slot: i64,
    started: Timestamp,
) -> Option<&'static str> {
    if !matches!(service, Service::Api(_)) {
        return None;
    }
    let (since, until) = (slot_start(slot - 1, job.every), slot_start(slot, job.every));
    let filter = EventFilter {
        since: Some(since),
        services: vec![service],
        limit: None,
    };
    let (events, failures) = match shared.store.events(&filter).await {
        Ok(events) => (events, Vec::new()),
        Err(e) => (Vec::new(), vec![format!("reading the event log: {e}")]),
    };
    let mut codes: BTreeMap<(Category, &str), u64> = BTreeMap::new();
    for e in events.iter().filter(|e| e.timestamp < until) {
        *codes
            .entry((e.category, e.error_code.as_str()))
            .or_default() += 1;
    }
    let mut by_category: BTreeMap<Category, u64> = BTreeMap::new();
    let mut top: BTreeMap<Category, (String, u64)> = BTreeMap::new();
    for (&(category, code), &n) in &codes {
        *by_category.entry(category).or_default() += n;
        let best = top.entry(category).or_insert_with(|| (code.to_owned(), n));
        if n > best.1 {
            *best = (code.to_owned(), n);
        }
    }
    let mut groups: Vec<_> = codes.iter().collect();
    groups.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let complete = failures.is_empty();
    let status = if complete { "ok" } else { "failed" };
    let summary = json!({
        "slot": slot,
        "window": {"since": since, "until": until},
        "total": by_category.values().sum::<u64>(),
        "stored": 0,
        "by_category": by_category.iter().map(|(c, n)| (c.as_str(), *n)).collect::<BTreeMap<_, _>>(),
        "groups": groups.iter().take(20).map(|((category, code), n)| json!({
            "error_code": code,
            "category": category,
            "severity": category.default_severity(),
            "count": n,
        })).collect::<Vec<_>>(),
        "failures": failures,
    });
    record(shared, job, started, status, &summary).await;
    let evals = alerts::errors_evals(
        service,
        &shared.rules,
        &by_category,
        &top,
        job.every,
        complete,
    );
    evaluate(shared, evals).await;
    Some(status)
}

#[cfg(test)]
mod tests {
    //! A configured API through the health job: its check recorded under its name, its
    //! failure in the event log, its gauge labelled with its name, and `service_down` firing
    //! after the configured run of down checks.

    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use apiops_core::{
        ActionTaken, ApiName, Category, EventResult, HealthStatus, Service, Severity,
    };
    use apiops_store::{EventFilter, SqliteStore, Store};
    use jiff::Timestamp;
    use metrics_exporter_prometheus::PrometheusBuilder;
    use secrecy::SecretString;

    use super::*;
    use crate::schedule::{Job, JobKind};
    use crate::test_support;

    const KEY: &str = "canary_mail_key_0123456789";

    /// Down, with the key echoed in its failure; each check one second after the last.
    struct Down {
        service: Service,
        second: AtomicI64,
    }

    impl ApiCheck for Down {
        fn health(&self) -> BoxFuture<'_, ApiChecked> {
            Box::pin(async move {
                let at = Timestamp::from_second(
                    1_800_000_000 + self.second.fetch_add(1, Ordering::SeqCst),
                )
                .expect("ts");
                ApiChecked {
                    health: Health {
                        service: self.service,
                        status: HealthStatus::Down,
                        latency_ms: Some(12),
                        details: [("rate_limit_headroom".to_owned(), "40.0% left".to_owned())]
                            .into_iter()
                            .collect(),
                        warnings: vec![],
                        reason: Some("HTTP 401 [auth] invalid_key".to_owned()),
                        category: Some(Category::Auth),
                    },
                    event: Some(ErrorEvent {
                        timestamp: at,
                        service: self.service,
                        error_code: "invalid_key".to_owned(),
                        category: Category::Auth,
                        severity: Severity::Critical,
                        resource_type: "operation".to_owned(),
                        resource_id: "domains/list".to_owned(),
                        context: format!("domains/list: key {KEY} revoked"),
                        action_taken: ActionTaken::None,
                        result: EventResult::Failed,
                    }),
                    deprecations: vec![],
                }
            })
        }
    }

    /// A current-thread runtime and an SQLite store in a temporary folder (kept while the
    /// returned guard lives).
    fn runtime_and_store() -> (tokio::runtime::Runtime, tempfile::TempDir, Arc<dyn Store>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}/s.db", dir.path().display());
        let store: Arc<dyn Store> = Arc::new(rt.block_on(SqliteStore::open(&url)).expect("store"));
        (rt, dir, store)
    }

    #[test]
    fn an_api_is_checked_recorded_and_alerted_like_a_service() {
        let (rt, _dir, store) = runtime_and_store();
        let mail = Service::Api(ApiName::new("mail").expect("name"));
        let mut config = test_support::config();
        config.health_every = Duration::from_secs(60);
        let now = Arc::new(Mutex::new(
            "2027-01-15T08:00:00Z".parse::<Timestamp>().expect("ts"),
        ));
        let clock_now = Arc::clone(&now);
        let clock: crate::Clock = Arc::new(move || *clock_now.lock().expect("clock"));
        let mut shared = test_support::shared(
            &config,
            Arc::clone(&store),
            clock,
            Arc::new(crate::usage::ProviderUsage(Arc::new(BTreeMap::new()))),
            vec![SecretString::from(KEY.to_owned())],
        );
        shared.apis.insert(
            mail,
            Arc::new(Down {
                service: mail,
                second: AtomicI64::new(0),
            }),
        );
        let job = Job {
            kind: JobKind::Health,
            service: Some(mail),
            every: config.health_every,
        };
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            for slot in 0..2 {
                let started = *now.lock().expect("clock");
                let status = rt.block_on(crate::jobs::health(&shared, &job, mail, slot, started));
                assert_eq!(status, Some("down"));
                *now.lock().expect("clock") = started + jiff::SignedDuration::from_secs(60);
            }
        });
        let text = handle.render();
        assert!(
            text.contains(r#"apiops_service_up{service="mail"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"apiops_rate_limit_headroom_ratio{service="mail"} 0.4"#),
            "{text}"
        );
        let checks = rt
            .block_on(store.checks(Some("health"), Timestamp::UNIX_EPOCH, 10))
            .expect("checks");
        assert_eq!(checks.len(), 2);
        assert!(
            checks
                .iter()
                .all(|c| c.service == Some(mail) && c.status == "down")
        );
        let events = rt
            .block_on(store.events(&EventFilter {
                services: vec![mail],
                ..EventFilter::default()
            }))
            .expect("events");
        assert_eq!(events.len(), 2);
        assert!(
            events.iter().all(|e| !e.context.contains(KEY)),
            "{events:?}"
        );
        let alerts = rt.block_on(store.alerts(true, 10)).expect("alerts");
        assert!(
            alerts
                .iter()
                .any(|a| a.key == "service_down:mail" && a.service == Some(mail)),
            "{alerts:?}"
        );
    }

    #[test]
    fn an_apis_logged_failures_are_counted_by_the_error_job_and_alerted() {
        let (rt, _dir, store) = runtime_and_store();
        let mail = Service::Api(ApiName::new("mail").expect("name"));
        let other = Service::Api(ApiName::new("crm").expect("name"));
        let mut config = test_support::config();
        config.errors_every = Duration::from_secs(600);
        config.error_thresholds = [(Category::Auth, 3), (Category::Transient, 5)].into();
        let job = Job {
            kind: JobKind::Errors,
            service: Some(mail),
            every: config.errors_every,
        };
        let slot = 2_880_000; // 600 s slots: slot - 1 covers [since, until).
        let (since, until) = (slot_start(slot - 1, job.every), slot_start(slot, job.every));
        let event = |service, at: Timestamp, code: &str, category| ErrorEvent {
            timestamp: at,
            service,
            error_code: code.to_owned(),
            category,
            severity: category.default_severity(),
            resource_type: "operation".to_owned(),
            resource_id: "domains/list".to_owned(),
            context: format!("domains/list {code}"),
            action_taken: ActionTaken::None,
            result: EventResult::Failed,
        };
        let s = |n: i64| jiff::SignedDuration::from_secs(n);
        let events = vec![
            event(mail, since, "invalid_key", Category::Auth),
            event(mail, since + s(10), "invalid_key", Category::Auth),
            event(mail, since + s(20), "restricted_key", Category::Auth),
            event(mail, since + s(30), "503", Category::Transient),
            // Outside the slot, or another API's: not counted.
            event(mail, since - s(1), "invalid_key", Category::Auth),
            event(mail, until, "invalid_key", Category::Auth),
            event(other, since + s(40), "invalid_key", Category::Auth),
        ];
        rt.block_on(store.append_events(&events)).expect("append");
        let now = until + s(5);
        let clock: crate::Clock = Arc::new(move || now);
        let shared = test_support::shared(
            &config,
            Arc::clone(&store),
            clock,
            Arc::new(crate::usage::ProviderUsage(Arc::new(BTreeMap::new()))),
            vec![],
        );
        rt.block_on(crate::jobs::run(&shared, &job, slot, now));
        let checks = rt
            .block_on(store.checks(Some("errors"), Timestamp::UNIX_EPOCH, 10))
            .expect("checks");
        assert_eq!(checks.len(), 1);
        let check = &checks[0];
        assert_eq!((check.service, check.status.as_str()), (Some(mail), "ok"));
        let summary: serde_json::Value = serde_json::from_str(&check.summary).expect("summary");
        assert_eq!(summary["total"], 4, "{summary}");
        assert_eq!(summary["by_category"]["auth"], 3, "{summary}");
        assert_eq!(
            summary["groups"][0]["error_code"], "invalid_key",
            "{summary}"
        );
        assert_eq!(summary["groups"][0]["count"], 2, "{summary}");
        let alerts = rt.block_on(store.alerts(true, 10)).expect("alerts");
        assert!(
            alerts
                .iter()
                .any(|a| a.key.ends_with("mail:auth") && a.service == Some(mail)),
            "3 auth failures reach the threshold of 3: {alerts:?}"
        );
        assert!(
            !alerts.iter().any(|a| a.key.ends_with("mail:transient")),
            "1 transient failure is under its threshold of 5: {alerts:?}"
        );
        assert!(
            !alerts.iter().any(|a| a.service == Some(other)),
            "{alerts:?}"
        );
    }

    /// A GraphQL endpoint through the check the monitor runs: `query { __typename }`, the
    /// headroom from the answer's headers in the verdict; an `errors[]` answer down with the
    /// category of its code, and its event for the log.
    #[tokio::test]
    async fn a_graphql_endpoint_is_checked_like_any_api() {
        use axum::http::Uri;
        let app = axum::Router::new().fallback(|uri: Uri| async move {
            let ok = uri.path() == "/ok";
            let body = if ok {
                serde_json::json!({"data": {"__typename": "Query"}})
            } else {
                serde_json::json!({"data": null, "errors": [{"message": "expired", "extensions": {"code": "UNAUTHENTICATED"}}]})
            };
            (
                [("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "1000")],
                axum::Json(body),
            )
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let name = ApiName::new("gh").expect("name");
        let check = |path: &str| {
            let config = apiops_openapi::ApiConfig {
                name: "gh".into(),
                ..apiops_openapi::ApiConfig::default()
            };
            let api = Api::graphql_endpoint(config, &format!("{base}{path}"), Ok).expect("api");
            OpenApiCheck::new(name, api)
        };
        let ok = check("/ok").health().await;
        assert_eq!(ok.health.status, HealthStatus::Operational, "{ok:?}");
        assert_eq!(ok.health.details["operation"], "query { __typename }");
        assert_eq!(ok.health.details["rate_limit_headroom"], "20.0% left");
        assert!(ok.event.is_none());
        let down = check("/expired").health().await;
        assert_eq!(down.health.status, HealthStatus::Down, "{down:?}");
        assert_eq!(down.health.category, Some(Category::Auth));
        assert_eq!(down.event.map(|e| e.category), Some(Category::Auth));
    }
}
