//! `apiops completions SHELL` and `apiops man`: shell completion scripts (clap_complete) and
//! manual pages (clap_mangen), both generated from the same clap definition the parser uses,
//! so they never drift from the flags. Neither reads the configuration.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::exit::Exit;

/// The command line as the generators see it (the same after-help the parser prints).
fn command() -> clap::Command {
    Cli::command().after_help(crate::exit::help())
}

/// Prints the completion script for `shell` on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut cmd = command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "apiops", &mut out);
    out.flush().context("writing the completion script")?;
    Ok(Exit::Ok)
}

/// Prints `apiops(1)` on stdout, or with `dir` writes one page per command there
/// (`apiops.1`, `apiops-health.1`, ...).
pub(crate) fn man(dir: Option<&Path>) -> anyhow::Result<Exit> {
    let cmd = command();
    match dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("writing the manual page")?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            for path in write_pages(cmd, dir)? {
                println!("{}", path.display());
            }
        }
    }
    Ok(Exit::Ok)
}

/// Writes the page of `cmd` and of each subcommand, recursively; returns the files written.
fn write_pages(cmd: clap::Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut stack = vec![cmd];
    while let Some(cmd) = stack.pop() {
        let cmd = cmd.disable_help_subcommand(true);
        let path = dir.join(format!(
            "{}.1",
            cmd.get_display_name().unwrap_or(cmd.get_name())
        ));
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone())
            .render(&mut page)
            .context("rendering a manual page")?;
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        let parent = cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned();
        for sub in cmd.get_subcommands() {
            let name = format!("{parent}-{}", sub.get_name());
            stack.push(sub.clone().display_name(name));
        }
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_commands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command(), "apiops", &mut out);
            let text = String::from_utf8(out).expect("utf-8");
            for word in ["health", "errors", "audit", "completions"] {
                assert!(text.contains(word), "{shell}: {word}");
            }
        }
    }

    #[test]
    fn man_pages_cover_each_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let written = write_pages(command(), dir.path()).expect("pages");
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        for page in ["apiops.1", "apiops-health.1", "apiops-config-show.1"] {
            assert!(names.iter().any(|n| n == page), "{page} in {names:?}");
        }
        let main = std::fs::read_to_string(dir.path().join("apiops.1")).expect("read");
        assert!(main.contains(".TH apiops"), "{main}");
        assert!(main.contains("health"), "{main}");
    }
}
