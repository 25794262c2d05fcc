//! The live chat console (`/desk/chat`): the agent's chats side by side up
//! to their capacity, each with its transcript, typing both ways and an end
//! button; a new chat arrives offered and opens when the agent accepts it.
//! The page talks to the same chat hub and protocol as the API's agent
//! socket (`/chat/agent/ws`), signed in by the workspace session instead of
//! a token (`/desk/chat/live`). Being on this page is being online for chat;
//! the agent may step away (keeping their chats, offered no new ones).
//! Colleagues connected for chat are listed with their state.

use std::net::SocketAddr;

use askama::Template;
use axum::Extension;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::chat::hub::{ChatSeat, Hub};
use crate::chat::{AgentAccess, chat_capacity, serve_agent};
use crate::state::AppState;
use crate::workspace::assets::CONSOLE;
use crate::workspace::frame::{Current, Frame};
use crate::workspace::page::{PageError, refused, render};
use crate::workspace::session::{Desk, same_origin};

#[derive(Template)]
#[template(path = "workspace/chat.html")]
struct ChatPage {
    frame: Frame,
    enabled: bool,
    capacity: usize,
    waiting: usize,
    colleagues: Vec<ChatSeat>,
    console: String,
}

/// `GET /desk/chat`.
pub async fn chat_page(
    State(state): State<AppState>,
    Extension(hub): Extension<Hub>,
    desk: Desk,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let capacity = chat_capacity(&state, desk.agent.id).await?;
    let frame = Frame::build(&state, &desk, &headers, "Live chat".to_owned(), Current::Chat).await?;
    let colleagues = hub.roster().into_iter().filter(|seat| seat.agent != desk.agent.id).collect();
    let page = ChatPage {
        frame,
        enabled: state.config.chat.enabled,
        capacity,
        waiting: hub.waiting(),
        colleagues,
        console: CONSOLE.href(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /desk/chat/live`: the console's connection to the chat hub, for a
/// signed-in agent, from our own pages; it closes when the session ends.
pub async fn chat_socket(
    State(state): State<AppState>,
    Extension(hub): Extension<Hub>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    desk: Desk,
    upgrade: WebSocketUpgrade,
) -> Response {
    // A page of another site could open a socket with the agent's cookie: only our own pages may.
    if let Err(why) = same_origin(&headers, &state.config) {
        return refused(why);
    }
    if !state.config.chat.enabled {
        return (StatusCode::NOT_FOUND, "live chat is turned off ([chat] enabled = false)").into_response();
    }
    let peer = peer.map(|Extension(ConnectInfo(address))| address.ip());
    let access = AgentAccess::Session(desk.session_hash.clone());
    match serve_agent(&state, hub, upgrade, &headers, peer, desk.agent, access).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}
