//! Who a ticket is for: finding a customer by any identity or creating
//! them, adding identities and participants.

use rapport_core::{AgentId, CustomerId, Identity, TicketId, Tier, Timestamp};

use crate::db::{Conn, IdRow, Insert, Statement, args};
use crate::error::{Rejection, StoreError};
use crate::kernel::tickets::customer_tier;

/// The inserts of a ticket's creation, in the order they must run.
static CUSTOMER_INSERT: Insert = Insert {
    head: "INSERT INTO customers (id, name, organization_id, tier, erased_at, created_at) VALUES",
    tail: "",
    width: 6,
    order: 0,
};

/// The row of a new customer with no organization, tier or identities yet.
pub(crate) fn customer_insert(id: CustomerId, name: String, now: Timestamp) -> Statement {
    (&CUSTOMER_INSERT, args![id.0, name, None::<i64>, None::<String>, None::<i64>, now.0])
}

pub(crate) static IDENTITY_INSERT: Insert = Insert {
    head: "INSERT INTO identities (kind, value, customer_id, added_by_agent) VALUES",
    tail: " ON CONFLICT DO NOTHING",
    width: 4,
    order: 1,
};

/// The customer a new ticket is for: matched by any of their normalised identities.
#[derive(Debug, Clone, Default)]
pub struct CustomerRef {
    /// Name, used when the customer is new.
    pub name: Option<String>,
    /// At least one identity.
    pub identities: Vec<Identity>,
}

#[derive(sqlx::FromRow)]
struct IdentityMatch {
    customer_id: i64,
    tier: Option<String>,
    org_tier: Option<String>,
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

pub(crate) async fn add_participant(
    conn: &mut Conn<'_>,
    ticket: TicketId,
    identity: &Identity,
    role: &'static str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let added = conn
        .execute(
            "INSERT INTO ticket_participants (ticket_id, kind, value, role, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
            args![ticket.0, identity.kind.as_str(), identity.value.as_str(), role, now.0],
        )
        .await?;
    Ok(added > 0)
}

pub(crate) const CUSTOMER_COLUMNS: &str = "id, name, organization_id, tier, erased_at, merged_into, created_at";
