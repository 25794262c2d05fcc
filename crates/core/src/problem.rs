//! Problems (major incidents): many customers' tickets linked to one problem
//! ticket, updated and solved together.
//!
//! Links are one level deep: a problem is not itself linked to another
//! problem, and a ticket with tickets linked to it is a problem, so it is not
//! linked under another. That keeps "who is affected" a single lookup, and an
//! update reaches each customer once ([`recipients`]).

use std::collections::HashMap;

use crate::ids::{CustomerId, TicketId};
use crate::ticket::{Status, Ticket};

/// Why a ticket cannot be linked to a problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The ticket is the problem itself.
    #[error("ticket {0} is the problem itself")]
    ItsOwnProblem(TicketId),
    /// The would-be problem is linked to another problem.
    #[error("ticket {problem} is linked to problem {parent}; link tickets to that problem instead")]
    ProblemIsLinked {
        /// The would-be problem.
        problem: TicketId,
        /// The problem it is linked to.
        parent: TicketId,
    },
    /// The ticket is a problem with tickets of its own.
    #[error("ticket {0} is a problem with linked tickets; problems are not nested")]
    TicketIsProblem(TicketId),
    /// The ticket (or the problem) is closed.
    #[error("ticket {0} is closed")]
    Closed(TicketId),
    /// The ticket (or the problem) was merged into another.
    #[error("ticket {ticket} was merged into ticket {into}")]
    Merged {
        /// The merged ticket.
        ticket: TicketId,
        /// The ticket that survived.
        into: TicketId,
    },
}

/// A ticket as a link sees it: the ticket, the problem it is linked to and
/// whether tickets are linked to it.
#[derive(Debug, Clone, Copy)]
pub struct LinkFacts<'a> {
    /// The ticket.
    pub ticket: &'a Ticket,
    /// The problem it is linked to, if any.
    pub problem: Option<TicketId>,
    /// True when other tickets are linked to it.
    pub has_linked: bool,
}

/// Checks that `problem` can be a problem ticket: live and not linked itself.
pub fn check_problem(problem: LinkFacts<'_>) -> Result<(), LinkError> {
    check_live(problem.ticket)?;
    if let Some(parent) = problem.problem {
        return Err(LinkError::ProblemIsLinked { problem: problem.ticket.id, parent });
    }
    Ok(())
}

/// Checks that `ticket` can be linked to `problem` (already checked with [`check_problem`]).
pub fn check_link(problem: &Ticket, ticket: LinkFacts<'_>) -> Result<(), LinkError> {
    if ticket.ticket.id == problem.id {
        return Err(LinkError::ItsOwnProblem(problem.id));
    }
    check_live(ticket.ticket)?;
    if ticket.has_linked {
        return Err(LinkError::TicketIsProblem(ticket.ticket.id));
    }
    Ok(())
}

fn check_live(ticket: &Ticket) -> Result<(), LinkError> {
    if let Some(into) = ticket.merged_into {
        return Err(LinkError::Merged { ticket: ticket.id, into });
    }
    if ticket.status == Status::Closed {
        return Err(LinkError::Closed(ticket.id));
    }
    Ok(())
}

/// The tickets that carry a problem's update: one per customer, their most
/// recent live linked ticket (closed and merged tickets take no messages),
/// in ticket order.
pub fn recipients(linked: &[Ticket]) -> Vec<&Ticket> {
    let mut latest: HashMap<CustomerId, &Ticket> = HashMap::new();
    for ticket in linked.iter().filter(|ticket| ticket.status != Status::Closed && ticket.merged_into.is_none()) {
        let entry = latest.entry(ticket.customer).or_insert(ticket);
        if (ticket.created_at, ticket.id) > (entry.created_at, entry.id) {
            *entry = ticket;
        }
    }
    let mut chosen: Vec<&Ticket> = latest.into_values().collect();
    chosen.sort_by_key(|ticket| ticket.id);
    chosen
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::priority::Level;
    use crate::ticket::Channel;
    use crate::time::Timestamp;

    fn ticket(id: i64, customer: i64, created: i64, status: Status) -> Ticket {
        Ticket {
            id: TicketId(id),
            subject: format!("Ticket {id}"),
            status,
            urgency: Level::Normal,
            priority: Level::Normal,
            priority_reason: None,
            channel: Channel::Email,
            customer: CustomerId(customer),
            team: None,
            owner: None,
            tags: vec![],
            linked_to: None,
            merged_into: None,
            version: 1,
            created_at: Timestamp(created),
            updated_at: Timestamp(created),
            solved_at: None,
        }
    }

    fn facts(ticket: &Ticket, problem: Option<i64>, has_linked: bool) -> LinkFacts<'_> {
        LinkFacts { ticket, problem: problem.map(TicketId), has_linked }
    }

    #[test]
    fn each_customer_gets_the_update_on_their_latest_live_ticket() {
        let linked = vec![
            ticket(2, 1, 10, Status::Open),
            ticket(3, 2, 20, Status::New),
            ticket(4, 1, 30, Status::Pending),
            ticket(5, 3, 40, Status::Closed),
            ticket(6, 2, 5, Status::Solved),
        ];
        let chosen: Vec<i64> = recipients(&linked).into_iter().map(|ticket| ticket.id.0).collect();
        assert_eq!(chosen, vec![3, 4]);
        assert!(recipients(&[]).is_empty());
    }

    #[test]
    fn links_are_one_level_deep_and_live() {
        let problem = ticket(1, 9, 0, Status::Open);
        let other = ticket(2, 1, 0, Status::New);
        assert_eq!(check_problem(facts(&problem, None, true)), Ok(()));
        assert_eq!(
            check_problem(facts(&problem, Some(8), false)),
            Err(LinkError::ProblemIsLinked { problem: TicketId(1), parent: TicketId(8) })
        );
        assert_eq!(check_link(&problem, facts(&other, None, false)), Ok(()));
        assert_eq!(check_link(&problem, facts(&other, Some(5), false)), Ok(()), "relinking moves the ticket");
        assert_eq!(check_link(&problem, facts(&problem, None, true)), Err(LinkError::ItsOwnProblem(TicketId(1))));
        assert_eq!(check_link(&problem, facts(&other, None, true)), Err(LinkError::TicketIsProblem(TicketId(2))));
        let closed = ticket(3, 1, 0, Status::Closed);
        assert_eq!(check_link(&problem, facts(&closed, None, false)), Err(LinkError::Closed(TicketId(3))));
        let mut merged = ticket(4, 1, 0, Status::Open);
        merged.merged_into = Some(TicketId(2));
        assert_eq!(
            check_link(&problem, facts(&merged, None, false)),
            Err(LinkError::Merged { ticket: TicketId(4), into: TicketId(2) })
        );
        assert_eq!(check_problem(facts(&closed, None, false)), Err(LinkError::Closed(TicketId(3))));
    }

    #[test]
    fn linking_and_solving_go_through_the_event_log() {
        use crate::event::{Actor, Change, link_problem, replay, solve};
        let other = ticket(2, 1, 0, Status::Pending);
        let linked = link_problem(&other, None, Some(TicketId(1)), Actor::System, Timestamp(5));
        assert_eq!(linked.events[0].change, Change::ProblemLinked { problem: Some(TicketId(1)) });
        assert_eq!(linked.ticket.version, 2);
        assert!(
            link_problem(&other, Some(TicketId(1)), Some(TicketId(1)), Actor::System, Timestamp(5)).events.is_empty()
        );
        let solved = solve(&linked.ticket, Actor::System, Timestamp(6)).unwrap();
        assert_eq!((solved.ticket.status, solved.ticket.solved_at), (Status::Solved, Some(Timestamp(6))));
        assert!(solve(&solved.ticket, Actor::System, Timestamp(7)).unwrap().events.is_empty());
        assert!(solve(&ticket(3, 1, 0, Status::Closed), Actor::System, Timestamp(7)).is_err());
        let created = crate::event::Event {
            ticket: TicketId(2),
            version: 1,
            actor: Actor::System,
            at: Timestamp(0),
            change: Change::Created {
                subject: "Ticket 2".into(),
                status: Status::New,
                urgency: Level::Normal,
                priority: Level::Normal,
                channel: Channel::Email,
                customer: CustomerId(1),
                team: None,
                tags: vec![],
                linked_to: None,
            },
        };
        let mut log = vec![created];
        log.extend(link_problem(&replay(&log).unwrap(), None, Some(TicketId(1)), Actor::System, Timestamp(5)).events);
        let rebuilt = replay(&log).unwrap();
        assert_eq!((rebuilt.version, rebuilt.status), (2, Status::New));
        let json = serde_json::to_value(&log[1].change).unwrap();
        assert_eq!(json, serde_json::json!({"type": "problem_linked", "problem": 1}));
    }
}
