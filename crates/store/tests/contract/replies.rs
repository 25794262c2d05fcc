//! Public replies always have a delivery (issue 14): on the channel asked
//! for, else the ticket's, else the customer's most recent channel that
//! reaches them, with the reason kept on the message; refused, with nothing
//! stored, when no channel can. And the agent who answers an ownerless
//! ticket, or takes its chat, becomes its owner unless the team says not to.

use rapport_core::chat::{ChatState, VisitorId};
use rapport_core::event::OwnerOnReply;
use rapport_core::outbox::DeliveryState;
use rapport_core::reply::{ReplyRoute, reaches};
use rapport_core::{Actor, Author, Change, Channel, Identity, MessageKind, Role, TicketId, Viewer};
use rapport_store::{CustomerRef, Filed, MessageOrigin, NewMessage, Rejection, StoreError, TeamChanges};

use crate::harness::*;

fn reply(viewer: &Viewer, text: &str, channel: Option<Channel>, seconds: i64) -> NewMessage {
    NewMessage {
        kind: MessageKind::Reply,
        author: Author::Agent(viewer.agent),
        text: text.to_owned(),
        html: None,
        attachments: vec![],
        origin: MessageOrigin {
            external_id: Some(format!("<{text}-{seconds}@rapport.example>")),
            delivery: Some(DeliveryState::Queued),
            channel,
            ..MessageOrigin::default()
        },
        now: at(seconds),
    }
}

/// The identities a customer can have, numbered so that every customer's are their own.
fn identities(mask: u32, n: usize) -> Vec<Identity> {
    let all = [
        Identity::email(&format!("customer{n}@example.com")).unwrap(),
        Identity::phone(&format!("+49151{n:08}")).unwrap(),
        Identity::parse(rapport_core::IdentityKind::Handle, &format!("telegram:{}", 1000 + n)).unwrap(),
        Identity::chat(&format!("visitor-{n}")).unwrap(),
    ];
    all.into_iter().enumerate().filter(|(bit, _)| mask & (1 << bit) != 0).map(|(_, identity)| identity).collect()
}

#[tokio::test]
async fn issue_14_every_channel_against_every_combination_of_identities() {
    let store = fresh_store().await;
    let admin = agent(&store, "ada@example.com", Role::Admin, vec![]).await;
    let mut n = 0;
    for channel in Channel::ALL {
        for mask in 1u32..16 {
            n += 1;
            let ids = identities(mask, n);
            let mut create = request(&format!("ticket {n}"), "unused@example.com");
            create.channel = channel;
            create.customer = CustomerRef { name: Some(format!("Customer {n}")), identities: ids.clone() };
            let ticket = store.create_ticket(create).await.unwrap().ticket;
            let (_, message) =
                store.add_message(ticket.id, Some(admin.clone()), reply(&admin, "hi", None, n as i64)).await.unwrap();
            assert_eq!(message.delivery, Some(DeliveryState::Queued), "{channel:?} {ids:?}");
            assert!(
                ids.iter().any(|id| reaches(id, message.channel)),
                "{channel:?} {ids:?} went on {:?}",
                message.channel
            );
            let expected = if ids.iter().any(|id| reaches(id, channel)) {
                ReplyRoute::Ticket
            } else {
                ReplyRoute::Fallback { unreachable: channel }
            };
            assert_eq!(message.route, Some(expected), "{channel:?} {ids:?}");
            // Asking for a channel uses it when it reaches the customer, and is refused otherwise.
            for requested in [Channel::Email, Channel::Whatsapp, Channel::Telegram, Channel::Chat] {
                let asked = store
                    .add_message(
                        ticket.id,
                        Some(admin.clone()),
                        reply(&admin, &format!("asked-{requested}"), Some(requested), n as i64),
                    )
                    .await;
                match asked {
                    Ok((_, message)) => {
                        assert!(ids.iter().any(|id| reaches(id, requested)), "{requested:?} {ids:?}");
                        assert_eq!((message.channel, message.route), (requested, Some(ReplyRoute::Requested)));
                    }
                    Err(error) => {
                        assert!(!ids.iter().any(|id| reaches(id, requested)), "{requested:?} {ids:?}: {error}");
                        assert!(matches!(error, StoreError::Rejected(Rejection::Unreachable(_))), "{error:?}");
                    }
                }
            }
        }
    }
    // Every stored reply has its outbox entry on its own channel.
    let claimed = store.claim_outbox(at(100_000), 60_000, 10_000).await.unwrap();
    let replies = claimed.iter().filter(|item| item.payload.text == "hi").count();
    assert_eq!(replies, n);
    for item in &claimed {
        assert!(!item.payload.to.is_empty());
        assert!(item.payload.to.iter().all(|to| reaches(&to.identity, item.channel)), "{item:?}");
    }
}

#[tokio::test]
async fn issue_14_a_reply_no_channel_can_carry_is_refused_and_nothing_is_stored() {
    let store = fresh_store().await;
    let admin = agent(&store, "ada@example.com", Role::Admin, vec![]).await;
    let mut create = request("Call me", "ann@example.com");
    create.channel = Channel::Phone;
    let ticket = store.create_ticket(create).await.unwrap().ticket;
    store.erase_customer(ticket.customer, Actor::Agent(admin.agent), at(1)).await.unwrap();
    let before = store.get_ticket_detail(ticket.id, None).await.unwrap();

    let refused = store.add_message(ticket.id, Some(admin.clone()), reply(&admin, "hello", None, 2)).await.unwrap_err();
    let StoreError::Rejected(Rejection::Unreachable(error)) = &refused else { panic!("{refused:?}") };
    assert!(error.to_string().contains("cannot be reached on any channel"), "{error}");
    let after = store.get_ticket_detail(ticket.id, None).await.unwrap();
    assert_eq!(after.messages.len(), before.messages.len());
    assert_eq!(after.events.len(), before.events.len());
    assert_eq!(after.ticket.version, before.ticket.version);
    assert!(store.claim_outbox(at(10), 60_000, 100).await.unwrap().iter().all(|item| item.payload.text != "hello"));
    // An internal note still goes in.
    let note =
        NewMessage { kind: MessageKind::Note, origin: MessageOrigin::default(), ..reply(&admin, "note", None, 3) };
    store.add_message(ticket.id, Some(admin.clone()), note).await.unwrap();
}

#[tokio::test]
async fn issue_14_the_first_public_reply_makes_the_agent_owner_unless_the_team_says_not() {
    let store = fresh_store().await;
    let claiming = store.insert_team("Billing".into(), String::new(), T0).await.unwrap();
    let leaving = store.insert_team("Triage".into(), String::new(), T0).await.unwrap();
    let changes = TeamChanges { owner_on_reply: Some(OwnerOnReply::None), ..TeamChanges::default() };
    assert_eq!(store.update_team(leaving.id, changes).await.unwrap().owner_on_reply, OwnerOnReply::None);
    assert_eq!(store.get_team(claiming.id).await.unwrap().owner_on_reply, OwnerOnReply::Replier);
    let first = agent(&store, "first@example.com", Role::Agent, vec![claiming.id, leaving.id]).await;
    let second = agent(&store, "second@example.com", Role::Agent, vec![claiming.id, leaving.id]).await;

    let mut create = request("Refund", "ann@example.com");
    create.team = Some(claiming.id);
    let ticket = store.create_ticket(create).await.unwrap().ticket;
    // A note claims nothing; the first reply does; a later reply by another agent changes nothing.
    let note =
        NewMessage { kind: MessageKind::Note, origin: MessageOrigin::default(), ..reply(&second, "note", None, 1) };
    let (after_note, _) = store.add_message(ticket.id, Some(second.clone()), note).await.unwrap();
    assert_eq!(after_note.owner, None);
    let (after_reply, _) =
        store.add_message(ticket.id, Some(first.clone()), reply(&first, "one", None, 2)).await.unwrap();
    assert_eq!(after_reply.owner, Some(first.agent));
    let (after_second, _) =
        store.add_message(ticket.id, Some(second.clone()), reply(&second, "two", None, 3)).await.unwrap();
    assert_eq!(after_second.owner, Some(first.agent));
    let events = store.list_events(ticket.id).await.unwrap();
    let claim = events.iter().find(|event| matches!(event.change, Change::OwnerChanged { .. })).unwrap();
    assert_eq!(claim.change, Change::OwnerChanged { from: None, to: Some(first.agent) });
    assert_eq!(claim.actor, Actor::Agent(first.agent));

    let mut create = request("Triage me", "bob@example.com");
    create.team = Some(leaving.id);
    let unowned = store.create_ticket(create).await.unwrap().ticket;
    let (after, _) = store.add_message(unowned.id, Some(first.clone()), reply(&first, "three", None, 4)).await.unwrap();
    assert_eq!(after.owner, None, "the team's setting keeps it unassigned");
}

fn filed(filed: &Filed) -> TicketId {
    match filed {
        Filed::Opened { ticket, .. } | Filed::Added { ticket, .. } => *ticket,
        other => panic!("expected a stored message, got {other:?}"),
    }
}

fn chat_line(visitor: &VisitorId, text: &str, seconds: i64) -> rapport_store::FileInbound {
    let message = rapport_core::InboundMessage::new(
        Channel::Chat,
        Identity::chat(visitor.as_str()).unwrap(),
        text.to_owned(),
        text.to_owned(),
        at(seconds),
    );
    filing(message, None)
}

#[tokio::test]
async fn issue_14_the_agent_who_takes_a_chat_owns_its_ticket() {
    let store = fresh_store().await;
    let ada = agent(&store, "ada@example.com", Role::Agent, vec![]).await;
    let bob = agent(&store, "bob@example.com", Role::Agent, vec![]).await;
    let visitor = VisitorId::parse("visitor-owner").unwrap();
    let ticket = filed(&store.file_inbound(chat_line(&visitor, "hello?", 0)).await.unwrap());
    let chat = store.insert_chat(&visitor, ticket, ChatState::Queued, at(0)).await.unwrap();
    store.update_chat_state(chat, ChatState::Active, Some(ada.agent), at(5)).await.unwrap();
    assert_eq!(store.get_ticket(ticket, None).await.unwrap().owner, Some(ada.agent));
    // Handed back and taken by another agent: the owner stays (hand-offs are explicit).
    store.update_chat_state(chat, ChatState::Queued, None, at(6)).await.unwrap();
    store.update_chat_state(chat, ChatState::Active, Some(bob.agent), at(7)).await.unwrap();
    assert_eq!(store.get_ticket(ticket, None).await.unwrap().owner, Some(ada.agent));
}

#[tokio::test]
async fn issue_14_a_chat_that_continues_by_email_takes_the_email_target() {
    let store = fresh_store().await;
    store.install_default_policies(T0).await.unwrap();
    let visitor = VisitorId::parse("visitor-offline").unwrap();
    let ticket = filed(&store.file_inbound(chat_line(&visitor, "anyone there?", 0)).await.unwrap());
    let chat = store.insert_chat(&visitor, ticket, ChatState::Offline, at(0)).await.unwrap();
    store.project_changed(100, at(1)).await.unwrap();
    let on_chat = store.find_ticket_sla(ticket).await.unwrap().unwrap();

    store.record_chat_email(chat, ticket, Identity::email("visitor@example.com").unwrap(), at(30)).await.unwrap();
    let detail = store.get_ticket_detail(ticket, None).await.unwrap();
    assert_eq!(detail.ticket.channel, Channel::Email);
    let change = detail.events.iter().find(|event| matches!(event.change, Change::ChannelChanged { .. })).unwrap();
    let Change::ChannelChanged { from, to, reason } = &change.change else { unreachable!() };
    assert_eq!((*from, *to), (Channel::Chat, Channel::Email));
    assert!(reason.contains("continues by email"), "{reason}");

    store.project_changed(100, at(120)).await.unwrap();
    let by_email = store.find_ticket_sla(ticket).await.unwrap().unwrap();
    assert_ne!(on_chat.policy, by_email.policy, "the chat policy no longer applies");
    let shortest = |sla: &rapport_store::TicketSla| sla.targets.iter().map(|target| target.seconds).min().unwrap();
    assert_eq!(shortest(&on_chat), 60, "a chat is answered within a minute");
    assert!(shortest(&by_email) >= 3600, "the email target applies: {by_email:?}");
    assert!(by_email.targets.iter().all(|target| target.state != rapport_core::sla::TargetStatus::Breached));
}

#[tokio::test]
async fn issue_15_replies_are_mailed_to_at_most_twenty_followers_and_the_rest_are_recorded() {
    let store = fresh_store().await;
    let admin = agent(&store, "admin@us.example", Role::Admin, vec![]).await;
    let mut first = email("ann@example.com", "cc-flood@x", "Invoice", at(0));
    first.followers = (0..30).map(|n| Identity::email(&format!("cc{n:02}@example.com")).unwrap()).collect();
    let filed = store.file_inbound(filing(first, None)).await.unwrap();
    let ticket = filed.ticket().expect("a ticket");
    // A later message adds more: still none beyond the cap is mailed.
    let mut more = email("ann@example.com", "cc-more@x", "Re: Invoice", at(1));
    more.thread.references = vec!["cc-flood@x".into()];
    more.followers = vec![Identity::email("late@example.com").unwrap()];
    store.file_inbound(filing(more, None)).await.unwrap();

    store.add_message(ticket, Some(admin.clone()), reply(&admin, "answer", None, 5)).await.unwrap();
    let sent = store.claim_outbox(at(6), 60_000, 10).await.unwrap();
    assert_eq!(sent.len(), 1);
    let cc: Vec<&str> = sent[0].payload.cc.iter().map(|cc| cc.identity.value.as_str()).collect();
    assert_eq!(cc.len(), rapport_store::DEFAULT_MAX_FOLLOWERS, "{cc:?}");
    assert!(!cc.contains(&"late@example.com") && !cc.contains(&"ann@example.com"), "{cc:?}");
    assert_eq!(sent[0].payload.to.len(), 1);
}
