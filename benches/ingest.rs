//! Benchmark: webhook ingest at full durability (issue 6).
//!
//! `apiops serve` (release, its own process) receives signed Stripe events from the simulator's
//! emitter (`apiops_sim::emit`, in this process: it shares the 2 cores with the receiver) and
//! answers 2xx only after each event is committed (SQLite WAL with `synchronous=FULL`, or
//! PostgreSQL with `synchronous_commit=on`: fsync on commit, grouped by the receiver).
//!
//! Two figures per backend:
//! - throughput: `--count` events as fast as 64 connections allow; events/s = acknowledged /
//!   wall time (median of `APIOPS_BENCH_RUNS`, default 3);
//! - latency at a fixed offered rate (2,000 events/s for 10 s): p50 and p99 of the answers.
//!
//! After each run the store is checked: every acknowledged distinct event is stored once.
//!
//! All runs of a backend go into ONE database, so `APIOPS_BENCH_RUNS=10` shows whether ingest
//! stays flat as the inbox grows (the last run against the first is printed); for SQLite the
//! size of the WAL file is sampled every 10 ms throughout, and its largest size printed.
//!
//! Run: `cargo build --release -p apiops && cargo run --release -p apiops-benches --bin ingest`
//! A SQLite file of one's own (kept, and grown by each invocation): `APIOPS_BENCH_SQLITE_FILE`.
//! PostgreSQL: set `APIOPS_BENCH_POSTGRES_URL` (e.g. from `scripts/with-postgres.sh`).

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use apiops_sim::emit::{EmitConfig, EmitProvider, EmitReport};

const SECRET: &str = "whsec_bench_ingest_secret_0123456789";

struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn serve(db: &str) -> Result<Served, Box<dyn std::error::Error>> {
    let bin = workspace().join("target/release/apiops");
    let mut child = Command::new(&bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db,
            "--reconcile-every",
            "0s",
        ])
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("APIOPS_LOG", "error")
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
    Ok(Served { child, url })
}

fn emit(
    rt: &tokio::runtime::Runtime,
    url: &str,
    count: usize,
    rate: f64,
    concurrency: usize,
    seed: u64,
) -> Result<EmitReport, Box<dyn std::error::Error>> {
    let config = EmitConfig {
        target: format!("{url}/webhooks/stripe").parse()?,
        public_url: None,
        provider: EmitProvider::Stripe,
        count,
        rate,
        concurrency,
        duplicate_rate: 0.0,
        bad_signature_rate: 0.0,
        secret: SECRET.into(),
        seed,
        allow_non_loopback: false,
        timeout: Duration::from_secs(30),
        acked_log: None,
    };
    Ok(rt.block_on(apiops_sim::emit::emit(config))?)
}

fn stored(rt: &tokio::runtime::Runtime, db: &str) -> Result<u64, Box<dyn std::error::Error>> {
    Ok(rt.block_on(async {
        let store = apiops_store::open(db).await?;
        store.inbox_count(None).await
    })?)
}

/// Connections the throughput run uses (`APIOPS_BENCH_CONNECTIONS`, default 64).
fn connections() -> usize {
    std::env::var("APIOPS_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Samples a file's size every 10 ms until dropped, keeping the largest.
struct SizeWatch {
    max: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SizeWatch {
    fn start(path: PathBuf) -> SizeWatch {
        let max = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (Arc::clone(&max), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Ok(md) = std::fs::metadata(&path) {
                    m.fetch_max(md.len(), Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        SizeWatch {
            max,
            stop,
            thread: Some(thread),
        }
    }

    fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }
}

impl Drop for SizeWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The SQLite file a `sqlite://PATH` URL names.
fn sqlite_file(db: &str) -> Option<PathBuf> {
    db.strip_prefix("sqlite://")
        .map(|p| PathBuf::from(p.split('?').next().unwrap_or(p)))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

struct Row {
    backend: &'static str,
    events_per_s: f64,
    runs: Vec<f64>,
    p50: f64,
    p99: f64,
    offered: f64,
    achieved: f64,
    /// SQLite: the largest WAL seen, and the database file and WAL after the runs (bytes).
    wal: Option<(u64, u64, u64)>,
}

fn bench(
    rt: &tokio::runtime::Runtime,
    backend: &'static str,
    db: &str,
    count: usize,
    runs: usize,
    seed_base: u64,
) -> Result<Row, Box<dyn std::error::Error>> {
    let file = sqlite_file(db);
    let wal_path = file.as_ref().map(|f| {
        let mut p = f.clone().into_os_string();
        p.push("-wal");
        PathBuf::from(p)
    });
    let watch = wal_path.clone().map(SizeWatch::start);
    let served = serve(db)?;
    // Warm-up (connections, page cache), not counted.
    emit(rt, &served.url, 2_000, 0.0, 64, seed_base)?;
    let mut rates = Vec::new();
    let mut expected = stored(rt, db)?;
    for i in 0..runs {
        let r = emit(
            rt,
            &served.url,
            count,
            0.0,
            connections(),
            seed_base + 1 + i as u64,
        )?;
        if r.acknowledged != count {
            return Err(format!(
                "{backend}: only {} of {count} acknowledged: {r:?}",
                r.acknowledged
            )
            .into());
        }
        expected += r.distinct_acknowledged as u64;
        rates.push(r.acknowledged as f64 / r.elapsed_s);
        eprintln!(
            "{backend}: run {} of {runs}: {:.0} events/s{}",
            i + 1,
            rates[i],
            watch
                .as_ref()
                .map(|w| format!(", WAL max so far {:.1} MiB", mib(w.max())))
                .unwrap_or_default()
        );
    }
    let offered = 2_000.0;
    // `APIOPS_BENCH_LATENCY=0` skips the latency run (throughput only).
    let latency = std::env::var("APIOPS_BENCH_LATENCY").map_or(true, |v| v != "0");
    let (p50, p99, achieved) = if latency {
        let lat = emit(rt, &served.url, 20_000, offered, 512, seed_base + 100)?;
        expected += lat.distinct_acknowledged as u64;
        (lat.p50_ms, lat.p99_ms, lat.rate_achieved)
    } else {
        (f64::NAN, f64::NAN, f64::NAN)
    };
    let wal = match (&watch, &file, &wal_path) {
        (Some(w), Some(f), Some(p)) => Some((w.max(), file_size(f), file_size(p))),
        _ => None,
    };
    drop(served);
    let have = stored(rt, db)?;
    if have != expected {
        return Err(format!("{backend}: {have} events stored, {expected} acknowledged").into());
    }
    let runs_copy = rates.clone();
    Ok(Row {
        backend,
        events_per_s: median(&mut rates),
        runs: runs_copy,
        p50,
        p99,
        offered,
        achieved,
        wal,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::var("APIOPS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    // A file of one's own (kept, and added to on each invocation: new event ids each time),
    // or a new one in a temporary directory.
    let (sqlite, seed) = match std::env::var("APIOPS_BENCH_SQLITE_FILE") {
        Ok(path) if !path.is_empty() => (
            format!("sqlite://{path}"),
            jiff::Timestamp::now().as_second().unsigned_abs(),
        ),
        _ => (
            format!("sqlite://{}/ingest.db", dir.path().display()),
            1_000,
        ),
    };
    let mut rows = vec![bench(
        &rt,
        "SQLite (WAL, synchronous=FULL)",
        &sqlite,
        count,
        runs,
        seed,
    )?];
    match std::env::var("APIOPS_BENCH_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => rows.push(bench(
            &rt,
            "PostgreSQL (synchronous_commit=on)",
            &url,
            count,
            runs,
            // Other seeds than any earlier run on the same database: new ids.
            jiff::Timestamp::now().as_second().unsigned_abs(),
        )?),
        _ => eprintln!("PostgreSQL skipped: set APIOPS_BENCH_POSTGRES_URL"),
    }
    println!(
        "| store | events/s ({count} events, {} connections; median of {runs}) | runs | p50 at {} /s | p99 at {} /s | achieved rate |",
        connections(),
        2_000,
        2_000
    );
    println!("|---|---|---|---|---|---|");
    let mut notes = Vec::new();
    for r in rows {
        if let (Some(first), Some(last)) = (r.runs.first(), r.runs.last()) {
            notes.push(format!(
                "{}: last run / first run = {:.3}",
                r.backend,
                last / first
            ));
        }
        if let Some((wal_max, db, wal_end)) = r.wal {
            notes.push(format!(
                "{}: WAL at most {:.1} MiB (sampled every 10 ms), {:.1} MiB at the end; database {:.1} MiB",
                r.backend,
                mib(wal_max),
                mib(wal_end),
                mib(db)
            ));
        }
        println!(
            "| {} | {:.0} | {} | {:.1} ms | {:.1} ms | {:.0} /s (offered {:.0}) |",
            r.backend,
            r.events_per_s,
            r.runs
                .iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            r.p50,
            r.p99,
            r.achieved,
            r.offered
        );
    }
    for n in notes {
        println!("{n}");
    }
    Ok(())
}
