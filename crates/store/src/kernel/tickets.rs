//! The ticket row: load it (for update), write a decision (the new row,
//! guarded by the old version, and its events), add a message to it, and
//! the facts decisions need (the customer's tier, the team's owner rule).

use rapport_core::event::{self, Decision};
use rapport_core::outbox::DeliveryState;
use rapport_core::{Author, CustomerId, Message, MessageKind, TeamId, Ticket, TicketId, Tier, Viewer};
use sqlx::AssertSqlSafe;

use crate::db::{Conn, Insert, Statement, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::events::insert_events;
use crate::kernel::messages::{NewMessage, insert_message, load_messages_by_id};
use crate::kernel::outbox::{enqueue, plan_reply};
use crate::rows::{TICKET_COLUMNS, TicketRow};

static TICKET_INSERT: Insert = Insert {
    head: "INSERT INTO tickets (id, subject, status, active, urgency, priority, priority_reason, channel, customer_id, \
           team_id, owner_id, tags, linked_to, version, created_at, updated_at, solved_at) VALUES",
    tail: "",
    width: 17,
    order: 2,
};

static TAG_INSERT: Insert =
    Insert { head: "INSERT INTO ticket_tags (tag, ticket_id) VALUES", tail: "", width: 2, order: 3 };

#[derive(sqlx::FromRow)]
struct TierRow {
    tier: Option<String>,
    org_tier: Option<String>,
}

pub(crate) fn visible(ticket: Ticket, viewer: Option<&Viewer>) -> Result<Ticket, StoreError> {
    match viewer {
        Some(viewer) if !viewer.can_see(&ticket) => Err(StoreError::NotFound("ticket")),
        _ => Ok(ticket),
    }
}

pub(crate) async fn load_ticket(conn: &mut Conn<'_>, id: TicketId, for_update: bool) -> Result<Ticket, StoreError> {
    let lock = if for_update { conn.lock_rows() } else { "" };
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = $1{lock}");
    let row: Option<TicketRow> = conn.fetch_optional(AssertSqlSafe(sql), args![id.0]).await?;
    row.ok_or(StoreError::NotFound("ticket"))?.try_into()
}

pub(crate) fn ticket_insert(ticket: &Ticket) -> Result<Statement, StoreError> {
    Ok((
        &TICKET_INSERT,
        args![
            ticket.id.0,
            ticket.subject.as_str(),
            ticket.status.as_str(),
            i64::from(ticket.status.is_unsolved()),
            ticket.urgency.rank(),
            ticket.priority.rank(),
            ticket.priority_reason.clone(),
            ticket.channel.as_str(),
            ticket.customer.0,
            ticket.team.map(|team| team.0),
            ticket.owner.map(|owner| owner.0),
            serde_json::to_string(&ticket.tags)?,
            ticket.linked_to.map(|linked| linked.0),
            ticket.version,
            ticket.created_at.0,
            ticket.updated_at.0,
            ticket.solved_at.map(|at| at.0),
        ],
    ))
}

/// A foreign-key failure on a ticket write means a team or owner that does not exist.
pub(crate) fn reference_error(error: StoreError, field: &'static str) -> StoreError {
    match error {
        StoreError::MissingReference { .. } => StoreError::MissingReference { field },
        other => other,
    }
}

/// One insert per tag: a handful at most, and fixed SQL text keeps statements cached.
pub(crate) fn tags_insert(id: TicketId, tags: &[String]) -> Vec<Statement> {
    tags.iter().map(|tag| (&TAG_INSERT, args![tag.as_str(), id.0])).collect()
}

async fn insert_tags(conn: &mut Conn<'_>, id: TicketId, tags: &[String]) -> Result<(), StoreError> {
    conn.execute_all(tags_insert(id, tags)).await
}

/// Writes a decision: the new row (guarded by the old version) and its events.
pub(crate) async fn save_decision(conn: &mut Conn<'_>, before: &Ticket, decision: &Decision) -> Result<(), StoreError> {
    if decision.events.is_empty() {
        return Ok(());
    }
    let ticket = &decision.ticket;
    let changed = conn
        .execute(
            "UPDATE tickets SET status = $1, active = $2, urgency = $3, priority = $4, priority_reason = $5, \
             team_id = $6, owner_id = $7, tags = $8, version = $9, updated_at = $10, solved_at = $11, \
             customer_id = $14, merged_into = $15, channel = $16 WHERE id = $12 AND version = $13",
            args![
                ticket.status.as_str(),
                i64::from(ticket.status.is_unsolved()),
                ticket.urgency.rank(),
                ticket.priority.rank(),
                ticket.priority_reason.clone(),
                ticket.team.map(|team| team.0),
                ticket.owner.map(|owner| owner.0),
                serde_json::to_string(&ticket.tags)?,
                ticket.version,
                ticket.updated_at.0,
                ticket.solved_at.map(|at| at.0),
                ticket.id.0,
                before.version,
                ticket.customer.0,
                ticket.merged_into.map(|into| into.0),
                ticket.channel.as_str(),
            ],
        )
        .await
        .map_err(|error| {
            let field = if ticket.owner != before.owner { "owner" } else { "team" };
            reference_error(error, field)
        })?;
    if changed == 0 {
        return Err(StoreError::Stale { expected: before.version, current: before.version + 1 });
    }
    if ticket.tags != before.tags {
        conn.execute("DELETE FROM ticket_tags WHERE ticket_id = $1", args![ticket.id.0]).await?;
        insert_tags(conn, ticket.id, &ticket.tags).await?;
    }
    insert_events(conn, &decision.events).await
}

pub(crate) async fn customer_tier(conn: &mut Conn<'_>, customer: CustomerId) -> Result<Tier, StoreError> {
    let row: Option<TierRow> = conn
        .fetch_optional(
            "SELECT c.tier AS tier, o.tier AS org_tier FROM customers c \
             LEFT JOIN organizations o ON o.id = c.organization_id WHERE c.id = $1",
            args![customer.0],
        )
        .await?;
    let row = row.ok_or(StoreError::NotFound("customer"))?;
    Ok(rapport_core::customer::effective_tier(row.tier.map(Tier), row.org_tier.map(Tier)))
}

#[derive(sqlx::FromRow)]
struct OwnerOnReplyRow {
    owner_on_reply: String,
}

/// The team's rule for who owns an ownerless ticket once an agent answers it
/// (the default rule for a ticket without a team).
pub(crate) async fn owner_on_reply(
    conn: &mut Conn<'_>,
    team: Option<TeamId>,
) -> Result<rapport_core::event::OwnerOnReply, StoreError> {
    let Some(team) = team else { return Ok(rapport_core::event::OwnerOnReply::default()) };
    let row: Option<OwnerOnReplyRow> =
        conn.fetch_optional("SELECT owner_on_reply FROM teams WHERE id = $1", args![team.0]).await?;
    Ok(row.and_then(|row| rapport_core::event::OwnerOnReply::parse(&row.owner_on_reply)).unwrap_or_default())
}

/// Adds `message` to `ticket` (loaded for update) in the caller's transaction.
/// A public reply that asks to be delivered (an `external_id` and the
/// `queued` state) goes out through the outbox in the same transaction, on
/// the channel core's `reply::route` chooses, and the message keeps why.
/// An agent's reply that no channel can carry is refused (nothing is
/// stored); Rapport's own replies (automations) are then kept without a
/// delivery. An agent's first public reply on an ownerless ticket makes them
/// its owner unless the ticket's team says otherwise.
pub(crate) async fn add_message_to(
    conn: &mut Conn<'_>,
    ticket: &Ticket,
    message: NewMessage,
) -> Result<(Ticket, Message), StoreError> {
    let id = ticket.id;
    let mut message = message;
    let wants_delivery = message.kind == MessageKind::Reply
        && message.origin.external_id.is_some()
        && message.origin.delivery == Some(DeliveryState::Queued);
    let delivery = if wants_delivery {
        let planned =
            plan_reply(conn, ticket, message.author, &message.text, message.html.as_deref(), message.origin.channel)
                .await?;
        match (planned, message.author) {
            (Ok(planned), _) => Some(planned),
            (Err(error), Author::Agent(_)) => return Err(Rejection::Unreachable(error).into()),
            (Err(rapport_core::reply::RouteError::RequestedUnreachable { channel }), _) => {
                return Err(Rejection::NoRoute { channel }.into());
            }
            (Err(_), _) => None,
        }
    } else {
        None
    };
    if delivery.is_none() && message.origin.delivery == Some(DeliveryState::Queued) {
        message.origin.delivery = None;
        message.origin.external_id = None;
    }
    if let Some(planned) = &delivery {
        message.origin.route = Some(planned.routed.route);
    }
    let channel = delivery.as_ref().map_or(ticket.channel, |planned| planned.routed.channel);
    let message_id = insert_message(conn, id, channel, &message).await?;
    if let (Some(planned), Some(external_id)) = (&delivery, &message.origin.external_id) {
        enqueue(conn, Some(message_id), Some(id), channel, external_id, &planned.payload, message.now).await?;
    }
    let decision = match (message.kind, message.author) {
        (MessageKind::Reply, Author::Agent(agent)) => {
            let rule = owner_on_reply(conn, ticket.team).await?;
            event::add_agent_reply(ticket, message_id, agent, rule, message.now)
        }
        (kind, author) => event::add_message(ticket, message_id, kind, author, message.now),
    }
    .map_err(Rejection::from)?;
    save_decision(conn, ticket, &decision).await?;
    let messages = load_messages_by_id(conn, message_id).await?;
    let message = messages.into_iter().next().ok_or(StoreError::NotFound("message"))?;
    Ok((decision.ticket, message))
}
