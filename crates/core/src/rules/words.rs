//! Which event words an entry of the event log stands for, so that rules
//! with an event trigger can be matched against the log.

use crate::event::{Actor, Change};
use crate::message::MessageKind;
use crate::ticket::Status;

/// The event words (see [`EVENT_WORDS`](super::EVENT_WORDS)) that one change
/// by `actor` stands for; most stand for one, a status change for up to two
/// (`status_changed` and `solved` or `reopened`).
pub fn event_words(change: &Change, actor: Actor) -> Vec<&'static str> {
    match change {
        Change::Created { .. } => vec!["created"],
        Change::MessageAdded { kind: MessageKind::Inbound, .. } if matches!(actor, Actor::Customer(_)) => {
            vec!["customer_replied"]
        }
        Change::MessageAdded { kind: MessageKind::Reply, .. } => match actor {
            Actor::Agent(_) => vec!["agent_replied"],
            Actor::System => vec!["update_sent"],
            Actor::Customer(_) => vec![],
        },
        Change::StatusChanged { from, to } => {
            let mut words = vec!["status_changed"];
            if *to == Status::Solved {
                words.push("solved");
            }
            if matches!(from, Status::Solved | Status::Closed) && to.is_unsolved() {
                words.push("reopened");
            }
            words
        }
        Change::PriorityChanged { .. } => vec!["priority_changed"],
        Change::TeamChanged { .. } => vec!["team_changed"],
        Change::OwnerChanged { .. } => vec!["owner_changed"],
        Change::TagsChanged { .. } => vec!["tags_changed"],
        Change::EscalationChanged { .. } => vec!["escalated"],
        _ => vec![],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ids::{AgentId, CustomerId, MessageId};
    use crate::rules::EVENT_WORDS;

    #[test]
    fn changes_map_to_known_event_words() {
        let customer = Actor::Customer(CustomerId(1));
        let agent = Actor::Agent(AgentId(2));
        let message = |kind| Change::MessageAdded { message: MessageId(1), kind };
        let cases: Vec<(Change, Actor, Vec<&str>)> = vec![
            (message(MessageKind::Inbound), customer, vec!["customer_replied"]),
            (message(MessageKind::Reply), agent, vec!["agent_replied"]),
            (message(MessageKind::Reply), Actor::System, vec!["update_sent"]),
            (message(MessageKind::Note), agent, vec![]),
            (Change::StatusChanged { from: Status::Open, to: Status::Solved }, agent, vec!["status_changed", "solved"]),
            (
                Change::StatusChanged { from: Status::Solved, to: Status::Open },
                customer,
                vec!["status_changed", "reopened"],
            ),
            (Change::StatusChanged { from: Status::New, to: Status::Pending }, agent, vec!["status_changed"]),
            (Change::EscalationChanged { from: 1, to: 2 }, Actor::System, vec!["escalated"]),
        ];
        for (change, actor, expected) in cases {
            let words = event_words(&change, actor);
            assert_eq!(words, expected, "{change:?}");
            assert!(words.iter().all(|word| EVENT_WORDS.contains(word)));
        }
    }
}
