//! Messages: the rows of a message and its attachments (content stored once
//! per hash), numbering and inserting them, and loading them back with their
//! attachment metadata. Tickets, intake, merges and the outbox all write
//! messages through here. Downloads read a file back only through the
//! ticket it is on: an agent's through a ticket they may see, a customer's
//! through their own ticket's public messages.

use std::collections::HashMap;

use rapport_core::{AttachmentMeta, Channel, Message, MessageId, TicketId, Viewer};
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Conn, Insert, Statement, args};
use crate::error::StoreError;
use crate::rows::{AttachmentRow, MessageRow, author_columns};
use crate::tickets::NewMessage;

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

/// A stored file with its bytes: what a download serves and a send carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    /// Name, type, size and hash as stored with the message.
    pub meta: AttachmentMeta,
    /// The bytes.
    pub content: Vec<u8>,
}

impl Store {
    /// The `index`th file (0-based, in the order attached) of message
    /// `message` on ticket `ticket` or a ticket merged into it, when `viewer`
    /// may see the ticket. A hidden ticket is `NotFound("ticket")`, like the
    /// ticket itself; a message of another ticket is `NotFound("message")`.
    pub async fn get_ticket_attachment(
        &self,
        ticket: TicketId,
        message: MessageId,
        index: usize,
        viewer: &Viewer,
    ) -> Result<AttachmentFile, StoreError> {
        self.get_ticket(ticket, Some(viewer)).await?;
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let messages = crate::merge::load_conversation(conn, ticket).await?;
                    let found = messages.into_iter().find(|candidate| candidate.id == message);
                    let found = found.ok_or(StoreError::NotFound("message"))?;
                    file_of(conn, found, index).await
                })
            })
            .await
    }

    /// The `index`th file of message `message` on the customer's own ticket,
    /// as the help pages show it: internal notes and other customers'
    /// tickets are `NotFound`.
    pub async fn get_customer_attachment(
        &self,
        session: &crate::PortalSession,
        ticket: TicketId,
        message: MessageId,
        index: usize,
    ) -> Result<AttachmentFile, StoreError> {
        let portal = self.get_customer_ticket(session, ticket).await?;
        let found = portal.messages.into_iter().find(|candidate| candidate.id == message);
        let found = found.ok_or(StoreError::NotFound("message"))?;
        self.db.read(move |conn| Box::pin(file_of(conn, found, index))).await
    }

    /// Every file of a message with its bytes, in the order attached: what
    /// the outbox hands to a channel with the message.
    pub async fn list_message_files(&self, message: MessageId) -> Result<Vec<AttachmentFile>, StoreError> {
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let Some(found) = load_messages_by_id(conn, message).await?.into_iter().next() else {
                        return Err(StoreError::NotFound("message"));
                    };
                    let mut files = Vec::with_capacity(found.attachments.len());
                    for meta in found.attachments {
                        let content = attachment_content(conn, &meta.sha256).await?;
                        files.push(AttachmentFile { meta, content });
                    }
                    Ok(files)
                })
            })
            .await
    }
}

async fn file_of(conn: &mut Conn<'_>, message: Message, index: usize) -> Result<AttachmentFile, StoreError> {
    let meta = message.attachments.into_iter().nth(index).ok_or(StoreError::NotFound("attachment"))?;
    let content = attachment_content(conn, &meta.sha256).await?;
    Ok(AttachmentFile { meta, content })
}

async fn attachment_content(conn: &mut Conn<'_>, sha256: &str) -> Result<Vec<u8>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct ContentRow {
        content: Vec<u8>,
    }
    let row: Option<ContentRow> =
        conn.fetch_optional("SELECT content FROM attachments WHERE sha256 = $1", args![sha256.to_owned()]).await?;
    row.map(|row| row.content).ok_or(StoreError::NotFound("attachment"))
}
