//! `apiops serve`'s HTTP server, fit for a hostile network: its own accept loop over hyper's
//! HTTP/1 connection builder, so the limits are hyper's and tower's settings, not hand-made
//! timers.
//!
//! - **Header-read timeout** ([`Limits::header_read_timeout`]) and **idle timeout**
//!   ([`Limits::idle_timeout`]): hyper closes a connection whose request head has not fully
//!   arrived in time. hyper starts that timer whenever it waits for a head — on a new connection
//!   and on a keep-alive connection after each answer — so it bounds idle keep-alive connections
//!   too; the shorter of the two settings is the timer.
//! - **Whole-request timeout** ([`Limits::request_timeout`]): tower's timeout around every
//!   request, the body read and the commit wait included; 408 when it fires.
//! - **Connections**: at most [`Limits::max_connections`] at once; one more is closed at accept.
//! - **Concurrent requests per route group** (`webhooks`, `other`): tower's concurrency limit
//!   with load shedding — past the limit a request is answered 503 with `Retry-After` at once
//!   instead of queueing.
//! - Each connection's peer address reaches the handlers as [`axum::extract::ConnectInfo`] (the
//!   access rule trusts forwarded headers only from `--trusted-proxy` peers).
//! - Graceful shutdown: no new connection is accepted, in-flight requests finish (bounded by
//!   the request timeout), idle connections are closed.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apiops_core::metric_names;
use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{BoxError, ServiceBuilder, ServiceExt as _};

pub(crate) use apiops_config::Limits;

/// How long a shed request is told to wait before retrying.
pub(crate) const RETRY_AFTER_SECS: u64 = 5;

/// A 503 with `Retry-After` and a plain-text reason.
pub(crate) fn unavailable(reason: &str) -> Response {
    let mut r = (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    r
}

/// Maps the errors of tower's middleware to answers: a timeout is a 408, shedding a 503.
async fn overload(group: &'static str, err: BoxError) -> Response {
    if err.is::<tower::timeout::error::Elapsed>() {
        metrics::counter!(metric_names::HTTP_REQUEST_TIMEOUTS_TOTAL, "group" => group).increment(1);
        return (
            StatusCode::REQUEST_TIMEOUT,
            "408 Request Timeout: the request took longer than the server's request timeout\n",
        )
            .into_response();
    }
    if err.is::<tower::load_shed::error::Overloaded>() {
        metrics::counter!(metric_names::HTTP_REQUESTS_SHED_TOTAL, "group" => group).increment(1);
        return unavailable("503 Service Unavailable: too many requests at once; retry later");
    }
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "500 Internal Server Error\n",
    )
        .into_response()
}

/// `routes` with the request timeout, and at most `max` requests at once across all of them
/// (more are shed). axum applies a layer to each route separately, so the limit is tower's
/// global one: every route of the group draws from one semaphore.
pub(crate) fn limited(routes: Router, group: &'static str, max: usize, limits: &Limits) -> Router {
    routes.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(move |err: BoxError| {
                overload(group, err)
            }))
            .load_shed()
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(max.max(1)))
            .timeout(limits.request_timeout),
    )
}

/// What `apiops serve` composes into one application.
#[allow(missing_debug_implementations)]
pub(crate) struct Parts {
    /// The webhook receivers and `/healthz`.
    pub(crate) receiver: Arc<apiops_webhooks::receiver::ReceiverState>,
    /// `/webhooks/{name}` of the configured APIs with a `webhooks` scheme (in the webhook
    /// group, under its cap and timeout).
    pub(crate) apis: Router,
    /// The dashboard's pages, `/confirmations` and `/metrics` (already behind their guard).
    pub(crate) dashboard: Router,
    /// `/mcp` (already behind its guard).
    pub(crate) mcp: Router,
    /// The access rule `/healthz/details` shares with the dashboard.
    pub(crate) access: crate::dashboard::Access,
    /// The limits of each route group.
    pub(crate) limits: Limits,
}

/// The whole application: two route groups, each with its own concurrency cap (more are shed
/// with 503) and the request timeout — the webhooks and `/healthz`, and everything a person or
/// an agent reaches; `/healthz/details` behind the dashboard's access rule. Tests drive it
/// in-process; [`serve`] puts it on a socket.
pub(crate) fn app(p: Parts) -> Router {
    let details = apiops_webhooks::receiver::details_router(Arc::clone(&p.receiver)).layer(
        axum::middleware::from_fn_with_state(p.access, crate::dashboard::access::guard),
    );
    limited(
        apiops_webhooks::receiver::router(p.receiver).merge(p.apis),
        "webhooks",
        p.limits.max_webhook_requests,
        &p.limits,
    )
    .merge(limited(
        p.dashboard.merge(p.mcp).merge(details),
        "other",
        p.limits.max_other_requests,
        &p.limits,
    ))
}

/// Serves `app` on `listener` under `limits` until `shutdown` resolves, then drains.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout.min(limits.idle_timeout))
        .keep_alive(true);
    let http = Arc::new(http);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            metrics::counter!(metric_names::HTTP_CONNECTIONS_REFUSED_TOTAL).increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app
            .clone()
            .map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.map(Body::new)
            });
        let service = TowerToHyperService::new(app.map_err(|e: Infallible| match e {}));
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        metrics::gauge!(metric_names::HTTP_CONNECTIONS_OPEN).increment(1.0);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            metrics::gauge!(metric_names::HTTP_CONNECTIONS_OPEN).decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    // In-flight requests finish (each bounded by the request timeout); then give up.
    let drain = limits.request_timeout + Duration::from_secs(5);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {drain:?}: closing them");
    }
    Ok(())
}

/// For tests: a SQLite store in `dir`, and an ingest writing to it.
#[cfg(test)]
pub(crate) async fn test_store(
    dir: &std::path::Path,
) -> (
    Arc<dyn apiops_store::Store>,
    apiops_webhooks::ingest::Ingest,
) {
    use apiops_webhooks::ingest::{Ingest, IngestConfig};
    let url = format!("sqlite://{}/s.db", dir.display());
    let store: Arc<dyn apiops_store::Store> =
        Arc::new(apiops_store::SqliteStore::open(&url).await.expect("store"));
    let (ingest, _writer) =
        Ingest::start(Arc::clone(&store), IngestConfig::default(), Arc::default());
    (store, ingest)
}

#[cfg(test)]
mod tests {
    //! The composed application in-process (`tower::ServiceExt::oneshot`), one route group at
    //! a time: its guard, its limit and its shedding; then the real routers `apiops serve`
    //! composes — the dashboard's pages, `/confirmations`, `/metrics` and `/mcp` — each reached
    //! through the whole application, behind the token.

    use std::net::SocketAddr;

    use apiops_webhooks::receiver::{ReceiverConfig, ReceiverMetrics, ReceiverState};
    use axum::routing::get;
    use secrecy::SecretString;
    use tokio::sync::Notify;

    use super::*;
    use crate::dashboard::Access;

    const SECRET: &str = "whsec_server_test_secret_0123456789";

    struct Fixture {
        app: Router,
        /// Releases the blocking route of the "other" group.
        release: Arc<Notify>,
        _dir: tempfile::TempDir,
    }

    /// The application with a fake "other" group: `/slow` waits for `release`, `/fast` answers.
    async fn fixture(limits: Limits) -> Fixture {
        let dir = tempfile::tempdir().expect("dir");
        let (_, ingest) = test_store(dir.path()).await;
        let receiver = Arc::new(ReceiverState {
            config: ReceiverConfig {
                stripe_secrets: vec![SecretString::from(SECRET.to_owned())],
                ..ReceiverConfig::default()
            },
            ingest,
            metrics: Arc::new(ReceiverMetrics::default()),
            now: Arc::new(jiff::Timestamp::now),
            reconciler: None,
        });
        let release = Arc::new(Notify::new());
        let gate = Arc::clone(&release);
        let dashboard = Router::new()
            .route(
                "/slow",
                get(move || {
                    let gate = Arc::clone(&gate);
                    async move {
                        gate.notified().await;
                        "done"
                    }
                }),
            )
            .route("/fast", get(|| async { "ok" }));
        let listen: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let app = app(Parts {
            apis: Router::new(),
            receiver,
            dashboard,
            mcp: Router::new(),
            access: Access::for_listen(listen, None).expect("access"),
            limits,
        });
        Fixture {
            app,
            release,
            _dir: dir,
        }
    }

    fn get_req(path: &str, host: &str) -> Request<Body> {
        Request::get(path)
            .header("host", host)
            .body(Body::empty())
            .expect("request")
    }

    impl Fixture {
        /// `GET path` with `Host: host`, in-process.
        async fn get(&self, path: &str, host: &str) -> Response {
            self.app
                .clone()
                .oneshot(get_req(path, host))
                .await
                .expect("answer")
        }
    }

    #[tokio::test]
    async fn the_webhook_group_verifies_stores_and_answers_healthz() {
        let f = fixture(Limits::default()).await;
        let body = br#"{"id":"evt_1","type":"charge.failed","data":{"object":{}}}"#.to_vec();
        let sig = apiops_webhooks::signature::stripe::sign(&body, SECRET, jiff::Timestamp::now());
        let req = Request::post("/webhooks/stripe")
            .header("content-type", "application/json")
            .header("stripe-signature", sig)
            .body(Body::from(body))
            .expect("request");
        let r = f.app.clone().oneshot(req).await.expect("answer");
        assert_eq!(r.status(), StatusCode::OK);
        let r = f.get("/healthz", "anything.example").await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "/healthz needs no token and no local host"
        );
        // The details are behind the access rule: a forged host is refused.
        let r = f.get("/healthz/details", "evil.example").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = f.get("/healthz/details", "localhost").await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn the_other_group_sheds_past_its_limit_and_the_webhooks_do_not_notice() {
        let f = fixture(Limits {
            max_other_requests: 1,
            ..Limits::default()
        })
        .await;
        let slow = tokio::spawn(f.app.clone().oneshot(get_req("/slow", "localhost")));
        // Wait (bounded) until the slow request holds the group's one slot.
        let mut shed = None;
        for _ in 0..200 {
            let r = f.get("/fast", "localhost").await;
            if r.status() == StatusCode::SERVICE_UNAVAILABLE {
                shed = Some(r);
                break;
            }
            tokio::task::yield_now().await;
        }
        let shed = shed.expect("a second request in the full group was not shed");
        assert_eq!(
            shed.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(RETRY_AFTER_SECS))
        );
        // The webhook group has its own slots.
        let r = f.get("/healthz", "localhost").await;
        assert_eq!(r.status(), StatusCode::OK);
        f.release.notify_one();
        let r = slow.await.expect("join").expect("answer");
        assert_eq!(r.status(), StatusCode::OK);
        let r = f.get("/fast", "localhost").await;
        assert_eq!(r.status(), StatusCode::OK, "the slot is free again");
    }

    #[tokio::test]
    async fn a_request_over_the_request_timeout_is_a_408() {
        let f = fixture(Limits {
            request_timeout: Duration::from_secs(30),
            ..Limits::default()
        })
        .await;
        // Time paused (once the store is open): the timeout fires as soon as nothing else can
        // run, with no real waiting.
        tokio::time::pause();
        let r = f.get("/slow", "localhost").await;
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
    }

    const TOKEN: &str = "router-test-token-0123456789abcdef";

    /// The application as `apiops serve` composes it: the real dashboard (pages,
    /// `/confirmations`, `/metrics`) and the real `/mcp`, behind [`TOKEN`].
    async fn served() -> (Router, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("dir");
        let (store, ingest) = test_store(dir.path()).await;
        let metrics = Arc::new(ReceiverMetrics::default());
        let receiver = Arc::new(ReceiverState {
            config: ReceiverConfig {
                stripe_secrets: vec![SecretString::from(SECRET.to_owned())],
                ..ReceiverConfig::default()
            },
            ingest,
            metrics: Arc::clone(&metrics),
            now: Arc::new(jiff::Timestamp::now),
            reconciler: None,
        });
        let listen: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let token = SecretString::from(TOKEN.to_owned());
        let access = Access::for_listen(listen, Some(&token)).expect("access");
        let loaded = Arc::new(crate::config::test_loaded(&[]));
        let dashboard = crate::dashboard::mount(crate::dashboard::Mount {
            store: Arc::clone(&store),
            receiver: metrics,
            receivers: vec![apiops_core::Service::Stripe],
            config: Arc::clone(&loaded),
            token: Some(&token),
            access: access.clone(),
            people_only: false,
        });
        let mcp = crate::mcp::http::router(
            crate::mcp::ApiopsMcp::new(
                loaded,
                crate::mcp::Options::default(),
                Ok(store),
                crate::mcp::TerminalViews::shared(),
            ),
            access.clone(),
            listen.ip(),
            tokio_util::sync::CancellationToken::new(),
        );
        let app = app(Parts {
            apis: Router::new(),
            receiver,
            dashboard,
            mcp,
            access,
            limits: Limits::default(),
        });
        (app, dir)
    }

    /// `req` with `Host: localhost`, with or without the bearer token, answered in-process.
    async fn send(
        app: &Router,
        req: axum::http::request::Builder,
        body: Body,
        bearer: bool,
    ) -> Response {
        let mut req = req.header("host", "localhost");
        if bearer {
            req = req.header("authorization", format!("Bearer {TOKEN}"));
        }
        app.clone()
            .oneshot(req.body(body).expect("request"))
            .await
            .expect("answer")
    }

    /// The body as text, read until it holds `until` (an SSE stream stays open after its first
    /// event) or ends.
    async fn text(r: Response, until: &str) -> String {
        use futures::StreamExt as _;
        let mut stream = r.into_body().into_data_stream();
        let mut out = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk));
            if out.contains(until) {
                break;
            }
        }
        out
    }

    #[tokio::test]
    async fn the_dashboard_pages_answer_behind_the_token() {
        let (app, _dir) = served().await;
        for path in ["/", "/errors", "/alerts"] {
            let r = send(&app, Request::get(path), Body::empty(), false).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
            let r = send(&app, Request::get(path), Body::empty(), true).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let page = text(r, "</html>").await;
            assert!(page.contains("<html"), "{path}: {page}");
            assert!(!page.contains(TOKEN), "{path} shows the token");
        }
    }

    #[tokio::test]
    async fn confirmations_are_listed_and_decided_only_where_a_person_decides() {
        let (app, _dir) = served().await;
        let r = send(&app, Request::get("/confirmations"), Body::empty(), false).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = send(&app, Request::get("/confirmations"), Body::empty(), true).await;
        assert_eq!(r.status(), StatusCode::OK);
        // Agents share this token (no --mcp-token): nobody decides here.
        let form = Request::post("/confirmations/plan_0123456789abcdef")
            .header("content-type", "application/x-www-form-urlencoded");
        let r = send(&app, form, Body::from("decision=confirm&csrf=x"), true).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn metrics_are_exposed_behind_the_token() {
        let (app, _dir) = served().await;
        let r = send(&app, Request::get("/metrics"), Body::empty(), false).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = send(&app, Request::get("/metrics"), Body::empty(), true).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = text(r, apiops_core::metric_names::BUILD_INFO).await;
        assert!(
            body.contains(apiops_core::metric_names::BUILD_INFO),
            "{body}"
        );
    }

    #[tokio::test]
    async fn mcp_initializes_behind_the_token() {
        let (app, _dir) = served().await;
        let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"test","version":"0"}}}"#;
        let post = || {
            Request::post(crate::mcp::http::PATH)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
        };
        let r = send(&app, post(), Body::from(initialize), false).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = send(&app, post(), Body::from(initialize), true).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().contains_key("mcp-session-id"));
        let body = text(r, "serverInfo").await;
        assert!(body.contains(r#""name":"apiops""#), "{body}");
    }
}
