//! WhatsApp Cloud API: the webhook's notifications (Meta's documented
//! `whatsapp_business_account` JSON) into core's inbound messages and
//! delivery receipts, media downloads, and replies through the Graph API's
//! `/{phone_number_id}/messages` at a configurable `api_base`, so tests can
//! point it at a local stand-in.
//!
//! A customer is their phone number (`Identity::phone`, E.164), which is also
//! where replies go. A message is named by its `wamid` (`whatsapp:<wamid>`),
//! so Meta's retry of a notification is filed once. One notification may carry
//! several messages and several statuses; each status names the `wamid` we got
//! back when we sent, which is how a receipt finds its message.
//!
//! Outside the customer's 24-hour window WhatsApp refuses free-form text; the
//! sender then sends the configured approved template instead
//! ([`WhatsappClient::send_template`]), with the reply's text as its one body
//! parameter when the template takes one.

use rapport_core::intake::{InboundMessage, summary_subject};
use rapport_core::outbox::DeliveryState;
use rapport_core::{Channel, Identity, IdentityKind, TeamId, Timestamp};
use serde::Deserialize;
use serde_json::json;

use crate::email::outbound::OutboundAttachment;
use crate::form_data::FormData;
use crate::graph::{self, FetchError, MediaRef, SendError, TIMEOUT};
pub use crate::graph::{Inbound, Receipt};

/// Why a notification cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// Not the Cloud API's JSON.
    #[error("the body is not a WhatsApp Cloud API notification: {0}")]
    Malformed(String),
}

/// What one webhook POST carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notification {
    /// Customer messages, in order.
    pub messages: Vec<Inbound>,
    /// Statuses of messages we sent, in order.
    pub receipts: Vec<Receipt>,
}

#[derive(Debug, Deserialize)]
struct RawNotification {
    object: String,
    #[serde(default)]
    entry: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
struct RawEntry {
    #[serde(default)]
    changes: Vec<RawChange>,
}

#[derive(Debug, Deserialize)]
struct RawChange {
    field: String,
    value: Option<RawValue>,
}

#[derive(Debug, Deserialize)]
struct RawValue {
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<RawMessage>,
    #[serde(default)]
    statuses: Vec<RawStatus>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Debug, Deserialize)]
struct Contact {
    profile: Option<Profile>,
    wa_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawMessage {
    from: String,
    id: String,
    #[serde(rename = "type")]
    kind: String,
    text: Option<Body>,
    image: Option<Media>,
    video: Option<Media>,
    audio: Option<Media>,
    document: Option<Media>,
    sticker: Option<Media>,
    location: Option<Location>,
    button: Option<Button>,
    interactive: Option<Interactive>,
    contacts: Option<Vec<SharedContact>>,
}

#[derive(Debug, Deserialize)]
struct Body {
    body: String,
}

#[derive(Debug, Deserialize)]
struct Media {
    id: String,
    mime_type: Option<String>,
    caption: Option<String>,
    filename: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
    name: Option<String>,
    address: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Button {
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Interactive {
    button_reply: Option<Choice>,
    list_reply: Option<Choice>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SharedContact {
    name: Option<ContactName>,
}

#[derive(Debug, Deserialize)]
struct ContactName {
    formatted_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawStatus {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<RawError>,
}

#[derive(Debug, Deserialize)]
struct RawError {
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
}

/// Reads one webhook body. Changes for another phone number than
/// `phone_number_id` (a second number on the same business account) and
/// fields other than `messages` are skipped, as are reactions and system
/// notices, which carry no customer message.
pub fn parse_notification(
    body: &[u8],
    phone_number_id: &str,
    team: Option<TeamId>,
    received_at: Timestamp,
) -> Result<Notification, NotificationError> {
    let raw: RawNotification =
        serde_json::from_slice(body).map_err(|error| NotificationError::Malformed(error.to_string()))?;
    if raw.object != "whatsapp_business_account" {
        return Err(NotificationError::Malformed(format!("object is {:?}", raw.object)));
    }
    let mut notification = Notification::default();
    for change in raw.entry.into_iter().flat_map(|entry| entry.changes) {
        let Some(value) = change.value else { continue };
        if change.field != "messages"
            || value.metadata.as_ref().is_some_and(|metadata| metadata.phone_number_id != phone_number_id)
        {
            continue;
        }
        for message in &value.messages {
            if let Some(inbound) = inbound(message, &value.contacts, team, received_at)? {
                notification.messages.push(inbound);
            }
        }
        notification.receipts.extend(value.statuses.iter().filter_map(receipt));
    }
    Ok(notification)
}

fn inbound(
    message: &RawMessage,
    contacts: &[Contact],
    team: Option<TeamId>,
    received_at: Timestamp,
) -> Result<Option<Inbound>, NotificationError> {
    let media = [
        ("image", &message.image),
        ("video", &message.video),
        ("audio", &message.audio),
        ("document", &message.document),
        ("sticker", &message.sticker),
    ]
    .into_iter()
    .find_map(|(kind, media)| media.as_ref().map(|media| (kind, media)));
    let (text, media) = match (message.kind.as_str(), media) {
        ("text", _) => (message.text.as_ref().map(|text| text.body.clone()), Vec::new()),
        (_, Some((kind, media))) => {
            let content_type = media.mime_type.clone().unwrap_or_default();
            let filename = media
                .filename
                .clone()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| format!("{kind}-{}.{}", media.id, graph::extension(&content_type)));
            let label = match kind {
                "document" => format!("[document: {filename}]"),
                other => format!("[{other}]"),
            };
            let text = match &media.caption {
                Some(caption) if !caption.trim().is_empty() => format!("{caption}\n{label}"),
                _ => label,
            };
            let media = MediaRef { source: media.id.clone(), filename, content_type, kind: kind.to_owned() };
            (Some(text), vec![media])
        }
        ("location", _) => (message.location.as_ref().map(location_text), Vec::new()),
        ("button", _) => (message.button.as_ref().and_then(|button| button.text.clone()), Vec::new()),
        ("interactive", _) => (
            message
                .interactive
                .as_ref()
                .and_then(|interactive| interactive.button_reply.as_ref().or(interactive.list_reply.as_ref()))
                .and_then(|choice| choice.title.clone()),
            Vec::new(),
        ),
        ("contacts", _) => {
            let names: Vec<String> = message
                .contacts
                .iter()
                .flatten()
                .filter_map(|contact| contact.name.as_ref().and_then(|name| name.formatted_name.clone()))
                .collect();
            (Some(format!("[contact card: {}]", names.join(", "))), Vec::new())
        }
        ("order", _) => (Some("[order]".to_owned()), Vec::new()),
        ("unsupported" | "unknown", _) => {
            (Some("[a message WhatsApp does not pass on to businesses]".to_owned()), Vec::new())
        }
        // Reactions, system notices (a changed number), welcome requests.
        _ => (None, Vec::new()),
    };
    let Some(text) = text.filter(|text| !text.trim().is_empty()) else { return Ok(None) };
    let sender = Identity::phone(&format!("+{}", message.from.trim_start_matches('+')))
        .map_err(|error| NotificationError::Malformed(error.to_string()))?;
    let sender_name = contacts
        .iter()
        .find(|contact| contact.wa_id.as_deref() == Some(message.from.as_str()))
        .or(contacts.first())
        .and_then(|contact| contact.profile.as_ref())
        .and_then(|profile| profile.name.clone())
        .filter(|name| !name.trim().is_empty());
    Ok(Some(Inbound {
        message: InboundMessage {
            sender_name,
            external_id: Some(format!("whatsapp:{}", message.id)),
            team,
            ..InboundMessage::new(Channel::Whatsapp, sender, summary_subject(&text), text, received_at)
        },
        media,
    }))
}

fn location_text(location: &Location) -> String {
    let place: Vec<&str> = [&location.name, &location.address].into_iter().flatten().map(String::as_str).collect();
    let mut text = "[location]".to_owned();
    if !place.is_empty() {
        text.push(' ');
        text.push_str(&place.join(", "));
    }
    if let (Some(latitude), Some(longitude)) = (location.latitude, location.longitude) {
        text.push_str(&format!(" ({latitude}, {longitude})"));
    }
    text
}

fn receipt(status: &RawStatus) -> Option<Receipt> {
    let state = match status.status.as_str() {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "failed" => DeliveryState::Failed,
        // "deleted", "warning", "played": nothing to record.
        _ => return None,
    };
    let detail = (!status.errors.is_empty()).then(|| {
        status
            .errors
            .iter()
            .map(|error| {
                let what = error.message.as_deref().or(error.title.as_deref()).unwrap_or("no description");
                match error.code {
                    Some(code) => format!("WhatsApp error {code}: {what}"),
                    None => format!("WhatsApp error: {what}"),
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    });
    Some(Receipt { provider_id: status.id.clone(), state, detail })
}

/// An approved message template, sent when the 24-hour window is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The template's name, as approved in WhatsApp Manager.
    pub name: String,
    /// Its language code (`en`, `en_US`, `de`).
    pub language: String,
    /// True when the template's body has one text parameter (`{{1}}`) that
    /// carries the reply's text; false for a fixed text.
    pub text_parameter: bool,
}

/// The Cloud API for one business phone number: sends replies, fetches media.
#[derive(Debug, Clone)]
pub struct WhatsappClient {
    client: reqwest::Client,
    api_base: String,
    access_token: rapport_core::Secret,
    phone_number_id: String,
}

#[derive(Debug, Deserialize)]
struct SendResponse {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Debug, Deserialize)]
struct SentMessage {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Uploaded {
    id: String,
}

#[derive(Debug, Deserialize)]
struct MediaInfo {
    url: String,
    mime_type: Option<String>,
}

impl WhatsappClient {
    /// A client for `phone_number_id` at `api_base` (normally `https://graph.facebook.com/v21.0`).
    pub fn new(api_base: &str, access_token: &str, phone_number_id: &str) -> WhatsappClient {
        WhatsappClient {
            client: crate::http::client(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            access_token: rapport_core::Secret::new(access_token),
            phone_number_id: phone_number_id.to_owned(),
        }
    }

    /// Sends `text` as a free-form message; returns the `wamid`.
    pub async fn send_text(&self, to: &Identity, text: &str) -> Result<String, SendError> {
        let to = digits(to)?;
        self.send(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"body": text},
        }))
        .await
    }

    /// Sends `template`, with `text` as its body parameter when it takes one; returns the `wamid`.
    pub async fn send_template(&self, to: &Identity, template: &Template, text: &str) -> Result<String, SendError> {
        let to = digits(to)?;
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": {"name": template.name, "language": {"code": template.language}},
        });
        if template.text_parameter {
            body["template"]["components"] =
                json!([{"type": "body", "parameters": [{"type": "text", "text": template_parameter(text)}]}]);
        }
        self.send(body).await
    }

    /// Uploads `file` to `/PHONE_ID/media` (the Cloud API's media upload) and
    /// returns the media id a message can then carry.
    pub async fn upload_media(&self, file: &OutboundAttachment) -> Result<String, SendError> {
        let (content_type, body) = FormData::new()
            .text("messaging_product", "whatsapp")
            .text("type", &file.content_type)
            .file("file", file)
            .finish();
        let url = format!("{}/{}/media", self.api_base, self.phone_number_id);
        let request = self.client.post(url).bearer_auth(self.access_token.expose());
        let uploaded: Uploaded = graph::upload(request, content_type, body, "media upload").await?;
        Ok(uploaded.id)
    }

    /// Sends the uploaded media `media_id` (from [`WhatsappClient::upload_media`])
    /// as an image message when `file` is a JPEG or PNG, else as a document
    /// under its file name; returns the `wamid`.
    pub async fn send_media(
        &self,
        to: &Identity,
        media_id: &str,
        file: &OutboundAttachment,
    ) -> Result<String, SendError> {
        let to = digits(to)?;
        let (kind, media) = if matches!(file.content_type.as_str(), "image/jpeg" | "image/png") {
            ("image", json!({"id": media_id}))
        } else {
            ("document", json!({"id": media_id, "filename": file.filename}))
        };
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
        });
        body[kind] = media;
        self.send(body).await
    }

    async fn send(&self, body: serde_json::Value) -> Result<String, SendError> {
        let url = format!("{}/{}/messages", self.api_base, self.phone_number_id);
        let response = self
            .client
            .post(url)
            .bearer_auth(self.access_token.expose())
            .json(&body)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|error| SendError::Transient(graph::network_error(error)))?;
        if !response.status().is_success() {
            return Err(graph::send_error(response).await);
        }
        let sent: SendResponse = response
            .json()
            .await
            .map_err(|error| SendError::Transient(format!("reading the Cloud API's answer: {error}")))?;
        sent.messages
            .into_iter()
            .next()
            .map(|message| message.id)
            .ok_or_else(|| SendError::Transient("the Cloud API accepted the message but named no wamid".to_owned()))
    }

    /// Fetches the media `media_id`: its URL from the Graph API, then the
    /// bytes from that URL, both with the access token. Returns the bytes and
    /// the MIME type.
    pub async fn fetch_media(&self, media_id: &str) -> Result<(Vec<u8>, Option<String>), FetchError> {
        if media_id.is_empty() || !media_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(FetchError::Permanent(format!("{media_id:?} is not a media id")));
        }
        let url = format!("{}/{media_id}", self.api_base);
        let response = self
            .client
            .get(url)
            .bearer_auth(self.access_token.expose())
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|error| FetchError::Transient(graph::network_error(error)))?;
        let status = response.status();
        if !status.is_success() {
            let detail = format!("{status} looking up media {media_id}");
            return Err(if status.is_client_error() && !matches!(status.as_u16(), 401 | 403 | 429) {
                FetchError::Permanent(detail)
            } else {
                FetchError::Transient(detail)
            });
        }
        let info: MediaInfo = response
            .json()
            .await
            .map_err(|error| FetchError::Transient(format!("reading the media lookup: {error}")))?;
        let (content, served_type) = graph::download(&self.client, &info.url, Some(self.access_token.expose())).await?;
        Ok((content, info.mime_type.or(served_type)))
    }
}

/// The recipient's number without `+`, as the Cloud API wants it.
fn digits(to: &Identity) -> Result<String, SendError> {
    if to.kind != IdentityKind::Phone {
        return Err(SendError::Permanent(format!("{} is not a phone number", to.value)));
    }
    Ok(to.value.trim_start_matches('+').to_owned())
}

/// The most characters a template's text parameter takes.
const MAX_PARAMETER_CHARS: usize = 1024;

/// A template parameter may hold no newlines, tabs or runs of more than four
/// spaces (WhatsApp refuses those with error 132018), and is capped in length:
/// the reply's text is folded onto one line and cut with an ellipsis.
pub fn template_parameter(text: &str) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= MAX_PARAMETER_CHARS {
        return folded;
    }
    let mut cut: String = folded.chars().take(MAX_PARAMETER_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests;
