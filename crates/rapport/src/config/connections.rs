//! `[server]`'s connection limits: the header-read timeout and the caps on
//! connections and WebSockets (`rapport_server::connections`).

use anyhow::bail;
use rapport_server::settings::ConnectionSettings;

use super::RawServer;

/// The limits as configured, each checked to be usable.
pub fn validate(server: &RawServer) -> anyhow::Result<ConnectionSettings> {
    let defaults = ConnectionSettings::default();
    let seconds = server.header_read_timeout_seconds.unwrap_or(defaults.header_read_timeout.as_secs());
    if !(1..=3600).contains(&seconds) {
        bail!("server.header_read_timeout_seconds must be between 1 and 3600, not {seconds}");
    }
    let cap = |name: &str, value: Option<usize>, default: usize| -> anyhow::Result<usize> {
        let value = value.unwrap_or(default);
        if !(1..=1_000_000).contains(&value) {
            bail!("server.{name} must be between 1 and 1000000, not {value}");
        }
        Ok(value)
    };
    let settings = ConnectionSettings {
        header_read_timeout: std::time::Duration::from_secs(seconds),
        max_connections: cap("max_connections", server.max_connections, defaults.max_connections)?,
        max_connections_per_address: cap(
            "max_connections_per_address",
            server.max_connections_per_address,
            defaults.max_connections_per_address,
        )?,
        max_websockets: cap("max_websockets", server.max_websockets, defaults.max_websockets)?,
        max_websockets_per_address: cap(
            "max_websockets_per_address",
            server.max_websockets_per_address,
            defaults.max_websockets_per_address,
        )?,
    };
    if settings.max_connections_per_address > settings.max_connections {
        bail!(
            "server.max_connections_per_address ({}) may not exceed server.max_connections ({})",
            settings.max_connections_per_address,
            settings.max_connections
        );
    }
    Ok(settings)
}
