//! Attached files: downloading them, and attaching them to replies and notes.
//!
//! A download is served so that no browser runs it as part of our site:
//! always `Content-Disposition: attachment` under the stored name cleaned of
//! paths and control characters, `X-Content-Type-Options: nosniff`, and a
//! CSP that sandboxes the response and lets it load nothing. Agents download
//! through a ticket they may see (a hidden ticket's file is a 404 like the
//! ticket); customers through the help pages (`help.rs`).
//!
//! Files are uploaded with the message as `multipart/form-data`. The body is
//! read part by part, chunk by chunk, and counted as it arrives: a file over
//! the per-file limit, or files over the per-message limit together, are
//! refused (413, naming the file and the limit) as soon as the limit is
//! passed, before anything is buffered whole or stored.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_core::message::MAX_TEXT_BYTES;
use rapport_core::{MessageId, TicketId};
use rapport_store::{AttachmentFile, NewAttachment};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentAgent;
use crate::error::{ApiError, ErrorBody};
use crate::tickets::dto::AddMessageRequest;

/// The most files one message may carry.
pub const MAX_FILES: usize = 10;
/// The longest file name kept, in characters.
const MAX_FILENAME_CHARS: usize = 200;
/// The CSP of every download: it may load nothing, run nothing, and is not
/// same-origin with us even if a browser renders it.
const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

/// The attachment routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download_attachment))
}

/// The path an agent downloads a message's `index`th file at.
pub fn download_path(ticket: TicketId, message: MessageId, index: usize) -> String {
    format!("/api/v1/tickets/{ticket}/messages/{message}/attachments/{index}")
}

/// Download a file attached to a message.
///
/// `index` counts the message's files from 0, in the order of its
/// `attachments`. The file is served as an attachment under its stored name.
#[utoipa::path(
    get, path = "/tickets/{id}/messages/{message_id}/attachments/{index}", tag = "tickets",
    params(
        ("id" = i64, Path, description = "The ticket's number"),
        ("message_id" = i64, Path, description = "The message's id"),
        ("index" = i64, Path, description = "The file's place among the message's attachments, from 0"),
    ),
    responses(
        (status = 200, description = "The file's bytes", content_type = "application/octet-stream"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such ticket, message or file, or the ticket is not visible to the caller", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(ticket_id))]
async fn download_attachment(
    State(state): State<AppState>,
    caller: CurrentAgent,
    path: Result<Path<(i64, i64, usize)>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Ok(Path((ticket, message, index))) = path else {
        return Err(ApiError::NotFound("no record has this id".to_owned()));
    };
    tracing::Span::current().record("ticket_id", ticket);
    let file = state.store.get_ticket_attachment(TicketId(ticket), MessageId(message), index, &caller.viewer).await?;
    Ok(download(file))
}

/// A file as a download that no browser renders as part of our site.
pub fn download(file: AttachmentFile) -> Response {
    let content_type = clean_content_type(&file.meta.content_type);
    let mut response = (StatusCode::OK, Body::from(file.content)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&file.meta.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOWNLOAD_CSP));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// `attachment; filename="..."; filename*=UTF-8''...`: the cleaned name, as
/// ASCII (anything else, quotes and backslashes as `_`) for old clients and
/// percent-encoded UTF-8 (RFC 6266, RFC 8187) for the rest.
pub fn content_disposition(stored: &str) -> String {
    let name = clean_filename(stored);
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The last path component, without control characters, at most 200 characters.
pub fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(MAX_FILENAME_CHARS).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." { "attachment".to_owned() } else { cleaned.to_owned() }
}

/// `type/subtype` as given when it looks like one, else `application/octet-stream`.
pub fn clean_content_type(raw: &str) -> String {
    let essence = raw.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let valid = essence.len() <= 100
        && essence.split_once('/').is_some_and(|(kind, sub)| {
            !kind.is_empty()
                && !sub.is_empty()
                && essence.chars().all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c))
        });
    if valid { essence } else { "application/octet-stream".to_owned() }
}

/// The limits an upload is held to, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// One file (`email.max_attachment_bytes`).
    pub per_file: usize,
    /// All files of one message together (`email.max_message_bytes`).
    pub per_message: usize,
}

impl UploadLimits {
    /// The configured limits.
    pub fn of(state: &AppState) -> UploadLimits {
        UploadLimits {
            per_file: state.config.mail.max_attachment_bytes,
            per_message: state.config.mail.max_message_bytes,
        }
    }
}

/// Whether a request carries `multipart/form-data`.
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Reads `POST /tickets/{id}/messages` sent as `multipart/form-data`: the
/// text fields `body`, `public` and `channel`, and any number of file parts
/// (up to [`MAX_FILES`]), held to `limits` while they stream in.
pub async fn read_message_form(
    request: Request,
    state: &AppState,
    limits: UploadLimits,
) -> Result<(AddMessageRequest, Vec<NewAttachment>), ApiError> {
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        ApiError::MalformedJson(format!("the multipart body could not be read: {}", error.body_text()))
    };
    let mut multipart = Multipart::from_request(request, state).await.map_err(|error| {
        ApiError::MalformedJson(format!("the multipart body could not be read: {}", error.body_text()))
    })?;
    let mut body: Option<String> = None;
    let mut public: Option<bool> = None;
    let mut channel: Option<String> = None;
    let mut files: Vec<NewAttachment> = Vec::new();
    let mut total = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(given) = field.file_name().map(str::to_owned) {
            let filename = clean_filename(&given);
            if files.len() == MAX_FILES {
                return Err(ApiError::invalid("files", format!("a message carries at most {MAX_FILES} files")));
            }
            let content_type = clean_content_type(field.content_type().unwrap_or("application/octet-stream"));
            let mut content: Vec<u8> = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                total = total.saturating_add(chunk.len());
                if content.len().saturating_add(chunk.len()) > limits.per_file {
                    return Err(ApiError::FileTooLarge(format!(
                        "file `{filename}` is larger than the limit of {} bytes per file (email.max_attachment_bytes)",
                        limits.per_file
                    )));
                }
                if total > limits.per_message {
                    return Err(ApiError::FileTooLarge(format!(
                        "with file `{filename}` the files are larger than the limit of {} bytes per message \
                         (email.max_message_bytes)",
                        limits.per_message
                    )));
                }
                content.extend_from_slice(&chunk);
            }
            // A file input left empty still sends a part, with no name and no bytes.
            if !(given.is_empty() && content.is_empty()) {
                files.push(NewAttachment { filename, content_type, content });
            }
            continue;
        }
        let slot = match name.as_str() {
            "body" => "body",
            "public" => "public",
            "channel" => "channel",
            other => {
                return Err(ApiError::invalid(
                    other,
                    format!("unknown field `{other}`: expected body, public, channel or files"),
                ));
            }
        };
        let text = read_text(&mut field, slot).await?;
        match slot {
            "body" => body = Some(text),
            "public" => {
                public = Some(match text.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::invalid("public", "public must be true or false")),
                })
            }
            _ => channel = Some(text.trim().to_owned()).filter(|word| !word.is_empty()),
        }
    }
    let body = body.ok_or_else(|| ApiError::invalid("body", "missing field `body`"))?;
    let public = public.ok_or_else(|| ApiError::invalid("public", "missing field `public`"))?;
    Ok((AddMessageRequest { body, public, channel }, files))
}

/// A text part, at most [`MAX_TEXT_BYTES`] (and a little room), as UTF-8.
async fn read_text(field: &mut axum::extract::multipart::Field<'_>, name: &str) -> Result<String, ApiError> {
    let limit = MAX_TEXT_BYTES + 1024;
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|error| {
        ApiError::MalformedJson(format!("the multipart body could not be read: {}", error.body_text()))
    })? {
        if bytes.len().saturating_add(chunk.len()) > limit {
            return Err(ApiError::invalid(name, format!("{name} is longer than {MAX_TEXT_BYTES} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| ApiError::invalid(name, format!("{name} is not UTF-8 text")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_types_are_cleaned() {
        assert_eq!(clean_filename("C:\\Users\\ann\\photo.png"), "photo.png");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename(".."), "attachment");
        assert_eq!(clean_content_type("image/PNG; name=x"), "image/png");
        assert_eq!(clean_content_type("text/html\"><script>"), "application/octet-stream");
    }

    #[test]
    fn issue_14_a_download_is_named_safely() {
        assert_eq!(
            content_disposition("../r\u{e9}sum\u{e9} \"v2\".pdf\r\nX-Evil: 1"),
            "attachment; filename=\"r_sum_ _v2_.pdfX-Evil: 1\"; \
             filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdfX-Evil%3A%201"
        );
        assert_eq!(content_disposition("a/b\\"), "attachment; filename=\"attachment\"; filename*=UTF-8''attachment");
    }
}
