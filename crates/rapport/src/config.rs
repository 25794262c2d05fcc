//! Configuration, in layers: built-in defaults, then an optional TOML file,
//! then `RAPPORT_SECTION__KEY` environment variables, then command-line
//! flags. It is validated once, at start, into [`ValidConfig`]; nothing else
//! reads the environment.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rapport_core::{Level, PriorityMatrix};
use serde::Deserialize;

use rapport_server::settings::MailSettings;

use crate::cli::GlobalArgs;

mod chat;
mod connections;
mod meta;
mod sla;
mod twilio;

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
    /// Email in and out.
    pub email: RawEmail,
    /// The public help pages (web form, magic links).
    pub portal: RawPortal,
    /// Live chat.
    pub chat: chat::RawChat,
    /// Service levels.
    pub sla: sla::RawSla,
    /// The Telegram bot.
    pub telegram: RawTelegram,
    /// WhatsApp Cloud API.
    pub whatsapp: meta::RawWhatsapp,
    /// Messenger and Instagram.
    pub messenger: meta::RawMessenger,
    /// Twilio: SMS and the phone.
    pub twilio: twilio::RawTwilio,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawPortal {
    pub public_url: Option<String>,
    pub limit_per_address: Option<i64>,
    pub limit_per_ip: Option<i64>,
    pub link_valid_days: Option<i64>,
    pub session_days: Option<i64>,
    pub trust_forwarded_for: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawEmail {
    pub address: Option<String>,
    pub from_name: Option<String>,
    pub aliases: Vec<String>,
    pub smtp_url: Option<String>,
    pub loop_id: Option<String>,
    pub max_message_bytes: Option<usize>,
    pub max_attachment_bytes: Option<usize>,
    pub acknowledge: Option<bool>,
    pub rate_limit_replies: Option<u32>,
    pub rate_limit_messages: Option<u32>,
    pub poll_interval_seconds: Option<u64>,
    pub send_lease_seconds: Option<i64>,
    pub max_followers: Option<usize>,
    pub mailboxes: Vec<RawMailbox>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawTelegram {
    pub bot_token: Option<String>,
    pub secret_token: Option<String>,
    pub api_base: Option<String>,
}

impl RawTelegram {
    fn validate(self) -> anyhow::Result<Option<rapport_server::settings::TelegramSettings>> {
        let bot_token = self.bot_token.filter(|token| !token.trim().is_empty());
        let secret_token = self.secret_token.filter(|token| !token.is_empty());
        let (bot_token, secret_token) = match (bot_token, secret_token) {
            (None, None) => return Ok(None),
            (Some(bot), Some(secret)) => (bot, secret),
            (None, Some(_)) => bail!("telegram.bot_token is required when telegram.secret_token is set"),
            (Some(_), None) => bail!("telegram.secret_token is required: updates without it are refused"),
        };
        // Telegram's own rule for setWebhook's secret_token.
        if secret_token.len() > 256 || !secret_token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bail!("telegram.secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -");
        }
        let api_base = self.api_base.unwrap_or_else(|| "https://api.telegram.org".to_owned());
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            bail!("telegram.api_base must be an http(s) URL, not {api_base:?}");
        }
        Ok(Some(rapport_server::settings::TelegramSettings {
            bot_token: bot_token.into(),
            secret_token: secret_token.into(),
            api_base,
        }))
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawMailbox {
    pub address: Option<String>,
    pub team: Option<String>,
    pub imap_url: Option<String>,
    pub auth: Option<String>,
    pub password: Option<String>,
    pub token_command: Option<String>,
}

/// One IMAP mailbox to poll, checked.
#[derive(Clone)]
pub struct MailboxConfig {
    /// The mailbox's address (one of ours).
    pub address: String,
    /// The name of the team its mail goes to, if any.
    pub team: Option<String>,
    /// The IMAP URL and credentials.
    pub imap: rapport_channels::email::imap::ImapMailbox,
}

impl std::fmt::Debug for MailboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxConfig")
            .field("address", &self.address)
            .field("team", &self.team)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub max_page_size: Option<i64>,
    pub auto_close_after_hours: Option<i64>,
    pub header_read_timeout_seconds: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_address: Option<usize>,
    pub max_websockets: Option<usize>,
    pub max_websockets_per_address: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawPriority {
    pub matrix: Option<BTreeMap<String, [Level; 4]>>,
}

/// The configuration after validation: everything the program needs, checked.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    /// Printed only as [`ValidConfig::redacted_database_url`]: it may carry a password.
    pub database_url: rapport_core::Secret,
    pub listen: String,
    /// `portal.public_url` as configured; `None` lets links follow the
    /// address the server listens on ([`ValidConfig::server_for`]).
    pub public_url: Option<String>,
    pub server: rapport_server::ServerConfig,
    pub matrix: PriorityMatrix,
    pub mailboxes: Vec<MailboxConfig>,
    pub poll_interval: std::time::Duration,
    pub sla_time_zone: String,
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
            Some(url) => bail!(
                "database_url {:?} is not supported: use sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(&url)
            ),
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
        let connections = connections::validate(&self.server)?;
        let listen = self.server.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let (mail, mailboxes, poll_interval) = self.email.validate()?;
        let telegram = self.telegram.validate()?;
        let whatsapp = self.whatsapp.validate()?;
        let messenger = self.messenger.validate()?;
        let twilio = self.twilio.validate()?;
        let public_url = self.portal.public_url()?;
        let portal = self.portal.validate(&listen)?;
        let chat = self.chat.validate()?;
        let (sla_time_zone, automation) = self.sla.validate()?;
        Ok(ValidConfig {
            database_url: database_url.into(),
            listen,
            public_url,
            server: rapport_server::ServerConfig {
                max_body_bytes,
                max_page_size,
                auto_close_after_ms,
                mail,
                portal,
                chat,
                telegram,
                whatsapp,
                messenger,
                twilio,
                automation,
                connections,
            },
            matrix,
            mailboxes,
            poll_interval,
            sla_time_zone,
        })
    }
}

impl RawEmail {
    fn validate(self) -> anyhow::Result<(MailSettings, Vec<MailboxConfig>, std::time::Duration)> {
        use rapport_channels::email::imap::{ImapAuth, ImapMailbox, parse_imap_url};
        let defaults = MailSettings::default();
        let address = match self.address {
            Some(address) => email_address(&address, "email.address")?,
            None => defaults.address.clone(),
        };
        let mut own_addresses = vec![address.clone()];
        for (index, alias) in self.aliases.iter().enumerate() {
            own_addresses.push(email_address(alias, &format!("email.aliases[{index}]"))?);
        }
        let mut mailboxes = Vec::new();
        for (index, raw) in self.mailboxes.into_iter().enumerate() {
            let field = |key: &str| format!("email.mailboxes[{index}].{key}");
            let mailbox_address = email_address(
                raw.address.as_deref().with_context(|| format!("{} is required", field("address")))?,
                &field("address"),
            )?;
            let imap_url = raw.imap_url.with_context(|| format!("{} is required", field("imap_url")))?;
            parse_imap_url(&imap_url).map_err(|error| anyhow::anyhow!("{}: {error}", field("imap_url")))?;
            let auth = match raw.auth.as_deref().unwrap_or("password") {
                "password" => ImapAuth::Password(
                    raw.password
                        .with_context(|| format!("{} is required when auth = \"password\"", field("password")))?,
                ),
                "xoauth2" => ImapAuth::XOAuth2 {
                    token_command: raw
                        .token_command
                        .with_context(|| format!("{} is required when auth = \"xoauth2\"", field("token_command")))?,
                },
                other => bail!("{} must be \"password\" or \"xoauth2\", not {other:?}", field("auth")),
            };
            if !own_addresses.contains(&mailbox_address) {
                own_addresses.push(mailbox_address.clone());
            }
            mailboxes.push(MailboxConfig {
                address: mailbox_address.clone(),
                team: raw.team,
                imap: ImapMailbox { address: mailbox_address, imap_url, auth },
            });
        }
        let smtp_url = self.smtp_url.filter(|url| !url.trim().is_empty());
        if let Some(url) = &smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            bail!("email.smtp_url {:?} must start with smtp:// or smtps://", redact_url(url));
        }
        let loop_id = self.loop_id.unwrap_or(defaults.loop_id);
        if loop_id.is_empty() || !loop_id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            bail!("email.loop_id must be letters, digits, '-', '_' or '.', not {loop_id:?}");
        }
        let max_message_bytes = self.max_message_bytes.unwrap_or(defaults.max_message_bytes);
        if max_message_bytes < 1024 {
            bail!("email.max_message_bytes must be at least 1024, not {max_message_bytes}");
        }
        let max_attachment_bytes = self.max_attachment_bytes.unwrap_or(defaults.max_attachment_bytes);
        let replies = self.rate_limit_replies.unwrap_or(defaults.rate_limit.replies);
        let messages = self.rate_limit_messages.unwrap_or(defaults.rate_limit.messages);
        if messages < 1 || replies > messages {
            bail!("email.rate_limit_messages must be at least 1 and at least email.rate_limit_replies");
        }
        let poll = self.poll_interval_seconds.unwrap_or(60);
        if poll < 1 {
            bail!("email.poll_interval_seconds must be at least 1");
        }
        let lease = self.send_lease_seconds.unwrap_or(defaults.send_lease_ms / 1000);
        if !(1..=86_400).contains(&lease) {
            bail!("email.send_lease_seconds must be between 1 and 86400, not {lease}");
        }
        let settings = MailSettings {
            address,
            from_name: self.from_name.unwrap_or(defaults.from_name),
            own_addresses,
            loop_id,
            smtp_url: smtp_url.map(rapport_core::Secret::new),
            max_message_bytes,
            max_attachment_bytes,
            acknowledge: self.acknowledge.unwrap_or(defaults.acknowledge),
            rate_limit: rapport_core::intake::RateLimit { replies, messages },
            send_lease_ms: lease * 1000,
            max_followers: self.max_followers.unwrap_or(defaults.max_followers),
        };
        Ok((settings, mailboxes, std::time::Duration::from_secs(poll)))
    }
}

impl RawPortal {
    /// The configured public address, checked; `None` when unset.
    fn public_url(&self) -> anyhow::Result<Option<String>> {
        let Some(url) = &self.public_url else { return Ok(None) };
        let url = url.trim().trim_end_matches('/').to_owned();
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => Ok(Some(url)),
            _ => bail!(
                "portal.public_url must be http:// or https:// and a host, without a path, \
                 such as \"https://support.example.com\", not {url:?}"
            ),
        }
    }

    fn validate(self, listen: &str) -> anyhow::Result<rapport_server::settings::PortalSettings> {
        let defaults = rapport_server::settings::PortalSettings::default();
        // `rapport serve` replaces the default by the address it is bound to.
        let public_url = self.public_url()?.unwrap_or_else(|| format!("http://{listen}"));
        let positive = |value: Option<i64>, default: i64, key: &str| -> anyhow::Result<i64> {
            let value = value.unwrap_or(default);
            if !(1..=1_000_000).contains(&value) {
                bail!("portal.{key} must be between 1 and 1000000, not {value}");
            }
            Ok(value)
        };
        Ok(rapport_server::settings::PortalSettings {
            public_url,
            limit_per_address: positive(self.limit_per_address, defaults.limit_per_address, "limit_per_address")?,
            limit_per_ip: positive(self.limit_per_ip, defaults.limit_per_ip, "limit_per_ip")?,
            link_valid_days: positive(self.link_valid_days, defaults.link_valid_days, "link_valid_days")?,
            session_days: positive(self.session_days, defaults.session_days, "session_days")?,
            trust_forwarded_for: self.trust_forwarded_for.unwrap_or(defaults.trust_forwarded_for),
        })
    }
}

fn email_address(raw: &str, field: &str) -> anyhow::Result<String> {
    rapport_core::Identity::email(raw)
        .map(|identity| identity.value)
        .map_err(|error| anyhow::anyhow!("{field}: {error}"))
}

impl ValidConfig {
    /// The server's settings for a server bound to `address`: unless
    /// `portal.public_url` is set, links in emails point at that address
    /// (so `--listen` and a port picked by the system count).
    pub fn server_for(&self, address: SocketAddr) -> rapport_server::ServerConfig {
        let mut server = self.server.clone();
        server.portal.public_url = match &self.public_url {
            Some(url) => url.clone(),
            None => default_public_url(address),
        };
        server
    }

    pub fn store_options(&self) -> rapport_store::StoreOptions {
        rapport_store::StoreOptions {
            matrix: self.matrix.clone(),
            sla_time_zone: self.sla_time_zone.clone(),
            max_followers: self.server.mail.max_followers,
        }
    }

    /// The database URL with any password replaced, for messages and logs.
    pub fn redacted_database_url(&self) -> String {
        redact_url(self.database_url.expose())
    }
}

/// `http://` and the address a server is bound to. A server bound to every
/// interface (`0.0.0.0`, `::`) is named by loopback, which at least works on
/// this machine; [`public_url_warning`] says to set `portal.public_url`.
pub fn default_public_url(address: SocketAddr) -> String {
    let mut address = address;
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => address.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V6(ip) if ip.is_unspecified() => address.set_ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        _ => {}
    }
    format!("http://{address}")
}

/// What to tell the admin when links built from `public_url` would reach
/// nobody but this machine: its host is a loopback or unspecified address
/// or `localhost`.
pub fn public_url_warning(public_url: &str) -> Option<String> {
    let rest = public_url.split_once("://").map_or(public_url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(bracketed),
        None => authority.split(':').next().unwrap_or(authority),
    };
    let host = host.to_ascii_lowercase();
    let local = host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    local.then(|| {
        format!(
            "links in emails (magic links to the help pages) point at {public_url}, which customers on other \
             machines cannot reach: set portal.public_url (or RAPPORT_PORTAL__PUBLIC_URL) to the address \
             customers reach Rapport at, such as \"https://support.example.com\""
        )
    })
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

    /// Issue 16: the loaded configuration can be logged whole.
    #[test]
    fn the_configurations_debug_prints_no_secret() {
        let file = r#"
database_url = "postgres://rapport:db-Secret-1@db.example/rapport"
[email]
address = "help@example.com"
smtp_url = "smtps://help%40example.com:smtp-Secret-2@smtp.example.com"
[[email.mailboxes]]
address = "help@example.com"
imap_url = "imaps://help%40example.com@imap.example.com/INBOX"
auth = "password"
password = "imap-Secret-3"
[telegram]
bot_token = "1:tg-Secret-4"
secret_token = "tg-Secret-5"
[whatsapp]
app_secret = "wa-Secret-6"
verify_token = "wa-Secret-7"
access_token = "wa-Secret-8"
phone_number_id = "106540352242922"
[messenger]
app_secret = "fb-Secret-9"
verify_token = "fb-Secret-10"
page_access_token = "fb-Secret-11"
[twilio]
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "tw-Secret-12"
from_number = "+15557122661"
"#;
        let config = load(file, &[]).unwrap();
        let printed = format!("{config:?}");
        assert!(printed.contains("[redacted]"), "{printed}");
        for n in 1..=12 {
            assert!(!printed.contains(&format!("Secret-{n}")), "secret {n} printed: {printed}");
        }
        // The secrets are all there for the code that uses them.
        assert!(config.database_url.expose().contains("db-Secret-1"));
        assert_eq!(config.server.twilio.as_ref().map(|twilio| twilio.auth_token.expose()), Some("tw-Secret-12"));
    }

    #[test]
    fn defaults_need_nothing() {
        let config = load("", &[]).unwrap();
        assert_eq!(config.database_url.expose(), "sqlite://./data/rapport.db");
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.server.auto_close_after_ms, 96 * rapport_core::time::HOUR);
        assert_eq!(config.server.portal.public_url, "http://127.0.0.1:8080");
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
        assert!(load("[email]\naddress = \"not an address\"", &[]).is_err());
        assert!(load("[email]\nsmtp_url = \"http://x\"", &[]).is_err());
        assert!(load("[telegram]\nbot_token = \"1:abc\"", &[]).is_err(), "a bot needs its secret token");
        assert!(load("[telegram]\nbot_token = \"1:abc\"\nsecret_token = \"has space\"", &[]).is_err());
        assert!(load("[telegram]\nbot_token = \"1:abc\"\nsecret_token = \"ok_token-1\"", &[]).is_ok());
        assert!(load("[portal]\npublic_url = \"support.example.com\"", &[]).is_err());
        assert!(load("[portal]\npublic_url = \"https://example.com/help\"", &[]).is_err());
        assert!(load("[portal]\nlimit_per_ip = 0", &[]).is_err());
        assert!(load("[[email.mailboxes]]\naddress = \"a@b.example\"\nimap_url = \"imap://a@h/INBOX\"", &[]).is_err());
        assert!(
            load("[[email.mailboxes]]\naddress = \"a@b.example\"\nimap_url = \"ftp://h\"\npassword = \"p\"", &[])
                .is_err()
        );
    }

    #[test]
    fn issue_14_links_follow_the_bound_address_unless_public_url_is_set() {
        let address = |text: &str| text.parse::<SocketAddr>().unwrap();
        let config = load("", &[]).unwrap();
        let server = config.server_for(address("192.0.2.7:9090"));
        assert_eq!(server.portal.public_url, "http://192.0.2.7:9090");
        assert_eq!(config.server_for(address("0.0.0.0:9090")).portal.public_url, "http://127.0.0.1:9090");
        assert_eq!(config.server_for(address("[::]:9090")).portal.public_url, "http://[::1]:9090");
        let config = load("[portal]\npublic_url = \"https://support.example.com/\"", &[]).unwrap();
        let server = config.server_for(address("0.0.0.0:9090"));
        assert_eq!(server.portal.public_url, "https://support.example.com");
    }

    #[test]
    fn issue_14_links_to_this_machine_only_are_warned_about() {
        for local in [
            "http://127.0.0.1:8080",
            "http://127.0.3.1",
            "http://[::1]:8080",
            "http://localhost:8080",
            "https://desk.localhost",
            "http://0.0.0.0:8080",
            "http://[::]:8080",
        ] {
            let warning = public_url_warning(local).unwrap_or_else(|| panic!("no warning for {local}"));
            assert!(warning.contains(local) && warning.contains("portal.public_url"), "{warning}");
        }
        for public in ["https://support.example.com", "http://192.0.2.7:9090", "http://[2001:db8::1]:8080"] {
            assert_eq!(public_url_warning(public), None, "{public}");
        }
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
