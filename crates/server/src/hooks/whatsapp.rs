//! `/hooks/whatsapp`: the WhatsApp Cloud API's webhook (Meta's `hub.challenge`
//! handshake on `GET`, notifications signed with `X-Hub-Signature-256` on
//! `POST`), and the outbox's way out to the Cloud API, free-form inside the
//! customer's 24-hour window and as the configured template outside it.
//!
//! A notification is taken whole or not at all: every media file it refers to
//! is fetched before anything is filed, and a fetch that may work later
//! answers 503 so that Meta delivers the notification again (a message filed
//! before is then recognised by its `wamid` and filed once).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rapport_channels::email::outbound::OutboundAttachment;
use rapport_channels::graph::{self, FetchError, Inbound, Receipt, SendError};
use rapport_channels::webhook::{meta_handshake, verify_meta};
use rapport_channels::whatsapp::{Template, WhatsappClient, parse_notification};
use rapport_core::messaging::{needs_template, service_window};
use rapport_core::{Channel, Identity};
use rapport_store::{FileInbound, OutboxItem, QuarantineReason, SendOutcome, Store};

use crate::http::body::HookBody;
use crate::http::error::ApiError;
use crate::settings::WhatsappSettings;
use crate::state::{AppState, Clock};

/// `/hooks/whatsapp`.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/hooks/whatsapp", get(handshake).post(notification))
}

async fn handshake(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(settings) = &state.config.whatsapp else { return Err(not_configured()) };
    Ok(answer_handshake(&query, settings.verify_token.expose()))
}

/// Meta's subscription handshake: the challenge, as text, when the mode is
/// `subscribe` and the verify token is ours; 403 otherwise.
pub(super) fn answer_handshake(query: &HashMap<String, String>, verify_token: &str) -> Response {
    let field = |name: &str| query.get(name).map(String::as_str);
    match meta_handshake(field("hub.mode"), field("hub.verify_token"), field("hub.challenge"), verify_token) {
        Some(challenge) => ([(header::CONTENT_TYPE, "text/plain")], challenge.to_owned()).into_response(),
        None => (StatusCode::FORBIDDEN, "the verify token does not match").into_response(),
    }
}

/// Checks `X-Hub-Signature-256` over the raw body.
pub(super) fn check_signature(app_secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let header = headers.get("x-hub-signature-256").and_then(|value| value.to_str().ok());
    verify_meta(app_secret, header, body)
        .map_err(|_| ApiError::Unauthorized("the X-Hub-Signature-256 header is missing or does not match the body"))
}

/// 503: a media file could not be fetched this time; Meta delivers the notification again.
pub(super) fn try_again_later(error: &FetchError) -> Response {
    tracing::warn!(%error, "fetching a media file; asking Meta to deliver the notification again");
    let body = serde_json::json!({"error": {
        "code": "media_unavailable",
        "message": "a media file could not be fetched yet; deliver the notification again",
        "field": null,
    }});
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

/// Files each message (a message filed before is recognised by its channel id).
pub(super) async fn file_messages(state: &AppState, messages: Vec<Inbound>, body: &Bytes) -> Result<(), ApiError> {
    for inbound in messages {
        let request = FileInbound {
            message: inbound.message,
            raw: body.to_vec(),
            acknowledgment: None,
            rate_limit: state.config.mail.rate_limit,
        };
        state.store.file_inbound(request).await?;
    }
    Ok(())
}

/// Records receipts; one for a message we did not send (or whose send is
/// not recorded yet) changes nothing.
pub(super) async fn record_receipts(
    state: &AppState,
    channel: Channel,
    receipts: Vec<Receipt>,
) -> Result<(), ApiError> {
    for receipt in receipts {
        let known =
            state.store.record_receipt(channel, receipt.provider_id.clone(), receipt.state, receipt.detail).await?;
        if !known {
            tracing::debug!(provider_id = %receipt.provider_id, %channel, "a receipt for a message we did not send");
        }
    }
    Ok(())
}

fn not_configured() -> ApiError {
    ApiError::NotFound("WhatsApp is not configured ([whatsapp] in the configuration)".to_owned())
}

async fn notification(
    State(state): State<AppState>,
    headers: HeaderMap,
    HookBody(body): HookBody,
) -> Result<Response, ApiError> {
    let Some(settings) = &state.config.whatsapp else { return Err(not_configured()) };
    check_signature(settings.app_secret.expose(), &headers, &body)?;
    let received_at = state.now();
    let mut notification = match parse_notification(&body, &settings.phone_number_id, None, received_at) {
        Ok(notification) => notification,
        Err(error) => {
            let detail = error.to_string();
            let raw = body.to_vec();
            state.store.quarantine(Channel::Whatsapp, QuarantineReason::Unparseable, detail, raw, received_at).await?;
            return Ok(StatusCode::OK.into_response());
        }
    };
    if notification.messages.iter().any(|inbound| !inbound.media.is_empty()) {
        let client = WhatsappClient::new(&settings.api_base, settings.access_token.expose(), &settings.phone_number_id);
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
    record_receipts(&state, Channel::Whatsapp, notification.receipts).await?;
    Ok(StatusCode::OK.into_response())
}

/// Why a reply with files cannot go out as a template.
const FILES_OUTSIDE_WINDOW: &str =
    "the customer's 24-hour window is closed: WhatsApp sends files only inside it, and a template carries none";

/// The outbox's way out to WhatsApp.
#[derive(Clone)]
pub struct WhatsappOutbound {
    client: WhatsappClient,
    template: Option<Template>,
    store: Store,
    /// Where now comes from: the service window is judged by it.
    clock: Clock,
}

impl WhatsappOutbound {
    /// Sends with `settings`; reads the service window from `store`.
    pub fn new(settings: &WhatsappSettings, store: Store, clock: Clock) -> WhatsappOutbound {
        WhatsappOutbound {
            client: WhatsappClient::new(&settings.api_base, settings.access_token.expose(), &settings.phone_number_id),
            template: settings.template.as_ref().map(|template| Template {
                name: template.name.clone(),
                language: template.language.clone(),
                text_parameter: template.text_parameter,
            }),
            store,
            clock,
        }
    }

    /// Sends one entry: free-form while the customer's window is open, else
    /// the template. A free-form send that WhatsApp refuses for the window
    /// (our clock and Meta's can disagree near its end) goes out as the
    /// template at once. Files are uploaded to `/PHONE_ID/media` first, so a
    /// failed upload sends nothing, then follow the text one message each; a
    /// template carries no files, so a reply with files outside the window
    /// fails, saying so.
    pub async fn send(&self, item: &OutboxItem, files: &[OutboundAttachment]) -> SendOutcome {
        let Some(recipient) = item.payload.to.first() else {
            return SendOutcome::Failed("the reply has no recipient".to_owned());
        };
        let last = match item.ticket {
            Some(ticket) => match self.store.last_customer_message(ticket, Channel::Whatsapp).await {
                Ok(last) => last,
                Err(error) => return SendOutcome::Retry(format!("reading the service window: {error}")),
            },
            None => None,
        };
        let window = service_window(Channel::Whatsapp, last, self.clock.now());
        let text = &item.payload.text;
        if !files.is_empty() && needs_template(window) {
            return SendOutcome::Failed(FILES_OUTSIDE_WINDOW.to_owned());
        }
        let mut uploaded = Vec::with_capacity(files.len());
        for file in files {
            match self.client.upload_media(file).await {
                Ok(media_id) => uploaded.push(media_id),
                Err(error) => return outcome(Err(error)),
            }
        }
        let sent = if needs_template(window) {
            self.send_template(&recipient.identity, text).await
        } else {
            match self.client.send_text(&recipient.identity, text).await {
                Err(SendError::OutsideWindow(_)) if !files.is_empty() => {
                    return SendOutcome::Failed(FILES_OUTSIDE_WINDOW.to_owned());
                }
                Err(SendError::OutsideWindow(_)) => self.send_template(&recipient.identity, text).await,
                other => other,
            }
        };
        if sent.is_err() {
            return outcome(sent);
        }
        for (file, media_id) in files.iter().zip(&uploaded) {
            if let Err(error) = self.client.send_media(&recipient.identity, media_id, file).await {
                return outcome(Err(error));
            }
        }
        outcome(sent)
    }

    async fn send_template(&self, to: &Identity, text: &str) -> Result<String, SendError> {
        match &self.template {
            Some(template) => self.client.send_template(to, template, text).await,
            None => Err(SendError::Permanent(
                "the customer's 24-hour window is closed and no template is configured ([whatsapp.template])"
                    .to_owned(),
            )),
        }
    }
}

/// A send's result as the outbox records it.
pub(super) fn outcome(sent: Result<String, SendError>) -> SendOutcome {
    match sent {
        Ok(provider_id) => SendOutcome::SentAs(provider_id),
        Err(SendError::Transient(error)) => SendOutcome::Retry(error),
        Err(SendError::Permanent(error) | SendError::OutsideWindow(error)) => SendOutcome::Failed(error),
    }
}
