//! The change feed: what the live parts of the workspace follow. Every change
//! to a ticket is an event row (the append-only log), so "what changed since
//! event N" is one indexed read. A process learns of its own commits at once
//! ([`Store::commits`]); another instance's commits are found by reading
//! again (the server polls every second), which PostgreSQL's LISTEN/NOTIFY
//! can replace without changing what is read.
//!
//! On PostgreSQL, ids are handed out before commit, so a transaction that
//! commits late can land below an id already read; readers therefore look
//! back a little ([`LOOK_BACK`]) and skip what they delivered before.

use rapport_core::TicketId;

use crate::Store;
use crate::db::args;
use crate::error::StoreError;

/// How far below the newest id read a reader looks again on PostgreSQL.
pub const LOOK_BACK: i64 = 256;

/// One change: an event of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The event's id (increasing).
    pub event: i64,
    /// The ticket it changed.
    pub ticket: TicketId,
    /// True when it added a message (a reply, a note or the customer's).
    pub message: bool,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: i64,
    ticket_id: i64,
    kind: String,
}

#[derive(sqlx::FromRow)]
struct NewestRow {
    newest: Option<i64>,
}

impl Store {
    /// Changes with an id above `after`, oldest first, at most `limit`.
    pub async fn list_changes(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        let rows: Vec<ChangeRow> = self
            .db
            .fetch_all("SELECT id, ticket_id, kind FROM events WHERE id > $1 ORDER BY id LIMIT $2", args![after, limit])
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Change { event: row.id, ticket: TicketId(row.ticket_id), message: row.kind == "message_added" })
            .collect())
    }

    /// The newest event's id (0 when there is none): where a new reader starts.
    pub async fn newest_change(&self) -> Result<i64, StoreError> {
        let row: NewestRow = self.db.fetch_one("SELECT MAX(id) AS newest FROM events", args![]).await?;
        Ok(row.newest.unwrap_or(0))
    }

    /// A receiver that sees a new value after each write this process commits.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }
}
