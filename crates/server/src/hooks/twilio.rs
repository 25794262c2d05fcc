//! `/hooks/twilio/...`: Twilio's SMS webhook and its delivery receipts, the
//! voice webhooks of the phone ([`voice`]), and the outbox's way out to the
//! Messages API.
//!
//! Every request is checked against `X-Twilio-Signature`, which Twilio
//! computes over the URL it called and the sorted form fields. Behind a proxy
//! that URL is not the one this server sees, so `public_url` names it; by
//! default it is `http://` + the `Host` header + the path and query. A bad
//! signature is 401 and stores nothing.

mod voice;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rapport_channels::twilio::sms::{media_filename, parse_message, parse_status};
use rapport_channels::twilio::{Params, SendError, TwilioClient};
use rapport_channels::webhook::verify_twilio;
use rapport_core::{Channel, InboundAttachment};
use rapport_store::{FileInbound, OutboxItem, QuarantineReason, SendOutcome};

use crate::error::ApiError;
use crate::{AppState, now};

/// Twilio settings (`[twilio]` in the configuration).
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    /// The account's sid (`AC…`), the user name of the REST API.
    pub account_sid: String,
    /// The account's auth token: signs every webhook, and the REST API's password.
    pub auth_token: String,
    /// Our Twilio number in E.164, which replies come from.
    pub from_number: String,
    /// The address Twilio reaches this server at (`https://support.example.com`),
    /// when a proxy stands in between; the signatures cover it. `None` uses
    /// the request's own `Host`.
    pub public_url: Option<String>,
    /// The REST API's address (a local stand-in in tests).
    pub api_base: String,
    /// The name of the `<Enqueue>` queue callers wait in.
    pub queue: String,
    /// After this long in the queue a caller is offered the voicemail.
    pub voicemail_after_secs: u32,
    /// The longest voicemail recorded.
    pub voicemail_max_secs: u32,
}

impl Default for TwilioSettings {
    fn default() -> Self {
        TwilioSettings {
            account_sid: String::new(),
            auth_token: String::new(),
            from_number: String::new(),
            public_url: None,
            api_base: "https://api.twilio.com".to_owned(),
            queue: "support".to_owned(),
            voicemail_after_secs: 120,
            voicemail_max_secs: 120,
        }
    }
}

impl TwilioSettings {
    /// The absolute URL of one of our hooks, when `public_url` is set; else
    /// the path alone (Twilio resolves relative TwiML URLs against the
    /// request's).
    pub fn hook_url(&self, path: &str) -> String {
        match &self.public_url {
            Some(base) => format!("{}{path}", base.trim_end_matches('/')),
            None => path.to_owned(),
        }
    }
}

/// `/hooks/twilio/...`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks/twilio/sms", post(incoming_sms))
        .route("/hooks/twilio/sms/status", post(sms_status))
        .merge(voice::router())
}

/// A TwiML answer.
fn twiml(xml: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}

fn not_configured() -> ApiError {
    ApiError::NotFound("Twilio is not configured ([twilio] in the configuration)".to_owned())
}

/// Checks the signature of a request to `uri` and reads its form.
fn verified<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &[u8],
) -> Result<(&'a TwilioSettings, Params), ApiError> {
    let settings = state.config.twilio.as_ref().ok_or_else(not_configured)?;
    let path_and_query = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |value| value.as_str().to_owned());
    let url = match &settings.public_url {
        Some(base) => format!("{}{path_and_query}", base.trim_end_matches('/')),
        None => {
            let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
            format!("http://{host}{path_and_query}")
        }
    };
    let params = Params::parse(body);
    let signature = headers.get("x-twilio-signature").and_then(|value| value.to_str().ok());
    verify_twilio(&settings.auth_token, signature, &url, &params.0)
        .map_err(|_| ApiError::Unauthorized("the X-Twilio-Signature header is missing or does not match"))?;
    Ok((settings, params))
}

async fn incoming_sms(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (settings, params) = verified(&state, &headers, &uri, &body)?;
    let received_at = now();
    let sms = match parse_message(&params, None, received_at) {
        Ok(sms) => sms,
        Err(error) => {
            let detail = error.to_string();
            state
                .store
                .quarantine(Channel::Sms, QuarantineReason::Unparseable, detail, body.to_vec(), received_at)
                .await?;
            return Ok(twiml(rapport_channels::twilio::voice::empty()));
        }
    };
    let mut message = sms.message;
    if !sms.media.is_empty() {
        let client = TwilioClient::new(&settings.api_base, &settings.account_sid, &settings.auth_token);
        let sid = params.get("MessageSid").unwrap_or("message");
        for (index, media) in sms.media.iter().enumerate() {
            match client.fetch_media(&media.url).await {
                Ok((content_type, content)) => message.attachments.push(InboundAttachment {
                    filename: media_filename(sid, index, &media.content_type),
                    content_type,
                    content,
                    content_id: None,
                }),
                // The text keeps the file's place, so an agent knows one is missing.
                Err(error) => {
                    tracing::warn!(%error, url = %media.url, "fetching MMS media");
                    message.text.push_str(&format!("\n[{} could not be fetched: {error}]", media.content_type));
                }
            }
        }
    }
    let request =
        FileInbound { message, raw: body.to_vec(), acknowledgment: None, rate_limit: state.config.mail.rate_limit };
    state.store.file_inbound(request).await?;
    Ok(twiml(rapport_channels::twilio::voice::empty()))
}

async fn sms_status(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let (_, params) = verified(&state, &headers, &uri, &body)?;
    match parse_status(&params) {
        Ok(Some(receipt)) => {
            // A reply on a phone ticket goes out as an SMS too, under the phone channel.
            let mut found = false;
            for channel in [Channel::Sms, Channel::Phone] {
                let (sid, detail) = (receipt.sid.clone(), receipt.detail.clone());
                if state.store.record_receipt(channel, sid, receipt.state, detail).await? {
                    found = true;
                    break;
                }
            }
            if !found {
                tracing::debug!(sid = %receipt.sid, "a Twilio receipt for a message Rapport has no record of");
            }
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "an unreadable Twilio status callback"),
    }
    Ok(StatusCode::OK)
}

/// Sends SMS replies through Twilio's Messages API for the outbox.
#[derive(Debug, Clone)]
pub struct TwilioOutbound {
    client: TwilioClient,
    from: String,
    status_callback: Option<String>,
}

impl TwilioOutbound {
    /// The sender for these settings. Delivery receipts are asked for only
    /// when `public_url` is set: Twilio needs an absolute URL.
    pub fn new(settings: &TwilioSettings) -> TwilioOutbound {
        TwilioOutbound {
            client: TwilioClient::new(&settings.api_base, &settings.account_sid, &settings.auth_token),
            from: settings.from_number.clone(),
            status_callback: settings.public_url.as_ref().map(|_| settings.hook_url("/hooks/twilio/sms/status")),
        }
    }

    /// Sends one outbox entry as an SMS to its first recipient.
    pub async fn send(&self, item: &OutboxItem) -> SendOutcome {
        let Some(recipient) = item.payload.to.first() else {
            return SendOutcome::Failed("the reply has no recipient".to_owned());
        };
        let sent = self
            .client
            .send_sms(&self.from, &recipient.identity, &item.payload.text, self.status_callback.as_deref())
            .await;
        match sent {
            Ok(sid) => SendOutcome::SentAs(sid),
            Err(SendError::Transient(error)) => SendOutcome::Retry(error),
            Err(SendError::Permanent(error)) => SendOutcome::Failed(error),
        }
    }
}
