//! `/hooks/messenger`: Meta's Messenger Platform webhook, for Messenger
//! (`object: page`) and Instagram direct messages (`object: instagram`) alike:
//! one Meta app, one Page access token (the Instagram professional account is
//! linked to the Page), one endpoint. Same checks as WhatsApp: the
//! `hub.challenge` handshake on `GET`, `X-Hub-Signature-256` over the raw body
//! on `POST`, every attachment fetched before anything is filed (503 when a
//! fetch may work later), and the outbox's way out through the Send API.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rapport_channels::email::outbound::OutboundAttachment;
use rapport_channels::graph::{self, SendError};
use rapport_channels::messenger::{MessengerClient, parse_notification};
use rapport_core::messaging::{needs_template, service_window};
use rapport_core::{Channel, Identity};
use rapport_store::{OutboxItem, QuarantineReason, SendOutcome, Store};

use super::whatsapp::{answer_handshake, check_signature, file_messages, outcome, record_receipts, try_again_later};
use crate::http::body::HookBody;
use crate::http::error::ApiError;
use crate::settings::MessengerSettings;
use crate::state::{AppState, Clock};

/// `/hooks/messenger`.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/hooks/messenger", get(handshake).post(notification))
}

fn not_configured() -> ApiError {
    ApiError::NotFound("Messenger is not configured ([messenger] in the configuration)".to_owned())
}

async fn handshake(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(settings) = &state.config.messenger else { return Err(not_configured()) };
    Ok(answer_handshake(&query, settings.verify_token.expose()))
}

async fn notification(
    State(state): State<AppState>,
    headers: HeaderMap,
    HookBody(body): HookBody,
) -> Result<Response, ApiError> {
    let Some(settings) = &state.config.messenger else { return Err(not_configured()) };
    check_signature(settings.app_secret.expose(), &headers, &body)?;
    let received_at = state.now();
    let mut notification = match parse_notification(&body, None, received_at) {
        Ok(notification) => notification,
        Err(error) => {
            let detail = error.to_string();
            let raw = body.to_vec();
            state.store.quarantine(Channel::Messenger, QuarantineReason::Unparseable, detail, raw, received_at).await?;
            return Ok(StatusCode::OK.into_response());
        }
    };
    if notification.messages.iter().any(|inbound| !inbound.media.is_empty()) {
        let client = MessengerClient::new(&settings.api_base, settings.page_access_token.expose());
        for inbound in &mut notification.messages {
            for media in &inbound.media {
                let fetched = client.fetch_media(&media.source).await;
                if let Err(error) = graph::attach(&mut inbound.message, media, fetched) {
                    return Ok(try_again_later(&error));
                }
            }
        }
    }
    file_messages(&state, notification.messages, &body).await?;
    record_receipts(&state, notification.channel, notification.receipts).await?;
    for watermark in notification.watermarks {
        state.store.record_watermark(watermark.channel, watermark.customer, watermark.state, watermark.up_to).await?;
    }
    Ok(StatusCode::OK.into_response())
}

/// The outbox's way out to Messenger and Instagram.
#[derive(Clone)]
pub struct MessengerOutbound {
    client: MessengerClient,
    message_tag: Option<String>,
    store: Store,
    /// Where now comes from: the service window is judged by it.
    clock: Clock,
}

impl MessengerOutbound {
    /// Sends with `settings`; reads the service window from `store`.
    pub fn new(settings: &MessengerSettings, store: Store, clock: Clock) -> MessengerOutbound {
        MessengerOutbound {
            client: MessengerClient::new(&settings.api_base, settings.page_access_token.expose()),
            message_tag: settings.message_tag.clone(),
            store,
            clock,
        }
    }

    /// Sends one entry: a standard reply while the customer's window is open,
    /// else a tagged message. A standard reply Meta refuses for the window goes
    /// out tagged at once. Files are uploaded first (Attachment Upload API),
    /// so a failed upload sends nothing, then follow the text one message each.
    pub async fn send(&self, item: &OutboxItem, files: &[OutboundAttachment]) -> SendOutcome {
        let Some(recipient) = item.payload.to.first() else {
            return SendOutcome::Failed("the reply has no recipient".to_owned());
        };
        let last = match item.ticket {
            Some(ticket) => match self.store.last_customer_message(ticket, item.channel).await {
                Ok(last) => last,
                Err(error) => return SendOutcome::Retry(format!("reading the service window: {error}")),
            },
            None => None,
        };
        let mut uploaded = Vec::with_capacity(files.len());
        for file in files {
            match self.client.upload_attachment(file).await {
                Ok(attachment_id) => uploaded.push(attachment_id),
                Err(error) => return outcome(Err(error)),
            }
        }
        let window = service_window(item.channel, last, self.clock.now());
        let text = &item.payload.text;
        let tagged = self.message_tag.as_deref();
        let (sent, tag) = if needs_template(window) {
            (self.send_tagged(&recipient.identity, text).await, tagged)
        } else {
            match self.client.send(&recipient.identity, text, None).await {
                Err(SendError::OutsideWindow(_)) => (self.send_tagged(&recipient.identity, text).await, tagged),
                other => (other, None),
            }
        };
        if sent.is_err() {
            return outcome(sent);
        }
        for (file, attachment_id) in files.iter().zip(&uploaded) {
            if let Err(error) = self.client.send_attachment(&recipient.identity, attachment_id, file, tag).await {
                return outcome(Err(error));
            }
        }
        outcome(sent)
    }

    async fn send_tagged(&self, to: &Identity, text: &str) -> Result<String, SendError> {
        match &self.message_tag {
            Some(tag) => self.client.send(to, text, Some(tag)).await,
            None => Err(SendError::Permanent(
                "the customer's 24-hour window is closed and no message tag is configured (messenger.message_tag)"
                    .to_owned(),
            )),
        }
    }
}
