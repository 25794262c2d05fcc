//! The ticket page's view models: the conversation in order (each message
//! with its channel, author and delivery state, notes set apart), the event
//! history in words, the customer panel and the reply box's channels. Built
//! from store values; the template only prints them.

use std::collections::HashMap;

use rapport_core::messaging::{ServiceWindow, has_service_window, service_window};
use rapport_core::reply::{reaches, route};
use rapport_core::{
    Actor, AgentId, Author, Change, Channel, Customer, Event, Identity, Message, MessageKind, TeamId, Timestamp,
};

use crate::workspace::queue::Choice;
use crate::workspace::view::{When, exact};

/// Names of the agents and teams a page mentions.
#[derive(Debug, Default)]
pub struct Names {
    /// Agents by id.
    pub agents: HashMap<AgentId, String>,
    /// Teams by id.
    pub teams: HashMap<TeamId, String>,
    /// The customer's display name.
    pub customer: String,
}

impl Names {
    fn agent(&self, id: AgentId) -> String {
        self.agents.get(&id).cloned().unwrap_or_else(|| format!("agent {}", id.0))
    }

    fn team(&self, id: TeamId) -> String {
        self.teams.get(&id).cloned().unwrap_or_else(|| format!("team {}", id.0))
    }

    fn owner(&self, id: Option<AgentId>) -> String {
        id.map_or_else(|| "nobody".to_owned(), |id| self.agent(id))
    }

    fn team_or_none(&self, id: Option<TeamId>) -> String {
        id.map_or_else(|| "no team".to_owned(), |id| self.team(id))
    }
}

/// One message as the page shows it.
#[derive(Debug, Clone)]
pub struct MessageView {
    /// Its id (the anchor `#m{id}`).
    pub id: i64,
    /// `from-customer`, `from-agent` or `note`.
    pub class: &'static str,
    /// "Internal note", "Reply", "Customer".
    pub kind: &'static str,
    /// Who wrote it.
    pub author: String,
    /// The channel it came in or went out on.
    pub channel: &'static str,
    /// queued, sent, delivered, read or failed (outgoing replies only).
    pub delivery: Option<&'static str>,
    /// The text, escaped by the template.
    pub text: String,
    /// When it was written.
    pub when: When,
    /// Its files' names and sizes.
    pub attachments: Vec<String>,
    /// True for a customer's message, which may start a ticket of its own.
    pub splittable: bool,
}

/// The conversation, oldest first.
pub fn messages(messages: &[Message], names: &Names, now: Timestamp) -> Vec<MessageView> {
    messages
        .iter()
        .map(|message| {
            let (class, kind) = match message.kind {
                MessageKind::Inbound => ("from-customer", "Customer"),
                MessageKind::Reply => ("from-agent", "Reply"),
                MessageKind::Note => ("note", "Internal note"),
            };
            let author = match message.author {
                Author::Customer(_) => names.customer.clone(),
                Author::Agent(id) => names.agent(id),
                Author::System => "Rapport (automatic)".to_owned(),
            };
            MessageView {
                id: message.id.0,
                class,
                kind,
                author,
                channel: message.channel.as_str(),
                delivery: message.delivery.map(|state| state.as_str()),
                text: message.text.clone(),
                when: When::of(message.created_at, now),
                attachments: message
                    .attachments
                    .iter()
                    .map(|file| format!("{} ({} KB)", file.filename, (file.size + 1023) / 1024))
                    .collect(),
                splittable: message.kind == rapport_core::MessageKind::Inbound,
            }
        })
        .collect()
}

/// One line of the history.
#[derive(Debug, Clone)]
pub struct EventView {
    /// Who did it.
    pub actor: String,
    /// What happened, in words.
    pub what: String,
    /// When, exactly.
    pub at: String,
}

/// The event log in words, oldest first.
pub fn history(events: &[Event], names: &Names) -> Vec<EventView> {
    events
        .iter()
        .map(|event| EventView {
            actor: match event.actor {
                Actor::Agent(id) => names.agent(id),
                Actor::Customer(_) => names.customer.clone(),
                Actor::System => "Rapport".to_owned(),
            },
            what: describe(&event.change, names),
            at: exact(event.at),
        })
        .collect()
}

fn describe(change: &Change, names: &Names) -> String {
    match change {
        Change::Created { channel, .. } => format!("opened the ticket ({channel})"),
        Change::StatusChanged { from, to } => format!("changed the status from {from} to {to}"),
        Change::UrgencyChanged { from, to } => format!("changed the urgency from {} to {}", from.as_str(), to.as_str()),
        Change::PriorityChanged { from, to, reason } => match reason {
            Some(reason) => format!("set the priority from {} to {} ({reason})", from.as_str(), to.as_str()),
            None => format!("changed the priority from {} to {}", from.as_str(), to.as_str()),
        },
        Change::OwnerChanged { from, to } => {
            format!("changed the owner from {} to {}", names.owner(*from), names.owner(*to))
        }
        Change::TeamChanged { from, to } => {
            format!("moved the ticket from {} to {}", names.team_or_none(*from), names.team_or_none(*to))
        }
        Change::TagsChanged { to, .. } if to.is_empty() => "removed every tag".to_owned(),
        Change::TagsChanged { to, .. } => format!("set the tags to {}", to.join(", ")),
        Change::MessageAdded { kind, .. } => match kind {
            MessageKind::Inbound => "wrote a message".to_owned(),
            MessageKind::Reply => "replied".to_owned(),
            MessageKind::Note => "added an internal note".to_owned(),
        },
        Change::CustomerErased { .. } => "erased the customer's personal data".to_owned(),
        Change::MergedInto { ticket } => format!("merged this ticket into #{}", ticket.0),
        Change::MergedFrom { ticket } => format!("merged #{} into this ticket", ticket.0),
        Change::CustomerChanged { from, to } => format!("moved the ticket from customer {} to {}", from.0, to.0),
        Change::SplitFrom { ticket, .. } => format!("split this ticket from #{}", ticket.0),
        Change::SplitTo { ticket, .. } => format!("split a message off into #{}", ticket.0),
        Change::EscalationChanged { from, to } => format!("changed the escalation level from {from} to {to}"),
        Change::ProblemLinked { problem: Some(problem) } => format!("linked the ticket to problem #{}", problem.0),
        Change::ProblemLinked { problem: None } => "unlinked the ticket from its problem".to_owned(),
        Change::ChannelChanged { from, to, reason } => format!("moved the conversation from {from} to {to} ({reason})"),
    }
}

/// One of the customer's identities.
#[derive(Debug, Clone)]
pub struct IdentityView {
    /// email, phone, chat or handle.
    pub kind: &'static str,
    /// The address, number or handle.
    pub value: String,
    /// True once the customer proved it (a magic link) or a supervisor confirmed it.
    pub verified: bool,
}

/// The customer's identities, verified ones marked.
pub fn identities(customer: &Customer) -> Vec<IdentityView> {
    customer
        .identities
        .iter()
        .map(|identity| IdentityView {
            kind: identity.kind.as_str(),
            value: identity.value.clone(),
            verified: customer.verified.contains(identity),
        })
        .collect()
}

/// The channels a reply may be sent on: "automatic" (what the outbox would
/// choose, with why), then every channel that reaches one of the customer's
/// identities, each saying when its 24-hour window is closed and a template
/// goes instead.
pub fn reply_channels(
    ticket_channel: Channel,
    identities: &[Identity],
    messages: &[Message],
    chosen: &str,
    now: Timestamp,
) -> (Vec<Choice>, String) {
    let automatic = match route(None, ticket_channel, &[], identities) {
        Ok(routed) => format!("automatic: {}", routed.channel),
        Err(_) => "automatic (the customer cannot be reached: write a note)".to_owned(),
    };
    let mut choices = vec![Choice { value: String::new(), label: automatic, selected: chosen.is_empty() }];
    let mut closed = Vec::new();
    for channel in [
        Channel::Email,
        Channel::Whatsapp,
        Channel::Sms,
        Channel::Telegram,
        Channel::Messenger,
        Channel::Instagram,
        Channel::Chat,
    ] {
        if !identities.iter().any(|identity| reaches(identity, channel)) {
            continue;
        }
        let mut label = channel.as_str().to_owned();
        if has_service_window(channel) {
            let last = messages
                .iter()
                .filter(|message| message.kind == MessageKind::Inbound && message.channel == channel)
                .map(|message| message.created_at)
                .max();
            if let ServiceWindow::Closed { .. } = service_window(channel, last, now) {
                label.push_str(" (24-hour window closed: an approved template is sent instead)");
                closed.push(channel.as_str());
            }
        }
        choices.push(Choice { value: channel.as_str().to_owned(), label, selected: chosen == channel.as_str() });
    }
    let hint = if closed.is_empty() {
        "Automatic sends on the ticket's channel when it reaches the customer, else on their most recent one."
            .to_owned()
    } else {
        format!(
            "The customer has not written on {} for 24 hours: a free-form reply cannot go there, so an approved template asks them to reply.",
            closed.join(" or ")
        )
    };
    (choices, hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_core::{CustomerId, IdentityKind, MessageId, TicketId};

    fn inbound(channel: Channel, at: i64) -> Message {
        Message {
            id: MessageId(1),
            ticket: TicketId(1),
            kind: MessageKind::Inbound,
            author: Author::Customer(CustomerId(1)),
            channel,
            text: "hi".into(),
            html: None,
            attachments: vec![],
            external_id: None,
            delivery: None,
            route: None,
            created_at: Timestamp(at),
        }
    }

    #[test]
    fn reply_channels_name_what_reaches_the_customer_and_closed_windows() {
        let identities = vec![
            Identity::parse(IdentityKind::Email, "ana@example.com").unwrap(),
            Identity::parse(IdentityKind::Phone, "+4915112345678").unwrap(),
        ];
        let day = 24 * 3_600_000;
        let (choices, hint) =
            reply_channels(Channel::Whatsapp, &identities, &[inbound(Channel::Whatsapp, 0)], "", Timestamp(2 * day));
        let labels: Vec<&str> = choices.iter().map(|choice| choice.label.as_str()).collect();
        assert_eq!(labels[0], "automatic: whatsapp");
        assert!(choices[0].selected);
        assert_eq!(labels[1], "email");
        assert!(labels[2].starts_with("whatsapp (24-hour window closed"), "{labels:?}");
        assert_eq!(labels[3], "sms");
        assert_eq!(choices.len(), 4, "no handle, no chat visitor: {labels:?}");
        assert!(hint.contains("whatsapp"), "{hint}");

        let (open, hint) = reply_channels(
            Channel::Whatsapp,
            &identities,
            &[inbound(Channel::Whatsapp, day)],
            "sms",
            Timestamp(day + 60_000),
        );
        assert_eq!(open[2].label, "whatsapp");
        assert!(open[3].selected);
        assert!(hint.starts_with("Automatic"));
    }

    #[test]
    fn history_reads_in_words() {
        let mut names = Names::default();
        names.agents.insert(AgentId(7), "Dana".into());
        let change = Change::OwnerChanged { from: None, to: Some(AgentId(7)) };
        assert_eq!(describe(&change, &names), "changed the owner from nobody to Dana");
    }
}
