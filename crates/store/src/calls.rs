//! Phone calls: one row per call (the provider's call id is unique), holding
//! the instants the provider's events revealed. Each event is applied by
//! core's [`rapport_core::call::apply`] inside a write that locks the row, so
//! concurrent, repeated and out-of-order callbacks all end in the same row;
//! every state change adds a line to the caller's ticket as an internal note.
//!
//! The call itself is filed on a ticket through the shared intake first (one
//! message "Call from +…"); this module only keeps its lifecycle.

use rapport_core::call::{CallEvent, CallState, CallTimes, apply, note_line};
use rapport_core::customer::REDACTED;
use rapport_core::event;
use rapport_core::{AgentId, Author, Channel, Identity, IdentityKind, MessageKind, TicketId, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Conn, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::messages::{MessageOrigin, NewMessage, insert_message};
use crate::kernel::tickets::{load_ticket, save_decision};

/// One call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Row id.
    pub id: i64,
    /// The provider's call id (Twilio's `CallSid`).
    pub sid: String,
    /// The ticket the call was filed on.
    pub ticket: Option<TicketId>,
    /// The customer's number.
    pub caller: Identity,
    /// Where it stands.
    pub state: CallState,
    /// What the events revealed.
    pub times: CallTimes,
    /// The agent who took it, when known.
    pub agent: Option<AgentId>,
    /// When Rapport first heard of it.
    pub created_at: Timestamp,
}

/// One event of one call, to record.
#[derive(Debug, Clone)]
pub struct CallEventFiling {
    /// The provider's call id.
    pub sid: String,
    /// The customer's number.
    pub caller: Identity,
    /// The ticket the call was filed on.
    pub ticket: Option<TicketId>,
    /// What happened.
    pub event: CallEvent,
    /// Now.
    pub now: Timestamp,
}

#[derive(sqlx::FromRow)]
struct CallRow {
    id: i64,
    call_sid: String,
    ticket_id: Option<i64>,
    caller: String,
    state: String,
    queued_at: Option<i64>,
    ringing_at: Option<i64>,
    answered_at: Option<i64>,
    ended_at: Option<i64>,
    voicemail_url: Option<String>,
    agent_id: Option<i64>,
    created_at: i64,
}

const CALL_COLUMNS: &str = "id, call_sid, ticket_id, caller, state, queued_at, ringing_at, answered_at, ended_at, \
                            voicemail_url, agent_id, created_at";

impl TryFrom<CallRow> for Call {
    type Error = StoreError;
    fn try_from(row: CallRow) -> Result<Call, StoreError> {
        let state = CallState::parse(&row.state)
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unexpected value {:?} in calls.state", row.state)))?;
        // An erased caller's number reads as the redaction marker, like their name.
        let caller = if row.caller == REDACTED {
            Identity { kind: IdentityKind::Phone, value: row.caller }
        } else {
            Identity::phone(&row.caller).map_err(|error| {
                StoreError::Other(anyhow::anyhow!("unexpected value {:?} in calls.caller: {error}", row.caller))
            })?
        };
        Ok(Call {
            id: row.id,
            sid: row.call_sid,
            ticket: row.ticket_id.map(TicketId),
            caller,
            state,
            times: CallTimes {
                queued_at: row.queued_at.map(Timestamp),
                ringing_at: row.ringing_at.map(Timestamp),
                answered_at: row.answered_at.map(Timestamp),
                ended_at: row.ended_at.map(Timestamp),
                voicemail_url: row.voicemail_url,
            },
            agent: row.agent_id.map(AgentId),
            created_at: Timestamp(row.created_at),
        })
    }
}

impl Store {
    /// Records one event of a call (creating the call at its first event)
    /// and notes a state change on its ticket. A repeated or stale event
    /// changes nothing. Returns the call as it now stands.
    pub async fn record_call_event(&self, filing: CallEventFiling) -> Result<Call, StoreError> {
        self.write(move |conn| Box::pin(async move { record(conn, filing).await })).await
    }

    /// The call with the provider's id `sid`.
    pub async fn find_call(&self, sid: &str) -> Result<Option<Call>, StoreError> {
        let sid = sid.to_owned();
        let sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE call_sid = $1");
        let row: Option<CallRow> = self.db.fetch_optional(AssertSqlSafe(sql), args![sid]).await?;
        row.map(Call::try_from).transpose()
    }

    /// Calls filed on `ticket`, oldest first (or, without a ticket, the calls
    /// Rapport first heard of in `[from, to)`), at most `limit`.
    pub async fn list_calls(
        &self,
        ticket: Option<TicketId>,
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> Result<Vec<Call>, StoreError> {
        let (sql, args) = match ticket {
            Some(ticket) => (
                format!("SELECT {CALL_COLUMNS} FROM calls WHERE ticket_id = $1 ORDER BY id LIMIT $2"),
                args![ticket.0, limit],
            ),
            None => (
                format!(
                    "SELECT {CALL_COLUMNS} FROM calls WHERE created_at >= $1 AND created_at < $2 \
                     ORDER BY created_at, id LIMIT $3"
                ),
                args![from.0, to.0, limit],
            ),
        };
        let rows: Vec<CallRow> = self.db.fetch_all(AssertSqlSafe(sql), args).await?;
        rows.into_iter().map(Call::try_from).collect()
    }
}

async fn record(conn: &mut Conn<'_>, filing: CallEventFiling) -> Result<Call, StoreError> {
    let lock = conn.lock_rows();
    let select = format!("SELECT {CALL_COLUMNS} FROM calls WHERE call_sid = $1{lock}");
    let existing: Option<CallRow> =
        conn.fetch_optional(AssertSqlSafe(select.clone()), args![filing.sid.clone()]).await?;
    let existing = match existing {
        Some(row) => Call::try_from(row)?,
        None => {
            // Concurrent first events: the loser of the insert race reads the winner's row.
            conn.execute(
                "INSERT INTO calls (call_sid, ticket_id, caller, state, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (call_sid) DO NOTHING",
                args![
                    filing.sid.clone(),
                    filing.ticket.map(|ticket| ticket.0),
                    filing.caller.value.clone(),
                    CallState::Queued.as_str(),
                    filing.now.0
                ],
            )
            .await?;
            let row: CallRow = conn.fetch_one(AssertSqlSafe(select), args![filing.sid.clone()]).await?;
            Call::try_from(row)?
        }
    };
    let change = apply(&existing.times, &filing.event);
    let ticket = existing.ticket.or(filing.ticket);
    if change.is_unchanged(&existing.times) && ticket == existing.ticket {
        return Ok(existing);
    }
    let times = &change.times;
    conn.execute(
        "UPDATE calls SET state = $1, queued_at = $2, ringing_at = $3, answered_at = $4, ended_at = $5, \
         voicemail_url = $6, ticket_id = $7 WHERE id = $8",
        args![
            change.to.as_str(),
            times.queued_at.map(|at| at.0),
            times.ringing_at.map(|at| at.0),
            times.answered_at.map(|at| at.0),
            times.ended_at.map(|at| at.0),
            times.voicemail_url.clone(),
            ticket.map(|ticket| ticket.0),
            existing.id
        ],
    )
    .await?;
    if let (Some(ticket), Some(line)) = (ticket, note_line(&change)) {
        add_system_note(conn, ticket, line, filing.now).await?;
    }
    Ok(Call { state: change.to, times: change.times, ticket, ..existing })
}

/// Adds an internal note by the system to `ticket` (allowed on closed and merged tickets too).
pub(crate) async fn add_system_note(
    conn: &mut Conn<'_>,
    ticket: TicketId,
    text: String,
    now: Timestamp,
) -> Result<(), StoreError> {
    let ticket = load_ticket(conn, ticket, true).await?;
    let note = NewMessage {
        kind: MessageKind::Note,
        author: Author::System,
        text,
        html: None,
        attachments: Vec::new(),
        origin: MessageOrigin::default(),
        now,
    };
    let message = insert_message(conn, ticket.id, Channel::Phone, &note).await?;
    let decision =
        event::add_message(&ticket, message, MessageKind::Note, Author::System, now).map_err(Rejection::from)?;
    save_decision(conn, &ticket, &decision).await
}

impl Store {
    /// The latest unclosed, unmerged ticket that `identity` takes part in, on
    /// any channel: where a call from that number belongs (the phone has no
    /// thread of its own, so the caller's open conversation is the best hint).
    pub async fn find_open_ticket_of(&self, identity: &Identity) -> Result<Option<TicketId>, StoreError> {
        let identity = identity.clone();
        let row: Option<crate::db::IdRow> = self
            .db
            .fetch_optional(
                "SELECT t.id FROM tickets t JOIN ticket_participants p ON p.ticket_id = t.id \
                 WHERE p.kind = $1 AND p.value = $2 AND t.status <> 'closed' AND t.merged_into IS NULL \
                 ORDER BY t.id DESC LIMIT 1",
                args![identity.kind.as_str(), identity.value.clone()],
            )
            .await?;
        Ok(row.map(|row| TicketId(row.id)))
    }
}
