//! How each channel is doing, for the admin's Channels page: the checks the
//! IMAP poller and the webhooks record (last success, last error and when),
//! and the traffic the database already holds (messages received in the last
//! hour and the latest, replies waiting or failed in the outbox and the
//! latest send error). No secret is ever part of it.

use rapport_core::Timestamp;
use rapport_core::time::HOUR;

use crate::Store;
use crate::db::args;
use crate::error::StoreError;

/// The longest error text kept for a check.
const MAX_ERROR_CHARS: usize = 500;

/// One source's last check: an IMAP mailbox (`email:help@example.com`) or a
/// provider's webhook (`whatsapp`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelCheck {
    /// What was checked.
    pub source: String,
    /// The channel it brings messages in on (`email`, `whatsapp`...).
    pub channel: String,
    /// The last success, in milliseconds.
    pub last_ok_at: Option<i64>,
    /// The last error, if there was one.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<i64>,
}

/// One channel's traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelTraffic {
    /// The channel.
    pub channel: String,
    /// Customer messages received in the last hour.
    pub received_last_hour: i64,
    /// When the latest customer message arrived.
    pub last_received_at: Option<Timestamp>,
    /// Replies waiting in the outbox.
    pub waiting: i64,
    /// Replies the outbox gave up on.
    pub failed: i64,
    /// The latest send error still on an outbox entry.
    pub last_send_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ReceivedRow {
    channel: String,
    recent: i64,
    latest: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    channel: String,
    waiting: i64,
    failed: i64,
}

#[derive(sqlx::FromRow)]
struct ErrorRow {
    channel: String,
    last_error: Option<String>,
}

impl Store {
    /// Records that `source` (bringing messages in on `channel`) worked at `now`.
    pub async fn record_channel_ok(&self, source: &str, channel: &str, now: Timestamp) -> Result<(), StoreError> {
        let (source, channel) = (source.to_owned(), channel.to_owned());
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute(
                    "INSERT INTO channel_checks (source, channel, last_ok_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (source) DO UPDATE SET channel = excluded.channel, last_ok_at = excluded.last_ok_at",
                    args![source, channel, now.0],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Records that `source` failed at `now` with `error` (kept to 500 characters).
    pub async fn record_channel_error(
        &self,
        source: &str,
        channel: &str,
        error: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (source, channel) = (source.to_owned(), channel.to_owned());
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute(
                    "INSERT INTO channel_checks (source, channel, last_error, last_error_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (source) DO UPDATE SET channel = excluded.channel, \
                     last_error = excluded.last_error, last_error_at = excluded.last_error_at",
                    args![source, channel, error, now.0],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Every source's last check, by source.
    pub async fn list_channel_checks(&self) -> Result<Vec<ChannelCheck>, StoreError> {
        let sql = "SELECT source, channel, last_ok_at, last_error, last_error_at FROM channel_checks ORDER BY source";
        self.db.fetch_all(sql, args![]).await
    }

    /// Each channel's traffic that has any, by channel name.
    pub async fn channel_traffic(&self, now: Timestamp) -> Result<Vec<ChannelTraffic>, StoreError> {
        let since = now.0.saturating_sub(HOUR);
        let received: Vec<ReceivedRow> = self
            .db
            .fetch_all(
                "SELECT channel, CAST(SUM(CASE WHEN created_at >= $1 THEN 1 ELSE 0 END) AS BIGINT) AS recent, \
                 MAX(created_at) AS latest FROM messages WHERE kind = 'inbound' GROUP BY channel",
                args![since],
            )
            .await?;
        let outbox: Vec<OutboxRow> = self
            .db
            .fetch_all(
                "SELECT channel, CAST(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END) AS BIGINT) AS waiting, \
                 CAST(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed \
                 FROM outbox WHERE state IN ('queued', 'failed') GROUP BY channel",
                args![],
            )
            .await?;
        let errors: Vec<ErrorRow> = self
            .db
            .fetch_all(
                "SELECT o.channel, o.last_error FROM outbox o WHERE o.id = (SELECT MAX(e.id) FROM outbox e \
                 WHERE e.channel = o.channel AND e.last_error IS NOT NULL AND e.state IN ('queued', 'failed'))",
                args![],
            )
            .await?;
        let mut traffic: Vec<ChannelTraffic> = Vec::new();
        fn entry<'a>(traffic: &'a mut Vec<ChannelTraffic>, channel: &str) -> &'a mut ChannelTraffic {
            match traffic.iter().position(|known| known.channel == channel) {
                Some(index) => &mut traffic[index],
                None => {
                    traffic.push(ChannelTraffic { channel: channel.to_owned(), ..ChannelTraffic::default() });
                    let last = traffic.len() - 1;
                    &mut traffic[last]
                }
            }
        }
        for row in received {
            let found = entry(&mut traffic, &row.channel);
            found.received_last_hour = row.recent;
            found.last_received_at = row.latest.map(Timestamp);
        }
        for row in outbox {
            let found = entry(&mut traffic, &row.channel);
            found.waiting = row.waiting;
            found.failed = row.failed;
        }
        for row in errors {
            entry(&mut traffic, &row.channel).last_send_error = row.last_error;
        }
        traffic.sort_by(|a, b| a.channel.cmp(&b.channel));
        Ok(traffic)
    }
}
