//! Where alert changes go: the log, generic JSON webhooks (the [`Notification`] POSTed as is)
//! and Slack-compatible incoming webhooks (`{"text": "..."}`).
//!
//! - Never blocking the monitor: [`Sinks::notify`] queues (bounded; when full the oldest
//!   deliveries are not waited for: the notification is dropped with a warning) and a
//!   dispatcher task delivers, each sink and notification in its own task.
//! - Retries: a transport error, a 5xx or a 429 is retried with exponential backoff
//!   (`sink_backoff`, doubled, capped at 5 min) up to `sink_attempts`; another 4xx is final.
//! - SSRF guard: before each attempt the sink's host is resolved, refused when any address is
//!   loopback, private, link-local or otherwise not public (unless `allow_private_sinks`), and
//!   the request is pinned to the address checked (no second lookup, no redirects).
//! - Secrets: a notification is built from the alert's key, rule and message, which hold no
//!   secret (and the monitor redacts configured secrets once more); sink URLs are secrets
//!   themselves and are only ever shown as `scheme://host/...`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apiops_core::{Service, Severity, mask};
use apiops_providers::outbound;
use apiops_store::AlertChange;
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::alerts::Eval;

/// Queued notifications beyond which new ones are dropped (with a warning).
const QUEUE: usize = 256;
/// Deliveries in flight at once.
const CONCURRENT: usize = 16;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What a sink receives about one alert's change of state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Notification {
    /// `firing` or `resolved`.
    pub(crate) status: &'static str,
    /// The alert's identity (`service_down:twilio`).
    pub(crate) key: String,
    /// The rule.
    pub(crate) rule: &'static str,
    /// The service concerned.
    pub(crate) service: Option<Service>,
    /// How bad.
    pub(crate) severity: Severity,
    /// One line for people.
    pub(crate) message: String,
    /// When the change was observed.
    pub(crate) at: Timestamp,
    /// The instance that observed it.
    pub(crate) instance: String,
    /// Always `apiops`.
    pub(crate) source: &'static str,
}

impl Notification {
    /// The notification of a change; `None` for [`AlertChange::Unchanged`].
    pub(crate) fn of(
        change: AlertChange,
        e: &Eval,
        at: Timestamp,
        instance: &str,
    ) -> Option<Notification> {
        let status = match change {
            AlertChange::Fired => "firing",
            AlertChange::Resolved => "resolved",
            AlertChange::Unchanged => return None,
        };
        Some(Notification {
            status,
            key: e.key.clone(),
            rule: e.rule,
            service: e.service,
            severity: e.severity,
            message: e.message.clone(),
            at,
            instance: instance.to_owned(),
            source: "apiops",
        })
    }

    /// The one line of Slack's `text` and of the log.
    pub(crate) fn text(&self) -> String {
        match self.status {
            "firing" => format!(
                ":rotating_light: [{}] {} firing: {}",
                self.severity, self.key, self.message
            ),
            _ => format!(":white_check_mark: {} resolved: {}", self.key, self.message),
        }
    }
}

/// A sink's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SinkKind {
    /// The notification as JSON.
    Webhook,
    /// `{"text": ...}`.
    Slack,
}

/// One sink.
#[derive(Debug, Clone)]
pub(crate) struct SinkTarget {
    pub(crate) kind: SinkKind,
    pub(crate) url: SecretString,
}

impl SinkTarget {
    /// `scheme://host/...`, for messages.
    pub(crate) fn shown(&self) -> String {
        shown_url(self.url.expose_secret())
    }
}

/// `scheme://host[:port]/...`: where a sink URL goes, without the path or query that hold
/// its token (an incoming-webhook URL is itself the credential).
pub fn shown_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}/...", u.scheme()),
            (Some(h), None) => format!("{}://{h}/...", u.scheme()),
            _ => mask(url),
        },
        Err(_) => mask(url),
    }
}

/// How sinks deliver.
#[derive(Debug, Clone)]
pub(crate) struct SinkConfig {
    pub(crate) targets: Vec<SinkTarget>,
    pub(crate) log: bool,
    pub(crate) allow_private: bool,
    pub(crate) attempts: u32,
    pub(crate) backoff: Duration,
    pub(crate) timeout: Duration,
}

/// The handle the monitor notifies through.
#[derive(Debug, Clone)]
pub(crate) struct Sinks {
    tx: Option<mpsc::Sender<Notification>>,
    log: bool,
}

impl Sinks {
    /// Starts the dispatcher (when there is any HTTP sink); it ends when `stop` is cancelled,
    /// after giving deliveries in flight a few seconds.
    pub(crate) fn start(
        config: SinkConfig,
        stop: CancellationToken,
    ) -> (Sinks, Option<tokio::task::JoinHandle<()>>) {
        let log = config.log;
        if config.targets.is_empty() {
            return (Sinks { tx: None, log }, None);
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(dispatch(rx, Arc::new(config), stop));
        (Sinks { tx: Some(tx), log }, Some(task))
    }

    /// Hands a notification to every sink without waiting for any.
    pub(crate) fn notify(&self, n: Notification) {
        if self.log {
            match n.status {
                "firing" => tracing::warn!(
                    target: "apiops::alert",
                    alert = %n.key,
                    severity = %n.severity,
                    "alert firing: {}",
                    n.message
                ),
                _ => tracing::warn!(
                    target: "apiops::alert",
                    alert = %n.key,
                    "alert resolved: {}",
                    n.message
                ),
            }
        }
        if let Some(tx) = &self.tx
            && let Err(e) = tx.try_send(n)
        {
            tracing::warn!("alert sinks are behind; a notification was dropped: {e}");
        }
    }
}

async fn dispatch(
    mut rx: mpsc::Receiver<Notification>,
    config: Arc<SinkConfig>,
    stop: CancellationToken,
) {
    let limit = Arc::new(Semaphore::new(CONCURRENT));
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            n = rx.recv() => {
                let Some(n) = n else { break };
                for target in &config.targets {
                    let (target, n, config, limit, stop) = (
                        target.clone(),
                        n.clone(),
                        Arc::clone(&config),
                        Arc::clone(&limit),
                        stop.clone(),
                    );
                    tasks.spawn(async move {
                        let Ok(_permit) = limit.acquire_owned().await else { return };
                        match deliver(&target, &n, &config, &stop).await {
                            Ok(attempts) => tracing::debug!(
                                sink = %target.shown(),
                                alert = %n.key,
                                attempts,
                                "alert delivered"
                            ),
                            Err(e) => tracing::warn!(
                                sink = %target.shown(),
                                alert = %n.key,
                                "alert not delivered: {e}"
                            ),
                        }
                    });
                }
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            () = stop.cancelled() => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
}

/// The body a sink receives.
pub(crate) fn body(kind: SinkKind, n: &Notification) -> serde_json::Value {
    match kind {
        SinkKind::Webhook => serde_json::to_value(n).unwrap_or_default(),
        SinkKind::Slack => serde_json::json!({ "text": n.text() }),
    }
}

/// One failed attempt: whether another may succeed, and why it failed (no URL in it).
#[derive(Debug)]
struct Failed {
    retry: bool,
    error: String,
}

/// Delivers with retries; returns the attempts it took, or the last error.
pub(crate) async fn deliver(
    target: &SinkTarget,
    n: &Notification,
    config: &SinkConfig,
    stop: &CancellationToken,
) -> Result<u32, String> {
    let body = body(target.kind, n);
    let mut delay = config.backoff;
    let attempts = config.attempts.max(1);
    for attempt in 1..=attempts {
        match post(target, &body, config).await {
            Ok(()) => return Ok(attempt),
            Err(f) if !f.retry || attempt == attempts => {
                return Err(format!("{} (after {attempt} attempts)", f.error));
            }
            Err(f) => {
                tracing::debug!(sink = %target.shown(), attempt, "sink attempt failed: {}", f.error);
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.cancelled() => return Err(format!("{} (stopped while retrying)", f.error)),
                }
                delay = (delay * 2).min(MAX_BACKOFF);
            }
        }
    }
    Err("no attempt made".into())
}

async fn post(
    target: &SinkTarget,
    body: &serde_json::Value,
    config: &SinkConfig,
) -> Result<(), Failed> {
    let url = url::Url::parse(target.url.expose_secret()).map_err(|_| Failed {
        retry: false,
        error: "the sink URL does not parse".into(),
    })?;
    let (host, addr) = guard(&url, config.allow_private)
        .await
        .map_err(|e| Failed {
            retry: e.retry,
            error: e.error,
        })?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.timeout.min(Duration::from_secs(5)))
        .timeout(config.timeout)
        .user_agent(concat!("apiops/", env!("CARGO_PKG_VERSION")))
        .resolve(&host, addr)
        .build()
        .map_err(|e| Failed {
            retry: false,
            error: format!("HTTP client: {}", e.without_url()),
        })?;
    let resp = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| Failed {
            retry: true,
            error: e.without_url().to_string(),
        })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    Err(Failed {
        retry: status.is_server_error() || status.as_u16() == 429,
        error: format!("the sink answered {status}"),
    })
}

/// A resolution refused or failed.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) retry: bool,
    pub(crate) error: String,
}

/// Resolves the URL's host and checks every address (see
/// [`apiops_providers::outbound::pin_public`]); returns the host and the address to pin.
pub(crate) async fn guard(
    url: &url::Url,
    allow_private: bool,
) -> Result<(String, SocketAddr), Refused> {
    outbound::pin_public(url, allow_private)
        .await
        .map_err(|e| Refused {
            retry: e.retryable(),
            error: match e {
                outbound::Refusal::NotPublic { .. } => format!(
                    "{e}; refusing to send alerts there (monitor.allow_private_sinks = true allows it)"
                ),
                other => format!("sink: {other}"),
            },
        })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;

    use super::*;

    fn note(status: AlertChange) -> Notification {
        let e = Eval {
            key: "service_down:twilio".into(),
            rule: "service_down",
            service: Some(Service::Twilio),
            severity: Severity::Critical,
            message: "Twilio is down (2 consecutive checks)".into(),
            firing: status == AlertChange::Fired,
            category: None,
        };
        Notification::of(status, &e, Timestamp::UNIX_EPOCH, "host-1-abc").expect("a change")
    }

    /// A local sink failing its first `fail` requests with 503; returns its URL, the bodies it
    /// accepted and how many requests it got.
    async fn sink(
        fail: usize,
    ) -> (
        String,
        Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
        Arc<AtomicUsize>,
    ) {
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (g, h) = (Arc::clone(&got), Arc::clone(&hits));
        let app = Router::new().route(
            "/hook",
            post(move |axum::Json(v): axum::Json<serde_json::Value>| {
                let (g, h) = (Arc::clone(&g), Arc::clone(&h));
                async move {
                    if h.fetch_add(1, Ordering::SeqCst) < fail {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    g.lock().expect("lock").push(v);
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{addr}/hook"), got, hits)
    }

    fn config(url: &str, kind: SinkKind, allow_private: bool) -> SinkConfig {
        SinkConfig {
            targets: vec![SinkTarget {
                kind,
                url: SecretString::from(url.to_owned()),
            }],
            log: false,
            allow_private,
            attempts: 4,
            backoff: Duration::from_millis(10),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn payloads_carry_the_alert_and_nothing_else() {
        let n = note(AlertChange::Fired);
        let json = body(SinkKind::Webhook, &n);
        assert_eq!(json["status"], "firing");
        assert_eq!(json["key"], "service_down:twilio");
        assert_eq!(json["severity"], "critical");
        assert_eq!(json["service"], "twilio");
        let slack = body(SinkKind::Slack, &n);
        let text = slack["text"].as_str().expect("text");
        assert!(text.contains("service_down:twilio firing"), "{text}");
        assert_eq!(slack.as_object().map(|o| o.len()), Some(1));
        let r = note(AlertChange::Resolved);
        assert!(r.text().contains("resolved"), "{}", r.text());
    }

    /// Delivers a "fired" notification to the first target of `c`.
    async fn deliver_fired(c: &SinkConfig) -> Result<u32, String> {
        let n = note(AlertChange::Fired);
        deliver(&c.targets[0], &n, c, &CancellationToken::new()).await
    }

    #[tokio::test]
    async fn failures_are_retried_with_backoff_until_delivered() {
        let (url, got, hits) = sink(2).await;
        let c = config(&url, SinkKind::Webhook, true);
        let attempts = deliver_fired(&c).await.expect("delivered");
        assert_eq!(attempts, 3);
        assert_eq!(hits.load(Ordering::SeqCst), 3);
        assert_eq!(got.lock().expect("lock")[0]["key"], "service_down:twilio");
    }

    #[tokio::test]
    async fn a_sink_that_keeps_failing_gives_up_after_the_attempts() {
        let (url, _, hits) = sink(usize::MAX).await;
        let c = config(&url, SinkKind::Slack, true);
        let err = deliver_fired(&c).await.expect_err("gives up");
        assert!(err.contains("503") && err.contains("4 attempts"), "{err}");
        assert_eq!(hits.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn private_and_loopback_sinks_are_refused_unless_allowed() {
        let (url, _, hits) = sink(0).await;
        let c = config(&url, SinkKind::Webhook, false);
        let err = deliver_fired(&c).await.expect_err("refused");
        assert!(err.contains("not a public address"), "{err}");
        assert!(
            err.contains("1 attempts"),
            "refusals are not retried: {err}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was sent");
        for bad in [
            "http://10.0.0.8/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:9/x",
            "http://localhost:9/x",
        ] {
            let url = url::Url::parse(bad).expect("url");
            let e = guard(&url, false).await.expect_err(bad);
            assert!(!e.retry, "{bad}");
        }
    }

    #[tokio::test]
    async fn notify_never_waits_for_a_sink() {
        // A sink that answers nothing until the test opens its gate: were `notify` to wait
        // for a delivery, the first call would never return and the test would hang.
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (g, held) = (Arc::clone(&got), Arc::clone(&gate));
        let app = Router::new().route(
            "/hook",
            post(move |axum::Json(v): axum::Json<serde_json::Value>| {
                let (g, held) = (Arc::clone(&g), Arc::clone(&held));
                async move {
                    let _pass = held.acquire().await.expect("gate");
                    g.lock().expect("lock").push(v);
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let stop = CancellationToken::new();
        let (sinks, task) = Sinks::start(config(&url, SinkKind::Webhook, true), stop.clone());
        for _ in 0..50 {
            sinks.notify(note(AlertChange::Fired));
        }
        assert!(
            got.lock().expect("lock").is_empty(),
            "nothing can have been delivered through a closed gate"
        );
        // Every one of them was queued, not dropped: all 50 arrive once the sink answers.
        gate.add_permits(1_000);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while got.lock().expect("lock").len() < 50 {
            assert!(std::time::Instant::now() < deadline, "not delivered");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.cancel();
        if let Some(t) = task {
            t.await.expect("dispatcher");
        }
    }
}
