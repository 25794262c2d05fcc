//! Reading the help pages' forms: `multipart/form-data` (what the pages send,
//! with files) or `application/x-www-form-urlencoded` (curl, simple clients),
//! into text fields and files, then checking them field by field so the page
//! can show each error next to its field.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use rapport_catalog::{Arg, Words};
use rapport_core::event::MAX_SUBJECT_CHARS;
use rapport_core::message::MAX_TEXT_BYTES;
use rapport_core::{Identity, InboundAttachment};

use super::page::{FieldError, human_size};
use crate::http::files::{MAX_FILES, clean_content_type, clean_filename};

/// The longest name accepted, in characters.
const MAX_NAME_CHARS: usize = 200;

/// A form as read: text fields by name (the first of repeated ones) and files.
#[derive(Debug, Default)]
pub struct Fields {
    text: HashMap<String, String>,
    /// The files, in order.
    pub files: Vec<InboundAttachment>,
    /// Their total size.
    pub file_bytes: usize,
}

/// Why a form could not be read at all.
#[derive(Debug)]
pub enum ReadError {
    /// Larger than the limit: 413.
    TooLarge,
    /// Not a form we can read: 400.
    Unreadable(String),
}

impl Fields {
    /// A text field, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> String {
        self.text.get(name).map(|value| value.trim().to_owned()).unwrap_or_default()
    }

    /// A text field as typed (line breaks and indentation kept, trailing space trimmed).
    pub fn text(&self, name: &str) -> String {
        self.text.get(name).map(|value| value.trim_end().replace("\r\n", "\n")).unwrap_or_default()
    }

    /// Reads a request's form. `limit` caps the whole body; the route's
    /// `DefaultBodyLimit` must be at least as large for multipart bodies.
    pub async fn read<S: Send + Sync>(request: Request, state: &S, limit: usize) -> Result<Fields, ReadError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .unwrap_or_default();
        match content_type.as_str() {
            "multipart/form-data" => {
                let multipart = Multipart::from_request(request, state)
                    .await
                    .map_err(|error| ReadError::Unreadable(error.body_text()))?;
                read_multipart(multipart).await
            }
            "application/x-www-form-urlencoded" => {
                let bytes = axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| ReadError::TooLarge)?;
                let mut fields = Fields::default();
                for (key, value) in form_urlencoded::parse(&bytes) {
                    fields.text.entry(key.into_owned()).or_insert_with(|| value.into_owned());
                }
                Ok(fields)
            }
            _ => Err(ReadError::Unreadable("Please send the form from the page it is on.".to_owned())),
        }
    }
}

async fn read_multipart(mut multipart: Multipart) -> Result<Fields, ReadError> {
    let failed = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ReadError::TooLarge
        } else {
            ReadError::Unreadable(error.body_text())
        }
    };
    let mut fields = Fields::default();
    while let Some(field) = multipart.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(filename) = field.file_name().map(str::to_owned) {
            let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
            let content = field.bytes().await.map_err(failed)?;
            // A file input left empty still sends a part, with no name and no bytes.
            if name != "attachments" || (filename.is_empty() && content.is_empty()) {
                continue;
            }
            fields.file_bytes = fields.file_bytes.saturating_add(content.len());
            fields.files.push(InboundAttachment {
                filename: clean_filename(&filename),
                content_type: clean_content_type(&content_type),
                content: content.to_vec(),
                content_id: None,
            });
        } else {
            let value = field.text().await.map_err(failed)?;
            fields.text.entry(name).or_insert(value);
        }
    }
    Ok(fields)
}

/// Checks the files: how many, and their total size against `max_bytes`.
pub fn check_files(words: &Words, fields: &Fields, max_bytes: usize, errors: &mut Vec<FieldError>) {
    if fields.files.len() > MAX_FILES {
        errors.push(("attachments", words.with("files-too-many", &[("max", Arg::Number(MAX_FILES as i64))])));
    } else if fields.file_bytes > max_bytes {
        let size = human_size(max_bytes);
        errors.push(("attachments", words.with("files-too-large", &[("size", size.as_str().into())])));
    }
}

/// Checks a name: required, at most [`MAX_NAME_CHARS`], no control characters.
pub fn check_name(words: &Words, name: &str, errors: &mut Vec<FieldError>) {
    if name.is_empty() {
        errors.push(("name", words.get("name-missing")));
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.push(("name", words.with("name-too-long", &[("max", Arg::Number(MAX_NAME_CHARS as i64))])));
    } else if name.chars().any(char::is_control) {
        errors.push(("name", words.get("name-control")));
    }
}

/// Checks and normalises an email address.
pub fn check_email(words: &Words, email: &str, errors: &mut Vec<FieldError>) -> Option<Identity> {
    if email.is_empty() {
        errors.push(("email", words.get("email-missing")));
        return None;
    }
    match Identity::email(email) {
        Ok(identity) => Some(identity),
        Err(_) => {
            errors.push(("email", words.get("email-invalid")));
            None
        }
    }
}

/// Checks a subject: required, within core's limit, on one line.
pub fn check_subject(words: &Words, subject: &str, errors: &mut Vec<FieldError>) {
    if subject.is_empty() {
        errors.push(("subject", words.get("subject-missing")));
    } else if subject.chars().count() > MAX_SUBJECT_CHARS {
        errors.push(("subject", words.with("subject-too-long", &[("max", Arg::Number(MAX_SUBJECT_CHARS as i64))])));
    } else if subject.chars().any(char::is_control) {
        errors.push(("subject", words.get("subject-control")));
    }
}

/// Checks a message text: required, within core's limit.
pub fn check_message(words: &Words, message: &str, errors: &mut Vec<FieldError>) {
    if message.trim().is_empty() {
        errors.push(("message", words.get("message-missing")));
    } else if message.len() > MAX_TEXT_BYTES {
        errors.push(("message", words.get("message-too-long")));
    }
}

/// A form's one-time id: 32 hex digits. A missing or malformed one gets a
/// fresh id, so the worst a client can do is lose the protection against
/// filing one submission twice.
pub fn submission_id(given: &str) -> String {
    if given.len() == 32 && given.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        given.to_owned()
    } else {
        new_submission_id()
    }
}

/// A fresh one-time form id.
pub fn new_submission_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_ids_are_kept_only_when_well_formed() {
        let id = new_submission_id();
        assert_eq!(submission_id(&id), id);
        assert_ne!(submission_id("not-an-id"), "not-an-id");
        assert_eq!(submission_id("x").len(), 32);
    }
}
