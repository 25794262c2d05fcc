//! Signature checks for inbound provider webhooks, computed over the raw
//! request bytes before anything is parsed, and compared in constant time.
//!
//! - Meta (WhatsApp Cloud API, Messenger, Instagram): `X-Hub-Signature-256:
//!   sha256=<hex HMAC-SHA256(app_secret, body)>`, and the `hub.challenge`
//!   handshake when a webhook is registered.
//! - Telegram: `X-Telegram-Bot-Api-Secret-Token` equal to the `secret_token`
//!   given to `setWebhook`.
//! - Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1(auth_token, URL + each
//!   form parameter's name and value, sorted by name)>`, where the URL is the
//!   public one Twilio called.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Why a webhook request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature header is absent.
    #[error("the request carries no signature header")]
    Missing,
    /// The header is not in the provider's format.
    #[error("the signature header is not in the provider's format")]
    Malformed,
    /// The signature does not match: wrong secret, or a forged or altered request.
    #[error("the signature does not match the request")]
    Mismatch,
}

/// `sha256=<hex>`: what Meta sends for `body` under `app_secret`.
pub fn meta_signature(app_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(app_secret, body).finalize().into_bytes()))
}

/// Checks Meta's `X-Hub-Signature-256` header against the raw body.
pub fn verify_meta(app_secret: &str, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    hmac_sha256(app_secret, body).verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

/// Answers Meta's verification handshake (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`):
/// the challenge to echo back when the mode and token are right, else `None` (answer 403).
pub fn meta_handshake<'a>(
    mode: Option<&str>,
    verify_token: Option<&str>,
    challenge: Option<&'a str>,
    configured_token: &str,
) -> Option<&'a str> {
    let token_matches =
        verify_token.is_some_and(|token| bool::from(token.as_bytes().ct_eq(configured_token.as_bytes())));
    (mode == Some("subscribe") && token_matches && !configured_token.is_empty()).then_some(challenge).flatten()
}

/// Checks Telegram's `X-Telegram-Bot-Api-Secret-Token` header.
pub fn verify_telegram(secret_token: &str, header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if !secret_token.is_empty() && bool::from(header.as_bytes().ct_eq(secret_token.as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// What Twilio sends for a request to `url` with form `params` under `auth_token`.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD.encode(twilio_mac(auth_token, url, params).finalize().into_bytes())
}

/// Checks Twilio's `X-Twilio-Signature` header for a request to the public `url` with form `params`.
pub fn verify_twilio(
    auth_token: &str,
    header: Option<&str>,
    url: &str,
    params: &[(String, String)],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let expected =
        base64::engine::general_purpose::STANDARD.decode(header.trim()).map_err(|_| SignatureError::Malformed)?;
    twilio_mac(auth_token, url, params).verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

fn hmac_sha256(secret: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    mac
}

fn twilio_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twilio_example() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    #[test]
    fn twilio_matches_the_published_example() {
        // Twilio's security documentation: auth token 12345, this URL and these parameters.
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let mut params = twilio_example();
        assert_eq!(twilio_signature("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        params.reverse(); // the order parameters arrive in does not matter
        assert_eq!(verify_twilio("12345", Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), url, &params), Ok(()));
        assert_eq!(
            verify_twilio("12346", Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), url, &params),
            Err(SignatureError::Mismatch)
        );
        let other_url = "https://mycompany.com/myapp.php?foo=1&bar=3";
        assert_eq!(
            verify_twilio("12345", Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), other_url, &params),
            Err(SignatureError::Mismatch)
        );
        params[0].1.push('9');
        assert_eq!(
            verify_twilio("12345", Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), url, &params),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_twilio("12345", None, url, &params), Err(SignatureError::Missing));
        assert_eq!(verify_twilio("12345", Some("not base64!"), url, &params), Err(SignatureError::Malformed));
    }

    #[test]
    fn meta_signs_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        // Cross-checked with Python's hmac module.
        let expected = "sha256=0bf7374433906636bed1653bc7c64affb42fa5da9a39e251ab95c2e3a9c06923";
        assert_eq!(meta_signature("app-secret", body), expected);
        assert_eq!(verify_meta("app-secret", Some(expected), body), Ok(()));
        assert_eq!(verify_meta("other-secret", Some(expected), body), Err(SignatureError::Mismatch));
        let altered = br#"{"object":"whatsapp_business_account" }"#;
        assert_eq!(verify_meta("app-secret", Some(expected), altered), Err(SignatureError::Mismatch));
        assert_eq!(verify_meta("app-secret", None, body), Err(SignatureError::Missing));
        assert_eq!(verify_meta("app-secret", Some("sha1=abc"), body), Err(SignatureError::Malformed));
        assert_eq!(verify_meta("app-secret", Some("sha256=zz"), body), Err(SignatureError::Malformed));
    }

    #[test]
    fn meta_handshake_echoes_the_challenge_only_for_the_right_token() {
        assert_eq!(meta_handshake(Some("subscribe"), Some("tok"), Some("1158201444"), "tok"), Some("1158201444"));
        assert_eq!(meta_handshake(Some("subscribe"), Some("bad"), Some("1158201444"), "tok"), None);
        assert_eq!(meta_handshake(Some("unsubscribe"), Some("tok"), Some("1158201444"), "tok"), None);
        assert_eq!(meta_handshake(Some("subscribe"), None, Some("1158201444"), "tok"), None);
        assert_eq!(meta_handshake(Some("subscribe"), Some(""), Some("1"), ""), None, "an unset token admits nobody");
    }

    #[test]
    fn telegram_compares_the_secret_token() {
        assert_eq!(verify_telegram("s3cret_token-1", Some("s3cret_token-1")), Ok(()));
        assert_eq!(verify_telegram("s3cret_token-1", Some("s3cret_token-2")), Err(SignatureError::Mismatch));
        assert_eq!(verify_telegram("s3cret_token-1", None), Err(SignatureError::Missing));
        assert_eq!(verify_telegram("", Some("")), Err(SignatureError::Mismatch), "an unset secret admits nobody");
    }
}
