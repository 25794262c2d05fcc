//! The callback queue (a virtual queue): a caller or a chat visitor asks to
//! be called back instead of waiting on the line. Their place is fixed by the
//! instant they asked (`requested_at`, then the id), never by later changes:
//! an unanswered attempt puts the callback back at that same place.
//!
//! Offering claims the oldest waiting callback for one agent atomically: on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED` (like the outbox's claims), on
//! SQLite through the single writer, so two agents never get the same one.

use rapport_core::call::{CallbackOutcome, CallbackState, MAX_CALLBACK_ATTEMPTS, after_attempt};
use rapport_core::{AgentId, Identity, TicketId, Timestamp, Viewer};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::calls::add_system_note;
use crate::db::{Conn, args};
use crate::error::StoreError;
use crate::ticket_list::{TicketFilter, conditions};

/// Where a callback request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackSource {
    /// A caller waiting in the phone queue (pressed a key).
    Phone,
    /// A live-chat visitor.
    Chat,
    /// An agent or an integration, through the API.
    Api,
}

impl CallbackSource {
    /// The database word.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackSource::Phone => "phone",
            CallbackSource::Chat => "chat",
            CallbackSource::Api => "api",
        }
    }

    fn parse(word: &str) -> Option<CallbackSource> {
        [CallbackSource::Phone, CallbackSource::Chat, CallbackSource::Api].into_iter().find(|s| s.as_str() == word)
    }
}

/// A request to be called back.
#[derive(Debug, Clone)]
pub struct NewCallback {
    /// The number to call.
    pub phone: Identity,
    /// The ticket it is about, if any.
    pub ticket: Option<TicketId>,
    /// Where it came from.
    pub source: CallbackSource,
    /// The call it was asked for during (a repeated request from the same call is one callback).
    pub call_sid: Option<String>,
    /// Now: the place in line.
    pub now: Timestamp,
}

/// One callback request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// Id.
    pub id: i64,
    /// The number to call.
    pub phone: Identity,
    /// The ticket it is about.
    pub ticket: Option<TicketId>,
    /// Where it came from.
    pub source: CallbackSource,
    /// When it was asked for: its place in line.
    pub requested_at: Timestamp,
    /// Where it stands.
    pub state: CallbackState,
    /// The agent it is offered to.
    pub offered_to: Option<AgentId>,
    /// When it was offered.
    pub offered_at: Option<Timestamp>,
    /// Attempts to call back so far.
    pub attempts: i64,
    /// When it was done or given up.
    pub done_at: Option<Timestamp>,
}

/// A callback in the queue with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedCallback {
    /// The callback.
    pub callback: Callback,
    /// 1 for the next one to be offered; `None` while offered to an agent.
    pub position: Option<i64>,
}

/// Why a callback cannot be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// It is not offered to this agent (never was, or is finished).
    #[error("callback {0} is not offered to you")]
    NotOffered(i64),
}

#[derive(sqlx::FromRow)]
struct CallbackRow {
    id: i64,
    phone: String,
    ticket_id: Option<i64>,
    source: String,
    requested_at: i64,
    state: String,
    offered_to: Option<i64>,
    offered_at: Option<i64>,
    attempts: i64,
    done_at: Option<i64>,
}

const COLUMNS: &str = "id, phone, ticket_id, source, requested_at, state, offered_to, offered_at, attempts, done_at";

fn corrupt(field: &str, value: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("unexpected value {value:?} in callbacks.{field}"))
}

impl TryFrom<CallbackRow> for Callback {
    type Error = StoreError;
    fn try_from(row: CallbackRow) -> Result<Callback, StoreError> {
        Ok(Callback {
            id: row.id,
            phone: Identity::phone(&row.phone).map_err(|_| corrupt("phone", &row.phone))?,
            ticket: row.ticket_id.map(TicketId),
            source: CallbackSource::parse(&row.source).ok_or_else(|| corrupt("source", &row.source))?,
            requested_at: Timestamp(row.requested_at),
            state: CallbackState::parse(&row.state).ok_or_else(|| corrupt("state", &row.state))?,
            offered_to: row.offered_to.map(AgentId),
            offered_at: row.offered_at.map(Timestamp),
            attempts: row.attempts,
            done_at: row.done_at.map(Timestamp),
        })
    }
}

impl Store {
    /// Puts `request.phone` in line to be called back and returns the
    /// callback. A number already in line keeps its place (the request
    /// returns the existing callback), and a repeated request from the same
    /// call is the same callback. The voice hook, the chat and the API all
    /// call this.
    pub async fn request_callback(&self, request: NewCallback) -> Result<Callback, StoreError> {
        self.write(move |conn| Box::pin(async move { request_callback(conn, request).await })).await
    }

    /// The callback `id`.
    pub async fn get_callback(&self, id: i64) -> Result<Callback, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE id = $1");
        let row: Option<CallbackRow> = self.db.fetch_optional(AssertSqlSafe(sql), args![id]).await?;
        row.ok_or(StoreError::NotFound("callback"))?.try_into()
    }

    /// The callback asked for during call `sid`, if any.
    pub async fn find_callback_for_call(&self, sid: &str) -> Result<Option<Callback>, StoreError> {
        let sid = sid.to_owned();
        let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE call_sid = $1");
        let row: Option<CallbackRow> = self.db.fetch_optional(AssertSqlSafe(sql), args![sid]).await?;
        row.map(Callback::try_from).transpose()
    }

    /// The queue as `viewer` may see it: waiting callbacks in line order with
    /// their places in the whole line, then those offered to agents. A
    /// callback on a ticket the viewer may not see is left out (its number and
    /// ticket are the customer's); one without a ticket is the phone line's.
    pub async fn list_callbacks(&self, viewer: &Viewer, limit: i64) -> Result<Vec<QueuedCallback>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct PlacedRow {
            #[sqlx(flatten)]
            row: CallbackRow,
            position: Option<i64>,
        }
        let mut values = vec![limit.into()];
        let visible = conditions(&TicketFilter::default(), viewer, &mut values);
        let placed = COLUMNS.split(", ").map(|column| format!("c.{column}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {placed}, c.position FROM (SELECT {COLUMNS}, CASE WHEN state = 'waiting' THEN \
             ROW_NUMBER() OVER (PARTITION BY state ORDER BY requested_at, id) END AS position \
             FROM callbacks WHERE state IN ('waiting', 'offered')) c \
             LEFT JOIN tickets t ON t.id = c.ticket_id WHERE 1 = 1{visible} \
             ORDER BY CASE WHEN c.state = 'waiting' THEN 0 ELSE 1 END, c.requested_at, c.id LIMIT $1"
        );
        let rows: Vec<PlacedRow> = self.db.fetch_all(AssertSqlSafe(sql), values).await?;
        rows.into_iter()
            .map(|placed| Ok(QueuedCallback { callback: Callback::try_from(placed.row)?, position: placed.position }))
            .collect()
    }

    /// The place in line of callback `id` (1 for the next to be offered), or
    /// `None` when it is not waiting. The same order as [`Store::list_callbacks`].
    pub async fn callback_position(&self, id: i64) -> Result<Option<i64>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct PositionRow {
            position: Option<i64>,
        }
        let row: Option<PositionRow> = self
            .db
            .fetch_optional(
                "SELECT (SELECT COUNT(*) FROM callbacks o WHERE o.state = 'waiting' \
                 AND (o.requested_at < c.requested_at OR (o.requested_at = c.requested_at AND o.id <= c.id))) \
                 AS position FROM callbacks c WHERE c.id = $1 AND c.state = 'waiting'",
                args![id],
            )
            .await?;
        Ok(row.and_then(|row| row.position))
    }

    /// Offers the oldest waiting callback to `agent`, claimed so no other
    /// agent gets it. An agent who holds an offered callback gets that one
    /// again: one callback at a time. `None` when the line is empty.
    pub async fn offer_next_callback(&self, agent: AgentId, now: Timestamp) -> Result<Option<Callback>, StoreError> {
        self.write(move |conn| Box::pin(async move { offer_next(conn, agent, now).await })).await
    }

    /// Records how `agent`'s attempt on callback `id` went: done, or back in
    /// line at its original place after no answer (given up after
    /// [`MAX_CALLBACK_ATTEMPTS`]). The outer error is the store's; the inner
    /// one says the callback is not the agent's to complete.
    pub async fn complete_callback(
        &self,
        id: i64,
        agent: AgentId,
        outcome: CallbackOutcome,
        now: Timestamp,
    ) -> Result<Result<Callback, CallbackError>, StoreError> {
        self.write(move |conn| Box::pin(async move { complete(conn, id, agent, outcome, now).await })).await
    }
}

async fn request_callback(conn: &mut Conn<'_>, request: NewCallback) -> Result<Callback, StoreError> {
    if let Some(sid) = &request.call_sid {
        let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE call_sid = $1");
        let row: Option<CallbackRow> = conn.fetch_optional(AssertSqlSafe(sql), args![sid.clone()]).await?;
        if let Some(row) = row {
            return row.try_into();
        }
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM callbacks WHERE phone = $1 AND state IN ('waiting', 'offered') ORDER BY id LIMIT 1"
    );
    let live: Option<CallbackRow> = conn.fetch_optional(AssertSqlSafe(sql), args![request.phone.value.clone()]).await?;
    if let Some(live) = live {
        let mut callback = Callback::try_from(live)?;
        if callback.ticket.is_none()
            && let Some(ticket) = request.ticket
        {
            conn.execute("UPDATE callbacks SET ticket_id = $1 WHERE id = $2", args![ticket.0, callback.id]).await?;
            callback.ticket = Some(ticket);
        }
        return Ok(callback);
    }
    let sql = format!(
        "INSERT INTO callbacks (phone, ticket_id, source, call_sid, requested_at, state, attempts) \
         VALUES ($1, $2, $3, $4, $5, 'waiting', 0) RETURNING {COLUMNS}"
    );
    let row: CallbackRow = conn
        .fetch_one(
            AssertSqlSafe(sql),
            args![
                request.phone.value.clone(),
                request.ticket.map(|ticket| ticket.0),
                request.source.as_str(),
                request.call_sid.clone(),
                request.now.0
            ],
        )
        .await?;
    let callback = Callback::try_from(row)?;
    if let Some(ticket) = callback.ticket {
        let line = format!("Callback requested to {}; it keeps its place in line", callback.phone.value);
        add_system_note(conn, ticket, line, request.now).await?;
    }
    Ok(callback)
}

async fn offer_next(conn: &mut Conn<'_>, agent: AgentId, now: Timestamp) -> Result<Option<Callback>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM callbacks WHERE state = 'offered' AND offered_to = $1 ORDER BY id LIMIT 1");
    let held: Option<CallbackRow> = conn.fetch_optional(AssertSqlSafe(sql), args![agent.0]).await?;
    if let Some(held) = held {
        return held.try_into().map(Some);
    }
    let lock = conn.skip_locked();
    let sql = format!(
        "UPDATE callbacks SET state = 'offered', offered_to = $1, offered_at = $2 WHERE id = (\
         SELECT id FROM callbacks WHERE state = 'waiting' ORDER BY requested_at, id LIMIT 1{lock}) \
         AND state = 'waiting' RETURNING {COLUMNS}"
    );
    let row: Option<CallbackRow> = conn.fetch_optional(AssertSqlSafe(sql), args![agent.0, now.0]).await?;
    row.map(Callback::try_from).transpose()
}

async fn complete(
    conn: &mut Conn<'_>,
    id: i64,
    agent: AgentId,
    outcome: CallbackOutcome,
    now: Timestamp,
) -> Result<Result<Callback, CallbackError>, StoreError> {
    let lock = conn.lock_rows();
    let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE id = $1{lock}");
    let row: Option<CallbackRow> = conn.fetch_optional(AssertSqlSafe(sql), args![id]).await?;
    let callback = Callback::try_from(row.ok_or(StoreError::NotFound("callback"))?)?;
    if callback.state != CallbackState::Offered || callback.offered_to != Some(agent) {
        return Ok(Err(CallbackError::NotOffered(id)));
    }
    let attempts = callback.attempts + 1;
    let state = after_attempt(outcome, attempts);
    let done_at = matches!(state, CallbackState::Done | CallbackState::Cancelled).then_some(now.0);
    conn.execute(
        "UPDATE callbacks SET state = $1, attempts = $2, done_at = $3, offered_to = NULL, offered_at = NULL \
         WHERE id = $4",
        args![state.as_str(), attempts, done_at, id],
    )
    .await?;
    if let Some(ticket) = callback.ticket {
        let line = match state {
            CallbackState::Done => format!("Called back {} (attempt {attempts})", callback.phone.value),
            CallbackState::Cancelled => {
                format!(
                    "Callback to {} given up after {MAX_CALLBACK_ATTEMPTS} unanswered attempts",
                    callback.phone.value
                )
            }
            CallbackState::Waiting | CallbackState::Offered => {
                format!(
                    "No answer calling back {} (attempt {attempts}); back in line at its place",
                    callback.phone.value
                )
            }
        };
        add_system_note(conn, ticket, line, now).await?;
    }
    let (offered_to, offered_at) = (None, None);
    Ok(Ok(Callback { state, attempts, done_at: done_at.map(Timestamp), offered_to, offered_at, ..callback }))
}
