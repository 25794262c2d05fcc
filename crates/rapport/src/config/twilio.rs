//! `[twilio]`: SMS and the phone through one Twilio account, read and
//! checked like the other sections.

use anyhow::{Context, bail};
use serde::Deserialize;

use rapport_server::settings::TwilioSettings;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawTwilio {
    pub account_sid: Option<String>,
    #[serde(deserialize_with = "text")]
    pub auth_token: Option<String>,
    #[serde(deserialize_with = "text")]
    pub from_number: Option<String>,
    pub public_url: Option<String>,
    pub api_base: Option<String>,
    pub queue: Option<String>,
    pub voicemail_after_seconds: Option<u32>,
    pub voicemail_max_seconds: Option<u32>,
}

/// A string, or digits that TOML (or a `RAPPORT_TWILIO__FROM_NUMBER`
/// variable, read as TOML) took for a number: `+15557122661` is a TOML integer.
fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Text(String),
        Number(i64),
    }
    Ok(Option::<Text>::deserialize(deserializer)?.map(|value| match value {
        Text::Text(text) => text,
        Text::Number(number) => format!("+{number}"),
    }))
}

fn required(value: Option<String>, key: &str) -> anyhow::Result<String> {
    value.filter(|value| !value.trim().is_empty()).with_context(|| format!("{key} is required"))
}

fn http_url(value: &str, key: &str) -> anyhow::Result<()> {
    if !(value.starts_with("https://") || value.starts_with("http://")) {
        bail!("{key} must be an http(s) URL, not {value:?}");
    }
    Ok(())
}

impl RawTwilio {
    /// `None` when none of the account's keys is set (Twilio off).
    pub fn validate(self) -> anyhow::Result<Option<TwilioSettings>> {
        let in_use = [&self.account_sid, &self.auth_token, &self.from_number]
            .into_iter()
            .any(|value| value.as_ref().is_some_and(|value| !value.trim().is_empty()));
        if !in_use {
            return Ok(None);
        }
        let defaults = TwilioSettings::default();
        let account_sid = required(self.account_sid, "twilio.account_sid")?;
        if !account_sid.starts_with("AC") {
            bail!("twilio.account_sid is the account's sid, starting with AC, not {account_sid:?}");
        }
        let from_number = required(self.from_number, "twilio.from_number")?;
        let from_number = rapport_core::Identity::phone(&from_number)
            .map_err(|_| anyhow::anyhow!("twilio.from_number must be a number in E.164, such as +15557122661"))?
            .value;
        let public_url = self.public_url.filter(|url| !url.trim().is_empty());
        if let Some(url) = &public_url {
            http_url(url, "twilio.public_url")?;
        }
        let api_base = self.api_base.unwrap_or(defaults.api_base);
        http_url(&api_base, "twilio.api_base")?;
        let queue = self.queue.unwrap_or(defaults.queue);
        if queue.trim().is_empty() || queue.chars().count() > 64 {
            bail!("twilio.queue must be 1-64 characters, not {queue:?}");
        }
        let voicemail_after_secs = self.voicemail_after_seconds.unwrap_or(defaults.voicemail_after_secs);
        let voicemail_max_secs = self.voicemail_max_seconds.unwrap_or(defaults.voicemail_max_secs);
        if !(1..=14_400).contains(&voicemail_max_secs) {
            bail!("twilio.voicemail_max_seconds must be 1-14400 (Twilio's limit), not {voicemail_max_secs}");
        }
        Ok(Some(TwilioSettings {
            account_sid,
            auth_token: required(self.auth_token, "twilio.auth_token")?.into(),
            from_number,
            public_url,
            api_base,
            queue,
            voicemail_after_secs,
            voicemail_max_secs,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twilio(toml: &str) -> anyhow::Result<Option<TwilioSettings>> {
        toml::from_str::<RawTwilio>(toml)?.validate()
    }

    #[test]
    fn twilio_is_off_until_configured_and_checked_when_on() {
        assert!(twilio("api_base = \"https://api.twilio.com\"").unwrap().is_none());
        let on = twilio("account_sid = \"AC1\"\nauth_token = \"t\"\nfrom_number = +15557122661").unwrap().unwrap();
        assert_eq!(on.from_number, "+15557122661");
        assert_eq!((on.queue.as_str(), on.voicemail_after_secs, on.voicemail_max_secs), ("support", 120, 120));
        assert_eq!(on.api_base, "https://api.twilio.com");
        assert_eq!(on.public_url, None);
        let error = twilio("account_sid = \"AC1\"\nfrom_number = \"+15557122661\"").unwrap_err();
        assert!(error.to_string().contains("twilio.auth_token"), "{error}");
        let error = twilio("account_sid = \"SK1\"\nauth_token = \"t\"\nfrom_number = \"+1555\"").unwrap_err();
        assert!(error.to_string().contains("twilio.account_sid"), "{error}");
        let error = twilio("account_sid = \"AC1\"\nauth_token = \"t\"\nfrom_number = \"support\"").unwrap_err();
        assert!(error.to_string().contains("twilio.from_number"), "{error}");
        let error =
            twilio("account_sid = \"AC1\"\nauth_token = \"t\"\nfrom_number = \"+15557122661\"\npublic_url = \"x\"");
        assert!(error.unwrap_err().to_string().contains("twilio.public_url"));
    }
}
