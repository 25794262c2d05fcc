//! The body: which part is the text, which the HTML, and which are files.
//!
//! mail-parser already sorted the MIME tree into text bodies, HTML bodies
//! and attachments (RFC 8621's rules); this module turns those lists into
//! intake's shape. Inline images stay attachments with their Content-ID so
//! the UI can resolve `cid:` links; a forwarded message (message/rfc822) is
//! kept whole as an `.eml` file.

use super::headers::{clean_id, clean_line};
use super::html;
use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};
use rapport_core::InboundAttachment;

/// The readable bodies of a message.
pub(super) struct Bodies {
    /// The text/plain bodies, or the HTML rendered as text when there is none.
    pub text: String,
    /// The sanitised HTML bodies, if the message has any.
    pub html: Option<String>,
}

/// The files of a message, and a line of text for each one dropped.
pub(super) struct Files {
    /// The attachments kept.
    pub attachments: Vec<InboundAttachment>,
    /// "[attachment NAME (SIZE) was over the size limit and was not kept]".
    pub notes: Vec<String>,
}

/// The text and HTML bodies.
pub(super) fn bodies(message: &Message<'_>) -> Bodies {
    let texts: Vec<String> = message
        .text_body
        .iter()
        .filter_map(|id| match message.parts.get(*id as usize).map(|part| &part.body) {
            Some(PartType::Text(text)) => Some(text.to_string()),
            Some(PartType::Html(html)) => Some(html::to_text(html)),
            _ => None,
        })
        .map(|text| text.trim_end().to_owned())
        .filter(|text| !text.is_empty())
        .collect();
    let htmls: Vec<&str> = message
        .html_body
        .iter()
        .filter_map(|id| match message.parts.get(*id as usize).map(|part| &part.body) {
            Some(PartType::Html(html)) => Some(html.as_ref()),
            _ => None,
        })
        .collect();
    let html = if htmls.is_empty() { None } else { Some(html::sanitize(&htmls.join("\n"))) };
    Bodies { text: texts.join("\n\n"), html }
}

/// The attachments and inline images, without those over `max_bytes`.
pub(super) fn attachments(message: &Message<'_>, max_bytes: usize) -> Files {
    let mut files = Files { attachments: Vec::new(), notes: Vec::new() };
    for (position, id) in message.attachments.iter().enumerate() {
        let Some(part) = message.parts.get(*id as usize) else { continue };
        let content: &[u8] = match &part.body {
            PartType::Text(text) | PartType::Html(text) => text.as_bytes(),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes,
            PartType::Message(nested) => nested_bytes(message, part, nested),
            PartType::Multipart(_) => continue,
        };
        let content_type = content_type(part);
        let filename = filename(part, &content_type, position + 1);
        if content.len() > max_bytes {
            files.notes.push(format!(
                "[attachment {filename} ({}) was over the size limit and was not kept]",
                human_size(content.len())
            ));
            continue;
        }
        files.attachments.push(InboundAttachment {
            filename,
            content_type,
            content: content.to_vec(),
            content_id: part.content_id().and_then(clean_id),
        });
    }
    files
}

/// The bytes of a forwarded message as it was sent: its slice of the raw
/// message, or the decoded bytes when it came base64- or QP-encoded.
fn nested_bytes<'a>(message: &'a Message<'_>, part: &MessagePart<'_>, nested: &'a Message<'_>) -> &'a [u8] {
    if part.encoding == Encoding::None {
        message.raw_message.get(part.offset_body as usize..part.offset_end as usize).unwrap_or_default()
    } else {
        &nested.raw_message
    }
}

/// `type/subtype`, lower-cased, without parameters.
fn content_type(part: &MessagePart<'_>) -> String {
    let fallback = match &part.body {
        PartType::Text(_) => "text/plain",
        PartType::Html(_) => "text/html",
        PartType::Message(_) => "message/rfc822",
        _ => "application/octet-stream",
    };
    match part.content_type() {
        Some(content_type) => match content_type.subtype() {
            Some(subtype) => clean_line(&format!("{}/{}", content_type.ctype(), subtype), 100).to_lowercase(),
            None => fallback.to_owned(),
        },
        None => fallback.to_owned(),
    }
}

/// The file name given (without any path), or a made-up one.
fn filename(part: &MessagePart<'_>, content_type: &str, number: usize) -> String {
    let given = part.attachment_name().map(|name| {
        let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
        clean_line(base, 255)
    });
    match given {
        Some(name) if !name.trim_matches('.').is_empty() => name,
        _ if matches!(part.body, PartType::Message(_)) => "forwarded-message.eml".to_owned(),
        _ => format!("attachment-{number}.{}", extension(content_type)),
    }
}

/// A file extension for a content type.
fn extension(content_type: &str) -> String {
    let known = match content_type {
        "image/jpeg" | "image/pjpeg" => Some("jpg"),
        "image/svg+xml" => Some("svg"),
        "text/plain" => Some("txt"),
        "text/calendar" => Some("ics"),
        "message/rfc822" => Some("eml"),
        "application/msword" => Some("doc"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Some("docx"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some("xlsx"),
        "application/vnd.ms-excel" => Some("xls"),
        "application/octet-stream" => Some("bin"),
        "audio/mpeg" => Some("mp3"),
        _ => None,
    };
    if let Some(known) = known {
        return known.to_owned();
    }
    let subtype = content_type.split_once('/').map_or("", |(_, subtype)| subtype);
    if !subtype.is_empty() && subtype.len() <= 8 && subtype.chars().all(|c| c.is_ascii_alphanumeric()) {
        subtype.to_owned()
    } else {
        "bin".to_owned()
    }
}

/// A size as a person reads it.
fn human_size(bytes: usize) -> String {
    const KB: f64 = 1024.0;
    let size = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if size < KB * KB {
        format!("{:.1} KB", size / KB)
    } else {
        format!("{:.1} MB", size / (KB * KB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(2048), "2.0 KB");
        assert_eq!(human_size(5 * 1024 * 1024 + 512 * 1024), "5.5 MB");
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("image/png"), "png");
        assert_eq!(extension("image/jpeg"), "jpg");
        assert_eq!(extension("application/vnd.oasis.opendocument.text"), "bin");
    }
}
