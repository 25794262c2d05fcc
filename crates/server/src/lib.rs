//! Rapport's server: the JSON API, the provider webhooks, live chat, the
//! customers' help pages and the background workers, around one shared
//! [`AppState`].
//!
//! The tree says what each part is:
//!
//! - [`api`]: the JSON API under `/api/v1`, one module per resource, with its
//!   DTOs in [`api::dto`] and the OpenAPI document built from the handlers.
//! - [`hooks`]: the messaging providers' webhooks (Telegram, WhatsApp,
//!   Messenger and Instagram, Twilio) and their ways out.
//! - [`chat`]: the live-chat widget and its WebSockets.
//! - [`help`]: the customers' help pages (web form, magic links, their tickets).
//! - [`workspace`]: the agents' pages in the browser: sign-in, queues, tickets.
//! - [`admin`]: the admin pages, for supervisors and admins, on the workspace's foundation.
//! - [`workers`]: what runs beside the requests: the outbox, the service-level
//!   loop, the sweeper, and email intake.
//! - [`http`]: the plumbing they share: authentication, the defensive
//!   extractors (`body`, `params`, `merge_patch`), the one [`http::error::ApiError`],
//!   wire formats and the request log.
//! - [`connections`], [`state`] and [`settings`]: the listener and its caps,
//!   the shared state and clock, and the settings the binary validates.
//!
//! Dependencies point one way: the parts use `http`, `state` and `settings`,
//! never the other way round, and no two modules import each other. Business
//! rules live in `rapport_core`, SQL in `rapport_store`. This file only
//! assembles.

pub mod admin;
pub mod api;
pub mod chat;
pub mod connections;
pub mod help;
pub mod hooks;
pub mod http;
pub mod settings;
pub mod state;
pub mod workers;
pub mod workspace;

use std::any::Any;
use std::future::Future;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;

pub use settings::ServerConfig;
pub use state::{AppState, Clock};

use chat::hub::Hub;
use http::auth::TokenCache;
use http::error::ApiError;

/// The full router: `/healthz`, `/readyz`, `/api/v1/...`, `/api/v1/openapi.json`
/// and the customers' help pages under `/help`.
pub fn app(state: AppState) -> Router {
    let hub = Hub::new(state.store.clone(), state.clock.clone(), state.config.chat.clone());
    app_with_chat(state, hub, workspace::live::Live::new())
}

/// [`app`] around a given live-chat hub (the one the outbox worker delivers
/// chat replies to) and the workspace's live hub (the one the change feed feeds).
fn app_with_chat(state: AppState, hub: Hub, live: workspace::live::Live) -> Router {
    let (router, document) = api::openapi::api_router().split_for_parts();
    let document = match serde_json::to_vec(&document) {
        Ok(json) => Bytes::from(json),
        Err(error) => {
            tracing::error!(%error, "serialising the OpenAPI document");
            Bytes::new()
        }
    };
    let serve_document = move || {
        let document = document.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], document) }
    };
    router
        .route("/api/v1/openapi.json", get(serve_document))
        .merge(help::router(&state.config))
        .merge(workspace::router())
        .merge(admin::router())
        .merge(hooks::router(state.clone()))
        .merge(chat::router(&state.config.chat, hub.clone()))
        .fallback(|| async { ApiError::NotFound("no such path".to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(Extension(TokenCache::default()))
        .layer(Extension(live))
        // The workspace's chat console talks to the same hub as `/chat/agent/ws`.
        .layer(Extension(hub))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(http::request_log::log_request))
        .with_state(state)
}

/// The OpenAPI document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::openapi::api_router().into_openapi()
}

/// A panic in a handler becomes the same opaque 500 as any internal error.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a handler panicked".to_owned());
    ApiError::Internal(anyhow::anyhow!("handler panicked: {what}")).into_response()
}

/// Serves until `shutdown` resolves, with the background [`workers`]
/// (outbox, service levels, the auto-close sweeper) beside it.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop, stopped) = watch::channel(false);
    // A database that never had SLA policies gets the shipped ones.
    let installed =
        state.store.install_default_policies(state.now()).await.context("installing the default SLA policies")?;
    if installed > 0 {
        tracing::info!(installed, "installed the default SLA policies");
    }
    let hub = Hub::new(state.store.clone(), state.clock.clone(), state.config.chat.clone());
    let live = workspace::live::Live::new();
    tokio::spawn(workspace::live::follow(state.store.clone(), live.clone(), stopped.clone()));
    let workers = workers::start(&state, &hub, stopped)?;
    let signal = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let occupancy = state.occupancy.clone();
    connections::serve(listener, app_with_chat(state, hub, live), occupancy, signal).await;
    workers.join().await;
    Ok(())
}
