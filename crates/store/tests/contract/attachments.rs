//! Reading attached files back (issue 14): through a ticket the agent may
//! see, through the customer's own ticket, and for the outbox.

use rapport_core::{Author, MessageKind, Role};
use rapport_store::{NewAttachment, NewMessage, StoreError};

use crate::harness::*;

fn file(name: &str, bytes: &[u8]) -> NewAttachment {
    NewAttachment { filename: name.to_owned(), content_type: "application/pdf".to_owned(), content: bytes.to_vec() }
}

#[tokio::test]
async fn issue_14_files_are_read_back_only_through_a_ticket_the_reader_may_see() {
    let store = fresh_store().await;
    let billing = store.insert_team("Billing".into(), String::new(), T0).await.unwrap().id;
    let sales = store.insert_team("Sales".into(), String::new(), T0).await.unwrap().id;
    let mut create = request("Invoice", "ann@example.com");
    create.team = Some(billing);
    create.attachments = vec![file("invoice.pdf", b"%PDF-1 invoice"), file("receipt.pdf", b"%PDF-1 receipt")];
    let ticket = store.create_ticket(create).await.unwrap().ticket;
    let detail = store.get_ticket_detail(ticket.id, None).await.unwrap();
    let first = detail.messages[0].id;

    let biller = agent(&store, "bill@example.com", Role::Agent, vec![billing]).await;
    let seller = agent(&store, "sell@example.com", Role::Agent, vec![sales]).await;
    // Owned by Billing's agent: no longer visible to everyone.
    let take = rapport_core::event::TicketPatch { owner: Some(Some(biller.agent)), ..Default::default() };
    store.patch_ticket(ticket.id, biller.clone(), take, None, at(1)).await.unwrap();
    let receipt = store.get_ticket_attachment(ticket.id, first, 1, &biller).await.unwrap();
    assert_eq!(receipt.content, b"%PDF-1 receipt");
    assert_eq!(receipt.meta.filename, "receipt.pdf");
    assert_eq!(receipt.meta.size, 14);
    // Another team's agent hears of no such ticket, as when reading it.
    let hidden = store.get_ticket_attachment(ticket.id, first, 0, &seller).await.unwrap_err();
    assert!(matches!(hidden, StoreError::NotFound("ticket")), "{hidden:?}");
    let past_the_end = store.get_ticket_attachment(ticket.id, first, 2, &biller).await.unwrap_err();
    assert!(matches!(past_the_end, StoreError::NotFound("attachment")), "{past_the_end:?}");

    // A message of another ticket is not reachable through this one.
    let other = store.create_ticket(request("Other", "bob@example.com")).await.unwrap().ticket;
    let other_message = store.get_ticket_detail(other.id, None).await.unwrap().messages[0].id;
    let elsewhere = store.get_ticket_attachment(ticket.id, other_message, 0, &biller).await.unwrap_err();
    assert!(matches!(elsewhere, StoreError::NotFound("message")), "{elsewhere:?}");

    // An internal note's file is the agents' only.
    let note = NewMessage {
        kind: MessageKind::Note,
        author: Author::Agent(biller.agent),
        text: "Our ledger".into(),
        html: None,
        attachments: vec![file("ledger.pdf", b"%PDF-1 ledger")],
        origin: Default::default(),
        now: at(60),
    };
    let (_, note) = store.add_message(ticket.id, Some(biller.clone()), note).await.unwrap();
    assert_eq!(store.get_ticket_attachment(ticket.id, note.id, 0, &biller).await.unwrap().content, b"%PDF-1 ledger");
    let customer = portal_session(ticket.customer, "ann@example.com");
    let own = store.get_customer_attachment(&customer, ticket.id, first, 0).await.unwrap();
    assert_eq!(own.content, b"%PDF-1 invoice");
    let internal = store.get_customer_attachment(&customer, ticket.id, note.id, 0).await.unwrap_err();
    assert!(matches!(internal, StoreError::NotFound("message")), "{internal:?}");
    let bob = portal_session(other.customer, "bob@example.com");
    let not_theirs = store.get_customer_attachment(&bob, ticket.id, first, 0).await.unwrap_err();
    assert!(matches!(not_theirs, StoreError::NotFound(_)), "{not_theirs:?}");

    // The outbox gets every file of a message, bytes included, in order.
    let files = store.list_message_files(first).await.unwrap();
    let names: Vec<&str> = files.iter().map(|file| file.meta.filename.as_str()).collect();
    assert_eq!(names, ["invoice.pdf", "receipt.pdf"]);
    assert_eq!(files[0].content, b"%PDF-1 invoice");
    assert!(store.list_message_files(other_message).await.unwrap().is_empty());
}
