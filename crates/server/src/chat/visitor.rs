//! One visitor's connection: `hello`, the replay of what they have not seen,
//! then their messages (stored through the intake, acknowledged, shown to the
//! agent), typing, the email address for answers, and the end of the chat.

use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use rapport_core::chat::{
    ChatState, ClientMessageId, Party, TranscriptLine, VisitorEvent, VisitorId, VisitorRequest, visitor_external_id,
};
use rapport_core::intake::{InboundMessage, RateLimit, summary_subject};
use rapport_core::time::HOUR;
use rapport_core::{Channel, Identity, MessageId};
use rapport_store::{CallbackSource, FileInbound, Filed, NewCallback, RateCheck};
use tokio::sync::mpsc;

use super::hub::{ChatView, Frame, Hub, encode};

/// How long a new connection has to say `hello`.
const HELLO_WITHIN: Duration = Duration::from_secs(10);
/// Frames waiting for a slow visitor before the connection is dropped.
const OUTLET_CAPACITY: usize = 64;
/// A visitor may send this many messages an hour before intake holds the rest
/// (the intake's per-sender rate limit; chat is chattier than email).
const MESSAGES_PER_HOUR: u32 = 3600;

/// The limit new conversations from the visitor's address count against
/// (the web form's: `form:ip:ADDRESS`, `[portal] limit_per_ip` an hour).
pub(crate) struct NewChatLimit {
    pub(crate) key: String,
    pub(crate) per_hour: i64,
}

/// Runs one visitor's connection to its end.
pub(crate) async fn run(mut socket: WebSocket, hub: Hub, limit: NewChatLimit) {
    let Some((visitor, last_seen, name)) = hello(&mut socket).await else { return };
    let (outlet, mut inlet) = mpsc::channel::<Frame>(OUTLET_CAPACITY);
    let (connection, known) = hub.visitor_connected(&visitor, outlet);
    let mut session = Session { hub: hub.clone(), visitor, name, chat: known, limit };
    if session.chat.is_none() {
        session.adopt().await;
    }
    let replayed = match session.welcome(&mut socket, last_seen).await {
        Ok(replayed) => replayed,
        Err(()) => {
            hub.visitor_disconnected(&session.visitor, connection);
            return;
        }
    };
    hub.announce(&session.visitor);
    let ping_every = hub.settings().ping_interval;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            received = socket.recv() => {
                let Some(Ok(message)) = received else { break };
                heard = Instant::now();
                match message {
                    Message::Text(text) if session.handle(&mut socket, text.as_str()).await.is_err() => break,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            frame = inlet.recv() => {
                let Some(frame) = frame else { break };
                if frame.message.is_some_and(|id| replayed.binary_search(&id).is_ok()) {
                    continue; // Just replayed.
                }
                if socket.send(Message::Text(frame.text)).await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > ping_every * 2 || socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    hub.visitor_disconnected(&session.visitor, connection);
}

/// Waits for the `hello` frame.
async fn hello(socket: &mut WebSocket) -> Option<(VisitorId, Option<MessageId>, Option<String>)> {
    let deadline = tokio::time::Instant::now() + HELLO_WITHIN;
    loop {
        let received = tokio::time::timeout_at(deadline, socket.recv()).await.ok()??.ok()?;
        let Message::Text(text) = received else { continue };
        match serde_json::from_str::<VisitorRequest>(text.as_str()) {
            Ok(VisitorRequest::Hello { visitor, last_seen, name }) => {
                let name = name.map(|name| name.trim().chars().take(100).collect::<String>()).filter(|n| !n.is_empty());
                return Some((visitor, last_seen, name));
            }
            Ok(_) => refuse(socket, "hello_first", "send hello first").await,
            Err(error) => refuse(socket, "malformed_frame", &error.to_string()).await,
        }
    }
}

async fn refuse(socket: &mut WebSocket, code: &str, message: &str) {
    let event = VisitorEvent::Error { code: code.to_owned(), message: message.to_owned() };
    let _ = socket.send(Message::Text(encode(&event, None).text)).await;
}

struct Session {
    hub: Hub,
    visitor: VisitorId,
    name: Option<String>,
    chat: Option<ChatView>,
    limit: NewChatLimit,
}

impl Session {
    /// Finds the visitor's chat in the store when the hub does not know it (after a restart).
    async fn adopt(&mut self) {
        match self.hub.store().find_current_chat(&self.visitor).await {
            Ok(Some(session)) => {
                let was_active = session.state == ChatState::Active;
                let (view, assigned) = self.hub.adopt(&session);
                if was_active
                    && let Err(error) =
                        self.hub.store().update_chat_state(session.id, ChatState::Queued, None, self.hub.now()).await
                {
                    tracing::warn!(%error, "recording a resumed chat as waiting");
                }
                self.hub.carry_out(assigned).await;
                self.chat = view;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "looking up a visitor's chat"),
        }
    }

    /// Sends `welcome` and replays the lines after `last_seen`; returns their ids.
    async fn welcome(&mut self, socket: &mut WebSocket, last_seen: Option<MessageId>) -> Result<Vec<MessageId>, ()> {
        let welcome = VisitorEvent::Welcome {
            state: self.chat.as_ref().map(|chat| chat.state),
            agents_online: self.hub.agents_online(),
            email: self.chat.as_ref().and_then(|chat| chat.email.clone()),
        };
        send(socket, &welcome).await?;
        let Some(chat) = &self.chat else { return Ok(Vec::new()) };
        let transcript = match self.hub.store().chat_transcript(chat.ticket, last_seen).await {
            Ok(transcript) => transcript,
            Err(error) => {
                tracing::warn!(%error, "loading a chat transcript to replay");
                return Err(());
            }
        };
        let mut replayed = Vec::with_capacity(transcript.len());
        for line in transcript {
            replayed.push(line.id);
            send(socket, &VisitorEvent::Message(line)).await?;
        }
        replayed.sort_unstable();
        Ok(replayed)
    }

    /// Handles one frame; `Err` ends the connection.
    async fn handle(&mut self, socket: &mut WebSocket, text: &str) -> Result<(), ()> {
        let request = match serde_json::from_str::<VisitorRequest>(text) {
            Ok(request) => request,
            Err(error) => return error_frame(socket, "malformed_frame", &error.to_string()).await,
        };
        self.chat = self.hub.chat_of(&self.visitor);
        match request {
            VisitorRequest::Hello { .. } => error_frame(socket, "hello_again", "hello is sent once").await,
            VisitorRequest::Message { client_id, text } => self.message(socket, client_id, text).await,
            VisitorRequest::Typing { typing } => {
                if let Some(chat) = &self.chat {
                    self.hub.visitor_typing(chat.id, typing);
                }
                Ok(())
            }
            VisitorRequest::Email { email } => self.email(socket, &email).await,
            VisitorRequest::Callback { phone } => self.callback(socket, &phone).await,
            VisitorRequest::End => {
                if let Some(chat) = self.chat.take() {
                    let (_, assigned) = self.hub.end_chat(chat.id);
                    if let Err(error) =
                        self.hub.store().update_chat_state(chat.id, ChatState::Ended, None, self.hub.now()).await
                    {
                        tracing::warn!(%error, "recording a chat's end");
                    }
                    self.hub.carry_out(assigned).await;
                }
                Ok(())
            }
        }
    }

    /// Stores a message through the intake, shows it to the agent, acknowledges it.
    async fn message(&mut self, socket: &mut WebSocket, client_id: ClientMessageId, text: String) -> Result<(), ()> {
        if let Err(error) = rapport_core::message::check_text(&text) {
            return error_frame(socket, "invalid_message", &format!("text {error}")).await;
        }
        let Ok(sender) = Identity::chat(self.visitor.as_str()) else {
            return error_frame(socket, "invalid_visitor", "the visitor id is not usable").await;
        };
        let at = self.hub.now();
        if self.chat.is_none() {
            // A new conversation: counted like a web form request from this address.
            let key = self.limit.key.clone();
            match self.hub.store().count_attempt(key, HOUR, self.limit.per_hour, at).await {
                Ok(RateCheck::Limited { .. }) => {
                    let message = "too many new conversations from your address in the last hour; please try \
                                   again later, or write to us by email";
                    return error_frame(socket, "rate_limited", message).await;
                }
                Ok(RateCheck::Allowed) => {}
                Err(error) => tracing::warn!(%error, "counting a new chat against its address's limit"),
            }
        }
        let mut inbound = InboundMessage::new(Channel::Chat, sender, summary_subject(&text), text, at);
        inbound.external_id = Some(visitor_external_id(&self.visitor, &client_id));
        inbound.sender_name = self.name.clone();
        let raw = inbound.text.as_bytes().to_vec();
        let request = FileInbound {
            message: inbound,
            raw,
            acknowledgment: None,
            rate_limit: RateLimit { replies: RateLimit::default().replies, messages: MESSAGES_PER_HOUR },
        };
        let text = request.message.text.clone();
        let (ticket, message, duplicate) = match self.hub.store().file_inbound(request).await {
            Ok(Filed::Duplicate { ticket, message }) => (ticket, message, true),
            Ok(Filed::Added { ticket, message, .. } | Filed::Opened { ticket, message, .. }) => {
                (ticket, message, false)
            }
            Ok(Filed::Quarantined { .. }) => {
                return error_frame(socket, "held", "too many messages: this one is held for review").await;
            }
            Err(error) => {
                tracing::warn!(%error, "filing a chat message");
                return error_frame(socket, "not_stored", "the message could not be stored; send it again").await;
            }
        };
        let chat = self.ensure_chat(ticket).await;
        if !duplicate && let Some(chat) = chat {
            let line = TranscriptLine { id: message, from: Party::Visitor, name: self.name.clone(), text, at };
            self.hub.visitor_line(chat, line);
        }
        send(socket, &VisitorEvent::Ack { client_id, message_id: message, duplicate }).await
    }

    /// The chat the message belongs to: started with the first message, queued
    /// again when an offline chat's visitor writes while agents are online.
    async fn ensure_chat(&mut self, ticket: rapport_core::TicketId) -> Option<rapport_core::chat::ChatId> {
        // The hub's view, not a copy kept since: an agent may have ended the
        // chat, or it may have gone to email, meanwhile.
        self.chat = self.hub.chat_of(&self.visitor);
        match self.chat.clone() {
            None => {
                let state = self.hub.initial_state();
                let id = match self.hub.store().insert_chat(&self.visitor, ticket, state, self.hub.now()).await {
                    Ok(id) => id,
                    Err(error) => {
                        tracing::warn!(%error, "starting a chat session");
                        return None;
                    }
                };
                let (view, assigned) = self.hub.start_chat(id, &self.visitor, ticket, state);
                self.chat = Some(view);
                self.hub.carry_out(assigned).await;
                Some(id)
            }
            Some(chat) => {
                if chat.ticket != ticket {
                    if let Err(error) = self.hub.store().update_chat_ticket(chat.id, ticket).await {
                        tracing::warn!(%error, "moving a chat to its new ticket");
                    }
                    self.hub.move_ticket(chat.id, ticket);
                }
                if chat.state == ChatState::Offline && self.hub.agents_online() > 0 {
                    let assigned = self.hub.requeue(chat.id);
                    if let Err(error) =
                        self.hub.store().update_chat_state(chat.id, ChatState::Queued, None, self.hub.now()).await
                    {
                        tracing::warn!(%error, "recording a chat waiting again");
                    }
                    self.hub.carry_out(assigned).await;
                }
                self.chat = self.hub.chat_of(&self.visitor);
                Some(chat.id)
            }
        }
    }

    /// Records the address the visitor left for answers by email.
    async fn email(&mut self, socket: &mut WebSocket, raw: &str) -> Result<(), ()> {
        let Some(chat) = self.chat.clone() else {
            return error_frame(socket, "no_chat", "send a message first").await;
        };
        let email = match Identity::email(raw) {
            Ok(email) => email,
            Err(error) => return error_frame(socket, "invalid_email", &error.to_string()).await,
        };
        let address = email.value.clone();
        if let Err(error) = self.hub.store().record_chat_email(chat.id, chat.ticket, email, self.hub.now()).await {
            tracing::warn!(%error, "recording a chat visitor's email address");
            return error_frame(socket, "not_stored", "the address could not be stored; send it again").await;
        }
        self.hub.email_recorded(chat.id, &address);
        self.chat = self.hub.chat_of(&self.visitor);
        send(socket, &VisitorEvent::EmailSaved { email: address }).await
    }
}

impl Session {
    /// Puts the visitor in the callback queue, about their chat's ticket if
    /// they have one, and tells them their place in line.
    async fn callback(&mut self, socket: &mut WebSocket, raw: &str) -> Result<(), ()> {
        let phone = match Identity::phone(raw) {
            Ok(phone) => phone,
            Err(error) => return error_frame(socket, "invalid_phone", &error.to_string()).await,
        };
        let request = NewCallback {
            phone,
            ticket: self.chat.as_ref().map(|chat| chat.ticket),
            source: CallbackSource::Chat,
            call_sid: None,
            now: self.hub.now(),
        };
        let store = self.hub.store();
        let callback = match store.request_callback(request).await {
            Ok(callback) => callback,
            Err(error) => {
                tracing::warn!(%error, "queueing a chat visitor's callback");
                return error_frame(socket, "not_stored", "the callback could not be queued; ask again").await;
            }
        };
        // The callback is queued; its place is only a courtesy.
        let position = store.callback_position(callback.id).await.unwrap_or(None);
        send(socket, &VisitorEvent::CallbackQueued { phone: callback.phone.value, position }).await
    }
}

async fn send(socket: &mut WebSocket, event: &VisitorEvent) -> Result<(), ()> {
    socket.send(Message::Text(encode(event, None).text)).await.map_err(|_| ())
}

/// Refuses one frame; the connection stays open.
async fn error_frame(socket: &mut WebSocket, code: &str, message: &str) -> Result<(), ()> {
    send(socket, &VisitorEvent::Error { code: code.to_owned(), message: message.to_owned() }).await
}
