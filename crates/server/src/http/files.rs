//! Files over HTTP, wherever they are served or received (the API, the help
//! pages, Twilio's media fetches): a download that no browser runs as part
//! of our site, and file names and content types cleaned of anything a
//! client could abuse.
//!
//! A download is always `Content-Disposition: attachment` under the stored
//! name cleaned of paths and control characters, with
//! `X-Content-Type-Options: nosniff` and a CSP that sandboxes the response
//! and lets it load nothing.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_store::AttachmentFile;

/// The most files one message may carry.
pub const MAX_FILES: usize = 10;

/// The longest file name kept, in characters.
const MAX_FILENAME_CHARS: usize = 200;

/// The CSP of every download: it may load nothing, run nothing, and is not
/// same-origin with us even if a browser renders it.
const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

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
