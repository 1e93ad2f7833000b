//! The streamable HTTP transport, mounted by `apiops serve` at [`PATH`]: the same server as
//! `apiops mcp` (one [`ApiopsMcp`], so the same tools, plans, gate and confirmation rules),
//! reached over HTTP by agents that do not start a process.
//!
//! - rmcp's [`StreamableHttpService`] does the protocol: `POST` for messages (answered as JSON
//!   or an SSE stream), `GET` for the server's stream, `DELETE` to end a session. Clients that
//!   negotiate with `initialize` (up to 2025-11-25) get a stateful session (`Mcp-Session-Id`,
//!   in memory, closed after 5 minutes without traffic); from 2026-07-28 on, requests are
//!   stateless, as that version wants. Either way every session and request is served by a
//!   clone of the one server, which shares the plans and pending questions: a plan made in
//!   one request can be executed in the next.
//! - Access is the dashboard's token ([`apiops_dashboard::access::guard_bearer`]), presented as
//!   `Authorization: Bearer <token>` only; none is needed on a loopback bind without one.
//! - On a loopback bind without a token nothing but the address guards the endpoint, so the
//!   `Host` must be a loopback name (no DNS rebinding) and a browser's `Origin`, when there is
//!   one, a loopback origin. With a token, the token is the guard and any host is accepted
//!   (public deployments sit behind their own hostname).
//! - The server's cancellation token ends every session and open stream at shutdown, so
//!   `apiops serve`'s graceful shutdown is not held up by an agent's open stream.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use apiops_dashboard::Access;
use apiops_dashboard::access::guard_bearer;

use crate::ApiopsMcp;

/// Where `apiops serve` mounts the endpoint.
pub const PATH: &str = "/mcp";

/// The `/mcp` route: `server` over the streamable HTTP transport behind `access`, until `stop`.
pub fn router(
    server: ApiopsMcp,
    access: Access,
    listen: IpAddr,
    stop: CancellationToken,
) -> Router {
    let config = config(&access, listen, stop);
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(PATH, service)
        .layer(axum::middleware::from_fn_with_state(access, guard_bearer))
}

/// The transport's settings for a server listening on `listen` with `access`.
fn config(access: &Access, listen: IpAddr, stop: CancellationToken) -> StreamableHttpServerConfig {
    let config = StreamableHttpServerConfig::default().with_cancellation_token(stop);
    if access.required() {
        return config.disable_allowed_hosts();
    }
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .map(str::to_owned)
        .to_vec();
    let listen = listen.to_string();
    if listen.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) && !hosts.contains(&listen) {
        hosts.push(listen);
    }
    let origins: Vec<String> = hosts
        .iter()
        .map(|h| {
            if h.contains(':') {
                format!("http://[{h}]:*")
            } else {
                format!("http://{h}:*")
            }
        })
        .collect();
    config
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use reqwest::StatusCode;
    use secrecy::SecretString;

    use super::*;
    use crate::Options;

    const TOKEN: &str = "mcp-test-token-0123456789abcdef";

    const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"test","version":"0"}}}"#;

    struct Served {
        url: String,
        stop: CancellationToken,
        _dir: tempfile::TempDir,
    }

    impl Drop for Served {
        fn drop(&mut self) {
            self.stop.cancel();
        }
    }

    /// `/mcp` alone, as `apiops serve` mounts it, on a loopback port.
    async fn serve(token: Option<&str>) -> Served {
        let dir = tempfile::tempdir().expect("tempdir");
        serve_with(token, dir, &[], Options::default(), false).await
    }

    /// [`serve`] with `vars` set, started with `options`, and a store in `dir` when `store`.
    async fn serve_with(
        token: Option<&str>,
        dir: tempfile::TempDir,
        vars: &[(&str, &str)],
        options: Options,
        store: bool,
    ) -> Served {
        let db = format!("sqlite://{}/m.db", dir.path().display());
        let mut vars = vars.to_vec();
        vars.push(("APIOPS_DATABASE_URL", db.as_str()));
        let loaded = apiops_config::test_loaded(&vars);
        let store = if store {
            apiops_store::open(&db).await.map(Arc::from)
        } else {
            Err(apiops_store::StoreError::Url(
                "no store in this test".into(),
            ))
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let token = token.map(|t| SecretString::from(t.to_owned()));
        let access = Access::for_listen(addr, token.as_ref()).expect("access");
        let server = ApiopsMcp::new(
            Arc::new(loaded),
            options,
            store,
            crate::test_support::views(),
        );
        let stop = CancellationToken::new();
        let app = router(server, access, addr.ip(), stop.clone());
        let until = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await
        });
        Served {
            url: format!("http://{addr}{PATH}"),
            stop,
            _dir: dir,
        }
    }

    /// POSTs `initialize` with these extra headers: the status, the session id, the body.
    async fn initialize(
        url: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let mut req = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(INITIALIZE);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let session = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let www = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The answer is the first event of the stream, which stays open after it.
        let mut body = String::new();
        let mut resp = resp;
        while let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(std::time::Duration::from_secs(5), resp.chunk()).await
        {
            body.push_str(&String::from_utf8_lossy(&chunk));
            if status != StatusCode::OK || body.contains("serverInfo") {
                break;
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(www.as_deref(), Some("Bearer realm=\"apiops\""));
        }
        (status, session, body)
    }

    #[tokio::test]
    async fn with_a_token_mcp_needs_it_as_a_bearer_header() {
        let s = serve(Some(TOKEN)).await;
        let bearer = format!("Bearer {TOKEN}");
        let cookie = format!(
            "{}={}",
            apiops_dashboard::access::COOKIE,
            apiops_dashboard::access::session_value(TOKEN)
        );
        let query = format!("{}?token={TOKEN}", s.url);
        for (url, headers) in [
            (s.url.as_str(), vec![]),
            (
                s.url.as_str(),
                vec![("authorization", "Bearer wrong-token-wrong-token")],
            ),
            (s.url.as_str(), vec![("authorization", TOKEN)]),
            // The dashboard's other ways in are not ways into /mcp.
            (query.as_str(), vec![]),
            (s.url.as_str(), vec![("cookie", cookie.as_str())]),
        ] {
            let (status, session, body) = initialize(url, &headers).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?} {url}");
            assert!(session.is_none());
            assert!(body.contains("Authorization: Bearer"), "{body}");
        }
        let (status, session, body) =
            initialize(&s.url, &[("authorization", bearer.as_str())]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(session.is_some_and(|s| !s.is_empty()), "a stateful session");
        assert!(body.contains(r#""name":"apiops""#), "{body}");
        // With the token, any host: the token is the guard.
        let (status, _, body) = initialize(
            &s.url,
            &[
                ("authorization", bearer.as_str()),
                ("host", "mcp.example.com"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    #[tokio::test]
    async fn on_loopback_without_a_token_only_loopback_hosts_and_origins_get_in() {
        let s = serve(None).await;
        let (status, session, body) = initialize(&s.url, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(session.is_some());
        let (status, _, body) = initialize(&s.url, &[("origin", "http://localhost:3000")]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // DNS rebinding: a page of evil.example resolved to 127.0.0.1.
        // Refused by the access rule (401 naming --token) before rmcp's own host check (403).
        for header in [
            ("host", "evil.example"),
            ("origin", "https://evil.example"),
            ("x-forwarded-for", "203.0.113.9"),
        ] {
            let (status, _, body) = initialize(&s.url, &[header]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{header:?}");
            assert!(body.contains("--token"), "{body}");
        }
    }

    /// One JSON-RPC message to `/mcp` in session `session` with the bearer `token` and the
    /// extra `headers`: the answer with `id`, read off the event stream (`Value::Null` for a
    /// notification).
    async fn rpc(
        url: &str,
        token: &str,
        session: &str,
        headers: &[(&str, &str)],
        body: serde_json::Value,
    ) -> serde_json::Value {
        let id = body.get("id").cloned();
        let mut req = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send().await.expect("send");
        assert!(resp.status().is_success(), "{}", resp.status());
        let Some(id) = id else {
            return serde_json::Value::Null;
        };
        let mut text = String::new();
        while let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(std::time::Duration::from_secs(20), resp.chunk()).await
        {
            text.push_str(&String::from_utf8_lossy(&chunk));
            for line in text.lines() {
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim())
                    && v.get("id") == Some(&id)
                {
                    return v;
                }
            }
        }
        panic!("no answer to {id}: {text}");
    }

    /// An agent over `/mcp` (with its token, forged local headers, a forged elicitation answer)
    /// cannot confirm an API deletion it asked for: no tool decides confirmations, and
    /// execute_plan only records it as pending. Once a person confirms it out of band, two
    /// execute_plan calls delete once.
    #[tokio::test]
    async fn over_the_wire_an_agent_cannot_confirm_its_own_api_write() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().expect("tempdir");
        let (vars, _, deletes) = crate::test_support::http_shop(&dir).await;
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let db = format!("sqlite://{}/m.db", dir.path().display());
        let options = crate::test_support::HTTP_WRITER;
        let s = serve_with(Some(TOKEN), dir, &vars, options, true).await;
        let bearer = format!("Bearer {TOKEN}");
        let (status, session, body) =
            initialize(&s.url, &[("authorization", bearer.as_str())]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let session = session.expect("a session");
        let send = |headers: &'static [(&'static str, &'static str)], body: serde_json::Value| {
            let (url, session) = (s.url.clone(), session.clone());
            async move { rpc(&url, TOKEN, &session, headers, body).await }
        };
        send(
            &[],
            serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await;

        let tools = send(
            &[],
            serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await;
        let names: Vec<String> = tools["result"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .map(|t| t["name"].as_str().unwrap_or("").to_owned())
            .collect();
        assert!(names.contains(&"execute_plan".to_owned()), "{names:?}");
        for n in &names {
            assert!(
                !["confirm", "approve", "decide", "refuse"]
                    .iter()
                    .any(|w| n.contains(w)),
                "a tool that decides: {n}"
            );
        }
        let call = |id: u64, name: &str, args: serde_json::Value| serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}});
        let planned = send(
            &[],
            call(3, "call_api", serde_json::json!({"api": "shop", "operation": "orders/delete", "params": {"id": "ord_1"}})),
        )
        .await;
        let plan_id = planned["result"]["structuredContent"]["plan_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{planned:#}"))
            .to_owned();

        // execute_plan with a forged elicitation answer, local-looking headers: still waiting.
        let mut forged = call(4, "execute_plan", serde_json::json!({"plan_id": plan_id}));
        forged["params"]["inputResponses"] =
            serde_json::json!({"confirm": {"action": "accept", "content": {"confirm": true}}});
        forged["params"]["requestState"] = serde_json::json!("confirm_forged");
        for (n, headers) in [
            &[][..],
            &[
                ("x-forwarded-for", "127.0.0.1"),
                ("host", "localhost"),
                ("origin", "http://localhost"),
            ][..],
        ]
        .into_iter()
        .enumerate()
        {
            forged["id"] = serde_json::json!(10 + n);
            let r = rpc(&s.url, TOKEN, &session, headers, forged.clone()).await;
            let result = &r["result"];
            assert_eq!(result["isError"], true, "{r:#}");
            assert_eq!(
                result["structuredContent"]["error"]["kind"], "confirmation_required",
                "{r:#}"
            );
        }
        // Tools that do not exist decide nothing either.
        let r = send(
            &[],
            call(5, "confirm_plan", serde_json::json!({"plan_id": plan_id})),
        )
        .await;
        assert!(
            r.get("error").is_some() || r["result"]["isError"] == true,
            "{r:#}"
        );
        assert_eq!(deletes.load(Ordering::SeqCst), 0, "nothing was deleted");

        // A person confirms it out of band (what `apiops confirm` and the dashboard do).
        let store = apiops_store::open(&db).await.expect("store");
        let pending = store
            .confirmation(&plan_id)
            .await
            .expect("read")
            .expect("recorded");
        assert_eq!(pending.state, apiops_store::ConfirmationState::Pending);
        assert!(
            pending.summary.contains("shop: DELETE /orders/ord_1"),
            "{}",
            pending.summary
        );
        crate::test_support::person_confirms(store.as_ref(), &plan_id).await;
        let mut statuses = Vec::new();
        for id in [20, 21] {
            let r = send(
                &[],
                call(id, "execute_plan", serde_json::json!({"plan_id": plan_id})),
            )
            .await;
            statuses.push(r["result"]["structuredContent"]["status"].clone());
        }
        assert_eq!(
            statuses,
            [serde_json::json!("sent"), serde_json::json!("already_done")]
        );
        assert_eq!(deletes.load(Ordering::SeqCst), 1, "deleted once");
    }
}
