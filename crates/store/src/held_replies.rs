//! Held replies: an email, messaging or SMS reply sent from the workspace
//! waits here for its team's undo window before it is filed on the ticket
//! and queued for the outbox. Its agent may take it back until then. The
//! release deletes the row and adds the message (and the status asked for)
//! in one transaction, so a reply is released once even with several
//! instances, and a reply the ticket refuses at release keeps its row with
//! the reason, for its agent to take back: nothing written is lost.

use rapport_core::event::{self, TicketPatch};
use rapport_core::{AgentId, Channel, Message, Status, TeamId, Ticket, TicketId, Timestamp, Viewer};

use crate::Store;
use crate::db::{IdRow, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::messages::{NewAttachment, NewMessage};
use crate::kernel::tickets::{add_message_to, customer_tier, load_ticket, save_decision, visible};

/// The undo window when a ticket has no team, and a new team's.
pub const DEFAULT_UNDO_SECONDS: i64 = 10;
/// The longest undo window a team may choose.
pub const MAX_UNDO_SECONDS: i64 = 120;

/// A reply to hold for its undo window.
#[derive(Debug, Clone)]
pub struct NewHeldReply {
    /// The ticket it answers.
    pub ticket: TicketId,
    /// Who wrote it.
    pub agent: AgentId,
    /// The text, already checked.
    pub body: String,
    /// The channel the agent chose; `None` for the ticket's own route.
    pub channel: Option<Channel>,
    /// The status to set once it is filed.
    pub status: Option<Status>,
    /// Its files.
    pub attachments: Vec<NewAttachment>,
    /// Now.
    pub now: Timestamp,
    /// How long it may be taken back, in milliseconds.
    pub window_ms: i64,
}

/// A reply in its undo window, or one whose release was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldReply {
    /// Id.
    pub id: i64,
    /// The ticket it answers.
    pub ticket: TicketId,
    /// Who wrote it.
    pub agent: AgentId,
    /// The text.
    pub body: String,
    /// The channel chosen, if any.
    pub channel: Option<Channel>,
    /// The status to set once filed.
    pub status: Option<Status>,
    /// The names of its files.
    pub filenames: Vec<String>,
    /// When it was sent.
    pub created_at: Timestamp,
    /// When it is filed and goes out.
    pub due_at: Timestamp,
    /// Why the ticket refused it at release, if it did.
    pub failure: Option<String>,
}

#[derive(sqlx::FromRow)]
struct HeldRow {
    id: i64,
    ticket_id: i64,
    agent_id: i64,
    body: String,
    channel: Option<String>,
    status: Option<String>,
    created_at: i64,
    due_at: i64,
    failure: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FileRow {
    filename: String,
    content_type: String,
    content: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct WindowRow {
    reply_undo_seconds: i64,
}

const HELD_COLUMNS: &str = "id, ticket_id, agent_id, body, channel, status, created_at, due_at, failure";

impl HeldRow {
    fn into_held(self, filenames: Vec<String>) -> HeldReply {
        HeldReply {
            id: self.id,
            ticket: TicketId(self.ticket_id),
            agent: AgentId(self.agent_id),
            body: self.body,
            // Both columns are written from the enums; an unknown word reads as none.
            channel: self.channel.and_then(|word| word.parse().ok()),
            status: self.status.and_then(|word| Status::ALL.into_iter().find(|status| status.as_str() == word)),
            filenames,
            created_at: Timestamp(self.created_at),
            due_at: Timestamp(self.due_at),
            failure: self.failure,
        }
    }
}

impl Store {
    /// The undo window of `team`'s replies in seconds (the default without a team).
    pub async fn undo_seconds(&self, team: Option<TeamId>) -> Result<i64, StoreError> {
        let Some(team) = team else { return Ok(DEFAULT_UNDO_SECONDS) };
        let row: Option<WindowRow> =
            self.db.fetch_optional("SELECT reply_undo_seconds FROM teams WHERE id = $1", args![team.0]).await?;
        Ok(row.map_or(DEFAULT_UNDO_SECONDS, |row| row.reply_undo_seconds))
    }

    /// Holds a reply until its window ends. The ticket must be visible to
    /// `viewer` and still take replies (not closed), or nothing is held.
    pub async fn hold_reply(&self, viewer: Viewer, reply: NewHeldReply) -> Result<HeldReply, StoreError> {
        let filenames: Vec<String> = reply.attachments.iter().map(|file| file.filename.clone()).collect();
        let held = reply.clone();
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let ticket = visible(load_ticket(conn, reply.ticket, false).await?, Some(&viewer))?;
                    if ticket.status == Status::Closed {
                        return Err(Rejection::from(rapport_core::event::MessageError::Closed).into());
                    }
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO held_replies (ticket_id, agent_id, body, channel, status, created_at, due_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                            args![
                                reply.ticket.0,
                                reply.agent.0,
                                reply.body,
                                reply.channel.map(|channel| channel.as_str().to_owned()),
                                reply.status.map(|status| status.as_str().to_owned()),
                                reply.now.0,
                                reply.now.0.saturating_add(reply.window_ms)
                            ],
                        )
                        .await?;
                    for (position, file) in reply.attachments.into_iter().enumerate() {
                        conn.execute(
                            "INSERT INTO held_reply_files (held_id, position, filename, content_type, content) \
                             VALUES ($1, $2, $3, $4, $5)",
                            args![
                                row.id,
                                i64::try_from(position).unwrap_or(i64::MAX),
                                file.filename,
                                file.content_type,
                                file.content
                            ],
                        )
                        .await?;
                    }
                    Ok(row.id)
                })
            })
            .await?;
        Ok(HeldReply {
            id,
            ticket: held.ticket,
            agent: held.agent,
            body: held.body,
            channel: held.channel,
            status: held.status,
            filenames,
            created_at: held.now,
            due_at: Timestamp(held.now.0.saturating_add(held.window_ms)),
            failure: None,
        })
    }

    /// `agent`'s held replies on `ticket`, oldest first.
    pub async fn held_replies_of(&self, ticket: TicketId, agent: AgentId) -> Result<Vec<HeldReply>, StoreError> {
        let sql = format!("SELECT {HELD_COLUMNS} FROM held_replies WHERE ticket_id = $1 AND agent_id = $2 ORDER BY id");
        let rows: Vec<HeldRow> = self.db.fetch_all(sqlx::AssertSqlSafe(sql), args![ticket.0, agent.0]).await?;
        let mut held = Vec::with_capacity(rows.len());
        for row in rows {
            let names = self.held_files(row.id).await?.into_iter().map(|file| file.filename).collect();
            held.push(row.into_held(names));
        }
        Ok(held)
    }

    /// Takes back `agent`'s held reply `id` (in its window, or refused at
    /// release): deletes it and returns it, with its files, so the text can
    /// go back to the reply box. `None` when it is gone (released already).
    pub async fn take_back_reply(
        &self,
        id: i64,
        agent: AgentId,
    ) -> Result<Option<(HeldReply, Vec<NewAttachment>)>, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let sql = format!("SELECT {HELD_COLUMNS} FROM held_replies WHERE id = $1 AND agent_id = $2");
                let Some(row) = conn.fetch_optional::<HeldRow>(sqlx::AssertSqlSafe(sql), args![id, agent.0]).await?
                else {
                    return Ok(None);
                };
                let files: Vec<FileRow> = conn
                    .fetch_all(
                        "SELECT filename, content_type, content FROM held_reply_files \
                         WHERE held_id = $1 ORDER BY position",
                        args![id],
                    )
                    .await?;
                conn.execute("DELETE FROM held_reply_files WHERE held_id = $1", args![id]).await?;
                let deleted = conn.execute("DELETE FROM held_replies WHERE id = $1", args![id]).await?;
                if deleted == 0 {
                    return Ok(None);
                }
                let names = files.iter().map(|file| file.filename.clone()).collect();
                let attachments = files.into_iter().map(attachment).collect();
                Ok(Some((row.into_held(names), attachments)))
            })
        })
        .await
    }

    /// Held replies whose window has ended by `now` and whose release was
    /// not refused, oldest first, with their files.
    pub async fn due_held_replies(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(HeldReply, Vec<NewAttachment>)>, StoreError> {
        let sql = format!(
            "SELECT {HELD_COLUMNS} FROM held_replies WHERE due_at <= $1 AND failure IS NULL ORDER BY due_at, id LIMIT $2"
        );
        let rows: Vec<HeldRow> = self.db.fetch_all(sqlx::AssertSqlSafe(sql), args![now.0, limit]).await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let files = self.held_files(row.id).await?;
            let names = files.iter().map(|file| file.filename.clone()).collect();
            due.push((row.into_held(names), files.into_iter().map(attachment).collect()));
        }
        Ok(due)
    }

    /// Releases held reply `id`: deletes it and adds `message` to its ticket
    /// as `viewer` (then sets `status`, if asked), all in one transaction.
    /// `None` when the reply is gone (taken back, or released by another
    /// instance). A refusal leaves the row as it was; see [`Store::refuse_held_reply`].
    pub async fn release_held_reply(
        &self,
        id: i64,
        viewer: Viewer,
        message: NewMessage,
        status: Option<Status>,
    ) -> Result<Option<(Ticket, Message)>, StoreError> {
        let options = self.options.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let row: Option<IdRow> = conn
                    .fetch_optional(
                        "SELECT ticket_id AS id FROM held_replies WHERE id = $1 AND failure IS NULL",
                        args![id],
                    )
                    .await?;
                let Some(row) = row else { return Ok(None) };
                conn.execute("DELETE FROM held_reply_files WHERE held_id = $1", args![id]).await?;
                if conn.execute("DELETE FROM held_replies WHERE id = $1 AND failure IS NULL", args![id]).await? == 0 {
                    return Ok(None);
                }
                let ticket = visible(load_ticket(conn, TicketId(row.id), true).await?, Some(&viewer))?;
                let now = message.now;
                let (ticket, message) = add_message_to(conn, &ticket, message).await?;
                let Some(status) = status.filter(|status| *status != ticket.status) else {
                    return Ok(Some((ticket, message)));
                };
                let tier = customer_tier(conn, ticket.customer).await?;
                let patch = TicketPatch { status: Some(status), ..TicketPatch::default() };
                let decision =
                    event::patch(&ticket, patch, &viewer, &tier, &options.matrix, now).map_err(Rejection::from)?;
                save_decision(conn, &ticket, &decision).await?;
                Ok(Some((decision.ticket, message)))
            })
        })
        .await
    }

    /// Keeps held reply `id` with why its ticket refused it, for its agent
    /// to take back; it is not tried again.
    pub async fn refuse_held_reply(&self, id: i64, failure: String) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute("UPDATE held_replies SET failure = $1 WHERE id = $2", args![failure, id]).await?;
                Ok(())
            })
        })
        .await
    }

    async fn held_files(&self, held: i64) -> Result<Vec<FileRow>, StoreError> {
        self.db
            .fetch_all(
                "SELECT filename, content_type, content FROM held_reply_files \
                 WHERE held_id = $1 ORDER BY position",
                args![held],
            )
            .await
    }
}

fn attachment(file: FileRow) -> NewAttachment {
    NewAttachment { filename: file.filename, content_type: file.content_type, content: file.content }
}
