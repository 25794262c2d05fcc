//! The admin's Channels page (issue 18): each source's last check (success,
//! error and when), and each channel's traffic from what the database holds.

use rapport_core::time::HOUR;
use rapport_core::{Channel, Identity, InboundMessage};

use crate::harness::*;

fn whatsapp(text: &str, id: &str, received: rapport_core::Timestamp) -> InboundMessage {
    let sender = Identity::phone("+15550001234").unwrap();
    InboundMessage {
        external_id: Some(id.to_owned()),
        ..InboundMessage::new(Channel::Whatsapp, sender, text.to_owned(), text.to_owned(), received)
    }
}

#[tokio::test]
async fn checks_keep_each_sources_last_success_and_last_error() {
    let store = fresh_store().await;
    assert!(store.list_channel_checks().await.unwrap().is_empty());
    store.record_channel_ok("email:help@desk.example", "email", at(10)).await.unwrap();
    store.record_channel_error("whatsapp", "whatsapp", "a delivery was refused (401)", at(20)).await.unwrap();
    store.record_channel_ok("whatsapp", "whatsapp", at(30)).await.unwrap();
    let long = "x".repeat(2_000);
    store.record_channel_error("email:help@desk.example", "email", &long, at(40)).await.unwrap();
    let checks = store.list_channel_checks().await.unwrap();
    assert_eq!(checks.len(), 2);
    let mailbox = &checks[0];
    assert_eq!((mailbox.source.as_str(), mailbox.channel.as_str()), ("email:help@desk.example", "email"));
    assert_eq!((mailbox.last_ok_at, mailbox.last_error_at), (Some(at(10).0), Some(at(40).0)));
    assert_eq!(mailbox.last_error.as_ref().map(String::len), Some(500), "errors are kept short");
    let hook = &checks[1];
    assert_eq!(hook.last_error.as_deref(), Some("a delivery was refused (401)"), "the error stays after a success");
    assert_eq!((hook.last_ok_at, hook.last_error_at), (Some(at(30).0), Some(at(20).0)));
}

#[tokio::test]
async fn traffic_counts_the_last_hours_customer_messages_per_channel() {
    let store = fresh_store().await;
    let now = at(2 * 3600);
    store.file_inbound(filing(whatsapp("old", "wamid.1", now.plus_millis(-2 * HOUR)), None)).await.unwrap();
    store.file_inbound(filing(whatsapp("recent", "wamid.2", now.plus_millis(-HOUR / 2)), None)).await.unwrap();
    store.file_inbound(filing(whatsapp("latest", "wamid.3", now.plus_millis(-60_000)), None)).await.unwrap();
    let traffic = store.channel_traffic(now).await.unwrap();
    let whatsapp = traffic.iter().find(|traffic| traffic.channel == "whatsapp").expect("WhatsApp's traffic");
    assert_eq!(whatsapp.received_last_hour, 2);
    assert_eq!(whatsapp.last_received_at, Some(now.plus_millis(-60_000)));
    assert_eq!((whatsapp.waiting, whatsapp.failed, whatsapp.last_send_error.as_deref()), (0, 0, None));
    assert!(traffic.iter().all(|traffic| traffic.channel != "telegram"), "no traffic, no row");
}
