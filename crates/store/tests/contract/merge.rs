//! Merging tickets, merging customers, splitting a message out.

use rapport_core::intake::{InboundMessage, RateLimit, ThreadHints};
use rapport_core::merge::{CustomerMergeError, MergeError, SplitError};
use rapport_core::outbox::{Automatic, DeliveryState};
use rapport_core::{Actor, Author, Change, Channel, Event, Identity, MessageKind, Role, Status, TicketId, Timestamp};
use rapport_store::{FileInbound, Filed, NewMessage, Rejection, Store, StoreError};

use crate::harness::*;

fn email(from: &str, id: &str, subject: &str, now: Timestamp) -> InboundMessage {
    InboundMessage {
        channel: Channel::Email,
        sender: Identity::email(from).unwrap(),
        sender_name: Some("Ann Example".into()),
        external_id: Some(id.to_owned()),
        thread: ThreadHints::default(),
        subject: subject.to_owned(),
        text: format!("text of {id}"),
        original_text: None,
        html: None,
        attachments: vec![],
        followers: vec![],
        team: None,
        automatic: false,
        received_at: now,
    }
}

fn filing(message: InboundMessage, ack: Option<&str>) -> FileInbound {
    FileInbound {
        raw: format!("raw {:?}", message.external_id).into_bytes(),
        message,
        acknowledgment: ack.map(str::to_owned),
        rate_limit: RateLimit::default(),
    }
}

async fn file(store: &Store, message: InboundMessage, ack: Option<&str>) -> TicketId {
    match store.file_inbound(filing(message, ack)).await.unwrap() {
        Filed::Opened { ticket, .. } | Filed::Added { ticket, .. } => ticket,
        other => panic!("expected the message on a ticket, got {other:?}"),
    }
}

/// The stored row is exactly what its events replay to.
async fn assert_replays(store: &Store, ticket: TicketId) {
    let events = store.list_events(ticket).await.unwrap();
    assert_eq!(rapport_core::replay(&events).unwrap(), store.get_ticket(ticket, None).await.unwrap());
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|event| event.change.kind()).collect()
}

#[tokio::test]
async fn merging_tickets_keeps_both_logs_and_reads_as_one_conversation() {
    let store = fresh_store().await;
    let admin = agent(&store, "admin@us.example", Role::Admin, vec![]).await;
    let mut first = email("ann@example.com", "m1@x", "Printer", at(0));
    first.followers = vec![Identity::email("boss@example.com").unwrap()];
    let merged = file(&store, first, Some("ack1@us")).await;
    let survivor = file(&store, email("ann@example.com", "m2@x", "Printer again", at(10)), Some("ack2@us")).await;
    let mut reply = email("ann@example.com", "m3@x", "Re: Printer", at(20));
    reply.thread.references = vec!["ack1@us".into()];
    assert_eq!(file(&store, reply, None).await, merged);
    // The acknowledgments are out of the way: only the notice will be queued.
    for item in store.claim_outbox(at(21), 60_000, 10).await.unwrap() {
        store.finish_outbox(item.id, rapport_store::SendOutcome::Sent, at(21)).await.unwrap();
    }
    let merged_before = store.list_events(merged).await.unwrap();
    let survivor_before = store.list_events(survivor).await.unwrap();

    let detail = store.merge_tickets(merged, survivor, admin.clone(), "notice@us".into(), at(30)).await.unwrap();
    assert_eq!(detail.ticket.id, survivor);
    let texts: Vec<&str> = detail.messages.iter().map(|message| message.text.as_str()).collect();
    assert_eq!(texts.len(), 6, "{texts:?}");
    assert_eq!(texts[0], "text of m1@x");
    assert_eq!(texts[2], "text of m2@x");
    assert_eq!(texts[4], "text of m3@x");
    let order: Vec<(i64, i64)> = detail.messages.iter().map(|message| (message.created_at.0, message.id.0)).collect();
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "by time, then id: {order:?}");
    let notice = detail.messages.last().unwrap();
    assert_eq!(
        notice.text,
        format!("Your request #{merged} has been merged into #{survivor}; we will answer you here.")
    );
    assert_eq!((notice.kind, notice.author, notice.ticket), (MessageKind::Reply, Author::System, survivor));
    assert_eq!(notice.delivery, Some(DeliveryState::Queued));
    assert_eq!(notice.external_id.as_deref(), Some("notice@us"));

    // Neither log is rewritten; each gains its events.
    let merged_after = store.list_events(merged).await.unwrap();
    assert_eq!(merged_after[..merged_before.len()], merged_before[..]);
    assert_eq!(kinds(&merged_after[merged_before.len()..]), ["merged_into", "status_changed"]);
    assert_eq!(merged_after[merged_before.len()].change, Change::MergedInto { ticket: survivor });
    let survivor_after = &detail.events;
    assert_eq!(survivor_after[..survivor_before.len()], survivor_before[..]);
    assert_eq!(kinds(&survivor_after[survivor_before.len()..]), ["merged_from", "message_added"]);
    assert_replays(&store, merged).await;
    assert_replays(&store, survivor).await;

    let gone = store.get_ticket_detail(merged, None).await.unwrap();
    assert_eq!((gone.ticket.status, gone.ticket.merged_into), (Status::Closed, Some(survivor)));
    assert_eq!(gone.messages.len(), 3, "the merged ticket reads as it was");

    // The customer is told on the merged request's thread, everyone on it included.
    let queued = store.claim_outbox(at(31), 60_000, 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    let item = &queued[0];
    assert_eq!((item.external_id.as_str(), item.ticket, item.message), ("notice@us", Some(survivor), Some(notice.id)));
    assert_eq!(item.payload.automatic, Some(Automatic::AutoGenerated));
    assert_eq!(item.payload.subject, format!("Re: Printer again [#{survivor}]"));
    assert_eq!(item.payload.in_reply_to.as_deref(), Some("m3@x"));
    assert_eq!(item.payload.to[0].identity.value, "ann@example.com");
    assert_eq!(item.payload.cc[0].identity.value, "boss@example.com");

    // A reply on the merged thread lands on the survivor, from a follower too.
    let mut late = email("boss@example.com", "m4@x", "Re: Printer", at(40));
    late.thread.references = vec!["m1@x".into()];
    assert_eq!(file(&store, late, None).await, survivor);
    let reply = NewMessage {
        kind: MessageKind::Reply,
        author: Author::Agent(admin.agent),
        text: "too late".into(),
        html: None,
        attachments: vec![],
        origin: Default::default(),
        now: at(50),
    };
    let refused = store.add_message(merged, Some(admin), reply).await.unwrap_err();
    assert!(matches!(refused, StoreError::Rejected(Rejection::Message(_))), "{refused:?}");
}

#[tokio::test]
async fn ticket_merges_are_refused_for_business_reasons_and_hidden_tickets() {
    let store = fresh_store().await;
    let admin = agent(&store, "admin@us.example", Role::Admin, vec![]).await;
    let team = store.insert_team("Billing".into(), String::new(), T0).await.unwrap().id;
    let other_team = store.insert_team("Hardware".into(), String::new(), T0).await.unwrap().id;
    let worker = agent(&store, "worker@us.example", Role::Agent, vec![team]).await;
    let one = store.create_ticket(request("One", "ann@example.com")).await.unwrap().ticket.id;
    let two = store.create_ticket(request("Two", "ann@example.com")).await.unwrap().ticket.id;
    let stranger = store.create_ticket(request("Three", "bob@example.com")).await.unwrap().ticket.id;
    let mut hidden = request("Hidden", "ann@example.com");
    hidden.team = Some(other_team);
    let hidden = store.create_ticket(hidden).await.unwrap().ticket.id;
    let patch = rapport_core::event::TicketPatch {
        owner: Some(Some(admin.agent)),
        team: Some(Some(other_team)),
        ..Default::default()
    };
    store.patch_ticket(hidden, admin.clone(), patch, None, at(1)).await.unwrap();

    let merge = |merged: TicketId, survivor: TicketId, viewer: rapport_core::Viewer| {
        let store = store.clone();
        async move { store.merge_tickets(merged, survivor, viewer, format!("n{merged}-{survivor}@us"), at(5)).await }
    };
    let refusal = |result: Result<rapport_store::TicketDetail, StoreError>| match result {
        Err(StoreError::Rejected(Rejection::Merge(error))) => error,
        other => panic!("expected a merge refusal, got {other:?}"),
    };
    assert_eq!(refusal(merge(one, one, admin.clone()).await), MergeError::SameTicket);
    assert_eq!(
        refusal(merge(one, stranger, admin.clone()).await),
        MergeError::DifferentCustomers { merged: one, survivor: stranger }
    );
    assert!(matches!(merge(one, hidden, worker.clone()).await, Err(StoreError::NotFound("ticket to merge into"))));
    assert!(matches!(merge(hidden, one, worker.clone()).await, Err(StoreError::NotFound("ticket"))));
    assert!(matches!(
        merge(one, TicketId(999), admin.clone()).await,
        Err(StoreError::NotFound("ticket to merge into"))
    ));

    merge(one, two, worker.clone()).await.unwrap();
    assert_eq!(refusal(merge(one, hidden, admin.clone()).await), MergeError::AlreadyMerged { ticket: one, into: two });
    assert_eq!(refusal(merge(hidden, one, admin.clone()).await), MergeError::AlreadyMerged { ticket: one, into: two });
    let close = |status| rapport_core::event::TicketPatch { status: Some(status), ..Default::default() };
    store.patch_ticket(hidden, admin.clone(), close(Status::Solved), None, at(6)).await.unwrap();
    store.patch_ticket(hidden, admin.clone(), close(Status::Closed), None, at(7)).await.unwrap();
    assert_eq!(refusal(merge(two, hidden, admin.clone()).await), MergeError::Closed { ticket: hidden });
    // Nothing was written by the refusals.
    assert_eq!(
        kinds(&store.list_events(two).await.unwrap()),
        ["created", "message_added", "merged_from", "message_added"]
    );
    assert_replays(&store, two).await;
}

#[tokio::test]
async fn a_merged_survivor_shows_the_whole_chain() {
    let store = fresh_store().await;
    let admin = agent(&store, "admin@us.example", Role::Admin, vec![]).await;
    let mut tickets = Vec::new();
    for (index, subject) in ["A", "B", "C"].into_iter().enumerate() {
        let mut create = request(subject, "ann@example.com");
        create.now = at(index as i64);
        tickets.push(store.create_ticket(create).await.unwrap().ticket.id);
    }
    store.merge_tickets(tickets[0], tickets[1], admin.clone(), "n1@us".into(), at(10)).await.unwrap();
    let detail = store.merge_tickets(tickets[1], tickets[2], admin, "n2@us".into(), at(20)).await.unwrap();
    let texts: Vec<&str> = detail.messages.iter().map(|message| message.text.as_str()).collect();
    assert_eq!(texts[..3], ["Body of A", "Body of B", "Body of C"]);
    assert_eq!(texts.len(), 5, "three requests and two notices: {texts:?}");
}

#[tokio::test]
async fn merging_customers_moves_identities_and_tickets_and_explains_itself() {
    let store = fresh_store().await;
    let admin = agent(&store, "admin@us.example", Role::Admin, vec![]).await;
    let actor = Actor::Agent(admin.agent);
    let home = store.create_ticket(request("Home", "ann@home.example")).await.unwrap().ticket;
    let work = store.create_ticket(request("Work", "ann@work.example")).await.unwrap().ticket;
    let mut phone = request("Phone", "ann@work.example");
    phone.customer.identities.push(Identity::phone("+44 7700 900123").unwrap());
    let phone = store.create_ticket(phone).await.unwrap().ticket;
    let (target, source) = (home.customer, work.customer);
    assert_ne!(target, source);

    let merged = store.merge_customers(source, target, actor, at(10)).await.unwrap();
    assert_eq!(merged.id, target);
    let values: Vec<&str> = merged.identities.iter().map(|identity| identity.value.as_str()).collect();
    assert_eq!(values, ["ann@home.example", "ann@work.example", "+447700900123"]);
    let gone = store.get_customer(source).await.unwrap();
    assert_eq!(gone.merged_into, Some(target));
    assert!(gone.identities.is_empty());
    for ticket in [work.id, phone.id] {
        let detail = store.get_ticket_detail(ticket, None).await.unwrap();
        assert_eq!(detail.ticket.customer, target);
        let last = detail.events.last().unwrap();
        assert_eq!(last.change, Change::CustomerChanged { from: source, to: target });
        assert_eq!(last.actor, actor);
        assert_eq!(detail.messages[0].author, Author::Customer(target), "their messages are theirs under the survivor");
        assert_replays(&store, ticket).await;
    }
    assert_eq!(
        store.find_customer_by_identity(&Identity::email("ann@work.example").unwrap()).await.unwrap().unwrap().id,
        target
    );

    let records = store.list_customer_merges(source).await.unwrap();
    assert_eq!(records, store.list_customer_merges(target).await.unwrap());
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!((record.source, record.target, record.actor, record.at), (source, target, actor, at(10)));
    assert_eq!(record.tickets, vec![work.id, phone.id]);
    let moved: Vec<&str> = record.identities.iter().map(|identity| identity.value.as_str()).collect();
    assert_eq!(moved, ["ann@work.example", "+447700900123"]);

    // The same person's tickets can now be merged.
    store.merge_tickets(work.id, home.id, admin.clone(), "n@us".into(), at(20)).await.unwrap();

    let refusal = |result: Result<rapport_core::Customer, StoreError>| match result {
        Err(StoreError::Rejected(Rejection::CustomerMerge(error))) => error,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(refusal(store.merge_customers(target, target, actor, at(30)).await), CustomerMergeError::SameCustomer);
    assert_eq!(
        refusal(store.merge_customers(source, target, actor, at(30)).await),
        CustomerMergeError::AlreadyMerged { customer: source, into: target }
    );
    let missing = store.merge_customers(target, rapport_core::CustomerId(999), actor, at(30)).await;
    assert!(matches!(missing, Err(StoreError::NotFound("customer to merge into"))), "{missing:?}");
    assert!(matches!(store.list_customer_merges(rapport_core::CustomerId(999)).await, Err(StoreError::NotFound(_))));

    // Erasure reaches the addresses kept in the merge record.
    store.erase_customer(target, actor, at(40)).await.unwrap();
    let records = store.list_customer_merges(source).await.unwrap();
    assert!(records[0].identities.iter().all(|identity| identity.value == "[redacted]"), "{records:?}");
    let erased = store.get_ticket_detail(work.id, None).await.unwrap();
    assert_eq!(erased.messages[0].text, "[redacted]", "a moved message is erased with its author");
    let refused = store.merge_customers(source, target, actor, at(50)).await;
    assert!(matches!(refused, Err(StoreError::Rejected(Rejection::CustomerMerge(_)))));
}

#[tokio::test]
async fn splitting_copies_a_customer_message_into_a_linked_ticket() {
    let store = fresh_store().await;
    let team = store.insert_team("Billing".into(), String::new(), T0).await.unwrap().id;
    let admin = agent(&store, "admin@us.example", Role::Admin, vec![]).await;
    let outsider = agent(&store, "out@us.example", Role::Agent, vec![]).await;
    let mut create = request("Printer", "ann@example.com");
    create.team = Some(team);
    create.tags = vec!["hardware".into()];
    let original = store.create_ticket(create).await.unwrap().ticket;
    let inbound = NewMessage {
        kind: MessageKind::Inbound,
        author: Author::Customer(original.customer),
        text: "PS: my invoice is wrong".into(),
        html: None,
        attachments: vec![rapport_store::NewAttachment {
            filename: "invoice.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF".to_vec(),
        }],
        origin: Default::default(),
        now: at(5),
    };
    let (_, message) = store.add_message(original.id, None, inbound).await.unwrap();
    let before = store.list_events(original.id).await.unwrap();

    let new = store
        .split_message(original.id, message.id, Some("Wrong invoice".into()), admin.clone(), at(10))
        .await
        .unwrap();
    assert_eq!(
        (new.subject.as_str(), new.customer, new.linked_to),
        ("Wrong invoice", original.customer, Some(original.id))
    );
    assert_eq!((new.team, new.tags.clone(), new.status), (Some(team), vec!["hardware".to_owned()], Status::New));
    let detail = store.get_ticket_detail(new.id, None).await.unwrap();
    assert_eq!(kinds(&detail.events), ["created", "split_from", "message_added"]);
    assert_eq!(detail.events[1].change, Change::SplitFrom { ticket: original.id, message: message.id });
    assert_eq!(detail.messages.len(), 1);
    let copy = &detail.messages[0];
    assert_ne!(copy.id, message.id);
    assert_eq!((copy.text.as_str(), copy.author, copy.created_at), (message.text.as_str(), message.author, at(5)));
    assert_eq!(copy.attachments, message.attachments);
    assert_replays(&store, new.id).await;

    let kept = store.get_ticket_detail(original.id, None).await.unwrap();
    assert!(kept.messages.iter().any(|kept| kept.id == message.id), "the original keeps its message");
    assert_eq!(kept.events[..before.len()], before[..]);
    assert_eq!(kept.events.last().unwrap().change, Change::SplitTo { ticket: new.id, message: message.id });
    assert_replays(&store, original.id).await;

    let note = NewMessage {
        kind: MessageKind::Note,
        author: Author::Agent(admin.agent),
        text: "internal".into(),
        html: None,
        attachments: vec![],
        origin: Default::default(),
        now: at(20),
    };
    let (_, note) = store.add_message(original.id, None, note).await.unwrap();
    let refused = store.split_message(original.id, note.id, None, admin.clone(), at(21)).await.unwrap_err();
    assert!(matches!(refused, StoreError::Rejected(Rejection::Split(SplitError::NotFromCustomer))), "{refused:?}");
    let elsewhere = store.create_ticket(request("Other", "ann@example.com")).await.unwrap().ticket;
    assert_eq!(elsewhere.id.0, new.id.0 + 1, "a refused split uses up no ticket number");
    let first = store.get_ticket_detail(elsewhere.id, None).await.unwrap().messages[0].id;
    let wrong = store.split_message(original.id, first, None, admin.clone(), at(22)).await.unwrap_err();
    assert!(matches!(wrong, StoreError::NotFound("message")), "{wrong:?}");
    let owned = rapport_core::event::TicketPatch { owner: Some(Some(admin.agent)), ..Default::default() };
    store.patch_ticket(original.id, admin.clone(), owned, None, at(23)).await.unwrap();
    let hidden = store.split_message(original.id, message.id, None, outsider, at(24)).await.unwrap_err();
    assert!(matches!(hidden, StoreError::NotFound("ticket")), "{hidden:?}");

    // A message of a ticket merged into this one can be split from the survivor.
    store.merge_tickets(elsewhere.id, original.id, admin.clone(), "n@us".into(), at(30)).await.unwrap();
    let from_merged = store.split_message(original.id, first, None, admin, at(31)).await.unwrap();
    assert_eq!(from_merged.subject, "Printer", "the subject defaults to the ticket split from");
    let events = store.list_events(elsewhere.id).await.unwrap();
    assert_eq!(events.last().unwrap().change.kind(), "status_changed", "the merged ticket's log is left alone");
}
