//! What the messaging apps need beyond the shared intake and outbox: when the
//! customer last wrote on a ticket's channel (the start of the 24-hour
//! service window, `rapport_core::messaging`), and read receipts that come as
//! a watermark (Messenger: "everything sent to this person before this
//! instant has been read") rather than naming one message.

use rapport_core::outbox::{DeliveryState, receipt_advances};
use rapport_core::{Channel, Identity, TicketId, Timestamp};

use crate::Store;
use crate::db::args;
use crate::error::StoreError;

#[derive(sqlx::FromRow)]
struct LastRow {
    last: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SentRow {
    id: i64,
    state: String,
    message_id: Option<i64>,
}

impl Store {
    /// When the customer last wrote on `channel` on `ticket` or on a ticket
    /// merged into it; `None` if they never did.
    pub async fn last_customer_message(
        &self,
        ticket: TicketId,
        channel: Channel,
    ) -> Result<Option<Timestamp>, StoreError> {
        let row: LastRow = self
            .db
            .fetch_one(
                "SELECT MAX(created_at) AS last FROM messages WHERE kind = 'inbound' AND channel = $1 \
                 AND ticket_id IN (SELECT id FROM tickets WHERE id = $2 OR merged_into = $2)",
                args![channel.as_str(), ticket.0],
            )
            .await?;
        Ok(row.last.map(Timestamp))
    }

    /// Applies a watermark receipt: every message sent on `channel` on a
    /// ticket `customer` takes part in, whose send was recorded at or before
    /// `up_to`, moves to `receipt` (forward only, as [`receipt_advances`]
    /// says). Returns how many messages moved.
    pub async fn record_watermark(
        &self,
        channel: Channel,
        customer: Identity,
        receipt: DeliveryState,
        up_to: Timestamp,
    ) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let rows: Vec<SentRow> = conn
                    .fetch_all(
                        "SELECT id, state, message_id FROM outbox WHERE channel = $1 \
                         AND state IN ('sent', 'delivered') AND sent_at <= $2 AND ticket_id IN \
                         (SELECT ticket_id FROM ticket_participants WHERE kind = $3 AND value = $4) ORDER BY id",
                        args![channel.as_str(), up_to.0, customer.kind.as_str(), customer.value.as_str()],
                    )
                    .await?;
                let mut moved = 0;
                for row in rows {
                    let current = DeliveryState::parse(&row.state).unwrap_or(DeliveryState::Queued);
                    if !receipt_advances(current, receipt) {
                        continue;
                    }
                    conn.execute("UPDATE outbox SET state = $1 WHERE id = $2", args![receipt.as_str(), row.id]).await?;
                    if let Some(message) = row.message_id {
                        conn.execute(
                            "UPDATE messages SET delivery = $1 WHERE id = $2",
                            args![receipt.as_str(), message],
                        )
                        .await?;
                    }
                    moved += 1;
                }
                Ok(moved)
            })
        })
        .await
    }
}
