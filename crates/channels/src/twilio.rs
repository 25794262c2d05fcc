//! Twilio: SMS and MMS in (the messaging webhook's form fields into core's
//! inbound message), delivery receipts, replies through the Messages API,
//! and the voice webhooks of the phone (call events, TwiML answers).
//!
//! Twilio posts `application/x-www-form-urlencoded` bodies and signs them
//! over the public URL and the sorted parameters
//! ([`crate::webhook::verify_twilio`]), so the webhooks read the form into
//! [`Params`] once, check the signature, then hand the same pairs to
//! [`sms`] or [`voice`]. [`TwilioClient`] talks to the REST API at a
//! configurable `api_base` (a local stand-in in tests) with HTTP basic
//! authentication (account sid and auth token).

pub mod sms;
pub mod voice;

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use rapport_core::Identity;
use serde::Deserialize;
use sha2::Sha256;

/// How long a signed media URL given to Twilio works, in milliseconds:
/// Twilio fetches the file while it sends the MMS.
pub const MEDIA_URL_VALID_MS: i64 = 60 * 60 * 1000;

/// The largest media file kept from an MMS (Twilio's own limit is 5 MB).
pub const MAX_MEDIA_BYTES: usize = 10 * 1024 * 1024;

/// The signature of the media URL path for file `index` of message
/// `message`, valid until `expires` (epoch milliseconds): hex HMAC-SHA256
/// keyed with the account's auth token, so only we can make one and every
/// instance can check it.
pub fn media_signature(auth_token: &str, message: i64, index: usize, expires: i64) -> String {
    hex::encode(media_mac(auth_token, message, index, expires).finalize().into_bytes())
}

/// Whether `signature` is [`media_signature`] of these values (compared in constant time).
pub fn media_signature_matches(auth_token: &str, message: i64, index: usize, expires: i64, signature: &str) -> bool {
    let Ok(given) = hex::decode(signature) else { return false };
    media_mac(auth_token, message, index, expires).verify_slice(&given).is_ok()
}

fn media_mac(auth_token: &str, message: i64, index: usize, expires: i64) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(auth_token.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(format!("rapport-media\n{message}\n{index}\n{expires}").as_bytes());
    mac
}

/// A webhook's form fields, in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Decodes an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Params {
        Params(url::form_urlencoded::parse(body).map(|(name, value)| (name.into_owned(), value.into_owned())).collect())
    }

    /// The first value of `name`, if present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.trim().is_empty())
    }

    /// The value of `name`, which must be present.
    pub fn require(&self, name: &'static str) -> Result<&str, ParamsError> {
        self.get(name).ok_or(ParamsError::Missing(name))
    }
}

/// Why a webhook's fields cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// A required field is absent.
    #[error("the {0} field is missing")]
    Missing(&'static str),
    /// A field has a value we cannot read.
    #[error("the {field} field has an unreadable value {value:?}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
    },
}

/// Why a request to Twilio failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (a network failure, 429, 5xx).
    #[error("temporary Twilio failure: {0}")]
    Transient(String),
    /// Will never work (an invalid number, a bad credential, a refused message).
    #[error("permanent Twilio failure: {0}")]
    Permanent(String),
}

/// Twilio's REST API with one account's credentials.
#[derive(Debug, Clone)]
pub struct TwilioClient {
    client: reqwest::Client,
    api_base: String,
    account_sid: String,
    auth_token: rapport_core::Secret,
}

#[derive(Debug, Deserialize)]
struct Created {
    sid: String,
}

impl TwilioClient {
    /// A client for `account_sid` at `api_base` (normally `https://api.twilio.com`).
    pub fn new(api_base: &str, account_sid: &str, auth_token: &str) -> TwilioClient {
        TwilioClient {
            client: crate::http::client(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token: rapport_core::Secret::new(auth_token),
        }
    }

    /// Sends `body` as an SMS from `from` (our number, E.164) to `to`, asking
    /// Twilio to report its delivery to `status_callback`. Returns the
    /// message's sid, which the receipts name.
    pub async fn send_sms(
        &self,
        from: &str,
        to: &Identity,
        body: &str,
        status_callback: Option<&str>,
        media_urls: &[String],
    ) -> Result<String, SendError> {
        if to.kind != rapport_core::IdentityKind::Phone {
            return Err(SendError::Permanent(format!("{} is not a phone number", to.value)));
        }
        // Built before any await: the serializer is not `Send`.
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("To", &to.value).append_pair("From", from).append_pair("Body", body);
            if let Some(callback) = status_callback {
                form.append_pair("StatusCallback", callback);
            }
            // An MMS: Twilio fetches each file from its URL (up to 10).
            for url in media_urls {
                form.append_pair("MediaUrl", url);
            }
            form.finish()
        };
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", self.api_base, self.account_sid);
        let response = self
            .client
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|error| SendError::Transient(error.without_url().to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|error| SendError::Transient(error.without_url().to_string()))?;
        if status.is_success() {
            let created: Created = serde_json::from_str(&text)
                .map_err(|error| SendError::Transient(format!("Twilio's answer has no message sid: {error}")))?;
            return Ok(created.sid);
        }
        let detail = format!("{status}: {}", text.chars().take(300).collect::<String>());
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::Transient(detail))
        } else {
            Err(SendError::Permanent(detail))
        }
    }

    /// Fetches an MMS media file (`MediaUrlN`) with the account's
    /// credentials: `(content type, bytes)`. Files over [`MAX_MEDIA_BYTES`]
    /// are refused.
    pub async fn fetch_media(&self, url: &str) -> Result<(String, Vec<u8>), SendError> {
        let response = self
            .client
            .get(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|error| SendError::Transient(error.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let detail = format!("fetching media: {status}");
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                SendError::Transient(detail)
            } else {
                SendError::Permanent(detail)
            });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        if response.content_length().is_some_and(|length| length > MAX_MEDIA_BYTES as u64) {
            return Err(SendError::Permanent(format!("the media file is over {MAX_MEDIA_BYTES} bytes")));
        }
        let bytes = response.bytes().await.map_err(|error| SendError::Transient(error.without_url().to_string()))?;
        if bytes.len() > MAX_MEDIA_BYTES {
            return Err(SendError::Permanent(format!("the media file is over {MAX_MEDIA_BYTES} bytes")));
        }
        Ok((content_type, bytes.to_vec()))
    }
}

/// Escapes text for TwiML (XML) content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_14_a_media_url_signature_names_one_file_until_it_expires() {
        let signature = media_signature("token", 7, 0, 1_000);
        assert!(media_signature_matches("token", 7, 0, 1_000, &signature));
        assert!(!media_signature_matches("other", 7, 0, 1_000, &signature));
        assert!(!media_signature_matches("token", 7, 1, 1_000, &signature));
        assert!(!media_signature_matches("token", 8, 0, 1_000, &signature));
        assert!(!media_signature_matches("token", 7, 0, 2_000, &signature));
        assert!(!media_signature_matches("token", 7, 0, 1_000, "zz"));
    }

    #[test]
    fn form_fields_are_decoded_and_blank_ones_count_as_absent() {
        let params = Params::parse(b"Body=Hello+there%21&From=%2B14155551234&MediaUrl0=&To=%2B15557654321");
        assert_eq!(params.get("Body"), Some("Hello there!"));
        assert_eq!(params.get("From"), Some("+14155551234"));
        assert_eq!(params.get("MediaUrl0"), None);
        assert_eq!(params.require("MessageSid"), Err(ParamsError::Missing("MessageSid")));
    }

    #[test]
    fn twiml_text_is_escaped() {
        assert_eq!(xml_escape(r#"a<b & "c">'d'"#), "a&lt;b &amp; &quot;c&quot;&gt;&apos;d&apos;");
    }
}
