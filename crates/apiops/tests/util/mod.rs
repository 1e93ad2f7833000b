//! A hermetic sandbox for running the `apiops` binary: an empty environment except for a
//! temporary HOME, XDG directories and PATH, so no real credential or config file on the machine
//! can leak into a test or change its result.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

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

    /// `apiops` with a cleared environment; add variables with `.env(..)`.
    pub(crate) fn apiops(&self) -> Command {
        let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("apiops");
        cmd.env_clear()
            .env("PATH", self.root())
            .env("HOME", self.root())
            .env("XDG_CONFIG_HOME", self.root().join("xdg-config"))
            .env("XDG_DATA_HOME", self.root().join("xdg-data"));
        cmd
    }
}

/// What a finished run printed, decoded.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
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
