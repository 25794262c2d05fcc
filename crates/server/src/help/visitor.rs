//! Who is on the other end of a help-page request: the client's address (for
//! the per-IP rate limit), the session cookie, and the random secrets behind
//! links and sessions.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, header};
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

/// The client's address, as a rate-limit key: the connection's peer, or with
/// `trust_forwarded_for` the last address in `X-Forwarded-For` (the one the
/// reverse proxy in front of Rapport appended). IPv6 clients are grouped by
/// their /64, since one subscriber commonly holds a whole /64.
pub fn client_address<B>(request: &Request<B>, trust_forwarded_for: bool) -> String {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
    client_address_of(request.headers(), peer, trust_forwarded_for)
}

/// [`client_address`] from a request's headers and its peer's address.
pub fn client_address_of(headers: &HeaderMap, peer: Option<IpAddr>, trust_forwarded_for: bool) -> String {
    let forwarded = trust_forwarded_for.then(|| forwarded_for(headers)).flatten();
    match forwarded.or(peer) {
        Some(IpAddr::V4(address)) => address.to_string(),
        Some(IpAddr::V6(address)) => match address.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let segments = address.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", segments[0], segments[1], segments[2], segments[3])
            }
        },
        // Served without connection info (a test harness calling the router
        // directly): everyone shares one counter.
        None => "unknown".to_owned(),
    }
}

fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let value = headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).next_back()?;
    value.rsplit(',').next()?.trim().parse().ok()
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

    fn request(peer: &str, forwarded: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        if let Some(forwarded) = forwarded {
            request.headers_mut().insert("x-forwarded-for", HeaderValue::from_str(forwarded).unwrap());
        }
        request
    }

    #[test]
    fn the_client_address_comes_from_the_connection_unless_a_proxy_is_trusted() {
        assert_eq!(client_address(&request("10.0.0.1:5000", Some("1.2.3.4")), false), "10.0.0.1");
        assert_eq!(client_address(&request("10.0.0.1:5000", Some("9.9.9.9, 1.2.3.4")), true), "1.2.3.4");
        assert_eq!(client_address(&request("10.0.0.1:5000", Some("garbage")), true), "10.0.0.1");
        assert_eq!(client_address(&request("[2001:db8:1:2:3:4:5:6]:80", None), false), "2001:db8:1:2::/64");
        assert_eq!(client_address(&request("[::ffff:1.2.3.4]:80", None), false), "1.2.3.4");
        assert_eq!(client_address(&Request::new(()), false), "unknown");
    }

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
