//! One agent's connection: the chats the desk gives them (each with its
//! transcript), their messages (stored as public replies, acknowledged, shown
//! to the visitor), typing and ending chats. When the connection ends, the
//! agent's chats wait again for the next free agent.

use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use rapport_core::chat::agent_external_id;
use rapport_core::chat::{AgentEvent, AgentRequest, ChatId, ChatState, ClientMessageId, Party, TranscriptLine};
use rapport_core::{Agent, Timestamp};
use tokio::sync::mpsc;

use super::hub::{Frame, Hub, encode};

/// Frames waiting for a slow agent client before the connection is dropped.
const OUTLET_CAPACITY: usize = 4096;

/// How often an open connection checks that its token still works and its
/// agent is still active (revoked or deactivated on any instance, from the
/// API or the command line): the socket closes within this much.
const ACCESS_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// What an agent's connection signed in with, checked again every second.
#[derive(Debug, Clone)]
pub enum AgentAccess {
    /// An API token (its SHA-256): a program's or the chat API's client.
    Token(String),
    /// A workspace session (its stored hash): the chat console in the browser.
    Session(String),
}

/// Runs one agent's connection to its end.
pub(crate) async fn run(mut socket: WebSocket, hub: Hub, agent: Agent, access_by: AgentAccess, capacity: usize) {
    let (outlet, mut inlet) = mpsc::channel::<Frame>(OUTLET_CAPACITY);
    let (connection, assigned) = hub.agent_connected(agent.id, agent.name.clone(), capacity, outlet);
    hub.carry_out(assigned).await;
    let ping_every = hub.settings().ping_interval;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut heard = Instant::now();
    let mut access = tokio::time::interval_at(tokio::time::Instant::now() + ACCESS_CHECK, ACCESS_CHECK);
    // A busy moment delays the next check; it never makes several run at once.
    access.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            received = socket.recv() => {
                let Some(Ok(message)) = received else { break };
                heard = Instant::now();
                match message {
                    Message::Text(text) if handle(&mut socket, &hub, &agent, text.as_str()).await.is_err() => break,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            frame = inlet.recv() => {
                let Some(frame) = frame else { break };
                if socket.send(Message::Text(frame.text)).await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > ping_every * 2 || socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            _ = access.tick() => {
                if !still_allowed(&hub, &access_by).await {
                    let close = CloseFrame { code: close_code::POLICY, reason: "access revoked".into() };
                    let _ = socket.send(Message::Close(Some(close))).await;
                    break;
                }
            }
        }
    }
    let (handed_back, assigned) = hub.agent_disconnected(agent.id, connection);
    for chat in handed_back {
        if let Err(error) = hub.store().update_chat_state(chat, ChatState::Queued, None, hub.now()).await {
            tracing::warn!(%error, chat = chat.0, "recording a chat waiting again");
        }
    }
    hub.carry_out(assigned).await;
}

/// Whether the connection's token or session still works and its agent is
/// active. A database that does not answer for a moment keeps the connection.
async fn still_allowed(hub: &Hub, access: &AgentAccess) -> bool {
    let found = match access {
        AgentAccess::Token(hash) => hub.store().find_agent_by_token(hash).await,
        AgentAccess::Session(hash) => hub.store().find_agent_by_session(hash, hub.now()).await,
    };
    match found {
        Ok(found) => found.is_some_and(|agent| agent.active),
        Err(error) => {
            tracing::warn!(%error, "checking an agent socket's token; keeping it open");
            true
        }
    }
}

/// Handles one frame; `Err` ends the connection.
async fn handle(socket: &mut WebSocket, hub: &Hub, agent: &Agent, text: &str) -> Result<(), ()> {
    let request = match serde_json::from_str::<AgentRequest>(text) {
        Ok(request) => request,
        Err(error) => return error_frame(socket, "malformed_frame", &error.to_string()).await,
    };
    match request {
        AgentRequest::Message { chat, client_id, text } => message(socket, hub, agent, chat, client_id, text).await,
        AgentRequest::Typing { chat, typing } => {
            if hub.ticket_held_by(agent.id, chat).is_some() {
                hub.agent_typing(chat, typing);
            }
            Ok(())
        }
        AgentRequest::Away { away } => {
            let assigned = hub.agent_away(agent.id, away);
            hub.carry_out(assigned).await;
            Ok(())
        }
        AgentRequest::End { chat } => {
            if hub.ticket_held_by(agent.id, chat).is_none() {
                return not_yours(socket, chat).await;
            }
            let (_, assigned) = hub.end_chat(chat);
            if let Err(error) = hub.store().update_chat_state(chat, ChatState::Ended, None, hub.now()).await {
                tracing::warn!(%error, chat = chat.0, "recording a chat's end");
            }
            hub.carry_out(assigned).await;
            Ok(())
        }
    }
}

/// Stores an agent's message, shows it to the visitor, acknowledges it.
async fn message(
    socket: &mut WebSocket,
    hub: &Hub,
    agent: &Agent,
    chat: ChatId,
    client_id: ClientMessageId,
    text: String,
) -> Result<(), ()> {
    if let Err(error) = rapport_core::message::check_text(&text) {
        return error_frame(socket, "invalid_message", &format!("text {error}")).await;
    }
    let Some(ticket) = hub.ticket_held_by(agent.id, chat) else { return not_yours(socket, chat).await };
    let at: Timestamp = hub.now();
    let external_id = agent_external_id(agent.id, &client_id);
    let reply = match hub.store().add_chat_reply(chat, ticket, agent.id, external_id, text.clone(), at).await {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(%error, chat = chat.0, "storing an agent's chat message");
            return error_frame(socket, "not_stored", "the message could not be stored; send it again").await;
        }
    };
    if !reply.duplicate {
        let line = TranscriptLine { id: reply.message, from: Party::Agent, name: Some(agent.name.clone()), text, at };
        hub.agent_line(chat, line);
    }
    let ack = AgentEvent::Ack { client_id, message_id: reply.message, duplicate: reply.duplicate };
    socket.send(Message::Text(encode(&ack, None).text)).await.map_err(|_| ())
}

async fn not_yours(socket: &mut WebSocket, chat: ChatId) -> Result<(), ()> {
    error_frame(socket, "not_your_chat", &format!("chat {chat} is not assigned to you")).await
}

/// Refuses one frame; the connection stays open.
async fn error_frame(socket: &mut WebSocket, code: &str, message: &str) -> Result<(), ()> {
    let event = AgentEvent::Error { code: code.to_owned(), message: message.to_owned() };
    socket.send(Message::Text(encode(&event, None).text)).await.map_err(|_| ())
}
