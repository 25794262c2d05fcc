//! Live chat: chat sessions, the transcript a reconnecting client replays,
//! agents' chat messages and capacities, and the email address a visitor
//! leaves when no agent is available.
//!
//! A visitor's messages are filed through the one intake
//! ([`Store::file_inbound`], channel Chat, channel id
//! `chat:<visitor>:<client id>`), so they join the visitor's open chat ticket
//! and a resend is filed once. An agent's chat message is a public reply
//! stored here with its own channel id (`chat-agent:<agent>:<client id>`),
//! also filed once. It is delivered on the live socket and by the transcript
//! replay, not by the outbox: it is recorded as `sent` when stored. Replies
//! typed elsewhere (the REST API) take the outbox, whose chat arm hands them
//! to the live socket; once the visitor has left an email address on a chat
//! that went offline, they go by email instead (`kernel::outbox::reply_channel`).

use rapport_core::chat::{ChatId, ChatState, Party, TranscriptLine, VisitorId};
use rapport_core::event;
use rapport_core::outbox::DeliveryState;
use rapport_core::{AgentId, Author, Channel, CustomerId, Identity, MessageId, MessageKind, TicketId, Timestamp};

use crate::Store;
use crate::db::{Conn, IdRow, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::customers::{add_participant, attach_identities};
use crate::kernel::messages::{MessageOrigin, NewMessage, insert_message};
use crate::kernel::tickets::{load_ticket, owner_on_reply, save_decision};

/// The most transcript lines one replay carries (the oldest are dropped).
pub const MAX_TRANSCRIPT: i64 = 500;

/// One chat session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSession {
    /// Id.
    pub id: ChatId,
    /// The visitor.
    pub visitor: VisitorId,
    /// The ticket holding the conversation (from the first message on).
    pub ticket: Option<TicketId>,
    /// Where it stands.
    pub state: ChatState,
    /// The agent who has (or last had) it.
    pub agent: Option<AgentId>,
    /// The address the visitor left for answers by email.
    pub email: Option<String>,
    /// When the chat started (its first message).
    pub created_at: Timestamp,
    /// When an agent took it last.
    pub assigned_at: Option<Timestamp>,
    /// When an agent first answered.
    pub answered_at: Option<Timestamp>,
}

/// An agent's chat message as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatReply {
    /// The stored message.
    pub message: MessageId,
    /// True when a resend found it stored already.
    pub duplicate: bool,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    visitor: String,
    ticket_id: Option<i64>,
    state: String,
    agent_id: Option<i64>,
    email: Option<String>,
    created_at: i64,
    assigned_at: Option<i64>,
    answered_at: Option<i64>,
}

const SESSION_COLUMNS: &str = "id, visitor, ticket_id, state, agent_id, email, created_at, assigned_at, answered_at";

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    author_type: String,
    agent_name: Option<String>,
    text: String,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct CapacityRow {
    chat_capacity: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    customer_id: i64,
}

impl TryFrom<SessionRow> for ChatSession {
    type Error = StoreError;
    fn try_from(row: SessionRow) -> Result<ChatSession, StoreError> {
        let corrupt = |field: &str, value: &str| {
            StoreError::Other(anyhow::anyhow!("unexpected value {value:?} in chat_sessions.{field}"))
        };
        Ok(ChatSession {
            id: ChatId(row.id),
            visitor: VisitorId::parse(&row.visitor).map_err(|_| corrupt("visitor", &row.visitor))?,
            ticket: row.ticket_id.map(TicketId),
            state: ChatState::parse(&row.state).ok_or_else(|| corrupt("state", &row.state))?,
            agent: row.agent_id.map(AgentId),
            email: row.email,
            created_at: Timestamp(row.created_at),
            assigned_at: row.assigned_at.map(Timestamp),
            answered_at: row.answered_at.map(Timestamp),
        })
    }
}

impl Store {
    /// The visitor's latest chat that has not ended, if any.
    pub async fn find_current_chat(&self, visitor: &VisitorId) -> Result<Option<ChatSession>, StoreError> {
        let visitor = visitor.as_str().to_owned();
        let row: Option<SessionRow> = self
            .db
            .fetch_optional(
                sqlx::AssertSqlSafe(format!(
                    "SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE visitor = $1 AND state <> 'ended' \
                     ORDER BY id DESC LIMIT 1"
                )),
                args![visitor],
            )
            .await?;
        row.map(ChatSession::try_from).transpose()
    }

    /// Starts a chat session for the visitor's conversation on `ticket`, in `state`.
    pub async fn insert_chat(
        &self,
        visitor: &VisitorId,
        ticket: TicketId,
        state: ChatState,
        now: Timestamp,
    ) -> Result<ChatId, StoreError> {
        let visitor = visitor.as_str().to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let row: IdRow = conn
                    .fetch_one(
                        "INSERT INTO chat_sessions (visitor, ticket_id, state, created_at) VALUES ($1, $2, $3, $4) \
                         RETURNING id",
                        args![visitor, ticket.0, state.as_str(), now.0],
                    )
                    .await?;
                Ok(ChatId(row.id))
            })
        })
        .await
    }

    /// Moves a chat to `state` (with the agent who has it, when active);
    /// records when it was assigned or ended.
    pub async fn update_chat_state(
        &self,
        chat: ChatId,
        state: ChatState,
        agent: Option<AgentId>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let assigned_at = (state == ChatState::Active).then_some(now.0);
                let ended_at = (state == ChatState::Ended).then_some(now.0);
                let changed = conn
                    .execute(
                        "UPDATE chat_sessions SET state = $1, agent_id = COALESCE($2, agent_id), \
                         assigned_at = COALESCE($3, assigned_at), ended_at = COALESCE($4, ended_at) WHERE id = $5",
                        args![state.as_str(), agent.map(|agent| agent.0), assigned_at, ended_at, chat.0],
                    )
                    .await?;
                if changed == 0 {
                    return Err(StoreError::NotFound("chat"));
                }
                if let (ChatState::Active, Some(agent)) = (state, agent) {
                    take_ownership(conn, chat, agent, now).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Points a chat at the ticket its latest message went to (a closed
    /// ticket's successor).
    pub async fn update_chat_ticket(&self, chat: ChatId, ticket: TicketId) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute("UPDATE chat_sessions SET ticket_id = $1 WHERE id = $2", args![ticket.0, chat.0]).await?;
                Ok(())
            })
        })
        .await
    }

    /// The public lines of a chat's ticket after `after` (all when `None`),
    /// oldest first, at most [`MAX_TRANSCRIPT`] (the newest).
    pub async fn chat_transcript(
        &self,
        ticket: TicketId,
        after: Option<MessageId>,
    ) -> Result<Vec<TranscriptLine>, StoreError> {
        let rows: Vec<LineRow> = self
            .db
            .fetch_all(
                "SELECT m.id, m.author_type, a.name AS agent_name, m.text, m.created_at FROM messages m \
                 LEFT JOIN agents a ON m.author_type = 'agent' AND a.id = m.author_id \
                 WHERE m.ticket_id = $1 AND m.kind <> 'note' AND m.id > $2 ORDER BY m.id DESC LIMIT $3",
                args![ticket.0, after.map_or(0, |id| id.0), MAX_TRANSCRIPT],
            )
            .await?;
        Ok(rows
            .into_iter()
            .rev()
            .map(|row| {
                let from = match row.author_type.as_str() {
                    "customer" => Party::Visitor,
                    "agent" => Party::Agent,
                    _ => Party::System,
                };
                TranscriptLine {
                    id: MessageId(row.id),
                    from,
                    name: row.agent_name,
                    text: row.text,
                    at: Timestamp(row.created_at),
                }
            })
            .collect())
    }

    /// Stores an agent's chat message on the chat's ticket as a public reply,
    /// once per `external_id` (a resend finds the stored one), and records the
    /// chat's first answer.
    pub async fn add_chat_reply(
        &self,
        chat: ChatId,
        ticket: TicketId,
        agent: AgentId,
        external_id: String,
        text: String,
        now: Timestamp,
    ) -> Result<ChatReply, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let existing: Option<IdRow> = conn
                    .fetch_optional(
                        "SELECT id FROM messages WHERE channel = 'chat' AND external_id = $1",
                        args![external_id.as_str()],
                    )
                    .await?;
                if let Some(existing) = existing {
                    return Ok(ChatReply { message: MessageId(existing.id), duplicate: true });
                }
                let ticket = load_ticket(conn, ticket, true).await?;
                let message = NewMessage {
                    kind: MessageKind::Reply,
                    author: Author::Agent(agent),
                    text,
                    html: None,
                    attachments: Vec::new(),
                    origin: MessageOrigin {
                        external_id: Some(external_id),
                        // Delivered on the live socket or by the transcript replay.
                        delivery: Some(DeliveryState::Sent),
                        route: Some(rapport_core::reply::ReplyRoute::LiveChat),
                        ..MessageOrigin::default()
                    },
                    now,
                };
                let id = insert_message(conn, ticket.id, Channel::Chat, &message).await?;
                let rule = owner_on_reply(conn, ticket.team).await?;
                let decision = event::add_agent_reply(&ticket, id, agent, rule, now).map_err(Rejection::from)?;
                save_decision(conn, &ticket, &decision).await?;
                conn.execute(
                    "UPDATE chat_sessions SET answered_at = COALESCE(answered_at, $1) WHERE id = $2",
                    args![now.0, chat.0],
                )
                .await?;
                Ok(ChatReply { message: id, duplicate: false })
            })
        })
        .await
    }

    /// Records the email address a visitor left: on the chat, on the
    /// ticket's customer (unverified: intake never verifies) and as a
    /// requester of the ticket, so answers by email reach it. The
    /// conversation goes on by email, so the ticket's channel becomes email
    /// and the email service level applies from here (the ticket's history
    /// says why).
    pub async fn record_chat_email(
        &self,
        chat: ChatId,
        ticket: TicketId,
        email: Identity,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute("UPDATE chat_sessions SET email = $1 WHERE id = $2", args![email.value.as_str(), chat.0])
                    .await?;
                let row: Option<CustomerRow> =
                    conn.fetch_optional("SELECT customer_id FROM tickets WHERE id = $1", args![ticket.0]).await?;
                let customer = CustomerId(row.ok_or(StoreError::NotFound("ticket"))?.customer_id);
                attach_identities(conn, customer, std::slice::from_ref(&email), None).await?;
                add_participant(conn, ticket, &email, "requester", now).await?;
                let current = load_ticket(conn, ticket, true).await?;
                if current.channel == Channel::Chat && current.status.is_unsolved() {
                    let decision = event::change_channel(&current, Channel::Email, CONTINUES_BY_EMAIL, now);
                    save_decision(conn, &current, &decision).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// How many chats the agent takes at once, if set (`None`: the configured default).
    pub async fn find_chat_capacity(&self, agent: AgentId) -> Result<Option<i64>, StoreError> {
        let row: Option<CapacityRow> =
            self.db.fetch_optional("SELECT chat_capacity FROM agents WHERE id = $1", args![agent.0]).await?;
        Ok(row.ok_or(StoreError::NotFound("agent"))?.chat_capacity)
    }
}

/// Why a chat's ticket continues by email, in its history.
const CONTINUES_BY_EMAIL: &str = "no agent was available for the live chat and the visitor left an email address: the conversation continues by email";

#[derive(sqlx::FromRow)]
struct ChatTicketRow {
    ticket_id: Option<i64>,
}

/// An agent took the chat: they become its ticket's owner when it has none,
/// unless the ticket's team says otherwise.
async fn take_ownership(conn: &mut Conn<'_>, chat: ChatId, agent: AgentId, now: Timestamp) -> Result<(), StoreError> {
    let row: Option<ChatTicketRow> =
        conn.fetch_optional("SELECT ticket_id FROM chat_sessions WHERE id = $1", args![chat.0]).await?;
    let Some(ticket) = row.and_then(|row| row.ticket_id) else { return Ok(()) };
    let ticket = load_ticket(conn, TicketId(ticket), true).await?;
    if ticket.owner.is_some() || !ticket.status.is_unsolved() {
        return Ok(());
    }
    let rule = owner_on_reply(conn, ticket.team).await?;
    let decision = event::take_chat(&ticket, agent, rule, now);
    save_decision(conn, &ticket, &decision).await
}
