//! How the workspace answers: a rendered template, an error page a person
//! can act on, and the headers every page carries (a strict
//! Content-Security-Policy: no inline script or style, nothing from another
//! site, never framed).

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use rapport_store::StoreError;

use crate::workspace::assets::STYLE;

/// The policy of every workspace page: our own script, style, images and
/// sockets only; forms post only to us; no frames, plugins or base changes.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to a workspace response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show customers' data: no shared cache keeps them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Renders a template as a page with `status`.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => PageError(anyhow::Error::new(error).context("rendering a workspace page")).into_response(),
    }
}

/// A failure behind a page: logged with its cause, shown as an opaque error.
#[derive(Debug)]
pub struct PageError(pub anyhow::Error);

impl From<crate::http::error::ApiError> for PageError {
    fn from(error: crate::http::error::ApiError) -> PageError {
        PageError(anyhow::anyhow!("{error:?}"))
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> PageError {
        PageError(anyhow::Error::new(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        tracing::error!(error = ?self.0, "workspace page failed");
        message_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not show this page. Try again in a moment; if it keeps happening, tell your administrator (the cause is in the server's log).",
        )
    }
}

/// A request refused on its face (a form from another site, an expired
/// token): 403 with what to do.
pub fn refused(why: &str) -> Response {
    message_page(StatusCode::FORBIDDEN, "Request refused", why)
}

/// A page that says one thing, with a way back to the desk.
#[derive(Template)]
#[template(path = "workspace/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
    style: &'a str,
}

/// A page that says one thing, with a way back.
pub fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    let style = STYLE.href();
    match (MessagePage { title, text, style: &style }).render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering the message page");
            (status, format!("{title}: {text}")).into_response()
        }
    }
}
