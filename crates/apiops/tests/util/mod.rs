//! Helpers shared by the `cli` tests.
//!
//! - [`Sandbox`]: a hermetic home for running the `apiops` binary: an empty environment except
//!   for a temporary HOME, XDG directories and PATH, so no real credential or config file on
//!   the machine can leak into a test or change its result.
//! - [`sim`](mod@sim): the simulator on 127.0.0.1, and `apiops` pointed at it.
//! - [`serve`]: `apiops serve` as a child process, reached at the address it prints.
//! - [`receiver`]: a local HTTP server that records what `apiops` sends it (webhook test
//!   events, alert notifications).

mod receiver;
mod serve;
mod sim;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;

pub(crate) use receiver::{Received, Receiver};
pub(crate) use serve::Served;
pub(crate) use sim::{
    Sim, apiops, assert_no_secret, base, group_counts, list_all, sim, sim_command,
};

/// A temporary home for one test.
pub(crate) struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Where apiops looks for the user config file in this sandbox.
    pub(crate) fn config_file(&self) -> PathBuf {
        self.root()
            .join("xdg-config")
            .join("apiops")
            .join("config.toml")
    }

    /// Writes the user config file at its default location.
    pub(crate) fn write_config(&self, text: &str) -> PathBuf {
        let path = self.config_file();
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// The URL of a SQLite database `file` in the sandbox.
    pub(crate) fn sqlite_url(&self, file: &str) -> String {
        format!("sqlite://{}/{file}", self.root().display())
    }

    /// The `apiops` binary as a plain process with a cleared environment (to spawn, signal or
    /// kill it); add variables with `.env(..)`.
    pub(crate) fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_apiops"));
        cmd.env_clear()
            .env("PATH", self.root())
            .env("HOME", self.root())
            .env("XDG_CONFIG_HOME", self.root().join("xdg-config"))
            .env("XDG_DATA_HOME", self.root().join("xdg-data"));
        cmd
    }

    /// `apiops` with a cleared environment, to run to completion; add variables with `.env(..)`.
    pub(crate) fn apiops(&self) -> Command {
        Command::from_std(self.command())
    }
}

/// What a finished run printed, decoded.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Panics, showing the output, unless stdout holds `want`.
    #[track_caller]
    pub(crate) fn assert_stdout_has(&self, want: &str) {
        assert!(self.stdout.contains(want), "{}", self.stdout);
    }

    /// Panics, showing the output, unless stderr holds `want`.
    #[track_caller]
    pub(crate) fn assert_stderr_has(&self, want: &str) {
        assert!(self.stderr.contains(want), "{}", self.stderr);
    }

    /// Both streams, for checks that something appears (or never appears) anywhere.
    pub(crate) fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `cmd` to completion.
pub(crate) fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run apiops");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// A Tokio runtime for a synchronous test (two workers: the machines are shared).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `f` to completion on a runtime of its own.
pub(crate) fn block<T>(f: impl Future<Output = T>) -> T {
    runtime().block_on(f)
}

/// Waits for `cond`, at most `secs` seconds; on timeout fails naming `what`, with `context()`.
pub(crate) fn wait_for(
    what: &str,
    secs: u64,
    mut cond: impl FnMut() -> bool,
    context: &dyn Fn() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
