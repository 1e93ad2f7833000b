//! A local HTTP server on 127.0.0.1 that records every request and answers 200: where `apiops`
//! sends webhook test events and alert notifications in tests.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Uri};

/// A request as the receiver got it.
#[derive(Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Received {
    /// The value of header `name` (any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} got a body that is not JSON ({e}): {}",
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// The receiver: its base URL (any path under it is received) and what it got.
pub(crate) struct Receiver {
    _rt: tokio::runtime::Runtime,
    pub(crate) base: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub(crate) fn start() -> Receiver {
        let rt = super::runtime();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = Arc::clone(&got);
        let app = axum::Router::new().fallback(
            move |uri: Uri, headers: HeaderMap, body: Bytes| async move {
                log.lock().expect("lock").push(Received {
                    path: uri.path().to_owned(),
                    headers,
                    body,
                });
                "ok"
            },
        );
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            _rt: rt,
            base: format!("http://{addr}"),
            got,
        }
    }

    /// Every request so far, in arrival order.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    /// Every request so far, one line each, for failure messages.
    pub(crate) fn all(&self) -> String {
        self.received()
            .iter()
            .map(|r| format!("{} {}\n", r.path, String::from_utf8_lossy(&r.body)))
            .collect()
    }
}
