//! The config audit's webhook reachability probe (`[monitor] probe_webhooks`, off by default):
//! after a complete audit of a service, each webhook URL it holds gets the one guarded request
//! `apiops audit --probe` sends ([`apiops_providers::probe`]: public addresses only, `HEAD`
//! then `GET`, 5 s, no redirects followed). The job records what each URL answered in its
//! summary (`probes`), adds a finding for each URL the provider cannot deliver to, and
//! observes the `webhook_unreachable:<service>:<url>` rule: firing while the URL fails,
//! resolved once it answers or is no longer used.

use std::time::Duration;

use apiops_core::{Service, Severity};
use apiops_providers::Provider;
use apiops_providers::probe::{Probed, Prober, probe_webhooks};

use crate::alerts::{Eval, eval};

/// The rule's name.
pub(crate) const RULE: &str = "webhook_unreachable";

/// Probes the webhook URLs `provider` holds, within `limit`; why not, when it ran out of time.
pub(crate) async fn run(
    prober: &Prober,
    provider: &dyn Provider,
    limit: Duration,
) -> Result<Vec<Probed>, String> {
    tokio::time::timeout(limit, probe_webhooks(&[provider], prober))
        .await
        .map_err(|_| {
            format!(
                "the webhook probe did not finish within {}",
                humantime::format_duration(limit)
            )
        })
}

/// The rule over one service's probes; `firing` holds the keys of this service's
/// `webhook_unreachable` alerts that are firing now (a URL no longer used resolves).
pub(crate) fn evals(service: Service, probed: &[Probed], firing: &[String]) -> Vec<Eval> {
    let name = service.display_name();
    let mut out: Vec<Eval> = probed
        .iter()
        .map(|p| {
            let finding = p.finding(service);
            eval(
                RULE,
                &format!("{service}:{}", p.result.url),
                Some(service),
                finding.as_ref().map_or(Severity::Warning, |f| f.severity),
                finding.is_some(),
                format!(
                    "{name}: webhook URL {}: {}",
                    p.result.url,
                    p.result.outcome.describe()
                ),
            )
        })
        .collect();
    let prefix = format!("{RULE}:{service}:");
    for key in firing.iter().filter(|k| k.starts_with(&prefix)) {
        if !out.iter().any(|e| &e.key == key) {
            let url = &key[prefix.len()..];
            out.push(eval(
                RULE,
                &format!("{service}:{url}"),
                Some(service),
                Severity::Warning,
                false,
                format!("{name}: webhook URL {url} is no longer used"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! The audit job run in-process against the simulator, whose Stripe webhook endpoints point
    //! at its loopback probe targets, with an injected clock and a real SQLite store.

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use apiops_providers::ClientTuning;
    use apiops_providers::stripe::{Stripe, StripeConfig};
    use apiops_sim::probe_targets::{ProbeTarget, ProbeTargets};
    use apiops_sim::{RunningSim, SimConfig, Simulator};
    use apiops_store::{SqliteStore, Store};
    use jiff::Timestamp;
    use serde_json::Value;

    use super::*;
    use crate::schedule::{Job, JobKind};
    use crate::usage::UsageSource;
    use crate::{Shared, Target, test_support};

    struct NoUsage;

    impl UsageSource for NoUsage {
        fn daily<'a>(
            &'a self,
            _: Service,
            _: &'a apiops_providers::usage::Span,
        ) -> futures::future::BoxFuture<'a, Option<Vec<apiops_providers::usage::ServiceUsage>>>
        {
            Box::pin(async { None })
        }
    }

    async fn sim() -> RunningSim {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        Simulator::new(SimConfig {
            messages: 50,
            anchor: "2026-12-01T10:00:00Z".parse().expect("anchor"),
            probe_targets: true,
            ..SimConfig::default()
        })
        .expect("sim")
        .start()
        .await
        .expect("start")
    }

    fn stripe(sim: &RunningSim) -> Stripe {
        let env: BTreeMap<_, _> = sim.env_vars().into_iter().collect();
        let mut config = StripeConfig::official(Some(secrecy::SecretString::from(
            env["STRIPE_SECRET_KEY"].clone(),
        )))
        .expect("stripe");
        config.api_url = url::Url::parse(&env["APIOPS_STRIPE_API_URL"]).expect("url");
        config.tuning = ClientTuning {
            max_attempts: 1,
            ..ClientTuning::default()
        };
        Stripe::new(config).expect("stripe")
    }

    async fn shared(sim: &RunningSim, probe: bool, at: Timestamp) -> (Shared, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&format!("sqlite://{}/m.db", dir.path().display()))
                .await
                .expect("store"),
        );
        let mut config = test_support::config();
        config.audit_every = Duration::from_secs(3600);
        config.probe_webhooks = probe;
        let mut shared = test_support::shared(
            &config,
            store,
            Arc::new(move || at),
            Arc::new(NoUsage),
            Vec::new(),
        );
        shared.targets = Arc::new(BTreeMap::from([(
            Service::Stripe,
            Target::Stripe(Box::new(stripe(sim))),
        )]));
        (shared, dir)
    }

    fn job() -> Job {
        Job {
            kind: JobKind::Audit,
            service: Some(Service::Stripe),
            every: Duration::from_secs(3600),
        }
    }

    async fn last_audit(shared: &Shared) -> Value {
        let checks = shared
            .store
            .checks(Some("audit"), Timestamp::UNIX_EPOCH, 10)
            .await
            .expect("checks");
        serde_json::from_str(&checks[0].summary).expect("summary")
    }

    /// The targets a provider cannot deliver to.
    const UNREACHABLE: [ProbeTarget; 5] = [
        ProbeTarget::Missing,
        ProbeTarget::Broken,
        ProbeTarget::Moved,
        ProbeTarget::SelfSigned,
        ProbeTarget::Silent,
    ];

    fn targets(sim: &RunningSim) -> &ProbeTargets {
        sim.probe_targets().expect("probe targets")
    }

    #[tokio::test]
    async fn off_by_default_the_audit_contacts_no_webhook_url() {
        assert!(!test_support::config().probe_webhooks);
        let sim = sim().await;
        let at: Timestamp = "2026-12-01T10:00:00Z".parse().expect("at");
        let (shared, _dir) = shared(&sim, false, at).await;
        crate::jobs::run(&shared, &job(), 1, at).await;
        let summary = last_audit(&shared).await;
        assert!(summary["probes"].is_null(), "{summary}");
        assert_eq!(targets(&sim).connections(), 0, "no target was contacted");
        let firing = shared.store.alerts(true, 100).await.expect("alerts");
        assert!(firing.iter().all(|a| a.rule != RULE), "{firing:?}");
    }

    #[tokio::test]
    async fn each_verdict_becomes_a_finding_and_an_alert_that_fires_once() {
        let sim = sim().await;
        let t = targets(&sim);
        let at: Timestamp = "2026-12-01T10:00:00Z".parse().expect("at");
        let (shared, _dir) = shared(&sim, true, at).await;
        crate::jobs::run(&shared, &job(), 1, at).await;
        let summary = last_audit(&shared).await;
        let probes = summary["probes"].as_array().expect("probes");
        let outcome_of = |target: ProbeTarget| -> &Value {
            let url = t.url(target);
            probes
                .iter()
                .find(|p| p["url"] == url.as_str())
                .unwrap_or_else(|| panic!("{url} not probed: {summary}"))
        };
        assert_eq!(outcome_of(ProbeTarget::Ok)["outcome"], "reachable");
        for (target, status) in [
            (ProbeTarget::Missing, 404),
            (ProbeTarget::Broken, 500),
            (ProbeTarget::Moved, 301),
        ] {
            let p = outcome_of(target);
            assert_eq!(p["outcome"], "http_status", "{p}");
            assert_eq!(p["status"], status, "{p}");
        }
        assert_eq!(
            outcome_of(ProbeTarget::Moved)["location"],
            apiops_sim::probe_targets::MOVED_TO
        );
        let tls = outcome_of(ProbeTarget::SelfSigned);
        assert_eq!(tls["outcome"], "tls_error", "{tls}");
        assert!(
            tls["problem"]
                .as_str()
                .is_some_and(|p| p.contains("not signed by a trusted authority")),
            "{tls}"
        );
        assert_eq!(outcome_of(ProbeTarget::Silent)["outcome"], "timeout");
        // The private-address endpoint is refused by policy, with no request sent.
        let private = probes
            .iter()
            .find(|p| p["url"] == apiops_sim::probe_targets::PRIVATE_URL)
            .expect("the private URL is probed");
        assert_eq!(private["outcome"], "unreachable_by_policy", "{private}");
        assert!(private.get("method").is_none(), "{private}");
        assert_eq!(probes.len(), ProbeTarget::ALL.len() + 1, "{summary}");
        let items = summary["items"].as_array().expect("items");
        let unreachable: Vec<&Value> = items
            .iter()
            .filter(|f| f["resource_type"] == "webhook_url")
            .collect();
        for target in UNREACHABLE {
            let url = t.url(target);
            assert!(
                unreachable
                    .iter()
                    .any(|f| f["resource_id"] == url.as_str() && f["severity"] == "critical"),
                "a finding for {url}: {summary}"
            );
        }
        assert!(
            !unreachable
                .iter()
                .any(|f| f["resource_id"] == t.url(ProbeTarget::Ok).as_str()),
            "no finding for the reachable URL"
        );

        let firing = shared.store.alerts(true, 100).await.expect("alerts");
        let keys: Vec<&str> = firing
            .iter()
            .filter(|a| a.rule == RULE)
            .map(|a| a.key.as_str())
            .collect();
        for target in UNREACHABLE {
            let key = format!("{RULE}:stripe:{}", t.url(target));
            assert!(keys.contains(&key.as_str()), "{key} fires: {keys:?}");
        }
        let ok_key = format!("{RULE}:stripe:{}", t.url(ProbeTarget::Ok));
        assert!(!keys.contains(&ok_key.as_str()), "{keys:?}");

        // The next slot, an hour later on the injected clock: the same alerts stay firing
        // (fired once, not again), and nothing resolves.
        let later = at + jiff::SignedDuration::from_hours(1);
        let before = firing.iter().filter(|a| a.rule == RULE).count();
        crate::jobs::run(&shared, &job(), 2, later).await;
        let again = shared.store.alerts(true, 100).await.expect("alerts");
        assert_eq!(again.iter().filter(|a| a.rule == RULE).count(), before);
        for a in again.iter().filter(|a| a.rule == RULE) {
            let first = firing.iter().find(|f| f.key == a.key).expect("same key");
            assert_eq!(a.fired_at, first.fired_at, "{} fired once", a.key);
        }
    }

    #[test]
    fn a_url_no_longer_used_resolves() {
        let firing = vec![format!("{RULE}:stripe:https://gone.example.com/hook")];
        let e = evals(Service::Stripe, &[], &firing);
        assert_eq!(e.len(), 1);
        assert!(!e[0].firing);
        assert!(e[0].message.contains("no longer used"), "{}", e[0].message);
        // Another service's alert is left alone.
        assert!(evals(Service::Twilio, &[], &firing).is_empty());
    }
}
