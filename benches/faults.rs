//! Benchmark: `apiops errors --json` end to end while the provider misbehaves (issue 17).
//!
//! For each fault rate (default 0 %, 10 %, 30 %) the bench starts `apiops sim` (release, its own
//! process) with 50,000 Twilio messages in the 24 h before a fixed anchor and
//! `--fault-rate R` (500s, 503s, faults, resets and truncated bodies), runs
//! `apiops errors --since 25h --json` against it (25 h so every run, whenever in the hour it
//! starts, covers the whole 24 h of history), and records the wall time, the exit code, the
//! groups and their counts, the requests the simulator received and the faults it injected.
//! Run `n` uses simulator seed `3 + n` (its own data and fault sequence), and its groups are
//! compared with the fault-free scan of the same seed. Fault rates are interleaved run by run,
//! so all of them see the same machine load; each figure is the median of `APIOPS_BENCH_RUNS`
//! runs (default 3).
//!
//! Hedges at 0 % faults are counted from the outside: the same scan with hedging turned off
//! (`APIOPS_CLIENT_HEDGE_SHARE=0`) sends exactly the pages it needs, so the extra requests of the
//! hedged scan are its hedges. With `--old` the bench also runs each fault rate once with the
//! client settings from before issue 17 (no adaptive timeouts, no hedges, no read budget, a
//! breaker judging 20 calls).
//!
//! Run: `cargo build --release -p apiops -p apiops-benches && ./target/release/faults [--old] [rates...]`

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const MESSAGES: usize = 50_000;

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

fn apiops() -> std::path::PathBuf {
    workspace().join("target/release/apiops")
}

fn start_sim(anchor: &str, seed: u64, fault_rate: f64) -> Result<Sim, Box<dyn std::error::Error>> {
    let mut child = Command::new(apiops())
        .args([
            "sim",
            "--print-env",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            &seed.to_string(),
            "--messages",
            &MESSAGES.to_string(),
            "--history",
            "24h",
            "--anchor",
            anchor,
            "--fault-rate",
            &fault_rate.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting apiops sim: {e} (cargo build --release -p apiops)"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut env = HashMap::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            env.insert(k.to_owned(), v.trim_matches('\'').to_owned());
        }
        if env.contains_key("OPENAI_WEBHOOK_SECRET") {
            break;
        }
    }
    Ok(Sim { child, env })
}

/// Requests the simulator received so far (all providers, faulted and refused ones included),
/// and the faults it injected.
fn sim_requests(sim: &Sim) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let api = sim
        .env
        .get("APIOPS_TWILIO_API_URL")
        .ok_or("no APIOPS_TWILIO_API_URL")?;
    let url = reqwest::Url::parse(api)?.join("/_sim/stats")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let stats: serde_json::Value =
        rt.block_on(async { reqwest::get(url).await?.json::<serde_json::Value>().await })?;
    // Handlers count what they answer; the edge counts what it answered for them.
    let sum = |key: &str| -> u64 {
        stats[key]
            .as_object()
            .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
            .unwrap_or(0)
    };
    Ok((
        sum("requests") + sum("faults") + sum("rate_limited") + sum("auth_failures"),
        sum("faults"),
    ))
}

/// One scan's outcome.
struct Run {
    secs: f64,
    exit: i32,
    /// `service/code` -> count.
    groups: BTreeMap<String, u64>,
    failures: Vec<String>,
    requests: u64,
    faults: u64,
}

fn scan(
    anchor: &str,
    seed: u64,
    fault_rate: f64,
    settings: &[(&str, &str)],
) -> Result<Run, Box<dyn std::error::Error>> {
    let sim = start_sim(anchor, seed, fault_rate)?;
    let home = tempfile::tempdir()?;
    let started = Instant::now();
    let out = Command::new(apiops())
        .args(["errors", "--since", "25h", "--json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env(
            "APIOPS_DATABASE_URL",
            format!("sqlite://{}", home.path().join("events.db").display()),
        )
        .envs(&sim.env)
        .envs(settings.iter().copied())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut groups = BTreeMap::new();
    for g in report["groups"].as_array().into_iter().flatten() {
        let key = format!(
            "{}/{}",
            g["service"].as_str().unwrap_or("?"),
            g["error_code"].as_str().unwrap_or("?")
        );
        *groups.entry(key).or_insert(0) += g["count"].as_u64().unwrap_or(0);
    }
    let failures = report["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{}: {}",
                f["service"].as_str().unwrap_or("?"),
                f["error"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let (requests, faults) = sim_requests(&sim)?;
    Ok(Run {
        secs,
        exit: out.status.code().unwrap_or(-1),
        groups,
        failures,
        requests,
        faults,
    })
}

/// The simulator's seed (data and fault sequence) of run `run`.
fn seed(run: usize) -> u64 {
    3 + run as u64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The client settings before issue 17, as environment overrides.
const OLD: &[(&str, &str)] = &[
    ("APIOPS_CLIENT_READ_TIMEOUT_MULTIPLIER", "0"),
    ("APIOPS_CLIENT_HEDGE_SHARE", "0"),
    ("APIOPS_CLIENT_READ_RETRY_BUDGET_RATIO", "0"),
    ("APIOPS_CLIENT_READ_RETRY_BUDGET_MIN", "0"),
    ("APIOPS_BREAKER_MINIMUM_CALLS", "10"),
    ("APIOPS_BREAKER_WINDOW", "20"),
];

fn describe(groups: &BTreeMap<String, u64>, reference: &BTreeMap<String, u64>) -> String {
    if groups == reference {
        return format!("{} groups, identical", groups.len());
    }
    let mut diffs = Vec::new();
    for (k, want) in reference {
        let got = groups.get(k).copied().unwrap_or(0);
        if got != *want {
            diffs.push(format!("{k} {got} instead of {want}"));
        }
    }
    for k in groups.keys().filter(|k| !reference.contains_key(*k)) {
        diffs.push(format!("{k} unexpected"));
    }
    format!("{} groups, DIFFERENT: {}", groups.len(), diffs.join(", "))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut old = false;
    let mut rates = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--old" {
            old = true;
        } else {
            rates.push(a.parse::<f64>()?);
        }
    }
    if rates.is_empty() {
        rates = vec![0.0, 0.1, 0.3];
    }
    let runs: usize = std::env::var("APIOPS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let anchor = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())?.to_string();
    println!(
        "{MESSAGES} messages in the 24 h before {anchor}; `apiops errors --since 25h --json`; medians of {runs} runs"
    );

    let mut by_rate: Vec<Vec<Run>> = rates.iter().map(|_| Vec::new()).collect();
    let mut unhedged = Vec::new();
    for run in 0..runs {
        for (i, rate) in rates.iter().enumerate() {
            let r = scan(&anchor, seed(run), *rate, &[])?;
            eprintln!(
                "run {run} faults {:.0}%: {:.2} s, exit {}, {} requests, {} faults",
                rate * 100.0,
                r.secs,
                r.exit,
                r.requests,
                r.faults
            );
            by_rate[i].push(r);
        }
        if rates.contains(&0.0) {
            let r = scan(
                &anchor,
                seed(run),
                0.0,
                &[("APIOPS_CLIENT_HEDGE_SHARE", "0")],
            )?;
            unhedged.push(r.requests);
        }
    }
    // Each run's data and faults come from its own seed; its fault-free scan is the reference.
    let zero = rates.iter().position(|r| *r == 0.0);
    let reference = |run: usize| {
        zero.and_then(|i| by_rate[i].get(run))
            .map(|r| r.groups.clone())
            .unwrap_or_default()
    };
    let base = rates
        .iter()
        .position(|r| *r == 0.0)
        .map(|i| median(by_rate[i].iter().map(|r| r.secs).collect()));

    println!();
    println!(
        "| faults | wall time (median) | vs fault-free | exit codes | requests (median) | faults injected (per run) | result |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (i, rate) in rates.iter().enumerate() {
        let rs = &by_rate[i];
        let secs = median(rs.iter().map(|r| r.secs).collect());
        let reqs = median(rs.iter().map(|r| r.requests as f64).collect());
        let exits: Vec<String> = rs.iter().map(|r| r.exit.to_string()).collect();
        let faults: Vec<String> = rs.iter().map(|r| r.faults.to_string()).collect();
        let results: Vec<String> = rs
            .iter()
            .enumerate()
            .map(|(run, r)| describe(&r.groups, &reference(run)))
            .collect();
        let mut distinct = results.clone();
        distinct.dedup();
        println!(
            "| {:.0} % | {secs:.2} s | {} | {} | {reqs:.0} | {} | {} |",
            rate * 100.0,
            base.map_or("-".to_owned(), |b| format!("{:.1}x", secs / b)),
            exits.join(", "),
            faults.join(", "),
            distinct.join("; ")
        );
        for r in rs {
            for f in &r.failures {
                println!("  failure at {:.0} %: {f}", rate * 100.0);
            }
        }
    }
    if let Some(i) = rates.iter().position(|r| *r == 0.0) {
        let hedged = by_rate[i].iter().map(|r| r.requests);
        let hedges: Vec<f64> = hedged
            .zip(&unhedged)
            .map(|(h, u)| h.saturating_sub(*u) as f64)
            .collect();
        let base_reqs = median(unhedged.iter().map(|u| *u as f64).collect());
        let h = median(hedges);
        println!();
        println!(
            "hedges at 0 % faults: {h:.0} of {base_reqs:.0} requests ({:.2} %)",
            100.0 * h / base_reqs
        );
    }
    if old {
        println!();
        println!("client settings before issue 17 (one run each):");
        for rate in &rates {
            let r = scan(&anchor, seed(0), *rate, OLD)?;
            println!(
                "| {:.0} % | {:.2} s | exit {} | {} requests | {} faults | {} |",
                rate * 100.0,
                r.secs,
                r.exit,
                r.requests,
                r.faults,
                describe(&r.groups, &reference(0))
            );
            for f in &r.failures {
                println!("  failure: {f}");
            }
        }
    }
    Ok(())
}
