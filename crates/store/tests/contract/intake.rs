//! Intake and the outbox: filing, threading, duplicates, storms, bounces, sends.

use rapport_core::intake::{NewTicketReason, RateLimit, ThreadHints};
use rapport_core::outbox::{Automatic, DeliveryState};
use rapport_core::{Identity, MessageKind, Status, TicketId};
use rapport_store::{BounceFiling, Filed, QuarantineReason, SendOutcome};

use crate::harness::*;

fn opened(filed: &Filed) -> (TicketId, Option<rapport_core::MessageId>) {
    match filed {
        Filed::Opened { ticket, acknowledgment, .. } => (*ticket, *acknowledgment),
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

#[tokio::test]
async fn a_new_email_opens_a_ticket_and_queues_one_acknowledgment() {
    let store = fresh_store().await;
    let filed = store.file_inbound(filing(email("ann@example.com", "m1@x", "Printer", at(0)), Some("ack1@us"))).await;
    let (ticket, ack) = opened(&filed.unwrap());
    assert!(ack.is_some());
    let detail = store.get_ticket_detail(ticket, None).await.unwrap();
    assert_eq!(detail.ticket.status, Status::New, "an acknowledgment is not a response");
    assert_eq!(detail.messages.len(), 2);
    assert_eq!(detail.messages[0].external_id.as_deref(), Some("m1@x"));
    assert_eq!(detail.messages[1].kind, MessageKind::Reply);
    assert_eq!(detail.messages[1].delivery, Some(DeliveryState::Queued));

    let claimed = store.claim_outbox(at(1), 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let item = &claimed[0];
    assert_eq!(item.external_id, "ack1@us");
    assert_eq!(item.payload.in_reply_to.as_deref(), Some("m1@x"));
    assert_eq!(item.payload.subject, format!("Re: Printer [#{ticket}]"));
    assert_eq!(item.payload.automatic, Some(Automatic::AutoReplied));
    assert!(store.claim_outbox(at(2), 60_000, 10).await.unwrap().is_empty(), "a claimed entry is leased");
    store.finish_outbox(item.id, SendOutcome::Sent, at(3)).await.unwrap();
    let detail = store.get_ticket_detail(ticket, None).await.unwrap();
    assert_eq!(detail.messages[1].delivery, Some(DeliveryState::Sent));
    assert!(store.claim_outbox(at(600), 60_000, 10).await.unwrap().is_empty(), "sent entries stay sent");
}

#[tokio::test]
async fn a_redelivered_message_is_filed_once() {
    let store = fresh_store().await;
    let first = store.file_inbound(filing(email("ann@example.com", "m1@x", "Hi", at(0)), Some("a1"))).await.unwrap();
    let again = store.file_inbound(filing(email("ann@example.com", "m1@x", "Hi", at(5)), Some("a2"))).await.unwrap();
    let (ticket, _) = opened(&first);
    assert!(matches!(again, Filed::Duplicate { ticket: t, .. } if t == ticket), "{again:?}");
    assert_eq!(store.count_tickets().await.unwrap(), 1);
    assert_eq!(store.count_outbox().await.unwrap(), vec![("queued".to_owned(), 1)]);
}

#[tokio::test]
async fn replies_thread_by_reference_and_token_but_strangers_do_not_land() {
    let store = fresh_store().await;
    let (ticket, _) = opened(
        &store.file_inbound(filing(email("ann@example.com", "m1@x", "Printer", at(0)), Some("ack1@us"))).await.unwrap(),
    );
    // Ann answers our acknowledgment: In-Reply-To threads it.
    let mut reply = email("ann@example.com", "m2@x", "Re: Printer", at(10));
    reply.thread.references = vec!["ack1@us".into(), "m1@x".into()];
    let filed = store.file_inbound(filing(reply, Some("ack2@us"))).await.unwrap();
    assert_eq!(filed, Filed::Added { ticket, message: rapport_core::MessageId(3), reopened: false });

    // Ann writes fresh mail quoting only the token: her identity is on the ticket.
    let mut token = email("ann@example.com", "m3@x", &format!("More [#{ticket}]"), at(20));
    token.thread.tokens = vec![ticket];
    assert!(matches!(store.file_inbound(filing(token, None)).await.unwrap(), Filed::Added { .. }));

    // Mallory quotes Ann's ticket number: a new ticket, linked for an agent to judge.
    let mut stranger = email("mallory@evil.example", "m4@x", &format!("Re: [#{ticket}]"), at(30));
    stranger.thread.tokens = vec![ticket];
    match store.file_inbound(filing(stranger, Some("ack4@us"))).await.unwrap() {
        Filed::Opened { linked_to, reason, .. } => {
            assert_eq!(linked_to, Some(ticket));
            assert_eq!(reason, NewTicketReason::NotAllowed);
        }
        other => panic!("a stranger must not land on the ticket: {other:?}"),
    }
    let detail = store.get_ticket_detail(ticket, None).await.unwrap();
    assert_eq!(detail.messages.iter().filter(|message| message.kind == MessageKind::Inbound).count(), 3);
}

#[tokio::test]
async fn followers_may_write_and_solved_tickets_reopen() {
    let store = fresh_store().await;
    let mut first = email("ann@example.com", "m1@x", "Invoice", at(0));
    first.followers = vec![Identity::email("boss@example.com").unwrap()];
    let (ticket, _) = opened(&store.file_inbound(filing(first, None)).await.unwrap());
    let owner = agent(&store, "owner@us.example", rapport_core::Role::Admin, vec![]).await;
    let patch = rapport_core::event::TicketPatch { status: Some(Status::Solved), ..Default::default() };
    store.patch_ticket(ticket, owner, patch, None, at(5)).await.unwrap();

    let mut boss = email("boss@example.com", "m2@x", "Re: Invoice", at(10));
    boss.thread.references = vec!["m1@x".into()];
    let filed = store.file_inbound(filing(boss, None)).await.unwrap();
    assert!(matches!(filed, Filed::Added { ticket: t, reopened: true, .. } if t == ticket), "{filed:?}");
    assert_eq!(store.get_ticket(ticket, None).await.unwrap().status, Status::Open);
}

#[tokio::test]
async fn automatic_mail_gets_no_acknowledgment_and_storms_are_quarantined() {
    let store = fresh_store().await;
    let mut auto = email("robot@example.com", "r1@x", "Out of office", at(0));
    auto.automatic = true;
    let (_, ack) = opened(&store.file_inbound(filing(auto, Some("a1"))).await.unwrap());
    assert_eq!(ack, None);

    let limit = RateLimit { replies: 2, messages: 4 };
    let mut outcomes = Vec::new();
    for n in 0..6 {
        let mut message = email("storm@example.com", &format!("s{n}@x"), &format!("Storm {n}"), at(n));
        message.thread = ThreadHints::default();
        let mut request = filing(message, Some(&format!("ack-s{n}")));
        request.rate_limit = limit;
        outcomes.push(store.file_inbound(request).await.unwrap());
    }
    let acks = outcomes.iter().filter(|filed| matches!(filed, Filed::Opened { acknowledgment: Some(_), .. })).count();
    assert_eq!(acks, 2, "only the first messages are answered: {outcomes:?}");
    let held = outcomes.iter().filter(|filed| matches!(filed, Filed::Quarantined { .. })).count();
    assert_eq!(held, 2, "{outcomes:?}");
    let quarantine = store.list_quarantine(Some("held"), 10).await.unwrap();
    assert_eq!(quarantine.len(), 2);
    assert_eq!(quarantine[0].reason, QuarantineReason::RateLimited);
    let raw = store.get_quarantined_raw(quarantine[0].id).await.unwrap();
    assert!(String::from_utf8(raw).unwrap().contains("s5@x"), "kept whole");
}

#[tokio::test]
async fn bounces_mark_the_message_failed_and_never_open_tickets() {
    let store = fresh_store().await;
    let (ticket, _) = opened(
        &store.file_inbound(filing(email("gone@example.com", "m1@x", "Hello", at(0)), Some("ack1@us"))).await.unwrap(),
    );
    let bounce = |original: Option<&str>, id: &str| BounceFiling {
        original_external_id: original.map(str::to_owned),
        external_id: id.to_owned(),
        text: "gone@example.com: 5.1.1 user unknown".into(),
        failed: true,
        raw: format!("bounce {id}").into_bytes(),
        received_at: at(60),
    };
    let filed = store.file_bounce(bounce(Some("ack1@us"), "b1@mta")).await.unwrap();
    assert!(matches!(filed, Filed::Added { ticket: t, .. } if t == ticket), "{filed:?}");
    let again = store.file_bounce(bounce(Some("ack1@us"), "b1@mta")).await.unwrap();
    assert!(matches!(again, Filed::Duplicate { .. }), "{again:?}");
    let detail = store.get_ticket_detail(ticket, None).await.unwrap();
    assert_eq!(detail.messages[1].delivery, Some(DeliveryState::Failed));
    assert_eq!(detail.messages[2].kind, MessageKind::Note);
    assert_eq!(detail.messages[2].attachments.len(), 1);
    assert!(store.claim_outbox(at(61), 1000, 10).await.unwrap().is_empty(), "a bounced entry is not sent again");

    let unknown = store.file_bounce(bounce(Some("nobody@us"), "b2@mta")).await.unwrap();
    assert!(matches!(unknown, Filed::Quarantined { reason: QuarantineReason::UnmatchedBounce, .. }));
    assert_eq!(store.count_tickets().await.unwrap(), 1);
}

#[tokio::test]
async fn failed_sends_retry_with_backoff_then_give_up() {
    let store = fresh_store().await;
    store.file_inbound(filing(email("ann@example.com", "m1@x", "Hello", at(0)), Some("ack1@us"))).await.unwrap();
    let item = store.claim_outbox(at(1), 1000, 10).await.unwrap().remove(0);
    store.finish_outbox(item.id, SendOutcome::Retry("451 try later".into()), at(1)).await.unwrap();
    assert!(store.claim_outbox(at(2), 1000, 10).await.unwrap().is_empty(), "not before the backoff");
    let again = store.claim_outbox(at(40), 1000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].external_id, "ack1@us", "a resend keeps its Message-ID");
    store.finish_outbox(item.id, SendOutcome::Failed("550 no such user".into()), at(41)).await.unwrap();
    assert_eq!(store.count_outbox().await.unwrap(), vec![("failed".to_owned(), 1)]);

    // An expired lease (a worker killed mid-send) makes the entry due again.
    store.file_inbound(filing(email("bob@example.com", "m2@x", "Hi", at(100)), Some("ack2@us"))).await.unwrap();
    assert_eq!(store.claim_outbox(at(101), 5000, 10).await.unwrap().len(), 1);
    assert!(store.claim_outbox(at(103), 5000, 10).await.unwrap().is_empty());
    assert_eq!(store.claim_outbox(at(107), 5000, 10).await.unwrap()[0].external_id, "ack2@us");
}

#[tokio::test]
async fn concurrent_messages_from_one_sender_join_one_ticket() {
    // A provider may deliver one customer's messages in parallel webhooks;
    // they must still land on one ticket, not open several.
    let store = fresh_store().await;
    let sender = rapport_core::Identity::handle("telegram:4242").unwrap();
    let mut tasks = Vec::new();
    for index in 0..40 {
        let store = store.clone();
        let message = rapport_core::InboundMessage {
            external_id: Some(format!("telegram:4242:{index}")),
            ..rapport_core::InboundMessage::new(
                rapport_core::Channel::Telegram,
                sender.clone(),
                "Hi".into(),
                format!("message {index}"),
                at(index),
            )
        };
        tasks.push(tokio::spawn(async move { store.file_inbound(filing(message, None)).await.unwrap() }));
    }
    let mut tickets = std::collections::BTreeSet::new();
    for task in tasks {
        tickets.insert(task.await.unwrap().ticket().unwrap());
    }
    assert_eq!(tickets.len(), 1, "one ticket for one sender: {tickets:?}");
    assert_eq!(store.count_tickets().await.unwrap(), 1);
}
