//! Calls and the callback queue: events applied in any order end in the same
//! row, each state change is noted on the ticket once, and the callback line
//! keeps its order while offers are claimed one agent at a time.

use rapport_core::call::{CallEvent, CallState, CallbackOutcome, CallbackState};
use rapport_core::{Channel, Identity, InboundMessage, MessageKind, Role};
use rapport_store::{CallEventFiling, CallbackError, CallbackSource, Filed, NewCallback};

use crate::harness::*;

fn phone(number: &str) -> Identity {
    Identity::phone(number).unwrap()
}

fn event(sid: &str, ticket: Option<rapport_core::TicketId>, event: CallEvent) -> CallEventFiling {
    CallEventFiling { sid: sid.to_owned(), caller: phone("+14155550100"), ticket, event, now: at(500) }
}

#[tokio::test]
async fn call_events_in_any_order_end_in_the_same_call() {
    let store = fresh_store().await;
    let message = InboundMessage {
        external_id: Some("twilio:call:CA1".into()),
        ..InboundMessage::new(
            Channel::Phone,
            phone("+14155550100"),
            "Call".into(),
            "Call from +14155550100".into(),
            at(0),
        )
    };
    let ticket = store.file_inbound(filing(message, None)).await.unwrap().ticket();
    let events = [
        CallEvent::Ended(at(200)),
        CallEvent::Answered(at(12)),
        CallEvent::Queued(at(0)),
        CallEvent::Answered(at(12)),
        CallEvent::Ringing(at(5)),
        CallEvent::Ended(at(200)),
    ];
    for call_event in events {
        store.record_call_event(event("CA1", ticket, call_event)).await.unwrap();
    }
    let call = store.find_call("CA1").await.unwrap().unwrap();
    assert_eq!(call.state, CallState::Completed);
    assert_eq!(call.ticket, ticket);
    assert_eq!((call.times.wait_ms(), call.times.talk_ms()), (Some(12_000), Some(188_000)));
    assert_eq!(store.list_calls(ticket, at(0), at(0), 10).await.unwrap(), vec![call.clone()]);
    assert_eq!(store.list_calls(None, at(-1), at(1_000_000), 10).await.unwrap().len(), 1);
    assert!(store.list_calls(None, at(-100), at(-1), 10).await.unwrap().is_empty());
    let detail = store.get_ticket_detail(ticket.unwrap(), None).await.unwrap();
    let notes: Vec<&str> =
        detail.messages.iter().filter(|m| m.kind == MessageKind::Note).map(|m| m.text.as_str()).collect();
    assert_eq!(notes, vec!["Call abandoned", "Call completed; talked 3 min 8 s"]);
    assert_eq!(store.find_open_ticket_of(&phone("+14155550100")).await.unwrap(), ticket);
    assert_eq!(store.find_open_ticket_of(&phone("+14155550199")).await.unwrap(), None);
}

#[tokio::test]
async fn a_follow_up_sms_joins_the_open_ticket() {
    let store = fresh_store().await;
    let sms = |id: &str, seconds: i64| InboundMessage {
        external_id: Some(id.to_owned()),
        ..InboundMessage::new(Channel::Sms, phone("+14155551234"), "Hi".into(), format!("text {id}"), at(seconds))
    };
    let first = store.file_inbound(filing(sms("twilio:SM1", 0), None)).await.unwrap();
    let again = store.file_inbound(filing(sms("twilio:SM2", 10), None)).await.unwrap();
    assert!(matches!(first, Filed::Opened { .. }), "{first:?}");
    assert!(matches!(again, Filed::Added { ticket, .. } if Some(ticket) == first.ticket()), "{again:?}");
}

fn request(number: &str, seconds: i64) -> NewCallback {
    NewCallback { phone: phone(number), ticket: None, source: CallbackSource::Api, call_sid: None, now: at(seconds) }
}

#[tokio::test]
async fn the_callback_line_keeps_its_order() {
    let store = fresh_store().await;
    let alice = agent(&store, "alice@example.com", Role::Agent, Vec::new()).await.agent;
    let bob = agent(&store, "bob@example.com", Role::Agent, Vec::new()).await.agent;
    let supervisor = agent(&store, "sup@example.com", Role::Supervisor, Vec::new()).await;
    let first = store.request_callback(request("+14155550101", 0)).await.unwrap();
    let from_call = NewCallback { call_sid: Some("CA9".into()), ..request("+14155550102", 1) };
    let second = store.request_callback(from_call.clone()).await.unwrap();
    assert_eq!(store.request_callback(from_call).await.unwrap(), second, "the same call's request is one callback");
    assert_eq!(store.request_callback(request("+14155550101", 5)).await.unwrap(), first, "in line already");
    assert_eq!(store.find_callback_for_call("CA9").await.unwrap(), Some(second.clone()));
    let third = store.request_callback(request("+14155550103", 2)).await.unwrap();
    let line = |queue: Vec<rapport_store::QueuedCallback>| -> Vec<(i64, Option<i64>)> {
        queue.into_iter().map(|entry| (entry.callback.id, entry.position)).collect()
    };
    assert_eq!(
        line(store.list_callbacks(&supervisor, 10).await.unwrap()),
        vec![(first.id, Some(1)), (second.id, Some(2)), (third.id, Some(3))]
    );

    let offered = store.offer_next_callback(alice, at(10)).await.unwrap().unwrap();
    assert_eq!((offered.id, offered.state, offered.offered_to), (first.id, CallbackState::Offered, Some(alice)));
    assert_eq!(store.offer_next_callback(bob, at(11)).await.unwrap().unwrap().id, second.id);
    let refused = store.complete_callback(first.id, bob, CallbackOutcome::Done, at(12)).await.unwrap();
    assert_eq!(refused, Err(CallbackError::NotOffered(first.id)));
    let back = store.complete_callback(first.id, alice, CallbackOutcome::NoAnswer, at(13)).await.unwrap().unwrap();
    assert_eq!((back.state, back.attempts, back.requested_at), (CallbackState::Waiting, 1, at(0)));
    assert_eq!(
        line(store.list_callbacks(&supervisor, 10).await.unwrap()),
        vec![(first.id, Some(1)), (third.id, Some(2)), (second.id, None)]
    );
    // One callback's place agrees with the listed line; an offered one has none.
    assert_eq!(store.callback_position(first.id).await.unwrap(), Some(1));
    assert_eq!(store.callback_position(third.id).await.unwrap(), Some(2));
    assert_eq!(store.callback_position(second.id).await.unwrap(), None);
    for attempt in 2..=3 {
        assert_eq!(store.offer_next_callback(alice, at(20)).await.unwrap().unwrap().id, first.id);
        let after = store.complete_callback(first.id, alice, CallbackOutcome::NoAnswer, at(21)).await.unwrap().unwrap();
        assert_eq!(after.attempts, attempt);
    }
    assert_eq!(store.get_callback(first.id).await.unwrap().state, CallbackState::Cancelled);
    assert!(store.get_callback(4242).await.is_err());
}

#[tokio::test]
async fn issue_15_an_agent_sees_no_callback_on_a_ticket_hidden_from_them() {
    let store = fresh_store().await;
    let billing = store.insert_team("Billing".into(), String::new(), at(0)).await.unwrap();
    let sales = store.insert_team("Sales".into(), String::new(), at(0)).await.unwrap();
    let seller = agent(&store, "seller@example.com", Role::Agent, vec![sales.id]).await;
    let supervisor = agent(&store, "sup@example.com", Role::Supervisor, Vec::new()).await;
    let mut hidden = crate::harness::request("Refund", "payer@example.com");
    hidden.team = Some(billing.id);
    let hidden = store.create_ticket(hidden).await.unwrap().ticket;
    // Owned by someone in another team: not the seller's (unassigned tickets are everyone's).
    let biller = agent(&store, "biller@example.com", Role::Agent, vec![billing.id]).await;
    let assign = rapport_core::event::TicketPatch { owner: Some(Some(biller.agent)), ..Default::default() };
    store.patch_ticket(hidden.id, supervisor.clone(), assign, None, at(0)).await.unwrap();
    let mut shown = crate::harness::request("Quote", "buyer@example.com");
    shown.team = Some(sales.id);
    let shown = store.create_ticket(shown).await.unwrap().ticket;

    let on_hidden =
        store.request_callback(NewCallback { ticket: Some(hidden.id), ..request("+14155550111", 0) }).await.unwrap();
    let on_shown =
        store.request_callback(NewCallback { ticket: Some(shown.id), ..request("+14155550112", 1) }).await.unwrap();
    let no_ticket = store.request_callback(request("+14155550113", 2)).await.unwrap();

    let line = |queue: Vec<rapport_store::QueuedCallback>| -> Vec<(i64, Option<i64>)> {
        queue.into_iter().map(|entry| (entry.callback.id, entry.position)).collect()
    };
    assert_eq!(
        line(store.list_callbacks(&supervisor, 10).await.unwrap()),
        vec![(on_hidden.id, Some(1)), (on_shown.id, Some(2)), (no_ticket.id, Some(3))]
    );
    // The agent's view leaves the hidden one out; the places stay those in the whole line.
    assert_eq!(
        line(store.list_callbacks(&seller, 10).await.unwrap()),
        vec![(on_shown.id, Some(2)), (no_ticket.id, Some(3))]
    );
}

/// Found by schemathesis (issue 15): after a caller was erased, every list of
/// calls (the call report among them) failed, since the stored caller was no
/// longer a phone number. An erased caller reads as the redaction marker.
#[tokio::test]
async fn issue_15_calls_of_an_erased_caller_still_list() {
    let store = fresh_store().await;
    let message = InboundMessage {
        external_id: Some("twilio:call:CA9".into()),
        ..InboundMessage::new(Channel::Phone, phone("+14155550100"), "Call".into(), "Call".into(), at(0))
    };
    let ticket = store.file_inbound(filing(message, None)).await.unwrap().ticket();
    store.record_call_event(event("CA9", ticket, CallEvent::Queued(at(0)))).await.unwrap();
    let customer = store.get_ticket(ticket.unwrap(), None).await.unwrap().customer;
    store.erase_customer(customer, rapport_core::Actor::System, at(10)).await.unwrap();
    let calls = store.list_calls(None, at(-1), at(1_000_000), 10).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].caller.value, rapport_core::customer::REDACTED);
    assert_eq!(store.find_call("CA9").await.unwrap().unwrap().caller.value, rapport_core::customer::REDACTED);
}
