//! One customer, one conversation: merging tickets, moving tickets to another
//! customer when two customer records turn out to be one person, and
//! splitting a message out into a ticket of its own.
//!
//! Merges never rewrite history. The merged ticket gains a `merged_into`
//! event and closes; the survivor gains a `merged_from` event; readers show
//! the survivor with the messages of both. A customer merge is recorded on
//! every ticket it moves as a `customer_changed` event. A split copies the
//! message into a new ticket linked to the original, which keeps its message.

use crate::customer::Customer;
use crate::event::{Actor, Change, Decision, Event, NewTicket, OpenError, decide, open, parse_subject};
use crate::ids::{CustomerId, MessageId, TicketId};
use crate::message::{Message, MessageKind};
use crate::priority::{PriorityMatrix, Tier};
use crate::ticket::{Status, Ticket, Trigger, transition};
use crate::time::Timestamp;

/// A ticket merge that cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Both sides are the same ticket.
    #[error("a ticket cannot be merged into itself")]
    SameTicket,
    /// One side was merged before; a merged ticket is final.
    #[error("ticket {ticket} was already merged into ticket {into}")]
    AlreadyMerged {
        /// The ticket that was merged before.
        ticket: TicketId,
        /// Where it went.
        into: TicketId,
    },
    /// One side is closed; closed tickets are final.
    #[error("ticket {ticket} is closed; closed tickets cannot be merged")]
    Closed {
        /// The closed ticket.
        ticket: TicketId,
    },
    /// The tickets belong to different customers. Merging them would show
    /// one person's conversation to another; if they are the same person,
    /// merge the customers first.
    #[error(
        "tickets {merged} and {survivor} belong to different customers; if they are the same person, merge the customers first"
    )]
    DifferentCustomers {
        /// The ticket to merge.
        merged: TicketId,
        /// The ticket to merge into.
        survivor: TicketId,
    },
}

/// Merges `merged` into `survivor`: the merged ticket records `merged_into`
/// and closes; the survivor records `merged_from`, and reopens if it was
/// solved while the merged request still needed work. Returns the decisions
/// for `(merged, survivor)`.
pub fn merge_tickets(
    merged: &Ticket,
    survivor: &Ticket,
    actor: Actor,
    now: Timestamp,
) -> Result<(Decision, Decision), MergeError> {
    if merged.id == survivor.id {
        return Err(MergeError::SameTicket);
    }
    for ticket in [merged, survivor] {
        if let Some(into) = ticket.merged_into {
            return Err(MergeError::AlreadyMerged { ticket: ticket.id, into });
        }
    }
    for ticket in [merged, survivor] {
        if ticket.status == Status::Closed {
            return Err(MergeError::Closed { ticket: ticket.id });
        }
    }
    if merged.customer != survivor.customer {
        return Err(MergeError::DifferentCustomers { merged: merged.id, survivor: survivor.id });
    }
    let mut merged_changes = vec![Change::MergedInto { ticket: survivor.id }];
    if let Ok(Some(to)) = transition(merged.status, Status::Closed, Trigger::Merged) {
        merged_changes.push(Change::StatusChanged { from: merged.status, to });
    }
    let mut survivor_changes = vec![Change::MergedFrom { ticket: merged.id }];
    if merged.status.is_unsolved()
        && survivor.status == Status::Solved
        && let Ok(Some(to)) = transition(survivor.status, Status::Open, Trigger::AgentSets)
    {
        survivor_changes.push(Change::StatusChanged { from: survivor.status, to });
    }
    Ok((decide(merged, merged_changes, actor, now), decide(survivor, survivor_changes, actor, now)))
}

/// The public notice that tells the customer where their request went.
pub fn merge_notice_text(merged: TicketId, survivor: TicketId) -> String {
    format!("Your request #{merged} has been merged into #{survivor}; we will answer you here.")
}

/// A customer merge that cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerMergeError {
    /// Both sides are the same customer.
    #[error("a customer cannot be merged into themselves")]
    SameCustomer,
    /// One side was merged before.
    #[error("customer {customer} was already merged into customer {into}")]
    AlreadyMerged {
        /// The customer merged before.
        customer: CustomerId,
        /// Where they went.
        into: CustomerId,
    },
    /// One side's personal data was erased; an erased record joins no one.
    #[error("customer {customer} was erased; erased customers cannot be merged")]
    Erased {
        /// The erased customer.
        customer: CustomerId,
    },
}

/// Checks that `source` may be merged into `target` (their identities and
/// tickets move to `target`, and `source` points at `target` from then on).
pub fn check_customer_merge(source: &Customer, target: &Customer) -> Result<(), CustomerMergeError> {
    if source.id == target.id {
        return Err(CustomerMergeError::SameCustomer);
    }
    for customer in [source, target] {
        if let Some(into) = customer.merged_into {
            return Err(CustomerMergeError::AlreadyMerged { customer: customer.id, into });
        }
    }
    for customer in [source, target] {
        if customer.erased_at.is_some() {
            return Err(CustomerMergeError::Erased { customer: customer.id });
        }
    }
    Ok(())
}

/// Moves a ticket to customer `to` (whose effective tier is `tier`): a
/// `customer_changed` event, and the priority the matrix gives the new tier
/// unless an override is in force. No change when the ticket is theirs already.
pub fn move_to_customer(
    ticket: &Ticket,
    to: CustomerId,
    tier: &Tier,
    matrix: &PriorityMatrix,
    actor: Actor,
    now: Timestamp,
) -> Decision {
    if ticket.customer == to {
        return decide(ticket, Vec::new(), actor, now);
    }
    let mut changes = vec![Change::CustomerChanged { from: ticket.customer, to }];
    let derived = matrix.priority(tier, ticket.urgency);
    if ticket.priority_reason.is_none() && derived != ticket.priority {
        changes.push(Change::PriorityChanged { from: ticket.priority, to: derived, reason: None });
    }
    decide(ticket, changes, actor, now)
}

/// What the store has prepared for a split: the new ticket's number, the
/// number of the message's copy, and the customer's tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitTicket {
    /// The new ticket's number.
    pub id: TicketId,
    /// The id of the copy of the message on the new ticket.
    pub copy: MessageId,
    /// The new ticket's subject; `None` keeps the original's.
    pub subject: Option<String>,
    /// The customer's effective tier (for the new ticket's priority).
    pub tier: Tier,
}

/// The two sides of a split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The original ticket, with a `split_to` event.
    pub original: Decision,
    /// The new ticket: created linked to the original, with a `split_from`
    /// event and the copy of the message as its first message.
    pub new: Decision,
}

/// A split that cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// Only what the customer wrote can start a ticket.
    #[error("only the customer's messages can be split out into a new ticket")]
    NotFromCustomer,
    /// The new ticket cannot be opened (blank or long subject).
    #[error(transparent)]
    Open(#[from] OpenError),
}

/// Checks that `message` may start a ticket of its own, under `subject` when
/// one is given. The store asks before numbering the new ticket, so a
/// refused split uses up no ticket number.
pub fn check_split(message: &Message, subject: Option<&str>) -> Result<(), SplitError> {
    if message.kind != MessageKind::Inbound {
        return Err(SplitError::NotFromCustomer);
    }
    if let Some(subject) = subject {
        parse_subject(subject)?;
    }
    Ok(())
}

/// Splits `message` out of `original` into a new ticket for the same
/// customer, in the same team, with the same urgency and tags, linked to the
/// original. The original keeps its message and records where it went.
pub fn split(
    original: &Ticket,
    message: &Message,
    new: SplitTicket,
    matrix: &PriorityMatrix,
    actor: Actor,
    now: Timestamp,
) -> Result<Split, SplitError> {
    check_split(message, new.subject.as_deref())?;
    let request = NewTicket {
        subject: new.subject.unwrap_or_else(|| original.subject.clone()),
        channel: message.channel,
        customer: original.customer,
        tier: new.tier,
        urgency: original.urgency,
        team: original.team,
        tags: original.tags.clone(),
        linked_to: Some(original.id),
    };
    let mut opened = open(new.id, request, matrix, actor, now)?;
    for change in [
        Change::SplitFrom { ticket: original.id, message: message.id },
        Change::MessageAdded { message: new.copy, kind: MessageKind::Inbound },
    ] {
        opened.events.push(Event { ticket: new.id, version: opened.ticket.version, actor, at: now, change });
    }
    let original = decide(original, vec![Change::SplitTo { ticket: new.id, message: message.id }], actor, now);
    Ok(Split { original, new: opened })
}

#[cfg(test)]
mod tests;
