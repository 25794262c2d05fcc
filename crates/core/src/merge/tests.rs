use super::*;
use crate::event::{add_message, replay};
use crate::ids::{AgentId, TeamId};
use crate::message::Author;
use crate::priority::Level;
use crate::ticket::Channel;

const AGENT: Actor = Actor::Agent(AgentId(7));

fn opened(id: i64, customer: i64) -> Decision {
    let new = NewTicket {
        subject: format!("Ticket {id}"),
        channel: Channel::Email,
        customer: CustomerId(customer),
        tier: Tier::basic(),
        urgency: Level::Normal,
        team: Some(TeamId(1)),
        tags: vec!["billing".into()],
        linked_to: None,
    };
    open(TicketId(id), new, &PriorityMatrix::default(), Actor::System, Timestamp(1000)).unwrap()
}

fn ticket(id: i64, customer: i64, status: Status) -> Ticket {
    Ticket { status, ..opened(id, customer).ticket }
}

fn inbound(id: i64, ticket: i64, kind: MessageKind) -> Message {
    Message {
        id: MessageId(id),
        ticket: TicketId(ticket),
        kind,
        author: Author::Customer(CustomerId(3)),
        channel: Channel::Web,
        text: "Also, my invoice is wrong".into(),
        html: None,
        attachments: vec![],
        external_id: None,
        delivery: None,
        route: None,
        created_at: Timestamp(1500),
    }
}

#[test]
fn merging_closes_the_merged_ticket_and_marks_both() {
    let merged = ticket(1, 3, Status::Open);
    let survivor = ticket(2, 3, Status::Pending);
    let (gone, kept) = merge_tickets(&merged, &survivor, AGENT, Timestamp(5000)).unwrap();
    assert_eq!(gone.ticket.status, Status::Closed);
    assert_eq!(gone.ticket.merged_into, Some(TicketId(2)));
    assert_eq!(gone.ticket.version, 2);
    let kinds: Vec<&str> = gone.events.iter().map(|event| event.change.kind()).collect();
    assert_eq!(kinds, ["merged_into", "status_changed"]);
    assert_eq!(kept.ticket.status, Status::Pending, "the survivor's status stays");
    assert_eq!(kept.events.len(), 1);
    assert_eq!(kept.events[0].change, Change::MergedFrom { ticket: TicketId(1) });
    assert!(kept.events.iter().chain(&gone.events).all(|event| event.actor == AGENT && event.at == Timestamp(5000)));
}

#[test]
fn a_solved_survivor_reopens_for_an_unsolved_request_only() {
    let survivor = ticket(2, 3, Status::Solved);
    let (_, kept) = merge_tickets(&ticket(1, 3, Status::New), &survivor, AGENT, Timestamp(5)).unwrap();
    assert_eq!(kept.ticket.status, Status::Open);
    let (_, kept) = merge_tickets(&ticket(1, 3, Status::Solved), &survivor, AGENT, Timestamp(5)).unwrap();
    assert_eq!(kept.ticket.status, Status::Solved);
}

#[test]
fn merges_are_refused_for_the_business_reasons() {
    let check = |merged: Ticket, survivor: Ticket, expected: MergeError| {
        assert_eq!(merge_tickets(&merged, &survivor, AGENT, Timestamp(5)).map(|_| ()), Err(expected));
    };
    check(ticket(1, 3, Status::Open), ticket(1, 3, Status::Open), MergeError::SameTicket);
    let gone = Ticket { merged_into: Some(TicketId(9)), ..ticket(1, 3, Status::Closed) };
    let already = MergeError::AlreadyMerged { ticket: TicketId(1), into: TicketId(9) };
    check(gone.clone(), ticket(2, 3, Status::Open), already.clone());
    check(ticket(2, 3, Status::Open), gone, already);
    check(ticket(1, 3, Status::Closed), ticket(2, 3, Status::Open), MergeError::Closed { ticket: TicketId(1) });
    check(ticket(1, 3, Status::Open), ticket(2, 3, Status::Closed), MergeError::Closed { ticket: TicketId(2) });
    check(
        ticket(1, 3, Status::Open),
        ticket(2, 4, Status::Open),
        MergeError::DifferentCustomers { merged: TicketId(1), survivor: TicketId(2) },
    );
}

#[test]
fn a_merged_ticket_takes_notes_only_and_points_to_the_survivor() {
    let (gone, _) =
        merge_tickets(&ticket(1, 3, Status::Open), &ticket(2, 3, Status::Open), AGENT, Timestamp(5)).unwrap();
    for kind in [MessageKind::Inbound, MessageKind::Reply] {
        assert_eq!(
            add_message(&gone.ticket, MessageId(9), kind, Author::Agent(AgentId(7)), Timestamp(6)),
            Err(crate::event::MessageError::Merged { into: TicketId(2) })
        );
    }
    assert!(
        add_message(&gone.ticket, MessageId(9), MessageKind::Note, Author::Agent(AgentId(7)), Timestamp(6)).is_ok()
    );
}

#[test]
fn moving_to_another_customer_follows_the_new_tier_unless_overridden() {
    let matrix = PriorityMatrix::default();
    let premium = Tier("premium".into());
    let before = ticket(1, 3, Status::Open);
    let moved = move_to_customer(&before, CustomerId(4), &premium, &matrix, AGENT, Timestamp(5));
    assert_eq!(moved.ticket.customer, CustomerId(4));
    assert_eq!(moved.ticket.priority, matrix.priority(&premium, Level::Normal));
    assert_eq!(moved.events[0].change, Change::CustomerChanged { from: CustomerId(3), to: CustomerId(4) });
    assert_eq!(moved.events[1].change.kind(), "priority_changed");

    let overridden = Ticket { priority: Level::Low, priority_reason: Some("duplicate".into()), ..before.clone() };
    let moved = move_to_customer(&overridden, CustomerId(4), &premium, &matrix, AGENT, Timestamp(5));
    assert_eq!(moved.ticket.priority, Level::Low);
    assert_eq!(moved.events.len(), 1);

    let same = move_to_customer(&before, CustomerId(3), &premium, &matrix, AGENT, Timestamp(5));
    assert!(same.events.is_empty());
    assert_eq!(same.ticket, before);
}

#[test]
fn customer_merges_are_checked() {
    let customer = |id: i64| Customer {
        id: CustomerId(id),
        name: "Ann".into(),
        organization: None,
        tier: None,
        identities: vec![],
        verified: vec![],
        added_by_agent: vec![],
        erased_at: None,
        merged_into: None,
        created_at: Timestamp(0),
    };
    assert_eq!(check_customer_merge(&customer(1), &customer(2)), Ok(()));
    assert_eq!(check_customer_merge(&customer(1), &customer(1)), Err(CustomerMergeError::SameCustomer));
    let merged = Customer { merged_into: Some(CustomerId(5)), ..customer(2) };
    assert_eq!(
        check_customer_merge(&customer(1), &merged),
        Err(CustomerMergeError::AlreadyMerged { customer: CustomerId(2), into: CustomerId(5) })
    );
    let erased = Customer { erased_at: Some(Timestamp(1)), ..customer(1) };
    assert_eq!(
        check_customer_merge(&erased, &customer(2)),
        Err(CustomerMergeError::Erased { customer: CustomerId(1) })
    );
}

#[test]
fn a_split_opens_a_linked_ticket_with_the_copy_and_marks_the_original() {
    let original = ticket(1, 3, Status::Open);
    let message = inbound(10, 1, MessageKind::Inbound);
    let new = SplitTicket { id: TicketId(5), copy: MessageId(11), subject: None, tier: Tier::basic() };
    let split = split(&original, &message, new, &PriorityMatrix::default(), AGENT, Timestamp(9000)).unwrap();
    let ticket = &split.new.ticket;
    assert_eq!((ticket.id, ticket.customer, ticket.linked_to), (TicketId(5), CustomerId(3), Some(TicketId(1))));
    assert_eq!((ticket.subject.as_str(), ticket.channel, ticket.team), ("Ticket 1", Channel::Web, Some(TeamId(1))));
    assert_eq!(ticket.status, Status::New);
    let changes: Vec<&Change> = split.new.events.iter().map(|event| &event.change).collect();
    assert_eq!(changes[0].kind(), "created");
    assert_eq!(changes[1], &Change::SplitFrom { ticket: TicketId(1), message: MessageId(10) });
    assert_eq!(changes[2], &Change::MessageAdded { message: MessageId(11), kind: MessageKind::Inbound });
    assert!(split.new.events.iter().all(|event| event.version == 1));
    assert_eq!(replay(&split.new.events).unwrap(), *ticket);
    assert_eq!(split.original.events[0].change, Change::SplitTo { ticket: TicketId(5), message: MessageId(10) });
    assert_eq!(split.original.ticket.status, Status::Open);
}

#[test]
fn only_customer_messages_split_and_subjects_are_checked() {
    let original = ticket(1, 3, Status::Open);
    let new = |subject: Option<&str>| SplitTicket {
        id: TicketId(5),
        copy: MessageId(11),
        subject: subject.map(str::to_owned),
        tier: Tier::basic(),
    };
    let matrix = PriorityMatrix::default();
    for kind in [MessageKind::Reply, MessageKind::Note] {
        let message = inbound(10, 1, kind);
        assert_eq!(
            split(&original, &message, new(None), &matrix, AGENT, Timestamp(1)),
            Err(SplitError::NotFromCustomer)
        );
    }
    let message = inbound(10, 1, MessageKind::Inbound);
    assert_eq!(check_split(&message, None), Ok(()));
    assert_eq!(check_split(&inbound(10, 1, MessageKind::Note), None), Err(SplitError::NotFromCustomer));
    assert_eq!(check_split(&message, Some(&"x".repeat(501))), Err(SplitError::Open(OpenError::LongSubject)));
    assert_eq!(
        split(&original, &message, new(Some("  ")), &matrix, AGENT, Timestamp(1)),
        Err(SplitError::Open(OpenError::EmptySubject))
    );
    let named = split(&original, &message, new(Some(" Wrong invoice ")), &matrix, AGENT, Timestamp(1)).unwrap();
    assert_eq!(named.new.ticket.subject, "Wrong invoice");
}
