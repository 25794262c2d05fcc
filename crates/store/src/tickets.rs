//! Tickets: create (with customer resolution and idempotency), read, list
//! with keyset pagination, patch, add messages (rows in `messages.rs`),
//! auto-close.

use rapport_core::event::{self, Decision, NewTicket, TicketPatch};
use rapport_core::ticket::normalise_tags;
use rapport_core::{
    Actor, AgentId, Author, Channel, CustomerId, Event, Identity, Level, Message, MessageId, MessageKind, TeamId,
    Ticket, TicketId, Tier, Timestamp, Viewer,
};
use sqlx::AssertSqlSafe;

use crate::db::{Conn, IdRow, Insert, Statement, args};
use crate::error::{Rejection, StoreError};
pub(crate) use crate::messages::{
    MESSAGE_COLUMNS, attach, insert_message, load_messages, load_messages_by_id, message_insert,
};
use crate::outbox::{enqueue, plan_reply};
use crate::rows::{EventRow, TICKET_COLUMNS, TicketRow, actor_columns};
use crate::{Store, StoreOptions};
use rapport_core::outbox::DeliveryState;

/// The customer a new ticket is for: matched by any of their normalised identities.
#[derive(Debug, Clone, Default)]
pub struct CustomerRef {
    /// Name, used when the customer is new.
    pub name: Option<String>,
    /// At least one identity.
    pub identities: Vec<Identity>,
}

/// A file to attach to a message.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// File name as given.
    pub filename: String,
    /// MIME type as given.
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
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

/// A message to add to an existing ticket.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Inbound, reply or note.
    pub kind: MessageKind,
    /// Who wrote it.
    pub author: Author,
    /// Text.
    pub text: String,
    /// Sanitised HTML.
    pub html: Option<String>,
    /// Files.
    pub attachments: Vec<NewAttachment>,
    /// Where it came from or goes to (channel ids, delivery, sender).
    pub origin: MessageOrigin,
    /// Now.
    pub now: Timestamp,
}

/// The channel side of a message: empty for messages typed into Rapport.
#[derive(Debug, Clone, Default)]
pub struct MessageOrigin {
    /// The channel's id (an email's Message-ID).
    pub external_id: Option<String>,
    /// For outbound messages: the delivery state.
    pub delivery: Option<rapport_core::outbox::DeliveryState>,
    /// The full text before quoted history and signatures were stripped.
    pub original_text: Option<String>,
    /// For inbound messages: the identity that sent it.
    pub sender: Option<Identity>,
    /// For a public reply: the channel the agent chose; `None` means the
    /// ticket's channel, or the customer's most recent channel that reaches
    /// them (core's `reply::route`).
    pub channel: Option<Channel>,
    /// For a public reply: why it took its channel (set by the store when it
    /// plans the delivery; a caller sets it only for live-chat messages).
    pub route: Option<rapport_core::reply::ReplyRoute>,
}

/// A ticket with its messages and events.
#[derive(Debug, Clone)]
pub struct TicketDetail {
    /// The ticket.
    pub ticket: Ticket,
    /// Its messages, oldest first.
    pub messages: Vec<Message>,
    /// Its events, oldest first.
    pub events: Vec<Event>,
}

impl Store {
    /// Opens a ticket with its first inbound message, creating the customer if
    /// no identity matches. With an idempotency key, a retry returns the first result.
    pub async fn create_ticket(&self, request: CreateTicket) -> Result<CreatedTicket, StoreError> {
        let options = self.options.clone();
        match &self.writer {
            // The common case on SQLite: batched with the other creates of the moment.
            Some(writer) if request.idempotency.is_none() => writer.create(request, options).await,
            _ => self.write(move |conn| Box::pin(async move { create_one(conn, request, &options).await })).await,
        }
    }

    /// The ticket, if it exists and `viewer` (when given) may see it.
    pub async fn get_ticket(&self, id: TicketId, viewer: Option<&Viewer>) -> Result<Ticket, StoreError> {
        let ticket = self.db.read(move |conn| Box::pin(load_ticket(conn, id, false))).await?;
        visible(ticket, viewer)
    }

    /// The ticket with its messages and events.
    pub async fn get_ticket_detail(&self, id: TicketId, viewer: Option<&Viewer>) -> Result<TicketDetail, StoreError> {
        let ticket = self.get_ticket(id, viewer).await?;
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    // A survivor of merges shows the messages of the tickets merged into it too.
                    let messages = crate::merge::load_conversation(conn, id).await?;
                    let events = load_events(conn, id).await?;
                    Ok(TicketDetail { ticket, messages, events })
                })
            })
            .await
    }

    /// The ticket's events, oldest first.
    pub async fn list_events(&self, id: TicketId) -> Result<Vec<Event>, StoreError> {
        self.db.read(move |conn| Box::pin(load_events(conn, id))).await
    }

    /// Applies an agent's patch. `expected_version` (from `If-Match`) must be
    /// current, or the write is refused as stale.
    pub async fn patch_ticket(
        &self,
        id: TicketId,
        viewer: Viewer,
        patch: TicketPatch,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Ticket, StoreError> {
        let options = self.options.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let ticket = visible(load_ticket(conn, id, true).await?, Some(&viewer))?;
                if let Some(expected) = expected_version
                    && expected != ticket.version
                {
                    return Err(StoreError::Stale { expected, current: ticket.version });
                }
                let tier = customer_tier(conn, ticket.customer).await?;
                let decision =
                    event::patch(&ticket, patch, &viewer, &tier, &options.matrix, now).map_err(Rejection::from)?;
                save_decision(conn, &ticket, &decision).await?;
                Ok(decision.ticket)
            })
        })
        .await
    }

    /// Adds a message. `viewer` is checked for visibility when given (agents);
    /// customer messages arrive through intake without a viewer.
    pub async fn add_message(
        &self,
        id: TicketId,
        viewer: Option<Viewer>,
        message: NewMessage,
    ) -> Result<(Ticket, Message), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let ticket = visible(load_ticket(conn, id, true).await?, viewer.as_ref())?;
                add_message_to(conn, &ticket, message).await
            })
        })
        .await
    }

    /// Closes every solved ticket solved at least `after_ms` before `now`;
    /// returns how many were closed.
    pub async fn auto_close(&self, after_ms: i64, now: Timestamp) -> Result<usize, StoreError> {
        let cutoff = now.0.saturating_sub(after_ms);
        let due: Vec<IdRow> = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    conn.fetch_all(
                        "SELECT id FROM tickets WHERE status = 'solved' AND solved_at <= $1 ORDER BY solved_at LIMIT 1000",
                        args![cutoff],
                    )
                    .await
                })
            })
            .await?;
        let mut closed = 0;
        for row in due {
            let id = TicketId(row.id);
            let done = self
                .write(move |conn| {
                    Box::pin(async move {
                        let ticket = load_ticket(conn, id, true).await?;
                        if !rapport_core::ticket::due_for_auto_close(&ticket, after_ms, now) {
                            return Ok(false);
                        }
                        let decision = event::auto_close(&ticket, now).map_err(Rejection::from)?;
                        save_decision(conn, &ticket, &decision).await?;
                        Ok(true)
                    })
                })
                .await?;
            closed += usize::from(done);
        }
        Ok(closed)
    }

    /// How many tickets exist.
    pub async fn count_tickets(&self) -> Result<i64, StoreError> {
        let row: IdRow = self
            .db
            .read(|conn| Box::pin(async move { conn.fetch_one("SELECT COUNT(*) AS id FROM tickets", vec![]).await }))
            .await?;
        Ok(row.id)
    }

    /// An attachment's bytes by SHA-256.
    pub async fn get_attachment(&self, sha256: String) -> Result<Vec<u8>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct ContentRow {
            content: Vec<u8>,
        }
        let row: Option<ContentRow> = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    conn.fetch_optional("SELECT content FROM attachments WHERE sha256 = $1", args![sha256]).await
                })
            })
            .await?;
        row.map(|row| row.content).ok_or(StoreError::NotFound("attachment"))
    }
}

/// The inserts of a ticket's creation, in the order they must run.
pub(crate) static CUSTOMER_INSERT: Insert = Insert {
    head: "INSERT INTO customers (id, name, organization_id, tier, erased_at, created_at) VALUES",
    tail: "",
    width: 6,
    order: 0,
};
pub(crate) static IDENTITY_INSERT: Insert = Insert {
    head: "INSERT INTO identities (kind, value, customer_id, added_by_agent) VALUES",
    tail: " ON CONFLICT DO NOTHING",
    width: 4,
    order: 1,
};
static TICKET_INSERT: Insert = Insert {
    head: "INSERT INTO tickets (id, subject, status, active, urgency, priority, priority_reason, channel, customer_id, \
           team_id, owner_id, tags, linked_to, version, created_at, updated_at, solved_at) VALUES",
    tail: "",
    width: 17,
    order: 2,
};
static TAG_INSERT: Insert =
    Insert { head: "INSERT INTO ticket_tags (tag, ticket_id) VALUES", tail: "", width: 2, order: 3 };
static EVENT_INSERT: Insert = Insert {
    head: "INSERT INTO events (ticket_id, version, actor_type, actor_id, at, kind, payload) VALUES",
    tail: "",
    width: 7,
    order: 7,
};
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

#[derive(sqlx::FromRow)]
struct TierRow {
    tier: Option<String>,
    org_tier: Option<String>,
}

#[derive(sqlx::FromRow)]
struct IdentityMatch {
    customer_id: i64,
    tier: Option<String>,
    org_tier: Option<String>,
}

pub(crate) fn visible(ticket: Ticket, viewer: Option<&Viewer>) -> Result<Ticket, StoreError> {
    match viewer {
        Some(viewer) if !viewer.can_see(&ticket) => Err(StoreError::NotFound("ticket")),
        _ => Ok(ticket),
    }
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

/// Finds the customer by any identity, or creates them; returns their tier.
/// Identities it adds are unverified, recorded as `added_by` the agent who
/// entered them (see [`rapport_core::identity::added_by_agent`]); known ones
/// keep their state.
pub(crate) async fn resolve_customer(
    conn: &mut Conn<'_>,
    customer: &CustomerRef,
    now: Timestamp,
    added_by: Option<AgentId>,
) -> Result<(CustomerId, Tier), StoreError> {
    if customer.identities.is_empty() {
        return Err(Rejection::NoIdentity.into());
    }
    for identity in &customer.identities {
        let found: Option<IdentityMatch> = conn
            .fetch_optional(
                "SELECT i.customer_id AS customer_id, c.tier AS tier, o.tier AS org_tier FROM identities i \
                 JOIN customers c ON c.id = i.customer_id LEFT JOIN organizations o ON o.id = c.organization_id \
                 WHERE i.kind = $1 AND i.value = $2",
                args![identity.kind.as_str(), identity.value.as_str()],
            )
            .await?;
        if let Some(found) = found {
            let id = CustomerId(found.customer_id);
            if customer.identities.len() > 1 {
                attach_identities(conn, id, &customer.identities, added_by).await?;
            }
            let tier = rapport_core::customer::effective_tier(found.tier.map(Tier), found.org_tier.map(Tier));
            return Ok((id, tier));
        }
    }
    let name = customer.name.clone().unwrap_or_default();
    let created: IdRow = conn
        .fetch_one(
            "INSERT INTO customers (name, organization_id, tier, erased_at, created_at) VALUES ($1, NULL, NULL, NULL, $2) RETURNING id",
            args![name, now.0],
        )
        .await?;
    let id = CustomerId(created.id);
    let attached = attach_identities(conn, id, &customer.identities, added_by).await?;
    if attached == 0 {
        // Another transaction registered the identity first (PostgreSQL,
        // concurrent creates): use that customer and drop ours.
        conn.execute("DELETE FROM customers WHERE id = $1", args![id.0]).await?;
        let identity = &customer.identities[0];
        let found: IdRow = conn
            .fetch_one(
                "SELECT customer_id AS id FROM identities WHERE kind = $1 AND value = $2",
                args![identity.kind.as_str(), identity.value.as_str()],
            )
            .await?;
        let id = CustomerId(found.id);
        return Ok((id, customer_tier(conn, id).await?));
    }
    Ok((id, Tier::basic()))
}

/// Adds identities to a customer, unverified, skipping any already
/// registered to anyone; `added_by` records the agent who entered them.
pub(crate) async fn attach_identities(
    conn: &mut Conn<'_>,
    customer: CustomerId,
    identities: &[Identity],
    added_by: Option<AgentId>,
) -> Result<u64, StoreError> {
    let mut attached = 0;
    for identity in identities {
        attached += conn
            .execute(
                "INSERT INTO identities (kind, value, customer_id, added_by_agent) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
                args![identity.kind.as_str(), identity.value.as_str(), customer.0, added_by.map(|agent| agent.0)],
            )
            .await?;
    }
    Ok(attached)
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
fn reference_error(error: StoreError, field: &'static str) -> StoreError {
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

/// Inserts events as one statement per event (fixed SQL text, cached).
pub(crate) async fn insert_events(conn: &mut Conn<'_>, events: &[Event]) -> Result<(), StoreError> {
    let statements = events.iter().map(event_insert).collect::<Result<Vec<_>, _>>()?;
    conn.execute_all(statements).await
}

pub(crate) fn events_insert(events: &[Event]) -> Result<Vec<Statement>, StoreError> {
    events.iter().map(event_insert).collect()
}

fn event_insert(event: &Event) -> Result<Statement, StoreError> {
    let (actor_type, actor_id) = actor_columns(event.actor);
    Ok((
        &EVENT_INSERT,
        args![
            event.ticket.0,
            event.version,
            actor_type,
            actor_id,
            event.at.0,
            event.change.kind(),
            serde_json::to_string(&event.change)?,
        ],
    ))
}

pub(crate) async fn load_events(conn: &mut Conn<'_>, ticket: TicketId) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<EventRow> = conn
        .fetch_all(
            "SELECT ticket_id, version, actor_type, actor_id, at, payload FROM events WHERE ticket_id = $1 ORDER BY id",
            args![ticket.0],
        )
        .await?;
    rows.into_iter().map(Event::try_from).collect()
}
