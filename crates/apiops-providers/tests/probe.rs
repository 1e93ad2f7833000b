//! `audit --probe`'s reachability probe against its own targets on 127.0.0.1 (allowed only
//! through the test-only loopback allowance): 200, 404, 500, a 301, a POST-only endpoint, a
//! self-signed certificate and a server that never answers; and without the allowance, a
//! loopback target is reported unreachable by policy while its listener counts 0 connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apiops_providers::probe::{Outcome, Prober, USER_AGENT};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A plain HTTP server answering by path; counts connections and remembers the last request.
struct Target {
    port: u16,
    connections: Arc<AtomicUsize>,
    last: Arc<std::sync::Mutex<String>>,
}

async fn http_target() -> Target {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(String::new()));
    let (count, seen) = (Arc::clone(&connections), Arc::clone(&last));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let mut words = head.split_whitespace();
                let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let (status, extra) = match (method, path) {
                    (_, "/ok") => ("200 OK", ""),
                    (_, "/missing") => ("404 Not Found", ""),
                    (_, "/broken") => ("500 Internal Server Error", ""),
                    (_, "/moved") => (
                        "301 Moved Permanently",
                        "Location: https://hooks.example.com/new\r\n",
                    ),
                    ("HEAD", "/get-only") => ("405 Method Not Allowed", ""),
                    ("GET", "/get-only") => ("200 OK", ""),
                    (_, "/post-only") => ("405 Method Not Allowed", ""),
                    _ => ("404 Not Found", ""),
                };
                *seen.lock().expect("lock") = head;
                let resp = format!(
                    "HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    Target {
        port,
        connections,
        last,
    }
}

/// A TLS server with a self-signed certificate for 127.0.0.1.
async fn self_signed_target() -> u16 {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("cert");
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).expect("key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // The client refuses the certificate; the handshake ends there.
                let _ = acceptor.accept(sock).await;
            });
        }
    });
    port
}

/// Accepts connections and never answers.
async fn silent_target() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    (port, task)
}

fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

#[tokio::test]
async fn each_answer_is_reported_as_the_provider_would_meet_it() {
    install_crypto();
    let t = http_target().await;
    let prober = Prober::new().allowing_loopback_for_tests();
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", t.port);

    let r = prober.probe(&url("/ok")).await;
    assert_eq!(r.outcome, Outcome::Reachable { status: 200 }, "{r:?}");
    assert_eq!(r.method, Some("HEAD"));
    let head = t.last.lock().expect("lock").clone();
    assert!(head.starts_with("HEAD /ok "), "{head}");
    assert!(
        head.contains(USER_AGENT),
        "the user agent names apiops: {head}"
    );
    assert!(
        !head.to_lowercase().contains("content-length: "),
        "no body: {head}"
    );

    for (path, status) in [("/missing", 404), ("/broken", 500)] {
        let r = prober.probe(&url(path)).await;
        assert_eq!(
            r.outcome,
            Outcome::HttpStatus {
                status,
                location: None
            },
            "{path}: {r:?}"
        );
    }
    let before = t.connections.load(Ordering::SeqCst);
    let r = prober.probe(&url("/moved")).await;
    assert_eq!(
        r.outcome,
        Outcome::HttpStatus {
            status: 301,
            location: Some("https://hooks.example.com/new".to_owned())
        },
        "{r:?}"
    );
    assert!(r.outcome.describe().contains("do not follow redirects"));
    // The redirect was not followed: one connection, to the target itself.
    assert_eq!(t.connections.load(Ordering::SeqCst), before + 1);

    let r = prober.probe(&url("/get-only")).await;
    assert_eq!(r.outcome, Outcome::Reachable { status: 200 }, "{r:?}");
    assert_eq!(r.method, Some("GET"), "HEAD refused, GET tried");
    let r = prober.probe(&url("/post-only")).await;
    assert_eq!(r.outcome, Outcome::Reachable { status: 405 }, "{r:?}");
    assert!(r.outcome.describe().contains("POST only"));
}

#[tokio::test]
async fn a_self_signed_certificate_is_a_tls_error_naming_the_problem() {
    install_crypto();
    let port = self_signed_target().await;
    let r = Prober::new()
        .allowing_loopback_for_tests()
        .probe(&format!("https://127.0.0.1:{port}/hook"))
        .await;
    match &r.outcome {
        Outcome::TlsError { problem } => {
            assert!(
                problem.contains("not signed by a trusted authority"),
                "{problem}"
            );
        }
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    install_crypto();
    let (port, task) = silent_target().await;
    let r = Prober::new()
        .allowing_loopback_for_tests()
        .probe(&format!("http://127.0.0.1:{port}/hook"))
        .await;
    assert_eq!(r.outcome, Outcome::Timeout, "{r:?}");
    assert!(r.latency_ms >= 4_900, "the 5 s timeout: {r:?}");
    task.abort();
}

#[tokio::test]
async fn without_the_allowance_loopback_is_refused_and_never_contacted() {
    install_crypto();
    let t = http_target().await;
    let prober = Prober::new();
    for url in [
        format!("http://127.0.0.1:{}/ok", t.port),
        format!("http://localhost:{}/ok", t.port),
        format!("http://[::1]:{}/ok", t.port),
    ] {
        let r = prober.probe(&url).await;
        assert!(
            matches!(r.outcome, Outcome::UnreachableByPolicy { .. }),
            "{url}: {r:?}"
        );
        assert!(r.outcome.describe().contains("not contacted"), "{r:?}");
    }
    assert_eq!(
        t.connections.load(Ordering::SeqCst),
        0,
        "no connection was made"
    );
    // The allowance covers loopback only: a private address is still refused, unsent.
    let r = Prober::new()
        .allowing_loopback_for_tests()
        .probe(&format!("http://10.20.0.15:{}/ok", t.port))
        .await;
    assert!(
        matches!(r.outcome, Outcome::UnreachableByPolicy { .. }),
        "{r:?}"
    );
    assert_eq!(t.connections.load(Ordering::SeqCst), 0);
}
