//! Signing in and out. Email and password (argon2id); the session id is new
//! at every sign-in; failed attempts are throttled per account and per
//! client address in the database (so every instance counts together); and
//! an unknown email costs the same password check as a known one, so neither
//! the answer nor its timing says who has an account.

use std::sync::LazyLock;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_core::time::DAY;
use rapport_core::{Identity, Timestamp};
use rapport_store::{NewAgentSession, RateCheck};
use serde::Deserialize;

use crate::http::auth::{hash_password, verify_password};
use crate::state::AppState;
use crate::workspace::assets::STYLE;
use crate::workspace::frame::{theme, theme_cookie};
use crate::workspace::page::{PageError, render};
use crate::workspace::session::{
    DeskForm, SESSION_DAYS, SignInForm, expired_cookie, hash_secret, new_secret, secure, session_cookie, session_secret,
};

/// Failed sign-ins allowed per account in [`WINDOW_MS`].
const PER_ACCOUNT: i64 = 5;
/// Sign-in attempts allowed per client address in [`WINDOW_MS`].
const PER_ADDRESS: i64 = 30;
/// The throttling window: 15 minutes.
const WINDOW_MS: i64 = 15 * 60 * 1000;
/// What a refused sign-in says, whatever was wrong.
const NO_MATCH: &str = "That email and password do not match an active agent. Check both and try again.";

/// A hash to check a password against when the email is unknown, so that
/// the answer takes as long as for a known one.
static DECOY: LazyLock<String> = LazyLock::new(|| hash_password("rapport decoy password").unwrap_or_default());

#[derive(Template)]
#[template(path = "workspace/sign_in.html")]
struct SignInPage<'a> {
    style: String,
    theme: &'static str,
    email: &'a str,
    next: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    password_set: Option<String>,
}

/// `GET /`: the desk for a signed-in agent, else the sign-in page.
pub async fn root(State(state): State<AppState>, headers: HeaderMap) -> Result<Redirect, PageError> {
    if let Some(secret) = session_secret(&headers)
        && state.store.find_agent_by_session(&hash_secret(&secret), state.now()).await?.is_some()
    {
        return Ok(Redirect::to("/desk"));
    }
    Ok(Redirect::to("/sign-in"))
}

/// `GET /sign-in`.
pub async fn sign_in_page(headers: HeaderMap, Query(query): Query<SignInQuery>) -> Response {
    let notice = if query.password_set.is_some() {
        Some("Your password is saved. Sign in with it.")
    } else {
        query.signed_out.is_some().then_some("You are signed out.")
    };
    let page = SignInPage {
        style: STYLE.href(),
        theme: theme(&headers),
        email: "",
        next: safe_next(&query.next),
        error: None,
        notice,
    };
    render(StatusCode::OK, &page)
}

/// Only a path on this site may follow a sign-in, never another site.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if local { next } else { "/desk" }
}

/// `POST /sign-in`.
pub async fn sign_in(State(state): State<AppState>, form: SignInForm) -> Result<Response, PageError> {
    let now = state.now();
    let typed = form.fields.get("email").trim().to_owned();
    let password = form.fields.get("password").to_owned();
    let next = safe_next(form.fields.get("next")).to_owned();
    let page = |status: StatusCode, error: &str| {
        let page = SignInPage {
            style: STYLE.href(),
            theme: theme(&form.headers),
            email: &typed,
            next: &next,
            error: Some(error),
            notice: None,
        };
        render(status, &page)
    };
    let email = Identity::email(&typed).map(|identity| identity.value).unwrap_or_else(|_| typed.to_lowercase());
    let address =
        crate::connections::client_address_of(&form.headers, form.peer, state.config.portal.trust_forwarded_for);
    let account_key = format!("sign-in:account:{email}");
    for (key, limit) in [(format!("sign-in:address:{address}"), PER_ADDRESS), (account_key.clone(), PER_ACCOUNT)] {
        if let RateCheck::Limited { retry_at } = state.store.count_attempt(key, WINDOW_MS, limit, now).await? {
            return Ok(throttled(page, retry_at, now));
        }
    }
    let agent = state.store.find_agent_by_email(&email).await?.filter(|agent| agent.active);
    let stored = match &agent {
        Some(agent) => state.store.find_password_hash(agent.id).await?,
        None => None,
    };
    let matched = check_password(password, stored).await?;
    let Some(agent) = agent.filter(|_| matched) else {
        tracing::info!("workspace: sign-in refused");
        return Ok(page(StatusCode::UNAUTHORIZED, NO_MATCH));
    };
    state.store.reset_attempts(account_key).await?;
    let (secret, token_hash) = new_secret();
    let replaces = session_secret(&form.headers).map(|old| hash_secret(&old));
    let session = NewAgentSession {
        agent: agent.id,
        token_hash,
        replaces,
        now,
        expires_at: Timestamp(now.0.saturating_add(SESSION_DAYS * DAY)),
    };
    state.store.begin_agent_session(session).await?;
    tracing::info!(agent = agent.id.0, "workspace: signed in");
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(header::SET_COOKIE, session_cookie(&secret, secure(&form.headers, &state.config)));
    Ok(response)
}

/// Checks the password against the stored hash, or against the decoy when
/// there is none, off the async threads (argon2id is slow on purpose).
async fn check_password(password: String, stored: Option<String>) -> Result<bool, PageError> {
    tokio::task::spawn_blocking(move || match stored {
        Some(phc) => verify_password(&password, &phc),
        None => {
            let _ = verify_password(&password, &DECOY);
            false
        }
    })
    .await
    .map_err(|error| PageError(anyhow::anyhow!("checking a password: {error}")))
}

/// 429 with `Retry-After`, on the sign-in page.
fn throttled(page: impl Fn(StatusCode, &str) -> Response, retry_at: Timestamp, now: Timestamp) -> Response {
    let seconds = ((retry_at.0 - now.0).max(0) + 999) / 1000;
    let minutes = (seconds + 59) / 60;
    let text = format!(
        "Too many sign-in attempts. Wait {minutes} minute{} and try again, or ask an admin to reset your password.",
        if minutes == 1 { "" } else { "s" }
    );
    let mut response = page(StatusCode::TOO_MANY_REQUESTS, &text);
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `POST /sign-out`: ends the session everywhere (it is a database row) and
/// clears the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: DeskForm,
) -> Result<Response, PageError> {
    state.store.end_agent_session(form.desk.session_hash.clone()).await?;
    tracing::info!(agent = form.desk.agent.id.0, "workspace: signed out");
    let mut response = Redirect::to("/sign-in?signed_out=1").into_response();
    response.headers_mut().append(header::SET_COOKIE, expired_cookie(secure(&headers, &state.config)));
    Ok(response)
}

/// `POST /desk/theme`: remembers light, dark or the system's theme on this browser.
pub async fn set_theme(headers: HeaderMap, form: DeskForm) -> Response {
    let back = headers
        .get(header::REFERER)
        .and_then(|value| value.to_str().ok())
        .and_then(|referer| referer.find("/desk").map(|at| referer[at..].to_owned()))
        .unwrap_or_else(|| "/desk".to_owned());
    let mut response = Redirect::to(safe_next(&back)).into_response();
    if let Ok(value) = HeaderValue::from_str(&theme_cookie(form.fields.get("theme"))) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_follow_a_sign_in() {
        assert_eq!(safe_next("/desk/tickets/4"), "/desk/tickets/4");
        for hostile in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "", "desk"] {
            assert_eq!(safe_next(hostile), "/desk", "{hostile}");
        }
    }
}
