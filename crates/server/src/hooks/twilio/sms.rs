//! SMS and MMS over Twilio: the incoming-message webhook, delivery receipts,
//! the signed, expiring media links Twilio fetches a reply's files from, and
//! the outbox's way out through the Messages API.

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use rapport_channels::email::outbound::OutboundAttachment;
use rapport_channels::twilio::sms::{media_filename, parse_message, parse_status};
use rapport_channels::twilio::{MEDIA_URL_VALID_MS, SendError, TwilioClient, media_signature, media_signature_matches};
use rapport_core::{Channel, InboundAttachment, Secret};
use rapport_store::{FileInbound, OutboxItem, QuarantineReason, SendOutcome};

use super::signature::{not_configured, twiml, verified};
use crate::http::body::HookBody;
use crate::http::error::ApiError;
use crate::settings::TwilioSettings;
use crate::state::{AppState, Clock};

/// The SMS routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks/twilio/sms", post(incoming_sms))
        .route("/hooks/twilio/sms/status", post(sms_status))
        .route("/hooks/twilio/media/{message}/{index}/{expires}/{signature}", get(media))
}

async fn incoming_sms(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    HookBody(body): HookBody,
) -> Result<Response, ApiError> {
    let (settings, params) = verified(&state, &headers, &uri, &body)?;
    let received_at = state.now();
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
        let client = TwilioClient::new(&settings.api_base, &settings.account_sid, settings.auth_token.expose());
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
    HookBody(body): HookBody,
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

/// `GET /hooks/twilio/media/{message}/{index}/{expires}/{signature}`: a
/// file of a reply, for Twilio to fetch while it sends the MMS. The URL is
/// its own credential: signed with the auth token and good until `expires`;
/// anything else is a 404 that says nothing more.
async fn media(
    State(state): State<AppState>,
    Path((message, index, expires, signature)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let settings = state.config.twilio.as_ref().ok_or_else(not_configured)?;
    let missing = || ApiError::NotFound("no such file, or the link has expired".to_owned());
    let (Ok(message), Ok(index), Ok(expires)) =
        (message.parse::<i64>(), index.parse::<usize>(), expires.parse::<i64>())
    else {
        return Err(missing());
    };
    if expires < state.now().0
        || !media_signature_matches(settings.auth_token.expose(), message, index, expires, &signature)
    {
        return Err(missing());
    }
    let file = match state.store.list_message_files(rapport_core::MessageId(message)).await {
        Ok(files) => files.into_iter().nth(index).ok_or_else(missing)?,
        Err(rapport_store::StoreError::NotFound(_)) => return Err(missing()),
        Err(error) => return Err(error.into()),
    };
    Ok(crate::http::files::download(file))
}

/// Sends SMS replies through Twilio's Messages API for the outbox.
#[derive(Debug, Clone)]
pub struct TwilioOutbound {
    client: TwilioClient,
    from: String,
    status_callback: Option<String>,
    auth_token: Secret,
    /// Where Twilio reaches us (`public_url`), for the files' URLs.
    public_url: Option<String>,
    /// Where now comes from: a file link expires by it.
    clock: Clock,
}

impl TwilioOutbound {
    /// The sender for these settings. Delivery receipts are asked for only
    /// when `public_url` is set: Twilio needs an absolute URL.
    pub fn new(settings: &TwilioSettings, clock: Clock) -> TwilioOutbound {
        TwilioOutbound {
            client: TwilioClient::new(&settings.api_base, &settings.account_sid, settings.auth_token.expose()),
            from: settings.from_number.clone(),
            status_callback: settings.public_url.as_ref().map(|_| settings.hook_url("/hooks/twilio/sms/status")),
            auth_token: settings.auth_token.clone(),
            public_url: settings.public_url.as_ref().map(|url| url.trim_end_matches('/').to_owned()),
            clock,
        }
    }

    /// Sends one outbox entry as an SMS to its first recipient; with files,
    /// as an MMS whose `MediaUrl`s are signed, expiring links to our
    /// `/hooks/twilio/media/...`, which Twilio fetches (so `public_url` must
    /// be set).
    pub async fn send(&self, item: &OutboxItem, files: &[OutboundAttachment]) -> SendOutcome {
        let Some(recipient) = item.payload.to.first() else {
            return SendOutcome::Failed("the reply has no recipient".to_owned());
        };
        let media_urls = match (files.is_empty(), &self.public_url, item.message) {
            (true, _, _) => Vec::new(),
            (false, Some(base), Some(message)) => {
                let expires = self.clock.now().0.saturating_add(MEDIA_URL_VALID_MS);
                (0..files.len())
                    .map(|index| {
                        let signature = media_signature(self.auth_token.expose(), message.0, index, expires);
                        format!("{base}/hooks/twilio/media/{}/{index}/{expires}/{signature}", message.0)
                    })
                    .collect()
            }
            (false, _, _) => {
                return SendOutcome::Failed(
                    "Twilio fetches a reply's files from our public address: set twilio.public_url".to_owned(),
                );
            }
        };
        let sent = self
            .client
            .send_sms(&self.from, &recipient.identity, &item.payload.text, self.status_callback.as_deref(), &media_urls)
            .await;
        match sent {
            Ok(sid) => SendOutcome::SentAs(sid),
            Err(SendError::Transient(error)) => SendOutcome::Retry(error),
            Err(SendError::Permanent(error)) => SendOutcome::Failed(error),
        }
    }
}
