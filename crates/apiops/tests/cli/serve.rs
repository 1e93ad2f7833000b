//! `apiops serve` as a process: crash safety under load (kill -9 mid-stream: every event
//! answered 2xx is in the store after restart; re-delivery creates no duplicates), graceful
//! shutdown on SIGTERM, and backfill by the reconciler after downtime.

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apiops_core::Service;
use apiops_sim::emit::{EmitConfig, EmitProvider, EmitReport};
use apiops_store::{SqliteStore, Store};

use crate::util::Sandbox;

const SECRET: &str = "whsec_serve_test_secret_0123456789";

struct Served {
    child: Child,
    url: String,
    stderr: std::path::PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn db_url(sb: &Sandbox) -> String {
    format!("sqlite://{}/serve.db", sb.root().display())
}

/// Starts `apiops serve` on a free port; returns when it listens.
fn serve(sb: &Sandbox, extra_env: &[(&str, String)], args: &[&str]) -> Served {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiops"));
    cmd.env_clear()
        .env("PATH", sb.root())
        .env("HOME", sb.root())
        .env("XDG_CONFIG_HOME", sb.root().join("xdg-config"))
        .env("XDG_DATA_HOME", sb.root().join("xdg-data"))
        .env("STRIPE_WEBHOOK_SECRET", SECRET);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let stderr = sb
        .root()
        .join(format!("serve-{}.err", std::process::id() ^ rand_suffix()));
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--db", &db_url(sb)])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("spawn apiops serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the address");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Served { child, url, stderr }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

fn emit_config(target: &str, count: usize, acked: Option<&Path>) -> EmitConfig {
    EmitConfig {
        target: format!("{target}/webhooks/stripe").parse().expect("url"),
        public_url: None,
        provider: EmitProvider::Stripe,
        count,
        rate: 0.0,
        concurrency: 16,
        duplicate_rate: 0.1,
        bad_signature_rate: 0.0,
        secret: SECRET.into(),
        seed: 11,
        allow_non_loopback: false,
        timeout: Duration::from_secs(5),
        acked_log: acked.map(Path::to_path_buf),
    }
}

fn emit(config: EmitConfig) -> EmitReport {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(apiops_sim::emit::emit(config))
        .expect("emit")
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn store(sb: &Sandbox) -> SqliteStore {
    tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(SqliteStore::open(&db_url(sb)))
        .expect("open the store")
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().expect("rt").block_on(f)
}

#[test]
fn every_event_answered_2xx_survives_kill_9_and_redelivery_adds_no_duplicates() {
    let sb = Sandbox::new();
    let acked = sb.root().join("acked.txt");
    let first = serve(&sb, &[], &["--reconcile-every", "0s"]);
    let target = first.url.clone();
    let log = acked.clone();
    let load = std::thread::spawn(move || emit(emit_config(&target, 4_000, Some(&log))));
    // Kill -9 once a good share has been acknowledged, while requests are in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    while lines(&acked).len() < 400 {
        assert!(
            Instant::now() < deadline,
            "the receiver acknowledged too little"
        );
        assert!(!load.is_finished(), "the load ended before the kill");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut first = first;
    first.child.kill().expect("kill -9");
    first.child.wait().expect("reap");
    let report = load.join().expect("emitter");
    assert!(
        report.transport_errors > 0,
        "the kill did not interrupt the load: {report:?}"
    );

    let acknowledged: HashSet<String> = lines(&acked).into_iter().collect();
    // Re-deliveries (10 %) repeat ids: distinct ids are fewer than acknowledgements.
    assert!(acknowledged.len() >= 300, "{}", acknowledged.len());
    let s = store(&sb);
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !block(s.inbox_has(Service::Stripe, id)).expect("has"))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let after_crash = block(s.inbox_count(None)).expect("count");
    assert!(after_crash >= acknowledged.len() as u64);
    drop(s);

    // Restart on the same database; the sender re-delivers everything (same ids).
    let second = serve(&sb, &[], &["--reconcile-every", "0s"]);
    let report = emit(emit_config(&second.url, 4_000, None));
    assert_eq!(
        report.transport_errors + report.server_errors,
        0,
        "{report:?}"
    );
    let s = store(&sb);
    let stored = block(s.inbox_count(None)).expect("count");
    assert_eq!(
        stored, report.distinct_acknowledged as u64,
        "every distinct event exactly once"
    );
    drop(s);

    // SIGTERM: in-flight commits finish, exit 0.
    let mut second = second;
    let pid = second.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = second.child.wait().expect("wait");
    assert_eq!(exit.code(), Some(0));
    let err = std::fs::read_to_string(&second.stderr).unwrap_or_default();
    assert!(err.contains("stopped cleanly"), "{err}");
    assert!(!err.contains(SECRET), "a secret in the logs");
}

#[test]
fn serve_without_any_webhook_secret_is_a_clear_error() {
    let sb = Sandbox::new();
    let out = Command::new(env!("CARGO_BIN_EXE_apiops"))
        .env_clear()
        .env("HOME", sb.root())
        .env("XDG_CONFIG_HOME", sb.root().join("xdg-config"))
        .env("XDG_DATA_HOME", sb.root().join("xdg-data"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(8));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("STRIPE_WEBHOOK_SECRET"), "{err}");
}
