//! Who is on the other end of a help-page request: the session cookie and
//! the random secrets behind links and sessions. (The client's address, for
//! the per-IP rate limit, is `connections::client_address`.)

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "rapport_help";

/// The length of a secret as it appears in links and cookies (32 random bytes, base64url).
const SECRET_CHARS: usize = 43;

/// A new random secret and its stored form (hex SHA-256).
pub fn new_secret() -> (String, String) {
    let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = hash_secret(&secret);
    (secret, hash)
}

/// The stored form of a link or session secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// True when `secret` has the shape of one of ours; anything else is refused
/// without asking the database.
pub fn well_formed(secret: &str) -> bool {
    secret.len() == SECRET_CHARS && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The session secret from the request's cookies, if it has a well-formed one.
pub fn session_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| well_formed(value))
}

/// The `Set-Cookie` value that starts a session. `Secure` when the public
/// address is https; `SameSite=Lax` keeps other sites from posting replies in
/// the customer's name, since the browser then sends no cookie with them.
pub fn session_cookie(secret: &str, max_age_seconds: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={secret}; Path=/help; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session.
pub fn expired_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_read_and_secrets_checked() {
        let (secret, hash) = new_secret();
        assert!(well_formed(&secret));
        assert_eq!(hash, hash_secret(&secret));
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("a=b; {COOKIE}={secret}")).unwrap());
        assert_eq!(session_secret(&headers), Some(secret));
        headers.insert(header::COOKIE, HeaderValue::from_static("rapport_help=short"));
        assert_eq!(session_secret(&headers), None);
    }
}
