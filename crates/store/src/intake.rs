//! Intake: files one inbound message from any channel, in one transaction.
//!
//! The store gathers the facts core's [`rapport_core::intake::place`] needs —
//! whether the message was filed before, who the sender is, how much they sent
//! lately, which tickets its thread hints point at — then carries out the
//! placement: a message on an existing ticket (reopening it if needed) or a new
//! ticket, with the sender and the Cc followers recorded as participants and,
//! for a person's first message, an acknowledgment queued in the outbox. What
//! cannot be filed goes to the quarantine whole, so nothing acknowledged to the
//! sending server is ever lost.

use rapport_catalog::Words;
use rapport_core::event::{self};
use rapport_core::intake::{
    Candidate, InboundMessage, NewTicketReason, PORTAL_LINK_STAND_IN, Placement, RATE_WINDOW_MS, RateLimit,
    RateVerdict, Sender, acknowledgment_text, over_rate, place, portal_link_text, reply_subject,
};
use rapport_core::outbox::{Automatic, DeliveryState, OutboundPayload, Recipient};
use rapport_core::{
    Actor, Author, Channel, CustomerId, Identity, Level, MessageId, MessageKind, Status, TicketId, Timestamp,
};
use sha2::{Digest, Sha256};

use crate::db::{Conn, IdRow, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::create::{CreateTicket, create_one};
use crate::kernel::customers::add_participant;
use crate::kernel::customers::{CustomerRef, resolve_customer};
use crate::kernel::messages::{MessageOrigin, NewAttachment, NewMessage, insert_message};
use crate::kernel::outbox::enqueue_with_secret;
use crate::kernel::tickets::{load_ticket, save_decision};
use crate::portal::{MagicLink, insert_link};
use crate::{Store, StoreOptions};

/// The most thread references looked up per message.
const MAX_REFERENCES: usize = 20;

/// A request to file one inbound message.
#[derive(Debug, Clone)]
pub struct FileInbound {
    /// The message in core's shape.
    pub message: InboundMessage,
    /// The message exactly as received (kept whole if it has to be quarantined).
    pub raw: Vec<u8>,
    /// The Message-ID (or channel id) for the acknowledgment, if one should be
    /// sent when this message opens a ticket; `None` sends none.
    pub acknowledgment: Option<String>,
    /// The per-sender rate limit.
    pub rate_limit: RateLimit,
}

/// What filing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filed {
    /// The same message was filed before (same channel id): nothing changed.
    Duplicate {
        /// Its ticket.
        ticket: TicketId,
        /// The message filed earlier.
        message: MessageId,
    },
    /// Added to an existing ticket.
    Added {
        /// The ticket.
        ticket: TicketId,
        /// The new message.
        message: MessageId,
        /// True when the ticket was reopened.
        reopened: bool,
    },
    /// Opened a new ticket.
    Opened {
        /// The new ticket.
        ticket: TicketId,
        /// Its first message.
        message: MessageId,
        /// The ticket it is linked to.
        linked_to: Option<TicketId>,
        /// Why it is new.
        reason: NewTicketReason,
        /// The acknowledgment queued, if any.
        acknowledgment: Option<MessageId>,
    },
    /// Kept whole in the quarantine.
    Quarantined {
        /// The quarantine entry.
        id: i64,
        /// Why.
        reason: QuarantineReason,
    },
}

impl Filed {
    /// The ticket the message is on, if it was filed on one.
    pub fn ticket(&self) -> Option<TicketId> {
        match self {
            Filed::Duplicate { ticket, .. } | Filed::Added { ticket, .. } | Filed::Opened { ticket, .. } => {
                Some(*ticket)
            }
            Filed::Quarantined { .. } => None,
        }
    }
}

/// Why a message is in the quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarantineReason {
    /// It could not be parsed into a message (held for an admin).
    Unparseable,
    /// The sender is flooding us (held; a retry files it).
    RateLimited,
    /// A bounce for a message we cannot find (held).
    UnmatchedBounce,
    /// Our own mail come back (kept for the record, needs nothing).
    Loop,
}

impl QuarantineReason {
    /// The database word.
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineReason::Unparseable => "unparseable",
            QuarantineReason::RateLimited => "rate_limited",
            QuarantineReason::UnmatchedBounce => "unmatched_bounce",
            QuarantineReason::Loop => "loop",
        }
    }

    fn parse(word: &str) -> Option<QuarantineReason> {
        [
            QuarantineReason::Unparseable,
            QuarantineReason::RateLimited,
            QuarantineReason::UnmatchedBounce,
            QuarantineReason::Loop,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == word)
    }

    /// Loops need no attention; everything else waits for an admin.
    fn initial_state(self) -> &'static str {
        match self {
            QuarantineReason::Loop => "ignored",
            _ => "held",
        }
    }
}

/// A quarantined message, for an admin to list and re-run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineItem {
    /// Id.
    pub id: i64,
    /// Channel it came in on.
    pub channel: Channel,
    /// Why it is here.
    pub reason: QuarantineReason,
    /// What went wrong, for a person.
    pub detail: String,
    /// held, ignored or resolved.
    pub state: String,
    /// Size of the raw message.
    pub size: i64,
    /// When it arrived.
    pub created_at: Timestamp,
    /// The ticket it was filed on after a re-run.
    pub ticket: Option<TicketId>,
}

/// A bounce (delivery status notification) to attach to the message that bounced.
#[derive(Debug, Clone)]
pub struct BounceFiling {
    /// The Message-ID of the mail that bounced, if the report gave one.
    pub original_external_id: Option<String>,
    /// The bounce's own id (for filing a redelivery once).
    pub external_id: String,
    /// A summary for the agent: who failed and why.
    pub text: String,
    /// True when the report says delivery failed (not merely delayed).
    pub failed: bool,
    /// The bounce exactly as received.
    pub raw: Vec<u8>,
    /// When it arrived.
    pub received_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct ExistingRow {
    id: i64,
    ticket_id: i64,
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: i64,
    status: String,
    customer_id: i64,
    merged_into: Option<i64>,
    participates: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct QuarantineRow {
    id: i64,
    channel: String,
    reason: String,
    detail: String,
    state: String,
    size: i64,
    created_at: i64,
    ticket_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct RawRow {
    raw: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct OutboundRow {
    id: i64,
    ticket_id: i64,
}

impl Store {
    /// Files one inbound message (see the module documentation).
    pub async fn file_inbound(&self, request: FileInbound) -> Result<Filed, StoreError> {
        let options = self.options.clone();
        self.write(move |conn| Box::pin(async move { file(conn, request, None, &options).await })).await
    }

    /// Files a message like [`Store::file_inbound`]; when it opens a ticket
    /// and is acknowledged, the acknowledgment also carries `link`, a magic
    /// link for the sender to follow that ticket, created in the same
    /// transaction (the web form). The copy of the acknowledgment kept on the
    /// ticket shows a stand-in instead of the link.
    pub async fn file_inbound_with_link(&self, request: FileInbound, link: MagicLink) -> Result<Filed, StoreError> {
        let options = self.options.clone();
        self.write(move |conn| Box::pin(async move { file(conn, request, Some(&link), &options).await })).await
    }

    /// Attaches a bounce to the ticket of the message that bounced, as an
    /// internal note, and marks that message failed. A bounce never opens a
    /// ticket: one whose message cannot be found goes to the quarantine.
    pub async fn file_bounce(&self, bounce: BounceFiling) -> Result<Filed, StoreError> {
        self.write(move |conn| Box::pin(async move { file_bounce(conn, bounce).await })).await
    }

    /// Keeps a message that cannot be filed, whole, for an admin.
    pub async fn quarantine(
        &self,
        channel: Channel,
        reason: QuarantineReason,
        detail: String,
        raw: Vec<u8>,
        now: Timestamp,
    ) -> Result<Filed, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let id = quarantine(conn, channel, reason, &detail, &raw, now).await?;
                Ok(Filed::Quarantined { id, reason })
            })
        })
        .await
    }

    /// Lists quarantined messages, newest first; `held_only` limits the list to those awaiting an admin.
    pub async fn list_quarantine(&self, state: Option<&str>, limit: i64) -> Result<Vec<QuarantineItem>, StoreError> {
        let state = state.map(str::to_owned);
        let rows: Vec<QuarantineRow> = self
            .db
            .fetch_all(
                "SELECT id, channel, reason, detail, state, CAST(LENGTH(raw) AS BIGINT) AS size, created_at, ticket_id \
                 FROM quarantine WHERE ($1 IS NULL OR state = $1) ORDER BY id DESC LIMIT $2",
                args![state, limit],
            )
            .await?;
        rows.into_iter().map(QuarantineItem::try_from).collect()
    }

    /// The raw bytes of a quarantined message.
    pub async fn get_quarantined_raw(&self, id: i64) -> Result<Vec<u8>, StoreError> {
        let row: Option<RawRow> = self.db.fetch_optional("SELECT raw FROM quarantine WHERE id = $1", args![id]).await?;
        Ok(row.ok_or(StoreError::NotFound("quarantined message"))?.raw)
    }

    /// Records something an admin must look at (a refused oversize message, say).
    pub async fn insert_alert(&self, kind: &'static str, detail: String, now: Timestamp) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute(
                    "INSERT INTO admin_alerts (kind, detail, created_at) VALUES ($1, $2, $3)",
                    args![kind, detail, now.0],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Lists admin alerts, newest first, as `(kind, detail, created_at)`.
    pub async fn list_alerts(&self, limit: i64) -> Result<Vec<(String, String, Timestamp)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct AlertRow {
            kind: String,
            detail: String,
            created_at: i64,
        }
        let rows: Vec<AlertRow> = self
            .db
            .fetch_all("SELECT kind, detail, created_at FROM admin_alerts ORDER BY id DESC LIMIT $1", args![limit])
            .await?;
        Ok(rows.into_iter().map(|row| (row.kind, row.detail, Timestamp(row.created_at))).collect())
    }
}

impl TryFrom<QuarantineRow> for QuarantineItem {
    type Error = StoreError;
    fn try_from(row: QuarantineRow) -> Result<QuarantineItem, StoreError> {
        Ok(QuarantineItem {
            id: row.id,
            channel: row.channel.parse().map_err(|_| corrupt("quarantine.channel", &row.channel))?,
            reason: QuarantineReason::parse(&row.reason).ok_or_else(|| corrupt("quarantine.reason", &row.reason))?,
            detail: row.detail,
            state: row.state,
            size: row.size,
            created_at: Timestamp(row.created_at),
            ticket: row.ticket_id.map(TicketId),
        })
    }
}

fn corrupt(field: &str, value: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("unexpected value {value:?} in {field}"))
}

async fn file(
    conn: &mut Conn<'_>,
    request: FileInbound,
    link: Option<&MagicLink>,
    options: &StoreOptions,
) -> Result<Filed, StoreError> {
    let inbound = request.message;
    let now = inbound.received_at;
    // One sender's messages are filed one at a time: two filed in parallel
    // would each miss the other's new ticket and open two. Other senders go
    // on in parallel.
    conn.lock_key(&format!("{}:{}", inbound.sender.kind.as_str(), inbound.sender.value)).await?;
    let facts = sender_facts(conn, &inbound).await?;
    if let Some(existing) = facts.duplicate {
        return Ok(existing);
    }
    let recent = facts.recent;
    let verdict = over_rate(recent, request.rate_limit);
    if verdict == RateVerdict::Storm {
        let detail = format!("{} sent {recent} messages within an hour", inbound.sender.value);
        let id = quarantine(conn, inbound.channel, QuarantineReason::RateLimited, &detail, &request.raw, now).await?;
        return Ok(Filed::Quarantined { id, reason: QuarantineReason::RateLimited });
    }
    let sender = facts.sender;
    let candidates = candidates(conn, &inbound).await?;
    let placement = place(sender, &candidates);
    let origin = MessageOrigin {
        external_id: inbound.external_id.clone(),
        delivery: None,
        original_text: inbound.original_text.clone(),
        sender: Some(inbound.sender.clone()),
        channel: None,
        route: None,
    };
    let attachments: Vec<NewAttachment> = inbound
        .attachments
        .iter()
        .map(|attachment| NewAttachment {
            filename: attachment.filename.clone(),
            content_type: attachment.content_type.clone(),
            content: attachment.content.clone(),
        })
        .collect();
    let customer_ref = CustomerRef { name: inbound.sender_name.clone(), identities: vec![inbound.sender.clone()] };
    match placement {
        Placement::Existing { ticket, reopens } => {
            // Intake records addresses unverified: a message proves nothing about its sender.
            let author = match sender {
                Some(known) => known.customer,
                None => resolve_customer(conn, &customer_ref, now, None).await?.0,
            };
            let participates =
                candidates.iter().any(|candidate| candidate.ticket == ticket && candidate.sender_participates);
            let ticket = load_ticket(conn, ticket, true).await?;
            let message = NewMessage {
                kind: MessageKind::Inbound,
                author: Author::Customer(author),
                text: inbound.text.clone(),
                html: inbound.html.clone(),
                attachments,
                origin,
                now,
            };
            let message_id = insert_message(conn, ticket.id, inbound.channel, &message).await?;
            let decision = event::add_message(&ticket, message_id, MessageKind::Inbound, message.author, now)
                .map_err(Rejection::from)?;
            save_decision(conn, &ticket, &decision).await?;
            if !participates {
                add_participant(conn, ticket.id, &inbound.sender, "requester", now).await?;
            }
            add_followers(conn, ticket.id, &inbound, options.max_followers, now).await?;
            Ok(Filed::Added { ticket: ticket.id, message: message_id, reopened: reopens })
        }
        Placement::New { linked_to, reason } => {
            let create = CreateTicket {
                subject: rapport_core::intake::fit_subject(&inbound.subject),
                body: inbound.text.clone(),
                html: inbound.html.clone(),
                channel: inbound.channel,
                customer: customer_ref,
                urgency: Level::Normal,
                team: inbound.team,
                tags: Vec::new(),
                attachments,
                actor: Actor::System,
                idempotency: None,
                linked_to,
                origin,
                now,
            };
            let created = create_one(conn, create, options).await?;
            let ticket = created.ticket;
            let first: IdRow =
                conn.fetch_one("SELECT MIN(id) AS id FROM messages WHERE ticket_id = $1", args![ticket.id.0]).await?;
            add_participant(conn, ticket.id, &inbound.sender, "requester", now).await?;
            add_followers(conn, ticket.id, &inbound, options.max_followers, now).await?;
            let acknowledgment = match request.acknowledgment {
                Some(ack_id) if !inbound.automatic && verdict == RateVerdict::Normal => {
                    Some(acknowledge(conn, &ticket, &inbound, ack_id, link).await?)
                }
                _ => None,
            };
            Ok(Filed::Opened { ticket: ticket.id, message: MessageId(first.id), linked_to, reason, acknowledgment })
        }
    }
}

async fn find_external(conn: &mut Conn<'_>, channel: Channel, external_id: &str) -> Result<Option<Filed>, StoreError> {
    let row: Option<ExistingRow> = conn
        .fetch_optional(
            "SELECT id, ticket_id FROM messages WHERE channel = $1 AND external_id = $2",
            args![channel.as_str(), external_id],
        )
        .await?;
    Ok(row.map(|row| Filed::Duplicate { ticket: TicketId(row.ticket_id), message: MessageId(row.id) }))
}

/// What filing needs to know about a message before placing it.
struct SenderFacts {
    /// The same message, filed before.
    duplicate: Option<Filed>,
    /// The sender's messages within the rate window.
    recent: u32,
    /// The customer the sender's identity belongs to.
    sender: Option<Sender>,
}

/// The duplicate check, the rate count and the sender's customer in one
/// query: on SQLite every statement is a round trip to the database thread,
/// and intake is the hottest write path.
async fn sender_facts(conn: &mut Conn<'_>, inbound: &InboundMessage) -> Result<SenderFacts, StoreError> {
    #[derive(sqlx::FromRow)]
    struct FactsRow {
        duplicate_id: Option<i64>,
        duplicate_ticket: Option<i64>,
        recent: i64,
        customer_id: Option<i64>,
        verified_at: Option<i64>,
    }
    let since = inbound.received_at.0.saturating_sub(RATE_WINDOW_MS);
    let row: FactsRow = conn
        .fetch_one(
            "SELECT (SELECT id FROM messages WHERE channel = $1 AND external_id = $2) AS duplicate_id, \
             (SELECT ticket_id FROM messages WHERE channel = $1 AND external_id = $2) AS duplicate_ticket, \
             (SELECT COUNT(*) FROM messages WHERE sender_kind = $3 AND sender_value = $4 AND created_at > $5) \
             AS recent, (SELECT customer_id FROM identities WHERE kind = $3 AND value = $4) AS customer_id, \
             (SELECT verified_at FROM identities WHERE kind = $3 AND value = $4 AND added_by_agent IS NULL) \
             AS verified_at",
            args![
                inbound.channel.as_str(),
                inbound.external_id.clone(),
                inbound.sender.kind.as_str(),
                inbound.sender.value.as_str(),
                since
            ],
        )
        .await?;
    let duplicate = match (row.duplicate_id, row.duplicate_ticket) {
        (Some(message), Some(ticket)) => {
            Some(Filed::Duplicate { ticket: TicketId(ticket), message: MessageId(message) })
        }
        _ => None,
    };
    Ok(SenderFacts {
        duplicate,
        recent: u32::try_from(row.recent).unwrap_or(u32::MAX),
        sender: row
            .customer_id
            .map(|customer| Sender { customer: CustomerId(customer), verified: row.verified_at.is_some() }),
    })
}

/// The tickets the hints point at, references first, each followed through
/// merges to the ticket that survived.
async fn candidates(conn: &mut Conn<'_>, inbound: &InboundMessage) -> Result<Vec<Candidate>, StoreError> {
    let mut tickets: Vec<TicketId> = Vec::new();
    for reference in inbound.thread.references.iter().take(MAX_REFERENCES) {
        let row: Option<ExistingRow> = conn
            .fetch_optional(
                "SELECT id, ticket_id FROM messages WHERE external_id = $1 ORDER BY id LIMIT 1",
                args![reference.as_str()],
            )
            .await?;
        if let Some(row) = row {
            tickets.push(TicketId(row.ticket_id));
        }
    }
    tickets.extend(inbound.thread.tokens.iter().take(MAX_REFERENCES).copied());
    if tickets.is_empty() && rapport_core::intake::joins_latest_ticket(inbound.channel) {
        // No thread on this channel: the sender's latest unclosed ticket on it.
        // The sender participates by construction and the ticket was merged
        // into nothing, so the row is the candidate itself. A chat visitor's
        // ticket may have moved on to email (the chat went offline and they
        // left an address): their next chat message still joins it.
        let latest: Option<CandidateRow> = conn
            .fetch_optional(
                "SELECT t.id, t.status, t.customer_id, t.merged_into, CAST(1 AS BIGINT) AS participates FROM tickets t \
                 JOIN ticket_participants p ON p.ticket_id = t.id \
                 WHERE p.kind = $1 AND p.value = $2 AND (t.channel = $3 OR p.kind = 'chat') AND t.status <> 'closed' \
                 AND t.merged_into IS NULL ORDER BY t.id DESC LIMIT 1",
                args![inbound.sender.kind.as_str(), inbound.sender.value.as_str(), inbound.channel.as_str()],
            )
            .await?;
        if let Some(row) = latest {
            let status: Status = row.status.parse().map_err(|_| corrupt("tickets.status", &row.status))?;
            return Ok(vec![Candidate {
                ticket: TicketId(row.id),
                status,
                customer: CustomerId(row.customer_id),
                sender_participates: true,
            }]);
        }
    }
    let mut found: Vec<Candidate> = Vec::new();
    for ticket in tickets {
        if let Some(candidate) = candidate(conn, ticket, &inbound.sender).await?
            && !found.iter().any(|seen| seen.ticket == candidate.ticket)
        {
            found.push(candidate);
        }
    }
    Ok(found)
}

async fn candidate(conn: &mut Conn<'_>, ticket: TicketId, sender: &Identity) -> Result<Option<Candidate>, StoreError> {
    let mut id = ticket;
    // A merged ticket points at the one that survived; follow a short chain.
    for _ in 0..8 {
        let row: Option<CandidateRow> = conn
            .fetch_optional(
                "SELECT t.id, t.status, t.customer_id, t.merged_into, \
                 (SELECT COUNT(*) FROM ticket_participants p WHERE p.ticket_id = t.id AND p.kind = $2 AND p.value = $3) \
                 AS participates FROM tickets t WHERE t.id = $1",
                args![id.0, sender.kind.as_str(), sender.value.as_str()],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        if let Some(next) = row.merged_into {
            id = TicketId(next);
            continue;
        }
        let status: Status = row.status.parse().map_err(|_| corrupt("tickets.status", &row.status))?;
        return Ok(Some(Candidate {
            ticket: TicketId(row.id),
            status,
            customer: CustomerId(row.customer_id),
            sender_participates: row.participates > 0,
        }));
    }
    Ok(None)
}

/// Records the message's Cc addresses as the ticket's followers: the first
/// `max_followers` of the ticket are mailed its replies, any after them are
/// recorded as `copied` (seen on the ticket, never mailed).
async fn add_followers(
    conn: &mut Conn<'_>,
    ticket: TicketId,
    inbound: &InboundMessage,
    max_followers: usize,
    now: Timestamp,
) -> Result<(), StoreError> {
    let followers: Vec<&Identity> = inbound.followers.iter().filter(|follower| **follower != inbound.sender).collect();
    if followers.is_empty() {
        return Ok(());
    }
    let counted: IdRow = conn
        .fetch_one(
            "SELECT COUNT(*) AS id FROM ticket_participants WHERE ticket_id = $1 AND role = 'follower'",
            args![ticket.0],
        )
        .await?;
    let mut mailed = usize::try_from(counted.id).unwrap_or(usize::MAX);
    for follower in followers {
        let role = if mailed < max_followers { "follower" } else { "copied" };
        if add_participant(conn, ticket, follower, role, now).await? && role == "follower" {
            mailed += 1;
        }
    }
    Ok(())
}

/// Queues the acknowledgment of a new ticket: a system reply on the ticket
/// (which does not count as a response) and its outbox entry, with the
/// sender's magic link when there is one.
async fn acknowledge(
    conn: &mut Conn<'_>,
    ticket: &rapport_core::Ticket,
    inbound: &InboundMessage,
    ack_id: String,
    link: Option<&MagicLink>,
) -> Result<MessageId, StoreError> {
    let now = inbound.received_at;
    let from_the_form = inbound.channel == Channel::Web;
    // In the language the customer wrote in, where the channel tells.
    let words = Words::negotiate(inbound.language.as_deref(), None);
    let mut text = if from_the_form {
        rapport_core::intake::web_acknowledgment_text(&words, ticket.id)
    } else {
        acknowledgment_text(&words, ticket.id, inbound.sender_name.as_deref(), &inbound.subject)
    };
    let mut sent_text = text.clone();
    if let Some(link) = link {
        insert_link(conn, link, ticket.customer, &inbound.sender, Some(ticket.id), now).await?;
        text.push_str(&portal_link_text(&words, PORTAL_LINK_STAND_IN, link.valid_days));
        sent_text.push_str(&portal_link_text(&words, &link.url, link.valid_days));
    }
    let message = NewMessage {
        kind: MessageKind::Reply,
        author: Author::System,
        text,
        html: None,
        attachments: Vec::new(),
        origin: MessageOrigin {
            external_id: Some(ack_id.clone()),
            delivery: Some(DeliveryState::Queued),
            original_text: None,
            sender: None,
            channel: None,
            // Answered on the channel the customer just wrote on.
            route: Some(rapport_core::reply::ReplyRoute::Ticket),
        },
        now,
    };
    let message_id = insert_message(conn, ticket.id, inbound.channel, &message).await?;
    let decision =
        event::add_message(ticket, message_id, MessageKind::Reply, Author::System, now).map_err(Rejection::from)?;
    save_decision(conn, ticket, &decision).await?;
    let mut references: Vec<String> = inbound.thread.references.iter().rev().cloned().collect();
    if let Some(external_id) = &inbound.external_id {
        references.push(external_id.clone());
    }
    let payload = OutboundPayload {
        ticket: Some(ticket.id),
        // Not even in the To header's display name.
        to: vec![Recipient {
            name: if from_the_form { None } else { inbound.sender_name.clone() },
            identity: inbound.sender.clone(),
        }],
        cc: Vec::new(),
        subject: if from_the_form {
            rapport_core::intake::web_acknowledgment_subject(&words, ticket.id)
        } else {
            // The ticket's subject: the inbound one fitted to its limit (a subject may be a megabyte).
            reply_subject(ticket.id, &ticket.subject)
        },
        in_reply_to: inbound.external_id.clone(),
        references,
        author_name: None,
        text: sent_text,
        html: None,
        automatic: Some(Automatic::AutoReplied),
    };
    let secret = link.map(|link| link.url.as_str());
    enqueue_with_secret(conn, Some(message_id), Some(ticket.id), inbound.channel, &ack_id, &payload, secret, now)
        .await?;
    Ok(message_id)
}

async fn file_bounce(conn: &mut Conn<'_>, bounce: BounceFiling) -> Result<Filed, StoreError> {
    let now = bounce.received_at;
    if let Some(existing) = find_external(conn, Channel::Email, &bounce.external_id).await? {
        return Ok(existing);
    }
    let original: Option<OutboundRow> = match &bounce.original_external_id {
        Some(original) => {
            conn.fetch_optional(
                "SELECT id, ticket_id FROM messages WHERE channel = 'email' AND external_id = $1 AND kind <> 'inbound'",
                args![original.as_str()],
            )
            .await?
        }
        None => None,
    };
    let Some(original) = original else {
        let detail = match &bounce.original_external_id {
            Some(id) => format!("bounce for <{id}>, which is not a message Rapport sent"),
            None => "bounce that names no message".to_owned(),
        };
        let id = quarantine(conn, Channel::Email, QuarantineReason::UnmatchedBounce, &detail, &bounce.raw, now).await?;
        return Ok(Filed::Quarantined { id, reason: QuarantineReason::UnmatchedBounce });
    };
    if bounce.failed {
        conn.execute("UPDATE messages SET delivery = 'failed' WHERE id = $1", args![original.id]).await?;
        conn.execute(
            "UPDATE outbox SET state = 'failed', last_error = $1 WHERE message_id = $2",
            args![bounce.text.clone(), original.id],
        )
        .await?;
    }
    let ticket = load_ticket(conn, TicketId(original.ticket_id), true).await?;
    let note = NewMessage {
        kind: MessageKind::Note,
        author: Author::System,
        text: bounce.text,
        html: None,
        attachments: vec![NewAttachment {
            filename: "bounce.eml".to_owned(),
            content_type: "message/rfc822".to_owned(),
            content: bounce.raw,
        }],
        origin: MessageOrigin { external_id: Some(bounce.external_id), ..MessageOrigin::default() },
        now,
    };
    let message_id = insert_message(conn, ticket.id, Channel::Email, &note).await?;
    let decision =
        event::add_message(&ticket, message_id, MessageKind::Note, Author::System, now).map_err(Rejection::from)?;
    save_decision(conn, &ticket, &decision).await?;
    Ok(Filed::Added { ticket: ticket.id, message: message_id, reopened: false })
}

pub(crate) async fn quarantine(
    conn: &mut Conn<'_>,
    channel: Channel,
    reason: QuarantineReason,
    detail: &str,
    raw: &[u8],
    now: Timestamp,
) -> Result<i64, StoreError> {
    let sha256 = hex::encode(Sha256::digest(raw));
    let existing: Option<IdRow> =
        conn.fetch_optional("SELECT id FROM quarantine WHERE sha256 = $1", args![sha256.as_str()]).await?;
    if let Some(existing) = existing {
        return Ok(existing.id);
    }
    let row: IdRow = conn
        .fetch_one(
            "INSERT INTO quarantine (channel, reason, detail, sha256, raw, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![channel.as_str(), reason.as_str(), detail, sha256, raw.to_vec(), reason.initial_state(), now.0],
        )
        .await?;
    Ok(row.id)
}
