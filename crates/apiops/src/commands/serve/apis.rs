//! The webhook receivers of configured APIs in `apiops serve`: `/webhooks/{name}` for every
//! `[apis.NAME]` with a `webhooks = {...}` table, its secrets read from the environment only,
//! its deliveries kept in the store's webhook inbox through the group-commit writer
//! (`apiops_webhooks::apis::StoreSink`).

use std::sync::Arc;

use apiops_config::{ConfigError, Problem, Settings};
use apiops_webhooks::apis::{ApiWebhook, ApisMetrics, ApisState, StoreSink};
use apiops_webhooks::ingest::Ingest;
use apiops_webhooks::scheme::WebhookScheme;
use axum::Router;

/// The receivers of every configured API with a `webhooks` table, secrets through `env`.
/// A table that does not parse, a name that cannot be a path, or a secret variable that is
/// not set is a configuration error naming `apis.NAME.webhooks` (never the secret).
pub(crate) fn receivers(
    settings: &Settings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<ApiWebhook>, ConfigError> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (name, api) in &settings.apis {
        let Some(table) = &api.webhooks else {
            continue;
        };
        let key = format!("apis.{name}.webhooks");
        let built = serde_json::from_value::<WebhookScheme>(table.clone())
            .map_err(|e| e.to_string())
            .and_then(|scheme| ApiWebhook::new(name, scheme, &env).map_err(|e| e.to_string()));
        match built {
            Ok(w) => out.push(w),
            Err(message) => problems.push(Problem {
                key: Some(key),
                message,
                origin: None,
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// The router of `apis`, each delivery submitted to `ingest`.
pub(crate) fn router(
    apis: Vec<ApiWebhook>,
    ingest: Ingest,
    max_body: usize,
    commit_timeout: std::time::Duration,
    now: Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>,
) -> (Router, Arc<ApisMetrics>) {
    let metrics = Arc::new(ApisMetrics::default());
    if apis.is_empty() {
        return (Router::new(), metrics);
    }
    let state = ApisState {
        apis,
        sink: Arc::new(StoreSink::new(ingest)),
        now,
        max_body,
        commit_timeout,
        metrics: Arc::clone(&metrics),
    };
    (apiops_webhooks::apis::router(Arc::new(state)), metrics)
}

#[cfg(test)]
mod tests {
    //! The receivers `apiops serve` builds from `[apis.NAME]`, driven through the whole
    //! application in process: a signed delivery lands in the inbox once, a forged one nowhere.

    use std::net::SocketAddr;

    use apiops_core::{ApiName, Service};
    use apiops_webhooks::receiver::{ReceiverConfig, ReceiverMetrics, ReceiverState};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;

    const HOOK_SECRET: &str = "canary-gh-hook-secret-42";

    fn settings(dir: &std::path::Path, table: &str) -> Settings {
        let file = dir.join("apiops.toml");
        std::fs::write(
            &file,
            format!(
                "[apis.gh]\ngraphql = \"https://api.github.com/graphql\"\nwebhooks = {table}\n"
            ),
        )
        .expect("write");
        let env = crate::config::Environment::default();
        crate::config::load(&crate::config::Sources {
            locations: &crate::config::Locations {
                config_file: Some(file),
                data_dir: None,
                cache_dir: None,
            },
            explicit_file: None,
            env: &env,
            flags: Default::default(),
        })
        .expect("settings")
        .settings
    }

    fn env(v: &str) -> Option<String> {
        (v == "GH_HOOK").then(|| HOOK_SECRET.to_owned())
    }

    #[test]
    fn a_bad_table_or_an_unset_secret_is_a_config_error_naming_the_key() {
        let dir = tempfile::tempdir().expect("dir");
        let s = settings(dir.path(), r#"{ scheme = "github", secret_env = "UNSET" }"#);
        let e = receivers(&s, env).expect_err("unset").to_string();
        assert!(e.contains("apis.gh.webhooks") && e.contains("UNSET"), "{e}");
        let s = settings(dir.path(), r#"{ scheme = "nope", secret_env = "GH_HOOK" }"#);
        let e = receivers(&s, env).expect_err("bad scheme").to_string();
        assert!(e.contains("apis.gh.webhooks"), "{e}");
        assert!(!e.contains(HOOK_SECRET));
    }

    #[tokio::test]
    async fn serve_keeps_a_signed_delivery_once_and_a_forged_one_nowhere() {
        let dir = tempfile::tempdir().expect("dir");
        let s = settings(
            dir.path(),
            r#"{ scheme = "github", secret_env = "GH_HOOK" }"#,
        );
        let hooks = receivers(&s, env).expect("receivers");
        assert_eq!(hooks.len(), 1);
        let scheme = hooks[0].scheme.clone();
        let (store, ingest) = crate::server::test_store(dir.path()).await;
        let (apis, _metrics) = router(
            hooks,
            ingest.clone(),
            64 * 1024,
            std::time::Duration::from_secs(5),
            Arc::new(jiff::Timestamp::now),
        );
        let listen: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let app = crate::server::app(crate::server::Parts {
            receiver: Arc::new(ReceiverState {
                config: ReceiverConfig::default(),
                ingest,
                metrics: Arc::new(ReceiverMetrics::default()),
                now: Arc::new(jiff::Timestamp::now),
                reconciler: None,
            }),
            apis,
            dashboard: Router::new(),
            mcp: Router::new(),
            access: crate::dashboard::Access::for_listen(listen, None).expect("access"),
            limits: s.serve.limits(),
        });
        let body = r#"{"action":"opened","issue":{"number":7}}"#;
        let request = |secret: &str| {
            let mut req = Request::post("/webhooks/gh")
                .header("content-type", "application/json")
                .header("x-github-event", "issues");
            for (k, v) in scheme
                .sign(
                    body.as_bytes(),
                    secret,
                    jiff::Timestamp::now(),
                    "delivery-1",
                )
                .expect("sign")
            {
                req = req.header(k, v);
            }
            req.body(Body::from(body)).expect("request")
        };
        let forged = app
            .clone()
            .oneshot(request("not-the-secret"))
            .await
            .expect("answer");
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(store.inbox_count(None).await.expect("count"), 0);
        for want in [false, true] {
            let r = app
                .clone()
                .oneshot(request(HOOK_SECRET))
                .await
                .expect("answer");
            assert_eq!(r.status(), StatusCode::OK);
            let bytes = axum::body::to_bytes(r.into_body(), 1 << 16)
                .await
                .expect("body");
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            assert_eq!(v["duplicate"], want, "{v}");
        }
        let gh = Service::Api(ApiName::new("gh").expect("name"));
        assert_eq!(store.inbox_count(Some(gh)).await.expect("count"), 1);
        let rows = store.inbox_unprocessed(10).await.expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].event.service, rows[0].event.event_type.as_str()),
            (gh, "issues")
        );
    }
}
