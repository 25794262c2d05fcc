//! Who is at the desk: the session cookie, the [`Desk`] extractor every page
//! takes, and the checks every state-changing request passes ([`DeskForm`]):
//! a same-origin `Origin` (or `Referer`) and a CSRF token tied to the session.
//!
//! The cookie carries 32 random bytes; the database keeps only their SHA-256
//! (`agent_sessions`), so every instance honours the same sessions. The CSRF
//! token is derived from the cookie's secret (a hash of it under a label), so
//! it needs no storage, changes with the session, and cannot be computed
//! from anything a page of another site can read.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use http_body_util::{BodyExt, Limited};
use rapport_core::time::DAY;
use rapport_core::{Agent, Viewer};
use sha2::{Digest, Sha256};

// The same random secrets as the help pages' links and sessions: 32 bytes,
// base64url, stored as hex SHA-256.
pub use crate::help::visitor::{hash_secret, new_secret, well_formed};
use crate::settings::ServerConfig;
use crate::state::AppState;
use crate::workspace::page::{PageError, refused};

/// The cookie's name over plain http (a development machine).
const PLAIN_COOKIE: &str = "rapport_desk";
/// The cookie's name over https: the `__Host-` prefix makes the browser
/// refuse it unless it is `Secure`, host-only and for the whole site.
const HOST_COOKIE: &str = "__Host-rapport_desk";
/// How long a session lasts.
pub const SESSION_DAYS: i64 = 7;
/// The largest form the workspace accepts (a reply of the API's maximum size, and room).
const FORM_BYTES: usize = 512 * 1024;

/// The signed-in agent at the desk, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Desk {
    /// The agent.
    pub agent: Agent,
    /// Their access.
    pub viewer: Viewer,
    /// The token every form of this session carries.
    pub csrf: String,
    /// The stored form of the session's secret.
    pub session_hash: String,
}

impl FromRequestParts<AppState> for Desk {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Desk, Response> {
        let signed_out = || Redirect::to(&sign_in_path(parts)).into_response();
        let Some(secret) = session_secret(&parts.headers) else {
            return Err(signed_out());
        };
        let session_hash = hash_secret(&secret);
        let agent = state
            .store
            .find_agent_by_session(&session_hash, state.now())
            .await
            .map_err(|error| PageError::from(error).into_response())?;
        match agent {
            Some(agent) => Ok(Desk { viewer: Viewer::of(&agent), agent, csrf: csrf_token(&secret), session_hash }),
            None => Err(signed_out()),
        }
    }
}

/// The sign-in page, coming back to this page after.
fn sign_in_path(parts: &Parts) -> String {
    let here = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    if parts.method == axum::http::Method::GET && here != "/" {
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        format!("/sign-in?next={next}")
    } else {
        "/sign-in".to_owned()
    }
}

/// A posted form from the desk: the session is valid, the request comes
/// from our own pages, and it carries the session's CSRF token.
pub struct DeskForm {
    /// Who sent it.
    pub desk: Desk,
    /// Its fields.
    pub fields: Fields,
}

impl FromRequest<AppState> for DeskForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<DeskForm, Response> {
        let (mut parts, body) = request.into_parts();
        same_origin(&parts.headers, &state.config).map_err(refused)?;
        let desk = Desk::from_request_parts(&mut parts, state).await?;
        let fields = if crate::api::attachments::is_multipart(&parts.headers) {
            Fields::read_multipart(Request::from_parts(parts, body), state).await?
        } else {
            Fields::read(body).await.map_err(refused)?
        };
        if !same_secret(fields.get("csrf"), &desk.csrf) {
            return Err(refused("This form has expired or came from another page. Reload the page and try again."));
        }
        Ok(DeskForm { desk, fields })
    }
}

/// A posted form before sign-in: only the origin is checked (there is no
/// session yet to tie a token to).
pub struct SignInForm {
    /// Its fields.
    pub fields: Fields,
    /// The request's headers (the old session, the client's address).
    pub headers: HeaderMap,
    /// The connection's peer.
    pub peer: Option<std::net::IpAddr>,
}

impl FromRequest<AppState> for SignInForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<SignInForm, Response> {
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|axum::extract::ConnectInfo(address)| address.ip());
        let (parts, body) = request.into_parts();
        same_origin(&parts.headers, &state.config).map_err(refused)?;
        let fields = Fields::read(body).await.map_err(refused)?;
        Ok(SignInForm { fields, headers: parts.headers, peer })
    }
}

/// The fields of a form: `application/x-www-form-urlencoded`, or
/// `multipart/form-data` with files (the reply box).
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>, Vec<rapport_store::NewAttachment>);

/// The text fields a multipart form of the workspace may carry.
const MULTIPART_FIELDS: [&str; 6] = ["csrf", "seen", "kind", "body", "channel", "status"];

impl Fields {
    async fn read(body: axum::body::Body) -> Result<Fields, &'static str> {
        let bytes: Bytes = Limited::new(body, FORM_BYTES)
            .collect()
            .await
            .map_err(|_| "The form is larger than the workspace accepts (512 KB).")?
            .to_bytes();
        Ok(Fields(form_urlencoded::parse(&bytes).into_owned().collect(), Vec::new()))
    }

    /// A multipart form, its files held to the upload limits as they stream
    /// in (as the API's uploads are); a refusal is a page that says why.
    async fn read_multipart(request: Request, state: &AppState) -> Result<Fields, Response> {
        let limits = crate::api::attachments::UploadLimits::of(state);
        match crate::api::attachments::read_parts(request, state, limits, &MULTIPART_FIELDS).await {
            Ok((texts, files)) => Ok(Fields(texts, files)),
            Err(error) => {
                let (status, message) = match error.for_page() {
                    Some((status, _, message)) => (status, message),
                    None => (axum::http::StatusCode::BAD_REQUEST, "the form could not be read".to_owned()),
                };
                let hint = format!("{message}. Go back: your text is still in the reply box.");
                Err(crate::workspace::page::message_page(status, "The files could not be sent", &hint))
            }
        }
    }

    /// The files sent with the form (multipart only), taken out of it.
    pub fn take_files(&mut self) -> Vec<rapport_store::NewAttachment> {
        std::mem::take(&mut self.1)
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(key, _)| key == name).map_or("", |(_, value)| value.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
    }
}

/// What a request from another site is told.
const ANOTHER_SITE: &str = "This request came from another site and was refused.";

/// Refuses a request whose `Origin` (else `Referer`) is not this site: the
/// configured public address, or the host the browser asked for.
pub(crate) fn same_origin(headers: &HeaderMap, config: &ServerConfig) -> Result<(), &'static str> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|value| value.to_str().ok());
    let claimed = match (text(header::ORIGIN), text(header::REFERER)) {
        (Some(origin), _) if origin != "null" => origin.to_owned(),
        (_, Some(referer)) => referer.to_owned(),
        _ => return Err("This request did not say which page sent it. Reload the page and try again."),
    };
    let authority = |url: &str| -> Option<String> {
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
        Some(rest.split(['/', '?', '#']).next().unwrap_or("").to_ascii_lowercase())
    };
    let Some(from) = authority(&claimed) else {
        return Err(ANOTHER_SITE);
    };
    let host = text(header::HOST).map(str::to_ascii_lowercase);
    let public = authority(&config.portal.public_url);
    if Some(&from) == host.as_ref() || Some(&from) == public.as_ref() { Ok(()) } else { Err(ANOTHER_SITE) }
}

/// The CSRF token of the session with this secret.
fn csrf_token(secret: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"rapport workspace csrf\0");
    digest.update(secret.as_bytes());
    hex::encode(digest.finalize())
}

/// Compares two tokens in time that does not depend on where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

/// The session secret from the request's cookies, if it has a well-formed one.
pub fn session_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == HOST_COOKIE || *name == PLAIN_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| well_formed(value))
}

/// True when cookies must be `Secure`: the public address is https, or a
/// trusted proxy says the request arrived over https.
pub fn secure(headers: &HeaderMap, config: &ServerConfig) -> bool {
    let forwarded_https = config.portal.trust_forwarded_for
        && headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    config.portal.public_url.starts_with("https://") || forwarded_https
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(secret: &str, secure: bool) -> HeaderValue {
    cookie(secret, SESSION_DAYS * DAY / 1000, secure)
}

/// The `Set-Cookie` value that ends a session.
pub fn expired_cookie(secure: bool) -> HeaderValue {
    cookie("", 0, secure)
}

fn cookie(secret: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let text = if secure {
        format!("{HOST_COOKIE}={secret}; Path=/; Max-Age={max_age_seconds}; HttpOnly; Secure; SameSite=Lax")
    } else {
        format!("{PLAIN_COOKIE}={secret}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax")
    };
    // The secret is base64url, so the value is always a valid header.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("rapport_desk=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_our_own_origin_may_post() {
        let config = ServerConfig::default();
        let ours = headers(&[("host", "desk.example:8080"), ("origin", "http://desk.example:8080")]);
        assert!(same_origin(&ours, &config).is_ok());
        let public = headers(&[("host", "10.0.0.5"), ("origin", "http://127.0.0.1:8080")]);
        assert!(same_origin(&public, &config).is_ok(), "the configured public address");
        let referer = headers(&[("host", "desk.example"), ("referer", "https://desk.example/desk/tickets/3")]);
        assert!(same_origin(&referer, &config).is_ok());
        for hostile in [
            headers(&[("host", "desk.example"), ("origin", "https://evil.example")]),
            headers(&[("host", "desk.example"), ("origin", "https://desk.example.evil.example")]),
            headers(&[("host", "desk.example"), ("origin", "null")]),
            headers(&[("host", "desk.example"), ("referer", "javascript:alert(1)")]),
            headers(&[("host", "desk.example")]),
        ] {
            assert!(same_origin(&hostile, &config).is_err(), "{hostile:?}");
        }
    }

    #[test]
    fn the_csrf_token_follows_the_session_and_compares_whole() {
        let (one, _) = new_secret();
        let (two, _) = new_secret();
        assert_eq!(csrf_token(&one), csrf_token(&one));
        assert_ne!(csrf_token(&one), csrf_token(&two));
        let token = csrf_token(&one);
        assert!(same_secret(&token, &token));
        assert!(!same_secret(&token[..10], &token));
        assert!(!same_secret("", &token));
    }

    #[test]
    fn cookies_are_host_only_and_secure_over_https() {
        let (secret, _) = new_secret();
        let plain = session_cookie(&secret, false);
        let plain = plain.to_str().unwrap();
        assert!(plain.starts_with("rapport_desk=") && plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
        let tls = session_cookie(&secret, true);
        let tls = tls.to_str().unwrap();
        assert!(tls.starts_with("__Host-rapport_desk=") && tls.contains("; Secure") && tls.contains("Path=/;"));
        let mut map = HeaderMap::new();
        map.insert(header::COOKIE, HeaderValue::from_str(&format!("x=1; __Host-rapport_desk={secret}")).unwrap());
        assert_eq!(session_secret(&map), Some(secret));
        map.insert(header::COOKIE, HeaderValue::from_static("rapport_desk=short"));
        assert_eq!(session_secret(&map), None);
    }
}
