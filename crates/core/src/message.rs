//! Messages on a ticket: what the customer wrote, public replies and internal notes.

use crate::ids::{AgentId, CustomerId, MessageId, TicketId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// From the customer.
    Inbound,
    /// Public, from an agent or the system; goes out to the customer.
    Reply,
    /// Internal, never shown to the customer.
    Note,
}

impl MessageKind {
    /// The word used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Inbound => "inbound",
            MessageKind::Reply => "reply",
            MessageKind::Note => "note",
        }
    }

    /// Parses the database/JSON word.
    pub fn parse(word: &str) -> Option<MessageKind> {
        [MessageKind::Inbound, MessageKind::Reply, MessageKind::Note].into_iter().find(|kind| kind.as_str() == word)
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Author {
    /// The customer.
    Customer(CustomerId),
    /// An agent.
    Agent(AgentId),
    /// Rapport itself (automations).
    System,
}

/// A file attached to a message; the bytes live in the store, addressed by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    /// The file name as given.
    pub filename: String,
    /// The MIME type as given.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

/// One message on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Id.
    pub id: MessageId,
    /// The ticket it belongs to.
    pub ticket: TicketId,
    /// Inbound, reply or note.
    pub kind: MessageKind,
    /// Who wrote it.
    pub author: Author,
    /// The channel it arrived on or leaves on.
    pub channel: crate::ticket::Channel,
    /// Plain text.
    pub text: String,
    /// Sanitised HTML, where the channel gave HTML.
    pub html: Option<String>,
    /// Attached files.
    pub attachments: Vec<AttachmentMeta>,
    /// The channel's id for it (an email's Message-ID), inbound or outbound.
    pub external_id: Option<String>,
    /// Where an outbound message stands; `None` for inbound messages and notes.
    pub delivery: Option<crate::outbox::DeliveryState>,
    /// For a public reply: why it took its channel.
    pub route: Option<crate::reply::ReplyRoute>,
    /// When it was written.
    pub created_at: Timestamp,
}

/// The largest message text accepted, in bytes.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// Checks a message text: not blank, not over [`MAX_TEXT_BYTES`].
pub fn check_text(text: &str) -> Result<(), TextError> {
    if text.trim().is_empty() {
        Err(TextError::Empty)
    } else if text.len() > MAX_TEXT_BYTES {
        Err(TextError::TooLong)
    } else {
        Ok(())
    }
}

/// A message text that cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Blank.
    #[error("must not be empty")]
    Empty,
    /// Over the limit.
    #[error("is longer than 256 KiB")]
    TooLong,
}
