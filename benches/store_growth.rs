//! Benchmark: the SQLite store's cost per webhook as its file grows (issue 13), without HTTP.
//!
//! Replays what `apiops serve` asks of the store, in this process: group commits of 64 inbox
//! events with random provider ids (as Stripe's and Twilio's are), and every 960 events the
//! processor's turn (read the unprocessed rows, append their failures to the event log and mark
//! them processed, in one transaction). `APIOPS_BENCH_RUNS` runs (default 10) of
//! `APIOPS_BENCH_EVENTS` (default 30,000) go into ONE file.
//!
//! Per run it prints wall time, the process's CPU time (every thread: the writer and the
//! background checkpointer) and the bytes it handed to `write`/`pwrite` (`wchar` in
//! `/proc/self/io`: the WAL and the checkpoints), each per event. CPU time and bytes written
//! depend on what the store does, not on what else the machine runs, so they show whether the
//! store's cost stays flat as the file grows even on a busy machine (the end-to-end rate is the
//! `ingest` benchmark's).
//!
//! Run: `cargo run --release -p apiops-benches --bin store-growth`

use std::time::Instant;

use apiops_core::{ActionTaken, Category, ErrorEvent, EventResult, Service, Severity};
use apiops_store::{InboxEvent, Source, SqliteStore, Store};
use jiff::Timestamp;

const BATCH: usize = 64;
const PROCESS_EVERY: usize = 960;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Process CPU time (user + system, every thread), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes this process passed to write(2) and friends so far.
fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn random_id(prefix: &str) -> String {
    let mut s = String::from(prefix);
    for _ in 0..24 {
        let c = fastrand::alphanumeric();
        s.push(c);
    }
    s
}

fn failure(at: Timestamp) -> ErrorEvent {
    ErrorEvent {
        timestamp: at,
        service: Service::Stripe,
        error_code: "card_declined".into(),
        category: Category::BadParams,
        severity: Severity::Warning,
        resource_type: "charge".into(),
        resource_id: random_id("ch_"),
        context: "charge.failed".into(),
        action_taken: ActionTaken::None,
        result: EventResult::Failed,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs = env_usize("APIOPS_BENCH_RUNS", 10);
    let events = env_usize("APIOPS_BENCH_EVENTS", 30_000);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("growth.db");
    let store = SqliteStore::open(&format!("sqlite://{}", file.display())).await?;
    let payload = "x".repeat(900);
    let mut now = Timestamp::now();
    println!("run | events/s | CPU µs/event | KiB written/event | file MiB");
    let mut rows = Vec::new();
    for run in 1..=runs {
        let (cpu0, w0, t0) = (cpu_seconds(), written_bytes(), Instant::now());
        let mut since_processed = 0;
        for _ in 0..events / BATCH {
            let batch: Vec<InboxEvent> = (0..BATCH)
                .map(|_| {
                    now += jiff::SignedDuration::from_millis(1);
                    InboxEvent {
                        service: Service::Stripe,
                        dedup_key: random_id("evt_"),
                        event_type: "charge.failed".into(),
                        source: Source::Webhook,
                        received_at: now,
                        payload: payload.clone(),
                    }
                })
                .collect();
            store.inbox_append(&batch).await?;
            since_processed += BATCH;
            if since_processed >= PROCESS_EVERY {
                since_processed = 0;
                let pending = store.inbox_unprocessed(PROCESS_EVERY as u32 * 2).await?;
                let ids: Vec<i64> = pending.iter().map(|p| p.id).collect();
                let failures: Vec<ErrorEvent> = pending
                    .iter()
                    .map(|p| failure(p.event.received_at))
                    .collect();
                store.inbox_processed(&ids, &failures, now).await?;
            }
        }
        let done = (events / BATCH * BATCH) as f64;
        let wall = t0.elapsed().as_secs_f64();
        let cpu_us = (cpu_seconds() - cpu0) * 1e6 / done;
        let kib = (written_bytes() - w0) as f64 / 1024.0 / done;
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
        println!(
            "{run} | {:.0} | {cpu_us:.1} | {kib:.2} | {size:.0}",
            done / wall
        );
        rows.push((done / wall, cpu_us, kib));
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        println!(
            "last / first: events/s {:.2}, CPU per event {:.2}, bytes written per event {:.2}",
            last.0 / first.0,
            last.1 / first.1,
            last.2 / first.2
        );
    }
    Ok(())
}
