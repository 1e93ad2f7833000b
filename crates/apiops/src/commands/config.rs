//! `apiops config show` (the effective configuration, secrets masked) and `apiops config path`
//! (where the user file is looked for). Both only read what loading produced; neither writes a
//! file.

use std::io::{self, Write};

use anyhow::Context as _;
use serde::{Serialize, Serializer};

use crate::config::{LoadedConfig, Settings, UserFile};
use crate::exit::Exit;
use crate::output::{self, Format, Render};

/// Prints the effective configuration: TOML for people (fenced in Markdown), the same keys as
/// JSON for programs.
pub(crate) fn show(loaded: &LoadedConfig, format: Format) -> anyhow::Result<Exit> {
    let view = ShowView {
        settings: &loaded.settings,
        user_file: &loaded.user_file,
    };
    output::emit(format, &view).context("writing the configuration")?;
    Ok(Exit::Ok)
}

/// Prints where the user config file is (or would be).
pub(crate) fn path(user_file: &UserFile, format: Format) -> anyhow::Result<Exit> {
    if user_file.path.is_none() {
        anyhow::bail!("no home directory, so no default config file; name one with --config PATH");
    }
    output::emit(format, &PathView(user_file)).context("writing the path")?;
    if format == Format::Human && !user_file.exists {
        anstream::eprintln!(
            "note: the file does not exist yet; create it to override the defaults (`apiops config show` prints them)"
        );
    }
    Ok(Exit::Ok)
}

/// The settings as shown: `Settings`' own `Serialize` masks every secret.
struct ShowView<'a> {
    settings: &'a Settings,
    user_file: &'a UserFile,
}

impl ShowView<'_> {
    fn toml(&self) -> io::Result<String> {
        toml::to_string(self.settings).map_err(io::Error::other)
    }

    fn file_note(&self) -> String {
        match (&self.user_file.path, self.user_file.exists) {
            (Some(p), true) => format!("user file: {}", p.display()),
            (Some(p), false) => format!("user file: {} (not found)", p.display()),
            (None, _) => "user file: none (no home directory)".to_owned(),
        }
    }
}

impl Serialize for ShowView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.settings.serialize(s)
    }
}

impl Render for ShowView<'_> {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "# Effective apiops configuration; secrets are masked.")?;
        writeln!(out, "# {}", self.file_note())?;
        writeln!(out)?;
        write!(out, "{}", self.toml()?)
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Effective apiops configuration (secrets masked); {}.",
            self.file_note()
        )?;
        writeln!(out)?;
        writeln!(out, "```toml")?;
        write!(out, "{}", self.toml()?)?;
        writeln!(out, "```")
    }
}

/// The path as shown: bare for people and scripts, with its status for programs.
struct PathView<'a>(&'a UserFile);

impl Serialize for PathView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Render for PathView<'_> {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        match &self.0.path {
            Some(p) => writeln!(out, "{}", p.display()),
            None => Ok(()),
        }
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        match &self.0.path {
            Some(p) => writeln!(
                out,
                "`{}`{}",
                p.display(),
                if self.0.exists { "" } else { " (not found)" }
            ),
            None => Ok(()),
        }
    }
}
