//! The hub: the connected visitors and agents, the chats in memory and the
//! desk (queue and seats, `rapport_core::chat::desk`).
//!
//! Every method locks the state, changes it, hands frames to the bounded
//! channels of the connections concerned with `try_send` (never waiting),
//! and unlocks; nothing awaits under the lock. Work that needs the database
//! (recording an assignment, loading the transcript an agent is shown) is
//! done by `Hub::carry_out` between two short locks. A channel that is full
//! belongs to a connection that stopped reading: the hub forgets it, which
//! ends that connection, and its client resumes from the transcript.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use rapport_core::chat::{AgentEvent, ChatId, ChatState, TranscriptLine, VisitorEvent, VisitorId};
use rapport_core::{AgentId, MessageId, TicketId, Timestamp};
use rapport_store::{ChatSession, Store};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::state::{AgentPeer, Peer, State};
use crate::settings::ChatSettings;
use crate::state::Clock;

/// One frame for a connection: serialised once, shared by reference count.
/// `message` names the transcript line it carries, if any, so a visitor's
/// connection can skip a line it has just replayed.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub(crate) message: Option<MessageId>,
    pub(crate) text: Utf8Bytes,
}

/// The sending side of a connection's channel.
pub(crate) type Outlet = mpsc::Sender<Frame>;

/// Serialises a protocol event (the protocol's types always serialise).
pub(crate) fn encode<T: Serialize>(event: &T, message: Option<MessageId>) -> Frame {
    let text = serde_json::to_string(event).unwrap_or_else(|error| {
        tracing::error!(%error, "serialising a chat frame");
        String::from("{\"type\":\"error\",\"code\":\"internal\",\"message\":\"internal error\"}")
    });
    Frame { message, text: Utf8Bytes::from(text) }
}

/// The live-chat hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    store: Store,
    clock: Clock,
    settings: ChatSettings,
}

/// What a connection knows about its visitor's chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatView {
    pub(crate) id: ChatId,
    pub(crate) ticket: TicketId,
    pub(crate) state: ChatState,
    pub(crate) email: Option<String>,
}

/// Assignments made by the desk, to record and announce ([`Hub::carry_out`]).
#[must_use]
pub(crate) struct Assigned(pub(super) Vec<(ChatId, AgentId)>);

/// One agent connected for chat, as colleagues see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSeat {
    /// The agent.
    pub agent: AgentId,
    /// Their name.
    pub name: String,
    /// True while away (no new chats).
    pub away: bool,
    /// The chats they hold.
    pub chats: usize,
}

impl Hub {
    /// A hub over `store` with `settings`, reading time from `clock`.
    pub fn new(store: Store, clock: Clock, settings: ChatSettings) -> Hub {
        Hub { inner: Arc::new(Inner { state: Mutex::new(State::default()), store, clock, settings }) }
    }

    /// Now, by the server's clock: what chat lines and state changes are stamped with.
    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn settings(&self) -> &ChatSettings {
        &self.inner.settings
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many agents are online.
    pub(crate) fn agents_online(&self) -> usize {
        self.lock().desk.agents_online()
    }

    // --- visitors ---

    /// Registers a visitor's connection (a visitor may have several tabs
    /// open: each gets every frame); returns its number and the visitor's
    /// chat, if the hub knows one.
    pub(crate) fn visitor_connected(&self, visitor: &VisitorId, outlet: Outlet) -> (u64, Option<ChatView>) {
        let mut state = self.lock();
        state.next_connection += 1;
        let connection = state.next_connection;
        let peers = state.visitors.entry(visitor.clone()).or_default();
        // Connections that ended without saying so (their channel closed).
        peers.retain(|peer| !peer.outlet.is_closed());
        peers.push(Peer { connection, outlet });
        let view = state.view_of(visitor);
        if let Some(view) = &view {
            state.tell_agent_of(view.id, &AgentEvent::Presence { chat: view.id, online: true });
        }
        (connection, view)
    }

    /// Forgets a visitor's connection; when it was their last, the agent hears they left.
    pub(crate) fn visitor_disconnected(&self, visitor: &VisitorId, connection: u64) {
        let mut state = self.lock();
        let Some(peers) = state.visitors.get_mut(visitor) else { return };
        peers.retain(|peer| peer.connection != connection);
        if peers.is_empty() {
            state.visitors.remove(visitor);
            if let Some(chat) = state.by_visitor.get(visitor).copied() {
                state.tell_agent_of(chat, &AgentEvent::Presence { chat, online: false });
                state.forget_if_idle(chat);
            }
        }
    }

    /// The visitor's chat, if the hub knows it.
    pub(crate) fn chat_of(&self, visitor: &VisitorId) -> Option<ChatView> {
        self.lock().view_of(visitor)
    }

    /// Takes over a chat the hub does not know (after a restart): a live one
    /// waits in the queue again, an offline one stays offline.
    pub(crate) fn adopt(&self, session: &ChatSession) -> (Option<ChatView>, Assigned) {
        let Some(ticket) = session.ticket else { return (None, Assigned(Vec::new())) };
        let state = if session.state.is_live() { ChatState::Queued } else { session.state };
        let mut hub = self.lock();
        if let Some(view) = hub.view_of(&session.visitor) {
            return (Some(view), Assigned(Vec::new()));
        }
        hub.insert_chat(session.id, session.visitor.clone(), ticket, state, self.now(), session.email.clone());
        let assigned = hub.rebalance(&self.inner.settings);
        (hub.view_of(&session.visitor), assigned)
    }

    /// The state a new chat starts in: queued when an agent is online, else offline.
    pub(crate) fn initial_state(&self) -> ChatState {
        if self.agents_online() > 0 { ChatState::Queued } else { ChatState::Offline }
    }

    /// A new chat (its first message is stored) enters the queue or goes offline.
    pub(crate) fn start_chat(
        &self,
        chat: ChatId,
        visitor: &VisitorId,
        ticket: TicketId,
        state: ChatState,
    ) -> (ChatView, Assigned) {
        let mut hub = self.lock();
        hub.insert_chat(chat, visitor.clone(), ticket, state, self.now(), None);
        if state == ChatState::Offline {
            hub.tell_offline(chat);
        }
        let assigned = hub.rebalance(&self.inner.settings);
        let view = hub.view_of(visitor).unwrap_or(ChatView { id: chat, ticket, state, email: None });
        (view, assigned)
    }

    /// An offline chat whose visitor writes again while agents are online waits again.
    pub(crate) fn requeue(&self, chat: ChatId) -> Assigned {
        let mut hub = self.lock();
        let at = self.now();
        match hub.chats.get_mut(&chat) {
            Some(entry) if entry.state == ChatState::Offline => {
                entry.state = ChatState::Queued;
                entry.queued_at = at;
                entry.told_position = None;
            }
            _ => return Assigned(Vec::new()),
        }
        hub.desk.enqueue(chat);
        hub.rebalance(&self.inner.settings)
    }

    /// The chat's conversation moved to another ticket (its old one closed).
    pub(crate) fn move_ticket(&self, chat: ChatId, ticket: TicketId) {
        let mut hub = self.lock();
        if let Some(entry) = hub.chats.get_mut(&chat) {
            let old = std::mem::replace(&mut entry.ticket, ticket);
            hub.by_ticket.remove(&old);
            hub.by_ticket.insert(ticket, chat);
        }
    }

    /// A visitor's stored line, for the agent who has the chat.
    pub(crate) fn visitor_line(&self, chat: ChatId, line: TranscriptLine) {
        let id = line.id;
        let frame = encode(&AgentEvent::Message { chat, line }, Some(id));
        let mut hub = self.lock();
        hub.send_to_agent_of(chat, frame);
    }

    /// The visitor started or stopped typing.
    pub(crate) fn visitor_typing(&self, chat: ChatId, typing: bool) {
        self.lock().tell_agent_of(chat, &AgentEvent::Typing { chat, typing });
    }

    /// The visitor left an email address.
    pub(crate) fn email_recorded(&self, chat: ChatId, email: &str) {
        if let Some(entry) = self.lock().chats.get_mut(&chat) {
            entry.email = Some(email.to_owned());
        }
    }

    /// Tells the visitor where their chat stands (after a (re)connection).
    pub(crate) fn announce(&self, visitor: &VisitorId) {
        let mut hub = self.lock();
        let Some(chat) = hub.by_visitor.get(visitor).copied() else { return };
        let Some(entry) = hub.chats.get_mut(&chat) else { return };
        entry.told_position = None;
        match entry.state {
            ChatState::Queued => hub.announce_positions(&self.inner.settings),
            ChatState::Active if entry.agent_ready => {
                let name = hub.desk.holder(chat).and_then(|agent| hub.agents.get(&agent)).map(|peer| peer.name.clone());
                if let Some(agent) = name {
                    hub.tell_visitor_of(chat, &VisitorEvent::Joined { agent });
                }
            }
            ChatState::Offline => hub.tell_offline(chat),
            _ => {}
        }
    }

    /// Ends a chat (by its visitor or agent): off the desk, both sides told.
    /// Returns the chat's ticket if it was known, with the assignments the
    /// freed slot allows.
    pub(crate) fn end_chat(&self, chat: ChatId) -> (Option<TicketId>, Assigned) {
        let mut hub = self.lock();
        let Some(entry) = hub.chats.get(&chat) else { return (None, Assigned(Vec::new())) };
        let ticket = entry.ticket;
        hub.tell_visitor_of(chat, &VisitorEvent::Ended);
        hub.tell_agent_of(chat, &AgentEvent::Ended { chat });
        hub.desk.finish(chat);
        if let Some(entry) = hub.chats.remove(&chat) {
            hub.by_visitor.remove(&entry.visitor);
            hub.by_ticket.remove(&entry.ticket);
        }
        (Some(ticket), hub.rebalance(&self.inner.settings))
    }

    // --- agents ---

    /// Registers an agent's connection (replacing an older one, which ends).
    /// Returns its number and the chats to show the agent: those they hold
    /// already and those the desk gives them now.
    pub(crate) fn agent_connected(
        &self,
        agent: AgentId,
        name: String,
        capacity: usize,
        outlet: Outlet,
    ) -> (u64, Assigned) {
        let mut hub = self.lock();
        hub.next_connection += 1;
        let connection = hub.next_connection;
        let welcome = encode(&AgentEvent::Welcome { agent, capacity, waiting: hub.desk.waiting_count() }, None);
        let _ = outlet.try_send(welcome);
        hub.agents.insert(agent, AgentPeer { connection, outlet, name });
        hub.desk.agent_online(agent, capacity);
        let held: Vec<ChatId> = hub.desk.chats_of(agent).to_vec();
        let mut shown: Vec<(ChatId, AgentId)> = Vec::new();
        for chat in held {
            if let Some(entry) = hub.chats.get_mut(&chat) {
                entry.agent_ready = false;
                shown.push((chat, agent));
            }
        }
        let Assigned(made) = hub.rebalance(&self.inner.settings);
        shown.extend(made);
        (connection, Assigned(shown))
    }

    /// Forgets an agent's connection (unless a newer one replaced it); their
    /// chats wait again, in their old places, and go to other agents.
    /// Returns the chats handed back (to record as queued) and the new assignments.
    pub(crate) fn agent_disconnected(&self, agent: AgentId, connection: u64) -> (Vec<ChatId>, Assigned) {
        let mut hub = self.lock();
        if hub.agents.get(&agent).is_none_or(|peer| peer.connection != connection) {
            return (Vec::new(), Assigned(Vec::new()));
        }
        hub.agents.remove(&agent);
        let handed_back = hub.desk.agent_offline(agent);
        let at = self.now();
        for chat in &handed_back {
            if let Some(entry) = hub.chats.get_mut(chat) {
                entry.state = ChatState::Queued;
                entry.queued_at = at;
                entry.agent_ready = false;
                entry.pending.clear();
                entry.told_position = None;
            }
        }
        let assigned = hub.rebalance(&self.inner.settings);
        (handed_back, assigned)
    }

    /// An agent steps away (keeping their chats, given no new ones) or comes
    /// back, when the waiting chats are handed out at once.
    pub(crate) fn agent_away(&self, agent: AgentId, away: bool) -> Assigned {
        let mut hub = self.lock();
        hub.desk.set_away(agent, away);
        hub.rebalance(&self.inner.settings)
    }

    /// Who is connected for chat, by name: online or away, and how many
    /// chats each holds, for the workspace's colleagues list.
    pub fn roster(&self) -> Vec<ChatSeat> {
        let hub = self.lock();
        let mut seats: Vec<ChatSeat> = hub
            .agents
            .iter()
            .map(|(agent, peer)| ChatSeat {
                agent: *agent,
                name: peer.name.clone(),
                away: hub.desk.is_away(*agent),
                chats: hub.desk.chats_of(*agent).len(),
            })
            .collect();
        seats.sort_by(|a, b| a.name.cmp(&b.name).then(a.agent.cmp(&b.agent)));
        seats
    }

    /// How many chats wait for an agent.
    pub fn waiting(&self) -> usize {
        self.lock().desk.waiting_count()
    }

    /// The ticket of `chat` if `agent` has it.
    pub(crate) fn ticket_held_by(&self, agent: AgentId, chat: ChatId) -> Option<TicketId> {
        let hub = self.lock();
        (hub.desk.holder(chat) == Some(agent)).then(|| hub.chats.get(&chat).map(|entry| entry.ticket)).flatten()
    }

    /// An agent's stored line, for the visitor (and the chat's first answer time).
    pub(crate) fn agent_line(&self, chat: ChatId, line: TranscriptLine) {
        let id = line.id;
        let frame = encode(&VisitorEvent::Message(line), Some(id));
        let at = self.now();
        let mut hub = self.lock();
        let first_answer = match hub.chats.get_mut(&chat) {
            Some(entry) if !entry.answered => {
                entry.answered = true;
                Some(at.0 - entry.queued_at.0)
            }
            _ => None,
        };
        if let Some(sample) = first_answer {
            hub.answers.record(sample);
        }
        hub.send_to_visitor_of(chat, frame);
    }

    /// The agent started or stopped typing.
    pub(crate) fn agent_typing(&self, chat: ChatId, typing: bool) {
        self.lock().tell_visitor_of(chat, &VisitorEvent::Typing { typing });
    }

    // --- replies from elsewhere, timers ---

    /// A public reply on a chat ticket sent through the outbox (the REST
    /// API): shown to the visitor and to the agent who has the chat. Returns
    /// true when the ticket has a chat in memory.
    pub fn deliver_reply(&self, ticket: TicketId, line: TranscriptLine) -> bool {
        let id = line.id;
        let mut hub = self.lock();
        let Some(chat) = hub.by_ticket.get(&ticket).copied() else { return false };
        let for_visitor = encode(&VisitorEvent::Message(line.clone()), Some(id));
        let for_agent = encode(&AgentEvent::Message { chat, line }, Some(id));
        hub.send_to_visitor_of(chat, for_visitor);
        hub.send_to_agent_of(chat, for_agent);
        true
    }

    /// Tells the visitor their chat now goes to email (once that is recorded).
    pub(crate) fn announce_offline(&self, chat: ChatId) {
        let mut hub = self.lock();
        hub.tell_offline(chat);
        hub.forget_if_idle(chat);
    }

    /// Moves chats that waited longer than `offline_after` to email; returns
    /// them (to record, then [`Hub::announce_offline`]).
    pub(crate) fn expire_waiting(&self) -> Vec<ChatId> {
        let limit = i64::try_from(self.inner.settings.offline_after.as_millis()).unwrap_or(i64::MAX);
        let at = self.now();
        let mut hub = self.lock();
        let expired: Vec<ChatId> = hub
            .desk
            .waiting()
            .filter(|chat| hub.chats.get(chat).is_some_and(|entry| at.0.saturating_sub(entry.queued_at.0) >= limit))
            .collect();
        for chat in &expired {
            hub.desk.finish(*chat);
            if let Some(entry) = hub.chats.get_mut(chat) {
                entry.state = ChatState::Offline;
                entry.told_position = None;
            }
        }
        if !expired.is_empty() {
            // Positions moved up: those still waiting hear theirs.
            let _ = hub.rebalance(&self.inner.settings);
        }
        expired
    }

    /// Records assignments and shows each agent their new chat with its
    /// transcript (then the lines that arrived meanwhile); tells the visitor
    /// who joined.
    pub(crate) async fn carry_out(&self, assigned: Assigned) {
        for (chat, agent) in assigned.0 {
            if let Err(error) =
                self.inner.store.update_chat_state(chat, ChatState::Active, Some(agent), self.now()).await
            {
                tracing::warn!(%error, chat = chat.0, "recording a chat assignment");
            }
            let Some(ticket) = self.lock().chats.get(&chat).map(|entry| entry.ticket) else { continue };
            let transcript = match self.inner.store.chat_transcript(ticket, None).await {
                Ok(transcript) => transcript,
                Err(error) => {
                    tracing::warn!(%error, chat = chat.0, "loading a chat transcript");
                    Vec::new()
                }
            };
            let mut hub = self.lock();
            if hub.desk.holder(chat) != Some(agent) {
                continue; // Taken back meanwhile (the agent left).
            }
            let Some(entry) = hub.chats.get_mut(&chat) else { continue };
            let shown: Vec<MessageId> = transcript.iter().map(|line| line.id).collect();
            let pending = std::mem::take(&mut entry.pending);
            entry.agent_ready = true;
            let visitor = entry.visitor.clone();
            let visitor_online = hub.visitor_online(&visitor);
            let event = AgentEvent::Assigned { chat, ticket, visitor, visitor_online, transcript };
            hub.send_to_agent(agent, encode(&event, None));
            for frame in pending {
                if frame.message.is_none_or(|id| !shown.contains(&id)) {
                    hub.send_to_agent(agent, frame);
                }
            }
            if let Some(name) = hub.agents.get(&agent).map(|peer| peer.name.clone()) {
                hub.tell_visitor_of(chat, &VisitorEvent::Joined { agent: name });
            }
        }
    }

    /// Every second: chats that waited too long go to email. Stops with `stopped`.
    pub async fn run_timers(self, mut stopped: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => return,
            }
            for chat in self.expire_waiting() {
                if let Err(error) = self.inner.store.update_chat_state(chat, ChatState::Offline, None, self.now()).await
                {
                    tracing::warn!(%error, chat = chat.0, "recording a chat gone to email");
                }
                self.announce_offline(chat);
            }
        }
    }
}
