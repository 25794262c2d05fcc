//! The outbox under SIGKILL: a server sending hundreds of queued replies is
//! killed again and again at spread-out moments; after a last start, every
//! reply has reached the SMTP server once, or at most twice with the same
//! Message-ID when a kill fell between the server's acceptance and our
//! bookkeeping. Runs on SQLite, or on PostgreSQL when
//! `RAPPORT_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers may fail loudly, like the tests

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rapport_core::intake::{InboundMessage, RateLimit};
use rapport_core::{Channel, Identity, Timestamp};
use rapport_store::{FileInbound, Store, StoreOptions};
use rapport_testkit::smtp::SmtpSink;

mod support;
use support::{database_url, start_server};

const REPLIES: usize = 60;
const KILLS: u64 = 8;

/// Files `REPLIES` customer emails, each of which queues an acknowledgment.
async fn queue_replies(url: &str) {
    let store = Store::open(url, StoreOptions::default()).await.unwrap();
    for index in 0..REPLIES {
        let sender = Identity::email(&format!("customer{index}@example.com")).unwrap();
        let message = InboundMessage {
            external_id: Some(format!("in-{index}@example.com")),
            ..InboundMessage::new(
                Channel::Email,
                sender,
                format!("Question {index}"),
                "Hello".into(),
                Timestamp(1_790_000_000_000),
            )
        };
        store
            .file_inbound(FileInbound {
                message,
                raw: Vec::new(),
                acknowledgment: Some(format!("ack-{index}@desk.example")),
                rate_limit: RateLimit::default(),
            })
            .await
            .unwrap();
    }
    store.close().await;
}

fn message_id(raw: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    message.message_id().unwrap().to_owned()
}

/// One experiment: queue the replies, start sending, SIGKILL after `kill_after`,
/// start again, drain; returns (sent before the kill, sent twice).
async fn kill_once(kill_after: Duration) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path(), "outbox.db").await;
    queue_replies(&url).await;
    let sink = SmtpSink::start().unwrap();
    let config = dir.path().join("rapport.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = {url:?}\n[email]\naddress = \"help@desk.example\"\nsmtp_url = {:?}\n\
             send_lease_seconds = 1\n",
            sink.url()
        ),
    )
    .unwrap();

    let (mut server, _) = start_server(&["--config".as_ref(), config.as_os_str()], "error").await;
    tokio::time::sleep(kill_after).await;
    server.start_kill().unwrap(); // SIGKILL
    server.wait().await.unwrap();
    let before_restart = sink.messages().len();
    // Let the leases of entries claimed by the killed server run out.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let (server, _) = start_server(&["--config".as_ref(), config.as_os_str()], "error").await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    loop {
        let counts = store.count_outbox().await.unwrap();
        if counts == vec![("sent".to_owned(), REPLIES as i64)] {
            break;
        }
        assert!(Instant::now() < deadline, "the outbox did not drain: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
    store.close().await;

    let mut deliveries: HashMap<String, usize> = HashMap::new();
    for received in sink.messages() {
        *deliveries.entry(message_id(&received.data)).or_default() += 1;
    }
    assert_eq!(deliveries.len(), REPLIES, "every reply arrived (kill after {kill_after:?})");
    for index in 0..REPLIES {
        let count = deliveries.get(&format!("ack-{index}@desk.example")).copied().unwrap_or(0);
        assert!((1..=2).contains(&count), "ack-{index} arrived {count} times (kill after {kill_after:?})");
    }
    let twice = deliveries.values().filter(|count| **count == 2).count();
    // Only the entry being sent at the moment of the kill can go out twice.
    assert!(twice <= 1, "{twice} replies were sent twice (kill after {kill_after:?})");
    (before_restart, twice)
}

#[tokio::test]
async fn replies_survive_sigkill_at_many_points_exactly_once_or_twice_with_one_id() {
    let mut mid_stream = 0;
    let mut resent = 0;
    for point in 0..KILLS {
        let (before, twice) = kill_once(Duration::from_millis(5 + point * 45)).await;
        if before > 0 && before < REPLIES {
            mid_stream += 1;
        }
        resent += twice;
    }
    assert!(mid_stream >= 2, "only {mid_stream} of {KILLS} kills fell while replies were being sent");
    eprintln!("{KILLS} kill points, {mid_stream} mid-stream; {resent} replies sent twice with the same Message-ID");
}
