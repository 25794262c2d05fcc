//! Attached files: downloading them, and attaching them to replies and notes.
//!
//! A download is served so that no browser runs it as part of our site
//! (`http::files`). Agents download through a ticket they may see (a hidden
//! ticket's file is a 404 like the ticket); customers through the help
//! pages (`help`).
//!
//! Files are uploaded with the message as `multipart/form-data`. The body is
//! read part by part, chunk by chunk, and counted as it arrives: a file over
//! the per-file limit, or files over the per-message limit together, are
//! refused (413, naming the file and the limit) as soon as the limit is
//! passed, before anything is buffered whole or stored.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use rapport_core::message::MAX_TEXT_BYTES;
use rapport_core::{MessageId, TicketId};
use rapport_store::NewAttachment;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::dto::ticket::AddMessageRequest;
use crate::http::auth::CurrentAgent;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::files::{MAX_FILES, clean_content_type, clean_filename, download};
use crate::state::AppState;

/// The attachment routes, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download_attachment))
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
    let (texts, files) = read_parts(request, state, limits, &["body", "public", "channel"]).await?;
    let mut body: Option<String> = None;
    let mut public: Option<bool> = None;
    let mut channel: Option<String> = None;
    for (name, text) in texts {
        match name.as_str() {
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

/// Reads a `multipart/form-data` message form: its text parts named in
/// `known` (another name is refused, naming the expected ones) and any
/// number of file parts (up to [`MAX_FILES`]), held to `limits` while they
/// stream in. The API's message upload and the workspace's reply box share it.
pub async fn read_parts(
    request: Request,
    state: &AppState,
    limits: UploadLimits,
    known: &[&str],
) -> Result<(Vec<(String, String)>, Vec<NewAttachment>), ApiError> {
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        ApiError::MalformedJson(format!("the multipart body could not be read: {}", error.body_text()))
    };
    let mut multipart = Multipart::from_request(request, state).await.map_err(|error| {
        ApiError::MalformedJson(format!("the multipart body could not be read: {}", error.body_text()))
    })?;
    let mut texts: Vec<(String, String)> = Vec::new();
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
        let Some(slot) = known.iter().find(|known| **known == name) else {
            return Err(ApiError::invalid(
                &name,
                format!("unknown field `{name}`: expected {} or files", known.join(", ")),
            ));
        };
        let text = read_text(&mut field, slot).await?;
        texts.push(((*slot).to_owned(), text));
    }
    Ok((texts, files))
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
