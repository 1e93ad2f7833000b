//! Loopback targets for the tests of the webhook reachability probe (`apiops audit --probe`,
//! the monitor's `probe_webhooks`): a plain HTTP server answering 200, 404, 500 or a 301 by
//! path, a TLS server with a self-signed certificate, and a server that accepts connections and
//! never answers. Each listener counts the connections it accepted, so a test can show that a
//! target refused by policy was never contacted.
//!
//! Started with the simulator when [`crate::SimConfig::probe_targets`] is set: the simulator's
//! Stripe webhook endpoints are then one per target (described `probe target: NAME`) and one
//! on a private address ([`PRIVATE_URL`], which must be reported without any connection), so
//! the audit lists exactly these URLs and nothing points outside the machine. The targets are
//! on 127.0.0.1, which the probe's SSRF guard refuses: only a test that grants the probe its
//! test-only loopback allowance reaches them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One target, and what it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeTarget {
    /// `200 OK`.
    Ok,
    /// `404 Not Found`.
    Missing,
    /// `500 Internal Server Error`.
    Broken,
    /// `301 Moved Permanently` to `https://hooks.example.com/moved-here`.
    Moved,
    /// TLS with a self-signed certificate for 127.0.0.1 (the handshake fails at the client).
    SelfSigned,
    /// Accepts the connection and never answers.
    Silent,
}

impl ProbeTarget {
    /// Every target, in a fixed order.
    pub const ALL: [ProbeTarget; 6] = [
        ProbeTarget::Ok,
        ProbeTarget::Missing,
        ProbeTarget::Broken,
        ProbeTarget::Moved,
        ProbeTarget::SelfSigned,
        ProbeTarget::Silent,
    ];

    /// Its name (also its path on the plain server).
    pub fn name(self) -> &'static str {
        match self {
            ProbeTarget::Ok => "ok",
            ProbeTarget::Missing => "missing",
            ProbeTarget::Broken => "broken",
            ProbeTarget::Moved => "moved",
            ProbeTarget::SelfSigned => "self-signed",
            ProbeTarget::Silent => "silent",
        }
    }
}

/// The private-address endpoint added beside the targets: refused by the probe's guard,
/// never contacted (nothing listens there).
pub const PRIVATE_URL: &str = "https://10.20.0.15/stripe/webhook";

/// Where the 301 target points.
pub const MOVED_TO: &str = "https://hooks.example.com/moved-here";

/// The running targets; they stop when this is dropped.
#[derive(Debug)]
pub struct ProbeTargets {
    plain: SocketAddr,
    tls: SocketAddr,
    silent: SocketAddr,
    connections: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl ProbeTargets {
    /// Binds the three listeners on 127.0.0.1 and serves them in the background.
    pub async fn start() -> std::io::Result<Self> {
        let connections = Arc::new(AtomicUsize::new(0));
        let bind = || TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)));
        let (plain, tls, silent) = (bind().await?, bind().await?, bind().await?);
        let addrs = (plain.local_addr()?, tls.local_addr()?, silent.local_addr()?);
        let acceptor = self_signed_acceptor()?;
        let tasks = vec![
            tokio::spawn(serve(plain, Arc::clone(&connections), |sock| {
                Box::pin(answer_by_path(sock))
            })),
            tokio::spawn(serve(tls, Arc::clone(&connections), move |sock| {
                let acceptor = acceptor.clone();
                // The client refuses the certificate; the handshake ends there.
                Box::pin(async move {
                    let _ = acceptor.accept(sock).await;
                })
            })),
            tokio::spawn(serve(silent, Arc::clone(&connections), |sock| {
                Box::pin(async move {
                    // Hold the connection open without a word until the client gives up.
                    let mut sock = sock;
                    let mut sink = [0u8; 1024];
                    while matches!(sock.read(&mut sink).await, Ok(n) if n > 0) {}
                })
            })),
        ];
        Ok(ProbeTargets {
            plain: addrs.0,
            tls: addrs.1,
            silent: addrs.2,
            connections,
            tasks,
        })
    }

    /// The URL of `target`.
    pub fn url(&self, target: ProbeTarget) -> String {
        match target {
            ProbeTarget::SelfSigned => format!("https://{}/hook", self.tls),
            ProbeTarget::Silent => format!("http://{}/hook", self.silent),
            plain => format!("http://{}/{}", self.plain, plain.name()),
        }
    }

    /// The Stripe webhook endpoints that stand for the targets: `(url, description)`, each
    /// target in [`ProbeTarget::ALL`]'s order, then [`PRIVATE_URL`].
    pub fn endpoints(&self) -> Vec<(String, String)> {
        ProbeTarget::ALL
            .iter()
            .map(|t| (self.url(*t), format!("probe target: {}", t.name())))
            .chain([(
                PRIVATE_URL.to_owned(),
                "probe target: private address".to_owned(),
            )])
            .collect()
    }

    /// Connections accepted so far, over every target.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for ProbeTargets {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

type Handler =
    dyn Fn(TcpStream) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static;

/// Accepts connections, counts them, and hands each to `handle` in a task of its own.
async fn serve(
    listener: TcpListener,
    count: Arc<AtomicUsize>,
    handle: impl Fn(TcpStream) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
    + Send
    + Sync
    + 'static,
) {
    let handle: Arc<Handler> = Arc::new(handle);
    let mut held = tokio::task::JoinSet::new();
    while let Ok((sock, _)) = listener.accept().await {
        count.fetch_add(1, Ordering::SeqCst);
        held.spawn(handle(sock));
        while held.try_join_next().is_some() {}
    }
}

/// Reads a request head (at most 16 KiB) and answers by path, with no body.
async fn answer_by_path(mut sock: TcpStream) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split_whitespace().nth(1).unwrap_or("/");
    let (status, extra) = match path {
        "/ok" => ("200 OK", String::new()),
        "/broken" => ("500 Internal Server Error", String::new()),
        "/moved" => ("301 Moved Permanently", format!("Location: {MOVED_TO}\r\n")),
        _ => ("404 Not Found", String::new()),
    };
    let resp =
        format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// A TLS acceptor with a fresh self-signed certificate for 127.0.0.1.
fn self_signed_acceptor() -> std::io::Result<tokio_rustls::TlsAcceptor> {
    let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).map_err(|e| other(&e))?;
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
        .map_err(|e| other(&e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| other(&e))?
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .map_err(|e| other(&e))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
