use super::*;
use crate::access::Role;
use crate::merge::{SplitTicket, merge_tickets, move_to_customer, split};
use crate::message::Message;
use proptest::prelude::*;

fn new_ticket(tier: &str, urgency: Level) -> NewTicket {
    NewTicket {
        subject: "Printer on fire".into(),
        channel: Channel::Email,
        customer: CustomerId(3),
        tier: Tier(tier.into()),
        urgency,
        team: Some(TeamId(1)),
        tags: vec!["hardware".into()],
        linked_to: None,
    }
}

fn viewer(role: Role) -> Viewer {
    Viewer { agent: AgentId(7), role, teams: vec![TeamId(1)] }
}

fn opened() -> Decision {
    open(TicketId(42), new_ticket("premium", Level::Normal), &PriorityMatrix::default(), Actor::System, Timestamp(1000))
        .unwrap()
}

#[test]
fn open_derives_priority_and_starts_at_version_one() {
    let decision = opened();
    assert_eq!(decision.ticket.priority, Level::High);
    assert_eq!(decision.ticket.status, Status::New);
    assert_eq!(decision.ticket.version, 1);
    assert_eq!(decision.events.len(), 1);
    let blank = open(
        TicketId(1),
        NewTicket { subject: "  ".into(), ..new_ticket("basic", Level::Low) },
        &PriorityMatrix::default(),
        Actor::System,
        Timestamp(0),
    );
    assert_eq!(blank, Err(OpenError::EmptySubject));
}

#[test]
fn agent_reply_opens_and_customer_reply_reopens() {
    let ticket = opened().ticket;
    let replied =
        add_message(&ticket, MessageId(1), MessageKind::Reply, Author::Agent(AgentId(7)), Timestamp(2000)).unwrap();
    assert_eq!(replied.ticket.status, Status::Open);
    assert_eq!(replied.ticket.version, 2);
    assert!(replied.events.iter().all(|event| event.version == 2));
    let pending = patch(
        &replied.ticket,
        TicketPatch { status: Some(Status::Pending), ..Default::default() },
        &viewer(Role::Agent),
        &Tier::basic(),
        &PriorityMatrix::default(),
        Timestamp(3000),
    )
    .unwrap();
    let answered = add_message(
        &pending.ticket,
        MessageId(2),
        MessageKind::Inbound,
        Author::Customer(CustomerId(3)),
        Timestamp(4000),
    )
    .unwrap();
    assert_eq!(answered.ticket.status, Status::Open);
}

#[test]
fn notes_do_not_change_status() {
    let ticket = opened().ticket;
    let noted =
        add_message(&ticket, MessageId(1), MessageKind::Note, Author::Agent(AgentId(7)), Timestamp(2000)).unwrap();
    assert_eq!(noted.ticket.status, Status::New);
    assert_eq!(noted.ticket.version, 2);
}

#[test]
fn agent_may_not_override_priority_or_assign_others() {
    let ticket = opened().ticket;
    let tier = Tier("premium".into());
    let matrix = PriorityMatrix::default();
    let override_priority = TicketPatch { priority: Some((Level::Urgent, "VIP".into())), ..Default::default() };
    assert_eq!(
        patch(&ticket, override_priority.clone(), &viewer(Role::Agent), &tier, &matrix, Timestamp(5)),
        Err(PatchError::Forbidden { field: "priority" })
    );
    let done = patch(&ticket, override_priority, &viewer(Role::Supervisor), &tier, &matrix, Timestamp(5)).unwrap();
    assert_eq!(done.ticket.priority_reason.as_deref(), Some("VIP"));
    let assign_other = TicketPatch { owner: Some(Some(AgentId(99))), ..Default::default() };
    assert_eq!(
        patch(&ticket, assign_other, &viewer(Role::Agent), &tier, &matrix, Timestamp(5)),
        Err(PatchError::Forbidden { field: "owner" })
    );
    let take = TicketPatch { owner: Some(Some(AgentId(7))), ..Default::default() };
    assert!(patch(&ticket, take, &viewer(Role::Agent), &tier, &matrix, Timestamp(5)).is_ok());
}

#[test]
fn urgency_recomputes_priority_unless_overridden() {
    let matrix = PriorityMatrix::default();
    let tier = Tier("premium".into());
    let ticket = opened().ticket;
    let raised = patch(
        &ticket,
        TicketPatch { urgency: Some(Level::High), ..Default::default() },
        &viewer(Role::Agent),
        &tier,
        &matrix,
        Timestamp(5),
    )
    .unwrap();
    assert_eq!(raised.ticket.priority, Level::Urgent);
    let overridden = patch(
        &ticket,
        TicketPatch { priority: Some((Level::Low, "duplicate".into())), ..Default::default() },
        &viewer(Role::Admin),
        &tier,
        &matrix,
        Timestamp(5),
    )
    .unwrap();
    let raised = patch(
        &overridden.ticket,
        TicketPatch { urgency: Some(Level::Urgent), ..Default::default() },
        &viewer(Role::Agent),
        &tier,
        &matrix,
        Timestamp(6),
    )
    .unwrap();
    assert_eq!(raised.ticket.priority, Level::Low);
}

#[test]
fn empty_patch_changes_nothing() {
    let ticket = opened().ticket;
    let same = patch(
        &ticket,
        TicketPatch::default(),
        &viewer(Role::Agent),
        &Tier::basic(),
        &PriorityMatrix::default(),
        Timestamp(9),
    )
    .unwrap();
    assert!(same.events.is_empty());
    assert_eq!(same.ticket, ticket);
}

#[test]
fn closed_tickets_take_notes_only() {
    let mut ticket = opened().ticket;
    ticket.status = Status::Closed;
    assert_eq!(
        add_message(&ticket, MessageId(1), MessageKind::Reply, Author::Agent(AgentId(1)), Timestamp(1)),
        Err(MessageError::Closed)
    );
    assert!(add_message(&ticket, MessageId(1), MessageKind::Note, Author::Agent(AgentId(1)), Timestamp(1)).is_ok());
}

#[test]
fn replay_rejects_logs_that_do_not_follow() {
    let mut events = opened().events;
    assert_eq!(replay(&[]), Err(ReplayError::Empty));
    events.push(Event {
        ticket: TicketId(42),
        version: 2,
        actor: Actor::System,
        at: Timestamp(5),
        change: Change::StatusChanged { from: Status::Open, to: Status::Solved },
    });
    assert!(matches!(replay(&events), Err(ReplayError::Mismatch { index: 1, .. })));
    let created_twice = vec![events[0].clone(), events[0].clone()];
    assert!(matches!(replay(&created_twice), Err(ReplayError::OutOfPlace { index: 1 })));
}

#[test]
fn automation_changes_only_what_differs() {
    let ticket = opened().ticket;
    let automation = Automation {
        priority: Some((Level::Urgent, "rule “Breach”".into())),
        team: Some(TeamId(2)),
        add_tags: vec!["Escalated".into(), "hardware".into(), "bad tag".into()],
        escalation: Some((0, 1)),
    };
    let decision = automate(&ticket, automation, Timestamp(2000));
    let changes: Vec<Change> = decision.events.iter().map(|event| event.change.clone()).collect();
    assert_eq!(
        changes,
        vec![
            Change::PriorityChanged { from: Level::High, to: Level::Urgent, reason: Some("rule “Breach”".into()) },
            Change::TeamChanged { from: Some(TeamId(1)), to: Some(TeamId(2)) },
            Change::TagsChanged { from: vec!["hardware".into()], to: vec!["escalated".into(), "hardware".into()] },
            Change::EscalationChanged { from: 0, to: 1 },
        ]
    );
    assert!(decision.events.iter().all(|event| event.actor == Actor::System && event.version == 2));
    assert_eq!(decision.ticket.priority_reason.as_deref(), Some("rule “Breach”"));
    let mut log = opened().events;
    log.extend(decision.events.clone());
    assert_eq!(replay(&log).unwrap(), decision.ticket);
}

#[test]
fn automation_that_changes_nothing_has_no_events() {
    let ticket = opened().ticket;
    let same = Automation {
        priority: Some((ticket.priority, "rule “Same”".into())),
        team: ticket.team,
        add_tags: vec!["HARDWARE".into(), "not,a,tag".into()],
        escalation: Some((2, 2)),
    };
    let decision = automate(&ticket, same, Timestamp(2000));
    assert_eq!(decision, Decision { ticket: ticket.clone(), events: vec![] });
    assert_eq!(automate(&ticket, Automation::default(), Timestamp(2000)).events, vec![]);
}

#[test]
fn escalation_changes_replay_as_no_ops_apart_from_the_version() {
    let first = opened();
    let mut log = first.events;
    log.push(Event {
        ticket: TicketId(42),
        version: 2,
        actor: Actor::System,
        at: Timestamp(3000),
        change: Change::EscalationChanged { from: 0, to: 3 },
    });
    let replayed = replay(&log).unwrap();
    assert_eq!(replayed, Ticket { version: 2, updated_at: Timestamp(3000), ..first.ticket });
    assert_eq!(log[1].change.kind(), "escalation_changed");
    let json = serde_json::to_value(&log[1].change).unwrap();
    assert_eq!(json, serde_json::json!({"type": "escalation_changed", "from": 0, "to": 3}));
}

/// One step a random history can take.
#[derive(Debug, Clone)]
enum Step {
    Patch(TicketPatch, Role),
    Message(MessageKind),
    AutoClose,
    /// Merge this ticket into another of the same customer, in this status.
    MergeAway(Status),
    /// Merge another ticket of the same customer, in this status, into this one.
    Absorb(Status),
    /// Move the ticket to this customer (a customer merge).
    Move(i64),
    /// Split a customer message of this ticket out into a new ticket.
    Split,
    /// An escalation rule's changes.
    Automate(Automation),
}

fn level() -> impl Strategy<Value = Level> {
    (0usize..4).prop_map(|i| Level::ALL[i])
}

fn step() -> impl Strategy<Value = Step> {
    let status = (0usize..6).prop_map(|i| Status::ALL[i]);
    let role = prop_oneof![Just(Role::Agent), Just(Role::Supervisor), Just(Role::Admin)];
    let patch = (
        proptest::option::of(status),
        proptest::option::of(level()),
        proptest::option::of((level(), "[a-z]{0,6}")),
        proptest::option::of(proptest::option::of((6i64..9).prop_map(AgentId))),
        proptest::option::of(proptest::option::of((1i64..3).prop_map(TeamId))),
        proptest::option::of(proptest::collection::vec("[a-c]{1,2}", 0..3)),
    )
        .prop_map(|(status, urgency, priority, owner, team, tags)| TicketPatch {
            status,
            urgency,
            priority,
            owner,
            team,
            tags,
        });
    let automation = (
        proptest::option::of((level(), "[a-z]{1,6}")),
        proptest::option::of((1i64..3).prop_map(TeamId)),
        proptest::collection::vec("[a-c ]{0,2}", 0..3),
        proptest::option::of((0u8..4, 0u8..4)),
    )
        .prop_map(|(priority, team, add_tags, escalation)| Automation { priority, team, add_tags, escalation });
    prop_oneof![
        4 => (patch, role).prop_map(|(patch, role)| Step::Patch(patch, role)),
        2 => prop_oneof![Just(MessageKind::Inbound), Just(MessageKind::Reply), Just(MessageKind::Note)].prop_map(Step::Message),
        1 => Just(Step::AutoClose),
        1 => (0usize..6).prop_map(|i| Step::MergeAway(Status::ALL[i])),
        1 => (0usize..6).prop_map(|i| Step::Absorb(Status::ALL[i])),
        1 => (3i64..6).prop_map(Step::Move),
        1 => Just(Step::Split),
        1 => automation.prop_map(Step::Automate),
    ]
}

proptest! {
    /// Whatever sequence of decisions is taken, accepted or refused, replaying
    /// the accepted events rebuilds exactly the ticket the decisions produced,
    /// versions never go down, a closed ticket never changes status again, and
    /// a merged ticket stays merged into the same ticket.
    #[test]
    fn replay_rebuilds_every_history(steps in proptest::collection::vec(step(), 0..40)) {
        let matrix = PriorityMatrix::default();
        let tier = Tier("business".into());
        let first = opened();
        let mut ticket = first.ticket;
        let mut log = first.events;
        for (index, step) in steps.into_iter().enumerate() {
            let now = Timestamp(10_000 + index as i64);
            let before = ticket.clone();
            let decision = match step {
                Step::Patch(changes, role) => patch(&ticket, changes, &Viewer { role, ..viewer(role) }, &tier, &matrix, now).ok(),
                Step::Message(kind) => add_message(&ticket, MessageId(index as i64), kind, Author::Agent(AgentId(7)), now).ok(),
                Step::AutoClose => auto_close(&ticket, now).ok(),
                Step::MergeAway(status) => {
                    let other = Ticket { id: TicketId(1000 + index as i64), status, ..ticket.clone() };
                    let other = Ticket { merged_into: None, ..other };
                    merge_tickets(&ticket, &other, Actor::Agent(AgentId(7)), now).ok().map(|(merged, _)| merged)
                }
                Step::Absorb(status) => {
                    let other = Ticket { id: TicketId(1000 + index as i64), status, merged_into: None, ..ticket.clone() };
                    merge_tickets(&other, &ticket, Actor::Agent(AgentId(7)), now).ok().map(|(_, survivor)| survivor)
                }
                Step::Automate(automation) => Some(automate(&ticket, automation, now)),
                Step::Move(customer) => {
                    Some(move_to_customer(&ticket, CustomerId(customer), &tier, &matrix, Actor::System, now))
                }
                Step::Split => {
                    let message = Message {
                        id: MessageId(index as i64),
                        ticket: ticket.id,
                        kind: MessageKind::Inbound,
                        author: Author::Customer(ticket.customer),
                        channel: Channel::Email,
                        text: "one more thing".into(),
                        html: None,
                        attachments: vec![],
                        external_id: None,
                        delivery: None,
                        route: None,
                        created_at: now,
                    };
                    let new = SplitTicket { id: TicketId(2000 + index as i64), copy: MessageId(5000 + index as i64), subject: None, tier: tier.clone() };
                    let done = split(&ticket, &message, new, &matrix, Actor::Agent(AgentId(7)), now).ok();
                    if let Some(done) = &done {
                        prop_assert_eq!(replay(&done.new.events).unwrap(), done.new.ticket.clone());
                        prop_assert_eq!(done.new.ticket.linked_to, Some(ticket.id));
                    }
                    done.map(|done| done.original)
                }
            };
            if let Some(decision) = decision {
                prop_assert!(decision.ticket.version >= before.version);
                if before.status == Status::Closed {
                    prop_assert_eq!(decision.ticket.status, Status::Closed);
                }
                if before.merged_into.is_some() {
                    prop_assert_eq!(decision.ticket.merged_into, before.merged_into);
                }
                if decision.ticket.merged_into.is_some() {
                    prop_assert_eq!(decision.ticket.status, Status::Closed);
                }
                log.extend(decision.events);
                ticket = decision.ticket;
            }
            prop_assert_eq!(replay(&log).unwrap(), ticket.clone());
        }
    }
}
