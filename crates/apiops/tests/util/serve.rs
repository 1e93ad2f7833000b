//! `apiops serve` as a child process: started in a sandbox, reached at the address it prints,
//! killed when dropped.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Sandbox;

/// A running `apiops serve`.
pub(crate) struct Served {
    pub(crate) child: Child,
    /// `http://ADDR`, as printed on its first line.
    pub(crate) url: String,
    /// The file its stderr goes to.
    pub(crate) stderr: PathBuf,
}

impl Served {
    /// What it has logged so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    /// `apiops serve --listen <listen> --db <db>` with this sandbox's environment; add
    /// variables and arguments, then start it with [`Sandbox::start_serving`].
    pub(crate) fn serve_command(&self, listen: &str, db: &str) -> Command {
        let mut cmd = self.command();
        cmd.args(["serve", "--listen", listen, "--db", db]);
        cmd
    }

    /// Spawns `cmd` (an `apiops serve`), its stderr to a file in the sandbox, and returns once
    /// it prints `listening on <url>`; a wildcard address in the URL is rewritten to 127.0.0.1
    /// (it is reached through loopback here).
    pub(crate) fn start_serving(&self, mut cmd: Command) -> Served {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let stderr = self.root().join(format!(
            "serve-{}.err",
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn apiops serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address");
        let url = match line.trim().strip_prefix("listening on ") {
            Some(url) => url.replace("0.0.0.0", "127.0.0.1"),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "unexpected first line {line:?}; stderr:\n{}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
        };
        Served { child, url, stderr }
    }
}
