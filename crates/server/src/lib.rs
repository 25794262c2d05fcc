//! Rapport's HTTP API: the axum router, its handlers and DTOs, the one
//! [`error::ApiError`], token authentication, and the OpenAPI document.
//!
//! One module per resource (`tickets`, `customers`, `organizations`, `teams`,
//! `agents`, `search`, `health`), each exposing a `router()` whose handlers
//! carry their own OpenAPI description. Handlers parse, call the store, and
//! respond; business rules live in `rapport_core`, SQL in `rapport_store`.
//! Input is read defensively by hand-written extractors ([`body`], `params`,
//! `merge_patch`) so that every refusal is a JSON error naming its field.

mod agents;
pub mod attachments;
pub mod auth;
pub mod automation;
pub mod body;
mod callbacks;
pub mod chat;
pub mod connections;
mod customers;
pub mod error;
pub mod health;
pub mod help;
pub mod hooks;
pub mod mail;
mod merge_patch;
mod openapi;
mod organizations;
pub mod outbox;
mod params;
mod problems;
mod request_log;
mod rules;
mod search;
mod service_levels;
mod teams;
mod tickets;
mod tokens;
mod wire;

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use rapport_core::Timestamp;
use rapport_core::time::DAY;
use rapport_store::Store;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;

use crate::auth::TokenCache;
use crate::error::ApiError;

/// How often solved tickets are checked for auto-closing.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The server's settings, validated by the binary's configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The largest request body accepted, in bytes (default 1 MiB).
    pub max_body_bytes: usize,
    /// The largest page a list returns (default 100).
    pub max_page_size: i64,
    /// How long after solving a ticket closes by itself, in ms (default 4 days).
    pub auto_close_after_ms: i64,
    /// Email in and out.
    pub mail: mail::MailSettings,
    /// The public help pages: web form, magic links, sessions.
    pub portal: help::PortalSettings,
    /// Live chat: the widget and its sockets.
    pub chat: chat::ChatSettings,
    /// Telegram, when configured.
    pub telegram: Option<hooks::TelegramSettings>,
    /// WhatsApp Cloud API, when configured.
    pub whatsapp: Option<hooks::WhatsappSettings>,
    /// Messenger and Instagram, when configured.
    pub messenger: Option<hooks::MessengerSettings>,
    /// Twilio (SMS and the phone), when configured.
    pub twilio: Option<hooks::TwilioSettings>,
    /// The service-level background loop.
    pub automation: automation::AutomationSettings,
    /// Header-read timeout and the caps on connections and WebSockets.
    pub connections: connections::ConnectionSettings,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1024 * 1024,
            max_page_size: 100,
            auto_close_after_ms: 4 * DAY,
            mail: mail::MailSettings::default(),
            portal: help::PortalSettings::default(),
            chat: chat::ChatSettings::default(),
            telegram: None,
            whatsapp: None,
            messenger: None,
            twilio: None,
            automation: automation::AutomationSettings::default(),
            connections: connections::ConnectionSettings::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The settings.
    pub config: Arc<ServerConfig>,
    /// Where "now" comes from: the system clock, or a clock tests move by hand.
    pub clock: Clock,
    /// The connections and WebSockets open now, against their caps.
    pub occupancy: Arc<connections::Occupancy>,
}

impl AppState {
    /// A state on the system clock.
    pub fn new(store: Store, config: ServerConfig) -> AppState {
        let occupancy = connections::Occupancy::new(config.connections.clone());
        AppState { store, config: Arc::new(config), clock: Clock::system(), occupancy }
    }

    /// Now, by this state's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The time source of the service-level machinery (clocks, timers, jobs) and
/// of ticket writes: the system clock in production, a hand-moved clock in
/// tests that must cross a due time without waiting hours.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<std::sync::atomic::AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands at `start` until moved.
    pub fn manual(start: Timestamp) -> Clock {
        Clock { manual: Some(Arc::new(std::sync::atomic::AtomicI64::new(start.0))) }
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        match &self.manual {
            Some(at) => Timestamp(at.load(std::sync::atomic::Ordering::SeqCst)),
            None => now(),
        }
    }

    /// Moves a manual clock to `to` (the system clock cannot be moved).
    pub fn set(&self, to: Timestamp) {
        if let Some(at) = &self.manual {
            at.store(to.0, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Moves a manual clock forward by `millis`.
    pub fn advance(&self, millis: i64) {
        if let Some(at) = &self.manual {
            at.fetch_add(millis, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// The full router: `/healthz`, `/readyz`, `/api/v1/...`, `/api/v1/openapi.json`
/// and the customers' help pages under `/help`.
pub fn app(state: AppState) -> Router {
    let hub = chat::Hub::new(state.store.clone(), state.config.chat.clone());
    app_with_chat(state, hub)
}

/// [`app`] around a given live-chat hub (the one the outbox worker delivers chat replies to).
fn app_with_chat(state: AppState, hub: chat::Hub) -> Router {
    let (router, document) = openapi::api_router().split_for_parts();
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
        .merge(hooks::router())
        .merge(chat::router(&state.config.chat, hub))
        .fallback(|| async { ApiError::NotFound("no such path".to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(Extension(TokenCache::default()))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(request_log::log_request))
        .with_state(state)
}

/// The OpenAPI document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::api_router().into_openapi()
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

/// Serves until `shutdown` resolves; also runs the auto-close sweeper (every
/// 60 s: `store.auto_close(config.auto_close_after_ms, now)`).
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
    let hub = chat::Hub::new(state.store.clone(), state.config.chat.clone());
    let smtp = match &state.config.mail.smtp_url {
        Some(url) => Some(rapport_channels::email::smtp::SmtpSender::from_url(url.expose()).context("email.smtp_url")?),
        None => None,
    };
    let telegram = state.config.telegram.as_ref().map(|telegram| {
        rapport_channels::telegram::TelegramSender::new(&telegram.api_base, telegram.bot_token.expose())
    });
    let whatsapp =
        state.config.whatsapp.as_ref().map(|settings| hooks::WhatsappOutbound::new(settings, state.store.clone()));
    let messenger =
        state.config.messenger.as_ref().map(|settings| hooks::MessengerOutbound::new(settings, state.store.clone()));
    let chat = state.config.chat.enabled.then(|| hub.clone());
    let sms = state.config.twilio.as_ref().map(hooks::TwilioOutbound::new);
    // The worker runs even when no channel can send: it marks what waits, and why.
    let senders = outbox::Senders { mail: state.config.mail.clone(), chat, smtp, telegram, whatsapp, messenger, sms };
    let sender = tokio::spawn(outbox::run(state.store.clone(), senders, stopped.clone()));
    // Chats that wait too long go to email; the task ends with the server.
    tokio::spawn(hub.clone().run_timers(stopped.clone()));
    let automation = tokio::spawn(automation::run(state.clone(), stopped.clone()));
    let sweeper = tokio::spawn(sweep(state.clone(), stopped));
    let signal = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let occupancy = state.occupancy.clone();
    connections::serve(listener, app_with_chat(state, hub), occupancy, signal).await;
    if let Err(error) = sweeper.await {
        tracing::warn!(%error, "the auto-close sweeper ended abnormally");
    }
    if let Err(error) = automation.await {
        tracing::warn!(%error, "the service-level automation ended abnormally");
    }
    if let Err(error) = sender.await {
        tracing::warn!(%error, "the outbox worker ended abnormally");
    }
    Ok(())
}

/// Closes solved tickets whose time has come, every [`SWEEP_EVERY`], until stopped.
async fn sweep(state: AppState, mut stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(SWEEP_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            // A send (shutdown) or a dropped sender (the server ended) both stop the sweeper.
            _ = stopped.changed() => return,
        }
        match state.store.auto_close(state.config.auto_close_after_ms, now()).await {
            Ok(0) => {}
            Ok(closed) => tracing::info!(closed, "auto-closed solved tickets"),
            Err(error) => tracing::warn!(%error, "auto-closing solved tickets"),
        }
        // Spent rate counters, expired magic links and help-page sessions.
        if let Err(error) = state.store.purge_portal(rapport_core::time::HOUR, now()).await {
            tracing::warn!(%error, "purging expired help-page records");
        }
    }
}

/// Now, from the system clock, in milliseconds.
pub fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}
