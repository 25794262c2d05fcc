//! `[sla]`: the team's time zone (for the default business-hours calendar)
//! and the pace of the service-level background work.

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

use rapport_server::settings::AutomationSettings;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawSla {
    pub time_zone: Option<String>,
    pub automation: Option<bool>,
    pub tick_ms: Option<u64>,
}

impl RawSla {
    /// The time zone's name and the automation settings.
    pub fn validate(self) -> anyhow::Result<(String, AutomationSettings)> {
        let time_zone = self.time_zone.unwrap_or_else(|| "UTC".to_owned());
        if rapport_core::calendar::find_time_zone(&time_zone).is_none() {
            bail!("sla.time_zone: {time_zone:?} is not an IANA time zone such as \"Europe/Berlin\" or \"UTC\"");
        }
        let defaults = AutomationSettings::default();
        let tick = self.tick_ms.unwrap_or(u64::try_from(defaults.tick.as_millis()).unwrap_or(250));
        if !(10..=60_000).contains(&tick) {
            bail!("sla.tick_ms must be between 10 and 60000, not {tick}");
        }
        Ok((
            time_zone,
            AutomationSettings {
                enabled: self.automation.unwrap_or(defaults.enabled),
                tick: Duration::from_millis(tick),
                ..defaults
            },
        ))
    }
}
