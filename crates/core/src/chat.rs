//! Live chat: the protocol spoken over the two WebSockets (visitor and
//! agent), the rules that make a reconnect lose and duplicate nothing, and the
//! visitor's expected wait. The queue and the assignment of chats to agents
//! are in [`desk`].
//!
//! Every frame is one JSON object whose `type` names it (serde's internally
//! tagged enums). What a visitor or an agent sends is acknowledged only once
//! it is stored, and the acknowledgment carries the stored message's id. A
//! client keeps every message it sent until it is acknowledged and resends it
//! after a reconnect with the same client message id; the store files one
//! message per `(sender, client id)` ([`visitor_external_id`]), so a resend of
//! a stored message is acknowledged again, not stored twice. A reconnecting
//! client names the last message id it has seen and the server replays every
//! message after it ([`replay_after`]).

pub mod desk;

use crate::ids::{AgentId, MessageId, TicketId};
use crate::time::{MINUTE, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A chat session's id (a row of `chat_sessions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChatId(pub i64);

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A visitor's id: random, made by the widget and kept in the browser's
/// `localStorage`, so a reload finds the conversation again. 8–64 characters
/// of `A–Z a–z 0–9 - _`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VisitorId(String);

/// A client's id for one message it sent: 1–64 characters of
/// `A–Z a–z 0–9 - _ .`, unique per sender (the widget uses a counter and a
/// random prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientMessageId(String);

/// An id the chat protocol refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatIdError {
    /// The visitor id is malformed.
    #[error("a visitor id is 8 to 64 characters of A-Z, a-z, 0-9, '-' and '_'")]
    Visitor,
    /// The client message id is malformed.
    #[error("a client message id is 1 to 64 characters of A-Z, a-z, 0-9, '-', '_' and '.'")]
    ClientMessage,
}

fn plain(value: &str, extra: &[u8], lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&value.len()) && value.bytes().all(|byte| byte.is_ascii_alphanumeric() || extra.contains(&byte))
}

impl VisitorId {
    /// Checks a visitor id.
    pub fn parse(value: &str) -> Result<VisitorId, ChatIdError> {
        if plain(value, b"-_", 8..=64) { Ok(VisitorId(value.to_owned())) } else { Err(ChatIdError::Visitor) }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ClientMessageId {
    /// Checks a client message id.
    pub fn parse(value: &str) -> Result<ClientMessageId, ChatIdError> {
        if plain(value, b"-_.", 1..=64) {
            Ok(ClientMessageId(value.to_owned()))
        } else {
            Err(ChatIdError::ClientMessage)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_conversions {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = ChatIdError;
            fn try_from(value: String) -> Result<Self, ChatIdError> {
                $name::parse(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_conversions!(VisitorId);
string_conversions!(ClientMessageId);

/// The channel id of a visitor's message, `chat:<visitor>:<client id>`: the
/// store files one message per channel id, so a resend is filed once.
pub fn visitor_external_id(visitor: &VisitorId, client: &ClientMessageId) -> String {
    format!("chat:{visitor}:{client}")
}

/// The channel id of an agent's chat message, `chat-agent:<agent>:<client id>`
/// (the prefix differs from a visitor's, so the two can never collide).
pub fn agent_external_id(agent: AgentId, client: &ClientMessageId) -> String {
    format!("chat-agent:{agent}:{client}")
}

/// Where a chat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatState {
    /// Waiting for an agent.
    Queued,
    /// An agent has it.
    Active,
    /// No agent came: the chat became a ticket answered by email.
    Offline,
    /// Over.
    Ended,
}

impl ChatState {
    /// The word used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatState::Queued => "queued",
            ChatState::Active => "active",
            ChatState::Offline => "offline",
            ChatState::Ended => "ended",
        }
    }

    /// Parses the database word.
    pub fn parse(word: &str) -> Option<ChatState> {
        [ChatState::Queued, ChatState::Active, ChatState::Offline, ChatState::Ended]
            .into_iter()
            .find(|state| state.as_str() == word)
    }

    /// True while the chat waits for or has an agent.
    pub fn is_live(self) -> bool {
        matches!(self, ChatState::Queued | ChatState::Active)
    }
}

/// Who wrote a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The visitor (the customer).
    Visitor,
    /// An agent.
    Agent,
    /// Rapport itself (notices).
    System,
}

/// One line of a chat's transcript: a public message of its ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// The stored message's id: the resume cursor.
    pub id: MessageId,
    /// Who wrote it.
    pub from: Party,
    /// The agent's name, for agents' lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The text.
    pub text: String,
    /// When it was stored, in ms since the epoch.
    pub at: Timestamp,
}

/// The lines after `last_seen`, given a transcript in id order: what a
/// reconnecting client has not seen. `None` (a first connection) replays all.
pub fn replay_after(transcript: &[TranscriptLine], last_seen: Option<MessageId>) -> &[TranscriptLine] {
    match last_seen {
        Some(seen) => &transcript[transcript.partition_point(|line| line.id <= seen)..],
        None => transcript,
    }
}

/// What the visitor's widget sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorRequest {
    /// The first frame of every connection: who the visitor is and the last
    /// message id they have seen (absent on a first visit).
    Hello {
        /// The widget's visitor id.
        visitor: VisitorId,
        /// The last message id the widget has shown.
        #[serde(default)]
        last_seen: Option<MessageId>,
        /// A name, if the visitor gave one.
        #[serde(default)]
        name: Option<String>,
    },
    /// A message. Resent with the same `client_id` until acknowledged.
    Message {
        /// The widget's id for it.
        client_id: ClientMessageId,
        /// The text.
        text: String,
    },
    /// The visitor started or stopped typing.
    Typing {
        /// True while typing.
        typing: bool,
    },
    /// The visitor's email address, for answers by email.
    Email {
        /// The address.
        email: String,
    },
    /// The visitor asks to be called back at `phone` instead of waiting:
    /// they join the callback queue (the same line as callers who pressed 1).
    Callback {
        /// The number to call, in any common notation (normalised to E.164).
        phone: String,
    },
    /// The visitor closed the conversation.
    End,
}

/// What the server sends the visitor's widget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorEvent {
    /// Answers `hello`: the chat's state and whether agents are online.
    Welcome {
        /// The chat's state, if the visitor has a chat.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<ChatState>,
        /// How many agents are online.
        agents_online: usize,
        /// The email address on file for answers, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// A message is stored (or was stored before: `duplicate`).
    Ack {
        /// The client's id for it.
        client_id: ClientMessageId,
        /// The stored message.
        message_id: MessageId,
        /// True when a resend found it stored already.
        duplicate: bool,
    },
    /// A transcript line: an agent's message, a notice, or (in a replay) the visitor's own.
    Message(TranscriptLine),
    /// The chat waits for an agent.
    Queued {
        /// 1 for the next chat to be answered.
        position: usize,
        /// About how many minutes, when agents are online.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wait_minutes: Option<i64>,
    },
    /// An agent took the chat.
    Joined {
        /// The agent's name.
        agent: String,
    },
    /// The agent started or stopped typing.
    Typing {
        /// True while typing.
        typing: bool,
    },
    /// No agent is available: the chat is a ticket answered by email.
    Offline {
        /// What to show the visitor, in English (the widget says it in the
        /// visitor's language from `ticket` and `ask_email`).
        notice: String,
        /// True when no email address is on file yet: ask for one.
        ask_email: bool,
        /// The ticket the conversation is kept as.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<TicketId>,
    },
    /// The email address is recorded for answers.
    EmailSaved {
        /// The normalised address.
        email: String,
    },
    /// The callback is in the queue.
    CallbackQueued {
        /// The normalised number that will be called.
        phone: String,
        /// The place in line (1 for the next callback).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<i64>,
    },
    /// The chat is over (by the agent or the visitor).
    Ended,
    /// A frame was refused; the connection stays open.
    Error {
        /// A stable code.
        code: String,
        /// What was wrong.
        message: String,
    },
}

/// What an agent's client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentRequest {
    /// A message to the visitor of `chat`. Resent with the same `client_id` until acknowledged.
    Message {
        /// The chat.
        chat: ChatId,
        /// The client's id for it.
        client_id: ClientMessageId,
        /// The text.
        text: String,
    },
    /// The agent started or stopped typing in `chat`.
    Typing {
        /// The chat.
        chat: ChatId,
        /// True while typing.
        typing: bool,
    },
    /// The agent ends `chat`.
    End {
        /// The chat.
        chat: ChatId,
    },
    /// The agent steps away (keeping their chats, offered no new ones) or
    /// comes back (`away: false`).
    Away {
        /// True while away.
        away: bool,
    },
}

/// What the server sends an agent's client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// Sent on connecting.
    Welcome {
        /// The agent.
        agent: AgentId,
        /// How many chats they take at once.
        capacity: usize,
        /// How many chats wait in the queue.
        waiting: usize,
    },
    /// A chat is now the agent's, with its transcript so far.
    Assigned {
        /// The chat.
        chat: ChatId,
        /// Its ticket.
        ticket: TicketId,
        /// The visitor.
        visitor: VisitorId,
        /// True while the visitor is connected.
        visitor_online: bool,
        /// The transcript so far.
        transcript: Vec<TranscriptLine>,
    },
    /// A new transcript line in one of the agent's chats.
    Message {
        /// The chat.
        chat: ChatId,
        /// The line.
        #[serde(flatten)]
        line: TranscriptLine,
    },
    /// A message of the agent's is stored (or was stored before: `duplicate`).
    Ack {
        /// The client's id for it.
        client_id: ClientMessageId,
        /// The stored message.
        message_id: MessageId,
        /// True when a resend found it stored already.
        duplicate: bool,
    },
    /// The visitor started or stopped typing.
    Typing {
        /// The chat.
        chat: ChatId,
        /// True while typing.
        typing: bool,
    },
    /// The visitor connected or went away.
    Presence {
        /// The chat.
        chat: ChatId,
        /// True while the visitor is connected.
        online: bool,
    },
    /// The chat is over; its slot is free.
    Ended {
        /// The chat.
        chat: ChatId,
    },
    /// How many chats wait (sent when it changes).
    Queue {
        /// Waiting chats.
        waiting: usize,
    },
    /// A frame was refused; the connection stays open.
    Error {
        /// A stable code.
        code: String,
        /// What was wrong.
        message: String,
    },
}

/// The time to first answer assumed before any chat was answered: two minutes.
pub const DEFAULT_FIRST_ANSWER_MS: i64 = 2 * MINUTE;

/// A recent average of the time from a chat entering the queue to an
/// agent's first message in it: an exponential moving average in which each
/// new chat weighs one fifth, so the estimate follows the last dozen or so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstAnswerTimes {
    average_ms: i64,
    samples: u32,
}

impl Default for FirstAnswerTimes {
    fn default() -> Self {
        FirstAnswerTimes { average_ms: DEFAULT_FIRST_ANSWER_MS, samples: 0 }
    }
}

impl FirstAnswerTimes {
    /// Adds one chat's time to first answer.
    pub fn record(&mut self, sample_ms: i64) {
        let sample = sample_ms.max(0);
        self.average_ms = if self.samples == 0 { sample } else { (self.average_ms * 4 + sample) / 5 };
        self.samples = self.samples.saturating_add(1);
    }

    /// The current average (the default before the first sample).
    pub fn average_ms(&self) -> i64 {
        self.average_ms
    }
}

/// The expected wait of a chat with `ahead` chats before it in the queue,
/// when `agents_online` agents are online and a chat's first answer takes
/// `average_first_answer_ms` on average: the agents take the waiting chats
/// `agents_online` at a time, each round lasting about one average first
/// answer, so the chat is answered in round `ahead / agents_online + 1`.
/// `None` when no agent is online (the chat goes to email instead).
pub fn expected_wait_ms(ahead: usize, agents_online: usize, average_first_answer_ms: i64) -> Option<i64> {
    if agents_online == 0 {
        return None;
    }
    let rounds = i64::try_from(ahead / agents_online + 1).unwrap_or(i64::MAX);
    Some(rounds.saturating_mul(average_first_answer_ms.max(0)))
}

/// A wait in whole minutes as shown to the visitor: rounded up, at least 1.
pub fn wait_minutes(wait_ms: i64) -> i64 {
    (wait_ms.max(0) + MINUTE - 1).div_euclid(MINUTE).max(1)
}

/// The notice a visitor gets when the chat becomes a ticket answered by email.
pub fn offline_notice(ticket: Option<TicketId>, has_email: bool) -> String {
    let ticket = ticket.map_or_else(String::new, |ticket| format!(" (ticket #{ticket})"));
    if has_email {
        format!(
            "No agent is available right now. Your conversation{ticket} is kept as a ticket, and we will answer you \
             by email."
        )
    } else {
        format!(
            "No agent is available right now. Your conversation{ticket} is kept as a ticket: leave your email \
             address and we will answer you by email."
        )
    }
}

#[cfg(test)]
mod tests;
