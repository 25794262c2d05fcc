//! Held replies (issue 17): a workspace reply waits out its team's undo
//! window, may be taken back until then, is released once (message, outbox
//! entry and status in one transaction), and a release the ticket refuses
//! keeps the reply with the reason.

use rapport_core::event::TicketPatch;
use rapport_core::outbox::DeliveryState;
use rapport_core::{Author, Channel, MessageKind, Role, Status, TicketId, Timestamp, Viewer};
use rapport_store::{
    DEFAULT_UNDO_SECONDS, MessageOrigin, NewAttachment, NewHeldReply, NewMessage, StoreError, TeamChanges,
};

use crate::harness::*;

fn held(viewer: &Viewer, ticket: TicketId, body: &str, status: Option<Status>) -> NewHeldReply {
    NewHeldReply {
        ticket,
        agent: viewer.agent,
        body: body.to_owned(),
        channel: Some(Channel::Email),
        status,
        attachments: vec![NewAttachment {
            filename: "invoice.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4 held".to_vec(),
        }],
        now: at(0),
        window_ms: 10_000,
    }
}

fn released(viewer: &Viewer, body: &str, attachments: Vec<NewAttachment>, now: Timestamp) -> NewMessage {
    NewMessage {
        kind: MessageKind::Reply,
        author: Author::Agent(viewer.agent),
        text: body.to_owned(),
        html: None,
        attachments,
        origin: MessageOrigin {
            external_id: Some(format!("<{body}@rapport.example>")),
            delivery: Some(DeliveryState::Queued),
            channel: Some(Channel::Email),
            ..MessageOrigin::default()
        },
        now,
    }
}

fn queued(counts: &[(String, i64)]) -> i64 {
    counts.iter().filter(|(state, _)| state == "queued").map(|(_, count)| count).sum()
}

#[tokio::test]
async fn a_held_reply_is_its_agents_to_take_back_until_it_is_released_once() {
    let store = fresh_store().await;
    let ada = agent(&store, "ada@desk.example", Role::Agent, vec![]).await;
    let bo = agent(&store, "bo@desk.example", Role::Agent, vec![]).await;
    let ticket = store.create_ticket(request("Refund", "ann@example.com")).await.unwrap().ticket;
    let outbox_before = queued(&store.count_outbox().await.unwrap());

    let first = store.hold_reply(ada.clone(), held(&ada, ticket.id, "first", None)).await.unwrap();
    assert_eq!(first.due_at, at(10));
    assert_eq!(first.filenames, vec!["invoice.pdf".to_owned()]);
    assert_eq!(store.held_replies_of(ticket.id, ada.agent).await.unwrap(), vec![first.clone()]);
    assert!(store.held_replies_of(ticket.id, bo.agent).await.unwrap().is_empty(), "only its author sees it");
    assert!(store.due_held_replies(at(9), 10).await.unwrap().is_empty(), "not due inside the window");
    assert_eq!(queued(&store.count_outbox().await.unwrap()), outbox_before, "nothing queued while held");

    // Another agent cannot take it back; its author can, with its files, once.
    assert!(store.take_back_reply(first.id, bo.agent).await.unwrap().is_none());
    let (taken, files) = store.take_back_reply(first.id, ada.agent).await.unwrap().unwrap();
    assert_eq!((taken.body.as_str(), files.len()), ("first", 1));
    assert_eq!(files[0].content, b"%PDF-1.4 held".to_vec());
    assert!(store.take_back_reply(first.id, ada.agent).await.unwrap().is_none());
    let message = released(&ada, "first", files, at(11));
    assert!(store.release_held_reply(first.id, ada.clone(), message, None).await.unwrap().is_none());
    assert_eq!(store.get_ticket_detail(ticket.id, None).await.unwrap().messages.len(), 1, "never filed");

    // A second one is released when due: message, files, outbox and status together, and only once.
    let second = store.hold_reply(ada.clone(), held(&ada, ticket.id, "second", Some(Status::Solved))).await.unwrap();
    let due = store.due_held_replies(at(10), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let (reply, files) = due.into_iter().next().unwrap();
    assert_eq!((reply.id, reply.status), (second.id, Some(Status::Solved)));
    let message = released(&ada, "second", files, at(10));
    let (after, filed) =
        store.release_held_reply(second.id, ada.clone(), message.clone(), reply.status).await.unwrap().unwrap();
    assert_eq!(after.status, Status::Solved);
    assert_eq!((filed.text.as_str(), filed.attachments.len()), ("second", 1));
    assert_eq!(filed.delivery, Some(DeliveryState::Queued));
    assert_eq!(queued(&store.count_outbox().await.unwrap()), outbox_before + 1);
    assert!(store.release_held_reply(second.id, ada.clone(), message, None).await.unwrap().is_none());
    assert!(store.held_replies_of(ticket.id, ada.agent).await.unwrap().is_empty());
    assert_eq!(store.get_ticket_detail(ticket.id, None).await.unwrap().messages.len(), 2);
}

#[tokio::test]
async fn a_closed_ticket_holds_nothing_and_a_refused_release_keeps_the_reply_with_its_reason() {
    let store = fresh_store().await;
    let ada = agent(&store, "ada@desk.example", Role::Supervisor, vec![]).await;
    let outsider_team = store.insert_team("Billing".into(), String::new(), at(0)).await.unwrap();
    let outsider = agent(&store, "cy@desk.example", Role::Agent, vec![]).await;
    let ticket = store.create_ticket(request("Closed soon", "ann@example.com")).await.unwrap().ticket;
    let patch =
        TicketPatch { team: Some(Some(outsider_team.id)), owner: Some(Some(ada.agent)), ..TicketPatch::default() };
    store.patch_ticket(ticket.id, ada.clone(), patch, None, at(0)).await.unwrap();

    // A ticket the agent cannot see (another's, in a team not theirs) holds nothing.
    let hidden = store.hold_reply(outsider.clone(), held(&outsider, ticket.id, "sneaky", None)).await;
    assert!(matches!(hidden, Err(StoreError::NotFound("ticket"))), "{hidden:?}");

    let kept = store.hold_reply(ada.clone(), held(&ada, ticket.id, "too late", None)).await.unwrap();
    let solve = TicketPatch { status: Some(Status::Solved), ..TicketPatch::default() };
    store.patch_ticket(ticket.id, ada.clone(), solve, None, at(1)).await.unwrap();
    assert_eq!(store.auto_close(0, at(2)).await.unwrap(), 1);

    let refused = store.hold_reply(ada.clone(), held(&ada, ticket.id, "closed", None)).await;
    assert!(matches!(refused, Err(StoreError::Rejected(_))), "{refused:?}");

    let message = released(&ada, "too late", vec![], at(10));
    let release = store.release_held_reply(kept.id, ada.clone(), message, None).await;
    assert!(matches!(release, Err(StoreError::Rejected(_))), "{release:?}");
    store.refuse_held_reply(kept.id, "the ticket is closed".into()).await.unwrap();
    assert!(store.due_held_replies(at(20), 10).await.unwrap().is_empty(), "a refused reply is not tried again");
    let listed = store.held_replies_of(ticket.id, ada.agent).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].failure.as_deref(), Some("the ticket is closed"));
    let (back, files) = store.take_back_reply(kept.id, ada.agent).await.unwrap().unwrap();
    assert_eq!((back.body.as_str(), files.len()), ("too late", 1));
    assert_eq!(store.get_ticket_detail(ticket.id, None).await.unwrap().messages.len(), 1);
}

#[tokio::test]
async fn each_team_chooses_its_undo_window() {
    let store = fresh_store().await;
    let team = store.insert_team("Support".into(), String::new(), at(0)).await.unwrap();
    assert_eq!(team.reply_undo_seconds, DEFAULT_UNDO_SECONDS);
    assert_eq!(store.undo_seconds(None).await.unwrap(), DEFAULT_UNDO_SECONDS);
    let changes = TeamChanges { reply_undo_seconds: Some(0), ..TeamChanges::default() };
    assert_eq!(store.update_team(team.id, changes).await.unwrap().reply_undo_seconds, 0);
    assert_eq!(store.undo_seconds(Some(team.id)).await.unwrap(), 0);
    let renamed = TeamChanges { name: Some("Care".into()), ..TeamChanges::default() };
    assert_eq!(store.update_team(team.id, renamed).await.unwrap().reply_undo_seconds, 0, "kept by other changes");
}
