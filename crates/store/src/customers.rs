//! Customers: create, read, list, change (tier, organization, identities
//! and their verification) and erase.

use std::collections::HashMap;

use rapport_core::customer::REDACTED;
use rapport_core::{Actor, AgentId, Customer, CustomerId, Identity, OrganizationId, TicketId, Tier, Timestamp};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Conn, IdRow, args};
use crate::error::StoreError;
use crate::kernel::customers::CUSTOMER_COLUMNS;
use crate::kernel::customers::attach_identities;
use crate::kernel::tickets::reference_error;
use crate::kernel::tickets::{load_ticket, save_decision};
use crate::projector::mark_customers_tickets;
use crate::rows::{CustomerRow, IdentityRow};

impl Store {
    /// Creates a customer; an identity already registered is a conflict.
    pub async fn insert_customer(&self, customer: NewCustomer) -> Result<Customer, StoreError> {
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO customers (name, organization_id, tier, erased_at, created_at) \
                             VALUES ($1, $2, $3, NULL, $4) RETURNING id",
                            args![
                                customer.name,
                                customer.organization.map(|id| id.0),
                                customer.tier.map(|tier| tier.0),
                                customer.now.0
                            ],
                        )
                        .await
                        .map_err(|error| reference_error(error, "organization"))?;
                    let id = CustomerId(row.id);
                    let attached = attach_identities(conn, id, &customer.identities, customer.added_by).await?;
                    if attached != customer.identities.len() as u64 {
                        return Err(StoreError::Conflict { constraint: "identities".into() });
                    }
                    Ok(id)
                })
            })
            .await?;
        self.get_customer(id).await
    }

    /// The customer with their identities.
    pub async fn get_customer(&self, id: CustomerId) -> Result<Customer, StoreError> {
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1");
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
                })
            })
            .await
    }

    /// The customer an identity belongs to, if any.
    pub async fn find_customer_by_identity(&self, identity: &Identity) -> Result<Option<Customer>, StoreError> {
        let (kind, value) = (identity.kind.as_str().to_owned(), identity.value.clone());
        let found: Option<IdRow> = self
            .db
            .fetch_optional(
                "SELECT customer_id AS id FROM identities WHERE kind = $1 AND value = $2",
                args![kind, value],
            )
            .await?;
        match found {
            Some(row) => Ok(Some(self.get_customer(CustomerId(row.id)).await?)),
            None => Ok(None),
        }
    }

    /// Customers by id, after `after`.
    pub async fn list_customers(&self, after: Option<CustomerId>, limit: i64) -> Result<Vec<Customer>, StoreError> {
        self.db.read(move |conn| Box::pin(customers_page(conn, None, after, limit))).await
    }

    /// The customers of `organization` by id, after `after`.
    pub async fn list_organization_customers(
        &self,
        organization: OrganizationId,
        after: Option<CustomerId>,
        limit: i64,
    ) -> Result<Vec<Customer>, StoreError> {
        self.db.read(move |conn| Box::pin(customers_page(conn, Some(organization), after, limit))).await
    }

    /// Updates a customer.
    pub async fn update_customer(&self, id: CustomerId, changes: CustomerChanges) -> Result<Customer, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let exists: Option<IdRow> =
                    conn.fetch_optional("SELECT id FROM customers WHERE id = $1", args![id.0]).await?;
                exists.ok_or(StoreError::NotFound("customer"))?;
                let tier_may_change = changes.tier.is_some() || changes.organization.is_some();
                if let Some(name) = changes.name {
                    conn.execute("UPDATE customers SET name = $1 WHERE id = $2", args![name, id.0]).await?;
                }
                if let Some(organization) = changes.organization {
                    conn.execute(
                        "UPDATE customers SET organization_id = $1 WHERE id = $2",
                        args![organization.map(|o| o.0), id.0],
                    )
                    .await
                    .map_err(|error| reference_error(error, "organization"))?;
                }
                if let Some(tier) = changes.tier {
                    conn.execute("UPDATE customers SET tier = $1 WHERE id = $2", args![tier.map(|t| t.0), id.0])
                        .await?;
                }
                if tier_may_change {
                    mark_customers_tickets(conn, "SELECT id FROM customers WHERE id = $1", id.0).await?;
                }
                let attached = attach_identities(conn, id, &changes.add_identities, changes.added_by).await?;
                if attached != changes.add_identities.len() as u64 {
                    return Err(StoreError::Conflict { constraint: "identities".into() });
                }
                Ok(())
            })
        })
        .await?;
        self.get_customer(id).await
    }

    /// Erases a customer's personal data: name and identities go, the texts
    /// of their messages are redacted, and any copy of their name or
    /// addresses in other messages, subjects or event payloads of their
    /// tickets is replaced. Each of their tickets records the erasure as an event.
    pub async fn erase_customer(&self, id: CustomerId, actor: Actor, now: Timestamp) -> Result<Customer, StoreError> {
        self.write(move |conn| Box::pin(erase(conn, id, actor, now))).await?;
        self.get_customer(id).await
    }
}

/// A customer to create.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    /// Name.
    pub name: String,
    /// Organization.
    pub organization: Option<OrganizationId>,
    /// Own tier.
    pub tier: Option<Tier>,
    /// Identities (each must be unregistered); they start unverified.
    pub identities: Vec<Identity>,
    /// The agent who entered them (see [`rapport_core::identity::added_by_agent`]).
    pub added_by: Option<AgentId>,
    /// Now.
    pub now: Timestamp,
}

/// Changes to a customer; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    /// New name.
    pub name: Option<String>,
    /// New organization, or none.
    pub organization: Option<Option<OrganizationId>>,
    /// New own tier, or none.
    pub tier: Option<Option<Tier>>,
    /// Identities to add.
    pub add_identities: Vec<Identity>,
    /// The agent who enters the added identities; they start unverified and
    /// reach only the tickets they are on until a supervisor confirms them.
    pub added_by: Option<AgentId>,
}

#[derive(sqlx::FromRow)]
struct TextRow {
    id: i64,
    text: String,
}

#[derive(sqlx::FromRow)]
struct PayloadRow {
    id: i64,
    payload: String,
}

async fn erase(conn: &mut Conn<'_>, id: CustomerId, actor: Actor, now: Timestamp) -> Result<(), StoreError> {
    #[derive(sqlx::FromRow)]
    struct NameRow {
        name: String,
    }
    let row: Option<NameRow> = conn.fetch_optional("SELECT name FROM customers WHERE id = $1", args![id.0]).await?;
    let name = row.ok_or(StoreError::NotFound("customer"))?.name;
    let identities: Vec<IdentityRow> =
        conn.fetch_all("SELECT customer_id, kind, value FROM identities WHERE customer_id = $1", args![id.0]).await?;
    let addresses: Vec<String> = identities.into_iter().map(|identity| identity.value).collect();
    // Longest first, so "ann@example.com" is replaced before a name "ann" inside it.
    let mut personal: Vec<String> = addresses.clone();
    if name.trim().chars().count() >= 3 && name != REDACTED {
        personal.push(name.trim().to_owned());
    }
    personal.sort_by_key(|text| std::cmp::Reverse(text.len()));
    let redact =
        |text: &str| personal.iter().fold(text.to_owned(), |text, secret| text.replace(secret.as_str(), REDACTED));

    conn.execute("UPDATE customers SET name = $1, erased_at = $2 WHERE id = $3", args![REDACTED, now.0, id.0]).await?;
    crate::portal::forget_customer(conn, id).await?;
    conn.execute("DELETE FROM identities WHERE customer_id = $1", args![id.0]).await?;
    conn.execute(
        "UPDATE messages SET text = $1, html = NULL WHERE author_type = 'customer' AND author_id = $2",
        args![REDACTED, id.0],
    )
    .await?;
    conn.execute(
        "DELETE FROM message_attachments WHERE message_id IN \
         (SELECT id FROM messages WHERE author_type = 'customer' AND author_id = $1)",
        args![id.0],
    )
    .await?;
    conn.execute("DELETE FROM attachments WHERE sha256 NOT IN (SELECT sha256 FROM message_attachments)", vec![])
        .await?;

    let tickets: Vec<IdRow> =
        conn.fetch_all("SELECT id FROM tickets WHERE customer_id = $1 ORDER BY id", args![id.0]).await?;
    for ticket in tickets {
        let messages: Vec<TextRow> =
            conn.fetch_all("SELECT id, text FROM messages WHERE ticket_id = $1", args![ticket.id]).await?;
        for message in messages {
            let redacted = redact(&message.text);
            if redacted != message.text {
                conn.execute("UPDATE messages SET text = $1, html = NULL WHERE id = $2", args![redacted, message.id])
                    .await?;
            }
        }
        let subject: TextRow =
            conn.fetch_one("SELECT id, subject AS text FROM tickets WHERE id = $1", args![ticket.id]).await?;
        let redacted = redact(&subject.text);
        if redacted != subject.text {
            conn.execute("UPDATE tickets SET subject = $1 WHERE id = $2", args![redacted, ticket.id]).await?;
        }
        let events: Vec<PayloadRow> =
            conn.fetch_all("SELECT id, payload FROM events WHERE ticket_id = $1", args![ticket.id]).await?;
        for event in events {
            let redacted = redact_json(&event.payload, &redact)?;
            if redacted != event.payload {
                conn.execute("UPDATE events SET payload = $1 WHERE id = $2", args![redacted, event.id]).await?;
            }
        }
        let current = load_ticket(conn, TicketId(ticket.id), true).await?;
        let decision = rapport_core::event::record_erasure(&current, id, actor, now);
        save_decision(conn, &current, &decision).await?;
    }
    crate::merge::redact_merges(conn, id, &redact).await?;
    forget_addresses(conn, &addresses).await?;
    redact_outbox(conn, &personal, &redact).await
}

/// Takes an erased customer's addresses out of the rows that hold them
/// outside their tickets' texts: who sent each message, who follows a
/// ticket, the rate counters keyed by an address, and the callback line (a
/// waiting callback is cancelled: nobody may call an erased number).
async fn forget_addresses(conn: &mut Conn<'_>, addresses: &[String]) -> Result<(), StoreError> {
    for address in addresses {
        let address = address.as_str();
        conn.execute("UPDATE messages SET sender_value = $1 WHERE sender_value = $2", args![REDACTED, address]).await?;
        conn.execute("DELETE FROM ticket_participants WHERE value = $1", args![address]).await?;
        conn.execute("DELETE FROM rate_counters WHERE key LIKE '%' || $1", args![address]).await?;
        conn.execute(
            "UPDATE callbacks SET phone = $1, state = CASE WHEN state IN ('waiting', 'offered') THEN 'cancelled' \
             ELSE state END WHERE phone = $2",
            args![REDACTED, address],
        )
        .await?;
        conn.execute("UPDATE calls SET caller = $1 WHERE caller = $2", args![REDACTED, address]).await?;
    }
    Ok(())
}

/// Redacts the name and addresses in the outbox's payloads and errors (sent
/// or waiting: an erased customer's mail still waiting goes out redacted).
async fn redact_outbox(
    conn: &mut Conn<'_>,
    personal: &[String],
    redact: &(dyn Fn(&str) -> String + Sync),
) -> Result<(), StoreError> {
    #[derive(sqlx::FromRow)]
    struct OutboxText {
        id: i64,
        payload: String,
        last_error: Option<String>,
    }
    for secret in personal {
        let rows: Vec<OutboxText> = conn
            .fetch_all(
                "SELECT id, payload, last_error FROM outbox WHERE payload LIKE '%' || $1 || '%' \
                 OR last_error LIKE '%' || $1 || '%'",
                args![secret.as_str()],
            )
            .await?;
        for row in rows {
            let payload = redact_json(&row.payload, redact)?;
            let last_error = row.last_error.as_deref().map(redact);
            conn.execute(
                "UPDATE outbox SET payload = $1, last_error = $2 WHERE id = $3",
                args![payload, last_error, row.id],
            )
            .await?;
        }
    }
    Ok(())
}

/// Redacts inside every string of a JSON document, keeping it valid JSON.
fn redact_json(payload: &str, redact: &dyn Fn(&str) -> String) -> Result<String, StoreError> {
    fn walk(value: &mut serde_json::Value, redact: &dyn Fn(&str) -> String) {
        match value {
            serde_json::Value::String(text) => *text = redact(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| walk(item, redact)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|item| walk(item, redact)),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(payload)?;
    walk(&mut value, redact);
    Ok(serde_json::to_string(&value)?)
}

/// Customers by id after `after`, of `organization` when given, with their identities.
async fn customers_page(
    conn: &mut Conn<'_>,
    organization: Option<OrganizationId>,
    after: Option<CustomerId>,
    limit: i64,
) -> Result<Vec<Customer>, StoreError> {
    let after = after.map_or(0, |id| id.0);
    let (rows, member): (Vec<CustomerRow>, &str) = match organization {
        None => {
            let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id > $1 ORDER BY id LIMIT $2");
            (conn.fetch_all(AssertSqlSafe(sql), args![after, limit]).await?, "")
        }
        Some(organization) => {
            let sql = format!(
                "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id > $1 AND organization_id = $3 ORDER BY id LIMIT $2"
            );
            let rows = conn.fetch_all(AssertSqlSafe(sql), args![after, limit, organization.0]).await?;
            (rows, " AND customer_id IN (SELECT id FROM customers WHERE organization_id = $3)")
        }
    };
    let (Some(first), Some(last)) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id)) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT customer_id, kind, value, verified_at, added_by_agent FROM identities \
         WHERE customer_id BETWEEN $1 AND $2{member} ORDER BY kind, value"
    );
    let identities: Vec<IdentityRow> = match organization {
        None => conn.fetch_all(AssertSqlSafe(sql), args![first, last]).await?,
        Some(organization) => conn.fetch_all(AssertSqlSafe(sql), args![first, last, organization.0]).await?,
    };
    let mut by_customer: HashMap<i64, Vec<IdentityRow>> = HashMap::new();
    for identity in identities {
        by_customer.entry(identity.customer_id).or_default().push(identity);
    }
    rows.into_iter()
        .map(|row| {
            let identities = by_customer.remove(&row.id).unwrap_or_default();
            row.into_customer(identities)
        })
        .collect()
}
