use std::collections::HashSet;

use rapport_core::event::TicketPatch;
use rapport_core::{Author, Channel, Identity, Level, MessageKind, Role, Status, TicketId, Tier};
use rapport_store::{Cursor, CustomerRef, NewAttachment, NewMessage, Rejection, StoreError, TicketFilter, TicketSort};

use crate::harness::*;

#[tokio::test]
async fn create_matches_customers_by_normalised_identity() {
    let store = fresh_store().await;
    let first = store.create_ticket(request("One", "Ann@Example.com")).await.unwrap();
    let second = store.create_ticket(request("Two", "ann@example.COM")).await.unwrap();
    assert_eq!(first.ticket.customer, second.ticket.customer);
    assert_eq!(second.ticket.id.0, first.ticket.id.0 + 1, "ticket numbers come from a sequence");

    let mut sms = request("Three", "x@example.com");
    sms.customer = CustomerRef { name: None, identities: vec![Identity::phone("+44 7700 900123").unwrap()] };
    let mut whatsapp = sms.clone();
    whatsapp.customer.identities = vec![Identity::phone("447700900123").unwrap()];
    let sms = store.create_ticket(sms).await.unwrap();
    let whatsapp = store.create_ticket(whatsapp).await.unwrap();
    assert_eq!(sms.ticket.customer, whatsapp.ticket.customer);
    assert_ne!(sms.ticket.customer, first.ticket.customer);
}

#[tokio::test]
async fn create_derives_priority_from_the_customers_tier() {
    let store = fresh_store().await;
    let organization = store
        .insert_organization("Northwind".into(), Tier("premium".into()), rapport_core::Actor::System, T0)
        .await
        .unwrap();
    let created = store.create_ticket(request("Premium", "p@example.com")).await.unwrap();
    assert_eq!(created.ticket.priority, Level::Low, "basic × normal");
    let changes = rapport_store::CustomerChanges { organization: Some(Some(organization.id)), ..Default::default() };
    store.update_customer(created.ticket.customer, changes).await.unwrap();
    let again = store.create_ticket(request("Premium again", "p@example.com")).await.unwrap();
    assert_eq!(again.ticket.priority, Level::High, "premium × normal");
}

#[tokio::test]
async fn idempotency_keys_replay_or_refuse() {
    let store = fresh_store().await;
    let viewer = agent(&store, "a@rapport.example", Role::Agent, vec![]).await;
    let mut keyed = request("Keyed", "k@example.com");
    keyed.idempotency = Some((viewer.agent, "key-1".into(), "hash-a".into()));
    let first = store.create_ticket(keyed.clone()).await.unwrap();
    let retry = store.create_ticket(keyed.clone()).await.unwrap();
    assert!(!first.replayed);
    assert!(retry.replayed);
    assert_eq!(first.ticket.id, retry.ticket.id);
    keyed.idempotency = Some((viewer.agent, "key-1".into(), "hash-b".into()));
    let reused = store.create_ticket(keyed).await.unwrap_err();
    assert!(matches!(reused, StoreError::Rejected(Rejection::KeyReused)), "{reused:?}");
    assert_eq!(store.count_tickets().await.unwrap(), 1);
}

#[tokio::test]
async fn a_failed_create_leaves_nothing_behind() {
    let store = fresh_store().await;
    let mut bad_team = request("Bad team", "bad@example.com");
    bad_team.team = Some(rapport_core::TeamId(999));
    let error = store.create_ticket(bad_team).await.unwrap_err();
    assert!(matches!(error, StoreError::MissingReference { field: "team" }), "{error:?}");
    let blank = store.create_ticket(request("   ", "blank@example.com")).await.unwrap_err();
    assert!(matches!(blank, StoreError::Rejected(Rejection::Open(_))), "{blank:?}");
    assert_eq!(store.count_tickets().await.unwrap(), 0);
    let identity = Identity::email("bad@example.com").unwrap();
    assert!(store.find_customer_by_identity(&identity).await.unwrap().is_none(), "the customer was rolled back too");
    let next = store.create_ticket(request("Good", "good@example.com")).await.unwrap();
    assert!(next.ticket.id.0 >= 1);
}

#[tokio::test]
async fn concurrent_creates_all_land_with_distinct_numbers() {
    let store = fresh_store().await;
    let mut tasks = Vec::new();
    for index in 0..200 {
        let store = store.store.clone();
        tasks.push(tokio::spawn(async move {
            store.create_ticket(request(&format!("Ticket {index}"), &format!("c{}@example.com", index % 20))).await
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap().unwrap().ticket.id);
    }
    assert_eq!(ids.len(), 200);
    assert_eq!(store.count_tickets().await.unwrap(), 200);
    let customers = store.list_customers(None, 100).await.unwrap();
    assert_eq!(customers.len(), 20, "concurrent creates for one address make one customer");
}

#[tokio::test]
async fn stale_versions_and_illegal_transitions_are_refused() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let created = store.create_ticket(request("Versioned", "v@example.com")).await.unwrap().ticket;
    let solve = TicketPatch { status: Some(Status::Solved), ..Default::default() };
    let solved = store.patch_ticket(created.id, supervisor.clone(), solve.clone(), Some(1), at(10)).await.unwrap();
    assert_eq!(solved.version, 2);
    let stale = store.patch_ticket(created.id, supervisor.clone(), solve, Some(1), at(11)).await.unwrap_err();
    assert!(matches!(stale, StoreError::Stale { expected: 1, current: 2 }), "{stale:?}");
    let pending = TicketPatch { status: Some(Status::Pending), ..Default::default() };
    let illegal = store.patch_ticket(created.id, supervisor, pending, None, at(12)).await.unwrap_err();
    assert!(matches!(illegal, StoreError::Rejected(Rejection::Patch(_))), "{illegal:?}");
    assert_eq!(store.get_ticket(created.id, None).await.unwrap(), solved, "a refused patch writes nothing");
}

#[tokio::test]
async fn messages_move_the_status_and_attachments_are_deduplicated() {
    let store = fresh_store().await;
    let owner = agent(&store, "o@rapport.example", Role::Agent, vec![]).await;
    let ticket = store.create_ticket(request("Messages", "m@example.com")).await.unwrap().ticket;
    let file = NewAttachment {
        filename: "log.txt".into(),
        content_type: "text/plain".into(),
        content: b"same bytes".to_vec(),
    };
    let reply = NewMessage {
        kind: MessageKind::Reply,
        author: Author::Agent(owner.agent),
        text: "We are on it".into(),
        html: None,
        attachments: vec![file.clone()],
        origin: Default::default(),
        now: at(60),
    };
    let (after_reply, message) = store.add_message(ticket.id, Some(owner.clone()), reply.clone()).await.unwrap();
    assert_eq!(after_reply.status, Status::Open);
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(message.channel, Channel::Email);
    let (_, again) =
        store.add_message(ticket.id, Some(owner.clone()), NewMessage { now: at(61), ..reply }).await.unwrap();
    assert_eq!(again.attachments[0].sha256, message.attachments[0].sha256);
    assert_eq!(store.get_attachment(message.attachments[0].sha256.clone()).await.unwrap(), b"same bytes");
    let detail = store.get_ticket_detail(ticket.id, None).await.unwrap();
    assert_eq!(detail.messages.len(), 3);
    assert_eq!(detail.messages[0].kind, MessageKind::Inbound);
    assert_eq!(detail.messages[1].attachments[0].filename, "log.txt");
}

#[tokio::test]
async fn agents_see_their_teams_unassigned_and_own_tickets() {
    let store = fresh_store().await;
    let billing = store.insert_team("Billing".into(), String::new(), T0).await.unwrap().id;
    let tech = store.insert_team("Tech".into(), String::new(), T0).await.unwrap().id;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let mine = agent(&store, "mine@rapport.example", Role::Agent, vec![billing]).await;
    let other = agent(&store, "other@rapport.example", Role::Agent, vec![tech]).await;
    let mut in_tech = request("Tech, owned", "t@example.com");
    in_tech.team = Some(tech);
    let owned_tech = store.create_ticket(in_tech.clone()).await.unwrap().ticket;
    let assign = TicketPatch { owner: Some(Some(other.agent)), ..Default::default() };
    store.patch_ticket(owned_tech.id, supervisor.clone(), assign, None, at(1)).await.unwrap();
    in_tech.subject = "Tech, unassigned".into();
    store.create_ticket(in_tech).await.unwrap();
    let mut in_billing = request("Billing", "b@example.com");
    in_billing.team = Some(billing);
    store.create_ticket(in_billing).await.unwrap();

    let filter = TicketFilter { limit: 50, ..Default::default() };
    let seen: Vec<String> =
        store.list_tickets(filter.clone(), &mine).await.unwrap().tickets.into_iter().map(|t| t.subject).collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(!seen.contains(&"Tech, owned".to_owned()));
    assert_eq!(store.list_tickets(filter, &supervisor).await.unwrap().tickets.len(), 3);
    let hidden = store.get_ticket(owned_tech.id, Some(&mine)).await.unwrap_err();
    assert!(matches!(hidden, StoreError::NotFound("ticket")));
    assert!(store.get_ticket(owned_tech.id, Some(&other)).await.is_ok());
}

#[tokio::test]
async fn keyset_pages_cover_every_ticket_once_in_order() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    for index in 0..37 {
        let mut ticket = request(&format!("Page {index}"), &format!("p{index}@example.com"));
        ticket.urgency = Level::ALL[index % 4];
        ticket.now = at(index as i64 % 5);
        ticket.tags = vec![if index % 2 == 0 { "even".into() } else { "odd".into() }];
        store.create_ticket(ticket).await.unwrap();
    }
    for sort in [TicketSort::Priority, TicketSort::CreatedAsc, TicketSort::CreatedDesc, TicketSort::UpdatedDesc] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let filter = TicketFilter { sort, limit: 5, cursor, ..Default::default() };
            let page = store.list_tickets(filter, &supervisor).await.unwrap();
            seen.extend(page.tickets);
            match page.next_cursor {
                Some(next) => cursor = Some(Cursor::parse(&next).unwrap()),
                None => break,
            }
        }
        let ids: HashSet<TicketId> = seen.iter().map(|t| t.id).collect();
        assert_eq!(ids.len(), 37, "{sort:?}: every ticket exactly once");
        assert_eq!(seen.len(), 37);
        if sort == TicketSort::Priority {
            assert!(seen.windows(2).all(|w| (w[0].priority, std::cmp::Reverse((w[0].created_at, w[0].id)))
                >= (w[1].priority, std::cmp::Reverse((w[1].created_at, w[1].id)))));
        }
    }
    let even = TicketFilter { tag: Some("even".into()), limit: 100, ..Default::default() };
    assert_eq!(store.list_tickets(even, &supervisor).await.unwrap().tickets.len(), 19);
    let urgent_new = TicketFilter { statuses: vec![Status::New, Status::Open], limit: 100, ..Default::default() };
    assert_eq!(store.list_tickets(urgent_new, &supervisor).await.unwrap().tickets.len(), 37);
    assert!(Cursor::parse("x.1.2").is_none());
    assert!(Cursor::parse("9.1.2").is_none());
}

#[tokio::test]
async fn lists_filter_by_the_customers_effective_tier() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let vip_org = store
        .insert_organization("Big Co".into(), Tier("premium".into()), rapport_core::Actor::System, at(0))
        .await
        .unwrap();
    let own = store.create_ticket(request("Own tier", "own@example.com")).await.unwrap().ticket;
    let by_org = store.create_ticket(request("Org tier", "org@example.com")).await.unwrap().ticket;
    let both = store.create_ticket(request("Own beats org", "both@example.com")).await.unwrap().ticket;
    let plain = store.create_ticket(request("No tier", "plain@example.com")).await.unwrap().ticket;
    let set = |tier: Option<&str>, organization: Option<rapport_core::OrganizationId>| rapport_store::CustomerChanges {
        tier: tier.map(|tier| Some(Tier(tier.to_owned()))),
        organization: organization.map(Some),
        ..Default::default()
    };
    store.update_customer(own.customer, set(Some("premium"), None)).await.unwrap();
    store.update_customer(by_org.customer, set(None, Some(vip_org.id))).await.unwrap();
    store.update_customer(both.customer, set(Some("basic"), Some(vip_org.id))).await.unwrap();
    let of_tier = |tier: &str| TicketFilter { tier: Some(tier.to_owned()), limit: 50, ..Default::default() };
    let ids = |page: rapport_store::Page| {
        let mut ids: Vec<TicketId> = page.tickets.iter().map(|ticket| ticket.id).collect();
        ids.sort();
        ids
    };
    let premium = ids(store.list_tickets(of_tier("premium"), &supervisor).await.unwrap());
    assert_eq!(premium, vec![own.id, by_org.id]);
    let basic = ids(store.list_tickets(of_tier("basic"), &supervisor).await.unwrap());
    assert_eq!(basic, vec![both.id, plain.id], "a customer's own tier wins; none at all is basic");
    assert_eq!(store.count_tickets_capped(&of_tier("premium"), &supervisor, 100).await.unwrap(), 2);
    let due_sorted = TicketFilter { sort: TicketSort::SlaDue, ..of_tier("premium") };
    assert_eq!(ids(store.list_tickets(due_sorted, &supervisor).await.unwrap()), vec![own.id, by_org.id]);
}

#[tokio::test]
async fn search_ranks_subject_matches_first_and_respects_visibility() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let mut body_only = request("Something else", "s1@example.com");
    body_only.body = "the invoice mentions a zephyrine surcharge once".into();
    let body_only = store.create_ticket(body_only).await.unwrap().ticket;
    let subject = store.create_ticket(request("Zephyrine invoice is wrong", "s2@example.com")).await.unwrap().ticket;
    store.create_ticket(request("Unrelated", "s3@example.com")).await.unwrap();
    let hits = store.search("zephyrine", &supervisor, 10).await.unwrap();
    let ids: Vec<TicketId> = hits.iter().map(|hit| hit.ticket.id).collect();
    assert_eq!(ids, vec![subject.id, body_only.id]);
    assert!(hits[0].rank >= hits[1].rank);
    assert_eq!(store.search("ZEPHYRINE invoice", &supervisor, 10).await.unwrap().len(), 2, "every word must match");
    assert!(store.search("\"* OR (", &supervisor, 10).await.unwrap().is_empty(), "syntax is not interpreted");
    let outsider = agent(&store, "x@rapport.example", Role::Agent, vec![]).await;
    let assign = TicketPatch { owner: Some(Some(supervisor.agent)), ..Default::default() };
    store.patch_ticket(subject.id, supervisor.clone(), assign, None, at(5)).await.unwrap();
    let visible = store.search("zephyrine", &outsider, 10).await.unwrap();
    assert_eq!(visible.iter().map(|hit| hit.ticket.id).collect::<Vec<_>>(), vec![body_only.id]);
}

#[tokio::test]
async fn solved_tickets_close_automatically_after_the_period() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let ticket = store.create_ticket(request("Auto", "auto@example.com")).await.unwrap().ticket;
    let solve = TicketPatch { status: Some(Status::Solved), ..Default::default() };
    store.patch_ticket(ticket.id, supervisor, solve, None, at(0)).await.unwrap();
    let four_days = 4 * rapport_core::time::DAY;
    assert_eq!(store.auto_close(four_days, at(3600)).await.unwrap(), 0);
    assert_eq!(store.auto_close(four_days, at(4 * 86_400)).await.unwrap(), 1);
    let closed = store.get_ticket(ticket.id, None).await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    let events = store.list_events(ticket.id).await.unwrap();
    assert_eq!(events.last().unwrap().actor, rapport_core::Actor::System);
}

#[tokio::test]
async fn a_failing_write_in_a_busy_batch_rolls_back_alone() {
    let store = fresh_store().await;
    let mut tasks = Vec::new();
    for index in 0..120 {
        let store = store.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ticket = request(&format!("Batch {index}"), &format!("batch{index}@example.com"));
            if index % 3 == 0 {
                ticket.team = Some(rapport_core::TeamId(4242));
            }
            (index, store.create_ticket(ticket).await)
        }));
    }
    let mut landed = Vec::new();
    for task in tasks {
        let (index, result) = task.await.unwrap();
        match result {
            Ok(created) => {
                assert_ne!(index % 3, 0);
                landed.push(created.ticket);
            }
            Err(error) => {
                assert_eq!(index % 3, 0, "{error:?}");
                assert!(matches!(error, StoreError::MissingReference { field: "team" }), "{error:?}");
            }
        }
    }
    assert_eq!(landed.len(), 80);
    assert_eq!(store.count_tickets().await.unwrap(), 80);
    for ticket in landed {
        let detail = store.get_ticket_detail(ticket.id, None).await.unwrap();
        assert_eq!(detail.ticket, ticket);
        assert_eq!(detail.messages.len(), 1);
        assert_eq!(rapport_core::replay(&detail.events).unwrap(), ticket);
    }
    assert_eq!(store.list_customers(None, 500).await.unwrap().len(), 80, "failed creates left no customer");
}

/// Walks every page of `filter` (with `limit` per page) and returns the ids in order.
async fn walk(store: &rapport_store::Store, filter: TicketFilter, viewer: &rapport_core::Viewer) -> Vec<TicketId> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_tickets(TicketFilter { cursor, ..filter.clone() }, viewer).await.unwrap();
        seen.extend(page.tickets.iter().map(|ticket| ticket.id));
        match page.next_cursor {
            Some(next) => cursor = Some(Cursor::parse(&next).unwrap()),
            None => return seen,
        }
        assert!(seen.len() < 100, "pages do not end");
    }
}

#[tokio::test]
async fn issue_14_sla_due_puts_the_next_due_first_breached_included_and_the_rest_last() {
    let store = fresh_store().await;
    store.install_default_policies(T0).await.unwrap();
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let open = |subject: &str, email: &str, channel: Channel| {
        let mut ticket = request(subject, email);
        ticket.channel = channel;
        ticket
    };
    // A chat is due in 60 s; measured two minutes later it is already
    // breached, and it still leads the queue.
    let late = store.create_ticket(open("Chat", "chat@example.com", Channel::Chat)).await.unwrap().ticket;
    let soon = store.create_ticket(open("WhatsApp", "wa@example.com", Channel::Whatsapp)).await.unwrap().ticket;
    let solved = store.create_ticket(open("Solved", "solved@example.com", Channel::Email)).await.unwrap().ticket;
    let solve = TicketPatch { status: Some(Status::Solved), ..Default::default() };
    store.patch_ticket(solved.id, supervisor.clone(), solve, None, at(1)).await.unwrap();
    while store.project_changed(500, at(120)).await.unwrap() > 0 {}
    // Not measured yet: listed last rather than left out.
    let mut fresh = open("Fresh", "fresh@example.com", Channel::Chat);
    fresh.now = at(130);
    let fresh = store.create_ticket(fresh).await.unwrap().ticket;

    let all = TicketFilter { sort: TicketSort::SlaDue, limit: 50, ..Default::default() };
    let expected = vec![late.id, soon.id, solved.id, fresh.id];
    assert_eq!(walk(&store, all.clone(), &supervisor).await, expected);
    for limit in [1, 2, 3] {
        assert_eq!(
            walk(&store, TicketFilter { limit, ..all.clone() }, &supervisor).await,
            expected,
            "pages of {limit}"
        );
    }
    let unsolved = TicketFilter { statuses: vec![Status::New, Status::Open], limit: 1, ..all.clone() };
    assert_eq!(walk(&store, unsolved, &supervisor).await, vec![late.id, soon.id, fresh.id]);
    let customer = TicketFilter { customer: Some(soon.customer), ..all.clone() };
    assert_eq!(walk(&store, customer, &supervisor).await, vec![soon.id]);
    let kept = store.find_ticket_sla(late.id).await.unwrap().unwrap();
    let breached = rapport_core::sla::TargetStatus::Breached;
    assert!(kept.targets.iter().any(|target| target.state == breached), "the chat was breached when measured");
    assert_eq!(TicketSort::parse("sla_due"), Some(TicketSort::SlaDue));
}

#[tokio::test]
async fn issue_14_lists_carry_the_names_beside_the_ids() {
    let store = fresh_store().await;
    let billing = store.insert_team("Billing".into(), String::new(), T0).await.unwrap().id;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let mut whatsapp = request("On WhatsApp", "ann@example.com");
    whatsapp.channel = Channel::Whatsapp;
    whatsapp.team = Some(billing);
    whatsapp.customer.identities.push(Identity::phone("+44 7700 900123").unwrap());
    let whatsapp = store.create_ticket(whatsapp).await.unwrap().ticket;
    let assign = TicketPatch { owner: Some(Some(supervisor.agent)), ..Default::default() };
    store.patch_ticket(whatsapp.id, supervisor.clone(), assign, None, at(1)).await.unwrap();
    let email = store.create_ticket(request("By email", "ann@example.com")).await.unwrap().ticket;
    let mut nameless = request("Nameless", "nobody@example.com");
    nameless.customer.name = None;
    let nameless = store.create_ticket(nameless).await.unwrap().ticket;

    let page = store.list_tickets(TicketFilter { limit: 50, ..Default::default() }, &supervisor).await.unwrap();
    assert_eq!(page.tickets.len(), 3);
    let names = |id: TicketId| page.names.get(&id).cloned().unwrap();
    assert_eq!(
        names(whatsapp.id),
        rapport_store::TicketNames {
            customer_name: "Ann Example".into(),
            customer_address: Some("+447700900123".into()),
            owner_name: Some("s@rapport.example".into()),
            team_name: Some("Billing".into()),
        },
        "the address on the ticket's channel"
    );
    let by_email = names(email.id);
    assert_eq!(by_email.customer_address.as_deref(), Some("ann@example.com"));
    assert_eq!((by_email.owner_name, by_email.team_name), (None, None));
    assert_eq!(names(nameless.id).customer_name, "");

    store.erase_customer(email.customer, rapport_core::Actor::System, at(5)).await.unwrap();
    let page = store.list_tickets(TicketFilter { limit: 50, ..Default::default() }, &supervisor).await.unwrap();
    let erased = page.names.get(&email.id).cloned().unwrap();
    assert_eq!((erased.customer_name.as_str(), erased.customer_address), ("[redacted]", None));
}

#[tokio::test]
async fn issue_16_seeded_tickets_are_what_a_create_writes_and_later_creates_follow_them() {
    let store = fresh_store().await;
    let supervisor = agent(&store, "s@rapport.example", Role::Supervisor, vec![]).await;
    let done = std::sync::Mutex::new(Vec::new());
    store.seed_open_tickets(25, at(0), 25_000, |n| done.lock().unwrap().push(n)).await.unwrap();
    assert_eq!(*done.lock().unwrap(), vec![25]);
    assert_eq!(store.count_tickets().await.unwrap(), 25);

    // Ticket 12 (the thirteenth): opened a second apart, with its first
    // message and the events a create records, for the second customer.
    let first = store.get_ticket_detail(TicketId(1), None).await.unwrap();
    let ticket = store.get_ticket_detail(TicketId(13), None).await.unwrap();
    assert_eq!(ticket.ticket.subject, "Bench ticket 12");
    assert_eq!(ticket.ticket.created_at, at(12));
    assert_eq!(ticket.ticket.status, rapport_core::Status::New);
    assert_eq!(ticket.messages.len(), 1);
    assert_eq!(ticket.messages[0].text, "Bench message 12");
    let kinds: Vec<&str> = ticket.events.iter().map(|event| event.change.kind()).collect();
    let created = store.create_ticket(request("After the seed", "after@example.com")).await.unwrap().ticket;
    let fresh = store.get_ticket_detail(created.id, None).await.unwrap();
    assert_eq!(kinds, fresh.events.iter().map(|event| event.change.kind()).collect::<Vec<_>>());
    assert_ne!(ticket.ticket.customer, first.ticket.customer, "one customer per ten tickets");
    assert_eq!(store.get_customer(ticket.ticket.customer).await.unwrap().name, "Bench customer 10");

    // Numbering goes on after the seeded rows. SQLite's index skips seeded
    // rows; PostgreSQL's is a generated column, so they are found there.
    assert_eq!(created.id, TicketId(26));
    let seeded_hits = store.search("bench", &supervisor, 10).await.unwrap().len();
    let expected = if store.dialect() == rapport_store::Dialect::Sqlite { 0 } else { 10 };
    assert_eq!(seeded_hits, expected);
    assert_eq!(store.search("after", &supervisor, 10).await.unwrap().len(), 1);
}
