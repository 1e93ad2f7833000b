//! What the unit tests share: views that render plainly (the binary's renderers are not here),
//! and a loopback API with writes to plan (`shop_with`).

use std::sync::Arc;

use apiops_ops::{Operation, ReadAnswer};
use apiops_providers::views::ReportView;
use serde_json::{Value, json};

use crate::Views;

/// The report as its JSON in a Markdown heading, a read's answer as its operation's name.
#[derive(Debug)]
pub(crate) struct PlainViews;

impl Views for PlainViews {
    fn report_markdown(&self, report: &ReportView) -> String {
        format!(
            "# apiops report\n\n{}\n",
            serde_json::to_string(report).unwrap_or_default()
        )
    }

    fn read_table(&self, op: &Operation, _answer: ReadAnswer) -> Value {
        json!({"operation": op.kind().name(), "rows": []})
    }
}

/// [`PlainViews`], shared.
pub(crate) fn views() -> Arc<dyn Views> {
    Arc::new(PlainViews)
}

/// A loopback API whose creation fails once (422, only when `fail_first`) then succeeds,
/// keeping each creation's idempotency key, and whose deletions are counted; its document
/// (`shop.yaml`) written in `dir`: the base URL, the document's path, the keys, the deletions.
pub(crate) async fn shop_with(
    dir: &tempfile::TempDir,
    fail_first: bool,
) -> (
    String,
    String,
    Arc<std::sync::Mutex<Vec<String>>>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let keys = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let deletes = Arc::new(AtomicUsize::new(0));
    let (k, d) = (Arc::clone(&keys), Arc::clone(&deletes));
    let app = axum::Router::new()
        .route(
            "/orders",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let mut seen = k.lock().expect("lock");
                seen.push(key);
                let first = fail_first && seen.len() == 1;
                async move {
                    if first {
                        (
                            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                            axum::Json(json!({"error": {"code": "busy", "message": "try again"}})),
                        )
                    } else {
                        (
                            axum::http::StatusCode::CREATED,
                            axum::Json(json!({"id": "ord_1"})),
                        )
                    }
                }
            }),
        )
        .route(
            "/orders/{id}",
            axum::routing::delete(move || {
                d.fetch_add(1, Ordering::SeqCst);
                async { axum::http::StatusCode::NO_CONTENT }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let spec = dir.path().join("shop.yaml");
    std::fs::write(
        &spec,
        r#"openapi: 3.0.3
info: {title: Shop, version: "1"}
paths:
  /orders:
    post:
      operationId: orders/create
      summary: Create an order
      parameters: [{name: Idempotency-Key, in: header, schema: {type: string}}]
      requestBody:
        required: true
        content: {application/json: {schema: {type: object}}}
      responses: {"201": {description: created}}
  /orders/{id}:
    delete:
      operationId: orders/delete
      summary: Delete an order
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"204": {description: gone}}
"#,
    )
    .expect("write");
    (base, spec.display().to_string(), keys, deletes)
}

/// The options of a server over MCP HTTP started with `--allow-execute`.
pub(crate) const HTTP_WRITER: crate::Options = crate::Options {
    read_only: false,
    allow_execute: true,
    transport: crate::confirm::Transport::Http,
};

/// The shop of [`shop_with`] (its creations never fail) configured as the API `shop`: the
/// variables that configure it, the keys it saw, its deletions.
pub(crate) async fn http_shop(
    dir: &tempfile::TempDir,
) -> (
    Vec<(&'static str, String)>,
    Arc<std::sync::Mutex<Vec<String>>>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let (base, spec, keys, deletes) = shop_with(dir, false).await;
    let vars = vec![
        ("APIOPS_APIS_SHOP_SPEC", spec),
        ("APIOPS_APIS_SHOP_BASE_URL", base),
    ];
    (vars, keys, deletes)
}

/// A person's yes to the pending confirmation `id`, as `apiops confirm` records it.
pub(crate) async fn person_confirms(store: &dyn apiops_store::Store, id: &str) {
    let decided = store
        .confirmation_decide(
            id,
            apiops_store::ConfirmationState::Confirmed,
            "terminal",
            jiff::Timestamp::now(),
        )
        .await
        .expect("decide");
    assert!(decided, "{id} was pending");
}
