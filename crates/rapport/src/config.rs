//! Configuration, in layers: built-in defaults, then an optional TOML file,
//! then `RAPPORT_SECTION__KEY` environment variables, then command-line
//! flags. It is validated once, at start, into [`ValidConfig`]; nothing else
//! reads the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rapport_core::{Level, PriorityMatrix};
use serde::Deserialize;

use crate::cli::GlobalArgs;

/// The commented default configuration, printed by `rapport config print-default`
/// and committed as `config.example.toml`.
pub const DEFAULT_CONFIG: &str = include_str!("../../../config.example.toml");

/// The configuration as read, before validation.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Directory for the embedded database.
    pub data_dir: Option<PathBuf>,
    /// Database URL.
    pub database_url: Option<String>,
    /// HTTP server settings.
    pub server: RawServer,
    /// Tier × urgency → priority.
    pub priority: RawPriority,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub max_page_size: Option<i64>,
    pub auto_close_after_hours: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawPriority {
    pub matrix: Option<BTreeMap<String, [Level; 4]>>,
}

/// The configuration after validation: everything the program needs, checked.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    pub database_url: String,
    pub listen: String,
    pub server: rapport_server::ServerConfig,
    pub matrix: PriorityMatrix,
}

impl RawConfig {
    /// Reads the layers.
    pub fn load(args: &GlobalArgs) -> anyhow::Result<RawConfig> {
        let mut table = match &args.config {
            Some(path) => read_file(path)?,
            None => toml::Table::new(),
        };
        apply_env(&mut table, std::env::vars())?;
        let mut raw: RawConfig =
            toml::Value::Table(table).try_into().context("reading the configuration (file and RAPPORT_* variables)")?;
        if let Some(database) = &args.database {
            raw.database_url = Some(database.clone());
        }
        if let Some(data_dir) = &args.data_dir {
            raw.data_dir = Some(data_dir.clone());
        }
        Ok(raw)
    }

    /// Checks every setting; all errors surface here, at start.
    pub fn validate(self) -> anyhow::Result<ValidConfig> {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = match self.database_url {
            Some(url)
                if url.starts_with("sqlite:") || url.starts_with("postgres:") || url.starts_with("postgresql:") =>
            {
                url
            }
            Some(url) => bail!("database_url {url:?} is not supported: use sqlite://PATH or postgres://USER@HOST/DB"),
            None => format!("sqlite://{}", data_dir.join("rapport.db").display()),
        };
        let defaults = rapport_server::ServerConfig::default();
        let max_body_bytes = self.server.max_body_bytes.unwrap_or(defaults.max_body_bytes);
        if !(1024..=64 * 1024 * 1024).contains(&max_body_bytes) {
            bail!("server.max_body_bytes must be between 1024 and 67108864, not {max_body_bytes}");
        }
        let max_page_size = self.server.max_page_size.unwrap_or(defaults.max_page_size);
        if !(1..=1000).contains(&max_page_size) {
            bail!("server.max_page_size must be between 1 and 1000, not {max_page_size}");
        }
        let auto_close_after_ms = match self.server.auto_close_after_hours {
            Some(hours) if hours < 1 => bail!("server.auto_close_after_hours must be at least 1, not {hours}"),
            Some(hours) => hours * rapport_core::time::HOUR,
            None => defaults.auto_close_after_ms,
        };
        let matrix = match self.priority.matrix {
            Some(rows) => PriorityMatrix::parse(rows).context("priority.matrix")?,
            None => PriorityMatrix::default(),
        };
        let listen = self.server.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        Ok(ValidConfig {
            database_url,
            listen,
            server: rapport_server::ServerConfig { max_body_bytes, max_page_size, auto_close_after_ms },
            matrix,
        })
    }
}

impl ValidConfig {
    pub fn store_options(&self) -> rapport_store::StoreOptions {
        rapport_store::StoreOptions { matrix: self.matrix.clone() }
    }

    /// The database URL with any password replaced, for messages and logs.
    pub fn redacted_database_url(&self) -> String {
        redact_url(&self.database_url)
    }
}

/// Replaces the password in `scheme://user:password@host/...`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((credentials, host)) = rest.split_once('@') else { return url.to_owned() };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

fn read_file(path: &Path) -> anyhow::Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading the configuration file {}", path.display()))?;
    text.parse::<toml::Table>().with_context(|| format!("parsing the configuration file {}", path.display()))
}

/// Variables that belong to the command line, the tests or the benchmark, not to the file's keys.
const NOT_CONFIG: &[&str] = &["RAPPORT_CONFIG", "RAPPORT_BENCH_TOKEN", "RAPPORT_DATABASE_URL", "RAPPORT_DATA_DIR"];

/// Overlays `RAPPORT_SECTION__KEY=value` variables onto the table. Values are
/// read as TOML where they parse (numbers, booleans, arrays), else as strings.
fn apply_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> anyhow::Result<()> {
    for (name, value) in vars {
        let Some(key) = name.strip_prefix("RAPPORT_") else { continue };
        if NOT_CONFIG.contains(&name.as_str()) || key.starts_with("TEST_") {
            continue;
        }
        let path: Vec<String> = key.split("__").map(str::to_lowercase).collect();
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut parsed| parsed.remove("v"))
            .unwrap_or(toml::Value::String(value.clone()));
        let mut current = &mut *table;
        for (index, part) in path.iter().enumerate() {
            if index + 1 == path.len() {
                current.insert(part.clone(), parsed.clone());
            } else {
                let entry = current.entry(part.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                current = match entry {
                    toml::Value::Table(inner) => inner,
                    _ => bail!("environment variable {name} names a key inside {part}, which is not a section"),
                };
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: &str, vars: &[(&str, &str)]) -> anyhow::Result<ValidConfig> {
        let mut table: toml::Table = file.parse()?;
        apply_env(&mut table, vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))?;
        let raw: RawConfig = toml::Value::Table(table).try_into()?;
        raw.validate()
    }

    #[test]
    fn defaults_need_nothing() {
        let config = load("", &[]).unwrap();
        assert_eq!(config.database_url, "sqlite://./data/rapport.db");
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.server.auto_close_after_ms, 96 * rapport_core::time::HOUR);
    }

    #[test]
    fn env_overrides_file() {
        let config =
            load("[server]\nlisten = \"0.0.0.0:1\"\nmax_page_size = 10", &[("RAPPORT_SERVER__MAX_PAGE_SIZE", "20")])
                .unwrap();
        assert_eq!(config.listen, "0.0.0.0:1");
        assert_eq!(config.server.max_page_size, 20);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(load("colour = 1", &[]).is_err());
        assert!(load("", &[("RAPPORT_SERVER__LISTN", "x")]).is_err());
        assert!(load("[server]\nmax_page_size = 0", &[]).is_err());
        assert!(load("database_url = \"mysql://x\"", &[]).is_err());
        assert!(load("[priority.matrix]\nbasic = [\"high\", \"low\", \"low\", \"low\"]", &[]).is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://app:secret@db/rapport"), "postgres://app:***@db/rapport");
        assert_eq!(redact_url("sqlite://data/rapport.db"), "sqlite://data/rapport.db");
    }

    #[test]
    fn example_file_is_the_default() {
        let config = load(DEFAULT_CONFIG, &[]).unwrap();
        let defaults = load("", &[]).unwrap();
        assert_eq!(config.listen, defaults.listen);
        assert_eq!(config.matrix, defaults.matrix);
        assert_eq!(config.server.max_body_bytes, defaults.server.max_body_bytes);
    }
}
