//! `[whatsapp]` and `[messenger]`: Meta's channels (WhatsApp Cloud API;
//! Messenger and Instagram), read and checked like the other sections.

use anyhow::{Context, bail};
use serde::Deserialize;

use rapport_server::settings::{MessengerSettings, TemplateSettings, WhatsappSettings};

/// The Graph API version Rapport is written against.
pub const GRAPH_API_BASE: &str = "https://graph.facebook.com/v21.0";

/// The message tags Meta allows for replies outside Messenger's 24-hour window.
const MESSAGE_TAGS: [&str; 4] = ["HUMAN_AGENT", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"];

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawWhatsapp {
    #[serde(deserialize_with = "text")]
    pub app_secret: Option<String>,
    #[serde(deserialize_with = "text")]
    pub verify_token: Option<String>,
    pub access_token: Option<String>,
    #[serde(deserialize_with = "text")]
    pub phone_number_id: Option<String>,
    pub api_base: Option<String>,
    pub template: Option<RawTemplate>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawTemplate {
    pub name: Option<String>,
    pub language: Option<String>,
    pub text_parameter: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawMessenger {
    #[serde(deserialize_with = "text")]
    pub app_secret: Option<String>,
    #[serde(deserialize_with = "text")]
    pub verify_token: Option<String>,
    pub page_access_token: Option<String>,
    pub api_base: Option<String>,
    pub message_tag: Option<String>,
}

/// A string, or digits that TOML (or a `RAPPORT_WHATSAPP__PHONE_NUMBER_ID`
/// variable, read as TOML) took for a number: ids and tokens may be all digits.
fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Text(String),
        Number(i64),
    }
    Ok(Option::<Text>::deserialize(deserializer)?.map(|value| match value {
        Text::Text(text) => text,
        Text::Number(number) => number.to_string(),
    }))
}

/// `section.key`, required once the section is in use.
fn required(value: Option<String>, key: &str) -> anyhow::Result<String> {
    value.filter(|value| !value.trim().is_empty()).with_context(|| format!("{key} is required"))
}

fn api_base(value: Option<String>, key: &str) -> anyhow::Result<String> {
    let api_base = value.unwrap_or_else(|| GRAPH_API_BASE.to_owned());
    if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
        bail!("{key} must be an http(s) URL, not {api_base:?}");
    }
    Ok(api_base)
}

impl RawWhatsapp {
    /// `None` when no key is set (WhatsApp off).
    pub fn validate(self) -> anyhow::Result<Option<WhatsappSettings>> {
        let in_use = [&self.app_secret, &self.verify_token, &self.access_token, &self.phone_number_id]
            .into_iter()
            .any(|value| value.as_ref().is_some_and(|value| !value.trim().is_empty()));
        if !in_use && self.template.is_none() {
            return Ok(None);
        }
        let phone_number_id = required(self.phone_number_id, "whatsapp.phone_number_id")?;
        if !phone_number_id.chars().all(|c| c.is_ascii_digit()) {
            bail!("whatsapp.phone_number_id is the number's id in Meta's API (digits), not {phone_number_id:?}");
        }
        let template = match self.template {
            Some(template) => Some(TemplateSettings {
                name: required(template.name, "whatsapp.template.name")?,
                language: template.language.unwrap_or_else(|| "en_US".to_owned()),
                text_parameter: template.text_parameter.unwrap_or(true),
            }),
            None => None,
        };
        Ok(Some(WhatsappSettings {
            app_secret: required(self.app_secret, "whatsapp.app_secret")?.into(),
            verify_token: required(self.verify_token, "whatsapp.verify_token")?.into(),
            access_token: required(self.access_token, "whatsapp.access_token")?.into(),
            phone_number_id,
            api_base: api_base(self.api_base, "whatsapp.api_base")?,
            template,
        }))
    }
}

impl RawMessenger {
    /// `None` when no key is set (Messenger and Instagram off).
    pub fn validate(self) -> anyhow::Result<Option<MessengerSettings>> {
        let in_use = [&self.app_secret, &self.verify_token, &self.page_access_token]
            .into_iter()
            .any(|value| value.as_ref().is_some_and(|value| !value.trim().is_empty()));
        if !in_use {
            return Ok(None);
        }
        let message_tag = match self.message_tag {
            None => Some("HUMAN_AGENT".to_owned()),
            Some(tag) if tag.is_empty() => None,
            Some(tag) if MESSAGE_TAGS.contains(&tag.as_str()) => Some(tag),
            Some(tag) => bail!("messenger.message_tag must be one of {} or \"\", not {tag:?}", MESSAGE_TAGS.join(", ")),
        };
        Ok(Some(MessengerSettings {
            app_secret: required(self.app_secret, "messenger.app_secret")?.into(),
            verify_token: required(self.verify_token, "messenger.verify_token")?.into(),
            page_access_token: required(self.page_access_token, "messenger.page_access_token")?.into(),
            api_base: api_base(self.api_base, "messenger.api_base")?,
            message_tag,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whatsapp(toml: &str) -> anyhow::Result<Option<WhatsappSettings>> {
        toml::from_str::<RawWhatsapp>(toml)?.validate()
    }

    fn messenger(toml: &str) -> anyhow::Result<Option<MessengerSettings>> {
        toml::from_str::<RawMessenger>(toml)?.validate()
    }

    const WHATSAPP: &str =
        "app_secret = \"s\"\nverify_token = \"v\"\naccess_token = \"t\"\nphone_number_id = \"106540352242922\"\n";

    #[test]
    fn whatsapp_needs_all_its_keys_and_defaults_the_rest() {
        assert!(whatsapp("").unwrap().is_none(), "no keys: off");
        let settings = whatsapp(WHATSAPP).unwrap().unwrap();
        assert_eq!(settings.api_base, GRAPH_API_BASE);
        assert!(settings.template.is_none());
        assert!(whatsapp("app_secret = \"s\"").is_err(), "a half-configured section is an error");
        assert!(whatsapp(&WHATSAPP.replace("106540352242922", "+1 555")).is_err());
        let with_template = format!("{WHATSAPP}[template]\nname = \"support_reply\"\n");
        let template = whatsapp(&with_template).unwrap().unwrap().template.unwrap();
        assert_eq!(
            (template.name.as_str(), template.language.as_str(), template.text_parameter),
            ("support_reply", "en_US", true)
        );
        assert!(whatsapp(&format!("{WHATSAPP}[template]\nlanguage = \"de\"\n")).is_err(), "a template needs its name");
        assert!(whatsapp(&format!("{WHATSAPP}api_base = \"ftp://x\"\n")).is_err());
        let digits = WHATSAPP.replace("\"106540352242922\"", "106540352242922");
        assert_eq!(
            whatsapp(&digits).unwrap().unwrap().phone_number_id,
            "106540352242922",
            "as an environment variable"
        );
    }

    #[test]
    fn messenger_tags_default_to_human_agent() {
        assert!(messenger("").unwrap().is_none());
        let base = "app_secret = \"s\"\nverify_token = \"v\"\npage_access_token = \"p\"\n";
        assert_eq!(messenger(base).unwrap().unwrap().message_tag.as_deref(), Some("HUMAN_AGENT"));
        assert_eq!(messenger(&format!("{base}message_tag = \"\"\n")).unwrap().unwrap().message_tag, None);
        assert!(messenger(&format!("{base}message_tag = \"PROMOTION\"\n")).is_err());
        assert!(messenger("verify_token = \"v\"").is_err());
    }
}
