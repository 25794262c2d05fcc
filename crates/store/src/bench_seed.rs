//! Seeding a database with many open tickets at once, for `rapport bench
//! --sla`: a million tickets through the API would take minutes before the
//! benchmark even starts. Each ticket is opened by the same code as any
//! create (`kernel::create::open_rows`: core's decision, the ticket, its
//! first message and its events), thousands to one durable write, through
//! the SQLite writer like every other write.
//!
//! Seeded tickets are not added to the full-text index (they are marked as
//! indexed): a benchmark database is not searched.

use std::ops::Range;

use rapport_core::{Actor, Channel, CustomerId, Level, Tier, Timestamp};

use crate::Store;
use crate::db::Conn;
use crate::error::StoreError;
use crate::kernel::create::{CreateTicket, open_rows};
use crate::kernel::customers::{CustomerRef, customer_insert};
use crate::kernel::messages::MessageOrigin;
use crate::kernel::search_index::skip_indexing;
use crate::options::StoreOptions;

/// Tickets per write.
const CHUNK: usize = 5_000;

/// The channels seeded tickets come in on, in turn: mostly email, some chat and messaging.
const CHANNELS: [Channel; 6] =
    [Channel::Email, Channel::Email, Channel::Web, Channel::Chat, Channel::Whatsapp, Channel::Email];

/// Where the seeded tickets' creation times fall.
#[derive(Debug, Clone, Copy)]
struct Spread {
    start: Timestamp,
    millis: i64,
    count: usize,
}

impl Spread {
    /// Ticket `n`'s creation time: evenly over `[start, start + millis)`.
    fn at(self, n: usize) -> Timestamp {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let count = i64::try_from(self.count).unwrap_or(1).max(1);
        self.start.plus_millis(self.millis.saturating_mul(n) / count)
    }
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
        let spread = Spread { start, millis: spread_ms, count };
        let mut done = 0;
        while done < count {
            let chunk = done..done + CHUNK.min(count - done);
            let options = StoreOptions::clone(&self.options);
            self.write(move |conn| Box::pin(seed_chunk(conn, chunk, spread, options))).await?;
            done = (done + CHUNK).min(count);
            progress(done);
        }
        Ok(())
    }
}

/// Opens tickets `chunk` (of the whole spread) in the caller's write.
async fn seed_chunk(
    conn: &mut Conn<'_>,
    chunk: Range<usize>,
    spread: Spread,
    options: StoreOptions,
) -> Result<(), StoreError> {
    let mut statements = Vec::with_capacity(chunk.len() * 4);
    let mut customer = None;
    for n in chunk {
        let now = spread.at(n);
        let id = match customer {
            Some(id) if n % 10 != 0 => id,
            _ => {
                let id = CustomerId(conn.next_id("customers").await?);
                statements.push(customer_insert(id, format!("Bench customer {n}"), spread.start));
                id
            }
        };
        customer = Some(id);
        let channel = CHANNELS[n % CHANNELS.len()];
        let request = CreateTicket {
            subject: format!("Bench ticket {n}"),
            body: format!("Bench message {n}"),
            html: None,
            channel,
            customer: CustomerRef::default(),
            urgency: Level::Normal,
            team: None,
            tags: Vec::new(),
            attachments: Vec::new(),
            actor: Actor::Customer(id),
            idempotency: None,
            linked_to: None,
            origin: MessageOrigin::default(),
            now,
        };
        let (_, rows) = open_rows(conn, &request, id, Tier::basic(), &options).await?;
        statements.extend(rows);
    }
    conn.execute_all(statements).await?;
    // What is committed is normally indexed at the end of the write; these
    // rows are marked as done instead.
    skip_indexing(conn).await
}
