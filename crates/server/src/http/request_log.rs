//! One debug line per request, under this crate's name (so
//! `RUST_LOG=rapport_server=debug` shows it): the method, the route's template
//! (`/api/v1/tickets/{id}`, never the path as sent, so neither ids nor a query
//! string with a token reach the log), the status and the time taken.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Logs the request once its response is ready.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
    let response = next.run(request).await;
    let route = route.as_deref().unwrap_or("(no route)");
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::debug!(target: "rapport_server::request", %method, route, status, ms = format!("{ms:.1}"), "request");
    response
}
