//! Telegram Bot API: inbound updates (the webhook's JSON body) into core's
//! inbound message, and replies through `sendMessage` at a configurable
//! `api_base`, so tests can point it at a local stand-in.
//!
//! A customer is identified by the chat the bot talks to them in
//! (`telegram:<chat id>`), which is also where replies go. An update's
//! `chat id` and `message_id` together name the message, so a provider's retry
//! of the same update is filed once.

use crate::email::outbound::OutboundAttachment;
use crate::form_data::FormData;
use rapport_core::intake::{InboundMessage, summary_subject};
use rapport_core::{Channel, Identity, TeamId, Timestamp};
use serde::Deserialize;

/// Why an update cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// Not the Bot API's JSON.
    #[error("the body is not a Telegram update: {0}")]
    Malformed(String),
}

#[derive(Debug, Deserialize)]
struct Update {
    #[allow(dead_code)]
    update_id: i64,
    message: Option<TelegramMessage>,
    edited_message: Option<TelegramMessage>,
}

#[derive(Debug, Deserialize)]
struct TelegramMessage {
    message_id: i64,
    from: Option<User>,
    chat: Chat,
    text: Option<String>,
    caption: Option<String>,
    photo: Option<serde_json::Value>,
    document: Option<serde_json::Value>,
    voice: Option<serde_json::Value>,
    sticker: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct User {
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
}

/// Reads one update. `Ok(None)` for updates that carry no customer message
/// (edits, joins, callback queries): the webhook acknowledges and ignores them.
pub fn parse_update(
    body: &[u8],
    team: Option<TeamId>,
    received_at: Timestamp,
) -> Result<Option<InboundMessage>, UpdateError> {
    let update: Update = serde_json::from_slice(body).map_err(|error| UpdateError::Malformed(error.to_string()))?;
    if update.edited_message.is_some() && update.message.is_none() {
        return Ok(None);
    }
    let Some(message) = update.message else { return Ok(None) };
    let attachment = [
        (message.photo.is_some(), "[photo]"),
        (message.document.is_some(), "[document]"),
        (message.voice.is_some(), "[voice message]"),
        (message.sticker.is_some(), "[sticker]"),
    ]
    .into_iter()
    .find_map(|(present, label)| present.then_some(label));
    let text = match (message.text.or(message.caption), attachment) {
        (Some(text), Some(label)) => format!("{text}\n{label}"),
        (Some(text), None) => text,
        (None, Some(label)) => label.to_owned(),
        (None, None) => return Ok(None),
    };
    let sender = Identity::handle(&format!("telegram:{}", message.chat.id))
        .map_err(|error| UpdateError::Malformed(error.to_string()))?;
    let sender_name = message.from.and_then(|user| {
        let name = [user.first_name, user.last_name].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if name.trim().is_empty() { user.username } else { Some(name) }
    });
    let external_id = format!("telegram:{}:{}", message.chat.id, message.message_id);
    Ok(Some(InboundMessage {
        sender_name,
        external_id: Some(external_id),
        team,
        ..InboundMessage::new(Channel::Telegram, sender, summary_subject(&text), text, received_at)
    }))
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (a network failure, 429, 5xx).
    #[error("temporary Telegram failure: {0}")]
    Transient(String),
    /// Will never work (a blocked bot, an unknown chat, a bad token).
    #[error("permanent Telegram failure: {0}")]
    Permanent(String),
}

/// Sends replies through the Bot API.
#[derive(Debug, Clone)]
pub struct TelegramSender {
    client: reqwest::Client,
    api_base: String,
    bot_token: rapport_core::Secret,
}

impl TelegramSender {
    /// A sender for the bot `bot_token` at `api_base` (normally `https://api.telegram.org`).
    pub fn new(api_base: &str, bot_token: &str) -> TelegramSender {
        TelegramSender {
            client: crate::http::client(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            bot_token: rapport_core::Secret::new(bot_token),
        }
    }

    /// Sends `text` to the chat of `recipient` (`telegram:<chat id>`).
    pub async fn send(&self, recipient: &Identity, text: &str) -> Result<(), SendError> {
        let chat_id = chat_id(recipient)?;
        let url = format!("{}/bot{}/sendMessage", self.api_base, self.bot_token.expose());
        let response = self
            .client
            .post(url)
            .json(&serde_json::json!({"chat_id": chat_id, "text": text}))
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .map_err(|error| SendError::Transient(error.without_url().to_string()))?;
        answer(response).await
    }

    /// Sends `file` to the chat of `recipient` as a document (`sendDocument`,
    /// uploaded as `multipart/form-data`), under its own name and type.
    pub async fn send_document(&self, recipient: &Identity, file: &OutboundAttachment) -> Result<(), SendError> {
        let chat_id = chat_id(recipient)?;
        let (content_type, body) =
            FormData::new().text("chat_id", &chat_id.to_string()).file("document", file).finish();
        let url = format!("{}/bot{}/sendDocument", self.api_base, self.bot_token.expose());
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .timeout(std::time::Duration::from_secs(120))
            .send()
            .await
            .map_err(|error| SendError::Transient(error.without_url().to_string()))?;
        answer(response).await
    }
}

/// The chat id of `telegram:<chat id>`.
fn chat_id(recipient: &Identity) -> Result<i64, SendError> {
    recipient
        .value
        .strip_prefix("telegram:")
        .and_then(|id| id.parse::<i64>().ok())
        .ok_or_else(|| SendError::Permanent(format!("{} is not a Telegram chat", recipient.value)))
}

/// The Bot API's answer: success, or a failure worth retrying (429, 5xx) or not.
async fn answer(response: reqwest::Response) -> Result<(), SendError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let detail = format!("{status}: {}", body.chars().take(300).collect::<String>());
    if status.as_u16() == 429 || status.is_server_error() {
        Err(SendError::Transient(detail))
    } else {
        Err(SendError::Permanent(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape of the Bot API's documented Update object.
    const TEXT_UPDATE: &str = r#"{"update_id":10000,"message":{"date":1441645532,"chat":{"last_name":"Test Lastname","id":1111111,"type":"private","first_name":"Test Firstname","username":"Testusername"},"message_id":1365,"from":{"last_name":"Test Lastname","id":1111111,"is_bot":false,"first_name":"Test Firstname","username":"Testusername"},"text":"/start"}}"#;

    #[test]
    fn a_text_update_becomes_an_inbound_message() {
        let message = parse_update(TEXT_UPDATE.as_bytes(), None, Timestamp(5)).unwrap().unwrap();
        assert_eq!(message.channel, Channel::Telegram);
        assert_eq!(message.sender, Identity::handle("telegram:1111111").unwrap());
        assert_eq!(message.sender_name.as_deref(), Some("Test Firstname Test Lastname"));
        assert_eq!(message.external_id.as_deref(), Some("telegram:1111111:1365"));
        assert_eq!(message.text, "/start");
        assert_eq!(message.subject, "/start");
    }

    #[test]
    fn media_captions_and_other_updates() {
        let photo = r#"{"update_id":1,"message":{"message_id":2,"chat":{"id":7},"caption":"my router","photo":[{"file_id":"x"}]}}"#;
        let message = parse_update(photo.as_bytes(), None, Timestamp(0)).unwrap().unwrap();
        assert_eq!(message.text, "my router\n[photo]");
        let edited = r#"{"update_id":1,"edited_message":{"message_id":2,"chat":{"id":7},"text":"x"}}"#;
        assert_eq!(parse_update(edited.as_bytes(), None, Timestamp(0)).unwrap(), None);
        let callback = r#"{"update_id":1,"callback_query":{"id":"1"}}"#;
        assert_eq!(parse_update(callback.as_bytes(), None, Timestamp(0)).unwrap(), None);
        assert!(parse_update(b"not json", None, Timestamp(0)).is_err());
    }
}
