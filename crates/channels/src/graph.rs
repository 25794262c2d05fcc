//! Meta's Graph API, the part WhatsApp Cloud API and Messenger/Instagram
//! share: how a refusal is read (transient, permanent, or "outside the
//! 24-hour window"), and how a media file is downloaded with a size cap.
//!
//! Graph API errors come as `{"error": {"message", "type", "code",
//! "error_subcode"}}`, often with HTTP 400 even for rate limits, so the error
//! code decides as much as the HTTP status does.

use std::time::Duration;

use rapport_core::intake::{InboundAttachment, InboundMessage};
use rapport_core::outbox::DeliveryState;
use serde::Deserialize;

/// How long one Graph API call may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);
/// How long an upload of a file may take.
pub(crate) const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// The largest media file kept (WhatsApp's own limit for documents is 100 MB).
pub const MAX_MEDIA_BYTES: usize = 100 * 1024 * 1024;

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (a network failure, 429, 5xx, a rate limit).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Refused because the customer's 24-hour window is closed: only a
    /// template (WhatsApp) or a tagged message (Messenger) may go out.
    #[error("outside the 24-hour window: {0}")]
    OutsideWindow(String),
    /// Will never work (a blocked number, an unknown recipient, a bad token).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Why a media file could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Try again later (network, 429, 5xx, or a token an admin can fix: 401/403).
    #[error("temporary failure fetching media: {0}")]
    Transient(String),
    /// Will never work (gone, too large).
    #[error("media cannot be fetched: {0}")]
    Permanent(String),
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Debug, Deserialize)]
struct GraphError {
    message: Option<String>,
    code: Option<i64>,
    error_subcode: Option<i64>,
}

/// Graph error codes that mean "slow down" or "try again": generic temporary
/// errors (1, 2), app and page rate limits (4, 17, 32, 613), WhatsApp's
/// throughput and pair limits (80007, 130429, 131056) and its "service
/// unavailable" (131016, 133004).
const TRANSIENT_CODES: [i64; 12] = [1, 2, 4, 17, 32, 341, 613, 80007, 130429, 131016, 131056, 133004];

/// WhatsApp's "re-engagement message" (131047) and Messenger's "outside of
/// allowed window" (code 10, subcode 2018278).
fn outside_window(code: Option<i64>, subcode: Option<i64>) -> bool {
    code == Some(131047) || (code == Some(10) && subcode == Some(2018278))
}

/// Posts a multipart upload to a Graph API (WhatsApp's media, Messenger's
/// attachments) and reads its answer as `T`; `what` names the upload in errors.
pub(crate) async fn upload<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    content_type: String,
    body: Vec<u8>,
    what: &str,
) -> Result<T, SendError> {
    let response = request
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .timeout(UPLOAD_TIMEOUT)
        .send()
        .await
        .map_err(|error| SendError::Transient(network_error(error)))?;
    if !response.status().is_success() {
        return Err(send_error(response).await);
    }
    response.json().await.map_err(|error| SendError::Transient(format!("reading the {what}'s answer: {error}")))
}

/// Reads a non-success answer into a [`SendError`].
pub(crate) async fn send_error(response: reqwest::Response) -> SendError {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let error = serde_json::from_str::<ErrorBody>(&body).ok().map(|body| body.error);
    let (code, subcode) = error.as_ref().map_or((None, None), |error| (error.code, error.error_subcode));
    let message = error.and_then(|error| error.message).unwrap_or_else(|| body.chars().take(300).collect::<String>());
    let detail = match code {
        Some(code) => format!("{status} (code {code}): {message}"),
        None => format!("{status}: {message}"),
    };
    if outside_window(code, subcode) {
        SendError::OutsideWindow(detail)
    } else if status.as_u16() == 429
        || status.is_server_error()
        || code.is_some_and(|code| TRANSIENT_CODES.contains(&code))
    {
        SendError::Transient(detail)
    } else {
        SendError::Permanent(detail)
    }
}

/// A network failure, without the URL (it may carry a token).
pub(crate) fn network_error(error: reqwest::Error) -> String {
    error.without_url().to_string()
}

/// Downloads `url` (with `bearer` as the `Authorization` when given), at most
/// [`MAX_MEDIA_BYTES`]; returns the bytes and the `Content-Type` the server named.
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<(Vec<u8>, Option<String>), FetchError> {
    let mut request = client.get(url).timeout(Duration::from_secs(120));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await.map_err(|error| FetchError::Transient(network_error(error)))?;
    let status = response.status();
    if !status.is_success() {
        let detail = format!("{status} from the media server");
        return Err(if status.as_u16() == 429 || status.is_server_error() || matches!(status.as_u16(), 401 | 403) {
            FetchError::Transient(detail)
        } else {
            FetchError::Permanent(detail)
        });
    }
    if let Some(length) = response.content_length()
        && length > MAX_MEDIA_BYTES as u64
    {
        return Err(FetchError::Permanent(format!("{length} bytes is over the {MAX_MEDIA_BYTES}-byte limit")));
    }
    let content_type =
        response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let mut content = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| FetchError::Transient(network_error(error)))? {
        if content.len() + chunk.len() > MAX_MEDIA_BYTES {
            return Err(FetchError::Permanent(format!("over the {MAX_MEDIA_BYTES}-byte limit")));
        }
        content.extend_from_slice(&chunk);
    }
    Ok((content, content_type))
}

/// A file name extension for a MIME type (`audio/ogg; codecs=opus` → `ogg`).
pub fn extension(mime_type: &str) -> &'static str {
    let essence = mime_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "audio/mp4" => "m4a",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// A media file a message refers to, to be fetched before the message is filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRef {
    /// Where to get it: a WhatsApp media id, or a Messenger/Instagram URL.
    pub source: String,
    /// The file name to keep it under.
    pub filename: String,
    /// The MIME type the webhook named (the download's own type wins when this is empty).
    pub content_type: String,
    /// What it is, for the message text (`image`, `document`, …).
    pub kind: String,
}

/// One customer message, with the media it refers to (to fetch before filing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The message in core's shape (attachments still empty).
    pub message: InboundMessage,
    /// Media to fetch and attach ([`attach`]).
    pub media: Vec<MediaRef>,
}

/// A delivery or read receipt (or a late failure) for one message we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The id the provider gave the message when we sent it.
    pub provider_id: String,
    /// What the receipt says.
    pub state: DeliveryState,
    /// Why, for a failure.
    pub detail: Option<String>,
}

/// Attaches a fetched file to `message`. A file that can never be fetched
/// (gone, too large) is named in the text instead, so the message is still
/// filed; a transient failure is returned, and the webhook answers 503 so
/// that Meta delivers the notification again.
pub fn attach(
    message: &mut InboundMessage,
    media: &MediaRef,
    fetched: Result<(Vec<u8>, Option<String>), FetchError>,
) -> Result<(), FetchError> {
    match fetched {
        Ok((content, served_type)) => {
            let content_type = if media.content_type.is_empty() {
                served_type.unwrap_or_else(|| "application/octet-stream".to_owned())
            } else {
                media.content_type.clone()
            };
            let filename = if media.filename.contains('.') {
                media.filename.clone()
            } else {
                format!("{}.{}", media.filename, extension(&content_type))
            };
            message.attachments.push(InboundAttachment { filename, content_type, content, content_id: None });
            Ok(())
        }
        Err(FetchError::Permanent(reason)) => {
            message.text.push_str(&format!("\n[the {} could not be kept: {reason}]", media.kind));
            Ok(())
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_follow_the_mime_type() {
        assert_eq!(extension("image/jpeg"), "jpg");
        assert_eq!(extension("audio/ogg; codecs=opus"), "ogg");
        assert_eq!(extension("Application/PDF"), "pdf");
        assert_eq!(extension("application/x-unknown"), "bin");
    }

    #[test]
    fn window_refusals_are_recognised() {
        assert!(outside_window(Some(131047), None));
        assert!(outside_window(Some(10), Some(2018278)));
        assert!(!outside_window(Some(10), None));
        assert!(!outside_window(Some(100), None));
    }
}
