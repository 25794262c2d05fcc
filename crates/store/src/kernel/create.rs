//! Opening a ticket with its first message: idempotency, the customer, the
//! core decision, and the rows to insert. Shared by the one-by-one path and
//! the SQLite writer's batches.

use rapport_core::event::{self, NewTicket};
use rapport_core::ticket::normalise_tags;
use rapport_core::{
    Actor, AgentId, Author, Channel, CustomerId, Level, MessageId, MessageKind, TeamId, Ticket, TicketId, Tier,
    Timestamp,
};

use crate::db::{Conn, Insert, Statement, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::customers::{CustomerRef, resolve_customer};
use crate::kernel::events::events_insert;
use crate::kernel::messages::{MessageOrigin, NewAttachment, NewMessage, message_insert};
use crate::kernel::tickets::{load_ticket, reference_error, tags_insert, ticket_insert};
use crate::options::StoreOptions;

static IDEMPOTENCY_INSERT: Insert = Insert {
    head: "INSERT INTO idempotency_keys (agent_id, key, request_hash, ticket_id, created_at) VALUES",
    tail: "",
    width: 5,
    order: 8,
};

#[derive(sqlx::FromRow)]
struct KeyRow {
    request_hash: String,
    ticket_id: i64,
}

/// A request to open a ticket with its first (inbound) message.
#[derive(Debug, Clone)]
pub struct CreateTicket {
    /// Subject.
    pub subject: String,
    /// The first message's text.
    pub body: String,
    /// The first message's sanitised HTML, if any.
    pub html: Option<String>,
    /// Channel of origin.
    pub channel: Channel,
    /// Who the customer is.
    pub customer: CustomerRef,
    /// Urgency.
    pub urgency: Level,
    /// Team.
    pub team: Option<TeamId>,
    /// Tags (normalised here).
    pub tags: Vec<String>,
    /// Files on the first message.
    pub attachments: Vec<NewAttachment>,
    /// Who is creating it.
    pub actor: Actor,
    /// `(agent, key, hash of the request)` when the caller sent an Idempotency-Key.
    pub idempotency: Option<(AgentId, String, String)>,
    /// The closed ticket this one continues (or that intake linked for an agent to judge).
    pub linked_to: Option<TicketId>,
    /// The first message's channel side; its sender defaults to the first identity.
    pub origin: MessageOrigin,
    /// Now.
    pub now: Timestamp,
}

/// The result of a create.
#[derive(Debug, Clone)]
pub struct CreatedTicket {
    /// The ticket.
    pub ticket: Ticket,
    /// True when an earlier request with the same Idempotency-Key created it.
    pub replayed: bool,
}

/// Opens one ticket inside the caller's transaction (see [`Store::create_ticket`]).
pub(crate) async fn create_one(
    conn: &mut Conn<'_>,
    request: CreateTicket,
    options: &StoreOptions,
) -> Result<CreatedTicket, StoreError> {
    if let Some((agent, key, hash)) = &request.idempotency {
        // Concurrent requests with the same new key would all miss it below
        // and race to the unique index; this lock makes the later ones wait
        // for the first to commit, then find its key and replay it.
        conn.lock_key(&format!("idempotency:{}:{key}", agent.0)).await?;
        let earlier: Option<KeyRow> = conn
            .fetch_optional(
                "SELECT request_hash, ticket_id FROM idempotency_keys WHERE agent_id = $1 AND key = $2",
                args![agent.0, key.as_str()],
            )
            .await?;
        if let Some(earlier) = earlier {
            if &earlier.request_hash != hash {
                return Err(Rejection::KeyReused.into());
            }
            let ticket = load_ticket(conn, TicketId(earlier.ticket_id), false).await?;
            return Ok(CreatedTicket { ticket, replayed: true });
        }
    }
    let added_by = rapport_core::identity::added_by_agent(request.actor);
    let (customer, tier) = resolve_customer(conn, &request.customer, request.now, added_by).await?;
    let (ticket, mut statements) = open_rows(conn, &request, customer, tier, options).await?;
    let id = ticket.id;
    if let Some((agent, key, hash)) = &request.idempotency {
        statements.push((&IDEMPOTENCY_INSERT, args![agent.0, key.clone(), hash.clone(), id.0, request.now.0]));
    }
    conn.execute_all(statements).await.map_err(|error| reference_error(error, "team"))?;
    Ok(CreatedTicket { ticket, replayed: false })
}

/// Opens a ticket for a resolved customer: core decides, the ticket and its
/// first message are numbered, and the rows to insert are returned (ticket,
/// tags, first message and attachments, events). Shared by the one-by-one
/// path and the SQLite writer's batches.
pub(crate) async fn open_rows(
    conn: &mut Conn<'_>,
    request: &CreateTicket,
    customer: CustomerId,
    tier: Tier,
    options: &StoreOptions,
) -> Result<(Ticket, Vec<Statement>), StoreError> {
    let tags = normalise_tags(&request.tags)
        .map_err(|error| Rejection::Patch(rapport_core::event::PatchError::from(error)))?;
    let new = NewTicket {
        subject: request.subject.clone(),
        channel: request.channel,
        customer,
        tier,
        urgency: request.urgency,
        team: request.team,
        tags,
        linked_to: request.linked_to,
    };
    let decision =
        event::open(TicketId(0), new, &options.matrix, request.actor, request.now).map_err(Rejection::from)?;
    // Numbers first, then every insert of the ticket in one unit of work.
    let id = TicketId(conn.next_id("tickets").await?);
    let message_id = MessageId(conn.next_id("messages").await?);
    let decision = decision.renumber(id).with_first_message(message_id);
    let message = NewMessage {
        kind: MessageKind::Inbound,
        author: Author::Customer(customer),
        text: request.body.clone(),
        html: request.html.clone(),
        attachments: request.attachments.clone(),
        origin: MessageOrigin {
            sender: request.origin.sender.clone().or_else(|| request.customer.identities.first().cloned()),
            ..request.origin.clone()
        },
        now: request.now,
    };
    let mut statements = vec![ticket_insert(&decision.ticket)?];
    statements.extend(tags_insert(id, &decision.ticket.tags));
    statements.extend(message_insert(message_id, id, request.channel, &message));
    statements.extend(events_insert(&decision.events)?);
    Ok((decision.ticket, statements))
}
