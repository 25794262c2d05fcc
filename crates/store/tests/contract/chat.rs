//! Live chat in the store: sessions, the transcript replay, agents' chat
//! messages filed once, and a chat that went offline answered by email.

use rapport_core::chat::{ChatState, ClientMessageId, Party, VisitorId, agent_external_id, visitor_external_id};
use rapport_core::outbox::DeliveryState;
use rapport_core::{Channel, Identity, MessageId, MessageKind, Role, TicketId};
use rapport_store::{Filed, MessageOrigin, NewMessage};

use crate::harness::*;

fn chat_message(visitor: &VisitorId, client: &str, text: &str, seconds: i64) -> rapport_store::FileInbound {
    let client = ClientMessageId::parse(client).unwrap();
    let mut message = rapport_core::InboundMessage::new(
        Channel::Chat,
        Identity::chat(visitor.as_str()).unwrap(),
        text.to_owned(),
        text.to_owned(),
        at(seconds),
    );
    message.external_id = Some(visitor_external_id(visitor, &client));
    filing(message, None)
}

fn filed(filed: &Filed) -> (TicketId, MessageId) {
    match filed {
        Filed::Opened { ticket, message, .. } | Filed::Added { ticket, message, .. } => (*ticket, *message),
        other => panic!("expected a stored message, got {other:?}"),
    }
}

#[tokio::test]
async fn a_chat_is_a_ticket_whose_lines_replay_after_the_last_seen_id() {
    let store = fresh_store().await;
    let viewer = agent(&store, "ada@example.com", Role::Agent, vec![]).await;
    let visitor = VisitorId::parse("visitor-store-1").unwrap();
    let (ticket, first) = filed(&store.file_inbound(chat_message(&visitor, "c1", "hello", 0)).await.unwrap());
    let chat = store.insert_chat(&visitor, ticket, ChatState::Queued, at(0)).await.unwrap();
    // A resend of the same client message is the same message.
    let again = store.file_inbound(chat_message(&visitor, "c1", "hello", 1)).await.unwrap();
    assert_eq!(again, Filed::Duplicate { ticket, message: first });
    let (same_ticket, _) = filed(&store.file_inbound(chat_message(&visitor, "c2", "anyone?", 2)).await.unwrap());
    assert_eq!(same_ticket, ticket, "a chat message joins the visitor's open chat ticket");

    store.update_chat_state(chat, ChatState::Active, Some(viewer.agent), at(3)).await.unwrap();
    let external = agent_external_id(viewer.agent, &ClientMessageId::parse("a1").unwrap());
    let reply = store.add_chat_reply(chat, ticket, viewer.agent, external.clone(), "hi!".into(), at(4)).await.unwrap();
    assert!(!reply.duplicate);
    let resent = store.add_chat_reply(chat, ticket, viewer.agent, external, "hi!".into(), at(5)).await.unwrap();
    assert_eq!((resent.message, resent.duplicate), (reply.message, true));
    // An internal note is never part of the transcript.
    let note = NewMessage {
        kind: MessageKind::Note,
        author: rapport_core::Author::Agent(viewer.agent),
        text: "private".into(),
        html: None,
        attachments: vec![],
        origin: MessageOrigin::default(),
        now: at(6),
    };
    store.add_message(ticket, Some(viewer.clone()), note).await.unwrap();

    let all = store.chat_transcript(ticket, None).await.unwrap();
    let lines: Vec<(Party, &str)> = all.iter().map(|line| (line.from, line.text.as_str())).collect();
    assert_eq!(lines, [(Party::Visitor, "hello"), (Party::Visitor, "anyone?"), (Party::Agent, "hi!")]);
    assert_eq!(all[2].name.as_deref(), Some("ada@example.com"));
    let after = store.chat_transcript(ticket, Some(all[1].id)).await.unwrap();
    assert_eq!(after.iter().map(|line| line.id).collect::<Vec<_>>(), [reply.message]);

    let session = store.find_current_chat(&visitor).await.unwrap().unwrap();
    assert_eq!((session.id, session.state, session.agent), (chat, ChatState::Active, Some(viewer.agent)));
    assert!(session.answered_at.is_some() && session.assigned_at.is_some());
    let detail = store.get_ticket_detail(ticket, None).await.unwrap();
    let stored = detail.messages.iter().find(|message| message.id == reply.message).unwrap();
    assert_eq!(stored.delivery, Some(DeliveryState::Sent), "delivered by the socket, not the outbox");
    assert_eq!(detail.ticket.status, rapport_core::Status::Open, "the agent's chat message answers the ticket");
    store.update_chat_state(chat, ChatState::Ended, None, at(7)).await.unwrap();
    assert!(store.find_current_chat(&visitor).await.unwrap().is_none());
}

#[tokio::test]
async fn an_offline_chat_with_an_email_address_is_answered_by_email() {
    let store = fresh_store().await;
    let viewer = agent(&store, "ada@example.com", Role::Admin, vec![]).await;
    let visitor = VisitorId::parse("visitor-store-2").unwrap();
    let (ticket, _) = filed(&store.file_inbound(chat_message(&visitor, "c1", "hello?", 0)).await.unwrap());
    let chat = store.insert_chat(&visitor, ticket, ChatState::Offline, at(0)).await.unwrap();
    let reply = |text: &str, seconds| NewMessage {
        kind: MessageKind::Reply,
        author: rapport_core::Author::Agent(viewer.agent),
        text: text.to_owned(),
        html: None,
        attachments: vec![],
        origin: MessageOrigin {
            external_id: Some(format!("<{text}@rapport.example>")),
            delivery: Some(DeliveryState::Queued),
            ..MessageOrigin::default()
        },
        now: at(seconds),
    };
    // Without an address the reply stays on the chat (the replay shows it).
    let (_, on_chat) = store.add_message(ticket, Some(viewer.clone()), reply("first", 1)).await.unwrap();
    assert_eq!(on_chat.channel, Channel::Chat);

    let email = Identity::email("Visitor@Example.com").unwrap();
    store.record_chat_email(chat, ticket, email.clone(), at(2)).await.unwrap();
    let (_, by_email) = store.add_message(ticket, Some(viewer.clone()), reply("second", 3)).await.unwrap();
    assert_eq!(by_email.channel, Channel::Email);
    let claimed = store.claim_outbox(at(4), 60_000, 10).await.unwrap();
    let entry = claimed.iter().find(|item| item.message == Some(by_email.id)).unwrap();
    assert_eq!(entry.channel, Channel::Email);
    assert_eq!(entry.payload.to[0].identity, email);
    let customer = store.find_customer_by_identity(&email).await.unwrap().expect("the address is on the customer");
    let ticket_row = store.get_ticket(ticket, None).await.unwrap();
    assert_eq!(customer.id, ticket_row.customer);
    assert_eq!(store.find_current_chat(&visitor).await.unwrap().unwrap().email.as_deref(), Some("visitor@example.com"));
}

#[tokio::test]
async fn agents_chat_capacity_defaults_to_unset() {
    let store = fresh_store().await;
    let viewer = agent(&store, "ada@example.com", Role::Agent, vec![]).await;
    assert_eq!(store.find_chat_capacity(viewer.agent).await.unwrap(), None);
    let five = rapport_store::AgentChanges { chat_capacity: Some(Some(5)), ..Default::default() };
    let changed = store.update_agent(viewer.agent, five, rapport_core::Actor::System, at(1)).await.unwrap();
    assert_eq!(changed.chat_capacity, Some(5));
    assert_eq!(store.find_chat_capacity(viewer.agent).await.unwrap(), Some(5));
    let default = rapport_store::AgentChanges { chat_capacity: Some(None), ..Default::default() };
    store.update_agent(viewer.agent, default, rapport_core::Actor::System, at(2)).await.unwrap();
    assert_eq!(store.find_chat_capacity(viewer.agent).await.unwrap(), None, "back to the configured default");
    assert!(store.find_chat_capacity(rapport_core::AgentId(999_999)).await.is_err());
}
