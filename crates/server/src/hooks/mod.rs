//! Inbound webhooks of messaging providers, under `/hooks/`. Each checks its
//! provider's signature over the raw body before reading it (a bad one is 401
//! and stores nothing), files the message through the shared intake (a
//! provider's retry of the same message is filed once), and answers 200 once
//! the message is stored, so the provider stops retrying only then.
//!
//! One module per provider, with its routes and its way out for the outbox
//! worker; its settings (a section of the configuration file) are in
//! `settings`.

pub mod messenger;
pub mod telegram;
pub mod twilio;
pub mod whatsapp;

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Every provider's routes, each delivery's outcome recorded for the
/// admin's Channels page.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(telegram::router())
        .merge(whatsapp::router())
        .merge(messenger::router())
        .merge(twilio::router())
        .layer(axum::middleware::from_fn_with_state(state, record_check))
}

/// How often one instance records a source's check: a busy webhook adds at
/// most one write a minute, and a flood of forged deliveries no more.
const RECORD_EVERY: Duration = Duration::from_secs(60);

/// The source (`whatsapp`, `twilio`...) and channel of a webhook path.
fn source_of(path: &str) -> Option<(&'static str, &'static str)> {
    let provider = path.strip_prefix("/hooks/")?.split('/').next()?;
    Some(match provider {
        "whatsapp" => ("whatsapp", "whatsapp"),
        "telegram" => ("telegram", "telegram"),
        "messenger" => ("messenger", "messenger"),
        "twilio" => ("twilio", "sms"),
        _ => return None,
    })
}

/// What a refused or failed delivery says on the Channels page.
fn failure(status: StatusCode) -> Option<String> {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Some(format!("a delivery was refused ({status}): its signature or secret did not match the configuration"))
        }
        StatusCode::NOT_FOUND => Some("a delivery arrived for a provider that is not configured".to_owned()),
        status if status.is_server_error() => Some(format!("a delivery could not be stored ({status})")),
        _ => None,
    }
}

/// Records a delivery's outcome (at most once a minute per source, outcome
/// and instance), after answering: the provider never waits for it.
async fn record_check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let source = source_of(request.uri().path());
    let response = next.run(request).await;
    let Some((source, channel)) = source else { return response };
    let status = response.status();
    let error = failure(status);
    if !status.is_success() && error.is_none() {
        return response;
    }
    let key = (source, error.is_none());
    let due = {
        let mut recorded = state.recorded_checks.lock().unwrap_or_else(PoisonError::into_inner);
        let due = recorded.get(&key).is_none_or(|at| at.elapsed() >= RECORD_EVERY);
        if due {
            recorded.insert(key, Instant::now());
        }
        due
    };
    if due {
        let now = state.now();
        tokio::spawn(async move {
            let recorded = match error {
                None => state.store.record_channel_ok(source, channel, now).await,
                Some(error) => state.store.record_channel_error(source, channel, &error, now).await,
            };
            if let Err(error) = recorded {
                tracing::warn!(%error, source, "recording a webhook's check failed");
            }
        });
    }
    response
}
