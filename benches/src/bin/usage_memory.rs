//! Benchmark: `apiops usage stripe` over a year of Stripe balance transactions keeps flat
//! memory (issue 19). The simulator runs in this process with N transactions added over the
//! 365 days before its generated month (`POST /_sim/stripe/balance_transactions`); the `apiops`
//! binary runs as a child under `/usr/bin/time`, so its peak RSS (max resident set) is the
//! report's alone. The report pages through every transaction (pages of 100) and folds each
//! page into per-type sums.
//!
//! apiops paces Stripe at 100 requests a second (Stripe's live-mode limit), so the time is
//! mostly that pacing: pages / 100 seconds.
//!
//! Each figure is the median time of `APIOPS_BENCH_RUNS` runs (default 3) and the largest peak.
//!
//! Run: `cargo run --release -p apiops-benches --bin usage_memory -- [count...]`
//! (default 10000 100000 250000; uses `target/release/apiops`, else `target/debug/apiops`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use apiops_sim::{SimConfig, Simulator};

fn workspace() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn apiops_bin() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("target"));
    let release = target.join("release/apiops");
    if release.exists() {
        release
    } else {
        target.join("debug/apiops")
    }
}

/// One run: (seconds, peak RSS in MiB, transactions the report says it read).
fn run_once(env: &[(&'static str, String)], home: &std::path::Path) -> (f64, f64, u64) {
    let config = home.join("empty.toml");
    let _ = std::fs::write(&config, "");
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("peak_kib=%M")
        .arg(apiops_bin())
        .args(["usage", "stripe", "--since", "500d", "--json"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("APIOPS_CONFIG", &config)
        // Stripe's live-mode read limit (apiops' default, 25, is the test-mode one).
        .env("APIOPS_STRIPE_REQUESTS_PER_SECOND", "100")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run apiops usage");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "apiops usage failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak_kib: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_kib="))
        .and_then(|v| v.trim().parse().ok())
        .expect("peak from /usr/bin/time");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // "N balance transactions created in ..." in the Stripe entry's notes.
    let read = stdout
        .split('"')
        .find(|s| s.contains(" balance transactions created in "))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (secs, peak_kib / 1024.0, read)
}

fn main() {
    let counts: Vec<usize> = {
        let args: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        if args.is_empty() {
            vec![10_000, 100_000, 250_000]
        } else {
            args
        }
    };
    let runs: usize = std::env::var("APIOPS_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let home = tempfile::tempdir().expect("tempdir");
    println!("binary: {}", apiops_bin().display());
    println!("| transactions | read by the report | pages | time (median) | peak RSS (max) |");
    println!("|---|---|---|---|---|");
    for count in counts {
        let sim = rt.block_on(async {
            let sim = Simulator::new(SimConfig {
                seed: 19,
                stripe_rate: 100_000,
                ..SimConfig::default()
            })
            .expect("config")
            .start()
            .await
            .expect("start");
            let r = reqwest::Client::new()
                .post(format!(
                    "{}/_sim/stripe/balance_transactions",
                    sim.base_url()
                ))
                .header("content-type", "application/json")
                .body(format!("{{\"count\": {count}, \"days\": 365}}"))
                .send()
                .await
                .expect("history");
            assert!(r.status().is_success());
            sim
        });
        let total = sim.sim.state().stripe.balance_transaction_count();
        let env = sim.env_vars();
        let mut times = Vec::new();
        let mut peak: f64 = 0.0;
        let mut read = 0;
        for _ in 0..runs {
            let (t, p, n) = run_once(&env, home.path());
            times.push(t);
            peak = peak.max(p);
            read = n;
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "| {total} | {read} | {} | {median:.2} s | {peak:.1} MiB |",
            read.div_ceil(100)
        );
        rt.block_on(sim.stop());
    }
}
