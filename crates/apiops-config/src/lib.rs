//! Loading the configuration, once, at start: layered, then validated into [`Settings`].
//!
//! Layers, lowest precedence first (each later one overrides keys the earlier ones set):
//! 1. the embedded defaults, `config.default.toml` (every key documented there), plus the
//!    default database URL, which depends on the user's data directory;
//! 2. the user file: `--config PATH` (or `APIOPS_CONFIG`), which must exist, else
//!    `<config dir>/apiops/config.toml` when it exists;
//! 3. the conventional credential variables (`TWILIO_AUTH_TOKEN`, `OPENAI_BASE_URL`, ...);
//! 4. `APIOPS_<SECTION>_<KEY>` variables;
//! 5. command-line flags (`--format`/`--json`, `--color`).
//!
//! Every failure is a [`ConfigError`] naming the key and where its value came from. The loaded
//! [`Origins`] keep, for each key, which layer set it (for `apiops creds`).
//!
//! Layout: [`env`](mod@env) maps environment variables to keys; [`values`] reads and shows each
//! kind of value; [`settings`] holds the typed result; `output` holds [`Format`] and
//! [`ColorMode`], the output choices (the binary renders them); `limits` holds [`Limits`],
//! `apiops serve`'s limits as the server applies them; [`creds`] builds the credentials report;
//! [`providers`] builds the provider clients and `Services` from the settings and selects the
//! services a check runs on; [`usage`] builds the usage report; `tests` covers the layers,
//! validation and that no secret leaks.
//! This crate only reads the user file; it prints nothing, and it depends on no
//! face: the binary, the MCP server and the dashboard read their settings from it.

pub mod apis;
pub mod creds;
pub mod env;
mod limits;
mod output;
pub mod providers;
pub mod settings;
pub mod spec_fetch;
pub mod usage;
pub mod values;

use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Format as _, Serialized, Toml};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use env::Environment;
pub use limits::Limits;
pub use output::{ColorMode, Format};
pub use settings::{Settings, TwilioAuth};

/// The embedded defaults: every key, commented.
pub const DEFAULTS: &str = include_str!("../../../config.default.toml");

/// The file name looked for in the user config directory.
pub const FILE_NAME: &str = "config.toml";

const DEFAULTS_LAYER: &str = "built-in defaults";
const ENV_LAYER: &str = "environment variable";
const FLAGS_LAYER: &str = "command-line flag";

/// Where apiops looks for its files on this machine.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    /// The user config file looked for when `--config` is not given; `None` when the platform
    /// has no home directory.
    pub config_file: Option<PathBuf>,
    /// The directory the default SQLite database lives in.
    pub data_dir: Option<PathBuf>,
    /// The directory remote OpenAPI documents are cached in.
    pub cache_dir: Option<PathBuf>,
}

impl Locations {
    /// The platform's directories for "apiops" (XDG on Linux).
    pub fn discover() -> Self {
        match directories::ProjectDirs::from("", "", "apiops") {
            Some(dirs) => Locations {
                config_file: Some(dirs.config_dir().join(FILE_NAME)),
                data_dir: Some(dirs.data_dir().to_path_buf()),
                cache_dir: Some(dirs.cache_dir().to_path_buf()),
            },
            None => Locations::default(),
        }
    }

    /// The database URL used when none is configured: a SQLite file in the data directory (the
    /// current directory when there is none), created on first use.
    pub fn default_database_url(&self) -> String {
        let path = self
            .data_dir
            .as_deref()
            .unwrap_or(Path::new("."))
            .join("apiops.db");
        format!("sqlite://{}?mode=rwc", path.display())
    }
}

/// Settings given as flags; they override every other layer.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FlagOverrides {
    /// `--format`, or `json` for `--json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// `--color`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<ColorMode>,
}

/// Everything loading reads, gathered by the caller so that loading itself is deterministic.
#[derive(Debug)]
pub struct Sources<'a> {
    /// The platform's directories.
    pub locations: &'a Locations,
    /// A config file named explicitly (`--config`); it must exist.
    pub explicit_file: Option<&'a Path>,
    /// The process environment.
    pub env: &'a Environment,
    /// Flag overrides.
    pub flags: FlagOverrides,
}

/// The user config file of a load: where it is, and whether it was read.
#[derive(Debug, Clone, Serialize)]
pub struct UserFile {
    /// The path looked at; `None` when there is no home directory and no `--config`.
    pub path: Option<PathBuf>,
    /// True when named by `--config`/`APIOPS_CONFIG` rather than the default location.
    pub explicit: bool,
    /// True when the file exists (and was therefore read).
    pub exists: bool,
}

impl UserFile {
    /// The file `sources` designate, without reading it.
    pub fn locate(locations: &Locations, explicit: Option<&Path>) -> Self {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| locations.config_file.clone());
        UserFile {
            exists: path.as_deref().is_some_and(Path::is_file),
            explicit: explicit.is_some(),
            path,
        }
    }
}

/// The result of loading: the settings, and where each value came from.
#[derive(Debug)]
pub struct LoadedConfig {
    /// The validated settings.
    pub settings: Settings,
    /// Which layer set each key.
    pub origins: Origins,
    /// The user file of this load.
    pub user_file: UserFile,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// The embedded defaults.
    Default,
    /// A config file.
    File {
        /// Its path.
        path: PathBuf,
    },
    /// An environment variable.
    Env {
        /// Its name.
        variable: String,
    },
    /// A command-line flag.
    Flag {
        /// Its spelling.
        flag: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { path } => write!(f, "file {}", path.display()),
            Origin::Env { variable } => write!(f, "env {variable}"),
            Origin::Flag { flag } => write!(f, "flag {flag}"),
        }
    }
}

impl Origin {
    fn of(metadata: &Metadata, key: &str) -> Option<Origin> {
        let keys: Vec<&str> = key.split('.').filter(|k| !k.is_empty()).collect();
        match metadata.name.as_ref() {
            DEFAULTS_LAYER => Some(Origin::Default),
            ENV_LAYER => Some(Origin::Env {
                variable: metadata.interpolate(&Profile::Default, &keys),
            }),
            FLAGS_LAYER => Some(Origin::Flag {
                flag: metadata.interpolate(&Profile::Default, &keys),
            }),
            _ => metadata
                .source
                .as_ref()
                .and_then(|s| s.file_path())
                .map(|path| Origin::File {
                    path: path.to_path_buf(),
                }),
        }
    }
}

/// Which layer set each key. Holds the merged layers, values included, so its `Debug` shows
/// nothing of them.
pub struct Origins {
    figment: Figment,
}

impl Origins {
    /// Where the value of `key` ("twilio.auth_token") came from; `None` when no layer set it.
    pub fn of(&self, key: &str) -> Option<Origin> {
        Origin::of(self.figment.find_metadata(key)?, key)
    }
}

impl fmt::Debug for Origins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Origins").finish_non_exhaustive()
    }
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key ("client.timeout"); `None` for a file that does not parse at all.
    pub key: Option<String>,
    /// What is wrong, never including a secret value.
    pub message: String,
    /// Where the offending value came from, when known.
    pub origin: Option<Origin>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(origin) = &self.origin {
            write!(f, " (from {origin})")?;
        }
        Ok(())
    }
}

/// Why the configuration could not be loaded. Exit code 7.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config PATH` named a file that is not there.
    #[error("config file {} does not exist (named by --config or APIOPS_CONFIG)", .0.display())]
    FileNotFound(PathBuf),
    /// `--config PATH` named something that is not a file.
    #[error("config file {} is not a regular file", .0.display())]
    NotAFile(PathBuf),
    /// Values that are missing, malformed or inconsistent.
    #[error("{}", ProblemList(.0))]
    Invalid(Vec<Problem>),
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "invalid configuration ({} problems):", many.len())?;
                for p in many {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// A provider under a name of ours, so that errors and origins say "environment variable
/// APIOPS_CLIENT_TIMEOUT" rather than figment's generic names.
struct Layer<P> {
    provider: P,
    metadata: Metadata,
}

impl<P: Provider> Provider for Layer<P> {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.provider.data()
    }
}

fn defaults_layer<P: Provider>(provider: P) -> Layer<P> {
    Layer {
        provider,
        metadata: Metadata::named(DEFAULTS_LAYER),
    }
}

/// Loads and validates the configuration from `sources`.
pub fn load(sources: &Sources<'_>) -> Result<LoadedConfig, ConfigError> {
    let user_file = UserFile::locate(sources.locations, sources.explicit_file);
    if let (true, Some(path)) = (user_file.explicit, &user_file.path) {
        if !path.exists() {
            return Err(ConfigError::FileNotFound(path.clone()));
        }
        if !path.is_file() {
            return Err(ConfigError::NotAFile(path.clone()));
        }
    }

    let mut figment = Figment::new()
        .merge(defaults_layer(Toml::string(DEFAULTS)))
        .merge(defaults_layer(Serialized::default(
            "database.url",
            sources.locations.default_database_url(),
        )));
    match (&user_file.path, user_file.exists) {
        (Some(path), true) => {
            tracing::debug!(path = %path.display(), "reading config file");
            figment = figment.merge(Toml::file_exact(path));
        }
        (Some(path), false) => {
            tracing::debug!(path = %path.display(), "no config file; using defaults and environment");
        }
        (None, _) => tracing::debug!("no home directory; using defaults and environment"),
    }
    let figment = figment
        .merge(Layer {
            provider: Serialized::defaults(env::conventional_values(sources.env)),
            metadata: Metadata::named(ENV_LAYER).interpolater(|_, keys: &[&str]| {
                env::conventional_name(&keys.join("."))
                    .map_or_else(|| env::prefixed_name(keys), str::to_owned)
            }),
        })
        .merge(Layer {
            provider: Serialized::defaults(env::prefixed_values(sources.env)),
            metadata: Metadata::named(ENV_LAYER)
                .interpolater(|_, keys: &[&str]| env::prefixed_name(keys)),
        })
        .merge(Layer {
            provider: Serialized::default("apis", apis::env_values(sources.env)),
            metadata: Metadata::named(ENV_LAYER).interpolater(|_, keys: &[&str]| match keys {
                ["apis", api, key, ..] => apis::env_name(api, key),
                _ => env::prefixed_name(keys),
            }),
        })
        .merge(Layer {
            provider: Serialized::default("output", sources.flags),
            metadata: Metadata::named(FLAGS_LAYER).interpolater(|_, keys: &[&str]| {
                match keys.last().copied() {
                    Some("format") => "--format/--json".to_owned(),
                    Some(other) => format!("--{other}"),
                    None => String::new(),
                }
            }),
        });

    let mut settings = extract(&figment).map_err(ConfigError::Invalid)?;
    let origins = Origins { figment };
    let mut problems: Vec<Problem> = settings
        .problems()
        .into_iter()
        .map(|(key, message)| Problem {
            key: Some(key.to_owned()),
            message,
            origin: origins.of(key),
        })
        .collect();
    for (name, api) in &mut settings.apis {
        let spec_key = format!("apis.{name}.spec");
        let config_dir = match origins.of(&spec_key) {
            Some(Origin::File { path }) => path.parent().map(Path::to_path_buf),
            _ => None,
        };
        api.resolve(sources.env, config_dir.as_deref());
        for (key, message) in api.problems() {
            let key = format!("apis.{name}.{key}");
            problems.push(Problem {
                origin: origins.of(&key),
                key: Some(key),
                message,
            });
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    Ok(LoadedConfig {
        settings,
        origins,
        user_file,
    })
}

/// Deserializes the merged layers section by section, so that one bad section does not hide
/// the problems of the others.
fn extract(figment: &Figment) -> Result<Settings, Vec<Problem>> {
    fn section<T: DeserializeOwned>(
        figment: &Figment,
        name: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<T> {
        figment
            .focus(name)
            .extract_lossy()
            .map_err(|e| problems.extend(problems_from(figment, e, Some(name))))
            .ok()
    }

    let root: Dict = figment
        .extract()
        .map_err(|e| problems_from(figment, e, None))?;
    let mut problems = Vec::new();
    for (name, value) in &root {
        let message = if name == "apis" {
            if value.as_dict().is_some() {
                continue;
            }
            "expected tables ([apis.NAME]), found a single value".to_owned()
        } else if !env::SECTIONS.contains(&name.as_str()) {
            format!(
                "unknown section; the sections are: {}",
                env::SECTIONS.join(", ")
            )
        } else if value.as_dict().is_none() {
            format!("expected a table ([{name}]), found a single value")
        } else {
            continue;
        };
        problems.push(Problem {
            key: Some(name.clone()),
            message,
            origin: figment
                .find_metadata(name)
                .and_then(|md| Origin::of(md, name)),
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let output = section(figment, "output", &mut problems);
    let client = section(figment, "client", &mut problems);
    let breaker = section(figment, "breaker", &mut problems);
    let twilio = section(figment, "twilio", &mut problems);
    let stripe = section(figment, "stripe", &mut problems);
    let openai = section(figment, "openai", &mut problems);
    let database = section(figment, "database", &mut problems);
    let policy = section(figment, "policy", &mut problems);
    let monitor = section(figment, "monitor", &mut problems);
    let serve = section(figment, "serve", &mut problems);
    let retention = section(figment, "retention", &mut problems);
    let apis = section(figment, "apis", &mut problems);
    match (
        output, client, breaker, twilio, stripe, openai, database, policy, monitor, serve,
        retention, apis,
    ) {
        (
            Some(output),
            Some(client),
            Some(breaker),
            Some(twilio),
            Some(stripe),
            Some(openai),
            Some(database),
            Some(policy),
            Some(monitor),
            Some(serve),
            Some(retention),
            Some(apis),
        ) => Ok(Settings {
            output,
            client,
            breaker,
            twilio,
            stripe,
            openai,
            database,
            policy,
            monitor,
            serve,
            retention,
            apis,
        }),
        _ => Err(problems),
    }
}

/// Turns figment's errors into problems that name the key (under `section`, when the error
/// comes from extracting one) and the layer that set it.
fn problems_from(figment: &Figment, error: figment::Error, section: Option<&str>) -> Vec<Problem> {
    use figment::error::Kind;

    error
        .into_iter()
        .map(|e| {
            let mut path: Vec<String> = section.map(str::to_owned).into_iter().collect();
            path.extend(e.path.iter().cloned());
            let message = match &e.kind {
                Kind::Message(m) => without_source_excerpt(m),
                Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
                    format!("expected {expected}, found {actual}")
                }
                // figment has already put the unknown key at the end of the path.
                Kind::UnknownField(_, expected) => {
                    format!("unknown key; expected one of: {}", expected.join(", "))
                }
                Kind::UnknownVariant(given, expected) => {
                    format!(
                        "unknown value {given:?}; expected one of: {}",
                        expected.join(", ")
                    )
                }
                Kind::MissingField(field) => {
                    path.push(field.to_string());
                    "missing".to_owned()
                }
                other => other.to_string(),
            };
            let key = (!path.is_empty()).then(|| path.join("."));
            let origin = key
                .as_deref()
                .and_then(|k| figment.find_metadata(k).and_then(|md| Origin::of(md, k)))
                .or_else(|| {
                    e.metadata
                        .as_ref()
                        .and_then(|md| Origin::of(md, key.as_deref().unwrap_or_default()))
                });
            Problem {
                key,
                message,
                origin,
            }
        })
        .collect()
}

/// A TOML parse error quotes the offending line, which may hold a secret: keep the position and
/// the explanation, drop the quoted source.
fn without_source_excerpt(message: &str) -> String {
    let is_excerpt = |line: &str| {
        let t = line.trim_start();
        t.starts_with('|')
            || t.split_once(" |")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    message
        .lines()
        .filter(|l| !l.trim().is_empty() && !is_excerpt(l))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(": ")
}

/// Settings from the embedded defaults and `env` only (no file): for unit tests
/// here and, with the `test-support` feature, in the crates above.
#[cfg(any(test, feature = "test-support"))]
pub fn test_settings(env: &[(&str, &str)]) -> Settings {
    test_loaded(env).settings
}

/// A whole load from the embedded defaults and `env` only (no file): for unit tests
/// here and, with the `test-support` feature, in the crates above.
#[cfg(any(test, feature = "test-support"))]
pub fn test_loaded(env: &[(&str, &str)]) -> LoadedConfig {
    let env: Environment = env.iter().copied().collect();
    let locations = Locations::default();
    match load(&Sources {
        locations: &locations,
        explicit_file: None,
        env: &env,
        flags: FlagOverrides::default(),
    }) {
        Ok(l) => l,
        Err(e) => panic!("test settings do not load: {e}"),
    }
}

#[cfg(test)]
mod tests;
