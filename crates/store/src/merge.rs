//! One customer, one conversation: merging tickets, merging customers, and
//! splitting a message out into a new ticket, each in one transaction.
//!
//! Core decides ([`rapport_core::merge`]); this module loads the facts and
//! writes the outcome. Nothing already written is rewritten: a ticket merge
//! appends events to both tickets and points the merged ticket at the
//! survivor (`tickets.merged_into`), and reads of the survivor gather the
//! messages of every ticket merged into it (`kernel::messages::load_conversation`). A
//! customer merge moves identities and tickets, appends a `customer_changed`
//! event to each ticket, and keeps a `customer_merges` record that says what
//! moved, so the merge can always be explained.

use rapport_core::event;
use rapport_core::intake::reply_subject;
use rapport_core::merge::{self, SplitError, SplitTicket, check_customer_merge, merge_notice_text};
use rapport_core::outbox::{Automatic, DeliveryState};
use rapport_core::{
    Actor, AgentId, Author, Customer, CustomerId, Identity, MessageId, MessageKind, Ticket, TicketId, Timestamp, Viewer,
};
use sqlx::AssertSqlSafe;

use crate::db::{Conn, IdRow, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::customers::CUSTOMER_COLUMNS;
use crate::kernel::events::insert_events;
use crate::kernel::messages::{MAX_FAMILY, merged_family};
use crate::kernel::messages::{MessageOrigin, NewMessage, insert_message, load_messages_by_id};
use crate::kernel::outbox::{PlannedReply, enqueue, plan_reply};
use crate::kernel::tickets::{customer_tier, load_ticket, save_decision, tags_insert, ticket_insert, visible};
use crate::rows::{CustomerRow, IdentityRow, actor_columns};
use crate::tickets::TicketDetail;
use crate::{Store, StoreOptions};
use rapport_core::reply::Routed;

/// One customer merge as recorded: what moved where, who did it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerMerge {
    /// The record's id.
    pub id: i64,
    /// The customer merged away (it now points at `target`).
    pub source: CustomerId,
    /// The customer that received the identities and tickets.
    pub target: CustomerId,
    /// Who merged them.
    pub actor: Actor,
    /// The identities that moved.
    pub identities: Vec<Identity>,
    /// The tickets that moved (each has a `customer_changed` event).
    pub tickets: Vec<TicketId>,
    /// When.
    pub at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct MergeRow {
    id: i64,
    source_id: i64,
    target_id: i64,
    actor_type: String,
    actor_id: Option<i64>,
    identities: String,
    tickets: String,
    at: i64,
}

impl TryFrom<MergeRow> for CustomerMerge {
    type Error = StoreError;
    fn try_from(row: MergeRow) -> Result<CustomerMerge, StoreError> {
        let actor = match (row.actor_type.as_str(), row.actor_id) {
            ("agent", Some(id)) => Actor::Agent(AgentId(id)),
            ("customer", Some(id)) => Actor::Customer(CustomerId(id)),
            ("system", _) => Actor::System,
            (other, _) => {
                return Err(StoreError::Other(anyhow::anyhow!(
                    "unexpected value {other:?} in customer_merges.actor_type"
                )));
            }
        };
        let tickets: Vec<i64> = serde_json::from_str(&row.tickets)?;
        Ok(CustomerMerge {
            id: row.id,
            source: CustomerId(row.source_id),
            target: CustomerId(row.target_id),
            actor,
            identities: serde_json::from_str(&row.identities)?,
            tickets: tickets.into_iter().map(TicketId).collect(),
            at: Timestamp(row.at),
        })
    }
}

impl Store {
    /// Merges ticket `merged` into `survivor` on behalf of `viewer`, who must
    /// see both: both logs gain their events, the merged ticket closes and
    /// points at the survivor, its participants join the survivor, and a
    /// public system notice on the survivor is queued for the customer with
    /// Message-ID `notice_id` (on the merged request's channel and thread).
    /// Returns the survivor with the messages of both tickets.
    pub async fn merge_tickets(
        &self,
        merged: TicketId,
        survivor: TicketId,
        viewer: Viewer,
        notice_id: String,
        now: Timestamp,
    ) -> Result<TicketDetail, StoreError> {
        let reader = viewer.clone();
        self.write(move |conn| Box::pin(merge_tickets(conn, merged, survivor, viewer, notice_id, now))).await?;
        self.get_ticket_detail(survivor, Some(&reader)).await
    }

    /// Splits message `message` (of ticket `ticket`, or of a ticket merged
    /// into it) out into a new ticket for the same customer, linked to
    /// `ticket`, with a copy of the message. The original message and both
    /// event logs stay as they are. Returns the new ticket.
    pub async fn split_message(
        &self,
        ticket: TicketId,
        message: MessageId,
        subject: Option<String>,
        viewer: Viewer,
        now: Timestamp,
    ) -> Result<Ticket, StoreError> {
        let options = self.options.clone();
        self.write(move |conn| {
            Box::pin(async move { split_message(conn, ticket, message, subject, viewer, now, &options).await })
        })
        .await
    }

    /// Merges customer `source` into `target`: identities, tickets (each
    /// with a `customer_changed` event) and authorship of the customer's
    /// messages move to `target`, a [`CustomerMerge`] record explains it, and
    /// `source` points at `target` from then on. Returns `target`.
    pub async fn merge_customers(
        &self,
        source: CustomerId,
        target: CustomerId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Customer, StoreError> {
        let options = self.options.clone();
        self.write(move |conn| {
            Box::pin(async move { merge_customers(conn, source, target, actor, now, &options).await })
        })
        .await?;
        self.get_customer(target).await
    }

    /// The merges a customer took part in, as source or target, oldest first.
    pub async fn list_customer_merges(&self, customer: CustomerId) -> Result<Vec<CustomerMerge>, StoreError> {
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let exists: Option<IdRow> =
                        conn.fetch_optional("SELECT id FROM customers WHERE id = $1", args![customer.0]).await?;
                    exists.ok_or(StoreError::NotFound("customer"))?;
                    let rows: Vec<MergeRow> = conn
                        .fetch_all(
                            "SELECT id, source_id, target_id, actor_type, actor_id, identities, tickets, at \
                             FROM customer_merges WHERE source_id = $1 OR target_id = $1 ORDER BY id",
                            args![customer.0],
                        )
                        .await?;
                    rows.into_iter().map(CustomerMerge::try_from).collect()
                })
            })
            .await
    }
}

/// Renames a missing record, so a 404 says which side of a merge is missing.
fn missing_as(error: StoreError, what: &'static str) -> StoreError {
    match error {
        StoreError::NotFound(_) => StoreError::NotFound(what),
        other => other,
    }
}

async fn merge_tickets(
    conn: &mut Conn<'_>,
    merged: TicketId,
    survivor: TicketId,
    viewer: Viewer,
    notice_id: String,
    now: Timestamp,
) -> Result<(), StoreError> {
    // Lock in id order, so two merges of the same pair cannot deadlock (PostgreSQL).
    let (merged, survivor) = if merged.0 <= survivor.0 {
        let merged = load_ticket(conn, merged, true).await?;
        let survivor =
            load_ticket(conn, survivor, true).await.map_err(|error| missing_as(error, "ticket to merge into"))?;
        (merged, survivor)
    } else {
        let survivor =
            load_ticket(conn, survivor, true).await.map_err(|error| missing_as(error, "ticket to merge into"))?;
        (load_ticket(conn, merged, true).await?, survivor)
    };
    let merged = visible(merged, Some(&viewer))?;
    let survivor = visible(survivor, Some(&viewer)).map_err(|error| missing_as(error, "ticket to merge into"))?;
    let (merged_decision, survivor_decision) =
        merge::merge_tickets(&merged, &survivor, Actor::Agent(viewer.agent), now).map_err(Rejection::from)?;
    save_decision(conn, &merged, &merged_decision).await?;
    save_decision(conn, &survivor, &survivor_decision).await?;
    // Everyone who was on the merged conversation hears the survivor's replies.
    conn.execute(
        "INSERT INTO ticket_participants (ticket_id, kind, value, role, created_at) \
         SELECT $1, kind, value, role, created_at FROM ticket_participants WHERE ticket_id = $2 \
         ON CONFLICT DO NOTHING",
        args![survivor.id.0, merged.id.0],
    )
    .await?;
    notify_merge(conn, &merged_decision.ticket, &survivor_decision.ticket, notice_id, now).await
}

/// Tells the customer where their request went: a public system message on
/// the survivor, sent through the outbox as automatic mail on the merged
/// request's channel, to its requesters, threaded on its conversation, with
/// the survivor's number in the subject so an answer lands on the survivor.
/// When no channel can carry it, the message is kept without a delivery.
async fn notify_merge(
    conn: &mut Conn<'_>,
    merged: &Ticket,
    survivor: &Ticket,
    notice_id: String,
    now: Timestamp,
) -> Result<(), StoreError> {
    let text = merge_notice_text(merged.id, survivor.id);
    // A customer no channel reaches keeps the notice without a delivery.
    let plan = plan_reply(conn, merged, Author::System, &text, None, None).await?.ok();
    let origin = match plan {
        Some(_) => MessageOrigin {
            external_id: Some(notice_id.clone()),
            delivery: Some(DeliveryState::Queued),
            ..MessageOrigin::default()
        },
        None => MessageOrigin::default(),
    };
    let message = NewMessage {
        kind: MessageKind::Reply,
        author: Author::System,
        text,
        html: None,
        attachments: Vec::new(),
        origin,
        now,
    };
    let message = NewMessage {
        origin: MessageOrigin { route: plan.as_ref().map(|plan| plan.routed.route), ..message.origin },
        ..message
    };
    let channel = plan.as_ref().map_or(survivor.channel, |plan| plan.routed.channel);
    let message_id = insert_message(conn, survivor.id, channel, &message).await?;
    if let Some(PlannedReply { routed: Routed { channel, .. }, mut payload }) = plan {
        payload.ticket = Some(survivor.id);
        payload.subject = reply_subject(survivor.id, &survivor.subject);
        payload.automatic = Some(Automatic::AutoGenerated);
        enqueue(conn, Some(message_id), Some(survivor.id), channel, &notice_id, &payload, now).await?;
    }
    let decision =
        event::add_message(survivor, message_id, MessageKind::Reply, Author::System, now).map_err(Rejection::from)?;
    save_decision(conn, survivor, &decision).await
}

async fn split_message(
    conn: &mut Conn<'_>,
    ticket: TicketId,
    message: MessageId,
    subject: Option<String>,
    viewer: Viewer,
    now: Timestamp,
    options: &StoreOptions,
) -> Result<Ticket, StoreError> {
    let original = visible(load_ticket(conn, ticket, true).await?, Some(&viewer))?;
    let found = load_messages_by_id(conn, message).await?.into_iter().next().ok_or(StoreError::NotFound("message"))?;
    // The message may be on a ticket merged into this one: the survivor shows it.
    if found.ticket != original.id && !merged_family(conn, original.id).await?.contains(&found.ticket) {
        return Err(StoreError::NotFound("message"));
    }
    merge::check_split(&found, subject.as_deref()).map_err(split_rejection)?;
    let tier = customer_tier(conn, original.customer).await?;
    let id = TicketId(conn.next_id("tickets").await?);
    let copy = MessageId(conn.next_id("messages").await?);
    let new = SplitTicket { id, copy, subject, tier };
    let split = merge::split(&original, &found, new, &options.matrix, Actor::Agent(viewer.agent), now)
        .map_err(split_rejection)?;
    let mut statements = vec![ticket_insert(&split.new.ticket)?];
    statements.extend(tags_insert(id, &split.new.ticket.tags));
    conn.execute_all(statements).await?;
    // The copy keeps the text, the author and the time the customer wrote it,
    // but not the channel id (that stays unique to the original) nor the
    // sender (so the copy does not count twice against the sender's rate limit).
    conn.execute(
        "INSERT INTO messages (id, ticket_id, kind, author_type, author_id, channel, text, html, created_at, \
         original_text) SELECT $1, $2, kind, author_type, author_id, channel, text, html, created_at, original_text \
         FROM messages WHERE id = $3",
        args![copy.0, id.0, found.id.0],
    )
    .await?;
    conn.execute(
        "INSERT INTO message_attachments (message_id, position, sha256, filename, content_type) \
         SELECT $1, position, sha256, filename, content_type FROM message_attachments WHERE message_id = $2",
        args![copy.0, found.id.0],
    )
    .await?;
    insert_events(conn, &split.new.events).await?;
    // The people of the original conversation are the people of this one.
    conn.execute(
        "INSERT INTO ticket_participants (ticket_id, kind, value, role, created_at) \
         SELECT $1, kind, value, role, $2 FROM ticket_participants WHERE ticket_id = $3 \
         ON CONFLICT DO NOTHING",
        args![id.0, now.0, found.ticket.0],
    )
    .await?;
    save_decision(conn, &original, &split.original).await?;
    Ok(split.new.ticket)
}

/// A subject core refuses is refused like any subject; other refusals are the split's own.
fn split_rejection(error: SplitError) -> Rejection {
    match error {
        SplitError::Open(error) => Rejection::Open(error),
        other => Rejection::Split(other),
    }
}

/// A customer with their identities, locked for the rest of the
/// transaction on PostgreSQL.
async fn load_customer(conn: &mut Conn<'_>, id: CustomerId) -> Result<Customer, StoreError> {
    let lock = conn.lock_rows();
    let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1{lock}");
    let row: Option<CustomerRow> = conn.fetch_optional(AssertSqlSafe(sql), args![id.0]).await?;
    let row = row.ok_or(StoreError::NotFound("customer"))?;
    let identities: Vec<IdentityRow> = conn
        .fetch_all(
            "SELECT customer_id, kind, value, verified_at, added_by_agent FROM identities WHERE customer_id = $1 \
             ORDER BY kind, value",
            args![id.0],
        )
        .await?;
    row.into_customer(identities)
}

async fn merge_customers(
    conn: &mut Conn<'_>,
    source: CustomerId,
    target: CustomerId,
    actor: Actor,
    now: Timestamp,
    options: &StoreOptions,
) -> Result<(), StoreError> {
    // Lock in id order, so two merges of the same pair cannot deadlock (PostgreSQL).
    let (source_customer, target_customer) = if source.0 <= target.0 {
        let source_customer = load_customer(conn, source).await?;
        let target_customer =
            load_customer(conn, target).await.map_err(|error| missing_as(error, "customer to merge into"))?;
        (source_customer, target_customer)
    } else {
        let target_customer =
            load_customer(conn, target).await.map_err(|error| missing_as(error, "customer to merge into"))?;
        (load_customer(conn, source).await?, target_customer)
    };
    check_customer_merge(&source_customer, &target_customer).map_err(Rejection::from)?;
    conn.execute("UPDATE identities SET customer_id = $1 WHERE customer_id = $2", args![target.0, source.0]).await?;
    // Links already emailed to the source's addresses now lead to the customer those addresses belong to.
    conn.execute("UPDATE magic_links SET customer_id = $1 WHERE customer_id = $2", args![target.0, source.0]).await?;
    // The person's messages are theirs under the record that survives, so
    // that erasing that record later reaches every message they wrote.
    conn.execute(
        "UPDATE messages SET author_id = $1 WHERE author_type = 'customer' AND author_id = $2",
        args![target.0, source.0],
    )
    .await?;
    let tier = customer_tier(conn, target).await?;
    let rows: Vec<IdRow> =
        conn.fetch_all("SELECT id FROM tickets WHERE customer_id = $1 ORDER BY id", args![source.0]).await?;
    let mut moved = Vec::with_capacity(rows.len());
    for row in rows {
        let ticket = load_ticket(conn, TicketId(row.id), true).await?;
        let decision = merge::move_to_customer(&ticket, target, &tier, &options.matrix, actor, now);
        save_decision(conn, &ticket, &decision).await?;
        moved.push(ticket.id.0);
    }
    let (actor_type, actor_id) = actor_columns(actor);
    conn.execute(
        "INSERT INTO customer_merges (source_id, target_id, actor_type, actor_id, identities, tickets, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            source.0,
            target.0,
            actor_type,
            actor_id,
            serde_json::to_string(&source_customer.identities)?,
            serde_json::to_string(&moved)?,
            now.0
        ],
    )
    .await?;
    conn.execute("UPDATE customers SET merged_into = $1 WHERE id = $2", args![target.0, source.0]).await?;
    Ok(())
}

/// For erasure: the merge records of `customer`, and of every customer
/// merged into them, keep no copy of the addresses that moved.
pub(crate) async fn redact_merges(
    conn: &mut Conn<'_>,
    customer: CustomerId,
    redact: &(dyn Fn(&str) -> String + Sync),
) -> Result<(), StoreError> {
    #[derive(sqlx::FromRow)]
    struct IdentitiesRow {
        id: i64,
        identities: String,
    }
    let mut family = vec![customer.0];
    let mut next = 0;
    while next < family.len() && family.len() < MAX_FAMILY {
        let rows: Vec<IdRow> =
            conn.fetch_all("SELECT id FROM customers WHERE merged_into = $1 ORDER BY id", args![family[next]]).await?;
        family.extend(rows.into_iter().map(|row| row.id));
        next += 1;
    }
    for id in family {
        let rows: Vec<IdentitiesRow> = conn
            .fetch_all("SELECT id, identities FROM customer_merges WHERE source_id = $1 OR target_id = $1", args![id])
            .await?;
        for row in rows {
            let mut identities: Vec<Identity> = serde_json::from_str(&row.identities)?;
            for identity in &mut identities {
                identity.value = redact(&identity.value);
            }
            let redacted = serde_json::to_string(&identities)?;
            if redacted != row.identities {
                conn.execute("UPDATE customer_merges SET identities = $1 WHERE id = $2", args![redacted, row.id])
                    .await?;
            }
        }
    }
    Ok(())
}
