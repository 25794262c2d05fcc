//! Tickets and the status lifecycle.
//!
//! The lifecycle table of the foundation issue lives in [`transition`]: every
//! status change, whoever asks for it, goes through that one function, so an
//! illegal change is an error value and never a panic or a silent write.

use crate::ids::{AgentId, CustomerId, TeamId, TicketId};
use crate::priority::Level;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Received, nobody has answered yet.
    New,
    /// Being worked on.
    Open,
    /// Waiting on the customer.
    Pending,
    /// Waiting on a third party.
    OnHold,
    /// Answered; reopens if the customer replies, closes automatically later.
    Solved,
    /// Final. A later customer message starts a new, linked ticket.
    Closed,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 6] =
        [Status::New, Status::Open, Status::Pending, Status::OnHold, Status::Solved, Status::Closed];

    /// The word used in JSON, URLs and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::OnHold => "on_hold",
            Status::Solved => "solved",
            Status::Closed => "closed",
        }
    }

    /// True while the ticket still needs work from the team (new or open).
    pub fn is_unsolved(self) -> bool {
        !matches!(self, Status::Solved | Status::Closed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown word where a status, level or channel was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; expected one of: {expected}")]
pub struct UnknownWord {
    /// What was being parsed ("status", "channel", ...).
    pub kind: &'static str,
    /// The word that was given.
    pub value: String,
    /// The accepted words, comma-separated.
    pub expected: &'static str,
}

impl FromStr for Status {
    type Err = UnknownWord;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Status::ALL.into_iter().find(|status| status.as_str() == value).ok_or_else(|| UnknownWord {
            kind: "status",
            value: value.to_owned(),
            expected: "new, open, pending, on_hold, solved, closed",
        })
    }
}

/// The channel a ticket or message came in on (or goes out on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email.
    Email,
    /// The web form or customer portal.
    Web,
    /// Live chat.
    Chat,
    /// WhatsApp.
    Whatsapp,
    /// Telegram.
    Telegram,
    /// Facebook Messenger.
    Messenger,
    /// Instagram direct messages.
    Instagram,
    /// SMS.
    Sms,
    /// A phone call.
    Phone,
    /// Created through the REST API.
    Api,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 10] = [
        Channel::Email,
        Channel::Web,
        Channel::Chat,
        Channel::Whatsapp,
        Channel::Telegram,
        Channel::Messenger,
        Channel::Instagram,
        Channel::Sms,
        Channel::Phone,
        Channel::Api,
    ];

    /// The word used in JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Web => "web",
            Channel::Chat => "chat",
            Channel::Whatsapp => "whatsapp",
            Channel::Telegram => "telegram",
            Channel::Messenger => "messenger",
            Channel::Instagram => "instagram",
            Channel::Sms => "sms",
            Channel::Phone => "phone",
            Channel::Api => "api",
        }
    }

    /// The channel's name as a person writes it.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Web => "the web form",
            Channel::Chat => "live chat",
            Channel::Whatsapp => "WhatsApp",
            Channel::Telegram => "Telegram",
            Channel::Messenger => "Messenger",
            Channel::Instagram => "Instagram",
            Channel::Sms => "SMS",
            Channel::Phone => "the phone",
            Channel::Api => "the API",
        }
    }

    /// What a customer needs to be reached on the channel.
    pub fn address_word(self) -> &'static str {
        match self {
            Channel::Email | Channel::Web | Channel::Api => "email address",
            Channel::Whatsapp | Channel::Sms | Channel::Phone => "phone number",
            Channel::Telegram => "Telegram handle",
            Channel::Messenger => "Messenger handle",
            Channel::Instagram => "Instagram handle",
            Channel::Chat => "live-chat visitor",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = UnknownWord;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Channel::ALL.into_iter().find(|channel| channel.as_str() == value).ok_or_else(|| UnknownWord {
            kind: "channel",
            value: value.to_owned(),
            expected: "email, web, chat, whatsapp, telegram, messenger, instagram, sms, phone, api",
        })
    }
}

/// Who or what asks for a status change; the lifecycle table allows some
/// changes only from some triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An agent sets the status explicitly.
    AgentSets,
    /// An agent sends a public reply.
    AgentReplies,
    /// The customer writes.
    CustomerReplies,
    /// The auto-close timer after solving.
    AutoClose,
    /// The ticket is merged into another: whatever its status, it closes,
    /// because the conversation goes on in the ticket that survives.
    Merged,
}

/// A status change the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The ticket is closed; nothing changes it any more.
    #[error("ticket is closed; a closed ticket cannot change status")]
    Closed,
    /// The change is not in the lifecycle table for this trigger.
    #[error("a ticket cannot go from {from} to {to}")]
    Illegal {
        /// The current status.
        from: Status,
        /// The requested status.
        to: Status,
    },
}

/// Checks one status change against the lifecycle table.
///
/// Returns `Ok(None)` when nothing changes (the ticket already has that
/// status), `Ok(Some(to))` for an allowed change.
pub fn transition(from: Status, to: Status, trigger: Trigger) -> Result<Option<Status>, TransitionError> {
    use Status::*;
    if from == Closed {
        return Err(TransitionError::Closed);
    }
    if from == to {
        return Ok(None);
    }
    let allowed = match trigger {
        Trigger::AgentSets => matches!(
            (from, to),
            (New, Open)
                | (New | Open, Pending)
                | (New | Open, OnHold)
                | (Pending | OnHold, Open)
                | (New | Open | Pending | OnHold, Solved)
                | (Solved, Open)
                | (Solved, Closed)
        ),
        Trigger::AgentReplies => matches!((from, to), (New, Open)),
        Trigger::CustomerReplies => matches!((from, to), (Pending | OnHold | Solved, Open)),
        Trigger::AutoClose => matches!((from, to), (Solved, Closed)),
        Trigger::Merged => to == Closed,
    };
    if allowed { Ok(Some(to)) } else { Err(TransitionError::Illegal { from, to }) }
}

/// What a public agent reply does to the status: a new ticket becomes open.
pub fn status_after_agent_reply(status: Status) -> Option<Status> {
    (status == Status::New).then_some(Status::Open)
}

/// What a customer's message does to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerMessageOutcome {
    /// The message joins the ticket and its status stays.
    Append,
    /// The message joins the ticket and reopens it.
    Reopen,
    /// The ticket is closed: the message starts a new ticket linked to it.
    NewLinkedTicket,
}

/// Decides what a customer's message does to a ticket in `status`.
pub fn customer_message_outcome(status: Status) -> CustomerMessageOutcome {
    match status {
        Status::New | Status::Open => CustomerMessageOutcome::Append,
        Status::Pending | Status::OnHold | Status::Solved => CustomerMessageOutcome::Reopen,
        Status::Closed => CustomerMessageOutcome::NewLinkedTicket,
    }
}

/// True when a solved ticket has waited `auto_close_after_ms` since solving.
pub fn due_for_auto_close(ticket: &Ticket, auto_close_after_ms: i64, now: Timestamp) -> bool {
    ticket.status == Status::Solved
        && ticket.solved_at.is_some_and(|solved_at| solved_at.plus_millis(auto_close_after_ms) <= now)
}

/// A ticket's current state. It can always be rebuilt from its events
/// ([`crate::event::replay`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The ticket's number.
    pub id: TicketId,
    /// One line saying what the case is about.
    pub subject: String,
    /// Lifecycle status.
    pub status: Status,
    /// How urgent the customer's problem is.
    pub urgency: Level,
    /// How soon the team works on it: tier × urgency, or an override.
    pub priority: Level,
    /// Why the priority was overridden; `None` while it follows the matrix.
    pub priority_reason: Option<String>,
    /// The channel the ticket came in on.
    pub channel: Channel,
    /// The customer the case is for.
    pub customer: CustomerId,
    /// The team responsible.
    pub team: Option<TeamId>,
    /// The one agent accountable.
    pub owner: Option<AgentId>,
    /// Free labels, kept sorted and unique.
    pub tags: Vec<String>,
    /// The closed ticket this one continues, if any.
    pub linked_to: Option<TicketId>,
    /// The ticket this one was merged into; a merged ticket is closed and
    /// its conversation continues there.
    pub merged_into: Option<TicketId>,
    /// Increments on every change; used for optimistic concurrency.
    pub version: i64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was last solved (drives auto-close).
    pub solved_at: Option<Timestamp>,
}

/// Normalises a tag set: trimmed, lower-cased, sorted, unique.
pub fn normalise_tags<I, S>(tags: I) -> Result<Vec<String>, TagError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = Vec::new();
    for tag in tags {
        let tag = tag.as_ref().trim().to_lowercase();
        if tag.is_empty() || tag.len() > 64 || tag.chars().any(|c| c.is_whitespace() || c == ',') {
            return Err(TagError::Invalid(tag));
        }
        out.push(tag);
    }
    out.sort();
    out.dedup();
    if out.len() > 50 {
        return Err(TagError::TooMany);
    }
    Ok(out)
}

/// A tag that cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// Empty, too long, or containing spaces or commas.
    #[error("tag {0:?} is invalid: tags are 1-64 characters without spaces or commas")]
    Invalid(String),
    /// More than 50 tags.
    #[error("a ticket has at most 50 tags")]
    TooMany,
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    /// The lifecycle table from the foundation issue, row by row: (from, to, triggers that allow it).
    fn table() -> Vec<(Status, Status, Vec<Trigger>)> {
        use Trigger::*;
        vec![
            (New, Open, vec![AgentReplies, AgentSets]),
            (New, Pending, vec![AgentSets]),
            (Open, Pending, vec![AgentSets]),
            (New, OnHold, vec![AgentSets]),
            (Open, OnHold, vec![AgentSets]),
            (Pending, Open, vec![CustomerReplies, AgentSets]),
            (OnHold, Open, vec![CustomerReplies, AgentSets]),
            (New, Solved, vec![AgentSets]),
            (Open, Solved, vec![AgentSets]),
            (Pending, Solved, vec![AgentSets]),
            (OnHold, Solved, vec![AgentSets]),
            (Solved, Open, vec![CustomerReplies, AgentSets]),
            (Solved, Closed, vec![AgentSets, AutoClose, Merged]),
            (New, Closed, vec![Merged]),
            (Open, Closed, vec![Merged]),
            (Pending, Closed, vec![Merged]),
            (OnHold, Closed, vec![Merged]),
        ]
    }

    #[test]
    fn every_pair_and_trigger_matches_the_table() {
        let triggers =
            [Trigger::AgentSets, Trigger::AgentReplies, Trigger::CustomerReplies, Trigger::AutoClose, Trigger::Merged];
        let table = table();
        for from in Status::ALL {
            for to in Status::ALL {
                for trigger in triggers {
                    let got = transition(from, to, trigger);
                    let expected_allowed =
                        table.iter().any(|(f, t, allowed)| *f == from && *t == to && allowed.contains(&trigger));
                    match got {
                        Ok(Some(status)) => {
                            assert!(expected_allowed, "{from} -> {to} by {trigger:?} should be illegal");
                            assert_eq!(status, to);
                        }
                        Ok(None) => assert_eq!(from, to, "no-op only when unchanged"),
                        Err(TransitionError::Closed) => assert_eq!(from, Closed),
                        Err(TransitionError::Illegal { .. }) => {
                            assert!(!expected_allowed, "{from} -> {to} by {trigger:?} should be allowed")
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn closed_is_final() {
        for to in Status::ALL {
            assert_eq!(transition(Closed, to, Trigger::AgentSets), Err(TransitionError::Closed));
        }
        assert_eq!(customer_message_outcome(Closed), CustomerMessageOutcome::NewLinkedTicket);
    }

    #[test]
    fn words_round_trip() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>(), Ok(channel));
        }
        assert!("opened".parse::<Status>().is_err());
        assert!("fax".parse::<Channel>().is_err());
    }

    #[test]
    fn tags_are_normalised() {
        assert_eq!(normalise_tags(["B", "a", " b "]).unwrap(), vec!["a", "b"]);
        assert!(normalise_tags(["two words"]).is_err());
        assert!(normalise_tags([""]).is_err());
    }
}
