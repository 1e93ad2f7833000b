//! Benchmark: `apiops serve` under a slowloris attack (issue 13).
//!
//! `apiops serve` (release, its own process, default `[serve]` limits: header-read timeout 10 s)
//! gets 500 connections that each send half a request head and then go silent. While they
//! hang, signed Stripe events arrive on other connections at a fixed rate (500/s for 10 s, 8
//! connections): their p50 and p99 latency are the figure (the target: p99 < 50 ms). Then the
//! time until the server has closed every slow connection (the target: all within 15 s).
//!
//! Run: `cargo build --release -p apiops -p apiops-benches && ./target/release/slowloris`
//! (`APIOPS_BENCH_RUNS`, default 3: medians of the runs are printed last).

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apiops_sim::emit::{EmitConfig, EmitProvider};

const SECRET: &str = "whsec_bench_slowloris_secret_0123456789";
const SLOW: usize = 500;

struct Served {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Result<Served, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/apiops");
    let mut child = Command::new(&bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--reconcile-every",
            "0s",
        ])
        .arg("--db")
        .arg(format!("sqlite://{}/slowloris.db", dir.path().display()))
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("APIOPS_MONITOR_ENABLED", "false")
        .env("APIOPS_LOG", "error")
        .env("HOME", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "starting {}: {e} (cargo build --release -p apiops)",
                bin.display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected {line:?}"))?
        .to_owned();
    Ok(Served {
        child,
        url,
        _dir: dir,
    })
}

/// What one run saw.
struct Run {
    p50_ms: f64,
    p99_ms: f64,
    acknowledged: usize,
    sent: usize,
    /// Seconds until every slow connection was seen closed.
    closed_s: f64,
}

fn run(rt: &tokio::runtime::Runtime, seed: u64) -> Result<Run, Box<dyn std::error::Error>> {
    let served = serve()?;
    let addr = served.url.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        let mut s = TcpStream::connect(&addr)?;
        s.write_all(b"POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app")?;
        slow.push(s);
    }
    let report = rt.block_on(apiops_sim::emit::emit(EmitConfig {
        target: format!("{}/webhooks/stripe", served.url).parse()?,
        public_url: None,
        provider: EmitProvider::Stripe,
        count: 5_000,
        rate: 500.0,
        concurrency: 8,
        duplicate_rate: 0.0,
        bad_signature_rate: 0.0,
        secret: SECRET.into(),
        seed,
        allow_non_loopback: false,
        timeout: Duration::from_secs(30),
        acked_log: None,
    }))?;
    let mut last_close = Duration::ZERO;
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut buf = [0u8; 256];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => return Err(format!("a slow connection stayed open: {e}").into()),
            }
        }
        last_close = last_close.max(started.elapsed());
    }
    Ok(Run {
        p50_ms: report.p50_ms,
        p99_ms: report.p99_ms,
        acknowledged: report.acknowledged,
        sent: report.sent,
        closed_s: last_close.as_secs_f64(),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::var("APIOPS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let (mut p50s, mut p99s, mut closes) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let r = run(&rt, 7 + i as u64)?;
        println!(
            "run {}: {SLOW} slow connections; signed webhooks {}/{} acknowledged, p50 {:.1} ms, p99 {:.1} ms; every slow connection closed after {:.1} s",
            i + 1,
            r.acknowledged,
            r.sent,
            r.p50_ms,
            r.p99_ms,
            r.closed_s
        );
        p50s.push(r.p50_ms);
        p99s.push(r.p99_ms);
        closes.push(r.closed_s);
    }
    println!(
        "median of {runs}: p50 {:.1} ms, p99 {:.1} ms, all slow connections closed after {:.1} s",
        median(p50s),
        median(p99s),
        median(closes)
    );
    Ok(())
}
