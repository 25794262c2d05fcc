//! Live chat: the embeddable widget (`GET /widget.js`), a demo page
//! (`GET /chat/demo`), the visitor's WebSocket (`GET /chat/ws`) and the
//! agents' WebSocket (`GET /chat/agent/ws`). The protocol (frame types,
//! acknowledgments, resume) is `rapport_core::chat`; docs/channels.md
//! describes it for integrators.
//!
//! One [`Hub`] per server holds who is connected, the queue and the
//! assignments, in memory behind one mutex that is never held across an
//! await: each connection is one task that stores first, then asks the hub
//! whom to tell, and the hub hands pre-serialised frames to the other
//! connections' bounded channels without waiting. A connection too slow to
//! drain its channel is dropped and resumes from the transcript when it
//! reconnects, so a slow client never holds up the others. A chat is on one
//! instance's hub: run one instance for chat, or route `/chat/` stickily.

mod agent;
pub mod hub;
mod state;
mod visitor;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json};
use serde::Deserialize;

use rapport_core::chat::{Party, TranscriptLine};
use rapport_store::{OutboxItem, SendOutcome};

use crate::connections::Refusal;
use crate::http::auth::hash_token;
use crate::http::error::ApiError;
use crate::settings::ChatSettings;
use crate::state::AppState;

pub use agent::AgentAccess;
use hub::Hub;

/// The widget, served as is (no build step).
const WIDGET_JS: &str = include_str!("../../assets/widget.js");

/// The subprotocol an agent's client offers next to `bearer.<token>`; the
/// server selects it, so the token is never echoed back.
pub const AGENT_PROTOCOL: &str = "rapport-agent";

/// The prefix of the subprotocol that carries an agent's API token.
pub const BEARER_PROTOCOL_PREFIX: &str = "bearer.";

/// Frames larger than this are refused (a chat message is at most 64 KiB of text).
const MAX_FRAME_BYTES: usize = 96 * 1024;

/// The chat routes; empty when chat is disabled.
pub fn router(settings: &ChatSettings, hub: Hub) -> Router<AppState> {
    if !settings.enabled {
        return Router::new();
    }
    Router::new()
        .route("/widget.js", get(widget))
        .route("/chat/demo", get(demo))
        .route("/chat/ws", get(visitor_socket))
        .route("/chat/agent/ws", get(agent_socket))
        .layer(Extension(hub))
}

/// The variables the widget fills into its words itself.
const WIDGET_VARIABLES: [&str; 6] = ["phone", "position", "minutes", "agent", "email", "ticket"];

/// `GET /widget.js`: the widget with its words in the language of the
/// browser's `Accept-Language` (English when Rapport has no catalog for it).
async fn widget(headers: axum::http::HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok());
    let words = rapport_catalog::Words::negotiate(None, accept);
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::VARY, "Accept-Language"),
        ],
        widget_source(&words),
    )
        .into_response()
}

/// The widget's script with `words` in place of its empty word list.
fn widget_source(words: &rapport_catalog::Words) -> String {
    let map: serde_json::Map<String, serde_json::Value> = words
        .templates("widget-", &WIDGET_VARIABLES)
        .into_iter()
        .map(|(key, text)| (key, serde_json::Value::String(text)))
        .collect();
    // serde_json escapes quotes and control characters; `<` is escaped too so
    // that no word can close a `<script>` element the widget is inlined in.
    let json = serde_json::Value::Object(map).to_string().replace('<', "\\u003c");
    WIDGET_JS.replacen("{} /* words */", &json, 1)
}

async fn demo() -> Response {
    let page = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
        <title>Rapport live chat demo</title></head>\
        <body style=\"font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem\">\
        <h1>Live chat demo</h1>\
        <p>This page embeds the chat widget exactly as a website would:</p>\
        <pre><code>&lt;script src=\"https://HOST/widget.js\" async&gt;&lt;/script&gt;</code></pre>\
        <p>Open the button at the bottom right to talk to the agents online.</p>\
        <script src=\"/widget.js\" async></script></body></html>";
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// `GET /chat/ws`: a visitor's socket, from an allowed origin. New
/// conversations count against the web form's per-address limit, so a flood
/// of visitors from one address cannot open tickets without end.
async fn visitor_socket(
    Extension(hub): Extension<Hub>,
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&state.config.chat.allowed_origins, &headers) {
        let body = serde_json::json!({"error": {
            "code": "origin_not_allowed",
            "message": "this page's origin may not open the chat; add it to [chat] allowed_origins",
            "field": null,
        }});
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    let peer = peer.map(|Extension(ConnectInfo(address))| address.ip());
    let client = crate::connections::client_address_of(&headers, peer, state.config.portal.trust_forwarded_for);
    let permit = match state.occupancy.enter_websocket(client.clone()) {
        Ok(permit) => permit,
        Err(refusal) => return too_many_sockets(refusal),
    };
    let limit = visitor::NewChatLimit { key: format!("form:ip:{client}"), per_hour: state.config.portal.limit_per_ip };
    sized(upgrade).on_upgrade(move |socket| async move {
        visitor::run(socket, hub, limit).await;
        drop(permit);
    })
}

/// The answer to a WebSocket over its cap: 429, the one error shape, and when to retry.
fn too_many_sockets(refusal: Refusal) -> Response {
    let message = match refusal {
        Refusal::PerAddress(cap) => format!("this address has {cap} chat connections open already, the most it may"),
        Refusal::Total(cap) => format!("the server has {cap} chat connections open, the most it takes"),
    };
    let body = serde_json::json!({"error": {"code": "too_many_connections", "message": message, "field": null}});
    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "10")], Json(body)).into_response()
}

/// The `token` query parameter of the agent socket.
#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// `GET /chat/agent/ws`: an agent's socket, authenticated by their API token
/// (`Sec-WebSocket-Protocol: rapport-agent, bearer.<token>`, or `?token=`).
async fn agent_socket(
    Extension(hub): Extension<Hub>,
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let from_protocol = upgrade
        .requested_protocols()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.trim().strip_prefix(BEARER_PROTOCOL_PREFIX).map(str::to_owned));
    let secret = from_protocol.or(query.token).filter(|secret| !secret.is_empty() && secret.len() <= 256).ok_or(
        ApiError::Unauthorized("send an API token as the subprotocol bearer.<token> or the token query parameter"),
    )?;
    let token_hash = hash_token(&secret);
    let agent = state
        .store
        .find_agent_by_token(&token_hash)
        .await?
        .filter(|agent| agent.active)
        .ok_or(ApiError::Unauthorized("the token is unknown or revoked"))?;
    let mut upgrade = upgrade;
    if upgrade.requested_protocols().any(|value| value.as_bytes() == AGENT_PROTOCOL.as_bytes()) {
        upgrade.set_selected_protocol(HeaderValue::from_static(AGENT_PROTOCOL));
    }
    let peer = peer.map(|Extension(ConnectInfo(address))| address.ip());
    serve_agent(&state, hub, upgrade, &headers, peer, agent, AgentAccess::Token(token_hash)).await
}

/// Upgrades an authenticated agent's request to the agents' chat protocol:
/// the API's socket (`/chat/agent/ws`, by token) and the workspace's chat
/// console (by session) are the same connection to the same hub.
pub async fn serve_agent(
    state: &AppState,
    hub: Hub,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
    agent: rapport_core::Agent,
    access: AgentAccess,
) -> Result<Response, ApiError> {
    let capacity = chat_capacity(state, agent.id).await?;
    let client = crate::connections::client_address_of(headers, peer, state.config.portal.trust_forwarded_for);
    let permit = match state.occupancy.enter_websocket(client) {
        Ok(permit) => permit,
        Err(refusal) => return Ok(too_many_sockets(refusal)),
    };
    Ok(sized(upgrade).on_upgrade(move |socket| async move {
        agent::run(socket, hub, agent, access, capacity).await;
        drop(permit);
    }))
}

/// How many chats `agent` takes at once: their own setting, else the default.
pub async fn chat_capacity(state: &AppState, agent: rapport_core::AgentId) -> Result<usize, ApiError> {
    Ok(match state.store.find_chat_capacity(agent).await? {
        Some(capacity) => usize::try_from(capacity).unwrap_or(0),
        None => state.config.chat.default_capacity,
    })
}

/// The outbox's chat arm: a public reply typed elsewhere (the REST API) on
/// a chat ticket goes to the visitor's socket and the agent who has the chat.
/// It counts as sent once handed over, or at once when the visitor is away:
/// the transcript replay shows it when they come back, so nothing is lost.
pub fn deliver(hub: &Hub, item: &OutboxItem) -> SendOutcome {
    let (Some(ticket), Some(message)) = (item.ticket, item.message) else {
        return SendOutcome::Failed("a chat reply belongs to a ticket message".to_owned());
    };
    let from = if item.payload.author_name.is_some() { Party::Agent } else { Party::System };
    let line = TranscriptLine {
        id: message,
        from,
        name: item.payload.author_name.clone(),
        text: item.payload.text.clone(),
        at: hub.now(),
    };
    hub.deliver_reply(ticket, line);
    SendOutcome::Sent
}

/// Small buffers per connection: chat frames are small and there are many sockets.
fn sized(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
}

/// True when the page's `Origin` may open the visitor socket (see
/// [`ChatSettings::allowed_origins`]).
fn origin_allowed(allowed: &[String], headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let origin = origin.trim().trim_end_matches('/');
    if allowed.is_empty() {
        // Our own pages: the origin's host is the host the request came to.
        let host = headers.get(header::HOST).and_then(|host| host.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        return !host.is_empty() && origin_host.eq_ignore_ascii_case(host);
    }
    allowed.iter().any(|entry| {
        let entry = entry.trim().trim_end_matches('/');
        entry == "*" || entry.eq_ignore_ascii_case(origin)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn origins_are_checked() {
        let none: Vec<String> = Vec::new();
        assert!(origin_allowed(&none, &headers(None, "help.example.com")));
        assert!(origin_allowed(&none, &headers(Some("https://help.example.com"), "help.example.com")));
        assert!(!origin_allowed(&none, &headers(Some("https://evil.example"), "help.example.com")));
        let shop = vec!["https://shop.example.com/".to_owned()];
        assert!(origin_allowed(&shop, &headers(Some("https://SHOP.example.com"), "help.example.com")));
        assert!(!origin_allowed(&shop, &headers(Some("http://shop.example.com"), "help.example.com")));
        assert!(origin_allowed(&["*".to_owned()], &headers(Some("https://any.example"), "help.example.com")));
    }
}
