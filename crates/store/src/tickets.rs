//! Tickets: create, read, patch, add messages, auto-close. The steps these
//! share with intake, chat, merges and jobs (opening a ticket, loading and
//! saving it, adding a message) are the kernel's (`kernel::create`,
//! `kernel::tickets`, `kernel::messages`); listing is `ticket_list`.

use rapport_core::event::{self, TicketPatch};
use rapport_core::{Event, Message, Ticket, TicketId, Timestamp, Viewer};

use crate::Store;
use crate::db::{IdRow, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::create::{CreateTicket, CreatedTicket, create_one};
use crate::kernel::events::load_events;
use crate::kernel::messages::NewMessage;
use crate::kernel::tickets::{add_message_to, customer_tier, load_ticket, save_decision, visible};

/// A ticket with its messages and events.
#[derive(Debug, Clone)]
pub struct TicketDetail {
    /// The ticket.
    pub ticket: Ticket,
    /// Its messages, oldest first.
    pub messages: Vec<Message>,
    /// Its events, oldest first.
    pub events: Vec<Event>,
}

impl Store {
    /// Opens a ticket with its first inbound message, creating the customer if
    /// no identity matches. With an idempotency key, a retry returns the first result.
    pub async fn create_ticket(&self, request: CreateTicket) -> Result<CreatedTicket, StoreError> {
        let options = self.options.clone();
        match &self.writer {
            // The common case on SQLite: batched with the other creates of the moment.
            Some(writer) if request.idempotency.is_none() => {
                let created = writer.create(request, options).await;
                if created.is_ok() {
                    self.committed();
                }
                created
            }
            _ => self.write(move |conn| Box::pin(async move { create_one(conn, request, &options).await })).await,
        }
    }

    /// The ticket, if it exists and `viewer` (when given) may see it.
    pub async fn get_ticket(&self, id: TicketId, viewer: Option<&Viewer>) -> Result<Ticket, StoreError> {
        let ticket = self.db.read(move |conn| Box::pin(load_ticket(conn, id, false))).await?;
        visible(ticket, viewer)
    }

    /// The ticket with its messages and events.
    pub async fn get_ticket_detail(&self, id: TicketId, viewer: Option<&Viewer>) -> Result<TicketDetail, StoreError> {
        let ticket = self.get_ticket(id, viewer).await?;
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    // A survivor of merges shows the messages of the tickets merged into it too.
                    let messages = crate::kernel::messages::load_conversation(conn, id).await?;
                    let events = load_events(conn, id).await?;
                    Ok(TicketDetail { ticket, messages, events })
                })
            })
            .await
    }

    /// The ticket's events, oldest first.
    pub async fn list_events(&self, id: TicketId) -> Result<Vec<Event>, StoreError> {
        self.db.read(move |conn| Box::pin(load_events(conn, id))).await
    }

    /// Applies an agent's patch. `expected_version` (from `If-Match`) must be
    /// current, or the write is refused as stale.
    pub async fn patch_ticket(
        &self,
        id: TicketId,
        viewer: Viewer,
        patch: TicketPatch,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Ticket, StoreError> {
        let options = self.options.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let ticket = visible(load_ticket(conn, id, true).await?, Some(&viewer))?;
                if let Some(expected) = expected_version
                    && expected != ticket.version
                {
                    return Err(StoreError::Stale { expected, current: ticket.version });
                }
                let tier = customer_tier(conn, ticket.customer).await?;
                let decision =
                    event::patch(&ticket, patch, &viewer, &tier, &options.matrix, now).map_err(Rejection::from)?;
                save_decision(conn, &ticket, &decision).await?;
                Ok(decision.ticket)
            })
        })
        .await
    }

    /// Adds a message. `viewer` is checked for visibility when given (agents);
    /// customer messages arrive through intake without a viewer.
    pub async fn add_message(
        &self,
        id: TicketId,
        viewer: Option<Viewer>,
        message: NewMessage,
    ) -> Result<(Ticket, Message), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let ticket = visible(load_ticket(conn, id, true).await?, viewer.as_ref())?;
                add_message_to(conn, &ticket, message).await
            })
        })
        .await
    }

    /// Closes every solved ticket solved at least `after_ms` before `now`;
    /// returns how many were closed.
    pub async fn auto_close(&self, after_ms: i64, now: Timestamp) -> Result<usize, StoreError> {
        let cutoff = now.0.saturating_sub(after_ms);
        let due: Vec<IdRow> = self
            .db
            .fetch_all(
                "SELECT id FROM tickets WHERE status = 'solved' AND solved_at <= $1 ORDER BY solved_at LIMIT 1000",
                args![cutoff],
            )
            .await?;
        let mut closed = 0;
        for row in due {
            let id = TicketId(row.id);
            let done = self
                .write(move |conn| {
                    Box::pin(async move {
                        let ticket = load_ticket(conn, id, true).await?;
                        if !rapport_core::ticket::due_for_auto_close(&ticket, after_ms, now) {
                            return Ok(false);
                        }
                        let decision = event::auto_close(&ticket, now).map_err(Rejection::from)?;
                        save_decision(conn, &ticket, &decision).await?;
                        Ok(true)
                    })
                })
                .await?;
            closed += usize::from(done);
        }
        Ok(closed)
    }

    /// How many tickets exist.
    pub async fn count_tickets(&self) -> Result<i64, StoreError> {
        let row: IdRow = self.db.fetch_one("SELECT COUNT(*) AS id FROM tickets", vec![]).await?;
        Ok(row.id)
    }

    /// An attachment's bytes by SHA-256.
    pub async fn get_attachment(&self, sha256: String) -> Result<Vec<u8>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct ContentRow {
            content: Vec<u8>,
        }
        let row: Option<ContentRow> =
            self.db.fetch_optional("SELECT content FROM attachments WHERE sha256 = $1", args![sha256]).await?;
        row.map(|row| row.content).ok_or(StoreError::NotFound("attachment"))
    }
}
