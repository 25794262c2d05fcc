//! The outbox's claims and settlements: entries on a channel no worker can
//! send on wait, marked with why, without spending attempts.

use rapport_core::Channel;
use rapport_core::outbox::DeliveryState;
use rapport_store::{OutboxEntry, SendOutcome, Store};

use crate::harness::*;

const NO_SMTP: &str = "no SMTP server is configured (email.smtp_url)";

async fn entry(store: &Store, external_id: &str) -> OutboxEntry {
    store.find_outbox_entry(external_id).await.unwrap().unwrap_or_else(|| panic!("no outbox entry {external_id}"))
}

#[tokio::test]
async fn issue_14_an_entry_waits_for_its_channel_without_spending_attempts() {
    let store = fresh_store().await;
    store.file_inbound(filing(email("ann@example.com", "m1@x", "Printer", at(0)), Some("ack1@us"))).await.unwrap();
    let queued = entry(&store, "ack1@us").await;
    assert_eq!(
        (queued.channel, queued.state, queued.attempts, queued.last_error),
        (Channel::Email, DeliveryState::Queued, 0, None)
    );

    // A worker without SMTP claims only the channels it can send on: nothing.
    let ready = [Channel::Telegram, Channel::Chat];
    assert!(store.claim_outbox_on(&ready, at(1), 60_000, 10).await.unwrap().is_empty());
    assert!(store.claim_outbox_on(&[], at(1), 60_000, 10).await.unwrap().is_empty());
    // It marks what waits, once.
    let waiting = vec![(Channel::Email, NO_SMTP.to_owned()), (Channel::Telegram, "no bot".to_owned())];
    let marked = store.update_outbox_waiting(waiting.clone(), at(2)).await.unwrap();
    assert_eq!(marked, vec![(Channel::Email, 1), (Channel::Telegram, 0)]);
    assert_eq!(
        store.update_outbox_waiting(waiting, at(3)).await.unwrap(),
        vec![(Channel::Email, 0), (Channel::Telegram, 0)]
    );
    let waits = entry(&store, "ack1@us").await;
    assert_eq!(waits.state, DeliveryState::Queued);
    assert_eq!(waits.attempts, 0, "waiting spends no attempt");
    assert_eq!(waits.last_error.as_deref(), Some("waiting: no SMTP server is configured (email.smtp_url)"));

    // A worker that claimed it anyway (a race with a restart) gives the attempt back; it stays due.
    let claimed = store.claim_outbox(at(4), 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);
    store.finish_outbox(claimed[0].id, SendOutcome::Waiting(NO_SMTP.to_owned()), at(4)).await.unwrap();
    let waits = entry(&store, "ack1@us").await;
    assert_eq!((waits.state, waits.attempts), (DeliveryState::Queued, 0));

    // Hours later a worker with SMTP runs: the entry is due at once and sent once.
    let later = at(6 * 3600);
    let claimed = store.claim_outbox_on(&[Channel::Email, Channel::Web], later, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "a waiting entry is due as soon as its channel can send");
    assert_eq!(claimed[0].external_id, "ack1@us");
    assert_eq!(claimed[0].attempts, 1, "the first real attempt");
    store.finish_outbox(claimed[0].id, SendOutcome::Sent, later).await.unwrap();
    let sent = entry(&store, "ack1@us").await;
    assert_eq!((sent.state, sent.attempts, sent.last_error), (DeliveryState::Sent, 1, None));
    assert!(store.claim_outbox(at(7 * 3600), 60_000, 10).await.unwrap().is_empty(), "sent once");
    // A sent entry is not marked as waiting again.
    let marked = store.update_outbox_waiting(vec![(Channel::Email, NO_SMTP.to_owned())], later).await.unwrap();
    assert_eq!(marked, vec![(Channel::Email, 0)]);
    assert_eq!(store.find_outbox_entry("nothing@us").await.unwrap(), None);
}

#[tokio::test]
async fn issue_14_marking_leaves_entries_being_sent_alone() {
    let store = fresh_store().await;
    store.file_inbound(filing(email("ann@example.com", "m1@x", "Printer", at(0)), Some("ack1@us"))).await.unwrap();
    store.file_inbound(filing(email("bob@example.com", "m2@x", "Scanner", at(0)), Some("ack2@us"))).await.unwrap();
    // One instance, with SMTP, is sending the first entry.
    let claimed = store.claim_outbox_on(&[Channel::Email], at(1), 60_000, 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let (sending, other) =
        if claimed[0].external_id == "ack1@us" { ("ack1@us", "ack2@us") } else { ("ack2@us", "ack1@us") };
    // Another, without, marks only the entry nobody is sending.
    let waiting = vec![(Channel::Email, NO_SMTP.to_owned())];
    assert_eq!(store.update_outbox_waiting(waiting.clone(), at(2)).await.unwrap(), vec![(Channel::Email, 1)]);
    assert_eq!(entry(&store, sending).await.last_error, None);
    let marked = entry(&store, other).await;
    assert_eq!(
        (marked.attempts, marked.last_error.as_deref()),
        (0, Some("waiting: no SMTP server is configured (email.smtp_url)"))
    );
    // The send fails for now: it keeps its attempt and its reason until the next marking.
    store.finish_outbox(claimed[0].id, SendOutcome::Retry("451 try later".to_owned()), at(3)).await.unwrap();
    let retried = entry(&store, sending).await;
    assert_eq!(
        (retried.state, retried.attempts, retried.last_error.as_deref()),
        (DeliveryState::Queued, 1, Some("451 try later"))
    );
    assert_eq!(store.update_outbox_waiting(waiting, at(4)).await.unwrap(), vec![(Channel::Email, 1)]);
    assert_eq!(entry(&store, sending).await.attempts, 1, "marking spends and refunds nothing");
}
