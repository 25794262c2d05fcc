//! The hub's state: the desk, the chats in memory and the connections, and
//! the frames it hands them. Every method here runs under the hub's lock and
//! never waits: frames go to bounded channels with `try_send`.

use std::collections::HashMap;

use rapport_core::chat::desk::Desk;
use rapport_core::chat::{
    AgentEvent, ChatId, ChatState, FirstAnswerTimes, VisitorEvent, VisitorId, expected_wait_ms, offline_notice,
    wait_minutes,
};
use rapport_core::{AgentId, TicketId, Timestamp};
use tokio::sync::mpsc;

use super::hub::{Assigned, ChatView, Frame, Outlet, encode};
use crate::settings::ChatSettings;

/// What the hub's lock guards.
#[derive(Default)]
pub(super) struct State {
    pub(super) desk: Desk,
    pub(super) chats: HashMap<ChatId, Chat>,
    pub(super) by_visitor: HashMap<VisitorId, ChatId>,
    pub(super) by_ticket: HashMap<TicketId, ChatId>,
    /// A visitor's open tabs: each connection gets every frame.
    pub(super) visitors: HashMap<VisitorId, Vec<Peer>>,
    pub(super) agents: HashMap<AgentId, AgentPeer>,
    pub(super) answers: FirstAnswerTimes,
    pub(super) next_connection: u64,
    pub(super) told_waiting: usize,
}

pub(super) struct Peer {
    pub(super) connection: u64,
    pub(super) outlet: Outlet,
}

pub(super) struct AgentPeer {
    pub(super) connection: u64,
    pub(super) outlet: Outlet,
    pub(super) name: String,
}

pub(super) struct Chat {
    pub(super) visitor: VisitorId,
    pub(super) ticket: TicketId,
    pub(super) state: ChatState,
    /// When it last entered the queue (for the offline timer and the first answer).
    pub(super) queued_at: Timestamp,
    pub(super) answered: bool,
    pub(super) email: Option<String>,
    /// False from an assignment until the agent has been shown the transcript;
    /// lines for the agent wait in `pending` meanwhile.
    pub(super) agent_ready: bool,
    pub(super) pending: Vec<Frame>,
    pub(super) told_position: Option<usize>,
}

impl State {
    /// Drops an offline chat whose visitor is away from memory: it is in the
    /// store, and the visitor's next connection takes it up again.
    pub(super) fn forget_if_idle(&mut self, chat: ChatId) {
        let idle = self
            .chats
            .get(&chat)
            .is_some_and(|entry| entry.state == ChatState::Offline && !self.visitor_online(&entry.visitor));
        if idle && let Some(entry) = self.chats.remove(&chat) {
            self.by_visitor.remove(&entry.visitor);
            self.by_ticket.remove(&entry.ticket);
            self.visitors.remove(&entry.visitor);
        }
    }

    pub(super) fn visitor_online(&self, visitor: &VisitorId) -> bool {
        self.visitors.get(visitor).is_some_and(|peers| !peers.is_empty())
    }

    pub(super) fn view_of(&self, visitor: &VisitorId) -> Option<ChatView> {
        let chat = self.by_visitor.get(visitor).copied()?;
        let entry = self.chats.get(&chat)?;
        Some(ChatView { id: chat, ticket: entry.ticket, state: entry.state, email: entry.email.clone() })
    }

    pub(super) fn insert_chat(
        &mut self,
        chat: ChatId,
        visitor: VisitorId,
        ticket: TicketId,
        state: ChatState,
        at: Timestamp,
        email: Option<String>,
    ) {
        if let Some(old) = self.by_visitor.insert(visitor.clone(), chat)
            && old != chat
        {
            self.desk.finish(old);
            if let Some(entry) = self.chats.remove(&old) {
                self.by_ticket.remove(&entry.ticket);
            }
        }
        self.by_ticket.insert(ticket, chat);
        self.chats.insert(
            chat,
            Chat {
                visitor,
                ticket,
                state,
                queued_at: at,
                answered: false,
                email,
                agent_ready: false,
                pending: Vec::new(),
                told_position: None,
            },
        );
        if state == ChatState::Queued {
            self.desk.enqueue(chat);
        }
    }

    /// Assigns what the desk can, then tells the waiting visitors their
    /// positions and the agents the queue's length, where they changed.
    pub(super) fn rebalance(&mut self, settings: &ChatSettings) -> Assigned {
        let made = self.desk.assign();
        for (chat, _) in &made {
            if let Some(entry) = self.chats.get_mut(chat) {
                entry.state = ChatState::Active;
                entry.agent_ready = false;
                entry.pending.clear();
                entry.told_position = None;
            }
        }
        self.announce_positions(settings);
        Assigned(made)
    }

    pub(super) fn announce_positions(&mut self, _settings: &ChatSettings) {
        let agents = self.desk.agents_online();
        let average = self.answers.average_ms();
        let waiting: Vec<ChatId> = self.desk.waiting().collect();
        for (index, chat) in waiting.iter().enumerate() {
            let position = index + 1;
            let Some(entry) = self.chats.get_mut(chat) else { continue };
            if entry.told_position == Some(position) {
                continue;
            }
            entry.told_position = Some(position);
            let wait_minutes = expected_wait_ms(index, agents, average).map(wait_minutes);
            self.tell_visitor_of(*chat, &VisitorEvent::Queued { position, wait_minutes });
        }
        if waiting.len() != self.told_waiting {
            self.told_waiting = waiting.len();
            let frame = encode(&AgentEvent::Queue { waiting: waiting.len() }, None);
            let agents: Vec<AgentId> = self.agents.keys().copied().collect();
            for agent in agents {
                self.send_to_agent(agent, frame.clone());
            }
        }
    }

    pub(super) fn tell_offline(&mut self, chat: ChatId) {
        let Some(entry) = self.chats.get(&chat) else { return };
        let has_email = entry.email.is_some();
        let notice = offline_notice(Some(entry.ticket), has_email);
        self.tell_visitor_of(
            chat,
            &VisitorEvent::Offline { notice, ask_email: !has_email, ticket: Some(entry.ticket) },
        );
    }

    pub(super) fn tell_visitor_of(&mut self, chat: ChatId, event: &VisitorEvent) {
        if self.chats.get(&chat).is_some_and(|entry| self.visitor_online(&entry.visitor)) {
            self.send_to_visitor_of(chat, encode(event, None));
        }
    }

    pub(super) fn send_to_visitor_of(&mut self, chat: ChatId, frame: Frame) {
        let Some(visitor) = self.chats.get(&chat).map(|entry| &entry.visitor) else { return };
        let Some(peers) = self.visitors.get_mut(visitor) else { return };
        // A connection that stopped reading is dropped (its channel is full);
        // it resumes from the transcript when it reconnects.
        peers.retain(|peer| match peer.outlet.try_send(frame.clone()) {
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(chat = chat.0, "a visitor's connection is not keeping up; closing it");
                false
            }
            _ => true,
        });
    }

    pub(super) fn tell_agent_of(&mut self, chat: ChatId, event: &AgentEvent) {
        if let Some(agent) = self.desk.holder(chat)
            && self.chats.get(&chat).is_some_and(|entry| entry.agent_ready)
        {
            self.send_to_agent(agent, encode(event, None));
        }
    }

    /// A line for the agent who has the chat, or kept until they are shown it.
    pub(super) fn send_to_agent_of(&mut self, chat: ChatId, frame: Frame) {
        let Some(agent) = self.desk.holder(chat) else { return };
        let Some(entry) = self.chats.get_mut(&chat) else { return };
        if entry.agent_ready {
            self.send_to_agent(agent, frame);
        } else {
            entry.pending.push(frame);
        }
    }

    pub(super) fn send_to_agent(&mut self, agent: AgentId, frame: Frame) {
        let Some(peer) = self.agents.get(&agent) else { return };
        if let Err(mpsc::error::TrySendError::Full(_)) = peer.outlet.try_send(frame) {
            // The agent's client stopped reading: its connection ends (and
            // `agent_disconnected` hands its chats on); it resumes on reconnect.
            tracing::warn!(agent = agent.0, "an agent's connection is not keeping up; closing it");
            if let Some(peer) = self.agents.get_mut(&agent) {
                let (closed, _) = mpsc::channel(1);
                peer.outlet = closed;
            }
        }
    }
}
