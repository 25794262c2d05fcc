//! The customer side of the help pages: magic links, verified identities,
//! portal sessions and shared rate counters.
//!
//! A magic link is how a customer proves an address is theirs: Rapport emails
//! a link carrying a random secret, and following it marks the identity
//! verified (`identities.verified_at`) and begins a session in the help pages.
//! Only SHA-256 hashes of link and session secrets are stored (as for API
//! tokens), so a copy of the database hands out no working link. Links work
//! once and expire. A session belongs to the identity that followed the link,
//! not to a customer id, so it follows the identity through customer merges and
//! ends when the identity is erased.
//!
//! Rate counters live in the database rather than in memory so that several
//! instances behind a load balancer share one count per address and per IP.

use rapport_core::time::DAY;
use rapport_core::{CustomerId, Identity, IdentityKind, Message, MessageKind, Ticket, TicketId, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Conn, IdRow, args};
use crate::error::StoreError;
use crate::kernel::messages::load_messages;
use crate::kernel::outbox::enqueue_with_secret;
use crate::kernel::tickets::load_ticket;
use crate::rows::{TICKET_COLUMNS, TicketRow};

/// A magic link to create: the caller keeps the secret (it goes into an
/// email), the store keeps its hash.
#[derive(Debug, Clone)]
pub struct MagicLink {
    /// Lower-case hex SHA-256 of the link's secret.
    pub token_hash: String,
    /// The link as the customer receives it, secret included. It is put only
    /// into the email, never into the copy of the message kept on a ticket.
    pub url: String,
    /// How many days the link works.
    pub valid_days: i64,
}

/// What following a magic link proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedLink {
    /// The customer the identity belongs to now.
    pub customer: CustomerId,
    /// The identity, now verified.
    pub identity: Identity,
    /// The ticket the link was sent for, if any.
    pub ticket: Option<TicketId>,
    /// Which of the customer's tickets the session it began reaches.
    pub reach: PortalReach,
}

/// A session in the help pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// The customer the session's identity belongs to now.
    pub customer: CustomerId,
    /// The verified identity that began the session.
    pub identity: Identity,
    /// Which of the customer's tickets it reaches.
    pub reach: PortalReach,
}

/// Which of a customer's tickets a help-pages session reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalReach {
    /// Every one: the identity arrived on its own (the customer wrote from
    /// it) or a supervisor confirmed it.
    Customer,
    /// Only the tickets the identity is on (as requester or follower): an
    /// agent entered it and no supervisor confirmed it. Following a link
    /// proves who holds the address, not that it is the customer's, and
    /// these are tickets the agent who entered it could reach anyway.
    OwnTickets,
}

/// A session to begin when a link is followed.
#[derive(Debug, Clone)]
pub struct NewPortalSession {
    /// Lower-case hex SHA-256 of the cookie's secret.
    pub token_hash: String,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// What a rate counter allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateCheck {
    /// Within the limit; the attempt was counted.
    Allowed,
    /// Over the limit until `retry_at`.
    Limited {
        /// When the window ends.
        retry_at: Timestamp,
    },
}

/// A ticket as its customer sees it: public messages only, never notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalTicket {
    /// The ticket.
    pub ticket: Ticket,
    /// Its inbound messages and public replies, oldest first.
    pub messages: Vec<Message>,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    kind: String,
    value: String,
    ticket_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    kind: String,
    value: String,
    customer_id: i64,
    added_by_agent: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CounterRow {
    window_start: i64,
    count: i64,
}

#[derive(sqlx::FromRow)]
struct MergedRow {
    merged_into: Option<i64>,
}

impl Store {
    /// Creates a magic link for `identity` and queues `email` (which carries
    /// it) in one transaction. Returns false, storing nothing, when no customer
    /// has the identity: the caller answers the same either way, so the page
    /// does not reveal who is a customer.
    pub async fn send_magic_link(
        &self,
        identity: Identity,
        link: MagicLink,
        external_id: String,
        email: rapport_core::outbox::OutboundPayload,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let owner: Option<IdRow> = conn
                    .fetch_optional(
                        "SELECT customer_id AS id FROM identities WHERE kind = $1 AND value = $2",
                        args![identity.kind.as_str(), identity.value.as_str()],
                    )
                    .await?;
                let Some(owner) = owner else { return Ok(false) };
                insert_link(conn, &link, CustomerId(owner.id), &identity, None, now).await?;
                let secret = Some(link.url.as_str());
                enqueue_with_secret(conn, None, None, rapport_core::Channel::Email, &external_id, &email, secret, now)
                    .await?;
                Ok(true)
            })
        })
        .await
    }

    /// Follows a magic link: if it is known, unused and unexpired, it is used
    /// up, its identity is marked verified, and `session` begins. `None` for
    /// any link that does not work (unknown, used, expired, or its identity
    /// erased since); the caller cannot tell which, and neither can a guesser.
    pub async fn follow_magic_link(
        &self,
        token_hash: String,
        session: NewPortalSession,
        now: Timestamp,
    ) -> Result<Option<FollowedLink>, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                // One statement checks and uses the link, so two clicks racing
                // on several instances cannot both get a session.
                let link: Option<LinkRow> = conn
                    .fetch_optional(
                        "UPDATE magic_links SET used_at = $1 \
                         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                         RETURNING kind, value, ticket_id",
                        args![now.0, token_hash],
                    )
                    .await?;
                let Some(link) = link else { return Ok(None) };
                let identity = identity_of(&link.kind, link.value)?;
                let Some((customer, reach)) = mark_verified(conn, &identity, None, false, now).await? else {
                    return Ok(None);
                };
                conn.execute(
                    "INSERT INTO portal_sessions (token_hash, kind, value, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                    args![
                        session.token_hash,
                        identity.kind.as_str(),
                        identity.value.as_str(),
                        now.0,
                        session.expires_at.0
                    ],
                )
                .await?;
                Ok(Some(FollowedLink { customer, identity, ticket: link.ticket_id.map(TicketId), reach }))
            })
        })
        .await
    }

    /// The session with this hash, if it is unexpired and its identity still
    /// exists and is verified.
    pub async fn find_portal_session(
        &self,
        token_hash: String,
        now: Timestamp,
    ) -> Result<Option<PortalSession>, StoreError> {
        let row: Option<SessionRow> = self
            .db
            .fetch_optional(
                "SELECT s.kind, s.value, i.customer_id, i.added_by_agent FROM portal_sessions s \
                 JOIN identities i ON i.kind = s.kind AND i.value = s.value \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND i.verified_at IS NOT NULL",
                args![token_hash, now.0],
            )
            .await?;
        row.map(|row| {
            let reach = if row.added_by_agent.is_some() { PortalReach::OwnTickets } else { PortalReach::Customer };
            Ok(PortalSession {
                customer: CustomerId(row.customer_id),
                identity: identity_of(&row.kind, row.value)?,
                reach,
            })
        })
        .transpose()
    }

    /// Ends a session (signing out); ending one that is gone is not an error.
    pub async fn delete_portal_session(&self, token_hash: String) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                conn.execute("DELETE FROM portal_sessions WHERE token_hash = $1", args![token_hash]).await?;
                Ok(())
            })
        })
        .await
    }

    /// Marks one of `customer`'s identities verified, as confirmed by an
    /// agent; an identity verified already keeps its first date. `NotFound`
    /// when the customer has no such identity.
    pub async fn verify_identity(
        &self,
        customer: CustomerId,
        identity: Identity,
        now: Timestamp,
    ) -> Result<rapport_core::Customer, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                match mark_verified(conn, &identity, Some(customer), true, now).await? {
                    Some(_) => Ok(()),
                    None => Err(StoreError::NotFound("identity")),
                }
            })
        })
        .await?;
        self.get_customer(customer).await
    }

    /// Counts one attempt against `key` in a fixed window of `window_ms` and
    /// says whether it is within `limit`. Attempts over the limit count too,
    /// so hammering does not shorten the wait.
    pub async fn count_attempt(
        &self,
        key: String,
        window_ms: i64,
        limit: i64,
        now: Timestamp,
    ) -> Result<RateCheck, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                // Both engines read the old row in every SET expression, so a
                // window that has ended starts again at 1.
                let row: CounterRow = conn
                    .fetch_one(
                        "INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1) \
                         ON CONFLICT (key) DO UPDATE SET \
                         count = CASE WHEN rate_counters.window_start <= $3 THEN 1 ELSE rate_counters.count + 1 END, \
                         window_start = CASE WHEN rate_counters.window_start <= $3 THEN $2 \
                         ELSE rate_counters.window_start END \
                         RETURNING window_start, count",
                        args![key, now.0, now.0.saturating_sub(window_ms)],
                    )
                    .await?;
                Ok(if row.count > limit {
                    RateCheck::Limited { retry_at: Timestamp(row.window_start.saturating_add(window_ms)) }
                } else {
                    RateCheck::Allowed
                })
            })
        })
        .await
    }

    /// Deletes what no longer works: rate counters whose window ended more
    /// than `window_ms` ago, expired links and expired sessions. Returns how
    /// many rows went.
    pub async fn purge_portal(&self, window_ms: i64, now: Timestamp) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let counters = conn
                    .execute(
                        "DELETE FROM rate_counters WHERE window_start < $1",
                        args![now.0.saturating_sub(window_ms)],
                    )
                    .await?;
                let links = conn.execute("DELETE FROM magic_links WHERE expires_at <= $1", args![now.0]).await?;
                let sessions = conn.execute("DELETE FROM portal_sessions WHERE expires_at <= $1", args![now.0]).await?;
                Ok(counters + links + sessions)
            })
        })
        .await
    }

    /// The tickets a help-pages session reaches, newest first (merged-away
    /// tickets left out): the customer's, or with [`PortalReach::OwnTickets`]
    /// those of them the session's identity is on.
    pub async fn list_customer_tickets(&self, session: &PortalSession, limit: i64) -> Result<Vec<Ticket>, StoreError> {
        let session = session.clone();
        let identity = &session.identity;
        let (only_own, arguments) = match session.reach {
            PortalReach::Customer => ("", args![session.customer.0, limit]),
            PortalReach::OwnTickets => (
                "AND EXISTS (SELECT 1 FROM ticket_participants p WHERE p.ticket_id = t.id \
                 AND p.kind = $3 AND p.value = $4)",
                args![session.customer.0, limit, identity.kind.as_str(), identity.value.as_str()],
            ),
        };
        let sql = format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.customer_id = $1 AND t.merged_into IS NULL \
             {only_own} ORDER BY t.id DESC LIMIT $2"
        );
        let rows: Vec<TicketRow> = self.db.fetch_all(AssertSqlSafe(sql), arguments).await?;
        rows.into_iter().map(Ticket::try_from).collect()
    }

    /// One of the tickets a help-pages session reaches (followed through
    /// merges) with its public messages. Any other ticket is `NotFound`,
    /// like one that does not exist. Internal notes never leave this function.
    pub async fn get_customer_ticket(
        &self,
        session: &PortalSession,
        ticket: TicketId,
    ) -> Result<PortalTicket, StoreError> {
        let session = session.clone();
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let id = surviving_ticket(conn, ticket).await?;
                    let ticket = load_ticket(conn, id, false).await?;
                    if ticket.customer != session.customer {
                        return Err(StoreError::NotFound("ticket"));
                    }
                    if session.reach == PortalReach::OwnTickets && !is_on(conn, id, &session.identity).await? {
                        return Err(StoreError::NotFound("ticket"));
                    }
                    let messages: Vec<Message> = load_messages(conn, id)
                        .await?
                        .into_iter()
                        .filter(|message| message.kind != MessageKind::Note)
                        .collect();
                    Ok(PortalTicket { ticket, messages })
                })
            })
            .await
    }
}

/// Stores a magic link's hash for `identity` of `customer`, inside the caller's transaction.
pub(crate) async fn insert_link(
    conn: &mut Conn<'_>,
    link: &MagicLink,
    customer: CustomerId,
    identity: &Identity,
    ticket: Option<TicketId>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let expires_at = now.plus_millis(link.valid_days.saturating_mul(DAY));
    conn.execute(
        "INSERT INTO magic_links (token_hash, customer_id, kind, value, ticket_id, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        args![
            link.token_hash.as_str(),
            customer.0,
            identity.kind.as_str(),
            identity.value.as_str(),
            ticket.map(|ticket| ticket.0),
            now.0,
            expires_at.0
        ],
    )
    .await?;
    Ok(())
}

/// Removes a customer's links and sessions (before erasure deletes their
/// identities): both hold addresses, and neither may outlive the erasure.
pub(crate) async fn forget_customer(conn: &mut Conn<'_>, customer: CustomerId) -> Result<(), StoreError> {
    for table in ["magic_links", "portal_sessions"] {
        let sql = format!(
            "DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM identities i WHERE i.customer_id = $1 \
             AND i.kind = {table}.kind AND i.value = {table}.value)"
        );
        conn.execute(AssertSqlSafe(sql), args![customer.0]).await?;
    }
    conn.execute("DELETE FROM magic_links WHERE customer_id = $1", args![customer.0]).await?;
    Ok(())
}

/// Sets `verified_at` on an identity (keeping an earlier date), optionally
/// only if it belongs to `customer`; `confirm` (a supervisor's word) also
/// forgets the agent who entered it. Returns its customer and the reach of
/// a session it begins, or `None` when no such identity exists.
async fn mark_verified(
    conn: &mut Conn<'_>,
    identity: &Identity,
    customer: Option<CustomerId>,
    confirm: bool,
    now: Timestamp,
) -> Result<Option<(CustomerId, PortalReach)>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct VerifiedRow {
        customer_id: i64,
        added_by_agent: Option<i64>,
    }
    let sql = if confirm {
        "UPDATE identities SET verified_at = COALESCE(verified_at, $1), added_by_agent = NULL \
         WHERE kind = $2 AND value = $3 AND ($4 IS NULL OR customer_id = $4) RETURNING customer_id, added_by_agent"
    } else {
        "UPDATE identities SET verified_at = COALESCE(verified_at, $1) \
         WHERE kind = $2 AND value = $3 AND ($4 IS NULL OR customer_id = $4) RETURNING customer_id, added_by_agent"
    };
    let row: Option<VerifiedRow> = conn
        .fetch_optional(
            sql,
            args![now.0, identity.kind.as_str(), identity.value.as_str(), customer.map(|customer| customer.0)],
        )
        .await?;
    Ok(row.map(|row| {
        let reach = if row.added_by_agent.is_some() { PortalReach::OwnTickets } else { PortalReach::Customer };
        (CustomerId(row.customer_id), reach)
    }))
}

/// True when `identity` is on `ticket` (its requester or a follower).
async fn is_on(conn: &mut Conn<'_>, ticket: TicketId, identity: &Identity) -> Result<bool, StoreError> {
    let row: Option<IdRow> = conn
        .fetch_optional(
            "SELECT ticket_id AS id FROM ticket_participants WHERE ticket_id = $1 AND kind = $2 AND value = $3",
            args![ticket.0, identity.kind.as_str(), identity.value.as_str()],
        )
        .await?;
    Ok(row.is_some())
}

/// The ticket that survived a chain of merges starting at `ticket`.
async fn surviving_ticket(conn: &mut Conn<'_>, ticket: TicketId) -> Result<TicketId, StoreError> {
    let mut id = ticket;
    for _ in 0..8 {
        let row: Option<MergedRow> =
            conn.fetch_optional("SELECT merged_into FROM tickets WHERE id = $1", args![id.0]).await?;
        let row = row.ok_or(StoreError::NotFound("ticket"))?;
        match row.merged_into {
            Some(next) => id = TicketId(next),
            None => return Ok(id),
        }
    }
    Err(StoreError::NotFound("ticket"))
}

fn identity_of(kind: &str, value: String) -> Result<Identity, StoreError> {
    let kind = IdentityKind::parse(kind)
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unexpected identity kind {kind:?} in the portal tables")))?;
    Ok(Identity { kind, value })
}
