//! An admin's decisions on the quarantine: one held message read whole,
//! filed on a ticket after a re-run, or discarded. Each decision is
//! recorded in the audit log in its own transaction, and only a held message
//! can be decided (a second decision on the same message changes nothing).

use rapport_core::{Actor, TicketId, Timestamp};
use serde_json::json;

use crate::Store;
use crate::audit::{NewAuditEntry, insert_audit};
use crate::db::{Conn, args};
use crate::error::StoreError;
use crate::intake::{QuarantineItem, QuarantineRow};

const COLUMNS: &str = "id, channel, reason, detail, state, CAST(LENGTH(raw) AS BIGINT) AS size, created_at, ticket_id";

impl Store {
    /// One quarantined message's card.
    pub async fn get_quarantined(&self, id: i64) -> Result<QuarantineItem, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM quarantine WHERE id = $1");
        let row: Option<QuarantineRow> = self.db.fetch_optional(sqlx::AssertSqlSafe(sql), args![id]).await?;
        QuarantineItem::try_from(row.ok_or(StoreError::NotFound("quarantined message"))?)
    }

    /// Marks a held message filed on `ticket` after a re-run, recorded as
    /// done by `by`. `false`, changing nothing, when it was not held any more.
    pub async fn resolve_quarantined(
        &self,
        id: i64,
        ticket: Option<TicketId>,
        by: Actor,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let ticket = ticket.map(|ticket| ticket.0);
                let changed = conn
                    .execute(
                        "UPDATE quarantine SET state = 'resolved', resolved_at = $1, ticket_id = $2 \
                         WHERE id = $3 AND state = 'held'",
                        args![now.0, ticket, id],
                    )
                    .await?;
                decided(conn, id, changed, by, "filed", json!({"state": "resolved", "ticket": ticket}), now).await
            })
        })
        .await
    }

    /// Discards a held message (kept for the record as `ignored`), recorded
    /// as done by `by`. `false`, changing nothing, when it was not held any more.
    pub async fn discard_quarantined(&self, id: i64, by: Actor, now: Timestamp) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let changed = conn
                    .execute(
                        "UPDATE quarantine SET state = 'ignored', resolved_at = $1 WHERE id = $2 AND state = 'held'",
                        args![now.0, id],
                    )
                    .await?;
                decided(conn, id, changed, by, "discarded", json!({"state": "ignored"}), now).await
            })
        })
        .await
    }
}

/// After a decision's update: records it, or says why nothing changed.
async fn decided(
    conn: &mut Conn<'_>,
    id: i64,
    changed: u64,
    by: Actor,
    verb: &str,
    new: serde_json::Value,
    now: Timestamp,
) -> Result<bool, StoreError> {
    if changed == 0 {
        let sql = format!("SELECT {COLUMNS} FROM quarantine WHERE id = $1");
        let row: Option<QuarantineRow> = conn.fetch_optional(sqlx::AssertSqlSafe(sql), args![id]).await?;
        return match row {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound("quarantined message")),
        };
    }
    let entry = NewAuditEntry::of(by, "quarantine", id, verb, Some(json!({"state": "held"})), Some(new), now);
    insert_audit(conn, &entry).await?;
    Ok(true)
}
