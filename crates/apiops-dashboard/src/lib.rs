//! The dashboard of `apiops serve` (`/`, `/errors`, `/alerts`, `/confirmations`) and its
//! `/metrics` route.
//!
//! Server-rendered HTML (askama templates in `crates/apiops-dashboard/templates/dashboard/`), charts drawn
//! as inline SVG in Rust ([`svg`]), no script and no external asset: it works offline, and
//! reloads itself with a meta refresh. What it shows comes from the store (scheduled check
//! results, events, alerts, inbox counts), from the receiver's counters and a small in-memory
//! history of them ([`Traffic`]), and from the live metrics the recorder holds (rate-limit
//! headroom, API clients, breakers). Free text from the store passes through the redactor of the
//! configured secrets before it is shown, and askama escapes everything it inserts.
//!
//! The Pending confirmations page (`confirmations`) is the one page that acts: a person says
//! yes or no there to plans agents asked for over MCP HTTP.
//!
//! Access: see [`access`]. The routes here are guarded; the receiver's are not.
//!
//! Layout: [`access`] (the token, the session cookie, what counts as local); `confirmations`
//! (the Pending confirmations page and its form, and [`execute_confirmed`]; what a person
//! reads of a plan or an API write in `confirmations/views.rs`); `view` (the pages' data and charts);
//! [`svg`] (the charts drawn); [`metrics`] (the Prometheus recorder behind `/metrics`, and the
//! reading of its text for the live figures); `tests` (the pages, the token rules and the
//! confirmations over real HTTP). It depends on the engine crates and
//! `apiops-config` only; `apiops serve` mounts it.

pub mod access;
mod confirmations;
pub mod metrics;
pub mod svg;
mod view;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use apiops_client::redact::Redactor;
use apiops_core::Service;
use apiops_store::Store;
use apiops_webhooks::receiver::ReceiverMetrics;
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;

pub use access::{Access, AccessError};
pub use confirmations::{CsrfKey, execute_confirmed};

use apiops_config::LoadedConfig;

/// What the pages read.
pub struct DashboardState {
    /// The store (checks, events, alerts, inbox).
    pub store: Arc<dyn Store>,
    /// The recorder's handle: `/metrics`, and the live figures.
    pub metrics: PrometheusHandle,
    /// The receiver's counters.
    pub receiver: Arc<ReceiverMetrics>,
    /// The providers whose webhooks are verified here.
    pub receivers: Vec<Service>,
    /// Recent webhook counts, sampled.
    pub traffic: Arc<Traffic>,
    /// Scrubs configured secrets from the text shown.
    pub redactor: Redactor,
    /// When this instance started.
    pub started: Timestamp,
    /// Seconds between reloads of a page (0: never).
    pub refresh_secs: u32,
    /// The configuration the confirmed plans are judged and run with (`apiops serve`'s own).
    pub config: Arc<LoadedConfig>,
    /// Signs the confirmation forms; drawn at start, never shown.
    pub csrf: CsrfKey,
    /// Whether a person's dashboard session is a credential agents do not hold: `/mcp` has its
    /// own token (`--mcp-token`), distinct from the dashboard's. Otherwise an agent with the
    /// token could confirm its own plan here, so the page only lists, and people confirm in a
    /// terminal.
    pub people_only: bool,
}

impl std::fmt::Debug for DashboardState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardState")
            .field("receivers", &self.receivers)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

/// Webhook counts of this instance over time: cumulative totals sampled every few seconds (the
/// last hour), charted as the traffic per interval.
#[derive(Debug, Default)]
pub struct Traffic {
    points: Mutex<VecDeque<TrafficPoint>>,
}

/// Cumulative counts at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficPoint {
    pub at: Timestamp,
    pub new: u64,
    pub duplicate: u64,
    pub rejected: u64,
}

/// How often [`Traffic`] samples, and how many samples it keeps (an hour).
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
const SAMPLES: usize = 720;

impl Traffic {
    /// The receiver's totals now.
    pub fn now(receiver: &ReceiverMetrics, at: Timestamp) -> TrafficPoint {
        let mut p = TrafficPoint {
            at,
            new: 0,
            duplicate: 0,
            rejected: 0,
        };
        for (_, what, n) in receiver.accepted() {
            if what == "new" {
                p.new += n;
            } else {
                p.duplicate += n;
            }
        }
        p.rejected = receiver.rejected().iter().map(|(_, _, n)| n).sum();
        p
    }

    /// Records a sample, dropping the oldest beyond the hour.
    pub fn push(&self, p: TrafficPoint) {
        let mut q = self.points.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == SAMPLES {
            q.pop_front();
        }
        q.push_back(p);
    }

    /// The samples, oldest first.
    pub fn points(&self) -> Vec<TrafficPoint> {
        self.points
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }

    /// Samples `receiver` until the `Traffic` is dropped (the server stopped).
    pub fn spawn_sampler(traffic: &Arc<Traffic>, receiver: Arc<ReceiverMetrics>) {
        traffic.push(Traffic::now(&receiver, Timestamp::now()));
        let weak: Weak<Traffic> = Arc::downgrade(traffic);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(t) = weak.upgrade() else { return };
                t.push(Traffic::now(&receiver, Timestamp::now()));
            }
        });
    }
}

/// What `apiops serve` hands over to mount the dashboard.
pub struct Mount<'a> {
    pub store: Arc<dyn Store>,
    pub receiver: Arc<ReceiverMetrics>,
    pub receivers: Vec<Service>,
    pub config: Arc<LoadedConfig>,
    pub token: Option<&'a SecretString>,
    pub access: Access,
    /// See [`DashboardState::people_only`].
    pub people_only: bool,
}

impl std::fmt::Debug for Mount<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount")
            .field("receivers", &self.receivers)
            .field("people_only", &self.people_only)
            .finish_non_exhaustive()
    }
}

/// Installs the metrics recorder and returns the guarded routes, with the traffic sampler
/// running (call from within the runtime).
pub fn mount(m: Mount<'_>) -> Router {
    let traffic = Arc::new(Traffic::default());
    Traffic::spawn_sampler(&traffic, Arc::clone(&m.receiver));
    let state = Arc::new(DashboardState {
        store: m.store,
        metrics: crate::metrics::install(),
        receiver: m.receiver,
        receivers: m.receivers,
        traffic,
        redactor: redactor(&m.config.settings, m.token),
        started: Timestamp::now(),
        refresh_secs: 30,
        config: m.config,
        csrf: CsrfKey::generate(),
        people_only: m.people_only,
    });
    router(state, m.access)
}

/// A redactor of every secret the configuration holds ([`Settings::secrets`], each half of a
/// rotated webhook secret included) and the dashboard's token.
///
/// [`Settings::secrets`]: apiops_config::Settings::secrets
fn redactor(s: &apiops_config::Settings, token: Option<&SecretString>) -> Redactor {
    Redactor::new(s.secrets().into_iter().chain(token.cloned()))
}

/// The guarded routes: the pages and `/metrics` (held to local requests when no token is set,
/// see [`access`]); the confirmations' form is held to a small body.
pub fn router(state: Arc<DashboardState>, access: Access) -> Router {
    let confirmations = Router::new()
        .route("/confirmations", get(confirmations::list))
        .route(
            "/confirmations/{id}",
            post(confirmations::decide).layer(DefaultBodyLimit::max(confirmations::FORM_LIMIT)),
        );
    Router::new()
        .route("/", get(overview))
        .route("/errors", get(errors))
        .route("/alerts", get(alerts))
        .route("/metrics", get(metrics))
        .merge(confirmations)
        .layer(axum::middleware::from_fn_with_state(access, access::guard))
        .with_state(state)
}

type St = State<Arc<DashboardState>>;

/// `?window=` of the pages.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Params {
    window: Option<String>,
}

/// The windows offered, and the default.
pub const WINDOWS: &[(&str, i64)] = &[
    ("1h", 3_600),
    ("6h", 21_600),
    ("24h", 86_400),
    ("7d", 604_800),
];

fn window(p: &Params) -> (&'static str, i64) {
    p.window
        .as_deref()
        .and_then(|w| WINDOWS.iter().find(|(n, _)| *n == w))
        .copied()
        .unwrap_or(WINDOWS[2])
}

async fn metrics(State(state): St) -> Response {
    let mut r = state.metrics.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn overview(State(state): St, Query(p): Query<Params>) -> Response {
    let w = window(&p);
    page(view::overview(&state, w, Timestamp::now()).await)
}

async fn errors(State(state): St, Query(p): Query<Params>) -> Response {
    let w = window(&p);
    page(view::errors(&state, w, Timestamp::now()).await)
}

async fn alerts(State(state): St, Query(p): Query<Params>) -> Response {
    let w = window(&p);
    page(view::alerts(&state, w, Timestamp::now()).await)
}

/// The content security policy of the pages: inline styles and nothing else (no script, no
/// external load, no form).
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The same for the confirmations, whose forms post back to this server and nowhere else.
const CSP_FORMS: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Renders a page with the headers every page gets: no caching, [`CSP`], never framed.
fn page<T: Template>(t: Result<T, apiops_store::StoreError>) -> Response {
    page_with(StatusCode::OK, t, CSP)
}

/// [`page`] with its status and policy.
fn page_with<T: Template>(
    status: StatusCode,
    t: Result<T, apiops_store::StoreError>,
    csp: &'static str,
) -> Response {
    let html = match t {
        Ok(t) => t.render(),
        Err(e) => {
            tracing::error!(error = %e, "dashboard: reading the store failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store could not be read; see the logs",
            )
                .into_response();
        }
    };
    let html = match html {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "dashboard: rendering failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "rendering failed").into_response();
        }
    };
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    // Buttons that buy and delete are never shown inside another site's frame.
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

#[cfg(test)]
mod tests;
