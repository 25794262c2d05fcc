//! Messenger and Instagram direct messages: Meta's Messenger Platform webhook
//! (`{"object": "page" | "instagram", "entry": [{"messaging": [...]}]}`) into
//! core's inbound messages and receipts, and replies through the Send API
//! (`POST {api_base}/me/messages`) with the Page access token.
//!
//! A customer is the page-scoped id Meta gives them (`messenger:<psid>`, or
//! `instagram:<igsid>`), which is also where replies go. A message is named by
//! its `mid`, so Meta's retry is filed once. Echoes of our own messages are
//! ignored.
//!
//! Receipts come two ways. A delivery names the `mid`s it covers (the ids the
//! Send API gave our messages). A read receipt on Messenger is a *watermark*:
//! every message sent to that person before that instant has been read; the
//! store applies it to each message at once ([`Watermark`]). Instagram's read
//! receipt names the `mid` instead.
//!
//! Outside the 24-hour window Meta refuses a standard reply. Rapport then sends
//! it with a message tag (normally `HUMAN_AGENT`, which Meta allows for a
//! person's answer up to 7 days after the customer's last message, once the
//! app has the Human Agent permission).

use rapport_core::intake::{InboundMessage, summary_subject};
use rapport_core::outbox::DeliveryState;
use rapport_core::{Channel, Identity, IdentityKind, TeamId, Timestamp};
use serde::Deserialize;
use serde_json::json;

use crate::email::outbound::OutboundAttachment;
use crate::form_data::FormData;
use crate::graph::{self, MediaRef, SendError, TIMEOUT};
pub use crate::graph::{Inbound, Receipt};

/// Why a notification cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// Not the Messenger Platform's JSON.
    #[error("the body is not a Messenger or Instagram notification: {0}")]
    Malformed(String),
}

/// "Everything sent to `customer` on `channel` up to `up_to` is now `state`."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// Messenger or Instagram.
    pub channel: Channel,
    /// The customer who received (or read) the messages.
    pub customer: Identity,
    /// Delivered or read.
    pub state: DeliveryState,
    /// The watermark: messages sent at or before it are covered.
    pub up_to: Timestamp,
}

/// What one webhook POST carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Messenger or Instagram (the body's `object`).
    pub channel: Channel,
    /// Customer messages, in order.
    pub messages: Vec<Inbound>,
    /// Receipts that name a message.
    pub receipts: Vec<Receipt>,
    /// Receipts that cover everything up to an instant.
    pub watermarks: Vec<Watermark>,
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
    messaging: Vec<RawEvent>,
}

#[derive(Debug, Deserialize)]
struct RawEvent {
    sender: Option<Party>,
    timestamp: Option<i64>,
    message: Option<RawMessage>,
    delivery: Option<Delivery>,
    read: Option<Read>,
    postback: Option<Postback>,
}

#[derive(Debug, Deserialize)]
struct Party {
    id: String,
}

#[derive(Debug, Deserialize)]
struct RawMessage {
    mid: String,
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
}

#[derive(Debug, Deserialize)]
struct Attachment {
    #[serde(rename = "type")]
    kind: String,
    payload: Option<AttachmentPayload>,
}

#[derive(Debug, Deserialize)]
struct AttachmentPayload {
    url: Option<String>,
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Delivery {
    #[serde(default)]
    mids: Vec<String>,
    watermark: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Read {
    watermark: Option<i64>,
    mid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Postback {
    mid: Option<String>,
    title: Option<String>,
}

/// Attachment kinds whose file is fetched and kept; others (shared posts,
/// reels, story mentions, links) are named in the text with their URL.
const FETCHED: [&str; 4] = ["image", "video", "audio", "file"];

/// Reads one webhook body (`object` `page` is Messenger, `instagram` is Instagram).
pub fn parse_notification(
    body: &[u8],
    team: Option<TeamId>,
    received_at: Timestamp,
) -> Result<Notification, NotificationError> {
    let raw: RawNotification =
        serde_json::from_slice(body).map_err(|error| NotificationError::Malformed(error.to_string()))?;
    let (channel, network) = match raw.object.as_str() {
        "page" => (Channel::Messenger, "messenger"),
        "instagram" => (Channel::Instagram, "instagram"),
        other => return Err(NotificationError::Malformed(format!("object is {other:?}"))),
    };
    let mut notification = Notification { channel, messages: Vec::new(), receipts: Vec::new(), watermarks: Vec::new() };
    for event in raw.entry.into_iter().flat_map(|entry| entry.messaging) {
        let Some(sender) = &event.sender else { continue };
        let customer = Identity::handle(&format!("{network}:{}", sender.id))
            .map_err(|error| NotificationError::Malformed(error.to_string()))?;
        if let Some(message) = &event.message {
            if message.is_echo || message.is_deleted {
                continue;
            }
            if let Some(inbound) = inbound(channel, network, &customer, message, team, received_at) {
                notification.messages.push(inbound);
            }
        } else if let Some(postback) = &event.postback
            && let Some(title) = postback.title.as_ref().filter(|title| !title.trim().is_empty())
        {
            let id = match &postback.mid {
                Some(mid) => mid.clone(),
                None => format!("postback:{}:{}", sender.id, event.timestamp.unwrap_or_default()),
            };
            notification.messages.push(Inbound {
                message: InboundMessage {
                    external_id: Some(format!("{network}:{id}")),
                    team,
                    ..InboundMessage::new(channel, customer, summary_subject(title), title.clone(), received_at)
                },
                media: Vec::new(),
            });
        } else if let Some(delivery) = &event.delivery {
            notification.receipts.extend(delivery.mids.iter().map(|mid| Receipt {
                provider_id: mid.clone(),
                state: DeliveryState::Delivered,
                detail: None,
            }));
            if let Some(watermark) = delivery.watermark {
                let state = DeliveryState::Delivered;
                notification.watermarks.push(Watermark { channel, customer, state, up_to: Timestamp(watermark) });
            }
        } else if let Some(read) = &event.read {
            if let Some(mid) = &read.mid {
                let receipt = Receipt { provider_id: mid.clone(), state: DeliveryState::Read, detail: None };
                notification.receipts.push(receipt);
            }
            if let Some(watermark) = read.watermark {
                let state = DeliveryState::Read;
                notification.watermarks.push(Watermark { channel, customer, state, up_to: Timestamp(watermark) });
            }
        }
    }
    Ok(notification)
}

fn inbound(
    channel: Channel,
    network: &str,
    customer: &Identity,
    message: &RawMessage,
    team: Option<TeamId>,
    received_at: Timestamp,
) -> Option<Inbound> {
    let mut lines: Vec<String> = message.text.iter().filter(|text| !text.trim().is_empty()).cloned().collect();
    let mut media = Vec::new();
    for (index, attachment) in message.attachments.iter().enumerate() {
        let url = attachment.payload.as_ref().and_then(|payload| payload.url.clone());
        match url {
            Some(url) if FETCHED.contains(&attachment.kind.as_str()) => {
                lines.push(format!("[{}]", attachment.kind));
                let filename = file_name(&url).unwrap_or_else(|| format!("{}-{}", attachment.kind, index + 1));
                media.push(MediaRef {
                    source: url,
                    filename,
                    content_type: String::new(),
                    kind: attachment.kind.clone(),
                });
            }
            Some(url) => lines.push(format!("[{}: {url}]", attachment.kind)),
            None => {
                let title = attachment.payload.as_ref().and_then(|payload| payload.title.clone());
                lines.push(match title {
                    Some(title) => format!("[{}: {title}]", attachment.kind),
                    None => format!("[{}]", attachment.kind),
                });
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    let text = lines.join("\n");
    Some(Inbound {
        message: InboundMessage {
            external_id: Some(format!("{network}:{}", message.mid)),
            team,
            ..InboundMessage::new(channel, customer.clone(), summary_subject(&text), text, received_at)
        },
        media,
    })
}

/// The file name at the end of a CDN URL's path (`…/123_n.jpg?…` → `123_n.jpg`), if it looks like one.
fn file_name(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let last = path.rsplit('/').next()?;
    let plausible = last.contains('.')
        && last.len() <= 100
        && last.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    plausible.then(|| last.to_owned())
}

/// The Send API for one Page (and the Instagram account linked to it).
#[derive(Debug, Clone)]
pub struct MessengerClient {
    client: reqwest::Client,
    api_base: String,
    page_access_token: rapport_core::Secret,
}

#[derive(Debug, Deserialize)]
struct SendResponse {
    message_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Uploaded {
    attachment_id: String,
}

/// The Send API's attachment type for a file: `image`, `video`, `audio` or `file`.
fn attachment_type(file: &OutboundAttachment) -> &'static str {
    match file.content_type.split('/').next().unwrap_or_default() {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "file",
    }
}

impl MessengerClient {
    /// A client for the Page whose token is `page_access_token`, at `api_base`
    /// (normally `https://graph.facebook.com/v21.0`).
    pub fn new(api_base: &str, page_access_token: &str) -> MessengerClient {
        MessengerClient {
            client: crate::http::client(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            page_access_token: rapport_core::Secret::new(page_access_token),
        }
    }

    /// Sends `text` to `to` (`messenger:<psid>` or `instagram:<igsid>`) as a
    /// standard reply (`messaging_type` `RESPONSE`), or, with `tag`, as a tagged
    /// message (`MESSAGE_TAG`) for outside the 24-hour window. Returns the
    /// `message_id` Meta gave it.
    pub async fn send(&self, to: &Identity, text: &str, tag: Option<&str>) -> Result<String, SendError> {
        self.post_message(to, json!({"text": text}), tag).await
    }

    async fn post_message(
        &self,
        to: &Identity,
        message: serde_json::Value,
        tag: Option<&str>,
    ) -> Result<String, SendError> {
        let recipient = recipient_id(to)?;
        let mut body = json!({"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": message});
        if let Some(tag) = tag {
            body["messaging_type"] = json!("MESSAGE_TAG");
            body["tag"] = json!(tag);
        }
        let response = self
            .client
            .post(format!("{}/me/messages", self.api_base))
            .bearer_auth(self.page_access_token.expose())
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
            .map_err(|error| SendError::Transient(format!("reading the Send API's answer: {error}")))?;
        sent.message_id
            .ok_or_else(|| SendError::Transient("the Send API accepted the message but named no message_id".to_owned()))
    }

    /// Uploads `file` through the Attachment Upload API
    /// (`/me/message_attachments`) and returns its `attachment_id`.
    pub async fn upload_attachment(&self, file: &OutboundAttachment) -> Result<String, SendError> {
        let message = json!({"attachment": {"type": attachment_type(file), "payload": {"is_reusable": false}}});
        let (content_type, body) =
            FormData::new().text("message", &message.to_string()).file("filedata", file).finish();
        let request = self
            .client
            .post(format!("{}/me/message_attachments", self.api_base))
            .bearer_auth(self.page_access_token.expose());
        let uploaded: Uploaded = graph::upload(request, content_type, body, "attachment upload").await?;
        Ok(uploaded.attachment_id)
    }

    /// Sends the uploaded attachment `attachment_id` of `file` to `to`, as
    /// [`MessengerClient::send`] sends text; returns the `message_id`.
    pub async fn send_attachment(
        &self,
        to: &Identity,
        attachment_id: &str,
        file: &OutboundAttachment,
        tag: Option<&str>,
    ) -> Result<String, SendError> {
        let attachment = json!({"type": attachment_type(file), "payload": {"attachment_id": attachment_id}});
        self.post_message(to, json!({"attachment": attachment}), tag).await
    }

    /// Downloads an attachment from the URL the webhook gave (Meta's CDN; no token needed).
    pub async fn fetch_media(&self, url: &str) -> Result<(Vec<u8>, Option<String>), graph::FetchError> {
        graph::download(&self.client, url, None).await
    }
}

/// The page-scoped id in `messenger:<psid>` / `instagram:<igsid>`.
fn recipient_id(to: &Identity) -> Result<&str, SendError> {
    let id = match to.kind {
        IdentityKind::Handle => to
            .value
            .strip_prefix("messenger:")
            .or_else(|| to.value.strip_prefix("instagram:"))
            .filter(|id| !id.is_empty()),
        _ => None,
    };
    id.ok_or_else(|| SendError::Permanent(format!("{} is not a Messenger or Instagram handle", to.value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Messenger Platform's documented `messages` event (text, with a quick reply).
    const TEXT: &str = r#"{"object":"page","entry":[{"id":"PAGE_ID","time":1458692752478,"messaging":[{"sender":{"id":"1254459154682919"},"recipient":{"id":"PAGE_ID"},"timestamp":1458692752478,"message":{"mid":"mid.1457764197618:41d102a3e1ae206a38","text":"hello, world!","quick_reply":{"payload":"DEVELOPER_DEFINED_PAYLOAD"}}}]}]}"#;

    // The documented attachment event, `message_deliveries` and `message_reads`, in one POST.
    const MIXED: &str = r#"{"object":"page","entry":[{"id":"PAGE_ID","time":1458692752478,"messaging":[
        {"sender":{"id":"1254459154682919"},"recipient":{"id":"PAGE_ID"},"timestamp":1458692752478,"message":{"mid":"mid.2","attachments":[{"type":"image","payload":{"url":"https://scontent.xx.fbcdn.net/v/t1.15752-9/123_456_n.jpg?_nc_cat=1&oh=abc"}},{"type":"fallback","payload":{"url":"https://example.com/","title":"A link"}}]}},
        {"sender":{"id":"1254459154682919"},"recipient":{"id":"PAGE_ID"},"delivery":{"mids":["mid.1458668856218:ed81099e15d3f4f233"],"watermark":1458668856253}},
        {"sender":{"id":"1254459154682919"},"recipient":{"id":"PAGE_ID"},"timestamp":1458668856463,"read":{"watermark":1458668856253}},
        {"sender":{"id":"PAGE_ID"},"recipient":{"id":"1254459154682919"},"timestamp":1458668856463,"message":{"mid":"mid.echo","is_echo":true,"text":"our own reply"}}]}]}"#;

    #[test]
    fn the_documented_text_message_becomes_an_inbound_message() {
        let notification = parse_notification(TEXT.as_bytes(), None, Timestamp(9)).unwrap();
        let [inbound] = &notification.messages[..] else { panic!("{notification:?}") };
        let message = &inbound.message;
        assert_eq!(message.channel, Channel::Messenger);
        assert_eq!(message.sender, Identity::handle("messenger:1254459154682919").unwrap());
        assert_eq!(message.external_id.as_deref(), Some("messenger:mid.1457764197618:41d102a3e1ae206a38"));
        assert_eq!(message.text, "hello, world!");
        assert_eq!(message.received_at, Timestamp(9));
        assert!(inbound.media.is_empty());
    }

    #[test]
    fn attachments_deliveries_reads_and_echoes() {
        let notification = parse_notification(MIXED.as_bytes(), None, Timestamp(0)).unwrap();
        let [inbound] = &notification.messages[..] else { panic!("the echo is ignored: {notification:?}") };
        assert_eq!(inbound.message.text, "[image]\n[fallback: https://example.com/]");
        assert_eq!(inbound.media.len(), 1);
        assert_eq!(inbound.media[0].filename, "123_456_n.jpg");
        assert!(inbound.media[0].source.starts_with("https://scontent.xx.fbcdn.net/"));
        assert_eq!(
            notification.receipts,
            vec![Receipt {
                provider_id: "mid.1458668856218:ed81099e15d3f4f233".into(),
                state: DeliveryState::Delivered,
                detail: None
            }]
        );
        let customer = Identity::handle("messenger:1254459154682919").unwrap();
        assert_eq!(
            notification.watermarks,
            vec![
                Watermark {
                    channel: Channel::Messenger,
                    customer: customer.clone(),
                    state: DeliveryState::Delivered,
                    up_to: Timestamp(1458668856253)
                },
                Watermark {
                    channel: Channel::Messenger,
                    customer,
                    state: DeliveryState::Read,
                    up_to: Timestamp(1458668856253)
                },
            ]
        );
    }

    #[test]
    fn instagram_uses_its_own_handles_and_mid_reads() {
        let body = r#"{"object":"instagram","entry":[{"id":"IG_ID","time":1569262486134,"messaging":[
            {"sender":{"id":"IGSID"},"recipient":{"id":"IG_ID"},"timestamp":1569262485349,"message":{"mid":"aWdfZAG1","text":"Is this in stock?"}},
            {"sender":{"id":"IGSID"},"recipient":{"id":"IG_ID"},"timestamp":1569262485350,"read":{"mid":"aWdfZAG2"}},
            {"sender":{"id":"IGSID"},"recipient":{"id":"IG_ID"},"timestamp":1569262485351,"message":{"mid":"aWdfZAG3","is_deleted":true}}]}]}"#;
        let notification = parse_notification(body.as_bytes(), None, Timestamp(0)).unwrap();
        let [inbound] = &notification.messages[..] else { panic!("{notification:?}") };
        assert_eq!(inbound.message.channel, Channel::Instagram);
        assert_eq!(inbound.message.sender.value, "instagram:IGSID");
        assert_eq!(inbound.message.external_id.as_deref(), Some("instagram:aWdfZAG1"));
        assert_eq!(notification.receipts[0].provider_id, "aWdfZAG2");
        assert_eq!(notification.receipts[0].state, DeliveryState::Read);
        assert!(parse_notification(br#"{"object":"whatsapp_business_account"}"#, None, Timestamp(0)).is_err());
        assert!(parse_notification(b"[", None, Timestamp(0)).is_err());
    }

    #[test]
    fn recipients_are_page_scoped_handles() {
        assert_eq!(recipient_id(&Identity::handle("messenger:123").unwrap()), Ok("123"));
        assert_eq!(recipient_id(&Identity::handle("instagram:456").unwrap()), Ok("456"));
        assert!(recipient_id(&Identity::handle("telegram:1").unwrap()).is_err());
        assert!(recipient_id(&Identity::phone("+15555550100").unwrap()).is_err());
    }
}
