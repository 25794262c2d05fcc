//! Private row types and their conversion into domain values. Domain types
//! never derive `FromRow`; a column that does not decode into the domain is a
//! store error naming the column, never a panic.

use rapport_core::{
    Actor, Agent, AgentId, AttachmentMeta, Author, Change, Customer, CustomerId, Event, Identity, IdentityKind, Level,
    Message, MessageId, MessageKind, Organization, OrganizationId, Role, Team, TeamId, Ticket, TicketId, Tier,
    Timestamp,
};

use crate::error::StoreError;
use rapport_core::rules::TimerCard;

fn corrupt(column: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Other(anyhow::anyhow!("column {column} holds an unexpected value {value}"))
}

/// The columns of `tickets`, in the order [`TICKET_COLUMNS`] lists them.
pub(crate) const TICKET_COLUMNS: &str = "t.id, t.subject, t.status, t.urgency, t.priority, t.priority_reason, \
    t.channel, t.customer_id, t.team_id, t.owner_id, t.tags, t.linked_to, t.merged_into, t.version, t.created_at, t.updated_at, t.solved_at";

#[derive(sqlx::FromRow)]
pub(crate) struct TicketRow {
    id: i64,
    subject: String,
    status: String,
    urgency: i64,
    priority: i64,
    priority_reason: Option<String>,
    channel: String,
    customer_id: i64,
    team_id: Option<i64>,
    owner_id: Option<i64>,
    tags: String,
    linked_to: Option<i64>,
    merged_into: Option<i64>,
    version: i64,
    created_at: i64,
    updated_at: i64,
    solved_at: Option<i64>,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(row: TicketRow) -> Result<Ticket, StoreError> {
        Ok(Ticket {
            id: TicketId(row.id),
            subject: row.subject,
            status: row.status.parse().map_err(|_| corrupt("tickets.status", &row.status))?,
            urgency: Level::from_rank(row.urgency).ok_or_else(|| corrupt("tickets.urgency", row.urgency))?,
            priority: Level::from_rank(row.priority).ok_or_else(|| corrupt("tickets.priority", row.priority))?,
            priority_reason: row.priority_reason,
            channel: row.channel.parse().map_err(|_| corrupt("tickets.channel", &row.channel))?,
            customer: CustomerId(row.customer_id),
            team: row.team_id.map(TeamId),
            owner: row.owner_id.map(AgentId),
            tags: serde_json::from_str(&row.tags)?,
            linked_to: row.linked_to.map(TicketId),
            merged_into: row.merged_into.map(TicketId),
            version: row.version,
            created_at: Timestamp(row.created_at),
            updated_at: Timestamp(row.updated_at),
            solved_at: row.solved_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub(crate) id: i64,
    pub(crate) ticket_id: i64,
    pub(crate) kind: String,
    pub(crate) author_type: String,
    pub(crate) author_id: Option<i64>,
    pub(crate) channel: String,
    pub(crate) text: String,
    pub(crate) html: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) delivery: Option<String>,
    pub(crate) route: Option<String>,
    pub(crate) created_at: i64,
}

pub(crate) fn author_columns(author: Author) -> (&'static str, Option<i64>) {
    match author {
        Author::Customer(id) => ("customer", Some(id.0)),
        Author::Agent(id) => ("agent", Some(id.0)),
        Author::System => ("system", None),
    }
}

pub(crate) fn actor_columns(actor: Actor) -> (&'static str, Option<i64>) {
    match actor {
        Actor::Customer(id) => ("customer", Some(id.0)),
        Actor::Agent(id) => ("agent", Some(id.0)),
        Actor::System => ("system", None),
    }
}

impl MessageRow {
    pub(crate) fn into_message(self, attachments: Vec<AttachmentMeta>) -> Result<Message, StoreError> {
        let author = match (self.author_type.as_str(), self.author_id) {
            ("customer", Some(id)) => Author::Customer(CustomerId(id)),
            ("agent", Some(id)) => Author::Agent(AgentId(id)),
            ("system", _) => Author::System,
            (other, _) => return Err(corrupt("messages.author_type", other)),
        };
        Ok(Message {
            id: MessageId(self.id),
            ticket: TicketId(self.ticket_id),
            kind: MessageKind::parse(&self.kind).ok_or_else(|| corrupt("messages.kind", &self.kind))?,
            author,
            channel: self.channel.parse().map_err(|_| corrupt("messages.channel", &self.channel))?,
            text: self.text,
            html: self.html,
            attachments,
            external_id: self.external_id,
            delivery: match self.delivery {
                Some(word) => Some(
                    rapport_core::outbox::DeliveryState::parse(&word)
                        .ok_or_else(|| corrupt("messages.delivery", &word))?,
                ),
                None => None,
            },
            route: match self.route {
                Some(text) => Some(
                    rapport_core::reply::ReplyRoute::decode(&text).ok_or_else(|| corrupt("messages.route", &text))?,
                ),
                None => None,
            },
            created_at: Timestamp(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AttachmentRow {
    pub(crate) message_id: i64,
    pub(crate) sha256: String,
    pub(crate) filename: String,
    pub(crate) content_type: String,
    pub(crate) size: i64,
}

impl From<AttachmentRow> for AttachmentMeta {
    fn from(row: AttachmentRow) -> AttachmentMeta {
        AttachmentMeta { filename: row.filename, content_type: row.content_type, size: row.size, sha256: row.sha256 }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub(crate) ticket_id: i64,
    pub(crate) version: i64,
    pub(crate) actor_type: String,
    pub(crate) actor_id: Option<i64>,
    pub(crate) at: i64,
    pub(crate) payload: String,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<Event, StoreError> {
        let actor = match (row.actor_type.as_str(), row.actor_id) {
            ("customer", Some(id)) => Actor::Customer(CustomerId(id)),
            ("agent", Some(id)) => Actor::Agent(AgentId(id)),
            ("system", _) => Actor::System,
            (other, _) => return Err(corrupt("events.actor_type", other)),
        };
        let change: Change = serde_json::from_str(&row.payload)?;
        Ok(Event { ticket: TicketId(row.ticket_id), version: row.version, actor, at: Timestamp(row.at), change })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CustomerRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) organization_id: Option<i64>,
    pub(crate) tier: Option<String>,
    pub(crate) erased_at: Option<i64>,
    pub(crate) merged_into: Option<i64>,
    pub(crate) created_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdentityRow {
    pub(crate) customer_id: i64,
    pub(crate) kind: String,
    pub(crate) value: String,
    /// Queries that do not select it read the identity as unverified.
    #[sqlx(default)]
    pub(crate) verified_at: Option<i64>,
    /// The agent who entered it, until a supervisor confirms it.
    #[sqlx(default)]
    pub(crate) added_by_agent: Option<i64>,
}

impl CustomerRow {
    pub(crate) fn into_customer(self, identities: Vec<IdentityRow>) -> Result<Customer, StoreError> {
        let mut verified = Vec::new();
        let mut added_by_agent = Vec::new();
        let identities = identities
            .into_iter()
            .map(|row| {
                let kind = IdentityKind::parse(&row.kind).ok_or_else(|| corrupt("identities.kind", &row.kind))?;
                let identity = Identity { kind, value: row.value };
                if row.verified_at.is_some() {
                    verified.push(identity.clone());
                }
                if let Some(agent) = row.added_by_agent {
                    added_by_agent.push((identity.clone(), AgentId(agent)));
                }
                Ok(identity)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Customer {
            id: CustomerId(self.id),
            name: self.name,
            organization: self.organization_id.map(OrganizationId),
            tier: self.tier.map(Tier),
            identities,
            verified,
            added_by_agent,
            erased_at: self.erased_at.map(Timestamp),
            merged_into: self.merged_into.map(CustomerId),
            created_at: Timestamp(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrganizationRow {
    id: i64,
    name: String,
    tier: String,
    created_at: i64,
}

impl From<OrganizationRow> for Organization {
    fn from(row: OrganizationRow) -> Organization {
        Organization {
            id: OrganizationId(row.id),
            name: row.name,
            tier: Tier(row.tier),
            created_at: Timestamp(row.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TeamRow {
    id: i64,
    name: String,
    description: String,
    owner_on_reply: String,
    reply_undo_seconds: i64,
    created_at: i64,
}

impl From<TeamRow> for Team {
    fn from(row: TeamRow) -> Team {
        Team {
            id: TeamId(row.id),
            name: row.name,
            description: row.description,
            // The column is checked on write; an unknown word reads as the default.
            owner_on_reply: rapport_core::event::OwnerOnReply::parse(&row.owner_on_reply).unwrap_or_default(),
            reply_undo_seconds: row.reply_undo_seconds,
            created_at: Timestamp(row.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AgentRow {
    pub(crate) id: i64,
    email: String,
    name: String,
    role: String,
    skills: String,
    languages: String,
    active: i64,
    chat_capacity: Option<i64>,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct MembershipRow {
    pub(crate) team_id: i64,
}

impl AgentRow {
    pub(crate) fn into_agent(self, teams: Vec<TeamId>) -> Result<Agent, StoreError> {
        let role: Role = self.role.parse().map_err(|_| corrupt("agents.role", &self.role))?;
        Ok(Agent {
            id: AgentId(self.id),
            email: self.email,
            name: self.name,
            role,
            teams,
            skills: serde_json::from_str(&self.skills)?,
            languages: serde_json::from_str(&self.languages)?,
            active: self.active != 0,
            chat_capacity: self.chat_capacity.map(|capacity| u32::try_from(capacity).unwrap_or(0)),
            created_at: Timestamp(self.created_at),
        })
    }
}

pub(crate) const AGENT_COLUMNS: &str = "id, email, name, role, skills, languages, active, chat_capacity, created_at";

/// A kept row's card.
#[derive(sqlx::FromRow)]
pub(crate) struct CardRow {
    pub(crate) ticket_id: i64,
    pub(crate) card: String,
}

impl CardRow {
    /// The card, or an error naming the ticket.
    pub(crate) fn decode(&self) -> Result<TimerCard, StoreError> {
        TimerCard::decode(TicketId(self.ticket_id), &self.card)
            .map_err(|error| StoreError::Other(anyhow::anyhow!("ticket {}'s kept SLA text: {error}", self.ticket_id)))
    }
}
