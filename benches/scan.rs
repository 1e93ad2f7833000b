//! Benchmark: scanning 24 h of Twilio messages for failures, against `apiops sim` serving them
//! with 50 ms latency and a concurrency cap of 100 (issue 4).
//!
//! The simulator runs as its own process (`apiops sim`, release build), so this process's peak
//! memory (VmHWM) is the scanner's alone. Figures:
//! - our windowed concurrent scan (the Twilio provider's `errors()`): time, pages, the bound that
//!   latency and the cap allow (`ceil(pages / cap) x latency`), and the failures found;
//! - the official Python SDK's sequential auto-paging over the same simulator and window
//!   (`client.messages.stream(date_sent_after=..., page_size=1000)`), when `.venv` has it;
//! - peak memory of the scan for 200,000 and 1,000,000 messages (each in a child process).
//!
//! Each figure is the median of `APIOPS_BENCH_RUNS` runs (default 3), peak memory the largest.
//!
//! Run: `cargo run --release -p apiops-benches --bin scan -- [messages...]`
//! (needs `target/release/apiops`: `cargo build --release -p apiops`).

use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use apiops_providers::twilio::{Twilio, TwilioConfig};
use apiops_providers::{ClientTuning, Progress, Provider, TimeWindow};
use futures::StreamExt;

const LATENCY_MS: u64 = 50;
const CAP: usize = 100;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Sim {
    child: Child,
    env: HashMap<String, String>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn start_sim(messages: usize, anchor: &str) -> Result<Sim, Box<dyn std::error::Error>> {
    let bin = workspace().join("target/release/apiops");
    let mut child = Command::new(&bin)
        .args([
            "sim",
            "--print-env",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "3",
            "--messages",
            &messages.to_string(),
            "--history",
            "24h",
            "--anchor",
            anchor,
            "--latency",
            &format!("{LATENCY_MS}ms"),
            "--twilio-concurrency",
            &CAP.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "starting {}: {e} (build it with cargo build --release -p apiops)",
                bin.display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut env = HashMap::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            env.insert(k.to_owned(), v.to_owned());
        }
        if env.contains_key("OPENAI_WEBHOOK_SECRET") {
            break;
        }
    }
    Ok(Sim { child, env })
}

struct ScanResult {
    secs: f64,
    pages: u64,
    items: u64,
    failures: u64,
    peak_mib: f64,
}

async fn scan(sim: &Sim, window: TimeWindow) -> Result<ScanResult, Box<dyn std::error::Error>> {
    let e = &sim.env;
    let twilio = Twilio::new(TwilioConfig {
        api_url: e["APIOPS_TWILIO_API_URL"].parse()?,
        monitor_url: e["APIOPS_TWILIO_MONITOR_URL"].parse()?,
        messaging_url: e["APIOPS_TWILIO_MESSAGING_URL"].parse()?,
        pricing_url: e["APIOPS_TWILIO_PRICING_URL"].parse()?,
        account_sid: Some(e["TWILIO_ACCOUNT_SID"].clone().into()),
        auth_token: Some(e["TWILIO_AUTH_TOKEN"].clone().into()),
        api_key: None,
        api_secret: None,
        max_concurrency: CAP,
        tuning: ClientTuning::default(),
    })?;
    let progress = Progress::default();
    let t = Instant::now();
    let mut stream = twilio.errors(window, progress.clone());
    let mut failures = 0u64;
    while let Some(item) = stream.next().await {
        let event = item?;
        if event.resource_type == "message" {
            failures += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let (pages, items, _) = progress.snapshot();
    Ok(ScanResult {
        secs,
        pages,
        items,
        failures,
        peak_mib: peak_rss_mib(),
    })
}

fn python_baseline(sim: &Sim, since: &str) -> Option<(f64, u64)> {
    let python = workspace().join(".venv/bin/python");
    if !python.exists() {
        return None;
    }
    let script = r#"
import os, sys, time
from twilio.rest import Client
from twilio.http.http_client import TwilioHttpClient
class Local(TwilioHttpClient):
    def request(self, method, url, *a, **k):
        return super().request(method, url.replace("https://api.twilio.com", os.environ["APIOPS_TWILIO_API_URL"]), *a, **k)
from datetime import datetime
c = Client(os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"], http_client=Local())
since = datetime.fromisoformat(sys.argv[1])
t = time.time()
failed = sum(1 for m in c.messages.stream(date_sent_after=since, page_size=1000) if m.status in ("failed", "undelivered"))
print(time.time() - t, failed)
"#;
    let out = Command::new(python)
        .args(["-c", script, since])
        .envs(&sim.env)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn anchor() -> jiff::Timestamp {
    let now = jiff::Timestamp::now().as_second();
    jiff::Timestamp::from_second(now - now.rem_euclid(3600)).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn window(anchor: jiff::Timestamp) -> TimeWindow {
    TimeWindow {
        since: anchor
            .checked_sub(jiff::SignedDuration::from_hours(24))
            .unwrap_or(anchor),
        until: anchor
            .checked_add(jiff::SignedDuration::from_secs(1))
            .unwrap_or(anchor),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = anchor();
    if args.first().map(String::as_str) == Some("--child") {
        // One scan in a fresh process, for its peak memory.
        let n: usize = args.get(1).ok_or("count")?.parse()?;
        let sim = start_sim(n, &a.to_string())?;
        let r = rt.block_on(scan(&sim, window(a)))?;
        println!(
            "{} {} {} {} {:.1}",
            r.secs, r.pages, r.items, r.failures, r.peak_mib
        );
        return Ok(());
    }
    let runs: usize = std::env::var("APIOPS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let sizes: Vec<usize> = if args.is_empty() {
        vec![200_000, 1_000_000]
    } else {
        args.iter().map(|s| s.parse()).collect::<Result<_, _>>()?
    };
    println!(
        "| messages in 24 h | our scan | pages | bound ceil(pages/{CAP}) x {LATENCY_MS} ms | failures found | peak RSS | Python SDK sequential | speed-up |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for n in sizes {
        let mut times = Vec::new();
        let (mut pages, mut failures, mut peak) = (0.0, 0.0, 0.0f64);
        for _ in 0..runs {
            let out = Command::new(std::env::current_exe()?)
                .args(["--child", &n.to_string()])
                .output()?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let v: Vec<f64> = text
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            let [secs, p, _items, f, pk] = v[..] else {
                return Err(format!(
                    "child failed: {text} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            };
            times.push(secs);
            (pages, failures, peak) = (p, f, peak.max(pk));
        }
        let secs = median(&mut times);
        let bound = (pages / CAP as f64).ceil() * LATENCY_MS as f64 / 1000.0;
        let (py, speedup) = if n <= 200_000 {
            let sim = start_sim(n, &a.to_string())?;
            let mut py_times = Vec::new();
            let mut py_failed = 0;
            for _ in 0..runs {
                if let Some((t, f)) = python_baseline(&sim, &window(a).since.to_string()) {
                    py_times.push(t);
                    py_failed = f;
                }
            }
            match (!py_times.is_empty()).then(|| median(&mut py_times)) {
                Some(py_secs) => (
                    format!("{py_secs:.1} s ({py_failed} failures)"),
                    format!("{:.1}x", py_secs / secs),
                ),
                None => ("not run (no .venv)".into(), "-".into()),
            }
        } else {
            ("-".into(), "-".into())
        };
        println!(
            "| {n} | {secs:.2} s | {pages} | {bound:.2} s | {failures} | {peak:.1} MiB | {py} | {speedup} |"
        );
    }
    Ok(())
}
