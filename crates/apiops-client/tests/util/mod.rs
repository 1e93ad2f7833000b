//! A scripted HTTP/1.1 server on 127.0.0.1:0 for fault-injection tests: each connection's
//! request is recorded and answered by the next step of a script — a response (status, headers,
//! body), a hang (never answers, so the client times out), or a reset (the socket is closed
//! with SO_LINGER 0, so the client sees a connection reset).

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Step {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    Hang,
    Reset,
}

pub fn status(code: u16) -> Step {
    Step::Respond {
        status: code,
        headers: vec![],
        body: String::new(),
    }
}

pub fn json(code: u16, body: &str) -> Step {
    Step::Respond {
        status: code,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_owned(),
    }
}

pub fn with_header(code: u16, name: &str, value: &str) -> Step {
    Step::Respond {
        status: code,
        headers: vec![(name.into(), value.into())],
        body: String::new(),
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct Shared {
    script: VecDeque<Step>,
    /// Answer used once the script is exhausted.
    fallback: Option<Step>,
    seen: Vec<Seen>,
}

/// The server handle: its address, its script, what it saw.
#[derive(Debug, Clone)]
pub struct FaultServer {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl FaultServer {
    pub async fn start(script: Vec<Step>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Mutex::new(Shared {
            script: script.into(),
            fallback: Some(status(200)),
            seen: vec![],
        }));
        let s2 = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let s3 = Arc::clone(&s2);
                tokio::spawn(async move { serve_connection(sock, s3).await });
            }
        });
        FaultServer { addr, shared }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn push(&self, steps: impl IntoIterator<Item = Step>) {
        self.shared.lock().expect("lock").script.extend(steps);
    }

    pub fn set_fallback(&self, step: Step) {
        self.shared.lock().expect("lock").fallback = Some(step);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().expect("lock").seen.clone()
    }

    pub fn hits(&self) -> usize {
        self.shared.lock().expect("lock").seen.len()
    }
}

async fn serve_connection(mut sock: TcpStream, shared: Arc<Mutex<Shared>>) {
    loop {
        let Some(seen) = read_request(&mut sock).await else {
            return;
        };
        let step = {
            let mut s = shared.lock().expect("lock");
            s.seen.push(seen);
            s.script
                .pop_front()
                .or_else(|| s.fallback.clone())
                .unwrap_or(Step::Reset)
        };
        match step {
            Step::Respond {
                status,
                headers,
                body,
            } => {
                let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                if sock.write_all(out.as_bytes()).await.is_err() {
                    return;
                }
            }
            Step::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Step::Reset => {
                let _ = sock.set_zero_linger();
                drop(sock);
                return;
            }
        }
    }
}

async fn read_request(sock: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}
