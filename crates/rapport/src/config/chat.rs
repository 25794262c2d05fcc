//! `[chat]`: the live-chat widget and its sockets, read and checked like the
//! other sections.

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

use rapport_server::settings::ChatSettings;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawChat {
    pub enabled: Option<bool>,
    pub allowed_origins: Option<Vec<String>>,
    pub offline_after_seconds: Option<u64>,
    pub default_capacity: Option<usize>,
    pub ping_interval_seconds: Option<u64>,
}

impl RawChat {
    pub fn validate(self) -> anyhow::Result<ChatSettings> {
        let defaults = ChatSettings::default();
        let allowed_origins = self.allowed_origins.unwrap_or(defaults.allowed_origins);
        for origin in &allowed_origins {
            let origin = origin.trim();
            let well_formed = origin == "*"
                || ((origin.starts_with("https://") || origin.starts_with("http://"))
                    && origin.split_once("://").is_some_and(|(_, host)| {
                        let host = host.trim_end_matches('/');
                        !host.is_empty() && !host.contains('/')
                    }));
            if !well_formed {
                bail!(
                    "chat.allowed_origins: {origin:?} must be \"*\" or a scheme and host, \
                     such as \"https://shop.example.com\""
                );
            }
        }
        let offline_after = self.offline_after_seconds.unwrap_or(defaults.offline_after.as_secs());
        if offline_after > 86_400 {
            bail!("chat.offline_after_seconds must be at most 86400, not {offline_after}");
        }
        let default_capacity = self.default_capacity.unwrap_or(defaults.default_capacity);
        if default_capacity > 100_000 {
            bail!("chat.default_capacity must be at most 100000, not {default_capacity}");
        }
        let ping = self.ping_interval_seconds.unwrap_or(defaults.ping_interval.as_secs());
        if !(1..=3600).contains(&ping) {
            bail!("chat.ping_interval_seconds must be between 1 and 3600, not {ping}");
        }
        Ok(ChatSettings {
            enabled: self.enabled.unwrap_or(defaults.enabled),
            allowed_origins,
            offline_after: Duration::from_secs(offline_after),
            default_capacity,
            ping_interval: Duration::from_secs(ping),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml: &str) -> anyhow::Result<ChatSettings> {
        let raw: RawChat = toml::from_str(toml)?;
        raw.validate()
    }

    #[test]
    fn defaults_and_limits() {
        let settings = check("").unwrap();
        assert!(settings.enabled);
        assert_eq!(settings.default_capacity, 3);
        assert_eq!(settings.offline_after, Duration::from_secs(120));
        assert_eq!(settings.ping_interval, Duration::from_secs(30));
        let settings = check("allowed_origins = [\"https://shop.example.com\", \"*\"]\ndefault_capacity = 5").unwrap();
        assert_eq!(settings.allowed_origins.len(), 2);
        assert_eq!(settings.default_capacity, 5);
        assert!(check("allowed_origins = [\"shop.example.com\"]").is_err());
        assert!(check("allowed_origins = [\"https://shop.example.com/chat\"]").is_err());
        assert!(check("ping_interval_seconds = 0").is_err());
        assert!(check("offline_after_seconds = 100000").is_err());
        assert!(check("unknown = 1").is_err());
    }
}
