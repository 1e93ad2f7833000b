//! Auto-fix within policy: what the monitor may change by itself after an alert or a finding.
//!
//! Every fix is judged by the operations gate ([`apiops_ops::gate`] with
//! [`Origin::AutoFix`]) before anything is planned or sent, so `[policy] auto_fix` decides per
//! category and no configuration can make a purchase, a deletion or a credential change
//! automatic (the gate refuses those first, whatever the policy). Two fixes exist:
//!
//! - `rate_limit` — back off: when a service's rate-limit alert fires (`errors` of category
//!   `rate_limit`, or `rate_limit_headroom`), this instance makes no scheduled request to the
//!   service for `monitor.rate_limit_backoff`. It changes nothing outside the process, so it is
//!   not a catalog operation; its spec ([`BACKOFF`]) goes through the same gate and it is
//!   journaled as an event (`action_taken = auto_fixed`).
//! - `config` — a Stripe webhook endpoint whose URL is this receiver's own address but with
//!   `http://` while the configured public URL (`--public-url`) is `https://` with the same
//!   host: it is switched to the https URL. Conservative on purpose: apiops knows exactly where
//!   its receiver is, so the new URL is clearly right; any other URL is left to a person. It
//!   runs as the catalog operation `stripe.endpoints.update` through the journal-aware planner
//!   and the [`Executor`] (`action_taken = auto_fixed`), so each step is journaled and the
//!   change is an event in the log.

use std::sync::Arc;
use std::time::Duration;

use apiops_core::{
    ActionTaken, Category, ErrorEvent, EventResult, Service, Severity, metric_names,
};
use apiops_ops::catalog::{OpKind, OpSpec, Risk};
use apiops_ops::{Executor, Gate, Operation, Origin, OutcomeStatus, Policy, Services, gate};
use apiops_store::Store;
use url::Url;

use super::Clock;

/// The in-process backoff, as the gate sees it: fixes `rate_limit`; low risk; reversible (it
/// expires); neither a purchase, a deletion nor a credential change.
pub(crate) const BACKOFF: OpSpec = OpSpec {
    kind: OpKind::OpenaiCheckRateLimits,
    name: "monitor.backoff",
    service: None,
    summary: "Pause this instance's scheduled requests to a rate-limited service",
    params: &[],
    side_effects: "no scheduled check of the service from this instance until the backoff ends",
    risk: Risk::Low,
    reversible: true,
    purchase: false,
    deletion: false,
    auth: false,
    costs_money: false,
    fixes: Some(Category::RateLimit),
};

/// What one fix attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FixResult {
    /// Done; what changed.
    Applied(String),
    /// Its effect was already in place.
    NothingToDo(String),
    /// The gate said a person must decide (the reason; `always` for purchases, deletions, auth).
    Refused { reason: String, always: bool },
    /// Tried and failed.
    Failed(String),
}

impl FixResult {
    /// The `result` label of `apiops_autofix_total`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            FixResult::Applied(_) => "applied",
            FixResult::NothingToDo(_) => "nothing_to_do",
            FixResult::Refused { .. } => "refused",
            FixResult::Failed(_) => "failed",
        }
    }
}

/// The gate's verdict for an automatic run of `spec`: `Ok(reason)` to proceed.
pub(crate) fn authorize(spec: &OpSpec, policy: &Policy) -> Result<String, FixResult> {
    match gate(spec, policy, Origin::AutoFix) {
        Gate::Proceed { reason } => Ok(reason),
        Gate::Confirm { reason, always } => Err(FixResult::Refused { reason, always }),
    }
}

/// The receiver URL `https://<public host>/webhooks/stripe` when `endpoint_url` is the same
/// receiver over plain http (same host, default port, same path, no query): the one URL fix
/// that is clearly right. `None` for anything else.
pub(crate) fn https_receiver_url(endpoint_url: &str, public_url: &Url) -> Option<String> {
    if public_url.scheme() != "https" {
        return None;
    }
    let ep = Url::parse(endpoint_url.trim()).ok()?;
    if ep.scheme() != "http"
        || ep.port().is_some_and(|p| p != 80)
        || ep.query().is_some()
        || ep.fragment().is_some()
        || !ep.username().is_empty()
        || ep.password().is_some()
    {
        return None;
    }
    let (ep_host, public_host) = (ep.host_str()?, public_url.host_str()?);
    if !ep_host.eq_ignore_ascii_case(public_host) {
        return None;
    }
    let receiver_path = format!(
        "{}/webhooks/stripe",
        public_url.path().trim_end_matches('/')
    );
    if ep.path().trim_end_matches('/') != receiver_path {
        return None;
    }
    let mut fixed = public_url.clone();
    fixed.set_path(&receiver_path);
    fixed.set_query(None);
    fixed.set_fragment(None);
    Some(fixed.to_string())
}

/// Applies fixes: the policy, the operations' providers and the journal.
pub(crate) struct AutoFixer {
    pub(crate) policy: Policy,
    /// The providers operations run against (built from the settings).
    pub(crate) services: Arc<Services>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Clock,
    /// `--public-url`: where this receiver is reachable.
    pub(crate) public_url: Option<Url>,
    pub(crate) backoff: Duration,
}

impl std::fmt::Debug for AutoFixer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoFixer")
            .field("policy", &self.policy)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

fn count(operation: &str, r: &FixResult) {
    metrics::counter!(
        metric_names::AUTOFIX_TOTAL,
        "operation" => operation.to_owned(),
        "result" => r.label()
    )
    .increment(1);
}

impl AutoFixer {
    /// Whether auto-fix may proceed for `spec` at all (so callers skip the reads a candidate
    /// needs when it could never run).
    pub(crate) fn allows(&self, spec: &OpSpec) -> bool {
        authorize(spec, &self.policy).is_ok()
    }

    /// Gates the backoff of `service`; when allowed, journals it as an event and returns until
    /// when it lasts (the caller pauses its scheduled requests).
    pub(crate) async fn backoff(
        &self,
        service: Service,
        why: &str,
    ) -> (FixResult, Option<jiff::Timestamp>) {
        let result = match authorize(&BACKOFF, &self.policy) {
            Err(refused) => (refused, None),
            Ok(_) => {
                let now = (self.clock)();
                let until = now
                    .checked_add(jiff::SignedDuration::try_from(self.backoff).unwrap_or_default())
                    .unwrap_or(now);
                let span = humantime::format_duration(self.backoff);
                let event = ErrorEvent {
                    timestamp: now,
                    service,
                    error_code: BACKOFF.name.to_owned(),
                    category: Category::RateLimit,
                    severity: Severity::Info,
                    resource_type: "operation".into(),
                    resource_id: format!("{}:{service}", BACKOFF.name),
                    context: format!(
                        "{}: no scheduled requests to {} from this instance for {span} ({why})",
                        BACKOFF.name,
                        service.display_name()
                    ),
                    action_taken: ActionTaken::AutoFixed,
                    result: EventResult::Success,
                };
                match self.store.append_events(&[event]).await {
                    Ok(_) => (
                        FixResult::Applied(format!(
                            "backed off {} for {span}",
                            service.display_name()
                        )),
                        Some(until),
                    ),
                    // Not journaled, not done: a fix must be an event in the log.
                    Err(e) => (
                        FixResult::Failed(format!("journaling the backoff: {e}")),
                        None,
                    ),
                }
            }
        };
        count(BACKOFF.name, &result.0);
        result
    }

    /// Runs one catalog operation as an automatic fix: the gate first (nothing is read or
    /// planned when it refuses), then the journal-aware plan and the executor.
    pub(crate) async fn run(&self, op: &Operation, request: &str) -> FixResult {
        let name = op.spec().name;
        let result = self.run_inner(op, request).await;
        count(name, &result);
        match &result {
            FixResult::Applied(m) => tracing::warn!(operation = name, "auto-fix applied: {m}"),
            FixResult::Refused { reason, .. } => {
                tracing::info!(operation = name, "auto-fix not allowed: {reason}");
            }
            FixResult::Failed(m) => tracing::warn!(operation = name, "auto-fix failed: {m}"),
            FixResult::NothingToDo(_) => {}
        }
        result
    }

    async fn run_inner(&self, op: &Operation, request: &str) -> FixResult {
        if let Err(refused) = authorize(op.spec(), &self.policy) {
            return refused;
        }
        let store: &dyn Store = &*self.store;
        let now = (self.clock)();
        // Resume a plan a crash left unfinished; plan afresh otherwise (planning reads the
        // current state, so a fix already in place plans as already done).
        let key = apiops_ops::plan::plan_key(op);
        let fresh = matches!(
            store.journaled_plan(&key).await,
            Ok(Some(p)) if p.finished_at.is_some()
        );
        let prepared =
            match apiops_ops::prepare(op, request, &self.services, store, now, fresh).await {
                Ok(p) => p,
                Err(e) => return FixResult::Failed(format!("planning: {e}")),
            };
        // The plan's own operation is what runs: judge it too (a resumed plan is the one
        // journaled, which is the same operation by construction of its key).
        if let Err(refused) = authorize(prepared.plan.operation.spec(), &self.policy) {
            return refused;
        }
        let clock = Arc::clone(&self.clock);
        let now_fn = move || clock();
        let executor = Executor {
            services: &self.services,
            store,
            now: &now_fn,
            action: ActionTaken::AutoFixed,
        };
        match executor.execute(&prepared.plan).await {
            Ok(o) => {
                let detail = o
                    .items
                    .iter()
                    .map(|i| match &i.result {
                        apiops_ops::ItemResult::Done { detail, .. } => detail.clone(),
                        apiops_ops::ItemResult::Failed { error, .. } => error.clone(),
                        apiops_ops::ItemResult::Skipped { reason } => reason.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                match o.status {
                    OutcomeStatus::Succeeded => FixResult::Applied(detail),
                    OutcomeStatus::NothingToDo => FixResult::NothingToDo(detail),
                    OutcomeStatus::Partial | OutcomeStatus::Failed => FixResult::Failed(detail),
                }
            }
            Err(e) => FixResult::Failed(e.to_string()),
        }
    }

    /// The `config` fixes for Stripe's webhook endpoints: each endpoint that is this receiver
    /// over http is switched to https. Reads the endpoints only when the policy allows the fix
    /// and a public https URL is configured.
    pub(crate) async fn fix_stripe_endpoints(&self) -> Vec<(String, FixResult)> {
        let spec = OpKind::StripeUpdateEndpoint.spec();
        let Some(public) = self.public_url.as_ref().filter(|u| u.scheme() == "https") else {
            return Vec::new();
        };
        if !self.allows(spec) {
            return Vec::new();
        }
        let Ok(stripe) = self.services.stripe() else {
            return Vec::new();
        };
        let endpoints = match stripe.client().all_webhook_endpoints().await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("auto-fix: listing Stripe webhook endpoints failed: {e}");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for ep in endpoints {
            let Some(url) = https_receiver_url(&ep.url, public) else {
                continue;
            };
            let op = Operation::StripeUpdateEndpoint {
                endpoint: ep.id.clone(),
                url: Some(url.clone()),
                events: None,
            };
            let request = format!(
                "auto-fix: endpoint {} is this receiver over http; use {url}",
                ep.id
            );
            out.push((ep.id, self.run(&op, &request).await));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use apiops_ops::catalog::{CATALOG, EndpointRef, NumberUrls};
    use apiops_providers::stripe::{Stripe, StripeConfig};
    use apiops_providers::twilio::{Twilio, TwilioConfig};
    use apiops_providers::{ClientTuning, ProviderError};
    use apiops_sim::{SimConfig, Simulator};
    use apiops_store::SqliteStore;

    use super::*;

    fn all_categories() -> Policy {
        Policy::new(Category::ALL.iter().copied()).0
    }

    #[test]
    fn the_backoff_is_gated_by_the_rate_limit_category() {
        assert!(authorize(&BACKOFF, &Policy::new([Category::RateLimit]).0).is_ok());
        assert!(matches!(
            authorize(&BACKOFF, &Policy::new([Category::Config]).0),
            Err(FixResult::Refused { always: false, .. })
        ));
    }

    #[test]
    fn no_policy_makes_a_purchase_a_deletion_or_an_auth_change_automatic() {
        let policy = all_categories();
        let dangerous: Vec<&OpSpec> = CATALOG
            .iter()
            .filter(|s| s.purchase || s.deletion || s.auth)
            .collect();
        assert!(
            dangerous.len() >= 2,
            "the catalog has a purchase and a deletion"
        );
        for spec in dangerous {
            assert!(
                matches!(
                    authorize(spec, &policy),
                    Err(FixResult::Refused { always: true, .. })
                ),
                "{} could run automatically",
                spec.name
            );
        }
        // Even a spec that claims to fix an enabled category.
        let rotate = OpSpec {
            auth: true,
            ..BACKOFF
        };
        assert!(authorize(&rotate, &policy).is_err());
    }

    #[test]
    fn only_this_receiver_over_http_is_rewritten() {
        let public = Url::parse("https://hooks.example.com").expect("url");
        assert_eq!(
            https_receiver_url("http://hooks.example.com/webhooks/stripe", &public).as_deref(),
            Some("https://hooks.example.com/webhooks/stripe")
        );
        assert_eq!(
            https_receiver_url("http://HOOKS.example.com:80/webhooks/stripe/", &public).as_deref(),
            Some("https://hooks.example.com/webhooks/stripe")
        );
        for other in [
            "https://hooks.example.com/webhooks/stripe", // already https
            "http://other.example.com/webhooks/stripe",  // another host
            "http://hooks.example.com/stripe",           // another path
            "http://hooks.example.com:8080/webhooks/stripe",
            "http://hooks.example.com/webhooks/stripe?token=x",
            "http://u:p@hooks.example.com/webhooks/stripe",
            "not a url",
        ] {
            assert_eq!(https_receiver_url(other, &public), None, "{other}");
        }
        let http_public = Url::parse("http://hooks.example.com").expect("url");
        assert_eq!(
            https_receiver_url("http://hooks.example.com/webhooks/stripe", &http_public),
            None
        );
        let prefixed = Url::parse("https://example.com/apiops/").expect("url");
        assert_eq!(
            https_receiver_url("http://example.com/apiops/webhooks/stripe", &prefixed).as_deref(),
            Some("https://example.com/apiops/webhooks/stripe")
        );
    }

    fn requests(sim: &apiops_sim::RunningSim) -> u64 {
        sim.stats().requests.values().sum()
    }

    struct Fixture {
        fixer: AutoFixer,
        store: Arc<dyn Store>,
        sim: apiops_sim::RunningSim,
        _dir: tempfile::TempDir,
    }

    async fn fixture(policy: Policy, public_url: Option<&str>) -> Fixture {
        let sim = Simulator::new(SimConfig {
            messages: 50,
            ..SimConfig::default()
        })
        .expect("sim")
        .start()
        .await
        .expect("start");
        let env: std::collections::HashMap<_, _> = sim.env_vars().into_iter().collect();
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&format!("sqlite://{}/s.db", dir.path().display()))
                .await
                .expect("store"),
        );
        let url = |k: &str| Url::parse(&env[k]).expect("url");
        let secret = |k: &str| Some(secrecy::SecretString::from(env[k].clone()));
        let tuning = ClientTuning {
            max_attempts: 1,
            ..ClientTuning::default()
        };
        let mut stripe = StripeConfig::official(secret("STRIPE_SECRET_KEY")).expect("stripe");
        stripe.api_url = url("APIOPS_STRIPE_API_URL");
        stripe.tuning = tuning.clone();
        let mut twilio =
            TwilioConfig::official(secret("TWILIO_ACCOUNT_SID"), secret("TWILIO_AUTH_TOKEN"))
                .expect("twilio");
        twilio.api_url = url("APIOPS_TWILIO_API_URL");
        twilio.pricing_url = url("APIOPS_TWILIO_PRICING_URL");
        twilio.tuning = tuning;
        let public = public_url.map(|u| Url::parse(u).expect("url"));
        let services = Arc::new(
            Services::new(
                Twilio::new(twilio),
                Stripe::new(stripe),
                Err(ProviderError::MissingCredentials {
                    service: Service::Openai,
                    variables: vec!["OPENAI_API_KEY"],
                }),
                None,
            )
            .with_receiver_url(public.as_ref().map(crate::stripe_receiver_url)),
        );
        let fixer = AutoFixer {
            policy,
            services,
            store: Arc::clone(&store),
            clock: Arc::new(jiff::Timestamp::now),
            public_url: public_url.map(|u| Url::parse(u).expect("url")),
            backoff: Duration::from_secs(60),
        };
        Fixture {
            fixer,
            store,
            sim,
            _dir: dir,
        }
    }

    /// Whatever the policy, an automatic run of a purchase, a release or a deletion-like
    /// operation is refused before anything is planned or sent: no journal entry, no event, no
    /// request to the provider.
    #[tokio::test]
    async fn auto_fix_never_runs_a_purchase_a_deletion_or_an_auth_change() {
        let f = fixture(all_categories(), Some("https://hooks.example.com")).await;
        let before = requests(&f.sim);
        let dangerous = [
            Operation::TwilioBuyNumber {
                number: Some("+14155550123".into()),
                area_code: None,
                country: "US".into(),
                urls: NumberUrls::default(),
            },
            Operation::TwilioBuyNumber {
                number: None,
                area_code: Some(415),
                country: "US".into(),
                urls: NumberUrls::default(),
            },
            Operation::TwilioReleaseNumber {
                number: "+14155550100".into(),
            },
        ];
        for op in &dangerous {
            assert!(op.spec().purchase || op.spec().deletion || op.spec().auth);
            let r = f.fixer.run(op, "auto-fix attempt").await;
            assert!(
                matches!(r, FixResult::Refused { always: true, .. }),
                "{}: {r:?}",
                op.spec().name
            );
            let key = apiops_ops::plan::plan_key(op);
            assert_eq!(
                f.store.journaled_plan(&key).await.expect("journal"),
                None,
                "{} was planned",
                op.spec().name
            );
        }
        assert_eq!(f.store.event_count().await.expect("count"), 0);
        assert_eq!(requests(&f.sim), before, "a refused fix must not even read");
        // A change the policy allows still runs (the gate is not simply closed).
        let enable = Operation::StripeSetEndpointEnabled {
            endpoint: EndpointRef::Failing,
            enabled: false,
        };
        assert!(f.fixer.allows(enable.spec()));
    }

    #[tokio::test]
    async fn an_http_receiver_endpoint_is_switched_to_https_once_and_journaled() {
        let f = fixture(
            Policy::new([Category::Config]).0,
            Some("https://hooks.example.com"),
        )
        .await;
        let stripe = f.fixer.services.stripe().expect("stripe");
        let created: serde_json::Value = stripe
            .client()
            .api()
            .send_json(
                stripe
                    .client()
                    .api()
                    .request(reqwest::Method::POST, "/v1/webhook_endpoints")
                    .expect("request")
                    .form(&[
                        ("url", "http://hooks.example.com/webhooks/stripe"),
                        ("enabled_events[]", "charge.failed"),
                    ]),
            )
            .await
            .expect("create an endpoint");
        let id = created["id"].as_str().expect("id").to_owned();
        let fixes = f.fixer.fix_stripe_endpoints().await;
        assert_eq!(fixes.len(), 1, "{fixes:?}");
        assert_eq!(fixes[0].0, id);
        assert!(matches!(fixes[0].1, FixResult::Applied(_)), "{fixes:?}");
        let ep = stripe.client().webhook_endpoint(&id).await.expect("read");
        assert_eq!(ep.url, "https://hooks.example.com/webhooks/stripe");
        let events = f
            .store
            .events(&apiops_store::EventFilter::default())
            .await
            .expect("events");
        assert!(
            events
                .iter()
                .any(|e| e.action_taken == ActionTaken::AutoFixed && e.resource_id == id),
            "{events:?}"
        );
        // Again: nothing left to fix (the URL is https now).
        assert!(f.fixer.fix_stripe_endpoints().await.is_empty());
        // Without `config` in the policy nothing is even read.
        let g = fixture(
            Policy::new([Category::RateLimit]).0,
            Some("https://hooks.example.com"),
        )
        .await;
        let before = requests(&g.sim);
        assert!(g.fixer.fix_stripe_endpoints().await.is_empty());
        assert_eq!(requests(&g.sim), before);
    }

    #[tokio::test]
    async fn the_backoff_is_journaled_as_an_auto_fixed_event() {
        let f = fixture(Policy::new([Category::RateLimit]).0, None).await;
        let (r, until) = f
            .fixer
            .backoff(Service::Twilio, "errors:twilio:rate_limit fired")
            .await;
        assert!(matches!(r, FixResult::Applied(_)), "{r:?}");
        assert!(until.is_some());
        let events = f
            .store
            .events(&apiops_store::EventFilter::default())
            .await
            .expect("events");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action_taken, ActionTaken::AutoFixed);
        assert_eq!(events[0].error_code, "monitor.backoff");
        let g = fixture(Policy::new([]).0, None).await;
        let (r, until) = g.fixer.backoff(Service::Twilio, "x").await;
        assert!(matches!(r, FixResult::Refused { .. }) && until.is_none());
        assert_eq!(g.store.event_count().await.expect("count"), 0);
    }
}
