//! `multipart/form-data` request bodies (RFC 7578) for the providers' media
//! uploads: Telegram's `sendDocument`, WhatsApp's `/PHONE_ID/media` and
//! Meta's attachment upload. Written here rather than with reqwest's
//! `multipart` feature, which would pull in a MIME-guessing crate for a
//! type we always know.

use crate::email::outbound::OutboundAttachment;

/// A form being built: text fields and files, in order.
#[derive(Debug)]
pub struct FormData {
    boundary: String,
    body: Vec<u8>,
}

impl Default for FormData {
    fn default() -> FormData {
        FormData::new()
    }
}

impl FormData {
    /// An empty form with a random boundary.
    pub fn new() -> FormData {
        FormData { boundary: format!("rapport-{}", uuid::Uuid::now_v7().simple()), body: Vec::new() }
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> FormData {
        self.head(name);
        self.body.extend_from_slice(b"\r\n\r\n");
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// Adds a file under `name`, with its file name and type.
    pub fn file(mut self, name: &str, file: &OutboundAttachment) -> FormData {
        self.head(name);
        self.body.extend_from_slice(format!("; filename=\"{}\"", quoted(&file.filename)).as_bytes());
        self.body.extend_from_slice(format!("\r\nContent-Type: {}\r\n\r\n", one_line(&file.content_type)).as_bytes());
        self.body.extend_from_slice(&file.content);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The `Content-Type` header value and the body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (format!("multipart/form-data; boundary={}", self.boundary), self.body)
    }

    fn head(&mut self, name: &str) {
        self.body.extend_from_slice(
            format!("--{}\r\nContent-Disposition: form-data; name=\"{}\"", self.boundary, quoted(name)).as_bytes(),
        );
    }
}

/// A parameter value: quotes, backslashes and line breaks percent-encoded
/// (as browsers do, RFC 7578 §4.2), so no value can end its header early.
fn quoted(value: &str) -> String {
    value.replace('%', "%25").replace('"', "%22").replace('\\', "%5C").replace('\r', "%0D").replace('\n', "%0A")
}

fn one_line(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_has_each_part_once_and_no_header_can_be_injected() {
        let file = OutboundAttachment {
            filename: "a\"b\r\n.pdf".into(),
            content_type: "application/pdf\r\nX: y".into(),
            content: vec![0, 1, 2],
        };
        let form = FormData::new().text("chat_id", "42").file("document", &file);
        let boundary = form.boundary.clone();
        let (content_type, body) = form.finish();
        assert_eq!(content_type, format!("multipart/form-data; boundary={boundary}"));
        let mut expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"a%22b%0D%0A.pdf\"\r\n\
             Content-Type: application/pdfX: y\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(&[0, 1, 2]);
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert_eq!(body, expected);
    }
}
