//! From a ticket's event log to what the SLA clocks and the rules need: the
//! [`Happening`]s, the counters (reopens, transfers, messages), and since when
//! the ticket has been without an owner or pending.
//!
//! A response is a public reply by a person: a `reply` message whose actor is
//! an agent. Automatic acknowledgments (the system's replies) and internal
//! notes are not responses. A customer's message is an `inbound` message.

use jiff::Timestamp as Instant;

use super::Happening;
use crate::event::{Actor, Change, Event};
use crate::message::MessageKind;
use crate::ticket::Status;
use crate::time::Timestamp;

/// Counters over a ticket's life, for rule conditions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    /// Times a solved or closed ticket became unsolved again.
    pub reopens: i64,
    /// Times the ticket changed team, or went from one owner to another.
    pub transfers: i64,
    /// Public messages both ways (notes excluded).
    pub messages: i64,
    /// Messages from the customer.
    pub customer_messages: i64,
}

/// What the clocks and the rules need from one ticket's event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The happenings, in order, starting with `Created`.
    pub happenings: Vec<Happening>,
    /// Counters.
    pub counters: Counters,
    /// Since when the ticket has had no owner (`None` while it has one).
    pub unowned_since: Option<Timestamp>,
    /// Since when the ticket has been pending (`None` unless pending now).
    pub pending_since: Option<Timestamp>,
}

/// A core timestamp (milliseconds) as an instant for the clock.
pub fn instant(at: Timestamp) -> Instant {
    Instant::from_millisecond(at.0).unwrap_or(Instant::UNIX_EPOCH)
}

/// An instant of the clock back to a core timestamp (milliseconds).
pub fn timestamp(at: Instant) -> Timestamp {
    Timestamp(at.as_millisecond())
}

/// Reads `events` (one ticket's, in log order). `responses` are further
/// instants that count as a person's response, such as phone calls answered
/// by an agent. Returns `None` for a log without its `created` event.
pub fn timeline(events: &[Event], responses: &[Timestamp]) -> Option<Timeline> {
    let created = events.iter().find(|event| matches!(event.change, Change::Created { .. }))?;
    let mut happenings = vec![Happening::Created(instant(created.at))];
    let mut counters = Counters::default();
    let mut unowned_since = Some(created.at);
    let mut status = Status::New;
    let mut pending_since = None;
    let mut responses: Vec<Timestamp> = responses.iter().copied().filter(|at| *at >= created.at).collect();
    responses.sort();
    let mut responses = responses.into_iter().peekable();
    for event in events {
        while let Some(at) = responses.next_if(|at| *at <= event.at) {
            happenings.push(Happening::AgentReply(instant(at)));
        }
        let at = instant(event.at);
        match &event.change {
            Change::MessageAdded { kind: MessageKind::Inbound, .. } => {
                counters.messages += 1;
                counters.customer_messages += 1;
                if matches!(event.actor, Actor::Customer(_)) && event.at > created.at {
                    happenings.push(Happening::CustomerMessage(at));
                }
            }
            Change::MessageAdded { kind: MessageKind::Reply, .. } => {
                counters.messages += 1;
                if matches!(event.actor, Actor::Agent(_)) {
                    happenings.push(Happening::AgentReply(at));
                }
            }
            Change::StatusChanged { from, to } => {
                if matches!(from, Status::Solved | Status::Closed) && to.is_unsolved() {
                    counters.reopens += 1;
                }
                status = *to;
                pending_since = (*to == Status::Pending).then_some(event.at);
                happenings.push(Happening::Status(at, *to));
            }
            Change::TeamChanged { from: Some(_), .. } => counters.transfers += 1,
            Change::OwnerChanged { from, to } => {
                if from.is_some() && to.is_some() {
                    counters.transfers += 1;
                }
                unowned_since = if to.is_some() { None } else { Some(event.at) };
            }
            _ => {}
        }
    }
    happenings.extend(responses.map(|at| Happening::AgentReply(instant(at))));
    let pending_since = if status == Status::Pending { pending_since } else { None };
    // Happenings from one event batch share an instant; keep them in log order.
    happenings.sort_by_key(|happening| happening.at());
    Some(Timeline { happenings, counters, unowned_since, pending_since })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ids::{AgentId, CustomerId, MessageId, TeamId, TicketId};
    use crate::priority::Level;
    use crate::ticket::Channel;

    fn event(at: i64, actor: Actor, change: Change) -> Event {
        Event { ticket: TicketId(1), version: 1, actor, at: Timestamp(at), change }
    }

    fn created(at: i64) -> Event {
        event(
            at,
            Actor::Customer(CustomerId(1)),
            Change::Created {
                subject: "s".into(),
                status: Status::New,
                urgency: Level::Normal,
                priority: Level::Normal,
                channel: Channel::Email,
                customer: CustomerId(1),
                team: None,
                tags: vec![],
                linked_to: None,
            },
        )
    }

    fn message(at: i64, actor: Actor, kind: MessageKind) -> Event {
        event(at, actor, Change::MessageAdded { message: MessageId(at), kind })
    }

    #[test]
    fn only_a_persons_public_reply_is_a_response() {
        let customer = Actor::Customer(CustomerId(1));
        let agent = Actor::Agent(AgentId(2));
        let events = [
            created(0),
            message(0, customer, MessageKind::Inbound),
            message(1_000, Actor::System, MessageKind::Reply),
            message(2_000, agent, MessageKind::Note),
            message(3_000, agent, MessageKind::Reply),
            message(4_000, customer, MessageKind::Inbound),
        ];
        let timeline = timeline(&events, &[]).unwrap();
        assert_eq!(
            timeline.happenings,
            vec![
                Happening::Created(instant(Timestamp(0))),
                Happening::AgentReply(instant(Timestamp(3_000))),
                Happening::CustomerMessage(instant(Timestamp(4_000))),
            ]
        );
        assert_eq!(timeline.counters, Counters { reopens: 0, transfers: 0, messages: 4, customer_messages: 2 });
    }

    #[test]
    fn counters_owner_and_pending() {
        let agent = Actor::Agent(AgentId(2));
        let events = [
            created(0),
            event(10, agent, Change::OwnerChanged { from: None, to: Some(AgentId(2)) }),
            event(20, agent, Change::OwnerChanged { from: Some(AgentId(2)), to: Some(AgentId(3)) }),
            event(30, agent, Change::TeamChanged { from: Some(TeamId(1)), to: Some(TeamId(2)) }),
            event(40, agent, Change::StatusChanged { from: Status::New, to: Status::Solved }),
            event(50, agent, Change::StatusChanged { from: Status::Solved, to: Status::Open }),
            event(60, agent, Change::OwnerChanged { from: Some(AgentId(3)), to: None }),
            event(70, agent, Change::StatusChanged { from: Status::Open, to: Status::Pending }),
        ];
        let timeline = timeline(&events, &[]).unwrap();
        assert_eq!(timeline.counters.reopens, 1);
        assert_eq!(timeline.counters.transfers, 2);
        assert_eq!(timeline.unowned_since, Some(Timestamp(60)));
        assert_eq!(timeline.pending_since, Some(Timestamp(70)));
    }

    #[test]
    fn extra_responses_join_in_order_and_a_log_without_creation_has_none() {
        let events = [created(0), message(5_000, Actor::Customer(CustomerId(1)), MessageKind::Inbound)];
        let timeline = timeline(&events, &[Timestamp(2_000), Timestamp(9_000)]).unwrap();
        assert_eq!(
            timeline.happenings,
            vec![
                Happening::Created(instant(Timestamp(0))),
                Happening::AgentReply(instant(Timestamp(2_000))),
                Happening::CustomerMessage(instant(Timestamp(5_000))),
                Happening::AgentReply(instant(Timestamp(9_000))),
            ]
        );
        assert_eq!(super::timeline(&events[1..], &[]), None);
    }
}
