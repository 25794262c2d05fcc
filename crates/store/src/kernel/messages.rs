//! The rows of a message and its attachments (content stored once per
//! hash): numbering and inserting them, and loading them back with their
//! attachment metadata, a merged ticket's conversation included.

use std::collections::HashMap;

use rapport_core::{AttachmentMeta, Author, Channel, Identity, Message, MessageId, MessageKind, TicketId, Timestamp};
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;

use crate::db::{Arg, Conn, IdRow, Insert, Statement, args};
use crate::error::StoreError;
use crate::rows::{AttachmentRow, MessageRow, author_columns};

/// A file to attach to a message.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// File name as given.
    pub filename: String,
    /// MIME type as given.
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// A message to add to an existing ticket.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Inbound, reply or note.
    pub kind: MessageKind,
    /// Who wrote it.
    pub author: Author,
    /// Text.
    pub text: String,
    /// Sanitised HTML.
    pub html: Option<String>,
    /// Files.
    pub attachments: Vec<NewAttachment>,
    /// Where it came from or goes to (channel ids, delivery, sender).
    pub origin: MessageOrigin,
    /// Now.
    pub now: Timestamp,
}

/// The channel side of a message: empty for messages typed into Rapport.
#[derive(Debug, Clone, Default)]
pub struct MessageOrigin {
    /// The channel's id (an email's Message-ID).
    pub external_id: Option<String>,
    /// For outbound messages: the delivery state.
    pub delivery: Option<rapport_core::outbox::DeliveryState>,
    /// The full text before quoted history and signatures were stripped.
    pub original_text: Option<String>,
    /// For inbound messages: the identity that sent it.
    pub sender: Option<Identity>,
    /// For a public reply: the channel the agent chose; `None` means the
    /// ticket's channel, or the customer's most recent channel that reaches
    /// them (core's `reply::route`).
    pub channel: Option<Channel>,
    /// For a public reply: why it took its channel (set by the store when it
    /// plans the delivery; a caller sets it only for live-chat messages).
    pub route: Option<rapport_core::reply::ReplyRoute>,
}

pub(crate) static MESSAGE_INSERT: Insert = Insert {
    head: "INSERT INTO messages (id, ticket_id, kind, author_type, author_id, channel, text, html, created_at, \
           external_id, delivery, original_text, sender_kind, sender_value, route) VALUES",
    tail: "",
    width: 15,
    order: 4,
};

pub(crate) static ATTACHMENT_INSERT: Insert = Insert {
    head: "INSERT INTO attachments (sha256, size, content) VALUES",
    tail: " ON CONFLICT DO NOTHING",
    width: 3,
    order: 5,
};

pub(crate) static MESSAGE_ATTACHMENT_INSERT: Insert = Insert {
    head: "INSERT INTO message_attachments (message_id, position, sha256, filename, content_type) VALUES",
    tail: "",
    width: 5,
    order: 6,
};

/// The inserts of a message (numbered by the caller) and its attachments (content deduplicated by hash).
pub(crate) fn message_insert(
    id: MessageId,
    ticket: TicketId,
    channel: Channel,
    message: &NewMessage,
) -> Vec<Statement> {
    let (author_type, author_id) = author_columns(message.author);
    let mut statements = vec![(
        &MESSAGE_INSERT,
        args![
            id.0,
            ticket.0,
            message.kind.as_str(),
            author_type,
            author_id,
            channel.as_str(),
            message.text.as_str(),
            message.html.clone(),
            message.now.0,
            message.origin.external_id.clone(),
            message.origin.delivery.map(|state| state.as_str().to_owned()),
            message.origin.original_text.clone(),
            message.origin.sender.as_ref().map(|sender| sender.kind.as_str().to_owned()),
            message.origin.sender.as_ref().map(|sender| sender.value.clone()),
            message.origin.route.map(|route| route.encode()),
        ],
    )];
    for (position, attachment) in message.attachments.iter().enumerate() {
        let sha256 = hex::encode(Sha256::digest(&attachment.content));
        statements.push((
            &ATTACHMENT_INSERT,
            args![sha256.as_str(), attachment.content.len() as i64, attachment.content.clone()],
        ));
        statements.push((
            &MESSAGE_ATTACHMENT_INSERT,
            args![id.0, position as i64, sha256, attachment.filename.as_str(), attachment.content_type.as_str()],
        ));
    }
    statements
}

/// Numbers and inserts a message.
pub(crate) async fn insert_message(
    conn: &mut Conn<'_>,
    ticket: TicketId,
    channel: Channel,
    message: &NewMessage,
) -> Result<MessageId, StoreError> {
    let id = MessageId(conn.next_id("messages").await?);
    conn.execute_all(message_insert(id, ticket, channel, message)).await?;
    Ok(id)
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "id, ticket_id, kind, author_type, author_id, channel, text, html, external_id, delivery, route, created_at";

pub(crate) async fn load_messages(conn: &mut Conn<'_>, ticket: TicketId) -> Result<Vec<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE ticket_id = $1 ORDER BY id");
    let rows: Vec<MessageRow> = conn.fetch_all(AssertSqlSafe(sql), args![ticket.0]).await?;
    let attachments: Vec<AttachmentRow> = conn
        .fetch_all(
            "SELECT ma.message_id, ma.sha256, ma.filename, ma.content_type, a.size FROM message_attachments ma \
             JOIN attachments a ON a.sha256 = ma.sha256 JOIN messages m ON m.id = ma.message_id \
             WHERE m.ticket_id = $1 ORDER BY ma.message_id, ma.position",
            args![ticket.0],
        )
        .await?;
    attach(rows, attachments)
}

pub(crate) async fn load_messages_by_id(conn: &mut Conn<'_>, message: MessageId) -> Result<Vec<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
    let rows: Vec<MessageRow> = conn.fetch_all(AssertSqlSafe(sql), args![message.0]).await?;
    let attachments: Vec<AttachmentRow> = conn
        .fetch_all(
            "SELECT ma.message_id, ma.sha256, ma.filename, ma.content_type, a.size FROM message_attachments ma \
             JOIN attachments a ON a.sha256 = ma.sha256 WHERE ma.message_id = $1 ORDER BY ma.position",
            args![message.0],
        )
        .await?;
    attach(rows, attachments)
}

pub(crate) fn attach(rows: Vec<MessageRow>, attachments: Vec<AttachmentRow>) -> Result<Vec<Message>, StoreError> {
    let mut by_message: HashMap<i64, Vec<AttachmentMeta>> = HashMap::new();
    for row in attachments {
        by_message.entry(row.message_id).or_default().push(row.into());
    }
    rows.into_iter()
        .map(|row| {
            let files = by_message.remove(&row.id).unwrap_or_default();
            row.into_message(files)
        })
        .collect()
}

/// A ticket's messages, oldest first. For a survivor of merges, the
/// messages of every ticket merged into it too, by time, then id.
pub(crate) async fn load_conversation(conn: &mut Conn<'_>, ticket: TicketId) -> Result<Vec<Message>, StoreError> {
    let family = merged_family(conn, ticket).await?;
    if family.len() == 1 {
        return load_messages(conn, ticket).await;
    }
    let placeholders: Vec<String> = (1..=family.len()).map(|index| format!("${index}")).collect();
    let placeholders = placeholders.join(", ");
    let values = || family.iter().map(|ticket| Arg::from(ticket.0)).collect::<Vec<_>>();
    let sql =
        format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE ticket_id IN ({placeholders}) ORDER BY created_at, id");
    let rows: Vec<MessageRow> = conn.fetch_all(AssertSqlSafe(sql), values()).await?;
    let sql = format!(
        "SELECT ma.message_id, ma.sha256, ma.filename, ma.content_type, a.size FROM message_attachments ma \
         JOIN attachments a ON a.sha256 = ma.sha256 JOIN messages m ON m.id = ma.message_id \
         WHERE m.ticket_id IN ({placeholders}) ORDER BY ma.message_id, ma.position"
    );
    let attachments: Vec<AttachmentRow> = conn.fetch_all(AssertSqlSafe(sql), values()).await?;
    attach(rows, attachments)
}

/// The ticket and every ticket merged into it, directly or through earlier
/// merges, the ticket itself first.
pub(crate) async fn merged_family(conn: &mut Conn<'_>, ticket: TicketId) -> Result<Vec<TicketId>, StoreError> {
    let mut family = vec![ticket];
    let mut next = 0;
    // Merges cannot form a cycle (a merged ticket is never a survivor), and
    // the cap keeps a corrupt database from looping.
    while next < family.len() && family.len() < MAX_FAMILY {
        let rows: Vec<IdRow> =
            conn.fetch_all("SELECT id FROM tickets WHERE merged_into = $1 ORDER BY id", args![family[next].0]).await?;
        family.extend(rows.into_iter().map(|row| TicketId(row.id)));
        next += 1;
    }
    Ok(family)
}

/// The most tickets gathered into one conversation (a guard, not a limit anyone meets).
pub(crate) const MAX_FAMILY: usize = 500;
