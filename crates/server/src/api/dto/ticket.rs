//! The JSON shapes of tickets, messages and events, and the request bodies
//! of the ticket endpoints. Separate from core's types so the wire format
//! changes only on purpose.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_core::{
    Actor, AgentId, AttachmentMeta, Author, Change, Channel, Event, Level, Message, MessageId, MessageKind, Status,
    TeamId, Ticket, TicketId, Timestamp,
};
use rapport_store::{CreateTicket, CustomerRef, TicketDetail, TicketNames};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::dto::customer::identities;
use crate::api::dto::sla::{SlaSummaryDto, TicketSlaDto};
use crate::http::error::ApiError;
use crate::http::wire::{self, rfc3339, rfc3339_opt};

/// A ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDto {
    /// The ticket's number.
    pub id: i64,
    /// Subject.
    pub subject: String,
    /// Lifecycle status.
    #[schema(schema_with = wire::status)]
    pub status: Status,
    /// How urgent the customer's problem is.
    #[schema(schema_with = wire::level)]
    pub urgency: Level,
    /// How soon the team works on it (tier × urgency, or an override).
    #[schema(schema_with = wire::level)]
    pub priority: Level,
    /// Why the priority was overridden; null while it follows the matrix.
    pub priority_reason: Option<String>,
    /// Channel of origin.
    #[schema(schema_with = wire::channel)]
    pub channel: Channel,
    /// The customer's id.
    pub customer: i64,
    /// The team's id.
    pub team: Option<i64>,
    /// The owning agent's id.
    pub owner: Option<i64>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// The closed ticket this one continues.
    pub linked_to: Option<i64>,
    /// The ticket this one was merged into (it is closed; the conversation goes on there).
    pub merged_into: Option<i64>,
    /// Increments on every change; send it back as `If-Match`.
    pub version: i64,
    /// When it was created.
    #[schema(schema_with = wire::timestamp)]
    pub created_at: String,
    /// When it last changed.
    #[schema(schema_with = wire::timestamp)]
    pub updated_at: String,
    /// When it was last solved.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub solved_at: Option<String>,
}

impl From<&Ticket> for TicketDto {
    fn from(ticket: &Ticket) -> TicketDto {
        TicketDto {
            id: ticket.id.0,
            subject: ticket.subject.clone(),
            status: ticket.status,
            urgency: ticket.urgency,
            priority: ticket.priority,
            priority_reason: ticket.priority_reason.clone(),
            channel: ticket.channel,
            customer: ticket.customer.0,
            team: ticket.team.map(|team| team.0),
            owner: ticket.owner.map(|owner| owner.0),
            tags: ticket.tags.clone(),
            linked_to: ticket.linked_to.map(|linked| linked.0),
            merged_into: ticket.merged_into.map(|into| into.0),
            version: ticket.version,
            created_at: rfc3339(ticket.created_at),
            updated_at: rfc3339(ticket.updated_at),
            solved_at: rfc3339_opt(ticket.solved_at),
        }
    }
}

/// A ticket with its messages and its event log.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetailDto {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: TicketDto,
    /// Messages, oldest first.
    pub messages: Vec<MessageDto>,
    /// Events, oldest first.
    pub events: Vec<EventDto>,
    /// The 24-hour window of the channel a reply goes out on, for WhatsApp,
    /// Messenger and Instagram; absent on channels without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_window: Option<ServiceWindowDto>,
    /// The service level now: the policy and every target's due time,
    /// elapsed and remaining time, and state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<TicketSlaDto>,
}

impl TicketDetailDto {
    /// The ticket as it stands at `now` (which decides its service window),
    /// without its service level.
    pub fn of(detail: &TicketDetail, now: Timestamp) -> TicketDetailDto {
        TicketDetailDto {
            ticket: TicketDto::from(&detail.ticket),
            messages: detail.messages.iter().map(MessageDto::from).collect(),
            events: detail.events.iter().map(EventDto::from).collect(),
            service_window: ServiceWindowDto::of(detail, now),
            sla: None,
        }
    }
}

/// Whether a free-form reply can go out now (WhatsApp, Messenger, Instagram
/// accept one only within 24 hours of the customer's last message).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceWindowDto {
    /// The channel a reply goes out on (that of the customer's latest message).
    #[schema(schema_with = wire::channel)]
    pub channel: Channel,
    /// `open`: replies go out as written; `closed`: as the configured template (WhatsApp) or message tag.
    pub state: String,
    /// When the window closes (open) or closed (closed; null if the customer never wrote on this channel).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closes_at: Option<String>,
}

impl ServiceWindowDto {
    /// The window at `now`, from the same rule the outbox sends by.
    fn of(detail: &TicketDetail, now: Timestamp) -> Option<ServiceWindowDto> {
        use rapport_core::messaging::{ServiceWindow, service_window};
        let inbound = || detail.messages.iter().filter(|message| message.kind == MessageKind::Inbound);
        let channel = inbound().next_back().map_or(detail.ticket.channel, |message| message.channel);
        let last = inbound().filter(|message| message.channel == channel).map(|message| message.created_at).max();
        let (state, closes_at) = match service_window(channel, last, now) {
            ServiceWindow::Unlimited => return None,
            ServiceWindow::Open { closes_at } => ("open", Some(closes_at)),
            ServiceWindow::Closed { closed_at } => ("closed", closed_at),
        };
        Some(ServiceWindowDto { channel, state: state.to_owned(), closes_at: rfc3339_opt(closes_at) })
    }
}

/// One page of tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPageDto {
    /// The tickets.
    pub tickets: Vec<TicketListItemDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A ticket in a list, with the names beside its ids and its most pressing
/// service-level target: enough to show a queue row.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketListItemDto {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: TicketDto,
    /// The names beside the ids.
    #[serde(flatten)]
    pub names: TicketNamesDto,
    /// The target that presses most now, as last measured; absent when no
    /// policy applies (or the ticket is not measured yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaSummaryDto>,
}

/// The names beside a listed ticket's ids.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketNamesDto {
    /// The customer's name (empty when they gave none).
    pub customer_name: String,
    /// The customer's address on the ticket's channel, else their email
    /// address, else any; null when they have none (after erasure).
    pub customer_address: Option<String>,
    /// The owner's name; null without an owner.
    pub owner_name: Option<String>,
    /// The team's name; null without a team.
    pub team_name: Option<String>,
}

impl From<TicketNames> for TicketNamesDto {
    fn from(names: TicketNames) -> TicketNamesDto {
        TicketNamesDto {
            customer_name: names.customer_name,
            customer_address: names.customer_address,
            owner_name: names.owner_name,
            team_name: names.team_name,
        }
    }
}

/// Who wrote a message or caused an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorDto {
    /// `agent`, `customer` or `system`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// The agent's or customer's id; null for the system.
    pub id: Option<i64>,
}

impl From<Actor> for ActorDto {
    fn from(actor: Actor) -> ActorDto {
        match actor {
            Actor::Agent(id) => ActorDto { kind: "agent", id: Some(id.0) },
            Actor::Customer(id) => ActorDto { kind: "customer", id: Some(id.0) },
            Actor::System => ActorDto { kind: "system", id: None },
        }
    }
}

impl From<Author> for ActorDto {
    fn from(author: Author) -> ActorDto {
        ActorDto::from(Actor::from(author))
    }
}

/// A message on a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDto {
    /// Id.
    pub id: i64,
    /// The ticket's number.
    pub ticket: i64,
    /// inbound, reply or note.
    #[schema(schema_with = wire::message_kind)]
    pub kind: MessageKind,
    /// Who wrote it.
    pub author: ActorDto,
    /// The channel it arrived or leaves on.
    #[schema(schema_with = wire::channel)]
    pub channel: Channel,
    /// Plain text.
    pub text: String,
    /// Sanitised HTML, when the channel gave HTML.
    pub html: Option<String>,
    /// Attached files.
    pub attachments: Vec<AttachmentDto>,
    /// The channel's id for the message (an email's Message-ID).
    pub external_id: Option<String>,
    /// For outbound replies: queued, sent, delivered or failed.
    #[schema(value_type = Option<String>)]
    pub delivery: Option<rapport_core::outbox::DeliveryState>,
    /// For public replies: why the reply took its channel.
    pub route: Option<RouteDto>,
    /// When it was written.
    #[schema(schema_with = wire::timestamp)]
    pub created_at: String,
}

/// Why a public reply went out on its channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteDto {
    /// `requested` (the agent chose it), `ticket_channel`, `fallback` (the
    /// ticket's channel cannot reach the customer: their most recent channel
    /// that can) or `live_chat`.
    pub reason: &'static str,
    /// For a fallback: the ticket's channel, which could not carry it.
    #[schema(value_type = Option<String>)]
    pub unreachable: Option<Channel>,
    /// The same in a sentence, for the agent.
    pub explanation: String,
}

impl RouteDto {
    fn new(route: rapport_core::reply::ReplyRoute, channel: Channel) -> RouteDto {
        let unreachable = match route {
            rapport_core::reply::ReplyRoute::Fallback { unreachable } => Some(unreachable),
            _ => None,
        };
        RouteDto { reason: route.as_str(), unreachable, explanation: route.explain(channel) }
    }
}

impl From<&Message> for MessageDto {
    fn from(message: &Message) -> MessageDto {
        MessageDto {
            id: message.id.0,
            ticket: message.ticket.0,
            kind: message.kind,
            author: message.author.into(),
            channel: message.channel,
            text: message.text.clone(),
            html: message.html.clone(),
            attachments: message
                .attachments
                .iter()
                .enumerate()
                .map(|(index, meta)| AttachmentDto::of(message, index, meta))
                .collect(),
            external_id: message.external_id.clone(),
            delivery: message.delivery,
            route: message.route.map(|route| RouteDto::new(route, message.channel)),
            created_at: rfc3339(message.created_at),
        }
    }
}

/// A file attached to a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDto {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Where an agent downloads it (`/api/v1/tickets/{id}/messages/{message_id}/attachments/{index}`).
    pub url: String,
}

impl AttachmentDto {
    /// The `index`th file of `message`, with its download path.
    fn of(message: &Message, index: usize, meta: &AttachmentMeta) -> AttachmentDto {
        AttachmentDto {
            filename: meta.filename.clone(),
            content_type: meta.content_type.clone(),
            size: meta.size,
            sha256: meta.sha256.clone(),
            url: download_path(message.ticket, message.id, index),
        }
    }
}

/// One entry of a ticket's append-only event log.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// The ticket version this change produced.
    pub version: i64,
    /// Who.
    pub actor: ActorDto,
    /// When.
    #[schema(schema_with = wire::timestamp)]
    pub at: String,
    /// What: `type` and the change's fields.
    #[serde(flatten)]
    pub change: ChangeDto,
}

impl From<&Event> for EventDto {
    fn from(event: &Event) -> EventDto {
        EventDto {
            version: event.version,
            actor: event.actor.into(),
            at: rfc3339(event.at),
            change: ChangeDto::from(&event.change),
        }
    }
}

/// A change to a ticket, with its before (`from`) and after (`to`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeDto {
    /// The ticket was created with these fields.
    Created {
        /// Subject.
        subject: String,
        /// Initial status.
        #[schema(schema_with = wire::status)]
        status: Status,
        /// Urgency.
        #[schema(schema_with = wire::level)]
        urgency: Level,
        /// Priority from the matrix.
        #[schema(schema_with = wire::level)]
        priority: Level,
        /// Channel of origin.
        #[schema(schema_with = wire::channel)]
        channel: Channel,
        /// Customer id.
        customer: i64,
        /// Team id.
        team: Option<i64>,
        /// Tags.
        tags: Vec<String>,
        /// The closed ticket it continues.
        linked_to: Option<i64>,
    },
    /// Status changed.
    StatusChanged {
        /// Before.
        #[schema(schema_with = wire::status)]
        from: Status,
        /// After.
        #[schema(schema_with = wire::status)]
        to: Status,
    },
    /// Urgency changed.
    UrgencyChanged {
        /// Before.
        #[schema(schema_with = wire::level)]
        from: Level,
        /// After.
        #[schema(schema_with = wire::level)]
        to: Level,
    },
    /// Priority changed: by the matrix (reason null) or by an override.
    PriorityChanged {
        /// Before.
        #[schema(schema_with = wire::level)]
        from: Level,
        /// After.
        #[schema(schema_with = wire::level)]
        to: Level,
        /// The override's reason.
        reason: Option<String>,
    },
    /// Owner changed.
    OwnerChanged {
        /// Before.
        from: Option<i64>,
        /// After.
        to: Option<i64>,
    },
    /// Team changed.
    TeamChanged {
        /// Before.
        from: Option<i64>,
        /// After.
        to: Option<i64>,
    },
    /// The tag set was replaced.
    TagsChanged {
        /// Before.
        from: Vec<String>,
        /// After.
        to: Vec<String>,
    },
    /// A message was added.
    MessageAdded {
        /// The message's id.
        message: i64,
        /// Its kind.
        #[schema(schema_with = wire::message_kind)]
        kind: MessageKind,
    },
    /// The customer's personal data was erased.
    CustomerErased {
        /// The customer's id.
        customer: i64,
    },
    /// This ticket was merged into `ticket` (and closed with it).
    MergedInto {
        /// The ticket that survives.
        ticket: i64,
    },
    /// `ticket` was merged into this one; its messages show here too.
    MergedFrom {
        /// The merged ticket.
        ticket: i64,
    },
    /// The ticket moved to another customer when two customers were merged.
    CustomerChanged {
        /// The customer before.
        from: i64,
        /// The customer after.
        to: i64,
    },
    /// This ticket was opened from a message split out of `ticket`.
    SplitFrom {
        /// The ticket the message was on.
        ticket: i64,
        /// The message that was split out (this ticket starts with a copy).
        message: i64,
    },
    /// A message of this ticket was split out into the new ticket `ticket`.
    SplitTo {
        /// The new ticket.
        ticket: i64,
        /// The message (it stays here).
        message: i64,
    },
    /// The ticket moved between escalation levels (0: not escalated; 1-3: L1-L3).
    EscalationChanged {
        /// Before.
        from: u8,
        /// After.
        to: u8,
    },
    /// The ticket was linked to a problem ticket (a major incident); null when unlinked.
    ProblemLinked {
        /// The problem ticket's id, or null.
        problem: Option<i64>,
    },
    /// The conversation moved to another channel, whose service level applies from then on.
    ChannelChanged {
        /// Before.
        #[schema(schema_with = wire::channel)]
        from: Channel,
        /// After.
        #[schema(schema_with = wire::channel)]
        to: Channel,
        /// Why.
        reason: String,
    },
}

impl From<&Change> for ChangeDto {
    fn from(change: &Change) -> ChangeDto {
        let id = |id: Option<AgentId>| id.map(|id| id.0);
        let team = |team: Option<TeamId>| team.map(|team| team.0);
        match change {
            Change::Created {
                subject,
                status,
                urgency,
                priority,
                channel,
                customer,
                team: created_team,
                tags,
                linked_to,
            } => ChangeDto::Created {
                subject: subject.clone(),
                status: *status,
                urgency: *urgency,
                priority: *priority,
                channel: *channel,
                customer: customer.0,
                team: team(*created_team),
                tags: tags.clone(),
                linked_to: linked_to.map(|linked| linked.0),
            },
            Change::StatusChanged { from, to } => ChangeDto::StatusChanged { from: *from, to: *to },
            Change::UrgencyChanged { from, to } => ChangeDto::UrgencyChanged { from: *from, to: *to },
            Change::PriorityChanged { from, to, reason } => {
                ChangeDto::PriorityChanged { from: *from, to: *to, reason: reason.clone() }
            }
            Change::OwnerChanged { from, to } => ChangeDto::OwnerChanged { from: id(*from), to: id(*to) },
            Change::TeamChanged { from, to } => ChangeDto::TeamChanged { from: team(*from), to: team(*to) },
            Change::TagsChanged { from, to } => ChangeDto::TagsChanged { from: from.clone(), to: to.clone() },
            Change::MessageAdded { message, kind } => ChangeDto::MessageAdded { message: message.0, kind: *kind },
            Change::CustomerErased { customer } => ChangeDto::CustomerErased { customer: customer.0 },
            Change::MergedInto { ticket } => ChangeDto::MergedInto { ticket: ticket.0 },
            Change::MergedFrom { ticket } => ChangeDto::MergedFrom { ticket: ticket.0 },
            Change::CustomerChanged { from, to } => ChangeDto::CustomerChanged { from: from.0, to: to.0 },
            Change::SplitFrom { ticket, message } => ChangeDto::SplitFrom { ticket: ticket.0, message: message.0 },
            Change::SplitTo { ticket, message } => ChangeDto::SplitTo { ticket: ticket.0, message: message.0 },
            Change::EscalationChanged { from, to } => ChangeDto::EscalationChanged { from: *from, to: *to },
            Change::ProblemLinked { problem } => ChangeDto::ProblemLinked { problem: problem.map(|problem| problem.0) },
            Change::ChannelChanged { from, to, reason } => {
                ChangeDto::ChannelChanged { from: *from, to: *to, reason: reason.clone() }
            }
        }
    }
}

/// `POST /api/v1/tickets`: a ticket and its first message, from the customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketRequest {
    /// Subject, 1-500 characters.
    pub subject: String,
    /// The customer's first message.
    pub body: String,
    /// Channel of origin.
    #[schema(schema_with = wire::channel)]
    pub channel: Channel,
    /// Who the customer is: matched by any identity, created if unknown.
    pub customer: CustomerRefRequest,
    /// Urgency (default normal).
    #[serde(default)]
    #[schema(schema_with = wire::level)]
    pub urgency: Option<Level>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The team's id.
    #[serde(default)]
    pub team: Option<i64>,
}

/// The customer of a new ticket: at least one of email, phone, chat, handle.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRefRequest {
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number in international form.
    #[serde(default)]
    pub phone: Option<String>,
    /// Live-chat visitor id.
    #[serde(default)]
    pub chat: Option<String>,
    /// Messaging handle, `network:id`.
    #[serde(default)]
    pub handle: Option<String>,
    /// Name, used when the customer is new.
    #[serde(default)]
    pub name: Option<String>,
}

impl CreateTicketRequest {
    /// Validates the request into the store's command.
    pub fn into_command(
        self,
        actor: Actor,
        idempotency: Option<(AgentId, String, String)>,
        now: Timestamp,
    ) -> Result<CreateTicket, ApiError> {
        rapport_core::message::check_text(&self.body)
            .map_err(|error| ApiError::invalid("body", format!("body {error}")))?;
        let customer = self.customer;
        let found = identities("customer.", &customer.email, &customer.phone, &customer.chat, &customer.handle)?;
        if found.is_empty() {
            return Err(ApiError::invalid("customer", "a customer needs at least one of email, phone, chat or handle"));
        }
        Ok(CreateTicket {
            subject: self.subject,
            body: self.body,
            html: None,
            channel: self.channel,
            customer: CustomerRef {
                name: customer.name.map(|name| rapport_core::text::one_line(&name)).filter(|name| !name.is_empty()),
                identities: found,
            },
            urgency: self.urgency.unwrap_or(Level::Normal),
            team: self.team.map(TeamId),
            tags: self.tags,
            attachments: Vec::new(),
            actor,
            idempotency,
            linked_to: None,
            origin: Default::default(),
            now,
        })
    }
}

/// `POST /api/v1/tickets/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMessageRequest {
    /// The text.
    pub body: String,
    /// true: a public reply to the customer; false: an internal note.
    pub public: bool,
    /// For a public reply: the channel to send it on (default: the channel of
    /// the customer's latest message).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub channel: Option<String>,
}

/// `PATCH /api/v1/tickets/{id}`: a JSON merge patch. Absent fields stay as
/// they are; `null` clears `owner` and `team`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct TicketPatchBody {
    /// New status (must be allowed by the lifecycle).
    #[schema(schema_with = wire::status)]
    status: Option<Status>,
    /// New urgency.
    #[schema(schema_with = wire::level)]
    urgency: Option<Level>,
    /// A priority override (supervisors and admins); needs `priority_reason`.
    #[schema(schema_with = wire::level)]
    priority: Option<Level>,
    /// Why the priority is overridden.
    priority_reason: Option<String>,
    /// New owner's id; null unassigns.
    owner: Option<i64>,
    /// New team's id; null clears.
    team: Option<i64>,
    /// The new tag set (replaces the old one).
    tags: Option<Vec<String>>,
}

/// A ticket response: the JSON and its version as an `ETag`.
pub fn ticket_response(status: StatusCode, ticket: &Ticket, replayed: bool) -> Response {
    let mut response = (status, Json(TicketDto::from(ticket))).into_response();
    set_etag(&mut response, ticket.version);
    if replayed {
        response.headers_mut().insert(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"));
    }
    response
}

pub fn set_etag(response: &mut Response, version: i64) {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

/// The path an agent downloads a message's `index`th file at.
pub fn download_path(ticket: TicketId, message: MessageId, index: usize) -> String {
    format!("/api/v1/tickets/{ticket}/messages/{message}/attachments/{index}")
}
