//! Ticket creation in bulk, for the SQLite writer.
//!
//! Every statement costs a round trip to sqlx's SQLite worker thread, and on
//! a small machine those hops, not SQLite, bound the create rate. So the
//! writer hands all creates of a batch to [`write`]: one query looks up every
//! customer identity of the batch, core opens each ticket, and all the inserts
//! of all the tickets go in one multi-statement round trip. If anything in
//! that unit fails, the writer rolls it back and runs each create on its own
//! (`tickets::create_one`), so only the faulty request fails, with its own error.

use std::collections::HashMap;

use rapport_core::event::{self, NewTicket};
use rapport_core::ticket::normalise_tags;
use rapport_core::{CustomerId, Identity, TicketId, Tier};
use sqlx::AssertSqlSafe;
use sqlx::sqlite::SqliteConnection;

use crate::db::{Arg, Conn, Statement, WriterState, args};
use crate::error::StoreError;
use crate::kernel::create::{CreatedTicket, open_rows};
use crate::kernel::customers::{IDENTITY_INSERT, customer_insert};
use crate::writer::PendingCreate;

/// Splits creates into those that can go together (valid, without an
/// idempotency key) and those that must run on their own.
pub(crate) fn split(creates: Vec<PendingCreate>) -> (Vec<PendingCreate>, Vec<PendingCreate>) {
    creates.into_iter().partition(|pending| {
        let request = &pending.request;
        request.idempotency.is_none()
            && !request.customer.identities.is_empty()
            && normalise_tags(&request.tags).is_ok()
            && event::open(
                TicketId(0),
                NewTicket {
                    subject: request.subject.clone(),
                    channel: request.channel,
                    customer: CustomerId(0),
                    tier: Tier::basic(),
                    urgency: request.urgency,
                    team: None,
                    tags: Vec::new(),
                    linked_to: None,
                },
                &pending.options.matrix,
                request.actor,
                request.now,
            )
            .is_ok()
    })
}

#[derive(sqlx::FromRow)]
struct KnownIdentity {
    kind: String,
    value: String,
    customer_id: i64,
    tier: Option<String>,
    org_tier: Option<String>,
}

/// Writes all `creates` as one unit; returns the tickets in the same order.
pub(crate) async fn write(
    conn: &mut SqliteConnection,
    state: &mut WriterState,
    creates: &[PendingCreate],
) -> Result<Vec<CreatedTicket>, StoreError> {
    let mut conn = Conn::Sqlite(conn, Some(state));
    let mut known = lookup(&mut conn, creates).await?;
    let mut statements: Vec<Statement> = Vec::with_capacity(creates.len() * 6);
    let mut created = Vec::with_capacity(creates.len());
    for pending in creates {
        let request = &pending.request;
        let found = request.customer.identities.iter().find_map(|identity| known.get(&key(identity)).cloned());
        let (customer, tier) = match found {
            Some(found) => found,
            None => {
                let id = CustomerId(conn.next_id("customers").await?);
                statements.push(customer_insert(id, request.customer.name.clone().unwrap_or_default(), request.now));
                (id, Tier::basic())
            }
        };
        let added_by = rapport_core::identity::added_by_agent(request.actor).map(|agent| agent.0);
        for identity in &request.customer.identities {
            if let std::collections::hash_map::Entry::Vacant(entry) = known.entry(key(identity)) {
                statements.push((
                    &IDENTITY_INSERT,
                    args![identity.kind.as_str(), identity.value.as_str(), customer.0, added_by],
                ));
                entry.insert((customer, tier.clone()));
            }
        }
        let (ticket, rows) = open_rows(&mut conn, request, customer, tier, &pending.options).await?;
        statements.extend(rows);
        created.push(CreatedTicket { ticket, replayed: false });
    }
    conn.execute_all(statements).await?;
    Ok(created)
}

fn key(identity: &Identity) -> (&'static str, String) {
    (identity.kind.as_str(), identity.value.clone())
}

/// Every already-registered identity of the batch, with its customer and tier.
async fn lookup(
    conn: &mut Conn<'_>,
    creates: &[PendingCreate],
) -> Result<HashMap<(&'static str, String), (CustomerId, Tier)>, StoreError> {
    let mut wanted: Vec<&Identity> = creates.iter().flat_map(|pending| &pending.request.customer.identities).collect();
    wanted.sort();
    wanted.dedup();
    let mut sql = String::from(
        "SELECT i.kind AS kind, i.value AS value, i.customer_id AS customer_id, c.tier AS tier, o.tier AS org_tier \
         FROM identities i JOIN customers c ON c.id = i.customer_id \
         LEFT JOIN organizations o ON o.id = c.organization_id WHERE (i.kind, i.value) IN (VALUES ",
    );
    let mut values: Vec<Arg> = Vec::with_capacity(wanted.len() * 2);
    for (index, identity) in wanted.iter().enumerate() {
        if index > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${})", 2 * index + 1, 2 * index + 2));
        values.push(identity.kind.as_str().into());
        values.push(identity.value.as_str().into());
    }
    sql.push(')');
    let rows: Vec<KnownIdentity> = conn.fetch_all(AssertSqlSafe(sql), values).await?;
    let mut known = HashMap::with_capacity(rows.len());
    for row in rows {
        let Some(kind) = rapport_core::IdentityKind::parse(&row.kind) else { continue };
        let tier = rapport_core::customer::effective_tier(row.tier.map(Tier), row.org_tier.map(Tier));
        known.insert((kind.as_str(), row.value), (CustomerId(row.customer_id), tier));
    }
    Ok(known)
}
