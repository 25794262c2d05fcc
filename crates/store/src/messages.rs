//! Attachment downloads. A file is read back only through the ticket it is
//! on: an agent's through a ticket they may see, a customer's through their
//! own ticket's public messages. (Writing and loading messages and their
//! attachments is the kernel's: `kernel::messages`.)

use rapport_core::{AttachmentMeta, Message, MessageId, TicketId, Viewer};

use crate::Store;
use crate::db::{Conn, args};
use crate::error::StoreError;
use crate::kernel::messages::load_messages_by_id;

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
                    let messages = crate::kernel::messages::load_conversation(conn, ticket).await?;
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
