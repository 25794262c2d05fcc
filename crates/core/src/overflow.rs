//! Overflow: when a team's queue backs up, its new tickets also go to a
//! named overflow team.
//!
//! A team is backed up when its oldest waiting ticket (new or open, nobody
//! owns it) has waited longer than the team's threshold. The decision is
//! taken once per new ticket, as of the ticket's creation, so replaying the
//! routing later gives the same answer whatever happened to the queue since.

use crate::event::Automation;
use crate::ids::TeamId;
use crate::ticket::{Status, Ticket};
use crate::time::{SECOND, Timestamp};

/// The tag an overflowed ticket gets, so agents of both teams can tell why it is there.
pub const OVERFLOW_TAG: &str = "overflow";

/// A team's overflow setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow {
    /// Where the team's new tickets go when its queue is backed up.
    pub team: TeamId,
    /// How long the oldest waiting ticket may wait, in seconds (positive).
    pub after_seconds: i64,
}

/// True when the oldest waiting ticket (waiting since `oldest_waiting_since`,
/// `None` when nothing waits) has waited longer than `after_seconds` at `now`.
/// A threshold that is not positive never overflows: it is not a setting.
pub fn overflows(oldest_waiting_since: Option<Timestamp>, after_seconds: i64, now: Timestamp) -> bool {
    after_seconds > 0
        && oldest_waiting_since.is_some_and(|since| since.plus_millis(after_seconds.saturating_mul(SECOND)) < now)
}

/// True when the ticket waits for an agent: new or open, owned by nobody,
/// not merged into another ticket.
pub fn is_waiting(ticket: &Ticket) -> bool {
    matches!(ticket.status, Status::New | Status::Open) && ticket.owner.is_none() && ticket.merged_into.is_none()
}

/// What routing a new ticket to the overflow team changes: the team, and the
/// [`OVERFLOW_TAG`]. `None` when the ticket no longer belongs to `from` or no
/// longer waits (an agent took it, someone moved it): then it is left alone.
pub fn route(ticket: &Ticket, from: TeamId, overflow: Overflow) -> Option<Automation> {
    if ticket.team != Some(from) || !is_waiting(ticket) || overflow.team == from {
        return None;
    }
    Some(Automation { team: Some(overflow.team), add_tags: vec![OVERFLOW_TAG.to_owned()], ..Automation::default() })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ids::{AgentId, CustomerId, TicketId};
    use crate::priority::Level;
    use crate::ticket::Channel;

    fn check(oldest: Option<i64>, after_seconds: i64, now: i64, expected: bool) {
        let oldest = oldest.map(|seconds| Timestamp(seconds * SECOND));
        assert_eq!(
            overflows(oldest, after_seconds, Timestamp(now * SECOND)),
            expected,
            "oldest {oldest:?}, after {after_seconds}s, now {now}s"
        );
    }

    #[test]
    fn a_queue_overflows_once_its_oldest_ticket_waited_past_the_threshold() {
        check(None, 60, 1_000, false);
        check(Some(100), 60, 159, false);
        check(Some(100), 60, 160, false);
        check(Some(100), 60, 161, true);
        check(Some(100), 0, 1_000, false);
        check(Some(100), -5, 1_000, false);
        check(Some(100), i64::MAX, 1_000, false);
    }

    fn ticket(status: Status, team: Option<TeamId>, owner: Option<AgentId>) -> Ticket {
        Ticket {
            id: TicketId(7),
            subject: "Down".into(),
            status,
            urgency: Level::Normal,
            priority: Level::Normal,
            priority_reason: None,
            channel: Channel::Email,
            customer: CustomerId(1),
            team,
            owner,
            tags: vec!["billing".into()],
            linked_to: None,
            merged_into: None,
            version: 1,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            solved_at: None,
        }
    }

    #[test]
    fn only_waiting_tickets_of_the_team_are_routed() {
        let overflow = Overflow { team: TeamId(2), after_seconds: 60 };
        let waiting = ticket(Status::New, Some(TeamId(1)), None);
        let automation = route(&waiting, TeamId(1), overflow).unwrap();
        assert_eq!((automation.team, automation.add_tags), (Some(TeamId(2)), vec!["overflow".to_owned()]));
        assert!(route(&ticket(Status::Open, Some(TeamId(1)), Some(AgentId(3))), TeamId(1), overflow).is_none());
        assert!(route(&ticket(Status::Pending, Some(TeamId(1)), None), TeamId(1), overflow).is_none());
        assert!(route(&ticket(Status::New, Some(TeamId(5)), None), TeamId(1), overflow).is_none());
        assert!(route(&waiting, TeamId(2), overflow).is_none());
        let mut merged = waiting.clone();
        merged.merged_into = Some(TicketId(1));
        assert!(!is_waiting(&merged));
    }

    #[test]
    fn routing_moves_and_tags_through_the_event_log() {
        let waiting = ticket(Status::New, Some(TeamId(1)), None);
        let automation = route(&waiting, TeamId(1), Overflow { team: TeamId(2), after_seconds: 60 }).unwrap();
        let decision = crate::event::automate(&waiting, automation, Timestamp(5));
        assert_eq!(decision.ticket.team, Some(TeamId(2)));
        assert_eq!(decision.ticket.tags, vec!["billing".to_owned(), "overflow".to_owned()]);
        assert_eq!(decision.events.len(), 2);
        assert!(decision.events.iter().all(|event| event.actor == crate::event::Actor::System));
    }
}
