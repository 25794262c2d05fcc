//! Seeding a database with many open tickets at once, for `rapport bench
//! --sla`: a million tickets through the API would take minutes before the
//! benchmark even starts. The rows are what ticket creation writes (ticket,
//! first message, its `created` and `message_added` events, so the event log
//! replays), in large multi-row inserts, one transaction per chunk.
//!
//! Seeded tickets are not added to the full-text index (they are marked as
//! indexed): a benchmark database is not searched.

use rapport_core::event::Change;
use rapport_core::{Channel, CustomerId, Level, MessageId, MessageKind, Status, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{IdRow, args};
use crate::error::StoreError;

/// Tickets per transaction.
const CHUNK: usize = 5_000;
/// Rows per INSERT statement.
const ROWS: usize = 500;

/// The channels seeded tickets come in on, in turn: mostly email, some chat and messaging.
const CHANNELS: [Channel; 6] =
    [Channel::Email, Channel::Email, Channel::Web, Channel::Chat, Channel::Whatsapp, Channel::Email];

fn values<T>(rows: &[T], row: impl Fn(&T) -> String) -> String {
    rows.iter().map(row).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// Adds `count` open tickets (one customer per ten tickets), created at
    /// instants spread evenly over `[start, start + spread_ms)`. Calls
    /// `progress` with the number done after each chunk.
    pub async fn seed_open_tickets(
        &self,
        count: usize,
        start: Timestamp,
        spread_ms: i64,
        progress: impl Fn(usize),
    ) -> Result<(), StoreError> {
        let next = |table: &'static str| {
            let sql = format!("SELECT COALESCE(MAX(id), 0) AS id FROM {table}");
            self.db
                .read(move |conn| Box::pin(async move { conn.fetch_one::<IdRow>(AssertSqlSafe(sql), args![]).await }))
        };
        let first_ticket = next("tickets").await?.id + 1;
        let first_customer = next("customers").await?.id + 1;
        let first_message = next("messages").await?.id + 1;
        let mut done = 0;
        while done < count {
            let size = CHUNK.min(count - done);
            let mut statements = Vec::new();
            let tickets: Vec<usize> = (done..done + size).collect();
            let customer_of = |n: usize| first_customer + i64::try_from(n / 10).unwrap_or(0);
            let created_of = |n: usize| {
                start.plus_millis(spread_ms * i64::try_from(n).unwrap_or(0) / i64::try_from(count).unwrap_or(1))
            };
            let customers: Vec<usize> = tickets.iter().copied().filter(|n| n % 10 == 0).collect();
            for rows in customers.chunks(ROWS) {
                statements.push(format!(
                    "INSERT INTO customers (id, name, organization_id, tier, erased_at, created_at) VALUES {}",
                    values(rows, |n| format!(
                        "({}, 'Bench customer {n}', NULL, NULL, NULL, {})",
                        customer_of(*n),
                        start.0
                    ))
                ));
            }
            for rows in tickets.chunks(ROWS) {
                statements.push(format!(
                    "INSERT INTO tickets (id, subject, status, active, urgency, priority, priority_reason, channel, \
                     customer_id, team_id, owner_id, tags, linked_to, version, created_at, updated_at, solved_at) VALUES {}",
                    values(rows, |n| {
                        let id = first_ticket + i64::try_from(*n).unwrap_or(0);
                        let at = created_of(*n).0;
                        let channel = CHANNELS[n % CHANNELS.len()].as_str();
                        format!(
                            "({id}, 'Bench ticket {n}', 'new', 1, 2, 1, NULL, '{channel}', {}, NULL, NULL, '[]', NULL, 1, {at}, {at}, NULL)",
                            customer_of(*n)
                        )
                    })
                ));
                statements.push(format!(
                    "INSERT INTO messages (id, ticket_id, kind, author_type, author_id, channel, text, html, created_at) VALUES {}",
                    values(rows, |n| {
                        let offset = i64::try_from(*n).unwrap_or(0);
                        let channel = CHANNELS[n % CHANNELS.len()].as_str();
                        format!(
                            "({}, {}, 'inbound', 'customer', {}, '{channel}', 'Bench message {n}', NULL, {})",
                            first_message + offset,
                            first_ticket + offset,
                            customer_of(*n),
                            created_of(*n).0
                        )
                    })
                ));
                let mut events = Vec::with_capacity(rows.len() * 2);
                for n in rows {
                    let offset = i64::try_from(*n).unwrap_or(0);
                    let ticket = first_ticket + offset;
                    let customer = customer_of(*n);
                    let created = Change::Created {
                        subject: format!("Bench ticket {n}"),
                        status: Status::New,
                        urgency: Level::Normal,
                        priority: Level::Low,
                        channel: CHANNELS[n % CHANNELS.len()],
                        customer: CustomerId(customer),
                        team: None,
                        tags: Vec::new(),
                        linked_to: None,
                    };
                    let message =
                        Change::MessageAdded { message: MessageId(first_message + offset), kind: MessageKind::Inbound };
                    let at = created_of(*n).0;
                    for change in [created, message] {
                        events.push(format!(
                            "({ticket}, 1, 'customer', {customer}, {at}, '{}', '{}')",
                            change.kind(),
                            serde_json::to_string(&change)?
                        ));
                    }
                }
                statements.push(format!(
                    "INSERT INTO events (ticket_id, version, actor_type, actor_id, at, kind, payload) VALUES {}",
                    events.join(", ")
                ));
            }
            self.db
                .transaction(move |conn| {
                    Box::pin(async move {
                        for statement in statements {
                            conn.execute(AssertSqlSafe(statement), args![]).await?;
                        }
                        Ok(())
                    })
                })
                .await?;
            done += size;
            progress(done);
        }
        let last_ticket = first_ticket + i64::try_from(count).unwrap_or(0) - 1;
        let last_message = first_message + i64::try_from(count).unwrap_or(0) - 1;
        self.db
            .transaction(move |conn| {
                Box::pin(async move {
                    conn.execute("UPDATE search_indexed SET last_id = $1 WHERE name = 'tickets'", args![last_ticket])
                        .await?;
                    conn.execute("UPDATE search_indexed SET last_id = $1 WHERE name = 'messages'", args![last_message])
                        .await?;
                    Ok(())
                })
            })
            .await?;
        Ok(())
    }
}
