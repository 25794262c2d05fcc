//! The append-only event log, the decisions that produce events, and replay.
//!
//! Every change to a ticket is decided here as a list of [`Change`]s stamped
//! with the actor, the time and the ticket's new `version`. The store writes
//! the changes and the resulting ticket row in one transaction; [`replay`]
//! rebuilds the ticket from the changes alone, and tests compare the two.

use crate::access::Viewer;
use crate::ids::{AgentId, CustomerId, MessageId, TeamId, TicketId};
use crate::message::{Author, MessageKind};
use crate::priority::{Level, PriorityMatrix, Tier};
use crate::ticket::{
    Channel, Status, TagError, Ticket, TransitionError, Trigger, normalise_tags, status_after_agent_reply, transition,
};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// An agent (through the API, the UI or the CLI).
    Agent(AgentId),
    /// The customer.
    Customer(CustomerId),
    /// Rapport itself: timers and automations.
    System,
}

impl From<Author> for Actor {
    fn from(author: Author) -> Actor {
        match author {
            Author::Customer(id) => Actor::Customer(id),
            Author::Agent(id) => Actor::Agent(id),
            Author::System => Actor::System,
        }
    }
}

/// One change to a ticket, with its before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// The ticket was created with these fields.
    Created {
        /// Subject.
        subject: String,
        /// Initial status (always `new`).
        status: Status,
        /// Urgency.
        urgency: Level,
        /// Priority from the matrix.
        priority: Level,
        /// Channel of origin.
        channel: Channel,
        /// Customer.
        customer: CustomerId,
        /// Team.
        team: Option<TeamId>,
        /// Tags.
        tags: Vec<String>,
        /// The closed ticket it continues.
        linked_to: Option<TicketId>,
    },
    /// Status changed.
    StatusChanged {
        /// Before.
        from: Status,
        /// After.
        to: Status,
    },
    /// Urgency changed.
    UrgencyChanged {
        /// Before.
        from: Level,
        /// After.
        to: Level,
    },
    /// Priority changed: by the matrix (no reason) or by an override (a reason).
    PriorityChanged {
        /// Before.
        from: Level,
        /// After.
        to: Level,
        /// Why it was overridden; `None` when it follows the matrix.
        reason: Option<String>,
    },
    /// Owner changed.
    OwnerChanged {
        /// Before.
        from: Option<AgentId>,
        /// After.
        to: Option<AgentId>,
    },
    /// Team changed.
    TeamChanged {
        /// Before.
        from: Option<TeamId>,
        /// After.
        to: Option<TeamId>,
    },
    /// The tag set was replaced.
    TagsChanged {
        /// Before.
        from: Vec<String>,
        /// After.
        to: Vec<String>,
    },
    /// A message was added (its text lives in the message, not in the event,
    /// so erasure has one place to redact).
    MessageAdded {
        /// The message.
        message: MessageId,
        /// Its kind.
        kind: MessageKind,
    },
    /// The customer's personal data was erased on request.
    CustomerErased {
        /// Whose.
        customer: CustomerId,
    },
    /// This ticket was merged into `ticket`, which carries the conversation on
    /// (a status change to closed comes with it).
    MergedInto {
        /// The ticket that survives.
        ticket: TicketId,
    },
    /// `ticket` was merged into this one; its messages now show here too.
    MergedFrom {
        /// The merged ticket.
        ticket: TicketId,
    },
    /// The ticket moved to another customer, because the two customer
    /// records were found to be one person and merged.
    CustomerChanged {
        /// Before.
        from: CustomerId,
        /// After.
        to: CustomerId,
    },
    /// This ticket was opened from a message split out of `ticket`.
    SplitFrom {
        /// The ticket the message was on.
        ticket: TicketId,
        /// The message that was split out (it stays on that ticket; this one has a copy).
        message: MessageId,
    },
    /// A message of this ticket was split out into the new ticket `ticket`.
    SplitTo {
        /// The new ticket.
        ticket: TicketId,
        /// The message (it stays here; the new ticket has a copy).
        message: MessageId,
    },
    /// An escalation rule moved the ticket to another escalation level (0: not
    /// escalated, 1-3). The level lives beside the ticket (the store keeps it
    /// in its own column), so replay leaves the ticket's fields alone.
    EscalationChanged {
        /// Before.
        from: u8,
        /// After.
        to: u8,
    },
    /// The ticket was linked to a problem ticket (a major incident), or
    /// unlinked (`None`). The link lives beside the ticket (the store keeps it
    /// in its own column), so replay leaves the ticket's fields alone.
    ProblemLinked {
        /// The problem ticket, or `None` when the link was removed.
        problem: Option<TicketId>,
    },
    /// The conversation moved to another channel (a live chat that nobody
    /// could take continues by email), so that channel's service level
    /// applies from now on.
    ChannelChanged {
        /// Before.
        from: Channel,
        /// After.
        to: Channel,
        /// Why, in words for the ticket's history.
        reason: String,
    },
}

impl Change {
    /// The event's type word, as stored in the database.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Created { .. } => "created",
            Change::StatusChanged { .. } => "status_changed",
            Change::UrgencyChanged { .. } => "urgency_changed",
            Change::PriorityChanged { .. } => "priority_changed",
            Change::OwnerChanged { .. } => "owner_changed",
            Change::TeamChanged { .. } => "team_changed",
            Change::TagsChanged { .. } => "tags_changed",
            Change::MessageAdded { .. } => "message_added",
            Change::CustomerErased { .. } => "customer_erased",
            Change::MergedInto { .. } => "merged_into",
            Change::MergedFrom { .. } => "merged_from",
            Change::CustomerChanged { .. } => "customer_changed",
            Change::SplitFrom { .. } => "split_from",
            Change::SplitTo { .. } => "split_to",
            Change::EscalationChanged { .. } => "escalation_changed",
            Change::ProblemLinked { .. } => "problem_linked",
            Change::ChannelChanged { .. } => "channel_changed",
        }
    }
}

/// One entry of a ticket's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The ticket.
    pub ticket: TicketId,
    /// The ticket version this change produced; changes made together share it.
    pub version: i64,
    /// Who.
    pub actor: Actor,
    /// When.
    pub at: Timestamp,
    /// What.
    pub change: Change,
}

/// A ticket after a decision, with the events that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The ticket as it now is.
    pub ticket: Ticket,
    /// The events to append (empty when nothing changed).
    pub events: Vec<Event>,
}

impl Decision {
    /// Gives a freshly opened ticket the number the store allocated: core
    /// decides before the row exists, the store numbers it when inserting.
    pub fn renumber(mut self, id: TicketId) -> Decision {
        self.ticket.id = id;
        for event in &mut self.events {
            event.ticket = id;
        }
        self
    }

    /// Records the customer's first message as part of the ticket's first version.
    pub fn with_first_message(mut self, message: MessageId) -> Decision {
        let Some(created) = self.events.first() else { return self };
        let event = Event {
            ticket: self.ticket.id,
            version: created.version,
            actor: created.actor,
            at: created.at,
            change: Change::MessageAdded { message, kind: MessageKind::Inbound },
        };
        self.events.push(event);
        self
    }
}

/// Everything needed to open a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// Subject.
    pub subject: String,
    /// Channel of origin.
    pub channel: Channel,
    /// Customer.
    pub customer: CustomerId,
    /// The customer's effective tier.
    pub tier: Tier,
    /// Urgency (default normal).
    pub urgency: Level,
    /// Team.
    pub team: Option<TeamId>,
    /// Tags, already normalised.
    pub tags: Vec<String>,
    /// The closed ticket this one continues.
    pub linked_to: Option<TicketId>,
}

/// The longest subject accepted, in characters.
pub const MAX_SUBJECT_CHARS: usize = 500;

/// A ticket that cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Blank subject.
    #[error("subject must not be empty")]
    EmptySubject,
    /// Subject over the limit.
    #[error("subject is longer than 500 characters")]
    LongSubject,
}

/// A subject as a ticket keeps it: on one line ([`crate::text::one_line`]),
/// not blank, at most [`MAX_SUBJECT_CHARS`].
pub fn parse_subject(subject: &str) -> Result<String, OpenError> {
    let subject = crate::text::one_line(subject);
    if subject.is_empty() {
        return Err(OpenError::EmptySubject);
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(OpenError::LongSubject);
    }
    Ok(subject)
}

/// Opens ticket `id`: status new, priority from the matrix, version 1.
pub fn open(
    id: TicketId,
    new: NewTicket,
    matrix: &PriorityMatrix,
    actor: Actor,
    now: Timestamp,
) -> Result<Decision, OpenError> {
    let subject = parse_subject(&new.subject)?;
    let change = Change::Created {
        subject,
        status: Status::New,
        urgency: new.urgency,
        priority: matrix.priority(&new.tier, new.urgency),
        channel: new.channel,
        customer: new.customer,
        team: new.team,
        tags: new.tags,
        linked_to: new.linked_to,
    };
    let event = Event { ticket: id, version: 1, actor, at: now, change };
    let ticket = replay(std::slice::from_ref(&event)).map_err(|_| OpenError::EmptySubject)?;
    Ok(Decision { ticket, events: vec![event] })
}

/// A requested change to a ticket's fields. `None` leaves a field alone;
/// `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketPatch {
    /// New status.
    pub status: Option<Status>,
    /// New urgency.
    pub urgency: Option<Level>,
    /// A priority override and its reason.
    pub priority: Option<(Level, String)>,
    /// New owner, or unassign.
    pub owner: Option<Option<AgentId>>,
    /// New team, or none.
    pub team: Option<Option<TeamId>>,
    /// The new tag set.
    pub tags: Option<Vec<String>>,
}

/// A patch that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The status change is not in the lifecycle.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The caller's role may not set this field this way.
    #[error("your role may not change {field} this way")]
    Forbidden {
        /// The field.
        field: &'static str,
    },
    /// The value is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        message: String,
    },
}

impl From<TagError> for PatchError {
    fn from(error: TagError) -> PatchError {
        PatchError::Invalid { field: "tags", message: error.to_string() }
    }
}

/// Applies a patch on behalf of `viewer`: checks the lifecycle and the
/// viewer's rights, recomputes priority from the matrix when urgency changes
/// and no override is in force, and returns the events. All or nothing.
pub fn patch(
    ticket: &Ticket,
    patch: TicketPatch,
    viewer: &Viewer,
    tier: &Tier,
    matrix: &PriorityMatrix,
    now: Timestamp,
) -> Result<Decision, PatchError> {
    let mut changes = Vec::new();
    if let Some(to) = patch.status
        && let Some(to) = transition(ticket.status, to, Trigger::AgentSets)?
    {
        changes.push(Change::StatusChanged { from: ticket.status, to });
    }
    if let Some((to, reason)) = &patch.priority {
        if !viewer.can_direct_work() {
            return Err(PatchError::Forbidden { field: "priority" });
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 500 {
            return Err(PatchError::Invalid {
                field: "priority_reason",
                message: "a priority override needs a reason of 1-500 characters".into(),
            });
        }
        if *to != ticket.priority || ticket.priority_reason.as_deref() != Some(reason) {
            changes.push(Change::PriorityChanged { from: ticket.priority, to: *to, reason: Some(reason.to_owned()) });
        }
    }
    if let Some(to) = patch.urgency
        && to != ticket.urgency
    {
        changes.push(Change::UrgencyChanged { from: ticket.urgency, to });
        let follows_matrix = ticket.priority_reason.is_none() && patch.priority.is_none();
        let derived = matrix.priority(tier, to);
        if follows_matrix && derived != ticket.priority {
            changes.push(Change::PriorityChanged { from: ticket.priority, to: derived, reason: None });
        }
    }
    if let Some(to) = patch.owner
        && to != ticket.owner
    {
        let takes_or_releases_own = to == Some(viewer.agent) || (to.is_none() && ticket.owner == Some(viewer.agent));
        if !viewer.can_direct_work() && !takes_or_releases_own {
            return Err(PatchError::Forbidden { field: "owner" });
        }
        changes.push(Change::OwnerChanged { from: ticket.owner, to });
    }
    if let Some(to) = patch.team
        && to != ticket.team
    {
        changes.push(Change::TeamChanged { from: ticket.team, to });
    }
    if let Some(tags) = patch.tags {
        let to = normalise_tags(tags)?;
        if to != ticket.tags {
            changes.push(Change::TagsChanged { from: ticket.tags.clone(), to });
        }
    }
    Ok(decide(ticket, changes, Actor::Agent(viewer.agent), now))
}

/// A message that cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Closed tickets take internal notes only; a customer's message on a
    /// closed ticket starts a new linked ticket instead.
    #[error("ticket is closed; only internal notes can be added")]
    Closed,
    /// The ticket was merged into another; the conversation goes on there.
    #[error("ticket was merged into ticket {into}; add messages there (only internal notes can be added here)")]
    Merged {
        /// The ticket that survived the merge.
        into: TicketId,
    },
}

/// Adds message `message` of `kind` by `author`: a public agent reply opens a
/// new ticket; a customer message reopens a pending, on-hold or solved one.
pub fn add_message(
    ticket: &Ticket,
    message: MessageId,
    kind: MessageKind,
    author: Author,
    now: Timestamp,
) -> Result<Decision, MessageError> {
    if let Some(into) = ticket.merged_into
        && kind != MessageKind::Note
    {
        return Err(MessageError::Merged { into });
    }
    if ticket.status == Status::Closed && kind != MessageKind::Note {
        return Err(MessageError::Closed);
    }
    let mut changes = vec![Change::MessageAdded { message, kind }];
    let reopened = match kind {
        // Only a person's reply opens a new ticket: an automatic acknowledgment is not a response.
        MessageKind::Reply if matches!(author, Author::Agent(_)) => status_after_agent_reply(ticket.status),
        MessageKind::Reply => None,
        MessageKind::Inbound => transition(ticket.status, Status::Open, Trigger::CustomerReplies).ok().flatten(),
        MessageKind::Note => None,
    };
    if let Some(to) = reopened {
        changes.push(Change::StatusChanged { from: ticket.status, to });
    }
    Ok(decide(ticket, changes, author.into(), now))
}

/// Who owns an ownerless ticket once an agent answers it or takes its chat
/// (a team's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerOnReply {
    /// The agent who sends the first public reply, or takes the chat, becomes
    /// the owner: one accountable person from the first answer on.
    #[default]
    Replier,
    /// The ticket stays unassigned until someone assigns it.
    None,
}

impl OwnerOnReply {
    /// The word used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerOnReply::Replier => "replier",
            OwnerOnReply::None => "none",
        }
    }

    /// Parses the database/JSON word.
    pub fn parse(word: &str) -> Option<OwnerOnReply> {
        [OwnerOnReply::Replier, OwnerOnReply::None].into_iter().find(|rule| rule.as_str() == word)
    }
}

/// The owner an agent's answer gives an ownerless ticket under `rule`.
fn claim(ticket: &Ticket, agent: AgentId, rule: OwnerOnReply) -> Option<Change> {
    (ticket.owner.is_none() && rule == OwnerOnReply::Replier)
        .then_some(Change::OwnerChanged { from: None, to: Some(agent) })
}

/// Adds an agent's public reply: as [`add_message`], and the agent becomes
/// the owner of a ticket that has none, unless the team's `rule` says
/// otherwise.
pub fn add_agent_reply(
    ticket: &Ticket,
    message: MessageId,
    agent: AgentId,
    rule: OwnerOnReply,
    now: Timestamp,
) -> Result<Decision, MessageError> {
    let mut decision = add_message(ticket, message, MessageKind::Reply, Author::Agent(agent), now)?;
    if let Some(change) = claim(ticket, agent, rule) {
        let template = decision.events.first().cloned();
        if let Some(template) = template {
            decision.ticket.owner = Some(agent);
            decision.events.push(Event { change, ..template });
        }
    }
    Ok(decision)
}

/// An agent takes a live chat: they become the ticket's owner when it has
/// none, unless the team's `rule` says otherwise. No change otherwise.
pub fn take_chat(ticket: &Ticket, agent: AgentId, rule: OwnerOnReply, now: Timestamp) -> Decision {
    let changes = claim(ticket, agent, rule).into_iter().collect();
    decide(ticket, changes, Actor::Agent(agent), now)
}

/// The conversation continues on `to` (a chat nobody could take goes on by
/// email once the visitor leaves an address), for the reason given.
pub fn change_channel(ticket: &Ticket, to: Channel, reason: &str, now: Timestamp) -> Decision {
    let changes = (ticket.channel != to)
        .then(|| Change::ChannelChanged { from: ticket.channel, to, reason: reason.to_owned() })
        .into_iter()
        .collect();
    decide(ticket, changes, Actor::System, now)
}

/// Closes a solved ticket whose auto-close time has come.
pub fn auto_close(ticket: &Ticket, now: Timestamp) -> Result<Decision, TransitionError> {
    let to = transition(ticket.status, Status::Closed, Trigger::AutoClose)?;
    let changes = to.map(|to| Change::StatusChanged { from: ticket.status, to }).into_iter().collect();
    Ok(decide(ticket, changes, Actor::System, now))
}

/// Records the erasure of the customer's personal data on one of their tickets.
pub fn record_erasure(ticket: &Ticket, customer: CustomerId, actor: Actor, now: Timestamp) -> Decision {
    decide(ticket, vec![Change::CustomerErased { customer }], actor, now)
}

/// What an automation (an escalation rule firing) changes on a ticket. `None`
/// and an empty list leave a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Automation {
    /// A priority override and its reason (which rule set it).
    pub priority: Option<(Level, String)>,
    /// The team to move the ticket to.
    pub team: Option<TeamId>,
    /// Tags to add (normalised here; a tag that is not valid is skipped).
    pub add_tags: Vec<String>,
    /// The escalation level `(from, to)`.
    pub escalation: Option<(u8, u8)>,
}

/// Applies an automation on behalf of Rapport itself: no role checks, and a
/// change only where the value differs. Rules are validated when saved, so a
/// bad tag here can only come from data older than the check; it is skipped
/// rather than failing the other changes (as is a tag past the limit).
pub fn automate(ticket: &Ticket, automation: Automation, now: Timestamp) -> Decision {
    let mut changes = Vec::new();
    if let Some((to, reason)) = automation.priority
        && to != ticket.priority
    {
        changes.push(Change::PriorityChanged { from: ticket.priority, to, reason: Some(reason) });
    }
    if let Some(to) = automation.team
        && ticket.team != Some(to)
    {
        changes.push(Change::TeamChanged { from: ticket.team, to: Some(to) });
    }
    let mut tags = ticket.tags.clone();
    for tag in &automation.add_tags {
        let Ok(normalised) = normalise_tags([tag]) else { continue };
        let mut next = tags.clone();
        next.extend(normalised);
        // Sorted and deduplicated, like every stored tag set.
        if let Ok(next) = normalise_tags(&next) {
            tags = next;
        }
    }
    if tags != ticket.tags {
        changes.push(Change::TagsChanged { from: ticket.tags.clone(), to: tags });
    }
    if let Some((from, to)) = automation.escalation
        && from != to
    {
        changes.push(Change::EscalationChanged { from, to });
    }
    decide(ticket, changes, Actor::System, now)
}

/// Links the ticket to `problem` (or unlinks it, `None`) on behalf of
/// `actor`; no event when the link is already so. Which tickets may be linked
/// is decided by [`crate::problem::check_link`].
pub fn link_problem(
    ticket: &Ticket,
    current: Option<TicketId>,
    problem: Option<TicketId>,
    actor: Actor,
    now: Timestamp,
) -> Decision {
    let changes = if current == problem { Vec::new() } else { vec![Change::ProblemLinked { problem }] };
    decide(ticket, changes, actor, now)
}

/// Solves the ticket on behalf of `actor` (Rapport itself when a problem is
/// solved with its linked tickets): the lifecycle allows it from any unsolved
/// status; an already solved ticket gives no event.
pub fn solve(ticket: &Ticket, actor: Actor, now: Timestamp) -> Result<Decision, TransitionError> {
    let to = transition(ticket.status, Status::Solved, Trigger::AgentSets)?;
    let changes = to.map(|to| Change::StatusChanged { from: ticket.status, to }).into_iter().collect();
    Ok(decide(ticket, changes, actor, now))
}

/// Stamps `changes` as the next version and applies them.
pub(crate) fn decide(ticket: &Ticket, changes: Vec<Change>, actor: Actor, now: Timestamp) -> Decision {
    if changes.is_empty() {
        return Decision { ticket: ticket.clone(), events: Vec::new() };
    }
    let version = ticket.version + 1;
    let events: Vec<Event> =
        changes.into_iter().map(|change| Event { ticket: ticket.id, version, actor, at: now, change }).collect();
    let mut next = ticket.clone();
    for event in &events {
        // The changes were derived from `ticket` itself, so they always apply.
        if apply(&mut next, event).is_err() {
            debug_assert!(false, "a decided change did not apply");
        }
    }
    Decision { ticket: next, events }
}

/// Events that do not rebuild a ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// No events.
    #[error("no events")]
    Empty,
    /// The first event is not a creation, or a creation comes later.
    #[error("event {index} is out of place: a ticket's log starts with exactly one created event")]
    OutOfPlace {
        /// Position in the log.
        index: usize,
    },
    /// An event's `from` does not match the state before it.
    #[error("event {index} ({kind}) does not follow from the state before it")]
    Mismatch {
        /// Position in the log.
        index: usize,
        /// Its type.
        kind: &'static str,
    },
    /// Versions go backwards.
    #[error("event {index} has version {version}, lower than the one before it")]
    Version {
        /// Position in the log.
        index: usize,
        /// Its version.
        version: i64,
    },
}

/// Rebuilds a ticket from its events, checking that each follows from the last.
pub fn replay(events: &[Event]) -> Result<Ticket, ReplayError> {
    let first = events.first().ok_or(ReplayError::Empty)?;
    let Change::Created { subject, status, urgency, priority, channel, customer, team, tags, linked_to } =
        &first.change
    else {
        return Err(ReplayError::OutOfPlace { index: 0 });
    };
    let mut ticket = Ticket {
        id: first.ticket,
        subject: subject.clone(),
        status: *status,
        urgency: *urgency,
        priority: *priority,
        priority_reason: None,
        channel: *channel,
        customer: *customer,
        team: *team,
        owner: None,
        tags: tags.clone(),
        linked_to: *linked_to,
        merged_into: None,
        version: first.version,
        created_at: first.at,
        updated_at: first.at,
        solved_at: None,
    };
    for (index, event) in events.iter().enumerate().skip(1) {
        if event.version < ticket.version {
            return Err(ReplayError::Version { index, version: event.version });
        }
        apply(&mut ticket, event).map_err(|kind| match kind {
            None => ReplayError::OutOfPlace { index },
            Some(kind) => ReplayError::Mismatch { index, kind },
        })?;
    }
    Ok(ticket)
}

/// Applies one non-creation event. `Err(None)`: a creation out of place;
/// `Err(Some(kind))`: the event's `from` does not match.
fn apply(ticket: &mut Ticket, event: &Event) -> Result<(), Option<&'static str>> {
    let kind = event.change.kind();
    let matches = match &event.change {
        Change::Created { .. } => return Err(None),
        Change::StatusChanged { from, to } => {
            let ok = ticket.status == *from;
            ticket.status = *to;
            if *to == Status::Solved {
                ticket.solved_at = Some(event.at);
            }
            ok
        }
        Change::UrgencyChanged { from, to } => std::mem::replace(&mut ticket.urgency, *to) == *from,
        Change::PriorityChanged { from, to, reason } => {
            ticket.priority_reason = reason.clone();
            std::mem::replace(&mut ticket.priority, *to) == *from
        }
        Change::OwnerChanged { from, to } => std::mem::replace(&mut ticket.owner, *to) == *from,
        Change::TeamChanged { from, to } => std::mem::replace(&mut ticket.team, *to) == *from,
        Change::TagsChanged { from, to } => std::mem::replace(&mut ticket.tags, to.clone()) == *from,
        Change::MergedInto { ticket: into } => ticket.merged_into.replace(*into).is_none(),
        Change::CustomerChanged { from, to } => std::mem::replace(&mut ticket.customer, *to) == *from,
        Change::ChannelChanged { from, to, .. } => std::mem::replace(&mut ticket.channel, *to) == *from,
        Change::MessageAdded { .. }
        | Change::CustomerErased { .. }
        | Change::MergedFrom { .. }
        | Change::SplitFrom { .. }
        | Change::SplitTo { .. }
        | Change::EscalationChanged { .. }
        | Change::ProblemLinked { .. } => true,
    };
    ticket.version = event.version;
    ticket.updated_at = event.at;
    if matches { Ok(()) } else { Err(Some(kind)) }
}

#[cfg(test)]
mod tests;
