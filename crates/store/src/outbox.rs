//! The outbox: every outbound message waits here until a worker has handed it
//! to its channel. Entries are written in the same transaction as the message
//! they send, with the channel id (Message-ID) fixed, then claimed with a
//! lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on
//! SQLite), so several instances never send one entry at the same time, and an
//! instance killed mid-send leaves an entry that is sent again, with the same id,
//! once its lease runs out.

use rapport_core::outbox::{DeliveryState, OutboundPayload, receipt_advances, settle};
use rapport_core::{Channel, MessageId, TicketId, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Arg, Conn, args};
use crate::error::StoreError;
use crate::kernel::outbox::{SECRET_REMOVED, enqueue};

/// One claimed outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Entry id.
    pub id: i64,
    /// The message it sends, if it belongs to a ticket.
    pub message: Option<MessageId>,
    /// The ticket.
    pub ticket: Option<TicketId>,
    /// The channel to send on.
    pub channel: Channel,
    /// The channel id, fixed before the first attempt (an email's Message-ID).
    pub external_id: String,
    /// What to send.
    pub payload: OutboundPayload,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

pub use rapport_core::outbox::SendOutcome;

/// Where one outbox entry stands, for admins and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Entry id.
    pub id: i64,
    /// The channel it goes out on.
    pub channel: Channel,
    /// Its delivery state.
    pub state: DeliveryState,
    /// Attempts spent so far.
    pub attempts: i64,
    /// Why it is not sent (yet): the last failure, or `waiting: …` while its
    /// channel cannot send from the running configuration.
    pub last_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    message_id: Option<i64>,
    ticket_id: Option<i64>,
    channel: String,
    external_id: String,
    payload: String,
    attempts: i64,
}

#[derive(sqlx::FromRow)]
struct StateRow {
    state: String,
    attempts: i64,
    message_id: Option<i64>,
}

impl Store {
    /// Claims up to `limit` due entries on any channel for `lease_ms`; each claim counts as an attempt.
    pub async fn claim_outbox(&self, now: Timestamp, lease_ms: i64, limit: i64) -> Result<Vec<OutboxItem>, StoreError> {
        self.claim_outbox_on(&Channel::ALL, now, lease_ms, limit).await
    }

    /// Claims up to `limit` due entries on `channels` for `lease_ms`; each
    /// claim counts as an attempt. A worker names the channels it can send
    /// on, so entries for the others wait without spending attempts.
    pub async fn claim_outbox_on(
        &self,
        channels: &[Channel],
        now: Timestamp,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        let every = Channel::ALL.iter().all(|channel| channels.contains(channel));
        let channels: Vec<&'static str> = channels.iter().map(|channel| channel.as_str()).collect();
        self.write(move |conn| {
            Box::pin(async move {
                let lock = conn.skip_locked();
                // Every channel named: no filter, the plan the due index serves alone.
                let only = if every {
                    String::new()
                } else {
                    let placeholders: Vec<String> = (4..4 + channels.len()).map(|index| format!("${index}")).collect();
                    format!(" AND channel IN ({})", placeholders.join(", "))
                };
                let sql = format!(
                    "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 WHERE id IN (\
                     SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= $2 \
                     AND (claimed_until IS NULL OR claimed_until <= $2){only} ORDER BY next_attempt_at, id LIMIT $3{lock}) \
                     RETURNING id, message_id, ticket_id, channel, external_id, payload, attempts"
                );
                let mut values = args![now.0.saturating_add(lease_ms), now.0, limit];
                if !only.is_empty() {
                    values.extend(channels.iter().map(|channel| Arg::from(*channel)));
                }
                let rows: Vec<OutboxRow> = conn.fetch_all(AssertSqlSafe(sql), values).await?;
                let mut items: Vec<OutboxItem> =
                    rows.into_iter().map(OutboxItem::try_from).collect::<Result<_, _>>()?;
                items.sort_by_key(|item| item.id);
                Ok(items)
            })
        })
        .await
    }

    /// Marks the queued entries on channels this instance cannot send on
    /// with why they wait (`waiting: no SMTP server is configured`), leaving
    /// their attempts and due time alone. `waiting` pairs a channel with what
    /// its configuration lacks. Returns how many entries were newly marked
    /// per channel (entries another instance is sending are left alone).
    pub async fn update_outbox_waiting(
        &self,
        waiting: Vec<(Channel, String)>,
        now: Timestamp,
    ) -> Result<Vec<(Channel, u64)>, StoreError> {
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        self.write(move |conn| {
            Box::pin(async move {
                let mut marked = Vec::with_capacity(waiting.len());
                for (channel, missing) in &waiting {
                    let reason = rapport_core::outbox::waiting_reason(missing);
                    let count = conn
                        .execute(
                            "UPDATE outbox SET last_error = $1 WHERE state = 'queued' AND channel = $2 \
                             AND (claimed_until IS NULL OR claimed_until <= $3) \
                             AND (last_error IS NULL OR last_error <> $1)",
                            args![reason, channel.as_str(), now.0],
                        )
                        .await?;
                    marked.push((*channel, count));
                }
                Ok(marked)
            })
        })
        .await
    }

    /// The outbox entry that sends the message with channel id `external_id`
    /// (an email's Message-ID), if there is one.
    pub async fn find_outbox_entry(&self, external_id: &str) -> Result<Option<OutboxEntry>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct EntryRow {
            id: i64,
            channel: String,
            state: String,
            attempts: i64,
            last_error: Option<String>,
        }
        let external_id = external_id.to_owned();
        let row: Option<EntryRow> = self
            .db
            .fetch_optional(
                "SELECT id, channel, state, attempts, last_error FROM outbox WHERE external_id = $1",
                args![external_id],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let unexpected = |column: &str, value: &str| {
            StoreError::Other(anyhow::anyhow!("unexpected value {value:?} in outbox.{column}"))
        };
        Ok(Some(OutboxEntry {
            id: row.id,
            channel: row.channel.parse().map_err(|_| unexpected("channel", &row.channel))?,
            state: DeliveryState::parse(&row.state).ok_or_else(|| unexpected("state", &row.state))?,
            attempts: row.attempts,
            last_error: row.last_error,
        }))
    }

    /// Records how an attempt went: sent, retried later with backoff, failed,
    /// or waiting for its channel to be configured (the attempt given back).
    pub async fn finish_outbox(&self, id: i64, outcome: SendOutcome, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let row: Option<StateRow> = conn
                    .fetch_optional("SELECT state, attempts, message_id FROM outbox WHERE id = $1", args![id])
                    .await?;
                let row = row.ok_or(StoreError::NotFound("outbox entry"))?;
                if row.state != "queued" {
                    // A bounce or a receipt got there first; it knows better.
                    forget_secret(conn, id).await?;
                    return Ok(());
                }
                let settled = settle(row.attempts, outcome, now);
                let state = settled.state;
                let sent_at = (state == DeliveryState::Sent).then_some(now.0);
                conn.execute(
                    "UPDATE outbox SET state = $1, last_error = $2, next_attempt_at = $3, claimed_until = NULL, \
                     sent_at = $4, provider_id = COALESCE($5, provider_id), attempts = $6 WHERE id = $7",
                    args![
                        state.as_str(),
                        settled.error,
                        settled.next_attempt.0,
                        sent_at,
                        settled.provider_id,
                        settled.attempts,
                        id
                    ],
                )
                .await?;
                if let Some(message) = row.message_id {
                    conn.execute("UPDATE messages SET delivery = $1 WHERE id = $2", args![state.as_str(), message])
                        .await?;
                }
                if state != DeliveryState::Queued {
                    forget_secret(conn, id).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Records a provider's delivery or read receipt (or a late failure) for
    /// the message it sent as `provider_id` on `channel`. Receipts only move a
    /// message forward ([`receipt_advances`]); a repeated or late one changes
    /// nothing. Returns false when no sent message has that id (a receipt for
    /// something another system sent, or one that outran the send's record).
    pub async fn record_receipt(
        &self,
        channel: Channel,
        provider_id: String,
        receipt: DeliveryState,
        detail: Option<String>,
    ) -> Result<bool, StoreError> {
        #[derive(sqlx::FromRow)]
        struct ReceiptRow {
            id: i64,
            state: String,
            message_id: Option<i64>,
        }
        self.write(move |conn| {
            Box::pin(async move {
                let row: Option<ReceiptRow> = conn
                    .fetch_optional(
                        "SELECT id, state, message_id FROM outbox WHERE channel = $1 AND provider_id = $2",
                        args![channel.as_str(), provider_id],
                    )
                    .await?;
                let Some(row) = row else { return Ok(false) };
                let current = DeliveryState::parse(&row.state).unwrap_or(DeliveryState::Queued);
                if !receipt_advances(current, receipt) {
                    return Ok(true);
                }
                conn.execute(
                    "UPDATE outbox SET state = $1, last_error = COALESCE($2, last_error), claimed_until = NULL                      WHERE id = $3",
                    args![receipt.as_str(), detail, row.id],
                )
                .await?;
                if let Some(message) = row.message_id {
                    conn.execute("UPDATE messages SET delivery = $1 WHERE id = $2", args![receipt.as_str(), message])
                        .await?;
                }
                Ok(true)
            })
        })
        .await
    }

    /// Queues a message that belongs to no ticket (a refusal notice, say).
    pub async fn enqueue_notice(
        &self,
        channel: Channel,
        external_id: String,
        payload: OutboundPayload,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move { enqueue(conn, None, None, channel, &external_id, &payload, now).await })
        })
        .await
    }

    /// Counts entries per state, for health checks and tests: `(state, count)`.
    pub async fn count_outbox(&self) -> Result<Vec<(String, i64)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct CountRow {
            state: String,
            count: i64,
        }
        let rows: Vec<CountRow> = self
            .db
            .fetch_all("SELECT state, COUNT(*) AS count FROM outbox GROUP BY state ORDER BY state", vec![])
            .await?;
        Ok(rows.into_iter().map(|row| (row.state, row.count)).collect())
    }
}

/// Takes the secret out of entry `id`'s payload (once it is sent or given up).
async fn forget_secret(conn: &mut Conn<'_>, id: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE outbox SET payload = REPLACE(payload, secret, $1), secret = NULL WHERE id = $2 AND secret IS NOT NULL",
        args![SECRET_REMOVED, id],
    )
    .await?;
    Ok(())
}

impl TryFrom<OutboxRow> for OutboxItem {
    type Error = StoreError;
    fn try_from(row: OutboxRow) -> Result<OutboxItem, StoreError> {
        Ok(OutboxItem {
            id: row.id,
            message: row.message_id.map(MessageId),
            ticket: row.ticket_id.map(TicketId),
            channel: row.channel.parse().map_err(|_| {
                StoreError::Other(anyhow::anyhow!("unexpected value {:?} in outbox.channel", row.channel))
            })?,
            external_id: row.external_id,
            payload: serde_json::from_str(&row.payload)?,
            attempts: row.attempts,
        })
    }
}
