//! Writing to the outbox inside the caller's transaction: the entry, and
//! the plan of how a public reply reaches the customer (channel, recipients,
//! threading). Claiming and sending entries is `crate::outbox`.

use rapport_core::chat::ChatState;
use rapport_core::outbox::OutboundPayload;
use rapport_core::{Channel, MessageId, TicketId, Timestamp};

use crate::db::{Conn, args};
use crate::error::StoreError;

#[derive(sqlx::FromRow)]
struct ReplyChannelRow {
    state: String,
    email: Option<String>,
}

/// The channel a public reply on a chat ticket takes when the agent names
/// none: email once the chat went offline and the visitor left an address,
/// otherwise the chat itself.
pub(crate) async fn reply_channel(conn: &mut Conn<'_>, ticket: TicketId) -> Result<Channel, StoreError> {
    let row: Option<ReplyChannelRow> = conn
        .fetch_optional(
            "SELECT state, email FROM chat_sessions WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1",
            args![ticket.0],
        )
        .await?;
    Ok(match row {
        Some(row) if row.state == ChatState::Offline.as_str() && row.email.is_some() => Channel::Email,
        _ => Channel::Chat,
    })
}

/// Writes an outbox entry inside the caller's transaction.
pub(crate) async fn enqueue(
    conn: &mut Conn<'_>,
    message: Option<MessageId>,
    ticket: Option<TicketId>,
    channel: Channel,
    external_id: &str,
    payload: &OutboundPayload,
    now: Timestamp,
) -> Result<(), StoreError> {
    enqueue_with_secret(conn, message, ticket, channel, external_id, payload, None, now).await
}

/// [`enqueue`] for a payload that carries `secret` (a magic link's URL): the
/// payload keeps it only until the entry is sent or given up.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn enqueue_with_secret(
    conn: &mut Conn<'_>,
    message: Option<MessageId>,
    ticket: Option<TicketId>,
    channel: Channel,
    external_id: &str,
    payload: &OutboundPayload,
    secret: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO outbox (message_id, ticket_id, channel, external_id, payload, state, attempts, next_attempt_at, \
         created_at, secret) VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6, $7)",
        args![
            message.map(|message| message.0),
            ticket.map(|ticket| ticket.0),
            channel.as_str(),
            external_id,
            serde_json::to_string(payload)?,
            now.0,
            secret.map(str::to_owned)
        ],
    )
    .await?;
    Ok(())
}

/// What stands in a sent payload where its secret was.
pub(crate) const SECRET_REMOVED: &str = "(link removed once sent)";

/// The kind of identity a reply on `channel` goes to, and the prefix its
/// value carries (core's `reply::reply_identity`).
pub fn reply_identity(channel: Channel) -> Option<(rapport_core::IdentityKind, &'static str)> {
    Some(rapport_core::reply::reply_identity(channel))
}

/// A public reply's delivery, planned: its channel, why, and what to send.
pub(crate) struct PlannedReply {
    /// The channel and the reason for it.
    pub(crate) routed: rapport_core::reply::Routed,
    /// What the outbox sends.
    pub(crate) payload: OutboundPayload,
}

#[derive(sqlx::FromRow)]
struct IdentityRow {
    kind: String,
    value: String,
    role: String,
}

/// How many of the customer's latest messages are read to find the channels
/// they wrote on most recently.
const RECENT_MESSAGES: i64 = 50;

/// Plans how a public reply reaches the customer (core's `reply::route`): on
/// the channel the agent chose, else the ticket's, else the customer's most
/// recent channel that reaches them; to the ticket's requesters on that
/// channel (else the customer's own address there) with followers in copy,
/// threaded on the ticket's earlier messages. The inner error says why no
/// channel can carry it.
pub(crate) async fn plan_reply(
    conn: &mut Conn<'_>,
    ticket: &rapport_core::Ticket,
    author: rapport_core::Author,
    text: &str,
    html: Option<&str>,
    requested: Option<Channel>,
) -> Result<Result<PlannedReply, rapport_core::reply::RouteError>, StoreError> {
    use rapport_core::outbox::Recipient;
    use rapport_core::{Identity, IdentityKind};
    let rows: Vec<IdentityRow> = conn
        .fetch_all(
            "SELECT kind, value, role FROM ticket_participants WHERE ticket_id = $1 \
             UNION ALL SELECT kind, value, 'customer' AS role FROM identities WHERE customer_id = $2",
            args![ticket.id.0, ticket.customer.0],
        )
        .await?;
    let mut known: Vec<(Identity, String)> = rows
        .into_iter()
        .filter_map(|row| {
            let kind = IdentityKind::parse(&row.kind)?;
            Identity::parse(kind, &row.value).ok().map(|identity| (identity, row.role))
        })
        .collect();
    known.sort_by(|a, b| (a.0.kind.as_str(), &a.0.value).cmp(&(b.0.kind.as_str(), &b.0.value)));
    let reachable: Vec<Identity> =
        known.iter().filter(|(_, role)| role != "follower").map(|(identity, _)| identity.clone()).collect();
    let recent: Vec<ChannelRow> = conn
        .fetch_all(
            "SELECT m.channel FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE t.customer_id = $1 AND m.kind = 'inbound' ORDER BY m.id DESC LIMIT $2",
            args![ticket.customer.0, RECENT_MESSAGES],
        )
        .await?;
    let mut recent_channels: Vec<Channel> = Vec::new();
    for channel in recent.iter().filter_map(|row| row.channel.parse::<Channel>().ok()) {
        if !recent_channels.contains(&channel) {
            recent_channels.push(channel);
        }
    }
    let mut routed = match rapport_core::reply::route(requested, ticket.channel, &recent_channels, &reachable) {
        Ok(routed) => routed,
        Err(error) => return Ok(Err(error)),
    };
    // A chat that went offline is answered by email once the visitor left an address.
    if routed.channel == Channel::Chat
        && requested.is_none()
        && reply_channel(conn, ticket.id).await? == Channel::Email
        && reachable.iter().any(|identity| rapport_core::reply::reaches(identity, Channel::Email))
    {
        routed.channel = Channel::Email;
    }
    let channel = routed.channel;
    let reaches = |identity: &Identity| rapport_core::reply::reaches(identity, channel);
    let recipient = |identity: &Identity| Recipient { name: None, identity: identity.clone() };
    let mut to: Vec<Recipient> = known
        .iter()
        .filter(|(identity, role)| role == "requester" && reaches(identity))
        .map(|(i, _)| recipient(i))
        .collect();
    if to.is_empty() {
        to.extend(
            known
                .iter()
                .filter(|(identity, role)| role == "customer" && reaches(identity))
                .map(|(i, _)| recipient(i))
                .take(1),
        );
    }
    // Followers (Cc) are an email notion.
    let cc: Vec<Recipient> = if rapport_core::reply::reply_identity(channel).0 == IdentityKind::Email {
        known
            .iter()
            .filter(|(identity, role)| role == "follower" && reaches(identity))
            .map(|(i, _)| recipient(i))
            .collect()
    } else {
        Vec::new()
    };
    let thread: Vec<ExternalRow> = conn
        .fetch_all(
            "SELECT external_id FROM messages WHERE ticket_id = $1 AND external_id IS NOT NULL AND kind <> 'note' \
             ORDER BY id",
            args![ticket.id.0],
        )
        .await?;
    let references: Vec<String> = thread.iter().rev().take(20).rev().map(|row| row.external_id.clone()).collect();
    let author_name = match author {
        rapport_core::Author::Agent(agent) => {
            let row: Option<NameRow> =
                conn.fetch_optional("SELECT name FROM agents WHERE id = $1", args![agent.0]).await?;
            row.map(|row| row.name)
        }
        _ => None,
    };
    Ok(Ok(PlannedReply {
        routed,
        payload: OutboundPayload {
            ticket: Some(ticket.id),
            to,
            cc,
            subject: rapport_core::intake::reply_subject(ticket.id, &ticket.subject),
            in_reply_to: references.last().cloned(),
            references,
            author_name,
            text: text.to_owned(),
            html: html.map(str::to_owned),
            automatic: None,
        },
    }))
}

#[derive(sqlx::FromRow)]
struct ChannelRow {
    channel: String,
}

#[derive(sqlx::FromRow)]
struct ExternalRow {
    external_id: String,
}

#[derive(sqlx::FromRow)]
struct NameRow {
    name: String,
}
