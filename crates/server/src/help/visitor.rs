//! Who is on the other end of a help-page request: the session cookie and
//! the random secrets behind links and sessions. (The client's address, for
//! the per-IP rate limit, is `connections::client_address`.)

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "rapport_help";

/// The cookie that ties a visitor's forms to their browser before they sign
/// in (the double-submit defence: another site can make the browser post a
/// form, but cannot read this cookie to put its token in the form).
pub const FORM_COOKIE: &str = "rapport_help_form";

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
    cookie(headers, COOKIE)
}

/// The value of the cookie `wanted`, if it is a well-formed secret.
fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| well_formed(value))
}

/// The CSRF token of a visitor's forms, and the cookie to set when the
/// browser has none to tie it to yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormToken {
    /// The token every form carries in its `csrf` field.
    pub token: String,
    /// A `Set-Cookie` value, when the token comes from a new form secret.
    pub set_cookie: Option<String>,
}

impl FormToken {
    /// The token for a request: tied to the session when there is one, else
    /// to the form cookie, else to a new form cookie set with the page.
    pub fn of(headers: &HeaderMap, secure: bool) -> FormToken {
        match token_secret(headers) {
            Some(secret) => FormToken { token: csrf_token(&secret), set_cookie: None },
            None => FormToken::fresh(secure),
        }
    }

    /// The token for the session that begins with `secret` (a link just followed).
    pub fn of_session(secret: &str) -> FormToken {
        FormToken { token: csrf_token(secret), set_cookie: None }
    }

    /// A token from a new form secret, with its cookie.
    fn fresh(secure: bool) -> FormToken {
        let (secret, _) = new_secret();
        let set_cookie = format!(
            "{FORM_COOKIE}={secret}; Path=/help; HttpOnly; SameSite=Strict{}",
            if secure { "; Secure" } else { "" }
        );
        FormToken { token: csrf_token(&secret), set_cookie: Some(set_cookie) }
    }
}

/// The secret a request's forms are tied to: its session's, else its form cookie's.
fn token_secret(headers: &HeaderMap) -> Option<String> {
    session_secret(headers).or_else(|| cookie(headers, FORM_COOKIE))
}

/// True when a posted form's `csrf` field is the token of the browser that
/// posted it. Compared in time that does not depend on where they differ.
pub fn valid_token(headers: &HeaderMap, given: &str) -> bool {
    let Some(secret) = token_secret(headers) else { return false };
    let expected = csrf_token(&secret);
    given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

fn csrf_token(secret: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"rapport help csrf\0");
    digest.update(secret.as_bytes());
    hex::encode(digest.finalize())
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

    #[test]
    fn form_tokens_follow_the_session_else_the_form_cookie() {
        let mut headers = HeaderMap::new();
        let fresh = FormToken::of(&headers, true);
        let set_cookie = fresh.set_cookie.clone().unwrap();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("Secure") && set_cookie.contains("Strict"));
        assert!(!valid_token(&headers, &fresh.token), "no cookie, no valid token");
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        headers.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert!(valid_token(&headers, &fresh.token));
        assert_eq!(FormToken::of(&headers, true), FormToken { token: fresh.token.clone(), set_cookie: None });
        assert!(!valid_token(&headers, "") && !valid_token(&headers, &fresh.token[1..]));
        // Signing in ties forms to the session instead.
        let (session, _) = new_secret();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("{cookie}; {COOKIE}={session}")).unwrap());
        assert!(!valid_token(&headers, &fresh.token));
        assert!(valid_token(&headers, &FormToken::of_session(&session).token));
    }
}
