//! The simulator process: state, router and listener.
//!
//! One listener serves every provider under a path prefix per provider host, so one port is
//! enough and each base URL is an ordinary `http://127.0.0.1:PORT/<prefix>`:
//!
//! | prefix | imitates |
//! |---|---|
//! | `/twilio/api` | `https://api.twilio.com` |
//! | `/twilio/monitor` | `https://monitor.twilio.com` |
//! | `/twilio/messaging` | `https://messaging.twilio.com` |
//! | `/twilio/numbers` | `https://numbers.twilio.com` |
//! | `/twilio/pricing` | `https://pricing.twilio.com` |
//! | `/stripe` | `https://api.stripe.com` |
//! | `/openai/v1` | `https://api.openai.com/v1` |
//! | `/_sim/stats` | the simulator's own counters |
//! | `/_sim/faults` | scripted faults: `POST` adds a rule, `GET` lists them, `DELETE` clears ([`crate::script`]) |
//! | `/_sim/stripe/events` | `POST` makes Stripe events happen now and delivers them to the loopback webhook endpoints ([`crate::live`]) |
//! | `/_sim/stripe/redeliver` | `POST` re-attempts every pending Stripe delivery ([`crate::live`]) |
//! | `/_sim/twilio/alerts` | `POST` raises Twilio Monitor alerts now ([`crate::live`]) |
//! | `/_sim/stripe/balance_transactions` | `POST {"count": N, "days": D}` adds N older Stripe balance transactions (charges and refunds) over D days |
//!
//! The `/_sim/` routes need no provider credentials. Those that change the simulator (`POST
//! /_sim/faults` and the three above) answer 403 when it was allowed to listen beyond
//! loopback.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::config::{ConfigError, SimConfig};
use crate::faults::Edge;
use crate::live::{DeliveryReport, StripeEventsRequest};
use crate::rng;
use crate::script::{FaultRule, ScriptedFault};
use crate::stats::Stats;

/// The test credentials the simulator accepts (and prints with `--print-env`).
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `TWILIO_ACCOUNT_SID`.
    pub twilio_account_sid: String,
    /// `TWILIO_AUTH_TOKEN`.
    pub twilio_auth_token: String,
    /// `TWILIO_API_KEY` (an `SK...` key SID, accepted with the secret below).
    pub twilio_api_key: String,
    /// `TWILIO_API_SECRET`.
    pub twilio_api_secret: String,
    /// `STRIPE_SECRET_KEY` (a test-mode key).
    pub stripe_secret_key: String,
    /// `STRIPE_WEBHOOK_SECRET`.
    pub stripe_webhook_secret: String,
    /// `OPENAI_API_KEY`.
    pub openai_api_key: String,
    /// `OPENAI_ADMIN_KEY`.
    pub openai_admin_key: String,
    /// `OPENAI_WEBHOOK_SECRET` (Standard Webhooks `whsec_` + base64).
    pub openai_webhook_secret: String,
}

impl Credentials {
    /// Credentials derived from the seed.
    pub fn from_seed(seed: u64) -> Self {
        use base64::Engine;
        let mut r = rng::for_purpose(seed, "credentials");
        let hex32 = |r: &mut fastrand::Rng| format!("{:016x}{:016x}", r.u64(..), r.u64(..));
        let twilio_account_sid = format!("AC{}", hex32(&mut r));
        let twilio_auth_token = hex32(&mut r);
        let twilio_api_key = format!("SK{}", hex32(&mut r));
        let twilio_api_secret = hex32(&mut r);
        let stripe_secret_key = format!("sk_test_sim{}", hex32(&mut r));
        let stripe_webhook_secret = format!("whsec_sim{}", hex32(&mut r));
        let openai_api_key = format!("sk-sim-{}", hex32(&mut r));
        let openai_admin_key = format!("sk-admin-sim-{}", hex32(&mut r));
        let raw: Vec<u8> = (0..24).map(|_| r.u8(..)).collect();
        let openai_webhook_secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        Credentials {
            twilio_account_sid,
            twilio_auth_token,
            twilio_api_key,
            twilio_api_secret,
            stripe_secret_key,
            stripe_webhook_secret,
            openai_api_key,
            openai_admin_key,
            openai_webhook_secret,
        }
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct SimState {
    /// The settings.
    pub config: SimConfig,
    /// The accepted credentials.
    pub creds: Credentials,
    /// Counters.
    pub stats: Stats,
    /// Auth, rate limits, latency and faults.
    pub edge: Edge,
    /// Twilio's data and state.
    pub twilio: crate::twilio::TwilioState,
    /// Stripe's data and state.
    pub stripe: crate::stripe::StripeState,
    /// OpenAI's data and state.
    pub openai: crate::openai::OpenAiState,
    /// What the providers' status pages say.
    pub status: crate::status::StatusState,
}

impl SimState {
    /// Adds a scripted fault rule (see [`crate::script`]); returns its index in
    /// [`SimState::scripted_faults`], or why the rule cannot work (`times: Some(0)`, a method
    /// that is not one, an empty `body_contains`).
    pub fn script_fault(&self, rule: FaultRule) -> Result<usize, String> {
        self.edge.script.add(rule)
    }

    /// Removes every scripted fault rule; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        self.edge.script.clear()
    }

    /// Every scripted fault rule with how many requests it matched and how many times it fired.
    pub fn scripted_faults(&self) -> Vec<ScriptedFault> {
        self.edge.script.list()
    }

    /// Makes the Stripe events `req` asks for happen now and, unless told not to, delivers them
    /// to the loopback webhook endpoints, waiting for every attempt (see [`crate::live`]).
    /// `Err` says why the request cannot work (a count out of range, an unknown type).
    pub async fn stripe_events_happen(
        &self,
        req: &StripeEventsRequest,
    ) -> Result<DeliveryReport, String> {
        crate::live::check_count(req.count)?;
        let ids = self.stripe.happen(req.count, req.kind.as_deref())?;
        let events = self.stripe.deliver(Some(&ids), req.deliver).await;
        Ok(DeliveryReport::of(events))
    }

    /// Re-attempts delivery of every Stripe event still pending for some endpoint, oldest first
    /// (Stripe's retries, on demand), waiting for every attempt.
    pub async fn stripe_redeliver(&self) -> DeliveryReport {
        DeliveryReport::of(self.stripe.deliver(None, true).await)
    }

    /// Raises `count` Twilio Monitor alerts now, with `error_code` (a code the simulator knows,
    /// e.g. 30007) or from the usual mix; returns their SIDs, oldest first. `Err` says why the
    /// request cannot work.
    pub fn twilio_alerts_happen(
        &self,
        count: usize,
        error_code: Option<u32>,
    ) -> Result<Vec<String>, String> {
        crate::live::check_count(count)?;
        self.twilio.alerts_happen(count, error_code)
    }
}

/// A configured simulator, ready to serve.
#[derive(Debug, Clone)]
pub struct Simulator {
    state: Arc<SimState>,
}

impl Simulator {
    /// Generates the data for `config` (deterministic for its seed and anchor).
    pub fn new(config: SimConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let creds = Credentials::from_seed(config.seed);
        let twilio = crate::twilio::TwilioState::generate(&config, &creds);
        let stripe = crate::stripe::StripeState::generate(&config, &creds);
        let openai = crate::openai::OpenAiState::generate(&config, &creds);
        let edge = Edge::new(&config);
        Ok(Simulator {
            state: Arc::new(SimState {
                config,
                creds,
                stats: Stats::default(),
                edge,
                twilio,
                stripe,
                openai,
                status: Default::default(),
            }),
        })
    }

    /// The shared state (for tests and in-process use).
    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// The router: every provider under its prefix, wrapped in the edge layer.
    pub fn router(&self) -> Router {
        let state = Arc::clone(&self.state);
        Router::new()
            .nest("/twilio", crate::twilio::routes())
            .nest("/stripe", crate::stripe::routes())
            .nest("/openai/v1", crate::openai::routes())
            .nest("/status", crate::status::routes())
            .route("/_sim/stats", get(stats))
            .route(
                "/_sim/faults",
                get(crate::script::list)
                    .post(crate::script::add)
                    .delete(crate::script::clear),
            )
            .route("/_sim/stripe/events", post(crate::stripe::happen_route))
            .route(
                "/_sim/stripe/redeliver",
                post(crate::stripe::redeliver_route),
            )
            .route("/_sim/twilio/alerts", post(crate::twilio::alerts_route))
            .route(
                "/_sim/stripe/balance_transactions",
                post(crate::stripe::balance_history_route),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&state),
                crate::faults::edge,
            ))
            .with_state(state)
    }

    /// Binds the configured address and serves in the background.
    pub async fn start(self) -> std::io::Result<RunningSim> {
        let listener = TcpListener::bind(self.state.config.listen).await?;
        self.state.edge.reopen();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let addr = listener.local_addr()?;
        let probe_targets = if self.state.config.probe_targets {
            let targets = crate::probe_targets::ProbeTargets::start().await?;
            self.state.stripe.replace_endpoints(&targets.endpoints());
            Some(targets)
        } else {
            None
        };
        let app = self.router();
        let state = Arc::clone(&self.state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                    state.edge.close();
                })
                .await;
        });
        Ok(RunningSim {
            addr,
            sim: self,
            shutdown: Some(tx),
            task,
            probe_targets,
        })
    }

    /// Serves on `listener` until `shutdown` completes (the caller owns both). Hanging
    /// requests are then dropped, so the shutdown does not wait for them.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = Arc::clone(&self.state);
        state.edge.reopen();
        axum::serve(listener, self.router())
            .with_graceful_shutdown(async move {
                shutdown.await;
                state.edge.close();
            })
            .await
    }

    /// Adds a scripted fault rule: see [`SimState::script_fault`].
    pub fn script_fault(&self, rule: FaultRule) -> Result<usize, String> {
        self.state.script_fault(rule)
    }

    /// The `NAME=value` pairs that point apiops or an official SDK at a simulator on `addr`.
    pub fn env_vars(&self, addr: SocketAddr) -> Vec<(&'static str, String)> {
        let base = format!("http://{addr}");
        let c = &self.state.creds;
        vec![
            ("APIOPS_TWILIO_API_URL", format!("{base}/twilio/api")),
            (
                "APIOPS_TWILIO_MONITOR_URL",
                format!("{base}/twilio/monitor"),
            ),
            (
                "APIOPS_TWILIO_MESSAGING_URL",
                format!("{base}/twilio/messaging"),
            ),
            (
                "APIOPS_TWILIO_NUMBERS_URL",
                format!("{base}/twilio/numbers"),
            ),
            (
                "APIOPS_TWILIO_PRICING_URL",
                format!("{base}/twilio/pricing"),
            ),
            ("APIOPS_STRIPE_API_URL", format!("{base}/stripe")),
            ("OPENAI_BASE_URL", format!("{base}/openai/v1")),
            ("APIOPS_TWILIO_STATUS_URL", format!("{base}/status/twilio")),
            ("APIOPS_STRIPE_STATUS_URL", format!("{base}/status/stripe")),
            ("APIOPS_OPENAI_STATUS_URL", format!("{base}/status/openai")),
            ("TWILIO_ACCOUNT_SID", c.twilio_account_sid.clone()),
            ("TWILIO_AUTH_TOKEN", c.twilio_auth_token.clone()),
            ("STRIPE_SECRET_KEY", c.stripe_secret_key.clone()),
            ("STRIPE_WEBHOOK_SECRET", c.stripe_webhook_secret.clone()),
            ("OPENAI_API_KEY", c.openai_api_key.clone()),
            ("OPENAI_ADMIN_KEY", c.openai_admin_key.clone()),
            ("OPENAI_WEBHOOK_SECRET", c.openai_webhook_secret.clone()),
        ]
    }
}

async fn stats(State(state): State<Arc<SimState>>) -> axum::Json<crate::stats::Snapshot> {
    axum::Json(state.stats.snapshot())
}

/// A simulator serving in the background; stops when dropped or on [`RunningSim::stop`].
#[derive(Debug)]
pub struct RunningSim {
    /// The bound address.
    pub addr: SocketAddr,
    /// The simulator (state, env).
    pub sim: Simulator,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    probe_targets: Option<crate::probe_targets::ProbeTargets>,
}

impl RunningSim {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The environment pointing clients here.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        self.sim.env_vars(self.addr)
    }

    /// The webhook probe's loopback targets, when [`SimConfig::probe_targets`] started them.
    pub fn probe_targets(&self) -> Option<&crate::probe_targets::ProbeTargets> {
        self.probe_targets.as_ref()
    }

    /// Adds a scripted fault rule: see [`SimState::script_fault`].
    pub fn script_fault(&self, rule: FaultRule) -> Result<usize, String> {
        self.sim.state.script_fault(rule)
    }

    /// Sets what the providers' status pages say (see [`crate::status`]).
    pub fn set_status_mode(&self, mode: crate::status::StatusMode) {
        self.sim.state.status.set(mode);
    }

    /// Removes every scripted fault rule: see [`SimState::clear_faults`].
    pub fn clear_faults(&self) -> usize {
        self.sim.state.clear_faults()
    }

    /// The scripted fault rules with their counters: see [`SimState::scripted_faults`].
    pub fn scripted_faults(&self) -> Vec<ScriptedFault> {
        self.sim.state.scripted_faults()
    }

    /// Makes `count` Stripe events of `kind` (the usual mix when `None`) happen now, delivers
    /// them to the loopback webhook endpoints and waits for the attempts; returns their ids,
    /// oldest first. See [`SimState::stripe_events_happen`] for the whole report.
    pub async fn stripe_events_happen(
        &self,
        count: usize,
        kind: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let req = StripeEventsRequest::new(count, kind);
        Ok(self.sim.state.stripe_events_happen(&req).await?.ids)
    }

    /// Re-attempts every pending Stripe delivery: see [`SimState::stripe_redeliver`].
    pub async fn stripe_redeliver(&self) -> DeliveryReport {
        self.sim.state.stripe_redeliver().await
    }

    /// Raises Twilio Monitor alerts now: see [`SimState::twilio_alerts_happen`].
    pub fn twilio_alerts_happen(
        &self,
        count: usize,
        error_code: Option<u32>,
    ) -> Result<Vec<String>, String> {
        self.sim.state.twilio_alerts_happen(count, error_code)
    }

    /// The simulator's counters (what `/_sim/stats` serves).
    pub fn stats(&self) -> crate::stats::Snapshot {
        self.sim.state.stats.snapshot()
    }

    /// Stops serving and waits for in-flight requests (hanging ones are dropped).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
