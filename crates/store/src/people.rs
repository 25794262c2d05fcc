//! Customers (with identities and erasure), organizations, teams and agents.

use std::collections::HashMap;

use rapport_core::customer::REDACTED;
use rapport_core::{
    Actor, Agent, AgentId, Customer, CustomerId, Identity, Organization, OrganizationId, Role, Team, TeamId, TicketId,
    Tier, Timestamp,
};
use sqlx::AssertSqlSafe;

use crate::Store;
use crate::db::{Conn, IdRow, args};
use crate::error::{Rejection, StoreError};
use crate::projector::mark_customers_tickets;
use crate::rows::{AGENT_COLUMNS, AgentRow, CustomerRow, IdentityRow, MembershipRow, OrganizationRow, TeamRow};
use crate::tickets::{attach_identities, load_ticket, save_decision};

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

/// Changes to an organization.
#[derive(Debug, Clone, Default)]
pub struct OrganizationChanges {
    /// New name.
    pub name: Option<String>,
    /// New tier.
    pub tier: Option<Tier>,
}

/// Changes to a team.
#[derive(Debug, Clone, Default)]
pub struct TeamChanges {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Who owns an ownerless ticket once an agent answers it.
    pub owner_on_reply: Option<rapport_core::event::OwnerOnReply>,
}

/// An agent to create.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Sign-in email, normalised by the caller.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Teams.
    pub teams: Vec<TeamId>,
    /// Skills.
    pub skills: Vec<String>,
    /// Languages.
    pub languages: Vec<String>,
    /// An argon2id hash, if the agent signs in with a password.
    pub password_hash: Option<String>,
    /// Now.
    pub now: Timestamp,
}

/// Changes to an agent.
#[derive(Debug, Clone, Default)]
pub struct AgentChanges {
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New team set.
    pub teams: Option<Vec<TeamId>>,
    /// New skills.
    pub skills: Option<Vec<String>>,
    /// New languages.
    pub languages: Option<Vec<String>>,
    /// Active or deactivated.
    pub active: Option<bool>,
    /// New password hash.
    pub password_hash: Option<String>,
}

pub(crate) const CUSTOMER_COLUMNS: &str = "id, name, organization_id, tier, erased_at, merged_into, created_at";

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
                        .map_err(|error| missing(error, "organization"))?;
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
            .read(move |conn| {
                Box::pin(async move {
                    conn.fetch_optional(
                        "SELECT customer_id AS id FROM identities WHERE kind = $1 AND value = $2",
                        args![kind, value],
                    )
                    .await
                })
            })
            .await?;
        match found {
            Some(row) => Ok(Some(self.get_customer(CustomerId(row.id)).await?)),
            None => Ok(None),
        }
    }

    /// Customers by id, after `after`.
    pub async fn list_customers(&self, after: Option<CustomerId>, limit: i64) -> Result<Vec<Customer>, StoreError> {
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id > $1 ORDER BY id LIMIT $2");
                    let rows: Vec<CustomerRow> =
                        conn.fetch_all(AssertSqlSafe(sql), args![after.map_or(0, |id| id.0), limit]).await?;
                    let (Some(first), Some(last)) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id)) else {
                        return Ok(Vec::new());
                    };
                    let identities: Vec<IdentityRow> = conn
                        .fetch_all(
                            "SELECT customer_id, kind, value, verified_at, added_by_agent FROM identities \
                             WHERE customer_id BETWEEN $1 AND $2 \
                             ORDER BY kind, value",
                            args![first, last],
                        )
                        .await?;
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
                })
            })
            .await
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
                    .map_err(|error| missing(error, "organization"))?;
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

    /// Creates an organization.
    pub async fn insert_organization(
        &self,
        name: String,
        tier: Tier,
        now: Timestamp,
    ) -> Result<Organization, StoreError> {
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO organizations (name, tier, created_at) VALUES ($1, $2, $3) RETURNING id",
                            args![name, tier.0, now.0],
                        )
                        .await?;
                    Ok(OrganizationId(row.id))
                })
            })
            .await?;
        self.get_organization(id).await
    }

    /// An organization.
    pub async fn get_organization(&self, id: OrganizationId) -> Result<Organization, StoreError> {
        let row: Option<OrganizationRow> = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    conn.fetch_optional(
                        "SELECT id, name, tier, created_at FROM organizations WHERE id = $1",
                        args![id.0],
                    )
                    .await
                })
            })
            .await?;
        row.map(Organization::from).ok_or(StoreError::NotFound("organization"))
    }

    /// Organizations by id, after `after`.
    pub async fn list_organizations(
        &self,
        after: Option<OrganizationId>,
        limit: i64,
    ) -> Result<Vec<Organization>, StoreError> {
        let rows: Vec<OrganizationRow> = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    conn.fetch_all(
                        "SELECT id, name, tier, created_at FROM organizations WHERE id > $1 ORDER BY id LIMIT $2",
                        args![after.map_or(0, |id| id.0), limit],
                    )
                    .await
                })
            })
            .await?;
        Ok(rows.into_iter().map(Organization::from).collect())
    }

    /// Updates an organization.
    pub async fn update_organization(
        &self,
        id: OrganizationId,
        changes: OrganizationChanges,
    ) -> Result<Organization, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let changed = conn
                    .execute(
                        "UPDATE organizations SET name = COALESCE($1, name), tier = COALESCE($2, tier) WHERE id = $3",
                        args![changes.name, changes.tier.clone().map(|t| t.0), id.0],
                    )
                    .await?;
                if changed == 0 {
                    return Err(StoreError::NotFound("organization"));
                }
                if changes.tier.is_some() {
                    mark_customers_tickets(conn, "SELECT id FROM customers WHERE organization_id = $1", id.0).await?;
                }
                Ok(())
            })
        })
        .await?;
        self.get_organization(id).await
    }

    /// Creates a team.
    pub async fn insert_team(&self, name: String, description: String, now: Timestamp) -> Result<Team, StoreError> {
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO teams (name, description, created_at) VALUES ($1, $2, $3) RETURNING id",
                            args![name, description, now.0],
                        )
                        .await?;
                    Ok(TeamId(row.id))
                })
            })
            .await?;
        self.get_team(id).await
    }

    /// A team.
    pub async fn get_team(&self, id: TeamId) -> Result<Team, StoreError> {
        let row: Option<TeamRow> = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    conn.fetch_optional(
                        "SELECT id, name, description, owner_on_reply, created_at FROM teams WHERE id = $1",
                        args![id.0],
                    )
                    .await
                })
            })
            .await?;
        row.map(Team::from).ok_or(StoreError::NotFound("team"))
    }

    /// All teams by id, after `after`.
    pub async fn list_teams(&self, after: Option<TeamId>, limit: i64) -> Result<Vec<Team>, StoreError> {
        let rows: Vec<TeamRow> = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    conn.fetch_all(
                        "SELECT id, name, description, owner_on_reply, created_at FROM teams WHERE id > $1 ORDER BY id LIMIT $2",
                        args![after.map_or(0, |id| id.0), limit],
                    )
                    .await
                })
            })
            .await?;
        Ok(rows.into_iter().map(Team::from).collect())
    }

    /// Updates a team.
    pub async fn update_team(&self, id: TeamId, changes: TeamChanges) -> Result<Team, StoreError> {
        self.write(move |conn| Box::pin(update_team_row(conn, id, changes))).await?;
        self.get_team(id).await
    }

    /// Creates an agent.
    pub async fn insert_agent(&self, agent: NewAgent) -> Result<Agent, StoreError> {
        let id = self
            .write(move |conn| {
                Box::pin(async move {
                    let row: IdRow = conn
                        .fetch_one(
                            "INSERT INTO agents (email, name, role, skills, languages, password_hash, active, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING id",
                            args![
                                agent.email,
                                agent.name,
                                agent.role.as_str(),
                                serde_json::to_string(&agent.skills)?,
                                serde_json::to_string(&agent.languages)?,
                                agent.password_hash,
                                agent.now.0
                            ],
                        )
                        .await?;
                    let id = AgentId(row.id);
                    set_memberships(conn, id, &agent.teams).await?;
                    Ok(id)
                })
            })
            .await?;
        self.get_agent(id).await
    }

    /// An agent.
    pub async fn get_agent(&self, id: AgentId) -> Result<Agent, StoreError> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1");
        self.agents_where(sql, args![id.0]).await?.into_iter().next().ok_or(StoreError::NotFound("agent"))
    }

    /// The agent with this sign-in email (lower-cased by the caller), if any.
    pub async fn find_agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE email = $1");
        Ok(self.agents_where(sql, args![email]).await?.into_iter().next())
    }

    /// The agent's password hash, if they have one.
    pub async fn find_password_hash(&self, id: AgentId) -> Result<Option<String>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct HashRow {
            password_hash: Option<String>,
        }
        let row: Option<HashRow> = self
            .db
            .read(move |conn| {
                Box::pin(async move {
                    conn.fetch_optional("SELECT password_hash FROM agents WHERE id = $1", args![id.0]).await
                })
            })
            .await?;
        Ok(row.and_then(|row| row.password_hash))
    }

    /// Agents by id, after `after`.
    pub async fn list_agents(&self, after: Option<AgentId>, limit: i64) -> Result<Vec<Agent>, StoreError> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id > $1 ORDER BY id LIMIT $2");
        self.agents_where(sql, args![after.map_or(0, |id| id.0), limit]).await
    }

    async fn agents_where(&self, sql: String, values: Vec<crate::db::Arg>) -> Result<Vec<Agent>, StoreError> {
        self.db
            .read(move |conn| {
                Box::pin(async move {
                    let rows: Vec<AgentRow> = conn.fetch_all(AssertSqlSafe(sql), values).await?;
                    let mut agents = Vec::with_capacity(rows.len());
                    for row in rows {
                        let memberships: Vec<MembershipRow> = conn
                            .fetch_all(
                                "SELECT team_id FROM agent_teams WHERE agent_id = $1 ORDER BY team_id",
                                args![row.id],
                            )
                            .await?;
                        let teams = memberships.into_iter().map(|m| TeamId(m.team_id)).collect();
                        agents.push(row.into_agent(teams)?);
                    }
                    Ok(agents)
                })
            })
            .await
    }

    /// Updates an agent.
    pub async fn update_agent(&self, id: AgentId, changes: AgentChanges) -> Result<Agent, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let skills = changes.skills.map(|s| serde_json::to_string(&s)).transpose()?;
                let languages = changes.languages.map(|l| serde_json::to_string(&l)).transpose()?;
                let may_remove_admin =
                    changes.role.is_some_and(|role| role != Role::Admin) || changes.active == Some(false);
                if may_remove_admin {
                    let admins = active_admins(conn).await?;
                    if admins.len() == 1 && admins[0].id == id.0 {
                        return Err(Rejection::LastAdmin.into());
                    }
                }
                let changed = conn
                    .execute(
                        "UPDATE agents SET name = COALESCE($1, name), role = COALESCE($2, role), \
                         skills = COALESCE($3, skills), languages = COALESCE($4, languages), \
                         active = COALESCE($5, active), password_hash = COALESCE($6, password_hash) WHERE id = $7",
                        args![
                            changes.name,
                            changes.role.map(|r| r.as_str().to_owned()),
                            skills,
                            languages,
                            changes.active.map(i64::from),
                            changes.password_hash,
                            id.0
                        ],
                    )
                    .await?;
                if changed == 0 {
                    return Err(StoreError::NotFound("agent"));
                }
                if let Some(teams) = changes.teams {
                    conn.execute("DELETE FROM agent_teams WHERE agent_id = $1", args![id.0]).await?;
                    set_memberships(conn, id, &teams).await?;
                }
                Ok(())
            })
        })
        .await?;
        self.get_agent(id).await
    }
}

/// The active admins, their rows held until the transaction ends, so that
/// two admins removed at once on PostgreSQL are counted one after the other
/// (and the second refused); SQLite's one writer already orders them.
async fn active_admins(conn: &mut Conn<'_>) -> Result<Vec<IdRow>, StoreError> {
    let lock = conn.lock_rows();
    let sql = format!("SELECT id FROM agents WHERE role = 'admin' AND active = 1{lock}");
    conn.fetch_all(AssertSqlSafe(sql), args![]).await
}

async fn set_memberships(conn: &mut Conn<'_>, agent: AgentId, teams: &[TeamId]) -> Result<(), StoreError> {
    for team in teams {
        conn.execute(
            "INSERT INTO agent_teams (agent_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            args![agent.0, team.0],
        )
        .await
        .map_err(|error| missing(error, "teams"))?;
    }
    Ok(())
}

fn missing(error: StoreError, field: &'static str) -> StoreError {
    match error {
        StoreError::MissingReference { .. } => StoreError::MissingReference { field },
        other => other,
    }
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

/// Changes a team's name and description; `NotFound` when it does not exist.
pub(crate) async fn update_team_row(conn: &mut Conn<'_>, id: TeamId, changes: TeamChanges) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE teams SET name = COALESCE($1, name), description = COALESCE($2, description), \
             owner_on_reply = COALESCE($3, owner_on_reply) WHERE id = $4",
            args![changes.name, changes.description, changes.owner_on_reply.map(|rule| rule.as_str().to_owned()), id.0],
        )
        .await?;
    if changed == 0 { Err(StoreError::NotFound("team")) } else { Ok(()) }
}
